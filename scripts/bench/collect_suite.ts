/**
 * Collect suite: the simulator (subprocess) feeds N rooms; `main.ts collect` (another
 * subprocess) stores into SQLite. Measures sustained stored msg/s, messages lost against the
 * truth file, CPU and RSS of the collector. The peer (bilibili-live-ws `LiveTCP` in Node, no
 * storage) receives the same rooms from a simulator started with the same flags, alternating
 * with ours. The idle suite (also here): RSS per idle room at K rooms, ours and the peer's.
 */
import { DatabaseSync } from "node:sqlite";
import { type Peer, PeerProcess, preparePeer } from "./peer.ts";
import {
  BENCH_BUVID,
  type Child,
  danmuTokens,
  median,
  roomIds,
  ROOT,
  sleep,
  startChild,
  taskV8Flags,
  usage,
} from "./processes.ts";
import type { SuiteOptions } from "./decode_suite.ts";

/** The V8 flags `deno task start` runs the collector with, so figures match users'. */
const COLLECT_V8_FLAGS = taskV8Flags("start");

interface CollectorProcess {
  process: Deno.ChildProcess;
  /** Latest status fields parsed from stderr. */
  status: Record<string, number>;
  statusAt: number;
  /** The last few warnings, errors and connection ends, for a point that cannot start. */
  warnings: string[];
  stop(): Promise<Deno.CommandStatus>;
}

/** Warning lines a collector process keeps for its error message. */
const KEPT_WARNINGS = 5;

/** The pace the collect suite connects at: as fast as the simulator answers. */
const FAST_RATES = { apiRate: 2000, connectRate: 1000 };

/**
 * The pace of the idle suite: 10,000 rooms (two API calls each) live within 60 s against the
 * simulator. On the real site one IP keeps --api-rate at 1 (docs/collecting.md: bursts get HTTP
 * 412), so 10,000 rooms take ≈ 5.5 hours to set up there: the site's ban threshold, not the
 * collector, sets that pace.
 */
export const IDLE_RATES = { apiRate: 500, connectRate: 250 };

/**
 * The simulator of the idle measures (this suite and scripts/bench/heap_probe.ts), after
 * `--rooms`: every room live and all but silent.
 */
export const IDLE_SIMULATOR_ARGS: readonly string[] = [
  "--rate",
  "0.001",
  "--seed",
  "bench-idle",
  "--live-minutes",
  "100000",
  "--offline-minutes",
  "0.01",
];

function startCollector(
  sim: Child,
  dbPath: string,
  roomsFile: string,
  extra: string[] = [],
  rates = FAST_RATES,
): CollectorProcess {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...COLLECT_V8_FLAGS,
      "main.ts",
      "collect",
      "--db",
      dbPath,
      "--api-base",
      sim.api,
      "--rooms-file",
      roomsFile,
      "--api-rate",
      String(rates.apiRate),
      "--connect-rate",
      String(rates.connectRate),
      "--max-connections",
      "100000",
      "--flush-interval",
      "1s",
      "--status-interval",
      "250ms",
      ...extra,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const collector: CollectorProcess = {
    process,
    status: {},
    statusAt: 0,
    warnings: [],
    async stop() {
      process.kill("SIGINT");
      const status = await process.status;
      await reading;
      return status;
    },
  };
  const reading = (async () => {
    let pending = "";
    for await (const chunk of process.stderr.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.includes("msg=status")) {
          if (/level=(warn|error)|msg="(connection ended|room moves to wss)"/.test(line)) {
            collector.warnings.push(line);
            collector.warnings.splice(0, collector.warnings.length - KEPT_WARNINGS);
          }
          continue;
        }
        for (const match of line.matchAll(/(\w+)=(\d+)/g)) {
          collector.status[match[1]] = Number(match[2]);
        }
        collector.statusAt = performance.now();
      }
    }
  })();
  return collector;
}

