// Independent Parquet reader for tests/parquet_export_test.ts: DuckDB's npm package (installed by
// install.sh beside this file into .cache/parquet-reader/, or PARQUET_READER_DIR) in Node, so
// nothing of the project's own writer is involved in reading its files back.
// Usage: node scripts/parquet_reader/read.mjs [--header] FILE.parquet
// Prints JSON lines: first the file's layout as written in its footer,
//   {"schema":[{"name","physical_type","logical_type","converted_type","nullable",
//     "duckdb_type"}, …], "num_rows", "row_groups":[rows, …], "compression":[codec, …]}
// then one JSON object per row, keys in column order. Exact values: integers (BIGINT and the
// like) as decimal strings, doubles as JSON numbers, timestamps as ISO 8601 UTC with
// milliseconds ("2024-05-01T12:00:00.000Z"; with microseconds when they are not whole ms),
// booleans as true/false, NULL as null. --header prints the first line only (no rows read).
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.env.PARQUET_READER_DIR ?? join(here, "../../.cache/parquet-reader");
const args = process.argv.slice(2);
const headerOnly = args[0] === "--header";
if (headerOnly) args.shift();
const file = args[0];
if (file === undefined || args.length !== 1) {
  process.stderr.write("usage: node scripts/parquet_reader/read.mjs [--header] FILE.parquet\n");
  process.exit(2);
}

let duckdb;
try {
  duckdb = createRequire(join(dir, "package.json"))("@duckdb/node-api");
} catch (error) {
  process.stderr.write(
    `error: Cannot load @duckdb/node-api from ${dir}: run scripts/parquet_reader/install.sh (${error.message})\n`,
  );
  process.exit(1);
}

/** A SQL string literal. */
function literal(text) {
  return `'${text.replaceAll("'", "''")}'`;
}

/** ISO 8601 UTC of a count of microseconds since the epoch. */
function isoMicros(micros) {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const iso = new Date(Number(ms)).toISOString();
  const rest = micros - ms * 1000n;
  return rest === 0n ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, "0")}Z`;
}

/** A DuckDB value as exact JSON. */
function plain(value) {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value instanceof duckdb.DuckDBTimestampMillisecondsValue) {
    return isoMicros(value.millis * 1000n);
  }
  if (value instanceof duckdb.DuckDBTimestampTZValue) return isoMicros(value.micros);
  if (value instanceof duckdb.DuckDBTimestampValue) return isoMicros(value.micros);
  if (value instanceof duckdb.DuckDBTimestampSecondsValue) {
    return isoMicros(value.seconds * 1_000_000n);
  }
  if (value instanceof duckdb.DuckDBTimestampNanosecondsValue) {
    throw new Error(`nanosecond timestamp ${value} is not expected in an export`);
  }
  return String(value);
}

/**
 * A footer's logical type in short: "TIMESTAMP(MILLIS,UTC)" (or LOCAL when not adjusted to
 * UTC), "STRING", "INT(64,signed)"; other types as DuckDB prints them; null when absent.
 */
function logicalType(value) {
  if (value === null) return null;
  const text = String(value);
  const time = /^TimestampType\(isAdjustedToUTC=(\d), unit=TimeUnit\((.*)\)\)$/.exec(text);
  if (time) {
    const unit = /(MILLIS|MICROS|NANOS)=(?!<null>)/.exec(time[2])?.[1] ?? time[2];
    return `TIMESTAMP(${unit},${time[1] === "1" ? "UTC" : "LOCAL"})`;
  }
  if (text === "StringType()") return "STRING";
  const int = /^IntType\(bitWidth=(\d+), isSigned=(\d)\)$/.exec(text);
  if (int) return `INT(${int[1]},${int[2] === "1" ? "signed" : "unsigned"})`;
  return text;
}

/** Every row of `sql` as arrays of DuckDB values, chunk by chunk. */
async function* rows(connection, sql) {
  const result = await connection.stream(sql);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) return;
    yield* chunk.getRows();
  }
}

async function all(connection, sql) {
  const out = [];
  for await (const row of rows(connection, sql)) out.push(row);
  return out;
}

const instance = await duckdb.DuckDBInstance.create(":memory:");
const connection = await instance.connect();
try {
  const path = literal(resolve(file));
  // The footer's schema: the root element first, then one leaf per column.
  const leaves = (await all(
    connection,
    `SELECT name, type, logical_type, converted_type, repetition_type, num_children
     FROM parquet_schema(${path})`,
  )).filter((row) => row[5] === null || Number(row[5]) === 0);
  const groups = await all(
    connection,
    `SELECT row_group_id, any_value(row_group_num_rows), list(DISTINCT compression)
     FROM parquet_metadata(${path}) GROUP BY row_group_id ORDER BY row_group_id`,
  );
  const header = {
    schema: [],
    num_rows: groups.reduce((n, g) => n + Number(g[1]), 0),
    row_groups: groups.map((g) => Number(g[1])),
    compression: [...new Set(groups.flatMap((g) => g[2].items.map(String)))].sort(),
  };
  // Streamed last: another query on the connection would end the stream.
  const data = await connection.stream(`SELECT * FROM read_parquet(${path})`);
  const names = data.columnNames();
  const types = data.columnTypes().map(String);
  header.schema = leaves.map(([name, physical, logical, converted, repetition], i) => ({
    name,
    physical_type: physical,
    logical_type: logicalType(logical),
    converted_type: converted,
    nullable: repetition === "OPTIONAL",
    duckdb_type: names[i] === name ? types[i] : null,
  }));
  const lines = [JSON.stringify(header)];
  while (!headerOnly) {
    const chunk = await data.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    for (const row of chunk.getRows()) {
      const object = {};
      for (let i = 0; i < names.length; i++) object[names[i]] = plain(row[i]);
      lines.push(JSON.stringify(object));
    }
    if (lines.length >= 4096) process.stdout.write(lines.splice(0).join("\n") + "\n");
  }
  if (lines.length > 0) process.stdout.write(lines.join("\n") + "\n");
} finally {
  connection.closeSync();
  instance.closeSync();
}
