/**
 * The export engine behind `main.ts export`: streams rows of a danmaku database to CSV, JSONL
 * or 录播姬 XML (docs/export.md). Rows are read one at a time and written in 1 MB
 * chunks, so memory stays flat whatever the size of the database.
 */
import { ConfigError } from "../errors.ts";
import type { SqliteStore } from "../storage/sqlite_store.ts";
import type { SyncWriter } from "../util/line_writer.ts";
import { ChunkWriter } from "./chunk_writer.ts";
import { UTF8_BOM } from "./csv.ts";
import { EXPORT_TABLES, type ExportKind, exportQuery, type RowFilter } from "./export_tables.ts";
import { writeRecorderXml } from "./recorder_export.ts";
import { csvHeader, rowEncoder } from "./row_encoder.ts";
import type { UidHasher } from "./uid_hasher.ts";

/** Output formats of `export`. */
export const EXPORT_FORMATS = ["csv", "jsonl", "xml"] as const;

/** One output format. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** What to export and where. */
export interface ExportOptions {
  /** Kinds to write (xml: merged by time into one document). */
  kinds: readonly ExportKind[];
  /** csv/jsonl: one file per kind, `<out>/<kind>.<format>`. */
  all: boolean;
  filter: RowFilter;
  format: ExportFormat;
  /** Output file, directory (`all`), or "-" for stdout. */
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
 * output received. ConfigError for an output that cannot be written or an XML export without
 * exactly one room; StorageError when reading fails.
 */
export function exportRows(
  store: SqliteStore,
  options: ExportOptions,
  stdout: SyncWriter,
): ExportedFile[] {
  if (options.format === "xml") {
    return [
      withOutput(options.out, "xml", stdout, (out, file) => {
        writeRecorderXml(store, options, out, file);
      }),
    ];
  }
  const rows = (kind: ExportKind) => (out: ChunkWriter, file: ExportedFile) =>
    writeRows(store, options, kind, out, file);
  if (!options.all) {
    const kind = options.kinds[0];
    return [withOutput(options.out, kind, stdout, rows(kind))];
  }
  try {
    Deno.mkdirSync(options.out, { recursive: true });
  } catch (error) {
    throw new ConfigError(
      `Cannot create --out directory "${options.out}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  return options.kinds.map((kind) =>
    withOutput(`${options.out}/${kind}.${options.format}`, kind, stdout, rows(kind))
  );
}

/**
 * Runs `write` (which counts its rows in `file.rows`) against stdout ("-") or a file written
 * as `path.partial` and renamed when complete, so an interrupted export never leaves a
 * truncated file under the real name.
 */
function withOutput(
  path: string,
  kind: ExportedFile["kind"],
  stdout: SyncWriter,
  write: (out: ChunkWriter, file: ExportedFile) => void,
): ExportedFile {
  const file: ExportedFile = { kind, path, rows: 0 };
  if (path === "-") {
    const out = new ChunkWriter(stdout);
    try {
      write(out, file);
      out.flush();
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
    const out = new ChunkWriter(handle);
    write(out, file);
    out.flush();
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
function writeRows(
  store: SqliteStore,
  options: ExportOptions,
  kind: ExportKind,
  out: ChunkWriter,
  file: ExportedFile,
): void {
  const table = EXPORT_TABLES[kind];
  const format = options.format === "jsonl" ? "jsonl" : "csv";
  if (format === "csv") out.write((options.bom ? UTF8_BOM : "") + csvHeader(table));
  const encode = rowEncoder(table, format, options.hasher);
  const { sql, params } = exportQuery(table, options.filter);
  for (const row of store.iterateArrays(sql, ...params)) {
    out.write(encode(row));
    file.rows++;
  }
}
