/**
 * Stopping as a person does it: Ctrl+C in a terminal signals the whole foreground process group
 * (`deno task` and the collector both get SIGINT), while traffic flows and with a backlog in the
 * kernel's socket buffers. These tests run `deno task start` from the repository, as the README
 * tells a newcomer to.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { startSimulator } from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { liveRooms, sleep, spawnedCollectFlags, waitFor } from "./support/collect_helpers.ts";

const REPO = new URL("..", import.meta.url).pathname;

/** `deno task start …` as the leader of a new process group (as a terminal runs a job). */
function startTaskInOwnGroup(args: string[]) {
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "start", ...args],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  let stdout = "";
  const decoder = new TextDecoder();
  const drained = Promise.all([
    child.stderr.pipeTo(
      new WritableStream({ write: (chunk) => void (stderr += decoder.decode(chunk)) }),
    ),
    child.stdout.pipeTo(
      new WritableStream({ write: (chunk) => void (stdout += decoder.decode(chunk)) }),
    ),
  ]);
  return {
    /** The group id: setsid made the child the leader of a new session and group. */
    pgid: child.pid,
    stderr: () => stderr,
    async exit() {
      const status = await child.status;
      await drained;
      return { code: status.code, stderr, stdout };
    },
  };
}

/**
 * Nothing is written before the stop, and a WebSocket room that keeps talking makes the drain last
 * until its deadline: the stop is still under way when a second signal comes 2.5 s later.
 */
const STILL_STOPPING_FLAGS = [
  "--transport",
  "ws",
  "--drain-timeout",
  "60s",
  "--flush-interval",
  "1h",
  "--flush-high-water",
  "10000000",
];

function count(dbPath: string, sql: string): number {
  try {
    using db = new DatabaseSync(dbPath, { readOnly: true });
    return Number(db.prepare(sql).get()?.n);
  } catch {
    return 0; // not created yet, or its schema not yet written
  }
}

function stoppedLine(stderr: string) {
  const match = stderr.match(/msg="stopped" messages=(\d+) written=(\d+) dropped=(\d+)/);
  assert.ok(match, `no "stopped" line in:\n${stderr}`);
  return { messages: Number(match[1]), written: Number(match[2]), dropped: Number(match[3]) };
}

