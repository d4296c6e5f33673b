/**
 * Every fault path end to end: the real simulator injects the fault, the collector runs with its
 * real SQLite store, and each test checks the recovery (watchdog, token refresh, WBI key refetch,
 * global pause) and that every message the simulator delivered was stored exactly once.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { HttpGet } from "../src/bilibili/http_get.ts";
import { nodeHttpGet } from "../src/bilibili/http_get.ts";
import { type CollectorParts, runCollector } from "../src/collector/collector.ts";
import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { type Clock, systemClock } from "../src/util/clock.ts";
import { FAST_COLLECT_FLAGS, fastCollectConfig, waitFor } from "./support/collect_helpers.ts";
import { seededRandom } from "./support/samples.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const TLS_FIXTURES = new URL("./fixtures/tls/", import.meta.url);
const GET_DANMU_INFO = "/xlive/web-room/v1/index/getDanmuInfo";
const NAV = "/x/web-interface/nav";

/** One truth line: an op-5 message the simulator wrote to a connection. */
interface TruthLine {
  room_id: number;
  cmd: string;
  id: string;
  conn: number;
}

function truthLines(truth: MemoryTruth): TruthLine[] {
  return truth.lines.map((line) => JSON.parse(line) as TruthLine);
}

/** The msg_ids of every DANMU_MSG in the truth log, sorted. */
function truthDanmakuIds(truth: MemoryTruth): string[] {
  return truthLines(truth).filter((t) => t.cmd.startsWith("DANMU_MSG")).map((t) => t.id).sort();
}

/** The msg_ids of every stored danmaku, sorted (duplicates kept, so a twice-stored one shows). */
function storedDanmakuIds(dbPath: string): string[] {
  using db = new DatabaseSync(dbPath, { readOnly: true });
  return db.prepare("SELECT msg_id FROM danmaku ORDER BY msg_id").all().map((row) =>
    String(row.msg_id)
  );
}

interface SessionRow {
  room_id: number;
  transport: string;
  host: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  reason: string | null;
  messages: number;
}

function sessions(dbPath: string): SessionRow[] {
  using db = new DatabaseSync(dbPath, { readOnly: true });
  return db.prepare("SELECT * FROM sessions ORDER BY started_at_ms").all().map((row) =>
    ({ ...row }) as unknown as SessionRow
  );
}

/** Danmaku of `roomId` received after `afterMs`. */
function danmakuAfter(dbPath: string, roomId: number, afterMs: number): number {
  using db = new DatabaseSync(dbPath, { readOnly: true });
  const row = db.prepare(
    "SELECT count(*) AS n FROM danmaku WHERE room_id = ? AND received_at_ms > ?",
  ).get(roomId, afterMs);
  return Number(row?.n);
}

/** A simulator whose rooms are all live, with a finite budget and an in-memory truth log. */
async function liveSimulator(
  options: SimulatorOptions,
): Promise<{ sim: Simulator; truth: MemoryTruth; rooms: number[] }> {
  const truth = new MemoryTruth();
  const sim = await startSimulator({ log: () => {}, ...options, truth });
  const rooms = sim.world.rooms.map((room) => room.roomId);
  for (const id of rooms) sim.setLive(id, true);
  return { sim, truth, rooms };
}

/** True once every budget is spent and the collector has received every message written. */
function receivedEverything(
  sim: Simulator,
  truth: MemoryTruth,
  rooms: number[],
  parts: CollectorParts,
): boolean {
  return rooms.every((id) => sim.remaining(id) === 0) &&
    parts.supervisor.status().messages >= truth.lines.length;
}

interface CollectRun {
  dbPath: string;
  logs: string[];
  parts: CollectorParts;
}

/**
 * Runs the collector in-process (real SQLite store) against `sim` for `rooms`; `scenario` runs
 * once everything started, then the run waits until every delivered message was received and
 * stops. The database folder is removed by the caller's `dir` cleanup.
 */
