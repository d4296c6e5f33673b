/**
 * `main.ts export`: streams rows of a danmaku database to CSV, JSONL or 录播姬 XML
 * (README "Export and analysis"). Rows are read with `StatementSync.iterate()` and written in 1 MB chunks, so
 * memory stays flat whatever the size of the database.
 */
import type { SQLInputValue, SQLOutputValue, StatementSync } from "node:sqlite";
import { ConfigError, StorageError } from "../errors.ts";
import { describeSqliteFailure, SqliteStore } from "../storage/sqlite_store.ts";
import { ChunkWriter } from "../export/chunk_writer.ts";
import { UTF8_BOM } from "../export/csv.ts";
import {
  EXPORT_KINDS,
  EXPORT_TABLES,
  type ExportKind,
  exportQuery,
  type RowFilter,
  whereClause,
} from "../export/export_tables.ts";
import {
  danmakuElement,
  giftElement,
  guardElement,
  RECORDER_XML_FOOTER,
  recorderXmlHeader,
  superChatElement,
} from "../export/recorder_xml.ts";
import { csvHeader, rowEncoder, type RowFormat } from "../export/row_encoder.ts";
import { parseRoomList, parseTimeRange } from "../export/time_flag.ts";
import { UidHasher } from "../export/uid_hasher.ts";
import { parseFlags } from "./flags.ts";
import type { SyncWriter } from "../util/line_writer.ts";

/** Usage text of the export command. */
export const EXPORT_USAGE = `Usage: main.ts export --db FILE [flags]

Streams rows of a danmaku database to CSV, JSONL or 录播姬 (BililiveRecorder) XML.
Columns of every kind: the README, section "Export and analysis".

  --db FILE            database to read (never created; opened read-only)
  --kind KIND          danmaku (default for csv/jsonl), gifts, super_chats, guard_buys,
                       interactions, audience, room_events, or all (default for xml).
                       csv/jsonl with all write one file per kind into --out DIR.
  --room ID,...        only these real room ids (xml: exactly one room)
  --since T            rows at or after T (unix ms, or ISO 8601: 2024-05-01T20:00+08:00,
                       2024-05-01 = 00:00 UTC)
  --until T            rows before T
  --format FMT         csv (default; RFC 4180, CRLF), jsonl, or xml (录播姬, one room)
  --out FILE|DIR|-     output file (written as FILE.partial, renamed when complete);
                       a directory for --kind all; - or absent: stdout
  --bom                start a CSV with a UTF-8 BOM (for Excel)
  --hash-uids SALT     replace uids with HMAC-SHA256(SALT, uid) (16 hex digits; uid 0
                       stays 0) and drop viewer names, user_hash, uid-bearing dedup keys
                       and raw JSON; keep SALT secret`;

const FORMATS = ["csv", "jsonl", "xml"] as const;
type ExportFormat = typeof FORMATS[number];
const XML_KINDS: readonly ExportKind[] = ["danmaku", "gifts", "super_chats", "guard_buys"];

/** The export command's parsed flags. */
export interface ExportConfig {
  dbPath: string;
  kinds: readonly ExportKind[];
  all: boolean;
  filter: RowFilter;
  format: ExportFormat;
  /** "-" for stdout. */
  out: string;
  bom: boolean;
  hasher: UidHasher | undefined;
}

