/**
 * One soak: the simulator (in this process, with faults and a truth file) feeds every one of its
 * rooms to `main.ts collect` (a child process, `--keep-raw`); the collector's RSS is sampled;
 * at the end the collector gets SIGINT while traffic still flows, and what it stored is
 * reconciled against the truth file.
 */
import { DatabaseSync } from "node:sqlite";
import { parseFaults } from "../../src/simulator/faults.ts";
import { startSimulator } from "../../src/simulator/simulator.ts";
import { usage } from "../bench/processes.ts";
import { CollectorProcess, type StoppedLine } from "./collector_process.ts";
import { MarkedTruthFile } from "./marked_truth.ts";
import { Reconciler, type Reconciliation } from "./reconcile.ts";
import { type RssSample, type RssSummary, summarizeRss } from "./rss.ts";

/** What to soak. */
export interface SoakOptions {
  minutes: number;
  rooms: number;
  /** Mean op-5 messages per second per live room (Zipf-spread, as the simulator's --rate). */
  rate: number;
  /** The simulator's `--faults` text. */
  faults: string;
  seed: string;
  /** The collector's `--watchdog`: a stalled connection is dropped after this much silence. */
  watchdog: string;
  /** Keep the temporary folder (truth file, database) and print where it is. */
  keep: boolean;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  /** Aborting ends the collection early; the stop and the report go on as usual. */
  signal?: AbortSignal;
}

/** The machine a soak ran on. */
export interface Machine {
  cores: number;
  memoryGb: number;
  cpu: string;
  os: string;
  deno: string;
}

/** Everything a soak found. */
export interface SoakReport {
  date: string;
  machine: Machine;
  options: Omit<SoakOptions, "log" | "signal">;
  /** Seconds from starting the collector to sending it SIGINT. */
  collectedS: number;
  collector: {
    exitCode: number;
    /** Killed after not exiting within the stop deadline. */
    killed: boolean;
    /** Milliseconds from SIGINT to exit. */
    stopMs: number;
    /** The final `msg="stopped"` line, when it was logged. */
    stopped?: StoppedLine;
    warnings: number;
    errors: number;
    /** Its last log lines (status lines excepted). */
    tail: string[];
  };
  /** The simulator's counters (messages sent, faults rolled, …). */
  simulator: Record<string, number>;
  reconciliation: Reconciliation;
  /** Sessions by end reason (`open` when a session has no end). */
  sessions: Record<string, number>;
  rss: RssSummary;
  /** The same figures for the V8 heap in use (the collector's `heap_mb`), to tell JS from native. */
  heap: RssSummary;
  /** `[seconds, MB]` of every RSS sample. */
  rssSamples: [number, number][];
  /** `line: text` of the truth lines of the first few missing messages per table. */
  missingExamples: string[];
  /** Where the files are, with `keep`. */
  dir?: string;
  /** Why the soak failed; empty when it passed. */
  failures: string[];
}

/** Longest wait for the collector to exit after SIGINT before it is killed. */
const STOP_DEADLINE_MS = 120_000;
const SAMPLE_MS = 1000;
const PROGRESS_MS = 30_000;

/** Cores, memory and versions of this machine. */
export async function machine(): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return {
    cores: navigator.hardwareConcurrency,
    memoryGb: Math.round(memKb / 1048576 * 10) / 10,
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
  };
}

/** `m:ss` */
function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