/** Rows each truth cmd should leave in the database (twins collapse into one row). */
function expectedRows(truthPath: string): { total: number; byTable: Record<string, number> } {
  const byCmd = new Map<string, number>();
  let total = 0;
  for (const line of Deno.readTextFileSync(truthPath).split("\n")) {
    const match = /"cmd":"([^"]+)"/.exec(line);
    if (!match) continue;
    const cmd = match[1].split(":")[0];
    byCmd.set(cmd, (byCmd.get(cmd) ?? 0) + 1);
    total++;
  }
  const n = (cmd: string) => byCmd.get(cmd) ?? 0;
  return {
    total,
    byTable: {
      danmaku: n("DANMU_MSG"),
      gifts: n("SEND_GIFT"),
      super_chats: n("SUPER_CHAT_MESSAGE"),
      guard_buys: n("GUARD_BUY"),
      interactions: n("INTERACT_WORD_V2"),
      entries: n("ENTRY_EFFECT") + n("ENTRY_EFFECT_MUST_RECEIVE"),
      rank_changes: n("POPULAR_RANK_CHANGED"),
      room_events: n("LIVE") + n("PREPARING") + n("ROOM_CHANGE") + n("ROOM_BLOCK_MSG") +
        n("NOTICE_MSG") + n("COMMON_NOTICE_DANMAKU") + n("WIDGET_BANNER") +
        n("DANMU_AGGREGATION"),
    },
  };
}

function storedRows(dbPath: string, tables: string[]): Record<string, number> {
  using db = new DatabaseSync(dbPath, { readOnly: true });
  return Object.fromEntries(
    tables.map((
      table,
    ) => [table, Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n)]),
  );
}

/**
 * How long the throughput simulator, stopped, lets each client read what was written to it: it
 * half-closes every stream and cuts only connections still open after this. A collector that
 * lags reads its backlog from kernel buffers after the stop; cut at once, that backlog was reset
 * away and counted as lost (at --setup-concurrency 32, up to a minute of a stream).
 */
const FEED_CLOSE_GRACE_S = 120;

/**
 * The feed's auth deadline (the simulator's default is 5 s, as the real server's). The feed
 * saturates its core, so reading a new connection's auth packet can lag past 5 s; closing it then
 * made the collector retry into the same queue, and one full run had 590 of 1,000 rooms live
 * after 120 s. The suite measures reading at load, not how a saturated server admits clients.
 */
const FEED_AUTH_TIMEOUT_S = 60;

/** The throughput simulator: `rooms` rooms, all live, `ratePerRoom` msg/s each on average. */
async function startFeed(rooms: number, ratePerRoom: number, truthPath: string): Promise<Child> {
  const sim = await startChild([
    "--rooms",
    String(rooms),
    "--rate",
    String(ratePerRoom),
    "--truth",
    truthPath,
    "--close-grace",
    String(FEED_CLOSE_GRACE_S),
    "--auth-timeout",
    String(FEED_AUTH_TIMEOUT_S),
    "--seed",
    "bench-collect",
    "--live-minutes",
    "100000",
    "--offline-minutes",
    "0.01",
  ]);
  await sleep(300); // every room goes live within the first ticks
  return sim;
}

/**
 * Starts one peer `LiveTCP` per room of `ids` and waits until every room has authenticated or
 * failed; fails unless `minShare` of them are live (the peer does not retry, and a busy
 * simulator may time out a few auths).
 */
async function startPeerRooms(
  peer: Peer,
  sim: Child,
  ids: number[],
  dir: string,
  minShare = 1,
): Promise<PeerProcess> {
  const tokens = await danmuTokens(sim.api, ids);
  const plan = {
    host: sim.tcp.hostname,
    port: sim.tcp.port,
    buvid: BENCH_BUVID,
    protover: 3,
    rooms: ids.map((id) => [id, tokens.get(id)]),
  };
  await Deno.writeTextFile(`${dir}/plan.json`, JSON.stringify(plan));
  const rooms = new PeerProcess(peer, "rooms.mjs", [`${dir}/plan.json`]);
  const ready = await rooms.next();
  if (ready.live < ids.length * minShare) {
    await rooms[Symbol.asyncDispose]();
    throw new Error(
      `Cannot start the peer: only ${ready.live} of ${ids.length} rooms authenticated`,
    );
  }
  return rooms;
}

