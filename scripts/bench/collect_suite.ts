/**
 * Collect suite: the simulator (subprocess) feeds N rooms; `main.ts collect` (another
 * subprocess) stores into SQLite. Measures sustained stored msg/s, messages lost against the
 * truth file, CPU and RSS of the collector; then RSS per idle room at K rooms.
 */
import { DatabaseSync } from "node:sqlite";
import { type Child, roomIds, ROOT, startChild, usage } from "./processes.ts";
import type { SuiteOptions } from "./decode_suite.ts";

interface CollectorProcess {
  process: Deno.ChildProcess;
  /** Latest status fields parsed from stderr. */
  status: Record<string, number>;
  statusAt: number;
  stop(): Promise<Deno.CommandStatus>;
}

function startCollector(
  sim: Child,
  dbPath: string,
  roomsFile: string,
  extra: string[] = [],
): CollectorProcess {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "main.ts",
      "collect",
      "--db",
      dbPath,
      "--api-base",
      sim.api,
      "--rooms-file",
      roomsFile,
      "--api-rate",
      "2000",
      "--connect-rate",
      "1000",
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
        if (!line.includes("msg=status")) continue;
        for (const match of line.matchAll(/(\w+)=(\d+)/g)) {
          collector.status[match[1]] = Number(match[2]);
        }
        collector.statusAt = performance.now();
      }
    }
  })();
  return collector;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
      room_events: n("LIVE") + n("PREPARING") + n("ROOM_CHANGE") + n("ROOM_BLOCK_MSG"),
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

async function throughput(
  options: SuiteOptions,
  rooms: number,
  ratePerRoom: number,
  seconds: number,
): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "bench-collect-" });
  const truthPath = `${dir}/truth.jsonl`;
  const sim = await startChild([
    "--rooms",
    String(rooms),
    "--rate",
    String(ratePerRoom),
    "--truth",
    truthPath,
    "--seed",
    "bench-collect",
    "--live-minutes",
    "100000",
    "--offline-minutes",
    "0.01",
  ]);
  try {
    await sleep(300); // every room goes live within the first ticks
    const ids = await roomIds(sim.api, rooms);
    await Deno.writeTextFile(`${dir}/rooms.txt`, ids.join("\n"));
    const collector = startCollector(sim, `${dir}/bench.db`, `${dir}/rooms.txt`);
    while ((collector.status.live ?? 0) < ids.length) await sleep(100);
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
    await sim.stop(); // stops sending; its graceful close completes the truth file
    await sleep(1500);
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

async function idleRss(options: SuiteOptions, rooms: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "bench-idle-" });
  const sim = await startChild([
    "--rooms",
    String(rooms),
    "--rate",
    "0.001",
    "--seed",
    "bench-idle",
    "--live-minutes",
    "100000",
    "--offline-minutes",
    "0.01",
  ]);
  try {
    await sleep(500); // every room goes live within the first ticks
    const ids = await roomIds(sim.api, rooms);
    await Deno.writeTextFile(`${dir}/rooms.txt`, ids.join("\n"));
    const collector = startCollector(sim, `${dir}/idle.db`, `${dir}/rooms.txt`);
    const deadline = performance.now() + 120_000;
    while ((collector.status.live ?? 0) < ids.length && performance.now() < deadline) {
      await sleep(250);
    }
    await sleep(2000); // settle after the connection burst
    const { rssMb } = await usage(collector.process.pid);
    const live = collector.status.live ?? 0;
    await collector.stop();
    options.log(`idle: rooms=${rooms} live=${live} rss_mb=${rssMb.toFixed(1)}`);
    if (live < ids.length) throw new Error(`only ${live} of ${ids.length} rooms connected`);
    return rssMb * 1024;
  } finally {
    await sim.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Runs the collect suite; `quick` uses one sweep point and 1,000 idle rooms. */
export async function collectSuite(options: SuiteOptions): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  const points = options.quick ? [[100, 2000, 8]] : [[100, 2000, 20], [1000, 200, 20]];
  for (const [rooms, rate, seconds] of points) {
    const point = await throughput(options, rooms, rate, seconds);
    if (
      !results["collect.msgs_per_s"] || point["collect.msgs_per_s"] > results["collect.msgs_per_s"]
    ) {
      Object.assign(results, point);
    }
    results[`collect.msgs_per_s_at_${rooms}_rooms`] = point["collect.msgs_per_s"];
    results["collect.lost_total"] = (results["collect.lost_total"] ?? 0) + point["collect.lost"];
  }
  const baseline = await idleRss(options, 10);
  for (const rooms of options.quick ? [1000] : [1000, 5000]) {
    const kb = await idleRss(options, rooms);
    results[`idle.ours_rss_kb_per_room_at_${rooms}`] =
      Math.round((kb - baseline) / (rooms - 10) * 10) / 10;
    results["idle.rooms"] = rooms;
    results["idle.ours_rss_kb_per_room"] = results[`idle.ours_rss_kb_per_room_at_${rooms}`];
  }
  return results;
}