/** Runs one soak and reconciles it. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { log } = options;
  const faults = parseFaults(options.faults);
  const dir = await Deno.makeTempDir({ prefix: "soak-" });
  const truthPath = `${dir}/truth.jsonl`;
  const dbPath = `${dir}/soak.db`;
  try {
    const truth = new MarkedTruthFile(truthPath);
    await using sim = await startSimulator({
      rooms: options.rooms,
      rate: options.rate,
      seed: options.seed,
      faults,
      truth,
      // Mostly live, with some rooms going live and offline during the run (LIVE, PREPARING).
      meanLiveMs: 10 * 60_000,
      meanOfflineMs: 60_000,
      // A few rooms send the 2018 and 2021 DANMU_MSG layouts (rows without a message id).
      eraShare: 0.1,
      logEveryMs: 0,
    });
    const ids = sim.world.rooms.map((room) => room.roomId);
    await Deno.writeTextFile(`${dir}/rooms.txt`, ids.join("\n") + "\n");
    await using collector = new CollectorProcess([
      "--db",
      dbPath,
      "--api-base",
      sim.api,
      "--rooms-file",
      `${dir}/rooms.txt`,
      "--keep-raw",
      "--watchdog",
      options.watchdog,
      // Quiet rooms (a few messages a minute) must not look stalled: op-3 replies are traffic.
      "--heartbeat-interval",
      "3s",
      "--sweep-interval",
      "1s",
      "--api-rate",
      "200",
      "--connect-rate",
      "200",
      "--max-connections",
      String(options.rooms * 2),
      "--max-backoff",
      "10s",
      "--status-interval",
      "1s",
    ]);
    const started = performance.now();
    const elapsedS = () => (performance.now() - started) / 1000;
    const samples: RssSample[] = [];
    /** The V8 heap in use, from the collector's status lines (whole MB). */
    const heap: RssSample[] = [];
    const totalS = options.minutes * 60;
    log(
      `soak: ${options.rooms} rooms, ${options.rate} msg/s per live room, faults ${options.faults}, ${
        clock(totalS)
      } of collection; collector pid ${collector.pid}, files in ${dir}`,
    );
    let nextProgress = PROGRESS_MS / 1000;
    while (elapsedS() < totalS && !options.signal?.aborted) {
      await sleep(Math.min(SAMPLE_MS, (totalS - elapsedS()) * 1000), options.signal);
      const exited = await Promise.race([collector.process.status, sleep(0).then(() => null)]);
      if (exited) {
        throw new Error(
          `Cannot go on soaking: the collector exited with ${exited.code} after ${
            clock(elapsedS())
          }:\n${collector.tail.join("\n")}`,
        );
      }
      const atS = elapsedS();
      samples.push({ atS, rssMb: (await usage(collector.pid)).rssMb });
      if (collector.status.heap_mb !== undefined) {
        heap.push({ atS, rssMb: collector.status.heap_mb });
      }
      if (atS >= nextProgress) {
        nextProgress += PROGRESS_MS / 1000;
        const s = collector.status;
        log(
          `soak: ${clock(atS)}/${clock(totalS)} live=${s.live ?? 0}/${options.rooms} messages=${
            s.messages ?? 0
          } msg_per_s=${s.msg_per_s ?? 0} written=${s.written ?? 0} dropped=${
            s.dropped ?? 0
          } rss_mb=${samples.at(-1)!.rssMb.toFixed(1)}`,
        );
      }
    }
    const collectedS = elapsedS();
    // Everything the truth file holds before the mark was written before the signal.
    truth.markStop();
    const stopAt = performance.now();
    log(`soak: SIGINT to the collector at ${clock(collectedS)}, traffic still flowing`);
    const { status, killed } = await collector.interrupt(STOP_DEADLINE_MS, {
      unlessStopping: options.signal?.aborted,
    });
    const stopMs = Math.round(performance.now() - stopAt);
    log(`soak: collector exited with ${status.code} after ${stopMs} ms; reconciling`);
    const counters = { ...sim.counters };
    await sim.close(); // completes the truth file

    const reconciler = new Reconciler();
    await readLines(truthPath, (line) => reconciler.addTruthLine(line));
    const sessions: Record<string, number> = {};
    {
      using db = new DatabaseSync(dbPath, { readOnly: true });
      reconciler.addDatabase(db);
      const reasons = db.prepare(
        `SELECT CASE WHEN reason IS NULL THEN 'open'
          WHEN instr(reason, ':') > 0 THEN substr(reason, 1, instr(reason, ':') - 1)
          ELSE reason END AS why, count(*) AS n FROM sessions GROUP BY why ORDER BY n DESC`,
      ).all();
      for (const row of reasons) sessions[String(row.why)] = Number(row.n);
    }
    const reconciliation = reconciler.result(collector.stopped?.messages);
    const wanted = new Set(
      [...reconciliation.tables, reconciliation.all].flatMap((t) => t.examples),
    );
    const missingExamples: string[] = [];
    let index = 0;
    await readLines(truthPath, (line) => {
      if (line !== "" && wanted.has(index++)) missingExamples.push(`${index}: ${line}`);
    });

    const failures: string[] = [];
    if (killed) failures.push(`the collector did not exit within ${STOP_DEADLINE_MS} ms of SIGINT`);
    else if (status.code !== 0) failures.push(`the collector exited with ${status.code}, not 0`);
    if (!collector.stopped) failures.push('the collector never logged its msg="stopped" line');
    for (const t of [...reconciliation.tables, reconciliation.all]) {
      if (t.duplicated > 0) failures.push(`${t.table}: ${t.duplicated} duplicated`);
      if (t.receivedNotStored > 0) {
        failures.push(`${t.table}: ${t.receivedNotStored} received but not stored`);
      }
    }
    if (collector.stopped && collector.stopped.dropped > 0) {
      failures.push(`the collector dropped ${collector.stopped.dropped} events`);
    }
    const { log: _log, signal: _signal, ...shown } = options;
    return {
      date: new Date().toISOString(),
      machine: await machine(),
      options: shown,
      collectedS: Math.round(collectedS * 10) / 10,
      collector: {
        exitCode: status.code,
        killed,
        stopMs,
        stopped: collector.stopped,
        warnings: collector.warnings,
        errors: collector.errors,
        tail: collector.tail,
      },
      simulator: counters,
      reconciliation,
      sessions,
      rss: summarizeRss(samples, collectedS),
      heap: summarizeRss(heap, collectedS),
      rssSamples: samples.map((s) => [Math.round(s.atS), Math.round(s.rssMb * 10) / 10]),
      missingExamples,
      dir: options.keep ? dir : undefined,
      failures,
    };
  } finally {
    if (!options.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Calls `onLine` for every line of a text file, streaming. */
async function readLines(path: string, onLine: (line: string) => void): Promise<void> {
  const file = await Deno.open(path); // the readable closes it
  let pending = "";
  for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let start = 0;
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n", start)) {
      onLine(pending.slice(start, end));
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  if (pending !== "") onLine(pending);
}
