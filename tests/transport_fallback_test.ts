/**
 * `--transport auto` end to end: the simulator refuses raw TCP for some rooms, closes it right
 * after auth or goes silent after auth for others; those rooms move to wss (trusting the test
 * CA through --ca-file, no --cert) and every message the simulator sent is stored once, while
 * healthy rooms stay on TCP. Plus the pure classification of a TCP session.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type CollectorParts, runCollector } from "../src/collector/collector.ts";
import { BilibiliApi } from "../src/bilibili/api_client.ts";
import { ConnectionSlots } from "../src/collector/connection_slots.ts";
import { tcpTrouble } from "../src/collector/room_worker.ts";
import { Supervisor } from "../src/collector/supervisor.ts";
import { RoomSession, type SessionOutcome } from "../src/room/room_session.ts";
import { connectTransport } from "../src/room/transport.ts";
import { type Simulator, startSimulator } from "../src/simulator/simulator.ts";
import type { TcpFault } from "../src/simulator/faults.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { systemClock } from "../src/util/clock.ts";
import { RateLimiter } from "../src/util/rate_limiter.ts";
import { fastCollectConfig, waitFor } from "./support/collect_helpers.ts";
import { seededRandom } from "./support/samples.ts";
import { simulatorWorkerDeps } from "./support/worker_deps.ts";

const TLS = new URL("./fixtures/tls/", import.meta.url);
const CA_FILE = new URL("ca.pem", TLS).pathname;
const read = (name: string) => Deno.readTextFileSync(new URL(name, TLS));

const outcome = (fields: Partial<SessionOutcome>): SessionOutcome => ({
  reason: "closed_by_server",
  detail: "",
  authenticated: false,
  authAnswered: false,
  messages: 0,
  heartbeatReplies: 0,
  ...fields,
});

Deno.test("tcpTrouble() tells refused, closed-after-auth and silent-after-auth sessions from working or otherwise failing ones", () => {
  const accepted = { authenticated: true, authAnswered: true };
  const cases: [Partial<SessionOutcome>, boolean, string | undefined][] = [
    [
      { reason: "socket_error", error: new Deno.errors.ConnectionRefused("refused") },
      false,
      "refused",
    ],
    [
      { reason: "socket_error", error: new DOMException("timed out", "AbortError") },
      false,
      "refused",
    ],
    [{ reason: "socket_error", error: new Deno.errors.NotFound("no such host") }, false, undefined],
    [{ reason: "auth_failed" }, true, "closed_after_auth"],
    [{ reason: "closed_by_server", ...accepted }, true, "closed_after_auth"],
    [{ reason: "socket_error", ...accepted }, true, "closed_after_auth"],
    [{ reason: "auth_timeout" }, true, "silent_after_auth"],
    [{ reason: "silent_after_auth", ...accepted }, true, "silent_after_auth"],
    [{ reason: "watchdog", ...accepted }, true, "silent_after_auth"],
    // It worked, or failed for a reason wss would not fix.
    [{ reason: "closed_by_server", ...accepted, heartbeatReplies: 1 }, true, undefined],
    [{ reason: "watchdog", ...accepted, messages: 3 }, true, undefined],
    [{ reason: "auth_failed", authAnswered: true }, true, undefined], // refused with a code
    [{ reason: "protocol_error", ...accepted }, true, undefined],
    [{ reason: "stopped", ...accepted }, true, undefined],
  ];
  for (const [fields, connected, expected] of cases) {
    assert.equal(tcpTrouble(outcome(fields), connected), expected, JSON.stringify(fields));
  }
});

interface SessionRow {
  room_id: number;
  transport: string;
  host: string;
  started_at_ms: number;
  reason: string | null;
}

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

/** A TLS simulator with every room live, a finite budget per room and an in-memory truth log. */
async function tlsSimulator(seed: string, rooms: number) {
  const truth = new MemoryTruth();
  const sim = await startSimulator({
    seed,
    rooms,
    rate: 60,
    messagesPerRoom: 60,
    truth,
    log: () => {},
    tls: { cert: read("server.pem"), key: read("server.key") },
  });
  const ids = sim.world.rooms.map((room) => room.roomId);
  for (const id of ids) sim.setLive(id, true);
  return { sim, truth, rooms: ids };
}

interface Run {
  logs: string[];
  statusLines: string[];
  sessions: SessionRow[];
  /** Raw message ids stored, by room (duplicates kept). */
  stored: Map<number, string[]>;
  /** Truth ids (every op-5 message the simulator wrote), by room. */
  sent: Map<number, string[]>;
  /** Rooms on wss when the run stopped. */
  wssAtEnd: number;
}