async function collect(
  dir: string,
  sim: Simulator,
  truth: MemoryTruth,
  rooms: number[],
  options: {
    flags?: string[];
    clock?: Clock;
    httpGet?: HttpGet;
    scenario?: (parts: CollectorParts, logs: string[]) => Promise<void>;
  } = {},
): Promise<CollectRun> {
  const dbPath = `${dir}/faults.db`;
  const logs: string[] = [];
  let started: CollectorParts | undefined;
  const stop = new AbortController();
  await runCollector(
    fastCollectConfig(dbPath, sim.api, ["--top", "0", ...options.flags ?? []]),
    {
      clock: options.clock ?? systemClock,
      random: seededRandom(5),
      log: (line) => logs.push(line),
      rooms,
      httpGet: options.httpGet,
      onStarted: async (parts) => {
        started = parts;
        try {
          await options.scenario?.(parts, logs);
          await waitFor(
            () => receivedEverything(sim, truth, rooms, parts),
            "every delivered message to be received",
          );
        } finally {
          stop.abort();
        }
      },
    },
    stop.signal,
  );
  assert.ok(started, "the collector started");
  return { dbPath, logs, parts: started };
}

/** Makes a temp folder for one test and removes it afterwards. */
async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fault-paths-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("stall: the watchdog ends the silent connection, the room reconnects and everything is stored", async () => {
  await withTempDir(async (dir) => {
    const { sim, truth, rooms } = await liveSimulator({
      rooms: 3,
      seed: "stall",
      rate: 300,
      // The quietest room (≈ 164 msg/s) needs ≈ 1.8 s of listening: more than one connection.
      messagesPerRoom: 300,
      faults: { stall: 1 }, // every connection goes silent within its first second
    });
    await using _sim = sim;
    const run = await collect(dir, sim, truth, rooms, {
      // Heartbeat replies every 100 ms keep healthy connections from looking dead. A connection
      // stalled before its first reply is silent after auth: `auto` would move the room to wss,
      // which this simulator does not serve.
      flags: ["--watchdog", "600ms", "--heartbeat-interval", "100ms", "--transport", "tcp"],
      scenario: async ({ supervisor }) => {
        await waitFor(() => supervisor.watchdogKills > 0, "a watchdog kill");
      },
    });
    assert.ok(sim.counters.faultStalls > 0);
    assert.ok(run.parts.supervisor.watchdogKills > 0);
    const rows = sessions(run.dbPath);
    const killed = rows.filter((s) => s.reason?.startsWith("watchdog"));
    assert.ok(killed.length > 0, "a session ended by the watchdog");
    assert.ok(
      killed.some((s) => danmakuAfter(run.dbPath, s.room_id, s.ended_at_ms!) > 0),
      "danmaku stored from a connection made after a watchdog kill",
    );
    assert.deepEqual(storedDanmakuIds(run.dbPath), truthDanmakuIds(truth));
    assert.ok(truthDanmakuIds(truth).length > 100);
  });
});

Deno.test("authfail: a refused auth fetches a new token and the room comes back", async () => {
  await withTempDir(async (dir) => {
    const { sim, truth, rooms } = await liveSimulator({
      rooms: 3,
      seed: "authfail",
      rate: 60,
      messagesPerRoom: 100,
      faults: { authfail: 0.5 },
    });
    await using _sim = sim;
    const run = await collect(dir, sim, truth, rooms, {
      // Three refused auths in a row would move the room to wss under `auto` (no TLS here).
      flags: ["--transport", "tcp"],
      scenario: async () => {
        await waitFor(() => sim.counters.authRejected > 0, "a refused auth");
      },
    });
    const rows = sessions(run.dbPath);
    const refused = rows.filter((s) => s.reason?.startsWith("auth_failed"));
    assert.ok(refused.length > 0, "a session ended by the refused auth");
    assert.equal(refused.length, sim.counters.authRejected, "every refusal seen as one");
    assert.ok(
      (run.parts.api.requests.get(GET_DANMU_INFO) ?? 0) >= rooms.length + refused.length,
      "a new token after every refused auth",
    );
    for (const s of refused) {
      assert.ok(
        rows.some((r) =>
          r.room_id === s.room_id && r.started_at_ms >= s.ended_at_ms! &&
          r.messages > 0
        ),
        `room ${s.room_id} came back after the refusal`,
      );
    }
    assert.deepEqual(storedDanmakuIds(run.dbPath), truthDanmakuIds(truth));
    assert.ok(truthDanmakuIds(truth).length > 100);
  });
});