Deno.test("Ctrl+C to `deno task start`'s process group while traffic flows and the kernel holds a backlog stores every message and exits 0", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/ctrl-c.db`;
  const truth = new MemoryTruth();
  try {
    await using sim = await startSimulator({ rooms: 6, seed: 31, rate: 400, truth, log: () => {} });
    const task = startTaskInOwnGroup([
      ...spawnedCollectFlags(dbPath, sim, liveRooms(sim)),
      "--keep-raw",
      "--drain-timeout",
      "30s", // generous for a loaded machine: the drain ends when the server closes
    ]);
    await waitFor(
      () => count(dbPath, "SELECT count(*) AS n FROM raw_messages") > 1000,
      "rows to be stored",
    );
    // A backlog: the job is suspended while the rooms keep sending into its sockets.
    Deno.kill(-task.pgid, "SIGSTOP");
    const sentBefore = sim.counters.messagesSent;
    await waitFor(() => sim.counters.messagesSent > sentBefore + 2000, "a backlog in the kernel");
    Deno.kill(-task.pgid, "SIGINT"); // Ctrl+C: every process of the group gets it
    Deno.kill(-task.pgid, "SIGCONT");
    const { code, stderr } = await task.exit();
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(
      stderr,
      /forcing an exit/,
      "the forwarded copy of the signal is not a second Ctrl+C",
    );
    const stopped = stoppedLine(stderr);
    assert.equal(stopped.dropped, 0);
    assert.equal(
      count(dbPath, "SELECT count(*) AS n FROM raw_messages"),
      stopped.messages,
      "every op-5 message received is stored",
    );
    // Nothing was left in the kernel: every danmaku the simulator wrote to us is stored.
    const sent = new Set(
      truth.lines.map((line) => JSON.parse(line)).filter((t) => t.cmd.startsWith("DANMU_MSG"))
        .map((t) => t.id as string),
    );
    using db = new DatabaseSync(dbPath, { readOnly: true });
    const stored = new Set(
      db.prepare("SELECT msg_id FROM danmaku").all().map((row) => String(row.msg_id)),
    );
    const missing = [...sent].filter((id) => !stored.has(id));
    assert.ok(sent.size > 300, `only ${sent.size} danmaku were sent`);
    assert.deepEqual(missing, [], `${missing.length} of ${sent.size} danmaku sent were not stored`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second Ctrl+C after the grace period forces an exit (130) but first saves what is queued as JSONL", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/forced.db`;
  try {
    await using sim = await startSimulator({ rooms: 3, seed: 32, rate: 300, log: () => {} });
    const task = startTaskInOwnGroup([
      ...spawnedCollectFlags(dbPath, sim, liveRooms(sim)),
      "--keep-raw",
      ...STILL_STOPPING_FLAGS,
    ]);
    await waitFor(() => sim.counters.messagesSent > 3000, "traffic");
    Deno.kill(-task.pgid, "SIGINT");
    await waitFor(() => task.stderr().includes('msg="stopping'), "the stop to begin");
    await sleep(2500); // past the grace that tells a second Ctrl+C from the same one twice
    Deno.kill(-task.pgid, "SIGINT");
    const { code, stderr } = await task.exit();
    assert.equal(code, 130, stderr);
    const forced = stderr.match(
      /msg="forced exit: saved what was queued" messages=(\d+) events=(\d+) file="?([^"\s]+)/,
    );
    assert.ok(forced, stderr);
    const [, messages, events, file] = forced;
    const saved = (await Deno.readTextFile(file)).trim().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.equal(saved.length, Number(events));
    assert.equal(
      saved.filter((event) => event.type === "raw").length,
      Number(messages),
      "every message received is in the file",
    );
    assert.equal(count(dbPath, "SELECT count(*) AS n FROM raw_messages"), 0, "nothing was flushed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the cookie never reaches a spawned collector's stderr, stdout, database or fallback JSONL", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/secret.db`;
  const secret = "c0ffee%2C1790000000%2Cfeed*42";
  const cookieFile = `${dir}/cookie.txt`;
  await Deno.writeTextFile(cookieFile, secret);
  try {
    await using sim = await startSimulator({ rooms: 3, seed: 33, rate: 300, log: () => {} });
    const rooms = liveRooms(sim);
    const flags = [
      ...spawnedCollectFlags(dbPath, sim, rooms),
      "--cookie-file",
      cookieFile,
      "--keep-raw",
    ];
    // A clean run fills the database; a forced one (as in the test above) leaves a JSONL file.
    const clean = startTaskInOwnGroup(flags);
    await waitFor(() => count(dbPath, "SELECT count(*) AS n FROM danmaku") > 100, "rows stored");
    Deno.kill(-clean.pgid, "SIGINT");
    const first = await clean.exit();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /logged_in=true/);
    const forcedRun = startTaskInOwnGroup([...flags, ...STILL_STOPPING_FLAGS]);
    await waitFor(() => sim.connectionCount() === rooms.length, "the second run to connect");
    const sent = sim.counters.messagesSent;
    await waitFor(() => sim.counters.messagesSent > sent + 300, "traffic to the second run");
    Deno.kill(-forcedRun.pgid, "SIGINT");
    await waitFor(() => forcedRun.stderr().includes('msg="stopping'), "the stop to begin");
    await sleep(2500); // past the grace period
    Deno.kill(-forcedRun.pgid, "SIGINT");
    const second = await forcedRun.exit();
    assert.equal(second.code, 130, second.stderr);
    const file = second.stderr.match(/msg="forced exit: saved what was queued".* file="?([^"\s]+)/)
      ?.[1];
    assert.ok(file, second.stderr);

    const places: [string, string][] = [
      ["stderr of the clean run", first.stderr],
      ["stderr of the forced run", second.stderr],
      ["stdout of both runs", `${first.stdout}${second.stdout}`],
      ["the fallback JSONL", await Deno.readTextFile(file)],
    ];
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name.startsWith("secret.db")) {
        const bytes = await Deno.readFile(`${dir}/${entry.name}`);
        places.push([entry.name, new TextDecoder("latin1").decode(bytes)]);
      }
    }
    const forms = [secret, decodeURIComponent(secret), "feed*42"];
    for (const [where, text] of places) {
      if (where === "secret.db" || where.includes("JSONL")) {
        assert.ok(text.length > 0, `${where} is empty`);
      }
      for (const form of forms) assert.ok(!text.includes(form), `the cookie is in ${where}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
