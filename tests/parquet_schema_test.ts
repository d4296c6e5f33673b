import assert from "node:assert/strict";
import type { SQLOutputValue } from "node:sqlite";
import { parseExportConfig } from "../src/cli/export_command.ts";
import { ConfigError } from "../src/errors.ts";
import { EXPORT_KINDS, EXPORT_TABLES } from "../src/export/export_tables.ts";
import { writeParquet } from "../src/export/parquet_export.ts";
import {
  parquetColumn,
  parquetColumns,
  parquetSchema,
  schemaElement,
} from "../src/export/parquet_schema.ts";
import { UidHasher } from "../src/export/uid_hasher.ts";
import { ROW_SPECS } from "../src/storage/rows.ts";

/** The stored column behind `kind.name` (undefined for `time`). */
function stored(kind: string, name: string) {
  const spec = Object.values(ROW_SPECS).find((s) => s.table === kind)!;
  return (spec.columns as readonly { name: string; sqlType: string; nullable: boolean }[])
    .find((c) => c.name === name);
}

/** A sink collecting what is written. */
function memorySink(): { bytes(): Uint8Array; writeSync(b: Uint8Array): number } {
  const parts: Uint8Array[] = [];
  return {
    writeSync(b) {
      parts.push(b.slice());
      return b.length;
    },
    bytes() {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
  };
}

Deno.test("parquetColumns() types every export column from the row table: INTEGER as INT64, REAL as DOUBLE, TEXT as STRING, time as TIMESTAMP_MILLIS", () => {
  const expected: Record<string, string> = { INTEGER: "INT64", REAL: "DOUBLE", TEXT: "STRING" };
  for (const kind of EXPORT_KINDS) {
    const table = EXPORT_TABLES[kind];
    const columns = parquetColumns(table, false);
    assert.deepEqual(columns.map((c) => c.name), table.columns.map((c) => c.name), kind);
    for (const column of columns) {
      const where = `${kind}.${column.name}`;
      if (column.name === "time") {
        assert.deepEqual(column, { name: "time", type: "TIMESTAMP_MILLIS", nullable: false });
        continue;
      }
      const s = stored(kind, column.name)!;
      assert.equal(column.type, expected[s.sqlType], where);
      assert.equal(column.nullable, s.nullable, where);
    }
  }
});

Deno.test("parquetColumns() keeps *_ms columns INT64 beside the TIMESTAMP time column and types known columns as the schema says", () => {
  const byName = new Map(parquetColumns(EXPORT_TABLES.danmaku, false).map((c) => [c.name, c]));
  assert.deepEqual(byName.get("uid"), { name: "uid", type: "INT64", nullable: false });
  assert.deepEqual(byName.get("ts_ms"), { name: "ts_ms", type: "INT64", nullable: true });
  assert.deepEqual(byName.get("received_at_ms"), {
    name: "received_at_ms",
    type: "INT64",
    nullable: false,
  });
  assert.deepEqual(byName.get("is_admin"), { name: "is_admin", type: "INT64", nullable: false });
  assert.deepEqual(byName.get("msg_id"), { name: "msg_id", type: "STRING", nullable: true });
  const gifts = new Map(parquetColumns(EXPORT_TABLES.gifts, false).map((c) => [c.name, c]));
  assert.deepEqual(gifts.get("price_cny"), { name: "price_cny", type: "DOUBLE", nullable: false });
});

Deno.test("parquetColumns() under --hash-uids makes uid columns strings and private columns nullable", () => {
  for (const kind of EXPORT_KINDS) {
    const table = EXPORT_TABLES[kind];
    const hashed = parquetColumns(table, true);
    table.columns.forEach((column, i) => {
      const plain = parquetColumn(column, false);
      if (column.role === "uid") {
        assert.deepEqual(hashed[i], { ...plain, type: "STRING" }, `${kind}.${column.name}`);
      } else if (column.role === "private") {
        assert.deepEqual(hashed[i], { ...plain, nullable: true }, `${kind}.${column.name}`);
      } else {
        assert.deepEqual(hashed[i], plain, `${kind}.${column.name}`);
      }
    });
  }
  const danmaku = new Map(parquetColumns(EXPORT_TABLES.danmaku, true).map((c) => [c.name, c]));
  assert.deepEqual(danmaku.get("uid"), { name: "uid", type: "STRING", nullable: false });
  assert.deepEqual(danmaku.get("uname"), { name: "uname", type: "STRING", nullable: true });
});

Deno.test("schemaElement() writes the physical, converted and logical type of each column type", () => {
  assert.deepEqual(schemaElement({ name: "time", type: "TIMESTAMP_MILLIS", nullable: false }), {
    name: "time",
    repetition_type: "REQUIRED",
    type: "INT64",
    converted_type: "TIMESTAMP_MILLIS",
    logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
  });
  assert.deepEqual(schemaElement({ name: "text", type: "STRING", nullable: true }), {
    name: "text",
    repetition_type: "OPTIONAL",
    type: "BYTE_ARRAY",
    converted_type: "UTF8",
    logical_type: { type: "STRING" },
  });
  assert.deepEqual(schemaElement({ name: "uid", type: "INT64", nullable: false }), {
    name: "uid",
    repetition_type: "REQUIRED",
    type: "INT64",
  });
  assert.deepEqual(schemaElement({ name: "price_cny", type: "DOUBLE", nullable: true }), {
    name: "price_cny",
    repetition_type: "OPTIONAL",
    type: "DOUBLE",
  });
  const schema = parquetSchema(parquetColumns(EXPORT_TABLES.audience, false));
  assert.deepEqual(schema[0], { name: "schema", num_children: 5 });
  assert.deepEqual(schema.slice(1).map((e) => e.name), [
    "room_id",
    "received_at_ms",
    "time",
    "kind",
    "value",
  ]);
});

Deno.test("writeParquet() frames a file with PAR1 at both ends and counts its rows", () => {
  const sink = memorySink();
  const rows: SQLOutputValue[][] = [
    [1001n, 1714564800000n, 1714564800000n, "online", 9_007_199_254_740_993n],
    [1001n, 1714564801000n, 1714564801000n, "在线 🎉", 2n],
    [1002n, 1714564802000n, 1714564802000n, "", 0n],
  ];
  const n = writeParquet(rows, EXPORT_TABLES.audience, sink, { rowGroupRows: 2 });
  assert.equal(n, 3);
  const bytes = sink.bytes();
  const par1 = [0x50, 0x41, 0x52, 0x31];
  assert.deepEqual([...bytes.subarray(0, 4)], par1);
  assert.deepEqual([...bytes.subarray(bytes.length - 4)], par1);
});

Deno.test("writeParquet() names the column of a value that is not an integer or a NULL where none is allowed, and refuses an empty row group size", () => {
  const row: SQLOutputValue[] = [1001n, "soon", 1714564800000n, "online", 1n];
  assert.throws(
    () => writeParquet([row], EXPORT_TABLES.audience, memorySink()),
    new TypeError('Cannot write soon to Parquet column "received_at_ms": expected an integer'),
  );
  for (const [i, name] of [[0, "room_id"], [3, "kind"]] as const) {
    const nullRow: SQLOutputValue[] = [1001n, 1n, 1714564800000n, "online", 1n];
    nullRow[i] = null;
    assert.throws(
      () => writeParquet([nullRow], EXPORT_TABLES.audience, memorySink()),
      new TypeError(`Cannot write NULL to Parquet column "${name}": it is REQUIRED`),
    );
  }
  assert.throws(
    () => writeParquet([], EXPORT_TABLES.audience, memorySink(), { rowGroupRows: 0 }),
    RangeError,
  );
});

Deno.test("writeParquet() under --hash-uids writes no uid and no private value into the file", () => {
  const table = EXPORT_TABLES.danmaku;
  const uid = 9_007_199_254_740_993n;
  const row: SQLOutputValue[] = table.columns.map((c) => {
    if (c.name === "uid") return uid;
    if (c.name === "uname") return "SecretName";
    if (c.role === "private") return "private-" + c.name;
    if (c.nullable) return null;
    return c.sqlType === "TEXT" ? "x" : c.sqlType === "REAL" ? 0.5 : 1n;
  });
  const sink = memorySink();
  writeParquet([row], table, sink, { hasher: new UidHasher("s3cret-salt") });
  const latin1 = new TextDecoder("latin1").decode(sink.bytes());
  assert.ok(!latin1.includes("SecretName") && !latin1.includes("private-"));
  assert.ok(!latin1.includes(String(uid)));
  assert.ok(latin1.includes(new UidHasher("s3cret-salt").hash(uid)));
});

Deno.test("export --format parquet refuses stdout in one line naming --out", () => {
  for (const out of [[], ["--out", "-"]]) {
    assert.throws(
      () => parseExportConfig(["--db", "x.db", "--format", "parquet", ...out]),
      new ConfigError(
        "Cannot write --format parquet to stdout: pass --out FILE (a DIR for --kind all)",
      ),
    );
  }
  const config = parseExportConfig(["--db", "x.db", "--format", "parquet", "--out", "d.parquet"]);
  assert.equal(config.format, "parquet");
  assert.deepEqual(config.kinds, ["danmaku"]);
});
