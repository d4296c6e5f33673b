/**
 * `collect --db postgres://…` on two nodes against the simulator and a real PostgreSQL: the
 * rooms are split by leases, every danmaku is stored once, and the password never shows.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { LeaseManager } from "../src/cluster/lease_manager.ts";
import { type CollectorSummary, runCollector } from "../src/collector/collector.ts";
import { saveUnwritten } from "../src/collector/unwritten_file.ts";
import type { CollectedEvent } from "../src/normalize/events.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { systemClock } from "../src/util/clock.ts";
import { fastCollectConfig, liveRooms, sleep, waitFor } from "./support/collect_helpers.ts";
import { testDatabase, withoutPostgres } from "./support/postgres.ts";
import { seededRandom } from "./support/samples.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

interface TruthLine {
  room_id: number;
  cmd: string;
  id: string;
}

/** The delivery id of a stored raw message: `extra.id_str` for danmaku, else top-level `msg_id`. */
function deliveryId(raw: string): string {
  const body = JSON.parse(raw);
  if (typeof body.cmd === "string" && body.cmd.startsWith("DANMU_MSG")) {
    return JSON.parse(body.info[0][15].extra).id_str;
  }
  return String(body.msg_id);
}

/** Runs `query` on a short-lived connection. */
async function select<T extends Record<string, unknown>>(url: string, query: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return [...await sql.unsafe<T[]>(query)];
  } finally {
    await sql.end();
  }
}

/** Waits until `table` holds at least `rows` rows (a generous deadline; the test then checks). */
async function waitForRows(url: string, table: string, rows: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  const count = async () =>
    Number((await select<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0].n);
  while (await count() < rows && Date.now() < deadline) await sleep(200);
}

/** A collector node running in this process. */
interface Node {
  id: string;
  log: string[];
  held: () => ReadonlyMap<number, number>;
  stop: () => Promise<CollectorSummary>;
}

function startNode(url: string, api: string, id: string, rooms: number[], extra: string[]): Node {
  const log: string[] = [];
  const stop = new AbortController();
  let held: () => ReadonlyMap<number, number> = () => new Map();
  const config = fastCollectConfig(url, api, [
    "--node-id",
    id,
    "--lease-ttl",
    "2s",
    "--top",
    "0",
    "--no-follow-new",
    "--keep-raw",
    ...extra,
  ]);
  const running = runCollector(config, {
    clock: systemClock,
    random: seededRandom(id.length),
    log: (line) => log.push(line),
    rooms,
    onStarted: (parts) => {
      const leases = parts.leases;
      if (leases) held = () => new Map(leases.held);
    },
  }, stop.signal);
  return {
    id,
    log,
    held: () => held(),
    stop: () => {
      stop.abort();
      return running;
    },
  };
}

