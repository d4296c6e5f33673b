/**
 * Export suite: builds a database of 1M danmaku (200k with --quick) in one transaction, then
 * runs `main.ts export --format csv --out FILE` as a subprocess, sampling its RSS from /proc.
 * Reports rows/s (wall time of the whole subprocess, start-up included), peak RSS, and the raw
 * limit: the same SELECT iterated in-process without formatting or writing.
 */
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "../../src/storage/sqlite_store.ts";
import { EXPORT_TABLES, exportQuery } from "../../src/export/export_tables.ts";
import { ROOT, usage } from "./processes.ts";
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

/** Runs the export suite. */
export async function exportSuite(options: SuiteOptions): Promise<Record<string, number>> {
  const rows = options.quick ? 200_000 : 1_000_000;
  const dir = await Deno.makeTempDir({ prefix: "bench_export_" });
  try {
    const dbPath = `${dir}/bench.db`;
    let started = performance.now();
    buildDanmakuDb(dbPath, rows);
    options.log(
      `built ${rows} danmaku rows in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const rawRate = rawIterateRate(dbPath, options.log);

    const outPath = `${dir}/danmaku.csv`;
    started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "export", "--db", dbPath, "--format", "csv", "--out", outPath],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let peakRss = 0;
    const samples: number[] = [];
    const output = child.output();
    let exited = false;
    output.finally(() => exited = true);
    while (!exited) {
      try {
        const { rssMb } = await usage(child.pid);
        samples.push(rssMb);
        peakRss = Math.max(peakRss, rssMb);
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
    const size = (await Deno.stat(outPath)).size;
    // RSS flat: the last quarter of the samples peaks no higher than the second quarter's.
    const q = Math.max(1, Math.floor(samples.length / 4));
    const early = Math.max(...samples.slice(q, 2 * q));
    const late = Math.max(...samples.slice(-q));
    options.log(
      `export: ${rows} rows, ${(size / 1e6).toFixed(0)} MB CSV in ${seconds.toFixed(2)} s; RSS ${
        early.toFixed(0)
      } MB (2nd quarter) → ${late.toFixed(0)} MB (last quarter), peak ${peakRss.toFixed(0)} MB`,
    );
    return {
      "export.rows_per_s": Math.round(rows / seconds),
      "export.raw_iterate_rows_per_s": rawRate,
      "export.peak_rss_mb": Math.round(peakRss),
      "export.rss_growth_mb": Math.round(late - early),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