Deno.test("-352 after the WBI keys rotate: the keys are fetched again and the rooms come back", async () => {
  await withTempDir(async (dir) => {
    const { sim, truth, rooms } = await liveSimulator({
      rooms: 2,
      seed: "wbi",
      rate: 60,
      messagesPerRoom: 150,
    });
    await using _sim = sim;
    let rotatedAt = 0;
    let navBefore = 0;
    const run = await collect(dir, sim, truth, rooms, {
      scenario: async ({ supervisor, api }) => {
        await waitFor(
          () => supervisor.workers().every((w) => w.state === "live" && w.messages > 1),
          "both rooms to be live",
        );
        navBefore = api.requests.get(NAV) ?? 0;
        rotatedAt = Date.now();
        // New keys, stale tokens, dropped connections: the collector must get a token again.
        sim.rotateWbiKeys();
        sim.expireTokens();
        sim.disconnectAll();
        await waitFor(() => sim.counters.http352 > 0, "getDanmuInfo signed with the old keys");
      },
    });
    assert.ok(
      run.logs.some((line) => line.includes(`path=${GET_DANMU_INFO} code=-352`)),
      "the -352 was logged",
    );
    assert.ok((run.parts.api.requests.get(NAV) ?? 0) > navBefore, "nav asked for the new keys");
    for (const room of rooms) {
      assert.ok(danmakuAfter(run.dbPath, room, rotatedAt) > 0, `room ${room} came back`);
    }
    assert.deepEqual(storedDanmakuIds(run.dbPath), truthDanmakuIds(truth));
    assert.ok(truthDanmakuIds(truth).length > 100);
  });
});

/**
 * Real time plus an offset the test moves forward with `jump()`; a sleep ends at its deadline on
 * this clock, so a 60 s pause can be skipped without waiting for it.
 */
class JumpClock implements Clock {
  #offset = 0;
  #sleepers = new Set<Sleeper>();