/** The peer receiving the same feed as {@linkcode throughput}: msg/s, msg per CPU-s, RSS. */
async function peerThroughput(
  options: SuiteOptions,
  peer: Peer,
  rooms: number,
  ratePerRoom: number,
  seconds: number,
): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "bench-peer-" });
  const truthPath = `${dir}/truth.jsonl`;
  const sim = await startFeed(rooms, ratePerRoom, truthPath);
  try {
    const ids = await roomIds(sim.api, rooms);
    await using client = await startPeerRooms(peer, sim, ids, dir, 0.9);
    const live = (await client.ask("report")).live;
    await sleep(1000); // past the connection burst, as for ours
    const before = await usage(client.process.pid);
    const start = { at: performance.now(), messages: (await client.ask("report")).messages };
    let peakRss = 0;
    while (performance.now() - start.at < seconds * 1000) {
      await sleep(250);
      peakRss = Math.max(peakRss, (await usage(client.process.pid)).rssMb);
    }
    const end = { at: performance.now(), messages: (await client.ask("report")).messages };
    const after = await usage(client.process.pid);
    await sim.stop(); // completes the truth file
    // The peer decodes asynchronously and may lag: wait until its count stops moving.
    let total = -1;
    for (let waited = 0; waited < 15_000; waited += 500) {
      await sleep(500);
      const now = (await client.ask("report")).messages;
      if (now === total) break;
      total = now;
    }
    const lost = expectedRows(truthPath).total - total;
    const wall = (end.at - start.at) / 1000;
    const cpu = after.cpu - before.cpu;
    const rate = (end.messages - start.messages) / wall;
    options.log(
      `collect: peer rooms=${ids.length} live=${live} received ${Math.round(rate)} msg/s over ${
        wall.toFixed(1)
      } s; cpu ${(cpu / wall).toFixed(2)} s/s, peak rss ${peakRss.toFixed(0)} MB; lost ${lost}`,
    );
    return {
      "collect.peer_msgs_per_s": Math.round(rate),
      "collect.peer_msgs_per_cpu_s": Math.round(
        (end.messages - start.messages) / Math.max(0.001, cpu),
      ),
      "collect.peer_cpu_per_wall_s": Number((cpu / wall).toFixed(2)),
      "collect.peer_rss_mb": Math.round(peakRss),
      "collect.peer_lost": lost,
      "collect.peer_rooms_live": live,
    };
  } finally {
    await sim.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function throughput(
  options: SuiteOptions,
  rooms: number,
  ratePerRoom: number,
  seconds: number,
): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "bench-collect-" });
  const truthPath = `${dir}/truth.jsonl`;
  const sim = await startFeed(rooms, ratePerRoom, truthPath);
  try {
    const ids = await roomIds(sim.api, rooms);
    await Deno.writeTextFile(`${dir}/rooms.txt`, ids.join("\n"));
    const collector = startCollector(sim, `${dir}/bench.db`, `${dir}/rooms.txt`);
    const deadline = performance.now() + 120_000;
    while ((collector.status.live ?? 0) < ids.length) {
      if (performance.now() > deadline) {
        // Read before stopping: its last status line says 0.
        const { live = 0, connecting = 0, backoff = 0, failed = 0 } = collector.status;
        await collector.stop();
        const simStatus = await Promise.race([sim.process.status, sleep(0)]);
        throw new Error(
          `Cannot start the collect point: ${live} of ${ids.length} rooms live after 120 s (${connecting} connecting, ${backoff} in backoff, ${failed} failed; simulator ${
            simStatus ? `exited with ${simStatus.code}` : "running"
          })${collector.warnings.map((line) => `\n  ${line}`).join("")}`,
        );
      }
      await sleep(100);
    }
    await sleep(1000); // past the connection burst
    let peakRss = 0;
    const before = await usage(collector.process.pid);
    const simBefore = await usage(sim.process.pid);
    const start = { at: performance.now(), messages: collector.status.messages ?? 0 };
    while (performance.now() - start.at < seconds * 1000) {
      await sleep(250);
      peakRss = Math.max(peakRss, (await usage(collector.process.pid)).rssMb);
    }
    const end = { at: collector.statusAt, messages: collector.status.messages ?? 0 };
    const after = await usage(collector.process.pid);
    const simAfter = await usage(sim.process.pid);
    // Stops sending, completes the truth file, and returns once the collector has read every
    // stream to its end and closed it (or FEED_CLOSE_GRACE_S passed).
    await sim.stop();
    // What it read may still wait in its queue: wait for an empty queue and a count that stood
    // still for 2 s before stopping it, so `lost` counts losses, not the shutdown race.
    for (let last = -1, still = 0, waited = 0; waited < 60_000 && still < 4; waited += 500) {
      await sleep(500);
      const messages = collector.status.messages ?? 0;
      still = messages === last && collector.status.queue === 0 ? still + 1 : 0;
      last = messages;
    }
    const exit = await collector.stop();
    if (!exit.success) throw new Error(`collector exited with ${exit.code}`);
    const want = expectedRows(truthPath);
    const stored = storedRows(`${dir}/bench.db`, Object.keys(want.byTable));
    let lost = 0;
    for (const [table, count] of Object.entries(want.byTable)) {
      if (count !== stored[table]) {
        options.log(`collect: table ${table} expected ${count} rows, stored ${stored[table]}`);
      }
      lost += Math.max(0, count - stored[table]);
    }
    const wall = (end.at - start.at) / 1000;
    const rate = (end.messages - start.messages) / wall;
    const cpu = after.cpu - before.cpu;
    const simCpu = (simAfter.cpu - simBefore.cpu) / wall;
    options.log(
      `collect: rooms=${ids.length} offered=${rooms * ratePerRoom}/s stored ${
        Math.round(rate)
      } msg/s over ${wall.toFixed(1)} s; collector cpu ${(cpu / wall).toFixed(2)} s/s, peak rss ${
        peakRss.toFixed(0)
      } MB; simulator cpu ${simCpu.toFixed(2)} s/s; truth ${want.total} messages, lost ${lost}`,
    );
    return {
      "collect.rooms": ids.length,
      "collect.msgs_per_s": Math.round(rate),
      "collect.lost": lost,
      "collect.cpu_s": Number(cpu.toFixed(2)),
      "collect.cpu_per_wall_s": Number((cpu / wall).toFixed(2)),
      "collect.msgs_per_cpu_s": Math.round((end.messages - start.messages) / Math.max(0.001, cpu)),
      "collect.rss_mb": Math.round(peakRss),
      "collect.simulator_cpu_per_wall_s": Number(simCpu.toFixed(2)),
    };
  } finally {
    await sim.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * How the idle suite waits before it reads RSS, the same for ours and the peer: sampled every
 * second from the moment every room is live (ours: the status line; the peer: a heartbeat reply
 * from every room), it is read once it has made no new low (by more than 0.5 MB) for 5 s, and not
 * before 10 s: past the collector's ramp GC and its follow-up (≈ 2.5 s after the last setup) and
 * Node's own idle-time GCs. A collector runs for weeks: the figure is the steady state, not the
 * ramp's tail. At most 30 s.
 */
export const IDLE_SETTLE = { minMs: 10_000, quietMs: 5_000, maxMs: 30_000, epsilonMb: 0.5 };

/** One settled reading: RSS, its file-backed part, RSS at 2 s, the lowest seen, seconds taken. */
interface SettledRss {
  rssMb: number;
  fileMb: number;
  at2sMb: number;
  minMb: number;
  seconds: number;
}

/**
 * RSS of `pid` once it stopped falling ({@linkcode IDLE_SETTLE}), its file-backed part then (the
 * runtime's binary and libraries paged in: code, shared with other processes), and RSS 2 s after
 * the start.
 */
async function settledRss(pid: number): Promise<SettledRss> {
  const start = performance.now();
  let low = Infinity;
  let lowAt = start;
  let minMb = Infinity;
  let at2sMb = 0;
  for (let second = 0;; second++) {
    await sleep(Math.max(0, start + second * 1000 - performance.now()));
    const { rssMb, fileMb } = await usage(pid);
    const elapsed = performance.now() - start;
    if (second === 2) at2sMb = rssMb;
    minMb = Math.min(minMb, rssMb);
    if (rssMb < low - IDLE_SETTLE.epsilonMb) {
      low = rssMb;
      lowAt = performance.now();
    }
    const quiet = performance.now() - lowAt >= IDLE_SETTLE.quietMs;
    if (elapsed >= IDLE_SETTLE.maxMs || (elapsed >= IDLE_SETTLE.minMs && quiet)) {
      return { rssMb, fileMb, at2sMb, minMb, seconds: Math.round(elapsed / 1000) };
    }
  }
}

/**
 * RSS (KB) of one process once settled, its part not backed by files (RssAnon + RssShmem), and
 * RSS 2 s after every room was live (the old reading).
 */
interface IdleRss {
  kb: number;
  anonKb: number;
  at2sKb: number;
}

function describe(settled: SettledRss): string {
  return `rss_mb=${settled.rssMb.toFixed(1)} (file-backed ${
    settled.fileMb.toFixed(1)
  }; settled after ${settled.seconds} s; at 2 s ${settled.at2sMb.toFixed(1)}, lowest ${
    settled.minMb.toFixed(1)
  })`;
}

function idleRss(settled: SettledRss): IdleRss {
  return {
    kb: settled.rssMb * 1024,
    anonKb: (settled.rssMb - settled.fileMb) * 1024,
    at2sKb: settled.at2sMb * 1024,
  };
}

/**
 * RSS of ours, then of the peer, holding `rooms` idle rooms of one simulator, read the same way
 * for both ({@linkcode IDLE_SETTLE}), and the seconds ours took from start until every room was
 * live.
 */
async function idleRound(
  options: SuiteOptions,
  peer: Peer | undefined,
  rooms: number,
): Promise<{ ours: IdleRss; peer?: IdleRss; liveSeconds: number }> {
  const dir = await Deno.makeTempDir({ prefix: "bench-idle-" });
  const sim = await startChild(["--rooms", String(rooms), ...IDLE_SIMULATOR_ARGS]);
  try {
    await sleep(500); // every room goes live within the first ticks
    const ids = await roomIds(sim.api, rooms);
    await Deno.writeTextFile(`${dir}/rooms.txt`, ids.join("\n"));
    const startedAt = performance.now();
    const collector = startCollector(sim, `${dir}/idle.db`, `${dir}/rooms.txt`, [], IDLE_RATES);
    const deadline = startedAt + 120_000;
    while ((collector.status.live ?? 0) < ids.length && performance.now() < deadline) {
      await sleep(100);
    }
    const liveSeconds = Math.round((performance.now() - startedAt) / 100) / 10;
    const settled = await settledRss(collector.process.pid);
    const live = collector.status.live ?? 0;
    await collector.stop();
    options.log(
      `idle: ours rooms=${rooms} live=${live} after ${liveSeconds} s, ${describe(settled)}`,
    );
    if (live < ids.length) throw new Error(`only ${live} of ${ids.length} rooms connected`);
    const ours = idleRss(settled);
    if (!peer) return { ours, liveSeconds };

    await using client = await startPeerRooms(peer, sim, ids, dir);
    while ((await client.ask("report")).heartbeats < ids.length) await sleep(250);
    const theirs = await settledRss(client.process.pid); // as for ours
    options.log(`idle: peer rooms=${rooms} ${describe(theirs)}`);
    return { ours, peer: idleRss(theirs), liveSeconds };
  } finally {
    await sim.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Per-key medians of rounds; `lost` keys take the worst round instead. */
function medianPoint(rounds: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(rounds[0])) {
    const values = rounds.map((round) => round[key]);
    out[key] = /lost/.test(key) ? Math.max(...values) : median(values);
  }
  return out;
}

/**
 * Runs the collect suite, ours and the peer alternating at each sweep point; `quick` uses one
 * round of one sweep point (full: five rounds of two points).
 */
export async function collectSuite(options: SuiteOptions): Promise<Record<string, number>> {
  const peer = await preparePeer(options.log);
  const results: Record<string, number> = {};
  // [rooms, msg/s per room, seconds]. 100 rooms offer more than the simulator's one core makes
  // (≈ 35–50k msg/s here with today's bodies and its truth file). 1,000 rooms stay under it, at
  // 20 msg/s each (≈ 20k offered, read in full): at 70 (2026-12-02) the feed fell behind by
  // tens of seconds, rooms reconnected on silence and auth timeouts, and 262–812 of 1,000 were
  // live after 120 s with either socket layer; at 200, 133 rooms were never live.
  const points = options.quick ? [[100, 2000, 8]] : [[100, 2000, 15], [1000, 20, 15]];
  const rounds = options.quick ? 1 : 5;
  for (const [rooms, rate, seconds] of points) {
    const ours: Record<string, number>[] = [];
    const theirs: Record<string, number>[] = [];
    for (let round = 0; round < rounds; round++) {
      ours.push(await throughput(options, rooms, rate, seconds));
      if (peer) theirs.push(await peerThroughput(options, peer, rooms, rate, seconds));
    }
    const point = { ...medianPoint(ours), ...(peer ? medianPoint(theirs) : {}) };
    if (peer) {
      // Each round of ours against the peer's round right after it: the box's speed drifts by
      // tens of percent within minutes, less between two neighbouring rounds.
      const ratios = ours.map((r, i) =>
        r["collect.msgs_per_cpu_s"] / theirs[i]["collect.peer_msgs_per_cpu_s"]
      );
      results[`collect.ours_vs_peer_at_${rooms}_rooms`] = Number(median(ratios).toFixed(2));
      options.log(
        `collect: ${rooms} rooms, ours / peer messages per CPU-second by round: ${
          ratios.map((ratio) => ratio.toFixed(2)).join(", ")
        }`,
      );
    }
    if (
      !results["collect.msgs_per_s"] || point["collect.msgs_per_s"] > results["collect.msgs_per_s"]
    ) {
      Object.assign(results, point);
    }
    results[`collect.msgs_per_s_at_${rooms}_rooms`] = point["collect.msgs_per_s"];
    results["collect.lost_total"] = (results["collect.lost_total"] ?? 0) +
      ours.reduce((sum, r) => sum + r["collect.lost"], 0);
  }
  return results;
}

/** Idle levels: `--quick` measures 1,000 rooms; the full run 1,000, 5,000 and 10,000. */
export const IDLE_LEVELS = { quick: [1000], full: [1000, 5000, 10_000] };

/**
 * Idle suite: RSS per idle room, ours and the peer's, each level against one simulator (ours
 * first, then the peer), as (RSS at K − RSS at 10) / (K − 10) once RSS settled
 * ({@linkcode IDLE_SETTLE}; `…_2s_…`: read 2 s after every room was live, as before 2026-12-02;
 * `…_anon_…`: without file-backed pages, i.e. without the code a bigger run pages in),
 * and how long ours took until every room was live at {@linkcode IDLE_RATES}. `levels` replaces
 * {@linkcode IDLE_LEVELS} (experiments).
 */
export async function idleSuite(
  options: SuiteOptions,
  levels: readonly number[] = options.quick ? IDLE_LEVELS.quick : IDLE_LEVELS.full,
): Promise<Record<string, number>> {
  const peer = await preparePeer(options.log);
  const results: Record<string, number> = {};
  const baseline = await idleRound(options, peer, 10);
  for (const rooms of levels) {
    const at = await idleRound(options, peer, rooms);
    const perRoom = (kb: number, base: number) => Math.round((kb - base) / (rooms - 10) * 10) / 10;
    results["idle.rooms"] = rooms;
    results[`idle.ours_live_s_at_${rooms}`] = at.liveSeconds;
    const sides = [["ours", at.ours, baseline.ours], ["peer", at.peer, baseline.peer]] as const;
    for (const [side, reading, base] of sides) {
      if (!reading || !base) continue;
      results[`idle.${side}_rss_kb_per_room_at_${rooms}`] = perRoom(reading.kb, base.kb);
      results[`idle.${side}_rss_kb_per_room`] = perRoom(reading.kb, base.kb);
      results[`idle.${side}_rss_kb_per_room_2s_at_${rooms}`] = perRoom(reading.at2sKb, base.at2sKb);
      results[`idle.${side}_anon_kb_per_room_at_${rooms}`] = perRoom(reading.anonKb, base.anonKb);
    }
  }
  return results;
}