Deno.test({
  name: "two collect nodes on one PostgreSQL split the rooms and store every danmaku once",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const truth = new MemoryTruth();
  await using sim = await startSimulator({
    rooms: 10,
    seed: 21,
    rate: 100,
    messagesPerRoom: 60,
    truth,
    log: () => {},
  });
  const rooms = liveRooms(sim);
  // Capacity 6 each: neither node can take all 10 rooms.
  const nodes = ["one", "two"].map((id) =>
    startNode(db.url, sim.api, id, rooms, ["--max-connections", "6", "--status-interval", "200ms"])
  );
  let stopped = false;
  try {
    await waitFor(() => {
      const held = nodes.map((node) => [...node.held().keys()]);
      return held.flat().length === 10 && new Set(held.flat()).size === 10;
    }, "all 10 rooms held, each by one node");
    const [one, two] = nodes.map((node) => new Set(node.held().keys()));
    assert.ok(one.size > 0 && two.size > 0, `both nodes hold rooms (${one.size}, ${two.size})`);
    assert.deepEqual(new Set([...one, ...two]), new Set(rooms));
    await waitFor(() => rooms.every((id) => sim.remaining(id) === 0), "every message sent");
    // A room handed over to the node that started later runs on both for a moment: the
    // truth then has its messages once per connection.
    const truthLines = truth.lines.map((line) => JSON.parse(line) as TruthLine);
    const danmaku = new Set(
      truthLines.filter((t) => t.cmd.startsWith("DANMU_MSG")).map((t) => t.id),
    );
    await waitForRows(db.url, "danmaku", danmaku.size);
    const summaries = await Promise.all(nodes.map((node) => node.stop()));
    stopped = true;
    assert.ok(summaries.every((summary) => summary.dropped === 0 && !summary.savedTo));

    const ids = (await select<{ msg_id: string }>(db.url, "SELECT msg_id FROM danmaku"))
      .map((row) => String(row.msg_id));
    assert.equal(ids.length, new Set(ids).size, "no danmaku twice");
    assert.deepEqual(new Set(ids), danmaku, "every danmaku stored");
    // raw_messages are stored by the slot-0 holder only: never twice, and complete for every
    // room that was not handed over (whose primary tables pause until the new holder reads).
    const raw = (await select<{ raw: string }>(db.url, "SELECT raw FROM raw_messages"))
      .map((row) => deliveryId(row.raw));
    assert.equal(raw.length, new Set(raw).size, "no raw message twice");
    // A room changes holders by a handover, or (a loaded machine renewing late with a 2-s ttl)
    // by a lost lease that the other node picks up: either way its primary tables pause.
    const handed = new Set(
      nodes.flatMap((node) => node.log)
        .flatMap((line) =>
          /msg="(?:handed the room over|lease lost|moved to slot 0)[^"]*".* room=(\d+)/
            .exec(line)?.[1] ?? []
        )
        .map(Number),
    );
    if (nodes.some((node) => node.log.some((line) => line.includes("expired unrenewed")))) {
      for (const id of rooms) handed.add(id);
    }
    const rawSet = new Set(raw);
    assert.deepEqual(
      truthLines.filter((t) => !handed.has(t.room_id) && !rawSet.has(t.id)),
      [],
      "every message of the rooms not handed over kept raw",
    );
    // Both nodes wrote, and released their leases on the way out.
    const leases = await select<{ held: string }>(
      db.url,
      "SELECT count(node_id) AS held FROM cluster_leases",
    );
    assert.equal(Number(leases[0].held), 0);
    for (const node of nodes) {
      const text = node.log.join("\n");
      assert.ok(!text.includes(db.password), `no password in ${node.id}'s log`);
      assert.match(text, /msg="collecting" .*db=postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_\w+ /);
      assert.match(text, new RegExp(`msg=status .* node=${node.id} leases=[1-6] primary=[1-6] `));
    }
  } finally {
    if (!stopped) await Promise.allSettled(nodes.map((node) => node.stop()));
  }
});

Deno.test({
  name:
    "collect --top on two nodes: one node discovers, the wanted set holds the top rooms and the nodes split them",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  await using sim = await startSimulator({ rooms: 30, seed: 37, rate: 5, log: () => {} });
  const top = sim.world.rooms.filter((r) => r.live)
    .sort((a, b) => b.popularity - a.popularity || a.roomId - b.roomId).slice(0, 6);
  const nodes = ["first", "second"].map((id) =>
    // A 6-s ttl: a loaded machine renewing 2 s late would hand discovery to the other node.
    startNode(db.url, sim.api, id, [], ["--top", "6", "--no-follow-new", "--lease-ttl", "6s"])
  );
  let stopped = false;
  try {
    await waitFor(
      () => nodes.reduce((sum, node) => sum + node.held().size, 0) === 6,
      "the 6 top rooms held",
    );
    const [one, two] = nodes.map((node) => new Set(node.held().keys()));
    assert.deepEqual([...one].filter((room) => two.has(room)), [], "no room on both nodes");
    assert.ok(one.size > 0 && two.size > 0, `both nodes hold rooms (${one.size}, ${two.size})`);
    assert.deepEqual(new Set([...one, ...two]), new Set(top.map((room) => room.roomId)));
    await Promise.all(nodes.map((node) => node.stop()));
    stopped = true;
    const discovered = nodes.filter((node) =>
      node.log.some((line) => line.includes('msg="top rooms added"'))
    );
    assert.equal(discovered.length, 1, "the room lists were read by one node");
    const wanted = await select<{ room_id: string; popularity: string; source: string }>(
      db.url,
      "SELECT room_id, popularity, source FROM cluster_rooms ORDER BY room_id",
    );
    assert.deepEqual(
      wanted.map((row) => [Number(row.room_id), Number(row.popularity), row.source]),
      top.map((room) => [room.roomId, room.popularity, "discovery"])
        .sort((a, b) => Number(a[0]) - Number(b[0])),
    );
  } finally {
    if (!stopped) await Promise.allSettled(nodes.map((node) => node.stop()));
  }
});

