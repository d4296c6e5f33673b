/**
 * `export --format xml`: one room's danmaku, gifts, super chats and guards as one 录播姬
 * (BililiveRecorder) XML document, merged by time. Each kind is streamed in time order and the
 * streams are merged, so memory stays flat.
 */
import type { SQLOutputValue } from "node:sqlite";
import { ConfigError } from "../errors.ts";
import type { SqliteStore } from "../storage/sqlite_store.ts";
import type { ChunkWriter } from "./chunk_writer.ts";
import { EXPORT_TABLES, type ExportKind, type RowFilter, whereClause } from "./export_tables.ts";
import {
  danmakuElement,
  giftElement,
  guardElement,
  RECORDER_XML_FOOTER,
  recorderXmlHeader,
  superChatElement,
} from "./recorder_xml.ts";
import type { UidHasher } from "./uid_hasher.ts";

/** Kinds 录播姬 XML holds, in the order they win a tie in time. */
export const XML_KINDS: readonly ExportKind[] = ["danmaku", "gifts", "super_chats", "guard_buys"];

/** What an XML export reads. */
export interface XmlExportOptions {
  /** Kinds to merge (each one of XML_KINDS). */
  kinds: readonly ExportKind[];
  /** Rooms must be exactly one id, or undefined for "the only room with rows". */
  filter: RowFilter;
  hasher: UidHasher | undefined;
}

/** A row as the renderers read it: time, uid and name, then the kind's own columns. */
type XmlRow = SQLOutputValue[];

/** The sender of a row, as written (uids hashed and names dropped under `--hash-uids`). */
interface Sender {
  timeMs: number;
  uid: string;
  uname: string;
}

/** Per kind: the columns after `time, uid, uname`, and the element of one row. */
const XML_ELEMENTS: Readonly<
  Record<string, { select: string; render: (who: Sender, r: XmlRow, startMs: number) => string }>
> = {
  danmaku: {
    select: "mode, font_size, color, text",
    render: (who, r, s) =>
      danmakuElement({
        ...who,
        mode: num(r[3]),
        fontSize: num(r[4]),
        color: num(r[5]),
        text: String(r[6]),
      }, s),
  },
  gifts: {
    select: "gift_name, num",
    render: (who, r, s) =>
      giftElement({ ...who, giftName: String(r[3]), count: num(r[4]) ?? 0 }, s),
  },
  super_chats: {
    select: "price_cny, duration_s, message",
    render: (who, r, s) =>
      superChatElement({
        ...who,
        price: num(r[3]) ?? 0,
        durationS: num(r[4]),
        message: String(r[5]),
      }, s),
  },
  guard_buys: {
    select: "guard_level, num",
    render: (who, r, s) =>
      guardElement({ ...who, level: num(r[3]) ?? 0, count: num(r[4]) ?? 0 }, s),
  },
};

function num(value: SQLOutputValue | undefined): number | null {
  return typeof value === "number" ? value : null;
}

function textOrNull(value: SQLOutputValue | undefined): string | null {
  return typeof value === "string" ? value : null;
}

/** One kind's rows in time order, and the next one not yet written. */
interface XmlSource {
  rows: Iterator<XmlRow>;
  render: (who: Sender, row: XmlRow, startMs: number) => string;
  head: XmlRow | undefined;
}

/**
 * Writes the XML document of `options` to `out`, counting elements in `counter.rows`. Times
 * are seconds from `--since`, else from the first row. ConfigError unless exactly one room.
 */
export function writeRecorderXml(
  store: SqliteStore,
  options: XmlExportOptions,
  out: ChunkWriter,
  counter: { rows: number },
): void {
  const roomId = xmlRoom(store, options);
  const filter: RowFilter = { ...options.filter, rooms: [roomId] };
  const startMs = options.filter.sinceMs ?? firstTime(store, options.kinds, filter) ?? 0;
  const room = store.query(
    `SELECT short_id, uname, title, area_name, parent_area_name FROM rooms WHERE room_id = ?`,
    roomId,
  )[0];
  out.write(recorderXmlHeader({
    roomId,
    shortId: num(room?.short_id),
    name: textOrNull(room?.uname),
    title: textOrNull(room?.title),
    areaName: textOrNull(room?.area_name),
    parentAreaName: textOrNull(room?.parent_area_name),
    startMs,
  }));
  const hasher = options.hasher;
  const sender = (r: XmlRow): Sender => ({
    timeMs: r[0] as number,
    uid: hasher && typeof r[1] === "number" ? hasher.hash(r[1]) : String(r[1]),
    uname: hasher ? "" : String(r[2] ?? ""),
  });
  const sources: XmlSource[] = options.kinds.map((kind) => {
    const table = EXPORT_TABLES[kind];
    const where = whereClause(table.timeSql, filter);
    const element = XML_ELEMENTS[kind];
    const rows = store.iterateArrays(
      `SELECT ${table.timeSql} AS t, uid, uname, ${element.select} FROM ${kind}${where.sql}
        ORDER BY t, id`,
      ...where.params,
    );
    const first = rows.next();
    return { rows, render: element.render, head: first.done ? undefined : first.value };
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
    out.write(next.render(sender(next.head!), next.head!, startMs));
    counter.rows++;
    const step = next.rows.next();
    next.head = step.done ? undefined : step.value;
  }
  out.write(RECORDER_XML_FOOTER);
}

/** The one room an XML export is about: `--room ID`, or the only room with matching rows. */
function xmlRoom(store: SqliteStore, options: XmlExportOptions): number {
  const rooms = options.filter.rooms;
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
  for (const kind of options.kinds) {
    const where = whereClause(EXPORT_TABLES[kind].timeSql, options.filter);
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
        ? `Cannot export xml: no rows match in "${store.path}"; check --since/--until`
        : `Cannot export xml: 录播姬 XML holds one room, but ${found.size} rooms have rows (${
          list.slice(0, 10).join(", ")
        }${found.size > 10 ? ", …" : ""}); pick one with --room ID`,
    );
  }
  return [...found][0];
}

/** The earliest row time of `kinds` under `filter`, unix ms. */
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
