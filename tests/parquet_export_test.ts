/**
 * `main.ts export --format parquet` read back by an independent reader: DuckDB's npm package in
 * Node (scripts/parquet_reader/, installed by its install.sh into .cache/parquet-reader). Every
 * value is compared with the database read with exact 64-bit integers, and with the CSV export.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { DatabaseSync, type SQLOutputValue } from "node:sqlite";
import {
  EXPORT_KINDS,
  EXPORT_TABLES,
  type ExportColumn,
  type ExportKind,
} from "../src/export/export_tables.ts";
import { ROW_SPECS } from "../src/storage/rows.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { danmaku, ROOM_A, ROOM_B, T0, TRICKY, withFixtureDb } from "./support/export_fixture.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const INSTALLER = new URL("../scripts/parquet_reader/install.sh", import.meta.url).pathname;
const READER = new URL("../scripts/parquet_reader/read.mjs", import.meta.url).pathname;
const SALT = "s3cret-salt";

/** A room holding the rows with uids above 2^53. */
const ROOM_BIG = 3003;
/** 2^53 + 1: the first integer a double cannot hold. */
const UID_2_53_PLUS_1 = 9_007_199_254_740_993n;
/** The largest INT64. */
const INT64_MAX = 9_223_372_036_854_775_807n;
/** A text with quotes, a comma, a newline, CRLF and emoji. */
const BIG_TEXT = 'big "uid", 2^53+1\nline 2\r\n🎉👍🏽 end';

/** One leaf column of the file's footer, as read.mjs prints it. */
interface ParquetColumn {
  name: string;
  physical_type: string;
  logical_type: string | null;
  converted_type: string | null;
  nullable: boolean;
  duckdb_type: string | null;
}

/** A value as read.mjs prints it: integers as decimal strings, times as ISO 8601 UTC. */
type Cell = string | number | boolean | null;

/** A Parquet file as the independent reader sees it. */
interface ParquetFile {
  schema: ParquetColumn[];
  num_rows: number;
  row_groups: number[];
  compression: string[];
  rows: Record<string, Cell>[];
}

let installed: Promise<void> | undefined;