/** Parses export flags; throws a ConfigError naming the flag and the bad value. */
export function parseExportConfig(args: string[]): ExportConfig {
  const values = parseFlags("export", args, {
    db: { type: "string" },
    kind: { type: "string" },
    room: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    format: { type: "string" },
    out: { type: "string" },
    bom: { type: "boolean" },
    "hash-uids": { type: "string" },
  });
  if (values.db === undefined || values.db === "") {
    throw new ConfigError(`Cannot export: --db FILE is required\n\n${EXPORT_USAGE}`);
  }
  const format = (values.format ?? "csv") as ExportFormat;
  if (!FORMATS.includes(format)) {
    throw new ConfigError(
      `Cannot parse --format "${values.format}": expected one of ${FORMATS.join(", ")}`,
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

/** What one output file received. */
export interface ExportedFile {
  kind: ExportKind | "xml";
  /** File path, or "-" for stdout. */
  path: string;
  rows: number;
}

/** Runs the export command; ConfigError for bad flags, StorageError for the database. */
export function runExport(
  args: string[],
  io: { stdout: SyncWriter; log: (line: string) => void },
): Promise<ExportedFile[]> {
  const config = parseExportConfig(args);
  using store = SqliteStore.openExisting(config.dbPath, { readOnly: true });
  const files: ExportedFile[] = [];
  if (config.format === "xml") {
    files.push(
      withOutput(config.out, "xml", io.stdout, (out, file) => writeXml(store, config, out, file)),
    );
  } else if (config.all) {
    try {
      Deno.mkdirSync(config.out, { recursive: true });
    } catch (error) {
      throw new ConfigError(
        `Cannot create --out directory "${config.out}": ${(error as Error).message}`,
        { cause: error },
      );
    }
    for (const kind of config.kinds) {
      const path = `${config.out}/${kind}.${config.format}`;
      files.push(
        withOutput(path, kind, io.stdout, (out, file) => writeRows(store, config, kind, out, file)),
      );
    }
  } else {
    const kind = config.kinds[0];
    files.push(
      withOutput(
        config.out,
        kind,
        io.stdout,
        (out, file) => writeRows(store, config, kind, out, file),
      ),
    );
  }
  for (const file of files) {
    io.log(
      `level=info msg="exported" kind=${file.kind} format=${config.format} rows=${file.rows} out=${
        JSON.stringify(file.path)
      }${config.hasher ? " hashed_uids=true" : ""}`,
    );
  }
  return Promise.resolve(files);
}

/**
 * Runs `write` against stdout ("-") or a file written as `path.partial` and renamed when
 * complete, so an interrupted export never leaves a truncated file under the real name.
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

function iterateArrays(
  store: SqliteStore,
  sql: string,
  params: SQLInputValue[],
): Iterable<SQLOutputValue[]> {
  // setReturnArrays exists in Deno's node:sqlite but not yet in its type declarations.
  const statement = store.prepare(sql) as StatementSync & {
    setReturnArrays(enabled: boolean): void;
  };
  statement.setReturnArrays(true);
  const iterator = statement.iterate(...params) as unknown as Iterator<SQLOutputValue[]>;
  return {
    [Symbol.iterator]: () => ({
      next: () => {
        try {
          return iterator.next();
        } catch (error) {
          const { reason, words } = describeSqliteFailure(error);
          throw new StorageError(
            `Cannot read "${store.path}": ${words} (${(error as Error).message})`,
            reason,
            { cause: error },
          );
        }
      },
      return: (value?: unknown) => iterator.return?.(value) ?? { done: true, value: undefined },
    }),
  };
}

function writeRows(
  store: SqliteStore,
  config: ExportConfig,
  kind: ExportKind,
  out: ChunkWriter,
  file: ExportedFile,
): void {
  const table = EXPORT_TABLES[kind];
  const format: RowFormat = config.format === "jsonl" ? "jsonl" : "csv";
  if (format === "csv") out.write((config.bom ? UTF8_BOM : "") + csvHeader(table));
  const encode = rowEncoder(table, format, config.hasher);
  const { sql, params } = exportQuery(table, config.filter);
  for (const row of iterateArrays(store, sql, params)) {
    out.write(encode(row));
    file.rows++;
  }
}

/** One kind's XML elements in time order. */
interface XmlSource {
  rows: Iterator<SQLOutputValue[]>;
  render: (row: SQLOutputValue[], startMs: number) => string;
  head: SQLOutputValue[] | undefined;
}

const XML_SELECT: Readonly<Record<string, string>> = {
  danmaku: "mode, font_size, color, uid, uname, text",
  gifts: "uid, uname, gift_name, num",
  super_chats: "uid, uname, price_cny, duration_s, message",
  guard_buys: "uid, uname, guard_level, num",
};

function writeXml(
  store: SqliteStore,
  config: ExportConfig,
  out: ChunkWriter,
  file: ExportedFile,
): void {
  const roomId = xmlRoom(store, config);
  const filter: RowFilter = { ...config.filter, rooms: [roomId] };
  const startMs = config.filter.sinceMs ?? firstTime(store, config.kinds, filter) ?? 0;
  const room = store.query(
    `SELECT short_id, uname, title, area_name, parent_area_name FROM rooms WHERE room_id = ?`,
    roomId,
  )[0];
  const text = (value: SQLOutputValue | undefined) => typeof value === "string" ? value : null;
  out.write(recorderXmlHeader({
    roomId,
    shortId: typeof room?.short_id === "number" ? room.short_id : null,
    name: text(room?.uname),
    title: text(room?.title),
    areaName: text(room?.area_name),
    parentAreaName: text(room?.parent_area_name),
    startMs,
  }));
  const hasher = config.hasher;
  const uidText = (v: SQLOutputValue) =>
    hasher && typeof v === "number" ? hasher.hash(v) : String(v);
  const nameText = (v: SQLOutputValue) => hasher ? "" : String(v ?? "");
  const num = (v: SQLOutputValue) => typeof v === "number" ? v : null;
  const renderers: Record<string, XmlSource["render"]> = {
    danmaku: (r, s) =>
      danmakuElement({
        timeMs: r[0] as number,
        mode: num(r[1]),
        fontSize: num(r[2]),
        color: num(r[3]),
        uid: uidText(r[4]),
        uname: nameText(r[5]),
        text: String(r[6]),
      }, s),
    gifts: (r, s) =>
      giftElement({
        timeMs: r[0] as number,
        uid: uidText(r[1]),
        uname: nameText(r[2]),
        giftName: String(r[3]),
        count: num(r[4]) ?? 0,
      }, s),
    super_chats: (r, s) =>
      superChatElement({
        timeMs: r[0] as number,
        uid: uidText(r[1]),
        uname: nameText(r[2]),
        price: num(r[3]) ?? 0,
        durationS: num(r[4]),
        message: String(r[5]),
      }, s),
    guard_buys: (r, s) =>
      guardElement({
        timeMs: r[0] as number,
        uid: uidText(r[1]),
        uname: nameText(r[2]),
        level: num(r[3]) ?? 0,
        count: num(r[4]) ?? 0,
      }, s),
  };
  const sources: XmlSource[] = config.kinds.map((kind) => {
    const table = EXPORT_TABLES[kind];
    const where = whereClause(table.timeSql, filter);
    const rows = iterateArrays(
      store,
      `SELECT ${table.timeSql} AS t, ${XML_SELECT[kind]} FROM ${kind}${where.sql} ORDER BY t, id`,
      where.params,
    )[Symbol.iterator]();
    const first = rows.next();
    return { rows, render: renderers[kind], head: first.done ? undefined : first.value };
  });
  // Merge the kinds by time (ties: danmaku, gifts, super chats, guards).
  for (;;) {
    let next: XmlSource | undefined;
    for (const source of sources) {
      if (source.head && (!next || (source.head[0] as number) < (next.head![0] as number))) {
        next = source;
      }
    }
    if (!next) break;
    out.write(next.render(next.head!, startMs));
    file.rows++;
    const step = next.rows.next();
    next.head = step.done ? undefined : step.value;
  }
  out.write(RECORDER_XML_FOOTER);
}

/** The one room an XML export is about: `--room ID`, or the only room with matching rows. */
function xmlRoom(store: SqliteStore, config: ExportConfig): number {
  const rooms = config.filter.rooms;
  if (rooms !== undefined) {
    if (rooms.length !== 1) {
      throw new ConfigError(
        `Cannot export xml for --room "${
          rooms.join(",")
        }": 录播姬 XML holds one room; pass exactly one id`,
      );
    }
    return rooms[0];
  }
  const found = new Set<number>();
  for (const kind of config.kinds) {
    const table = EXPORT_TABLES[kind];
    const where = whereClause(table.timeSql, config.filter);
    for (
      const row of store.query(`SELECT DISTINCT room_id FROM ${kind}${where.sql}`, ...where.params)
    ) {
      found.add(Number(row.room_id));
    }
  }
  if (found.size !== 1) {
    const list = [...found].sort((a, b) => a - b);
    throw new ConfigError(
      found.size === 0
        ? `Cannot export xml: no rows match in "${config.dbPath}"; check --since/--until`
        : `Cannot export xml: 录播姬 XML holds one room, but ${found.size} rooms have rows (${
          list.slice(0, 10).join(", ")
        }${found.size > 10 ? ", …" : ""}); pick one with --room ID`,
    );
  }
  return [...found][0];
}

function firstTime(
  store: SqliteStore,
  kinds: readonly ExportKind[],
  filter: RowFilter,
): number | undefined {
  let first: number | undefined;
  for (const kind of kinds) {
    const table = EXPORT_TABLES[kind];
    const where = whereClause(table.timeSql, filter);
    const value = store.query(
      `SELECT min(${table.timeSql}) AS t FROM ${kind}${where.sql}`,
      ...where.params,
    )[0]?.t;
    if (typeof value === "number" && (first === undefined || value < first)) first = value;
  }
  return first;
}
