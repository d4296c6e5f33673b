/**
 * Export suite: builds a database of 10M danmaku (200k with --quick) in one transaction of
 * prepared inserts, then runs `main.ts export --format csv|parquet --out FILE` as a subprocess,
 * sampling its VmRSS from /proc. Reports per format rows/s (wall time of the whole subprocess,
 * start-up included), peak RSS and RSS growth (highest RSS of the last quarter of the run minus
 * that of the second quarter), and the raw limit: the same SELECT iterated in-process without
 * formatting or writing.
 */
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "../../src/storage/sqlite_store.ts";
import { EXPORT_TABLES, exportQuery } from "../../src/export/export_tables.ts";
import { ROOT, taskV8Flags, usage } from "./processes.ts";
import type { SuiteOptions } from "./decode_suite.ts";

const TEXTS = [
  "哈哈哈哈哈",
  "主播晚上好",
  'he said "hi", then left',
  "2333333",
  "emoji 🎉👍",
  "awsl",
  "line\nbreak",
  "这是比赛，没必要让",
];

/** Writes `rows` danmaku over 20 rooms into a new database at `path`. */
export function buildDanmakuDb(path: string, rows: number): void {
  SqliteStore.open(path).close();
  using db = new DatabaseSync(path);
  const insert = db.prepare(`INSERT INTO danmaku (room_id, ts_ms, received_at_ms, cmd, msg_id,
    uid, uname, text, user_hash, is_admin, guard_level, user_level, medal_name, medal_level,
    medal_anchor_uname, medal_anchor_room_id, medal_anchor_uid, mode, font_size, color, dm_type)
    VALUES (?, ?, ?, 'DANMU_MSG', ?, ?, ?, ?, 'a1b2c3d4', 0, 0, 21, ?, ?, NULL, ?, ?, 1, 25,
      16777215, 0)`);
  const t0 = Date.UTC(2024, 4, 1, 12);
  db.exec("BEGIN");
  for (let i = 0; i < rows; i++) {
    const uid = 10_000 + (i * 7919) % 50_000;
    const medal = i % 3 === 0;
    insert.run(
      1000 + i % 20,
      t0 + i * 10,
      t0 + i * 10 + 150,
      `${(0x1234567890 + i).toString(16)}${i}`,
      uid,
      `用户${uid}`,
      `${TEXTS[i % TEXTS.length]} ${i}`,
      medal ? "牌子" : null,
      medal ? 12 : null,
      medal ? 1000 + i % 20 : null,
      medal ? 500 + i % 20 : null,
    );
  }
  db.exec("COMMIT");
}

/** Rows/s of the export's SELECT iterated in-process, nothing formatted or written. */
function rawIterateRate(dbPath: string, log: (line: string) => void): number {
  using store = SqliteStore.openExisting(dbPath, { readOnly: true });
  const { sql } = exportQuery(EXPORT_TABLES.danmaku, {
    rooms: undefined,
    sinceMs: undefined,
    untilMs: undefined,
  });
  const started = performance.now();
  let n = 0;
  for (const _ of store.prepare(sql).iterate()) n++;
  const seconds = (performance.now() - started) / 1000;
  log(`raw iterate: ${n} rows in ${seconds.toFixed(2)} s`);
  return Math.round(n / seconds);
}

/** Formats the suite exports, in order. */
const FORMATS = ["csv", "parquet"] as const;

/** The goals for the full run, reported (never asserted). */
const GOALS = {
  peakRssMb: 200,
  rssGrowthMb: 10,
  rowsPerS: { csv: 150_000, parquet: 100_000 },
} as const;

/** What one export subprocess did. */
interface ExportRun {
  seconds: number;
  bytes: number;
  peakRssMb: number;
  /** Highest RSS in the second quarter of the samples, and in the last quarter. */
  earlyRssMb: number;
  lateRssMb: number;
}

/**
 * Runs `main.ts export --format FORMAT --out outPath` as a subprocess, sampling its VmRSS from
 * /proc/PID/status every 50 ms.
 */
