/**
 * Writes the rows of one export kind as a Parquet file (hyparquet-writer's `ParquetWriter`,
 * snappy): rows are gathered into typed buffers of one row group (integers in BigInt64Arrays,
 * text as UTF-8 bytes, few live objects for the garbage collector), the group is encoded and
 * written, and the next one starts afresh, so memory is bounded by one row group whatever the
 * size of the database. docs/export.md explains the types and the choice of library.
 */
import { ByteWriter, type ColumnSource, ParquetWriter } from "hyparquet-writer";
import type { ReadValue } from "../storage/read_store.ts";
import type { SyncWriter } from "../util/line_writer.ts";
import type { ColumnRole, ExportTable } from "./export_tables.ts";
import { type ParquetColumn, parquetColumns, parquetSchema } from "./parquet_schema.ts";
import type { UidHasher } from "./uid_hasher.ts";

/** Rows per row group: 32 Ki rows of danmaku are ≈ 1.2 MB of snappy Parquet (half of 64 Ki
 * saves ≈ 25 MB of peak memory at the same speed). */
export const PARQUET_ROW_GROUP_ROWS = 32_768;

/** Bytes kept before they are handed to the output. */
const FLUSH_BYTES = 1 << 20;

/** `created_by` of the file footer. */
const CREATED_BY = "danmaku-collector export (hyparquet-writer 0.17.0)";

/** Options of writeParquet. */
export interface ParquetWriteOptions {
  /** Replaces uid columns by hashes and private columns by NULL (`--hash-uids`). */
  hasher?: UidHasher;
  /** Rows per row group. @default {PARQUET_ROW_GROUP_ROWS} */
  rowGroupRows?: number;
}

/** A hyparquet-writer output that hands its bytes to `out` about every megabyte. */
class SinkWriter extends ByteWriter {
  #out: SyncWriter;

  constructor(out: SyncWriter) {
    super(FLUSH_BYTES + (FLUSH_BYTES >> 2));
    this.#out = out;
  }

  override ensure(size: number): void {
    if (this.index >= FLUSH_BYTES) this.flush();
    super.ensure(size);
  }

  /** Writes out every byte held. */
  flush(): void {
    let bytes = new Uint8Array(this.buffer, 0, this.index);
    while (bytes.length > 0) bytes = bytes.subarray(this.#out.writeSync(bytes));
    this.index = 0;
  }

  override finish(): void {
    this.flush();
  }
}

/** One column of the row group being filled, held in typed arrays rather than JS values. */
interface ColumnBuffer {
  /** Adds one stored value. */
  push(value: ReadValue): void;
  /** The values gathered, as the encoder takes them; empties the buffer. */
  take(): DecodedValues;
}

type DecodedValues = ColumnSource["data"];

/** INT64 (and TIMESTAMP) values: exact, in a BigInt64Array with a null mask. */
class Int64Buffer implements ColumnBuffer {
  #values: BigInt64Array;
  #nulls: Uint8Array;
  #n = 0;
  #column: ParquetColumn;

  constructor(column: ParquetColumn, rows: number) {
    this.#column = column;
    this.#values = new BigInt64Array(rows);
    this.#nulls = new Uint8Array(rows);
  }

  push(value: ReadValue): void {
    if (value === null) this.#nulls[this.#n] = nullFor(this.#column);
    else this.#values[this.#n] = integerOf(this.#column, value);
    this.#n++;
  }