  now(): number {
    return Date.now() + this.#offset;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        at: this.now() + Math.max(0, ms),
        timer: undefined,
        wake: () => {
          clearTimeout(sleeper.timer);
          signal?.removeEventListener("abort", sleeper.wake);
          this.#sleepers.delete(sleeper);
          resolve();
        },
      };
      this.#arm(sleeper);
      signal?.addEventListener("abort", sleeper.wake, { once: true });
      this.#sleepers.add(sleeper);
    });
  }

  #arm(sleeper: Sleeper): void {
    clearTimeout(sleeper.timer);
    sleeper.timer = setTimeout(sleeper.wake, Math.max(0, sleeper.at - this.now()));
  }

  /** Deadlines of the pending sleeps. */
  deadlines(): number[] {
    return [...this.#sleepers].map((s) => s.at);
  }

  /** Moves the clock forward by `ms`: due sleeps end now, the others keep their deadline. */
  jump(ms: number): void {
    this.#offset += ms;
    for (const sleeper of [...this.#sleepers]) this.#arm(sleeper);
  }
}

interface Sleeper {
  at: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  wake: () => void;
}

Deno.test("412: a banned IP pauses every API call until the pause ends, then collection recovers", async () => {
  await withTempDir(async (dir) => {
    const banMs = 1500;
    const { sim, truth, rooms } = await liveSimulator({
      rooms: 4,
      seed: "412",
      rate: 40,
      messagesPerRoom: 60,
      httpRateLimit: 20,
      httpBanMs: banMs,
    });
    await using _sim = sim;
    // A burst from this IP (another program on the same machine) gets it banned.
    const bannedAt = Date.now();
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => nodeHttpGet(`${sim.api}${NAV}`, { headers: {} })),
    );
    assert.ok(burst.some((response) => response.status === 412), "the burst was refused");

    const clock = new JumpClock();
    const calls: { at: number; path: string; status: number }[] = [];
    let refusedAt = 0;
    let pauseEnd = 0;
    /** Calls made before the first 412 came back (some may have been in flight then). */
    let callsAtPause: number | undefined;
    const httpGet: HttpGet = async (url, options) => {
      const call = { at: clock.now(), path: new URL(url).pathname, status: 0 };
      calls.push(call);
      const response = await nodeHttpGet(url, options);
      call.status = response.status;
      if (response.status === 412 && callsAtPause === undefined) {
        callsAtPause = calls.length;
        refusedAt = clock.now(); // the client pauses right after, from this time or later
      }
      return response;
    };
    const run = await collect(dir, sim, truth, rooms, {
      // Slower than the simulator's limit, so only the ban can cause a 412.
      flags: ["--api-rate", "5"],
      clock,
      httpGet,
      scenario: async (_parts, logs) => {
        const paused = () => logs.find((line) => line.includes("code=-412"));
        await waitFor(() => paused() !== undefined, "the collector to see a 412");
        pauseEnd = refusedAt + Number(/pause_ms=(\d+)/.exec(paused()!)?.[1]);
        // Every room waits for the end of the pause; the simulator's own ban runs out meanwhile.
        await waitFor(
          () =>
            clock.deadlines().filter((at) => at >= pauseEnd).length >= rooms.length &&
            Date.now() > bannedAt + banMs + 200,
          "every room to wait out the pause",
        );
        // Calls still waiting on the pause may go out as soon as the clock reaches its end.
        assert.ok(
          calls.slice(callsAtPause).every((c) => c.at >= pauseEnd),
          "no API call while paused",
        );
        clock.jump(pauseEnd + 200 - clock.now());
      },
    });
    const refused = calls.filter((c) => c.status === 412);
    assert.ok(refused.length > 0 && refused.length <= rooms.length + 2, "one burst of 412s");
    assert.ok(
      calls.slice(callsAtPause).every((c) => c.at >= pauseEnd),
      "calls resumed only after the pause",
    );
    assert.ok(calls.slice(callsAtPause).some((c) => c.path === GET_DANMU_INFO && c.status === 200));
    assert.equal(run.logs.filter((line) => line.includes("code=-412")).length, refused.length);
    assert.deepEqual(storedDanmakuIds(run.dbPath), truthDanmakuIds(truth));
    assert.ok(truthDanmakuIds(truth).length > 100);
  });
});

Deno.test("wss: main.ts collect --ca-file over TLS WebSocket stores every delivered message once", async () => {
  await withTempDir(async (dir) => {
    const read = (name: string) => Deno.readTextFileSync(new URL(name, TLS_FIXTURES));
    const { sim, truth, rooms } = await liveSimulator({
      rooms: 3,
      seed: "wss",
      rate: 60,
      messagesPerRoom: 80,
      tls: { cert: read("server.pem"), key: read("server.key") },
    });
    await using _sim = sim;
    const dbPath = `${dir}/wss.db`;
    // The collector trusts the test CA through --ca-file; Deno's own --cert is not used.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "collect",
        "--db",
        dbPath,
        "--api-base",
        sim.api,
        "--rooms",
        rooms.join(","),
        "--transport",
        "wss",
        "--ca-file",
        new URL("ca.pem", TLS_FIXTURES).pathname,
        ...FAST_COLLECT_FLAGS,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stored = () => {
      try {
        return storedDanmakuIds(dbPath).length;
      } catch {
        return 0; // not created yet
      }
    };
    try {
      await waitFor(
        () =>
          rooms.every((id) => sim.remaining(id) === 0) && stored() >= truthDanmakuIds(truth).length,
        "every delivered danmaku in the database",
      );
    } finally {
      child.kill("SIGINT");
    }
    const result = await child.output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr);
    assert.deepEqual(storedDanmakuIds(dbPath), truthDanmakuIds(truth));
    assert.ok(truthDanmakuIds(truth).length > 100);
    const used = new Set(sessions(dbPath).map((s) => `${s.transport} ${s.host}`));
    assert.deepEqual([...used], [`wss ${sim.wss}`]);
  });
});
