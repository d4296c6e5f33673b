/**
 * The export engine behind `main.ts export`: streams rows of a danmaku database to CSV, JSONL,
 * Parquet or 录播姬 XML (docs/export.md), from SQLite or PostgreSQL alike (storage/read_store.ts).
 * Rows are read a batch at a time and written in 1 MB chunks (Parquet: one row group at a
 * time), so memory stays flat whatever the size of the database.
 */
import { ConfigError } from "../errors.ts";
import type { ReadStore } from "../storage/read_store.ts";
import type { SyncWriter } from "../util/line_writer.ts";
import { ChunkWriter } from "./chunk_writer.ts";
import { UTF8_BOM } from "./csv.ts";
import {
  bigUidQuery,
  EXPORT_TABLES,
  type ExportKind,
  exportQuery,
  type RowFilter,
} from "./export_tables.ts";
import { writeParquetBatches } from "./parquet_export.ts";
import { writeRecorderXml } from "./recorder_export.ts";
import { csvHeader, rowEncoder } from "./row_encoder.ts";
import type { UidHasher } from "./uid_hasher.ts";

/** Output formats of `export`. */
export const EXPORT_FORMATS = ["csv", "jsonl", "parquet", "xml"] as const;

/** One output format. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** What to export and where. */
export interface ExportOptions {
  /** Kinds to write (xml: merged by time into one document). */
  kinds: readonly ExportKind[];
  /** csv/jsonl/parquet: one file per kind, `<out>/<kind>.<format>`. */
  all: boolean;
  filter: RowFilter;
  format: ExportFormat;
  /** Output file, directory (`all`), or "-" for stdout (not for parquet). */
  out: string;
  /** Start a CSV with a UTF-8 BOM. */
  bom: boolean;
  /** Hashes uids and drops private columns (`--hash-uids`). */
  hasher: UidHasher | undefined;
}

/** What one output file received. */
export interface ExportedFile {
  kind: ExportKind | "xml";
  /** File path, or "-" for stdout. */
  path: string;
  rows: number;
}

/**
 * Writes the export `options` describe from `store`; "-" goes to `stdout`. Returns what each
 * output received. ConfigError for an output that cannot be written, Parquet to stdout or an XML
 * export without exactly one room; StorageError when reading fails.
 */
export async function exportRows(
  store: ReadStore,
  options: ExportOptions,
  stdout: SyncWriter,
): Promise<ExportedFile[]> {
  if (options.format === "xml") {
    return [
      await withOutput(
        options.out,
        "xml",
        stdout,
        text((out, file) => writeRecorderXml(store, options, out, file)),
      ),
    ];
  }
  if (options.format === "parquet" && options.out === "-") {
    throw new ConfigError(`Cannot write Parquet to stdout: pass --out FILE (or a DIR for all)`);
  }
  const rows = (kind: ExportKind) =>
    options.format === "parquet"
      ? (out: SyncWriter, file: ExportedFile) => writeParquetRows(store, options, kind, out, file)
      : text((out, file) => writeRows(store, options, kind, out, file));
  if (!options.all) {
    const kind = options.kinds[0];
    return [await withOutput(options.out, kind, stdout, rows(kind))];
  }
  try {
    Deno.mkdirSync(options.out, { recursive: true });
  } catch (error) {
    throw new ConfigError(
      `Cannot create --out directory "${options.out}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  const files: ExportedFile[] = [];
  for (const kind of options.kinds) {
    files.push(
      await withOutput(`${options.out}/${kind}.${options.format}`, kind, stdout, rows(kind)),
    );
  }
  return files;
}

/** Writes one output's bytes and counts its rows in `file.rows`. */
type WriteOutput = (out: SyncWriter, file: ExportedFile) => Promise<void>;

/** A text writer behind a ChunkWriter, flushed when `write` is done. */
function text(write: (out: ChunkWriter, file: ExportedFile) => Promise<void>): WriteOutput {
  return async (sink, file) => {
    const out = new ChunkWriter(sink);
    await write(out, file);
    out.flush();
  };
}

/**
 * Runs `write` against stdout ("-") or a file written as `path.partial` and renamed when
 * complete, so an interrupted export never leaves a truncated file under the real name.
 */
async function withOutput(
  path: string,
  kind: ExportedFile["kind"],
  stdout: SyncWriter,
  write: WriteOutput,
): Promise<ExportedFile> {
  const file: ExportedFile = { kind, path, rows: 0 };
  if (path === "-") {
    try {
      await write(stdout, file);
    } catch (error) {
      // A reader such as `head` closed the pipe: it has what it wanted.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    }
    return file;
  }
  const partial = `${path}.partial`;
  let handle: Deno.FsFile;
  try {
    handle = Deno.openSync(partial, { write: true, create: true, truncate: true });
  } catch (error) {
    throw new ConfigError(`Cannot open --out "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  let done = false;
  try {
    await write(handle, file);
    handle.close();
    Deno.renameSync(partial, path);
    done = true;
    return file;
  } finally {
    if (!done) {
      try {
        handle.close();
      } catch {
        // Already closed before the rename failed.
      }
      Deno.removeSync(partial);
    }
  }
}

/** Writes one kind as CSV (header first) or JSONL, counting rows in `file.rows`. */
async function writeRows(
  store: ReadStore,
  options: ExportOptions,
  kind: ExportKind,
  out: ChunkWriter,
  file: ExportedFile,
): Promise<void> {
  const table = EXPORT_TABLES[kind];
  const format = options.format === "jsonl" ? "jsonl" : "csv";
  if (format === "csv") out.write((options.bom ? UTF8_BOM : "") + csvHeader(table));
  const encode = rowEncoder(table, format, options.hasher);
  // SQLite cannot hand a uid beyond ±2^53 to a reader of numbers: select those as text.
  let bigIntegersAsText = false;
  if (store.dialect.bigIntegersAsText) {
    const check = bigUidQuery(table, options.filter);
    const [found] = await store.query(check.sql, check.params);
    bigIntegersAsText = Object.values(found)[0] === 1;
  }
  const { sql, params } = exportQuery(table, options.filter, { bigIntegersAsText });
  for await (const batch of store.batches(sql, params)) {
    for (const row of batch) out.write(encode(row));
    file.rows += batch.length;
  }
}

/** Writes one kind as Parquet, INTEGERs read as bigints so that ids and uids stay exact. */
async function writeParquetRows(
  store: ReadStore,
  options: ExportOptions,
  kind: ExportKind,
  out: SyncWriter,
  file: ExportedFile,
): Promise<void> {
  const table = EXPORT_TABLES[kind];
  const { sql, params } = exportQuery(table, options.filter);
  file.rows = await writeParquetBatches(store.batches(sql, params, { bigInts: true }), table, out, {
    hasher: options.hasher,
  });
}