  take(): DecodedValues {
    const n = this.#n;
    this.#n = 0;
    // A view: the encoder copies what it keeps, and the buffer is refilled only after it is done.
    if (!this.#column.nullable) return this.#values.subarray(0, n);
    const out: (bigint | null)[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#nulls[i] === 1 ? null : this.#values[i];
    this.#nulls.fill(0, 0, n);
    return out;
  }
}

/** DOUBLE values in a Float64Array with a null mask. */
class DoubleBuffer implements ColumnBuffer {
  #values: Float64Array;
  #nulls: Uint8Array;
  #n = 0;
  #column: ParquetColumn;

  constructor(column: ParquetColumn, rows: number) {
    this.#column = column;
    this.#values = new Float64Array(rows);
    this.#nulls = new Uint8Array(rows);
  }

  push(value: ReadValue): void {
    if (value === null) this.#nulls[this.#n] = nullFor(this.#column);
    else this.#values[this.#n] = Number(value);
    this.#n++;
  }

  take(): DecodedValues {
    const n = this.#n;
    this.#n = 0;
    if (!this.#column.nullable) return this.#values.subarray(0, n);
    const out: (number | null)[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#nulls[i] === 1 ? null : this.#values[i];
    this.#nulls.fill(0, 0, n);
    return out;
  }
}

const UTF8 = new TextEncoder();

/**
 * Strings encoded as UTF-8 into one growing byte buffer as they arrive, with their end offsets,
 * so a row group holds bytes instead of string objects; `take` hands out views into it.
 */
class StringBuffer implements ColumnBuffer {
  #bytes = new Uint8Array(1 << 16);
  #ends: Int32Array;
  #at = 0;
  #n = 0;
  #convert: (value: ReadValue) => string | null;
  #column: ParquetColumn;

  constructor(
    column: ParquetColumn,
    rows: number,
    convert: (value: ReadValue) => string | null,
  ) {
    this.#column = column;
    this.#ends = new Int32Array(rows);
    this.#convert = convert;
  }

  push(value: ReadValue): void {
    const text = this.#convert(value);
    if (text === null) {
      nullFor(this.#column);
      this.#ends[this.#n++] = -1;
      return;
    }
    if (this.#bytes.length - this.#at < text.length * 3) this.#grow(text.length * 3);
    this.#at += UTF8.encodeInto(text, this.#bytes.subarray(this.#at)).written;
    this.#ends[this.#n++] = this.#at;
  }

  #grow(need: number): void {
    const bytes = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + need));
    bytes.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = bytes;
  }

  take(): DecodedValues {
    const n = this.#n;
    const bytes = this.#bytes;
    const out: (Uint8Array | null)[] = new Array(n);
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = this.#ends[i];
      if (end < 0) {
        out[i] = null;
        continue;
      }
      out[i] = bytes.subarray(start, end);
      start = end;
    }
    // The views keep this buffer; the next group starts a fresh one.
    this.#bytes = new Uint8Array(Math.max(1 << 16, this.#at));
    this.#at = 0;
    this.#n = 0;
    return out;
  }
}

function stringOf(value: ReadValue): string | null {
  if (value === null || typeof value === "string") return value;
  if (value instanceof Uint8Array) throw new TypeError("Cannot write a BLOB as Parquet text");
  return String(value);
}

/** The buffer of one column: typed per its Parquet type, hashing or dropping under a hasher. */
function columnBuffer(
  column: ParquetColumn,
  role: ColumnRole,
  hasher: UidHasher | undefined,
  rows: number,
): ColumnBuffer {
  if (hasher !== undefined && role === "private") return new StringBuffer(column, rows, () => null);
  if (hasher !== undefined && role === "uid") {
    return new StringBuffer(
      column,
      rows,
      (v) => v === null ? null : hasher.hash(integerOf(column, v)),
    );
  }
  switch (column.type) {
    case "INT64":
    case "TIMESTAMP_MILLIS":
      return new Int64Buffer(column, rows);
    case "DOUBLE":
      return new DoubleBuffer(column, rows);
    case "STRING":
      return new StringBuffer(column, rows, stringOf);
  }
}

/** The null mark (1) of a nullable column; a TypeError for a REQUIRED one. */
function nullFor(column: ParquetColumn): 1 {
  if (column.nullable) return 1;
  throw new TypeError(`Cannot write NULL to Parquet column "${column.name}": it is REQUIRED`);
}

function integerOf(column: ParquetColumn, value: ReadValue): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw new TypeError(
    `Cannot write ${String(value)} to Parquet column "${column.name}": expected an integer`,
  );
}

/**
 * One Parquet file being written: rows are pushed one at a time into the current row group,
 * which is encoded and written out whenever it is full; `finish` writes the last group and the
 * footer.
 */
class ParquetFileWriter {
  #writer: ParquetWriter;
  #buffers: ColumnBuffer[];
  #columnData: ColumnSource[];
  /** The column whose values the encoder holds now. */
  #taken: { current?: { index: number; data: ColumnSource["data"] } } = {};
  #groupRows: number;
  #inGroup = 0;
  /** Rows pushed so far. */
  rows = 0;

