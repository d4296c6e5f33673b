/**
 * What each export kind contains: its table, the columns in output order (README "Export and analysis" lists
 * them), the expression that is the row's time (for `--since`/`--until` and the `time` column),
 * and how `--hash-uids` treats each column.
 */

/** Kinds `export --kind` accepts, one per message table. */
export const EXPORT_KINDS = [
  "danmaku",
  "gifts",
  "super_chats",
  "guard_buys",
  "interactions",
  "audience",
  "room_events",
] as const;

/** One exportable table. */
export type ExportKind = typeof EXPORT_KINDS[number];

/**
 * How a column is written: `plain` as stored; `time` as ISO 8601 UTC of a unix-ms value;
 * under `--hash-uids`, `uid` columns become salted hashes and `private` columns (viewer names,
 * keys and raw JSON that contain uids, the CRC32 user hash) become NULL.
 */
export type ColumnRole = "plain" | "time" | "uid" | "private";

/** One output column. */
export interface ExportColumn {
  /** Header / JSON key. */
  name: string;
  /** SQL expression selecting it. */
  sql: string;
  /** How it is written. */
  role: ColumnRole;
}

/** The columns and time of one kind. */
export interface ExportTable {
  kind: ExportKind;
  /** SQL expression giving the row's time in unix ms. */
  timeSql: string;
  columns: readonly ExportColumn[];
}

const MEDAL = ["medal_name", "medal_level", "medal_anchor_uname", "medal_anchor_room_id"];

function table(
  kind: ExportKind,
  timeSql: string,
  spec: readonly (string | [string, ColumnRole])[],
): ExportTable {
  const columns = spec.map((item): ExportColumn => {
    const [name, role] = typeof item === "string" ? [item, "plain" as const] : item;
    if (name === "time") return { name, sql: timeSql, role: "time" };
    return { name, sql: name, role };
  });
  return { kind, timeSql, columns };
}

const UID: [string, ColumnRole] = ["uid", "uid"];
const UNAME: [string, ColumnRole] = ["uname", "private"];
const DEDUP_KEY: [string, ColumnRole] = ["dedup_key", "private"];
const MEDAL_COLUMNS: (string | [string, ColumnRole])[] = [
  ...MEDAL,
  ["medal_anchor_uid", "uid"],
];

/** Column layout of every kind. */
export const EXPORT_TABLES: Readonly<Record<ExportKind, ExportTable>> = {
  danmaku: table("danmaku", "coalesce(ts_ms, received_at_ms)", [
    "room_id",
    "ts_ms",
    "time",
    "received_at_ms",
    UID,
    UNAME,
    "text",
    "msg_id",
    "cmd",
    ["user_hash", "private"],
    "is_admin",
    "guard_level",
    "user_level",
    ...MEDAL_COLUMNS,
    "mode",
    "font_size",
    "color",
    "dm_type",
    "emoticon",
    ["reply_to_uid", "uid"],
    ["reply_to_uname", "private"],
  ]),
  gifts: table("gifts", "coalesce(ts_ms, received_at_ms)", [
    "room_id",
    "ts_ms",
    "time",
    "received_at_ms",
    UID,
    UNAME,
    "gift_id",
    "gift_name",
    "num",
    "coin_type",
    "price",
    "total_coin",
    "price_cny",
    "cmd",
    DEDUP_KEY,
    "tid",
    "rnd",
    "action",
    "guard_level",
    "blind_box_gift_name",
    "blind_box_gift_price",
    ["receiver_uid", "uid"],
    ...MEDAL_COLUMNS,
  ]),
  super_chats: table("super_chats", "coalesce(start_time_ms, received_at_ms)", [
    "room_id",
    "start_time_ms",
    "time",
    "received_at_ms",
    UID,
    UNAME,
    "message",
    "message_jpn",
    "price_cny",
    "duration_s",
    "end_time_ms",
    "sc_id",
    "cmd",
    DEDUP_KEY,
    "user_level",
    "guard_level",
    ...MEDAL_COLUMNS,
  ]),
  guard_buys: table("guard_buys", "coalesce(start_time_ms, received_at_ms)", [
    "room_id",
    "start_time_ms",
    "time",
    "received_at_ms",
    UID,
    UNAME,
    "guard_level",
    "num",
    "price_cny",
    "unit",
    "end_time_ms",
    "gift_id",
    "gift_name",
    "payflow_id",
    "cmd",
    DEDUP_KEY,
  ]),
  interactions: table("interactions", "coalesce(ts_ms, received_at_ms)", [
    "room_id",
    "ts_ms",
    "time",
    "received_at_ms",
    UID,
    UNAME,
    "kind",
    "msg_type",
    "cmd",
    "guard_level",
    ...MEDAL_COLUMNS,
  ]),
  audience: table("audience", "received_at_ms", [
    "room_id",
    "received_at_ms",
    "time",
    "kind",
    "value",
  ]),
  room_events: table("room_events", "coalesce(ts_ms, received_at_ms)", [
    "room_id",
    "ts_ms",
    "time",
    "received_at_ms",
    "kind",
    "cmd",
    "live_key",
    "title",
    "area_id",
    "area_name",
    "parent_area_id",
    "parent_area_name",
    UID,
    UNAME,
    "message",
    ["raw", "private"],
  ]),
};

/** A selection of rows: rooms (all when undefined) and a half-open time range. */
export interface RowFilter {
  rooms: readonly number[] | undefined;
  sinceMs: number | undefined;
  untilMs: number | undefined;
}

/** A WHERE clause (or "") and its parameters for `filter` on a table whose time is `timeSql`. */
export function whereClause(
  timeSql: string,
  filter: RowFilter,
): { sql: string; params: number[] } {
  const parts: string[] = [];
  const params: number[] = [];
  if (filter.rooms !== undefined) {
    parts.push(`room_id IN (${filter.rooms.map(() => "?").join(", ")})`);
    params.push(...filter.rooms);
  }
  if (filter.sinceMs !== undefined) {
    parts.push(`${timeSql} >= ?`);
    params.push(filter.sinceMs);
  }
  if (filter.untilMs !== undefined) {
    parts.push(`${timeSql} < ?`);
    params.push(filter.untilMs);
  }
  return { sql: parts.length === 0 ? "" : ` WHERE ${parts.join(" AND ")}`, params };
}

/** The SELECT of an export: the table's columns in output order, in insertion order. */
export function exportQuery(table: ExportTable, filter: RowFilter): {
  sql: string;
  params: number[];
} {
  const where = whereClause(table.timeSql, filter);
  return {
    sql: `SELECT ${table.columns.map((c) => c.sql).join(", ")} FROM ${table.kind}${where.sql}
      ORDER BY id`,
    params: where.params,
  };
}