/** Collects `rooms` with the default transport until every budget is spent and received. */
async function collect(
  sim: Simulator,
  truth: MemoryTruth,
  rooms: number[],
  scenario?: (parts: CollectorParts) => Promise<void>,
): Promise<Run> {
  const dir = await Deno.makeTempDir({ prefix: "transport-fallback-" });
  try {
    const dbPath = `${dir}/t.db`;
    const logs: string[] = [];
    const statusLines: string[] = [];
    const stop = new AbortController();
    let wssAtEnd = 0;
    const flags = [
      "--top",
      "0",
      "--keep-raw",
      "--ca-file",
      CA_FILE,
      // Heartbeat replies every 200 ms keep healthy connections from looking silent.
      "--heartbeat-interval",
      "200ms",
      "--watchdog",
      "1s",
    ];
    await runCollector(fastCollectConfig(dbPath, sim.api, flags), {
      clock: systemClock,
      random: seededRandom(7),
      log: (line) => logs.push(line),
      statusLine: (line) => statusLines.push(line),
      rooms,
      onStarted: async (parts) => {
        try {
          await scenario?.(parts);
          await waitFor(
            () =>
              rooms.every((id) => sim.remaining(id) === 0) &&
              parts.supervisor.status().messages >= truth.lines.length,
            "every message the simulator sent to be received",
          );
          const lines = statusLines.length;
          await waitFor(() => statusLines.length > lines, "a status line after that");
          wssAtEnd = parts.supervisor.status().wss;
        } finally {
          stop.abort();
        }
      },
    }, stop.signal);
    using db = new DatabaseSync(dbPath, { readOnly: true });
    const sessions = db.prepare("SELECT * FROM sessions ORDER BY started_at_ms").all()
      .map((row) => ({ ...row }) as unknown as SessionRow);
    const group = (pairs: [number, string][]) => {
      const map = new Map<number, string[]>(rooms.map((id) => [id, []]));
      for (const [room, id] of pairs) map.get(room)?.push(id);
      for (const ids of map.values()) ids.sort();
      return map;
    };
    const stored = group(
      db.prepare("SELECT room_id, raw FROM raw_messages").all()
        .map((row) => [Number(row.room_id), deliveryId(String(row.raw))]),
    );
    const sent = group(
      truth.lines.map((line) => JSON.parse(line) as TruthLine).map((t) => [t.room_id, t.id]),
    );
    return { logs, statusLines, sessions, stored, sent, wssAtEnd };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("auto: rooms whose TCP is refused, closed right after auth or silent after auth move to wss and store every message sent", async () => {
  const { sim, truth, rooms } = await tlsSimulator("fallback", 6);
  await using _sim = sim;
  const faults = new Map<number, TcpFault>([
    [rooms[0], "refuse"],
    [rooms[1], "refuse"],
    [rooms[2], "close"],
    [rooms[3], "silent"],
  ]);
  for (const [room, fault] of faults) sim.setTcpFault(room, fault);
  const healthy = rooms.filter((id) => !faults.has(id));
  const run = await collect(sim, truth, rooms);

  assert.ok(sim.counters.tcpClosedAfterAuth >= 3, "TCP closed right after auth");
  assert.ok(sim.counters.tcpSilenced >= 3, "TCP silent after auth");
  const moves = run.logs.filter((line) => line.includes('msg="room moves to wss"'));
  const reasons = { refuse: "refused", close: "closed_after_auth", silent: "silent_after_auth" };
  for (const [room, fault] of faults) {
    const own = moves.filter((line) => line.includes(`room=${room} `));
    assert.equal(own.length, 1, `room ${room} logged its move once`);
    assert.match(own[0], new RegExp(`reason=${reasons[fault]} `));
    const sessions = run.sessions.filter((s) => s.room_id === room);
    const firstWss = sessions.findIndex((s) => s.transport === "wss");
    assert.equal(firstWss, 3, `room ${room}: three TCP sessions, then wss`);
    assert.ok(sessions.slice(3).every((s) => s.transport === "wss" && s.host === sim.wss));
    if (fault === "refuse") {
      assert.ok(sessions.slice(0, 3).every((s) => /^socket_error: cannot connect/.test(s.reason!)));
    }
  }
  for (const room of healthy) {
    assert.ok(!moves.some((line) => line.includes(`room=${room} `)), `room ${room} stays on TCP`);
    assert.deepEqual(
      [...new Set(run.sessions.filter((s) => s.room_id === room).map((s) => s.transport))],
      ["tcp"],
    );
  }
  // Everything the simulator wrote (to wss, for the moved rooms) is stored, each message once.
  for (const room of rooms) {
    assert.ok(run.sent.get(room)!.length >= 60, `room ${room} sent its messages`);
    assert.deepEqual(run.stored.get(room), run.sent.get(room), `room ${room}`);
  }
  assert.equal(run.wssAtEnd, faults.size);
  assert.ok(
    run.statusLines.some((line) => line.includes(` wss=${faults.size}`)),
    `a status line counts the rooms on wss: ${run.statusLines.at(-1)}`,
  );
});

Deno.test("auto: healthy rooms stay on TCP through server restarts", async () => {
  const { sim, truth, rooms } = await tlsSimulator("healthy", 3);
  await using _sim = sim;
  const run = await collect(sim, truth, rooms, async ({ supervisor }) => {
    for (let restart = 0; restart < 3; restart++) {
      const sessions = supervisor.status().sessions;
      await waitFor(
        () =>
          supervisor.status().sessions >= sessions + (restart === 0 ? 0 : rooms.length) &&
          supervisor.workers().every((w) =>
            w.state === "live" && (w.session?.heartbeatReplies ?? 0) > 0
          ),
        "every room to be connected again and hearing heartbeat replies",
      );
      sim.disconnectAll();
    }
  });
  assert.ok(run.sessions.length >= rooms.length * 4, `${run.sessions.length} sessions`);
  assert.deepEqual([...new Set(run.sessions.map((s) => s.transport))], ["tcp"]);
  assert.ok(!run.logs.some((line) => line.includes("moves to wss")));
  assert.equal(run.wssAtEnd, 0);
  for (const room of rooms) assert.deepEqual(run.stored.get(room), run.sent.get(room));
});

Deno.test("Supervisor ends an accepted connection that stays silent past silentAfterAuthMs, long before the watchdog", async () => {
  await using sim = await startSimulator({ seed: "silent", rooms: 1, rate: 20, log: () => {} });
  const room = sim.world.rooms[0].roomId;
  sim.setLive(room, true);
  sim.setTcpFault(room, "silent");
  const clock = systemClock;
  const sessions: { reason: string | null }[] = [];
  const supervisor = new Supervisor({
    clock,
    log: () => {},
    sweepIntervalMs: 50,
    watchdogMs: 60_000,
    silentAfterAuthMs: 300,
    silence: false,
    deps: simulatorWorkerDeps(sim.api, {
      slots: new ConnectionSlots(10),
      emit: (event) => {
        if (event.type === "session") sessions.push({ reason: event.reason });
      },
      heartbeatIntervalMs: 100,
    }),
  });
  const stop = new AbortController();
  supervisor.add(room);
  const running = supervisor.run(stop.signal);
  try {
    await waitFor(
      () => sessions.filter((s) => s.reason?.startsWith("silent_after_auth: ")).length >= 2,
      "two connections ended as silent after auth",
    );
  } finally {
    stop.abort();
    await running;
  }
  assert.equal(supervisor.watchdogKills, 0);
  assert.ok(sim.counters.tcpSilenced >= 2);
  assert.match(
    sessions.find((s) => s.reason?.startsWith("silent_after_auth"))!.reason!,
    /^silent_after_auth: accepted, then neither a message nor a heartbeat reply for \d+ s$/,
  );
});

Deno.test("Simulator.setTcpFault('refuse'): getDanmuInfo hands the room a refusing TCP port, a TCP auth on the real port is closed unanswered, and WebSocket serves it", async () => {
  await using sim = await startSimulator({ seed: "refuse", rooms: 2, rate: 50, log: () => {} });
  const [refused, other] = sim.world.rooms.map((room) => room.roomId);
  for (const id of [refused, other]) sim.setLive(id, true);
  sim.setTcpFault(refused, "refuse");
  const clock = systemClock;
  const api = new BilibiliApi({
    apiBase: sim.api,
    clock,
    limiter: new RateLimiter({ perSecond: 0, clock }),
  });
  const identity = await api.identity();
  const info = await api.getDanmuInfo(refused);
  const tcpPort = Number(sim.tcp.split(":")[1]);
  assert.notEqual(info.hosts[0].port, tcpPort);
  assert.equal((await api.getDanmuInfo(other)).hosts[0].port, tcpPort, "other rooms keep TCP");
  await assert.rejects(
    connectTransport({ kind: "tcp", host: info.hosts[0] }),
    Deno.errors.ConnectionRefused,
  );
  const session = async (kind: "tcp" | "ws") => {
    const transport = await connectTransport({
      kind,
      host: { ...info.hosts[0], port: tcpPort },
    });
    const roomSession: RoomSession = new RoomSession({
      transport,
      clock,
      auth: {
        uid: identity.uid,
        roomid: refused,
        protover: 3,
        platform: "web",
        type: 2,
        key: info.token,
        buvid: identity.buvid3,
      },
      onMessage: () => {
        if (roomSession.messages >= 5) roomSession.stop("stopped", "enough");
      },
    });
    return await roomSession.run();
  };
  const tcp = await session("tcp");
  assert.deepEqual([tcp.reason, tcp.authAnswered], ["auth_failed", false], tcp.detail);
  assert.equal(sim.counters.tcpRefused, 1);
  const ws = await session("ws");
  assert.deepEqual([ws.reason, ws.authenticated], ["stopped", true], ws.detail);
  assert.ok(ws.messages >= 5);
});
