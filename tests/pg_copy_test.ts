import assert from "node:assert/strict";
import { CopyWriter, rowWriter } from "../src/storage/pg_copy.ts";

/** Reads binary COPY back: header, rows of fields (null, or the field's bytes), trailer. */
function readCopy(bytes: Uint8Array): (Uint8Array | null)[][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // "PGCOPY\n\xff\r\n\0"
  const signature = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
  assert.deepEqual([...bytes.subarray(0, 11)], signature);
  assert.equal(view.getInt32(11), 0, "flags");
  assert.equal(view.getInt32(15), 0, "header extension");
  const rows: (Uint8Array | null)[][] = [];
  let at = 19;
  for (;;) {
    const fields = view.getInt16(at);
    at += 2;
    if (fields === -1) break;
    const row: (Uint8Array | null)[] = [];
    for (let f = 0; f < fields; f++) {
      const length = view.getInt32(at);
      at += 4;
      if (length === -1) {
        row.push(null);
        continue;
      }
      row.push(bytes.subarray(at, at + length));
      at += length;
    }
    rows.push(row);
  }
  assert.equal(at, bytes.length, "nothing after the trailer");
  return rows;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

const int8 = (field: Uint8Array | null) =>
  new DataView(field!.buffer, field!.byteOffset, 8).getBigInt64(0);
const float8 = (field: Uint8Array | null) =>
  new DataView(field!.buffer, field!.byteOffset, 8).getFloat64(0);
const text = (field: Uint8Array | null) => new TextDecoder().decode(field!);

Deno.test("CopyWriter writes BIGINT, DOUBLE and TEXT fields and NULLs in PostgreSQL's binary COPY", () => {
  const out = new CopyWriter(64);
  const chunks: Uint8Array[] = [];
  const values = [
    0,
    -1,
    2 ** 53 - 1,
    -(2 ** 53) + 1,
    4_294_967_296,
    -4_294_967_297,
    1_765_000_000_123,
  ];
  for (const value of values) {
    out.row(4);
    out.int8(value);
    out.float8(value / 3);
    out.text(`弹幕 ${value}\t\\\n`);
    out.int8(null);
    if (out.full) chunks.push(out.take());
  }
  chunks.push(out.finish());
  assert.ok(chunks.length > 1, "the rows span several chunks");
  const rows = readCopy(concat(chunks));
  assert.equal(rows.length, values.length);
  for (const [i, value] of values.entries()) {
    assert.equal(int8(rows[i][0]), BigInt(value));
    assert.equal(float8(rows[i][1]), value / 3);
    assert.equal(text(rows[i][2]), `弹幕 ${value}\t\\\n`, "text is sent as it is, no escaping");
    assert.equal(rows[i][3], null);
  }
});

Deno.test("CopyWriter stores U+0000 as U+FFFD and refuses a value a BIGINT cannot hold", () => {
  const out = new CopyWriter(1024);
  out.row(3);
  out.text("a\0b");
  out.int8(-9223372036854775808n);
  out.int8("-42");
  const [row] = readCopy(out.finish());
  assert.equal(text(row[0]), "a\uFFFDb");
  assert.equal(int8(row[1]), -9223372036854775808n);
  assert.equal(int8(row[2]), -42n);
  assert.throws(() => out.int8(1.5), /Cannot store 1\.5 in a BIGINT column/);
  assert.throws(() => out.int8("12a"), /Cannot store 12a in a BIGINT column/);
  assert.throws(() => out.int8(2n ** 63n), /Cannot store 9223372036854775808 in a BIGINT/);
  assert.throws(() => out.int8("9999999999999999999"), /Cannot store 9999999999999999999 in a/);
});

Deno.test("rowWriter() writes a table's columns in order, led by seq and round for a staging table", () => {
  interface Row {
    id: number;
    name: string | null;
    score: number;
  }
  const columns = [
    { sqlType: "INTEGER" as const, value: (r: Row) => r.id },
    { sqlType: "TEXT" as const, value: (r: Row) => r.name },
    { sqlType: "REAL" as const, value: (r: Row) => r.score },
  ];
  const out = new CopyWriter(1024);
  rowWriter(columns, false)({ id: 7, name: "x", score: 0.5 }, out, 0, 0);
  rowWriter(columns, true)({ id: 8, name: null, score: 2 }, out, 3, 1);
  const [plain, staged] = readCopy(out.finish());
  assert.equal(plain.length, 3);
  assert.deepEqual([int8(plain[0]), text(plain[1]), float8(plain[2])], [7n, "x", 0.5]);
  assert.equal(staged.length, 5);
  const int4 = (field: Uint8Array | null) =>
    new DataView(field!.buffer, field!.byteOffset, 4).getInt32(0);
  assert.deepEqual([
    int4(staged[0]),
    int4(staged[1]),
    int8(staged[2]),
    staged[3],
    float8(staged[4]),
  ], [
    3,
    1,
    8n,
    null,
    2,
  ]);
});