  constructor(table: ExportTable, out: SyncWriter, options: ParquetWriteOptions) {
    const { hasher, rowGroupRows = PARQUET_ROW_GROUP_ROWS } = options;
    if (!Number.isInteger(rowGroupRows) || rowGroupRows < 1) {
      throw new RangeError(
        `Cannot use ${rowGroupRows} rows per row group: expected an integer ≥ 1`,
      );
    }
    this.#groupRows = rowGroupRows;
    const columns = parquetColumns(table, hasher !== undefined);
    const buffers = columns.map((c, i) =>
      columnBuffer(c, table.columns[i].role, hasher, rowGroupRows)
    );
    this.#buffers = buffers;
    this.#writer = new ParquetWriter({
      writer: new SinkWriter(out),
      schema: parquetSchema(columns),
      codec: "SNAPPY",
      createdBy: CREATED_BY,
    });
    // Each column's values are taken from its buffer when the encoder reaches that column and
    // dropped when it moves to the next, so one column's arrays are alive at a time, not all 25.
    // hyparquet-writer 0.17.0 reads column 0's data first (the row count), then each column in
    // order; a second take() of a column would come back empty and fail loudly on the length.
    const taken = this.#taken;
    this.#columnData = columns.map((c, i): ColumnSource => ({
      name: c.name,
      get data() {
        if (taken.current?.index !== i) taken.current = { index: i, data: buffers[i].take() };
        return taken.current.data;
      },
      // Min/max of text would pin each group's whole byte buffer until the footer is written
      // (and free text is of little use for skipping row groups): numbers and times only.
      statistics: c.type !== "STRING",
    }));
  }

  /** Adds one row (values in the column order of the table). */
  push(row: readonly ReadValue[]): void {
    const buffers = this.#buffers;
    for (let i = 0; i < buffers.length; i++) buffers[i].push(row[i]);
    this.rows++;
    if (++this.#inGroup === this.#groupRows) this.#writeGroup();
  }

  /** Writes the last row group and the footer; returns the number of rows. */
  finish(): number {
    if (this.#inGroup > 0) this.#writeGroup();
    synchronous(this.#writer.finish());
    return this.rows;
  }

  #writeGroup(): void {
    synchronous(this.#writer.write({ columnData: this.#columnData, rowGroupSize: this.#inGroup }));
    this.#taken.current = undefined;
    this.#inGroup = 0;
  }
}

/**
 * Writes `rows` (arrays in the column order of `table`; INTEGERs as numbers or bigints) to
 * `out` as one Parquet file. Returns the number of rows written.
 */
export function writeParquet(
  rows: Iterable<readonly ReadValue[]>,
  table: ExportTable,
  out: SyncWriter,
  options: ParquetWriteOptions = {},
): number {
  const file = new ParquetFileWriter(table, out, options);
  for (const row of rows) file.push(row);
  return file.finish();
}

/**
 * As {@linkcode writeParquet}, for rows that arrive in batches (`ReadStore.batches`): one
 * await per batch. Returns the number of rows written.
 */
export async function writeParquetBatches(
  batches: AsyncIterable<readonly (readonly ReadValue[])[]>,
  table: ExportTable,
  out: SyncWriter,
  options: ParquetWriteOptions = {},
): Promise<number> {
  const file = new ParquetFileWriter(table, out, options);
  for await (const batch of batches) for (const row of batch) file.push(row);
  return file.finish();
}

/** hyparquet-writer returns a promise only when its sink's flush does; SinkWriter's never does. */
function synchronous(result: void | Promise<void>): void {
  if (result instanceof Promise) throw new TypeError("Parquet sink flushed asynchronously");
}
