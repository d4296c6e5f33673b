/**
 * PostgreSQL's binary COPY format, written straight into bytes: a header, then per row a field
 * count and per field a length and the value (BIGINT as 8 bytes big-endian, DOUBLE PRECISION as
 * an IEEE 754 double, TEXT as UTF-8), NULL as length -1. Against COPY text built as JS strings
 * this spares the client the string ropes, their UTF-8 conversion and the escaping, and the
 * server the parsing of every number (docs/postgres.md "Write path" has the figures).
 */
import type { SQLInputValue } from "node:sqlite";
import type { SqlType } from "./rows.ts";

/** The binary COPY header: signature, flags, header extension length. */
const HEADER = new Uint8Array([
  ...[0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00], // PGCOPY\n\377\r\n\0
  ...[0, 0, 0, 0],
  ...[0, 0, 0, 0],
]);

const TWO_TO_32 = 4294967296;

/** Bytes of COPY data being built, handed out in chunks of about `chunkBytes`. */
export class CopyWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #pos = 0;
  readonly #chunkBytes: number;
  readonly #encoder = new TextEncoder();

  /** A writer whose chunks hold about `chunkBytes` (more when one row is longer). */
  constructor(chunkBytes: number) {
    this.#chunkBytes = chunkBytes;
    this.#bytes = new Uint8Array(chunkBytes + 1024);
    this.#view = new DataView(this.#bytes.buffer);
    this.#bytes.set(HEADER);
    this.#pos = HEADER.length;
  }

  /** Whether a chunk is full (take it with `take`). */
  get full(): boolean {
    return this.#pos >= this.#chunkBytes;
  }

  /** The bytes written since the last `take` (never reused by the writer). */
  take(): Uint8Array {
    const out = this.#bytes.subarray(0, this.#pos);
    this.#bytes = new Uint8Array(this.#chunkBytes + 1024);
    this.#view = new DataView(this.#bytes.buffer);
    this.#pos = 0;
    return out;
  }

  /** The trailer (field count -1) and the last bytes. */
  finish(): Uint8Array {
    this.#ensure(2);
    this.#view.setInt16(this.#pos, -1);
    this.#pos += 2;
    return this.take();
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): void {
    this.#ensure(2);
    this.#view.setInt16(this.#pos, fields);
    this.#pos += 2;
  }

  /** An INTEGER (int4) field: positions and rounds of the staging table. */
  int4(value: number): void {
    this.#ensure(8);
    this.#view.setInt32(this.#pos, 4);
    this.#view.setInt32(this.#pos + 4, value);
    this.#pos += 8;
  }

  /** A BIGINT field (a safe integer, a bigint, or NULL). */
  int8(value: SQLInputValue): void {
    this.#ensure(12);
    const view = this.#view;
    const pos = this.#pos;
    if (typeof value === "number" && Number.isSafeInteger(value)) {
      const high = Math.floor(value / TWO_TO_32);
      view.setInt32(pos, 8);
      view.setInt32(pos + 4, high);
      view.setUint32(pos + 8, value - high * TWO_TO_32);
      this.#pos = pos + 12;
    } else if (value === null || value === undefined) {
      view.setInt32(pos, -1);
      this.#pos = pos + 4;
    } else if (typeof value === "bigint" && BigInt.asIntN(64, value) === value) {
      view.setInt32(pos, 8);
      view.setBigInt64(pos + 4, value);
      this.#pos = pos + 12;
    } else if (typeof value === "string" && /^-?\d{1,19}$/.test(value)) {
      const big = BigInt(value);
      if (BigInt.asIntN(64, big) !== big) {
        throw new TypeError(`Cannot store ${value} in a BIGINT column`);
      }
      view.setInt32(pos, 8);
      view.setBigInt64(pos + 4, big);
      this.#pos = pos + 12;
    } else {
      throw new TypeError(`Cannot store ${String(value).slice(0, 40)} in a BIGINT column`);
    }
  }

  /** A DOUBLE PRECISION field (a number, or NULL). */
  float8(value: SQLInputValue): void {
    this.#ensure(12);
    if (value === null || value === undefined) {
      this.#view.setInt32(this.#pos, -1);
      this.#pos += 4;
      return;
    }
    const number = Number(value);
    if (Number.isNaN(number) && typeof value !== "number") {
      throw new TypeError(`Cannot store ${String(value).slice(0, 40)} in a DOUBLE column`);
    }
    this.#view.setInt32(this.#pos, 8);
    this.#view.setFloat64(this.#pos + 4, number);
    this.#pos += 12;
  }

  /** A TEXT field (U+0000, which PostgreSQL text cannot hold, as U+FFFD), or NULL. */
  text(value: SQLInputValue): void {
    if (value === null || value === undefined) {
      this.#ensure(4);
      this.#view.setInt32(this.#pos, -1);
      this.#pos += 4;
      return;
    }
    let text = typeof value === "string" ? value : String(value);
    if (text.includes("\0")) text = text.replaceAll("\0", "\uFFFD");
    const length = text.length;
    this.#ensure(4 + 3 * length);
    const bytes = this.#bytes;
    const start = this.#pos + 4;
    let at = start;
    // ASCII byte by byte (most fields are short: ids, names, numbers as text); else encodeInto.
    let i = 0;
    for (; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at++] = c;
    }
    if (i < length) {
      at += this.#encoder.encodeInto(text.slice(i), bytes.subarray(at)).written;
    }
    this.#view.setInt32(this.#pos, at - start);
    this.#pos = at;
  }

  #ensure(extra: number): void {
    if (this.#pos + extra <= this.#bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#pos + extra));
    bigger.set(this.#bytes.subarray(0, this.#pos));
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
  }
}

/** One event's column value. */
export type ColumnRead<E> = (event: E) => SQLInputValue;

/**
 * Writes one event as a row of binary COPY; for a staging table led by two INTEGER fields,
 * `seq` and `round`.
 */
export type RowWriter<E> = (event: E, out: CopyWriter, seq: number, round: number) => void;

/**
 * The row writer of a table, with the column reads written out (as SqliteStore's binders):
 * `(e, w) => { w.row(3); w.int8(v[0](e)); w.text(v[1](e)); w.float8(v[2](e)); }`, with
 * `w.int4(s); w.int4(r);` first for a staging table (`staging`).
 */
export function rowWriter<E>(
  columns: readonly { readonly sqlType: SqlType; readonly value: ColumnRead<E> }[],
  staging: boolean,
): RowWriter<E> {
  const method: Readonly<Record<SqlType, string>> = {
    INTEGER: "int8",
    REAL: "float8",
    TEXT: "text",
  };
  const body = columns.map((c, i) => `w.${method[c.sqlType]}(v[${i}](e));`).join(" ");
  const head = staging
    ? `w.row(${columns.length + 2}); w.int4(s); w.int4(r);`
    : `w.row(${columns.length});`;
  const make = new Function("v", `return (e, w, s, r) => { ${head} ${body} };`);
  return make(columns.map((c) => c.value));
}
