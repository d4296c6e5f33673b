/**
 * `export --format xml`: one room's danmaku, gifts, super chats and guards as one 录播姬
 * (BililiveRecorder) XML document, merged by time. Each kind is streamed in time order, a batch
 * at a time, and the streams are merged, so memory stays flat.
 */
import { ConfigError } from "../errors.ts";
import type { ReadStore, ReadValue } from "../storage/read_store.ts";
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
type XmlRow = ReadValue[];

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

function num(value: ReadValue | undefined): number | null {
  return typeof value === "number" ? value : null;
}

function textOrNull(value: ReadValue | undefined): string | null {
  return typeof value === "string" ? value : null;
}

/** One kind's rows in time order: the batch being written and the next row in it. */
interface XmlSource {
  batches: AsyncIterator<XmlRow[]>;
  render: (who: Sender, row: XmlRow, startMs: number) => string;
  batch: XmlRow[];
  at: number;
}

/** The next row of `source`, reading its next batch when this one is done; undefined at the end. */
async function head(source: XmlSource): Promise<XmlRow | undefined> {
  if (source.at < source.batch.length) return source.batch[source.at];
  const step = await source.batches.next();
  source.batch = step.done ? [] : step.value;
  source.at = 0;
  return source.batch[0];
}

/**
 * Writes the XML document of `options` to `out`, counting elements in `counter.rows`. Times
 * are seconds from `--since`, else from the first row. ConfigError unless exactly one room.
 */
export async function writeRecorderXml(
  store: ReadStore,
  options: XmlExportOptions,
  out: ChunkWriter,
  counter: { rows: number },
): Promise<void> {
  const roomId = await xmlRoom(store, options);
  const filter: RowFilter = { ...options.filter, rooms: [roomId] };
  const startMs = options.filter.sinceMs ?? await firstTime(store, options.kinds, filter) ?? 0;
  const [room] = await store.query(
    `SELECT short_id, uname, title, area_name, parent_area_name FROM rooms WHERE room_id = ?`,
    [roomId],
  );
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
    uid: hasher && (typeof r[1] === "number" || typeof r[1] === "bigint")
      ? hasher.hash(r[1])
      : String(r[1]),
    uname: hasher ? "" : String(r[2] ?? ""),
  });
  const sources: XmlSource[] = options.kinds.map((kind) => {
    const table = EXPORT_TABLES[kind];
    const where = whereClause(table.timeSql, filter);
    const element = XML_ELEMENTS[kind];
    const batches = store.batches(
      `SELECT ${table.timeSql} AS t, uid, uname, ${element.select} FROM ${kind}${where.sql}
        ORDER BY t, id`,
      where.params,
    )[Symbol.asyncIterator]();
    return { batches, render: element.render, batch: [], at: 0 };
  });
  try {
    const heads = await Promise.all(sources.map(head));
    // Merge the kinds by time (ties: danmaku, gifts, super chats, guards).
    for (;;) {
      let next = -1;
      for (let i = 0; i < sources.length; i++) {
        const row = heads[i];
        if (row && (next < 0 || (row[0] as number) < (heads[next]![0] as number))) next = i;
      }
      if (next < 0) break;
      const source = sources[next];
      const row = heads[next]!;
      out.write(source.render(sender(row), row, startMs));
      counter.rows++;
      source.at++;
      heads[next] = await head(source);
    }
  } finally {
    await Promise.all(sources.map((source) => source.batches.return?.()));
  }
  out.write(RECORDER_XML_FOOTER);
}

/** The one room an XML export is about: `--room ID`, or the only room with matching rows. */
async function xmlRoom(store: ReadStore, options: XmlExportOptions): Promise<number> {
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
      const row of await store.query(
        `SELECT DISTINCT room_id FROM ${kind}${where.sql}`,
        where.params,
      )
    ) {
      found.add(Number(row.room_id));
    }
  }
  if (found.size !== 1) {
    const list = [...found].sort((a, b) => a - b);
    throw new ConfigError(
      found.size === 0
        ? `Cannot export xml: no rows match in "${store.description}"; check --since/--until`
        : `Cannot export xml: 录播姬 XML holds one room, but ${found.size} rooms have rows (${
          list.slice(0, 10).join(", ")
        }${found.size > 10 ? ", …" : ""}); pick one with --room ID`,
    );
  }
  return [...found][0];
}

/** The earliest row time of `kinds` under `filter`, unix ms. */
async function firstTime(
  store: ReadStore,
  kinds: readonly ExportKind[],
  filter: RowFilter,
): Promise<number | undefined> {
  let first: number | undefined;
  for (const kind of kinds) {
    const table = EXPORT_TABLES[kind];
    const where = whereClause(table.timeSql, filter);
    const [row] = await store.query(
      `SELECT min(${table.timeSql}) AS t FROM ${kind}${where.sql}`,
      where.params,
    );
    const value = row?.t;
    if (typeof value === "number" && (first === undefined || value < first)) first = value;
  }
  return first;
}
