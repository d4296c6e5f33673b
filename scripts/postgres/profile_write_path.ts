/**
 * Splits the cost of PgStore's COPY write path: wall time, CPU seconds of this (client)
 * process and of the server backend that served it (found by `application_name` in
 * `pg_stat_activity`, read from /proc/<pid>/stat), optionally per table (each table's events
 * alone, in the same batches). The bench's events and server settings (fsync and
 * full_page_writes on, synchronous_commit off; `--set name=value` adds or overrides).
 * `--compare FILE` measures another PgStore module (e.g. an older pg_store.ts copied beside
 * this script with its imports adjusted) interleaved with the current one, round by round, so
 * both see the same load; medians at the end.
 *
 *     deno run -A scripts/postgres/profile_write_path.ts [--events 100000] [--batch 20000]
 *       [--rounds 3] [--per-table] [--set name=value …] [--compare FILE]
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { CollectedEvent } from "../../src/normalize/events.ts";
import { PgStore } from "../../src/storage/pg_store.ts";
import { pgConnect } from "../../src/storage/pg_connect.ts";
import type { WriteCounts } from "../../src/storage/sqlite_store.ts";
import { benchEvents } from "../bench/postgres_suite.ts";
import { startThrowawayCluster } from "./throwaway_cluster.ts";

/** What this script needs of a PgStore module. */
interface StoreModule {
  PgStore: {
    open(url: string, options: { poolSize: number }): Promise<{
      write(events: readonly CollectedEvent[]): Promise<WriteCounts>;
      close(): Promise<void>;
    }>;
  };
}

/** utime + stime of a process in seconds (Linux clock ticks of 100 Hz). */
function processCpuS(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function clientCpuS(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      events: { type: "string", default: "100000" },
      batch: { type: "string", default: "20000" },
      rounds: { type: "string", default: "3" },
      "per-table": { type: "boolean", default: false },
      set: { type: "string", multiple: true, default: [] },
      compare: { type: "string" },
    },
  });
  const extra = Object.fromEntries(values.set.map((s) => s.split("=", 2) as [string, string]));
  const events = benchEvents(Number(values.events));
  const batch = Number(values.batch);
  const stores: [string, StoreModule][] = [["current", { PgStore }]];
  if (values.compare) {
    const module = await import(pathToFileURL(resolve(values.compare)).href) as StoreModule;
    stores.push(["compare", module]);
  }
  await using pg = await startThrowawayCluster({
    settings: { fsync: "on", full_page_writes: "on", synchronous_commit: "off", ...extra },
  });
  const admin = pgConnect(pg.url, { max: 1 });
  const stats = new Map<string, [number, number, number][]>();
  let db = 0;
  const measure = async (label: string, module: StoreModule, some: CollectedEvent[]) => {
    const name = `profile_${db++}`;
    const url = await pg.createDatabase(name);
    const store = await module.PgStore.open(url, { poolSize: 1 });
    try {
      const pids = (await admin.unsafe<{ pid: number }[]>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'danmaku'`,
        [name],
      )).map((r) => r.pid);
      const server0 = pids.reduce((sum, pid) => sum + processCpuS(pid), 0);
      const client0 = clientCpuS();
      const t0 = performance.now();
      let rows = 0;
      for (let i = 0; i < some.length; i += batch) {
        const counts = await store.write(some.slice(i, i + batch));
        for (const [key, value] of Object.entries(counts)) if (key !== "unchanged") rows += value;
      }
      const wall = (performance.now() - t0) / 1000;
      const client = clientCpuS() - client0;
      const server = pids.reduce((sum, pid) => sum + processCpuS(pid), 0) - server0;
      if (!stats.has(label)) stats.set(label, []);
      stats.get(label)!.push([rows / wall, client, server]);
      console.log(
        `${label.padEnd(26)} rows=${String(rows).padStart(6)} wall=${wall.toFixed(3)}s rows/s=${
          String(Math.round(rows / wall)).padStart(7)
        } client_cpu=${client.toFixed(2)}s server_cpu=${server.toFixed(2)}s`,
      );
    } finally {
      await store.close();
    }
  };
  try {
    // Warm-up: the client's JIT, the server's catalog caches.
    for (const [label, module] of stores) await measure(`warm-up ${label}`, module, events);
    stats.clear();
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [label, module] of stores) {
        await measure(label, module, events);
        if (!values["per-table"]) continue;
        for (const type of new Set(events.map((e) => e.type))) {
          await measure(`${label} ${type}`, module, events.filter((e) => e.type === type));
        }
      }
    }
    for (const [label, runs] of stats) {
      const median = (i: number) => runs.map((r) => r[i]).sort((a, b) => a - b)[runs.length >> 1];
      console.log(
        `median ${label}: rows/s=${Math.round(median(0))} client_cpu=${
          median(1).toFixed(2)
        }s server_cpu=${median(2).toFixed(2)}s (${runs.length} runs)`,
      );
    }
  } finally {
    await admin.end();
  }
}
