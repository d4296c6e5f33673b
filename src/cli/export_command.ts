/**
 * `main.ts export`: parses the flags, opens the database (SQLite file or PostgreSQL URL)
 * read-only and hands both to the export engine (export/exporter.ts), then logs what each
 * output received.
 */
import { ConfigError } from "../errors.ts";
import { openReadStore } from "../storage/read_store.ts";
import { EXPORT_KINDS, type ExportKind } from "../export/export_tables.ts";
import {
  EXPORT_FORMATS,
  type ExportedFile,
  type ExportFormat,
  type ExportOptions,
  exportRows,
} from "../export/exporter.ts";
import { XML_KINDS } from "../export/recorder_export.ts";
import { parseRoomList, parseTimeRange } from "../export/time_flag.ts";
import { UidHasher } from "../export/uid_hasher.ts";
import { fieldLogger } from "../util/log.ts";
import { type CommandSpec, flag, parseCommandArgs } from "../util/flags.ts";
import type { SyncWriter } from "../util/line_writer.ts";

/** The flags of export, keyed by flag name; the checks that join flags are in parseExportConfig. */
const EXPORT_FLAGS = {
  db: flag.string({
    name: "db",
    arg: "FILE|URL",
    help:
      "SQLite file or postgres://user:password@host:port/dbname to read (required; never created; opened read-only)",
  }),
  kind: flag.string({
    name: "kind",
    arg: "KIND",
    defaultText: "danmaku for csv/jsonl/parquet, all for xml",
    help: `${
      EXPORT_KINDS.join(", ")
    }, or all; csv/jsonl/parquet with all write one file per kind into --out DIR`,
  }),
  room: flag.string({
    name: "room",
    arg: "ID,...",
    help: "only these real room ids (xml: exactly one room)",
  }),
  since: flag.string({
    name: "since",
    arg: "T",
    help:
      "rows at or after T (unix ms, or ISO 8601: 2024-05-01T20:00+08:00, 2024-05-01 = 00:00 UTC)",
  }),
  until: flag.string({ name: "until", arg: "T", help: "rows before T" }),
  format: flag.string({
    name: "format",
    arg: "FMT",
    default: "csv",
    help:
      "csv (RFC 4180, CRLF), jsonl, parquet (typed, snappy; needs --out), or xml (录播姬, one room)",
  }),
  out: flag.string({
    name: "out",
    arg: "FILE|DIR|-",
    defaultText: "stdout",
    help:
      "output file (written as FILE.partial, renamed when complete); a directory for --kind all; - for stdout (not parquet)",
  }),
  bom: flag.boolean({ name: "bom", help: "start a CSV with a UTF-8 BOM (for Excel)" }),
  "hash-uids": flag.string({
    name: "hash-uids",
    arg: "SALT",
    help:
      "replace uids with HMAC-SHA256(SALT, uid) (16 hex digits; uid 0 stays 0) and drop viewer names, user_hash, uid-bearing dedup keys and raw JSON; keep SALT secret",
  }),
};

/** The export command: usage, help and flags. */
export const EXPORT_COMMAND: CommandSpec<typeof EXPORT_FLAGS> = {
  name: "export",
  usage: ["main.ts export --db FILE|URL [flags]", "deno task export --db FILE|URL [flags]"],
  summary: "export rows to CSV, JSONL, Parquet or 录播姬 XML (deno task export)",
  description: `Streams rows of a danmaku database to CSV, JSONL, Parquet or 录播姬
(BililiveRecorder) XML. Columns and types of every kind: docs/export.md.`,
  flags: EXPORT_FLAGS,
};

/** The export command's parsed flags: the database and what to export from it. */
export interface ExportConfig extends ExportOptions {
  dbPath: string;
}

/** Parses export flags; throws a ConfigError naming the flag and the bad value. */
export function parseExportConfig(args: string[]): ExportConfig {
  const { values } = parseCommandArgs(EXPORT_COMMAND, args);
  if (values.db === undefined || values.db === "") {
    throw new ConfigError(
      `Cannot export: --db FILE|URL is required; run "main.ts export --help" for the flags`,
    );
  }
  const format = (values.format ?? "csv") as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) {
    throw new ConfigError(
      `Cannot parse --format "${values.format}": expected one of ${EXPORT_FORMATS.join(", ")}`,
    );
  }
  const kindText = values.kind ?? (format === "xml" ? "all" : "danmaku");
  const all = kindText === "all";
  if (!all && !(EXPORT_KINDS as readonly string[]).includes(kindText)) {
    throw new ConfigError(
      `Cannot parse --kind "${kindText}": expected one of ${EXPORT_KINDS.join(", ")}, all`,
    );
  }
  const kinds = all ? (format === "xml" ? XML_KINDS : EXPORT_KINDS) : [kindText as ExportKind];
  if (format === "xml" && !kinds.every((k) => XML_KINDS.includes(k))) {
    throw new ConfigError(
      `Cannot export --kind "${kindText}" as xml: 录播姬 XML holds ${XML_KINDS.join(", ")} only`,
    );
  }
  const out = values.out ?? "-";
  if (format === "parquet" && out === "-") {
    throw new ConfigError(
      `Cannot write --format parquet to stdout: pass --out FILE (a DIR for --kind all)`,
    );
  }
  if (all && format !== "xml" && out === "-") {
    throw new ConfigError(
      `Cannot export --kind all as ${format} to stdout: pass --out DIR for one file per kind`,
    );
  }
  if (values.bom && format !== "csv") {
    throw new ConfigError(`Cannot use --bom with --format ${format}: it applies to csv only`);
  }
  const { sinceMs, untilMs } = parseTimeRange(values.since, values.until);
  const rooms = parseRoomList(values.room);
  const salt = values["hash-uids"];
  return {
    dbPath: values.db,
    kinds,
    all,
    filter: { rooms, sinceMs, untilMs },
    format,
    out,
    bom: values.bom ?? false,
    hasher: salt === undefined ? undefined : new UidHasher(salt),
  };
}

/** Runs the export command; ConfigError for bad flags, StorageError for the database. */
export async function runExport(
  args: string[],
  io: { stdout: SyncWriter; log: (line: string) => void },
): Promise<ExportedFile[]> {
  const config = parseExportConfig(args);
  const log = fieldLogger(io.log);
  await using store = await openReadStore(config.dbPath, { log });
  const files = await exportRows(store, config, io.stdout);
  for (const file of files) {
    log.info("exported", {
      kind: file.kind,
      format: config.format,
      rows: file.rows,
      out: file.path,
      hashed_uids: config.hasher ? true : undefined,
    });
  }
  return files;
}