async function timeExport(dbPath: string, format: string, outPath: string): Promise<ExportRun> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...taskV8Flags("export"), // as `deno task export` runs it
      "main.ts",
      "export",
      "--db",
      dbPath,
      "--format",
      format,
      "--out",
      outPath,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const samples: number[] = [];
  const output = child.output();
  let exited = false;
  output.finally(() => exited = true);
  while (!exited) {
    try {
      samples.push((await usage(child.pid)).rssMb);
    } catch {
      // The process has just exited.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { code, stderr } = await output;
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) {
    throw new Error(`export failed with code ${code}: ${new TextDecoder().decode(stderr)}`);
  }
  // Flat memory: the last quarter of the samples peaks no higher than the second quarter's.
  const q = Math.max(1, Math.floor(samples.length / 4));
  return {
    seconds,
    bytes: (await Deno.stat(outPath)).size,
    peakRssMb: Math.max(0, ...samples),
    earlyRssMb: Math.max(0, ...samples.slice(q, 2 * q)),
    lateRssMb: Math.max(0, ...samples.slice(-q)),
  };
}

/**
 * The footer of a Parquet file as the independent reader sees it (scripts/parquet_reader, when
 * installed): rows, row groups and codecs; undefined when the reader is not installed.
 */
async function parquetFooter(
  path: string,
): Promise<{ num_rows: number; row_groups: number[]; compression: string[] } | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("node", {
      args: ["scripts/parquet_reader/read.mjs", "--header", path],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? JSON.parse(new TextDecoder().decode(stdout)) : undefined;
  } catch {
    return undefined;
  }
}

function goal(met: boolean): string {
  return met ? "met" : "MISSED";
}

/**
 * Runs the export suite: 10M danmaku rows (200k with --quick) exported as CSV, then Parquet.
 * Goals are logged, never asserted.
 */
export async function exportSuite(options: SuiteOptions): Promise<Record<string, number>> {
  const rows = options.quick ? 200_000 : 10_000_000;
  const dir = await Deno.makeTempDir({ prefix: "bench_export_" });
  try {
    const dbPath = `${dir}/bench.db`;
    const started = performance.now();
    buildDanmakuDb(dbPath, rows);
    options.log(
      `built ${rows} danmaku rows in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const results: Record<string, number> = {
      "export.raw_iterate_rows_per_s": rawIterateRate(dbPath, options.log),
    };
    for (const format of FORMATS) {
      const outPath = `${dir}/danmaku.${format}`;
      const run = await timeExport(dbPath, format, outPath);
      const rate = Math.round(rows / run.seconds);
      const growth = run.lateRssMb - run.earlyRssMb;
      options.log(
        `export ${format}: ${rows} rows, ${(run.bytes / 1e6).toFixed(0)} MB in ${
          run.seconds.toFixed(2)
        } s; RSS ${run.earlyRssMb.toFixed(0)} MB (2nd quarter) → ${
          run.lateRssMb.toFixed(0)
        } MB (last quarter), peak ${run.peakRssMb.toFixed(0)} MB`,
      );
      if (format === "parquet") {
        const footer = await parquetFooter(outPath);
        options.log(
          footer === undefined
            ? "export parquet: footer not read (run scripts/parquet_reader/install.sh)"
            : `export parquet: DuckDB reads ${footer.num_rows} rows in ${footer.row_groups.length} row groups (largest ${
              Math.max(...footer.row_groups)
            }), ${footer.compression.join("+")}`,
        );
      }
      options.log(
        `export ${format} goals: ≥ ${GOALS.rowsPerS[format] / 1000}k rows/s ${
          goal(rate >= GOALS.rowsPerS[format])
        }, peak ≤ ${GOALS.peakRssMb} MB ${
          goal(run.peakRssMb <= GOALS.peakRssMb)
        }, growth ≤ ${GOALS.rssGrowthMb} MB ${goal(growth <= GOALS.rssGrowthMb)}${
          options.quick ? " (goals are for the full run)" : ""
        }`,
      );
      await Deno.remove(outPath);
      results[`export.${format}.rows_per_s`] = rate;
      results[`export.${format}.peak_rss_mb`] = Math.round(run.peakRssMb);
      results[`export.${format}.rss_growth_mb`] = Math.round(growth);
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