Deno.test({
  name: "with --replicas 2 every room runs on both nodes and each message is stored once",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const truth = new MemoryTruth();
  await using sim = await startSimulator({
    rooms: 4,
    seed: 22,
    rate: 80,
    messagesPerRoom: 60,
    truth,
    log: () => {},
  });
  const rooms = liveRooms(sim);
  const nodes = ["left", "right"].map((id) =>
    startNode(db.url, sim.api, id, rooms, ["--replicas", "2"])
  );
  let stopped = false;
  try {
    await waitFor(
      () => nodes.every((node) => node.held().size === 4),
      "every room held by both nodes",
    );
    await waitFor(() => rooms.every((id) => sim.remaining(id) === 0), "every message sent");
    const truthLines = truth.lines.map((line) => JSON.parse(line) as TruthLine);
    const danmaku = new Set(
      truthLines.filter((t) => t.cmd.startsWith("DANMU_MSG")).map((t) => t.id),
    );
    await waitForRows(db.url, "danmaku", danmaku.size);
    await Promise.all(nodes.map((node) => node.stop()));
    stopped = true;
    const ids = (await select<{ msg_id: string }>(db.url, "SELECT msg_id FROM danmaku"))
      .map((row) => String(row.msg_id));
    assert.equal(ids.length, new Set(ids).size, "no danmaku twice");
    assert.deepEqual(new Set(ids), danmaku, "every danmaku stored");
    // raw_messages are stored by the slot-0 holder only: twice if both nodes wrote them.
    const raw = (await select<{ raw: string }>(db.url, "SELECT raw FROM raw_messages"))
      .map((row) => deliveryId(row.raw));
    assert.ok(raw.length > 0);
    assert.equal(raw.length, new Set(raw).size, "no raw message twice");
  } finally {
    if (!stopped) await Promise.allSettled(nodes.map((node) => node.stop()));
  }
});

/** Runs `main.ts collect` with `args` to its end. */
async function collect(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "collect", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test({
  name:
    "main.ts collect refuses a wrong password (exit 1), a live duplicate --node-id and cluster flags with SQLite (exit 2) in one line",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const wrong = new URL(db.url);
  wrong.password = "not-the-Secret-42";
  const badLogin = await collect("--db", wrong.toString(), "--rooms", "1", "--duration", "5s");
  assert.equal(badLogin.code, 1, badLogin.stderr);
  assert.equal(badLogin.stderr.split("\n").length, 1, badLogin.stderr);
  assert.match(
    badLogin.stderr,
    /^error: Cannot open database "postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_\w+": .*password authentication failed/,
  );
  assert.ok(!badLogin.stderr.includes("not-the-Secret-42"));

  await using _twin = await LeaseManager.open({
    url: db.url,
    nodeId: "twin",
    ttlMs: 60_000,
    capacity: 1,
    clock: systemClock,
    log: () => {},
  });
  const duplicate = await collect("--db", db.url, "--node-id", "twin", "--rooms", "1");
  assert.equal(duplicate.code, 2, duplicate.stderr);
  assert.equal(duplicate.stderr.split("\n").length, 1, duplicate.stderr);
  assert.match(
    duplicate.stderr,
    /^error: Cannot start node "twin": a live node with this --node-id is registered in "postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_\w+" \(host .*, pid \d+, expires in \d+ s unless it renews\); give each collector its own --node-id$/,
  );
  for (const out of [badLogin, duplicate]) {
    assert.ok(!`${out.stdout}${out.stderr}`.includes(db.password), "no password in the output");
  }

  const sqlite = await collect("--db", "x.db", "--rooms", "1", "--replicas", "2");
  assert.deepEqual(sqlite, {
    code: 2,
    stdout: "",
    stderr:
      'error: Cannot use --replicas with --db "x.db": room leases need a shared PostgreSQL database (--db postgres://user@host:port/dbname)',
  });
});

Deno.test("saveUnwritten() for a postgres --db writes danmaku-unwritten-<node>-<ms>.jsonl in the current folder, no URL in the name", async () => {
  const dir = await Deno.makeTempDir();
  const before = Deno.cwd();
  try {
    Deno.chdir(dir);
    const log: string[] = [];
    const event = {
      type: "audience",
      roomId: 7,
      receivedAtMs: 1,
      cmd: "WATCHED_CHANGE",
      kind: "watched",
      value: 3,
      tsMs: null,
    } as unknown as CollectedEvent;
    const path = saveUnwritten(
      "postgres://u:pw-42@127.0.0.1:5432/db",
      [event],
      1234,
      (line) => log.push(line),
      "node-a",
    );
    assert.equal(path, "danmaku-unwritten-node-a-1234.jsonl");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/${path}`)), event);
    assert.ok(!log.join("\n").includes("pw-42"));
  } finally {
    Deno.chdir(before);
    await Deno.remove(dir, { recursive: true });
  }
});