/** Installs the reader once per run (a no-op when .cache/parquet-reader already has it). */
function installReader(): Promise<void> {
  installed ??= (async () => {
    const { code, stderr } = await new Deno.Command(INSTALLER, {
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, `${INSTALLER} failed: ${new TextDecoder().decode(stderr)}`);
  })();
  return installed;
}

/** Reads `path` with DuckDB (scripts/parquet_reader/read.mjs); only the footer with `header`. */
async function readParquet(path: string, header = false): Promise<ParquetFile> {
  await installReader();
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [READER, ...(header ? ["--header"] : []), path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, `reading ${path}: ${new TextDecoder().decode(stderr)}`);
  const [footer, ...rows] = new TextDecoder().decode(stdout).trimEnd().split("\n");
  return { ...JSON.parse(footer), rows: rows.map((line) => JSON.parse(line)) };
}

/** Runs `main.ts export ARGS` in a subprocess. */
async function mainExport(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "export", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** `main.ts export ARGS`, which must succeed. */
async function exportOk(args: string[]): Promise<void> {
  const { code, stderr } = await mainExport(args);
  assert.equal(code, 0, `export ${args.join(" ")}: ${stderr}`);
}

/**
 * Adds rows whose uids a double cannot hold, through the store like any event and then set to
 * exact 64-bit values: two danmaku and a gift in ROOM_BIG.
 */
function addBigUids(db: string): void {
  {
    using store = SqliteStore.open(db);
    store.write([
      danmaku({
        roomId: ROOM_BIG,
        tsMs: T0 + 7000,
        receivedAtMs: T0 + 7200,
        msgId: "big1",
        text: BIG_TEXT,
        uname: 'Big "B", 大',
        medalName: "牌子",
        medalLevel: 21,
        medalAnchorUname: "主播C",
        medalAnchorRoomId: ROOM_BIG,
        medalAnchorUid: 1,
        replyToUid: 1,
        replyToUname: "Max",
      }),
      danmaku({ roomId: ROOM_BIG, tsMs: T0 + 8000, receivedAtMs: T0 + 8200, msgId: "big2" }),
    ]);
  }
  using raw = new DatabaseSync(db);
  raw.prepare(
    "UPDATE danmaku SET uid = ?, medal_anchor_uid = ?, reply_to_uid = ? WHERE msg_id = 'big1'",
  ).run(UID_2_53_PLUS_1, UID_2_53_PLUS_1 + 2n, INT64_MAX);
  raw.prepare("UPDATE danmaku SET uid = ? WHERE msg_id = 'big2'").run(INT64_MAX - 1n);
  raw.prepare(
    `INSERT INTO gifts (room_id, dedup_key, ts_ms, received_at_ms, cmd, uid, uname, gift_id,
      gift_name, num, coin_type, price, total_coin, price_cny, guard_level, receiver_uid)
    VALUES (?, 'big-gift', ?, ?, 'SEND_GIFT', ?, 'Big', 1, '小心心 "x"', 1, 'silver', 0, 0, 0.1,
      0, ?)`,
  ).run(ROOM_BIG, T0 + 9000, T0 + 9100, UID_2_53_PLUS_1 + 4n, INT64_MAX);
}

/** The stored column behind an export column (undefined for `time`). */
function storedColumn(kind: ExportKind, name: string) {
  const spec = Object.values(ROW_SPECS).find((s) => s.table === kind)!;
  return (spec.columns as readonly { name: string; sqlType: string; nullable: boolean }[])
    .find((c) => c.name === name);
}

/** What ISSUE16 asks of a column's Parquet type. */
function assertColumnType(kind: ExportKind, column: ExportColumn, read: ParquetColumn): void {
  const where = `${kind}.${column.name}: ${JSON.stringify(read)}`;
  assert.equal(read.name, column.name, where);
  if (column.role === "time") {
    assert.equal(read.physical_type, "INT64", where);
    assert.equal(read.logical_type, "TIMESTAMP(MILLIS,UTC)", where);
    assert.equal(read.duckdb_type, "TIMESTAMP WITH TIME ZONE", where);
    assert.equal(read.nullable, false, where);
    return;
  }
  const stored = storedColumn(kind, column.name)!;
  assert.equal(read.nullable, stored.nullable, where);
  switch (stored.sqlType) {
    case "INTEGER":
      assert.equal(read.physical_type, "INT64", where);
      assert.ok(read.logical_type === null || read.logical_type === "INT(64,signed)", where);
      assert.equal(read.duckdb_type, "BIGINT", where);
      break;
    case "TEXT":
      assert.equal(read.physical_type, "BYTE_ARRAY", where);
      assert.ok(read.logical_type === "STRING" || read.converted_type === "UTF8", where);
      assert.equal(read.duckdb_type, "VARCHAR", where);
      break;
    case "REAL":
      assert.equal(read.physical_type, "DOUBLE", where);
      assert.equal(read.duckdb_type, "DOUBLE", where);
      break;
    default:
      assert.fail(`unexpected SQL type: ${where}`);
  }
}

/** One row of the database, read with exact 64-bit integers, with its time in unix ms. */
interface DbRow {
  timeMs: number;
  cells: Record<string, Cell>;
}

function exact(value: SQLOutputValue): Cell {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) throw new TypeError("a BLOB in an export table");
  return value;
}

/** Every row of `kind` straight from the database, as the reader should print it. */
function databaseRows(db: string, kind: ExportKind): DbRow[] {
  using raw = new DatabaseSync(db, { readOnly: true });
  const columns = EXPORT_TABLES[kind].columns;
  const select = raw.prepare(
    `SELECT ${columns.map((c) => `${c.sql} AS "${c.name}"`).join(", ")} FROM ${kind} ORDER BY id`,
  );
  select.setReadBigInts(true);
  return select.all().map((row) => {
    const timeMs = Number(row.time);
    const cells: Record<string, Cell> = {};
    for (const c of columns) {
      cells[c.name] = c.role === "time" ? new Date(timeMs).toISOString() : exact(row[c.name]);
    }
    return { timeMs, cells };
  });
}

/** The 16 hex digits `--hash-uids SALT` gives a uid (decimal text), "0" for 0. */
function hashed(uid: Cell): Cell {
  if (uid === null || uid === "0") return uid;
  return createHmac("sha256", SALT).update(String(uid)).digest("hex").slice(0, 16);
}

/** Rows of a CSV file, through Python's csv module. */
async function readCsv(path: string): Promise<string[][]> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: [
      "-c",
      `import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    print(json.dumps(list(csv.reader(f))))`,
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** A Parquet value as the CSV export writes it. */
function csvText(value: Cell): string {
  if (value === null) return "";
  if (typeof value === "boolean") return value ? "1" : "0";
  return String(value);
}

Deno.test("export --format parquet --kind all writes typed files that DuckDB reads back equal to the database and the CSV export", async () => {
  await withFixtureDb(async (db, dir) => {
    // The CSV export first: it reads uids as doubles, so it runs before the uids above 2^53.
    await exportOk(["--db", db, "--kind", "all", "--format", "csv", "--out", `${dir}/csv`]);
    addBigUids(db);
    const out = `${dir}/parquet`;
    await exportOk(["--db", db, "--kind", "all", "--format", "parquet", "--out", out]);
    assert.deepEqual(
      [...Deno.readDirSync(out)].map((e) => e.name).sort(),
      EXPORT_KINDS.map((kind) => `${kind}.parquet`).sort(),
    );
    for (const kind of EXPORT_KINDS) {
      const file = await readParquet(`${out}/${kind}.parquet`);
      const { columns } = EXPORT_TABLES[kind];
      assert.equal(file.schema.length, columns.length, kind);
      columns.forEach((column, i) => assertColumnType(kind, column, file.schema[i]));
      assert.ok(file.compression.every((c) => c === "ZSTD" || c === "SNAPPY"), kind);

      const expected = databaseRows(db, kind).map((row) => row.cells);
      assert.ok(expected.length > 0, kind);
      assert.equal(file.num_rows, expected.length, kind);
      assert.deepEqual(file.rows, expected, kind);

      const [header, ...records] = await readCsv(`${dir}/csv/${kind}.csv`);
      assert.deepEqual(file.schema.map((c) => c.name), header, kind);
      assert.deepEqual(
        file.rows.slice(0, records.length).map((row) => header.map((name) => csvText(row[name]))),
        records,
        kind,
      );
    }

    const danmakuRows = (await readParquet(`${out}/danmaku.parquet`)).rows;
    assert.deepEqual(danmakuRows.slice(0, TRICKY.length).map((r) => r.text), [...TRICKY]);
    const big = danmakuRows.find((r) => r.msg_id === "big1")!;
    assert.deepEqual(
      [big.uid, big.medal_anchor_uid, big.reply_to_uid, big.text, big.uname, big.time],
      [
        "9007199254740993",
        "9007199254740995",
        "9223372036854775807",
        BIG_TEXT,
        'Big "B", 大',
        "2024-05-01T12:00:07.000Z",
      ],
    );
    assert.equal(danmakuRows.find((r) => r.msg_id === "big2")!.uid, "9223372036854775806");
    const gift = (await readParquet(`${out}/gifts.parquet`)).rows.at(-1)!;
    assert.deepEqual(
      [gift.uid, gift.receiver_uid, gift.gift_name, gift.price_cny],
      ["9007199254740997", "9223372036854775807", '小心心 "x"', 0.1],
    );
  });
});

Deno.test("export --format parquet filters by --room, --since and --until as the CSV export does", async () => {
  await withFixtureDb(async (db, dir) => {
    addBigUids(db);
    const since = T0 + 5000;
    const until = T0 + 60 * 60_000;
    const cases: { args: string[]; keep: (row: DbRow) => boolean }[] = [
      { args: ["--room", String(ROOM_B)], keep: (r) => r.cells.room_id === String(ROOM_B) },
      {
        args: ["--room", `${ROOM_A},${ROOM_BIG}`],
        keep: (r) => [String(ROOM_A), String(ROOM_BIG)].includes(String(r.cells.room_id)),
      },
      {
        args: ["--since", "2024-05-01T20:00:05+08:00", "--until", String(until)],
        keep: (r) => r.timeMs >= since && r.timeMs < until,
      },
      {
        args: ["--room", String(ROOM_A), "--since", String(T0 + 95 * 60_000)],
        keep: (r) => r.cells.room_id === String(ROOM_A) && r.timeMs >= T0 + 95 * 60_000,
      },
    ];
    for (const [n, { args, keep }] of cases.entries()) {
      const out = `${dir}/filtered${n}`;
      await exportOk(["--db", db, "--kind", "all", "--format", "parquet", "--out", out, ...args]);
      for (const kind of EXPORT_KINDS) {
        const expected = databaseRows(db, kind).filter(keep).map((row) => row.cells);
        const file = await readParquet(`${out}/${kind}.parquet`);
        assert.deepEqual(file.rows, expected, `${args.join(" ")}: ${kind}`);
        assert.equal(file.schema.length, EXPORT_TABLES[kind].columns.length);
      }
    }
    // Same rows as CSV where CSV can read them (no uid above 2^53 in room A).
    const args = ["--db", db, "--room", String(ROOM_A), "--since", String(since)];
    await exportOk([...args, "--format", "csv", "--out", `${dir}/a.csv`]);
    await exportOk([...args, "--format", "parquet", "--out", `${dir}/a.parquet`]);
    const [header, ...records] = await readCsv(`${dir}/a.csv`);
    const rows = (await readParquet(`${dir}/a.parquet`)).rows;
    assert.ok(records.length > 100);
    assert.deepEqual(rows.map((row) => header.map((name) => csvText(row[name]))), records);
  });
});

Deno.test("export --format parquet --hash-uids hashes every uid exactly, above 2^53 too, and leaves private columns null", async () => {
  await withFixtureDb(async (db, dir) => {
    addBigUids(db);
    const out = `${dir}/hashed`;
    await exportOk([
      "--db",
      db,
      "--kind",
      "all",
      "--format",
      "parquet",
      "--out",
      out,
      "--hash-uids",
      SALT,
    ]);
    for (const kind of EXPORT_KINDS) {
      const file = await readParquet(`${out}/${kind}.parquet`);
      const { columns } = EXPORT_TABLES[kind];
      const expected = databaseRows(db, kind).map(({ cells }) => {
        const row: Record<string, Cell> = {};
        for (const c of columns) {
          row[c.name] = c.role === "uid"
            ? hashed(cells[c.name])
            : c.role === "private"
            ? null
            : cells[c.name];
        }
        return row;
      });
      assert.deepEqual(file.rows, expected, kind);
      for (const [i, column] of columns.entries()) {
        const read = file.schema[i];
        if (column.role === "uid") {
          assert.equal(read.duckdb_type, "VARCHAR", `${kind}.${column.name}`);
        } else if (column.role === "private") {
          assert.equal(read.nullable, true, `${kind}.${column.name}`);
        } else {
          assertColumnType(kind, column, read);
        }
      }
    }
    const danmakuRows = (await readParquet(`${out}/danmaku.parquet`)).rows;
    const big = danmakuRows.find((r) => r.msg_id === "big1")!;
    assert.equal(big.uid, hashed("9007199254740993"));
    assert.notEqual(big.uid, hashed("9007199254740992"));
  });
});

Deno.test("export --format parquet to stdout is refused with one line, before writing anything", async () => {
  await withFixtureDb(async (db) => {
    for (const out of [[], ["--out", "-"]]) {
      const { code, stdout, stderr } = await mainExport([
        "--db",
        db,
        "--format",
        "parquet",
        ...out,
      ]);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, "");
      assert.match(stderr, /^error: Cannot [^\n]*parquet[^\n]*\n$/i);
    }
  });
});

Deno.test("export --format parquet splits a large table into compressed row groups of at most 128k rows", async () => {
  await withFixtureDb(async (db, dir) => {
    const rows = 150_000;
    {
      using raw = new DatabaseSync(db);
      const insert = raw.prepare(
        `INSERT INTO danmaku (room_id, ts_ms, received_at_ms, cmd, msg_id, uid, uname, text,
          is_admin, guard_level) VALUES (?, ?, ?, 'DANMU_MSG', ?, ?, 'u', ?, 0, 0)`,
      );
      raw.exec("BEGIN");
      for (let i = 0; i < rows; i++) {
        insert.run(ROOM_BIG, T0 + i, T0 + i + 100, `g${i}`, BigInt(i) << 40n, `text ${i}`);
      }
      raw.exec("COMMIT");
    }
    const path = `${dir}/large.parquet`;
    await exportOk(["--db", db, "--format", "parquet", "--room", String(ROOM_BIG), "--out", path]);
    const footer = await readParquet(path, true);
    assert.equal(footer.num_rows, rows);
    assert.ok(footer.row_groups.length >= 2, String(footer.row_groups));
    assert.ok(footer.row_groups.every((n) => n <= 131_072), String(footer.row_groups));
    assert.ok(footer.compression.length > 0);
    assert.ok(footer.compression.every((c) => c === "ZSTD" || c === "SNAPPY"));
  });
});
