/**
 * The row table: for every event type, the table its rows go to, each column's SQL type and
 * how its value is read from the event, the indexes, what an insert does on a conflict, and
 * how the row is exported. The CREATE statements (schema.ts), the prepared INSERTs and their
 * binders (sqlite_store.ts), the dedup keys, the per-table counts and the export columns
 * (export/export_tables.ts) are all derived from it: a new event kind is one entry here plus
 * its normalizer. docs/schema.md describes every column.
 *
 * Every table, column and index says the schema version it came in (`since`, default 1). The
 * DDL a version generates must stay what that version created, byte for byte
 * (tests/fixtures/schema_v<N>.json); a change is a new version whose tables, columns and indexes
 * the migration in schema.ts adds to older databases. Columns are only ever appended. The same
 * table is rendered for PostgreSQL by pg_schema.ts.
 */
import type { SQLInputValue } from "node:sqlite";
import type { CollectedEvent, CollectedEventType, MedalFields } from "../normalize/events.ts";
import {
  danmakuDedupKey,
  giftDedupKey,
  guardBuyDedupKey,
  superChatDedupKey,
} from "./dedup_keys.ts";

/** SQLite column types the schema uses. */
export type SqlType = "INTEGER" | "TEXT" | "REAL";

/**
 * What a column holds, for `export --hash-uids`: `uid` columns become salted hashes, `private`
 * ones (viewer names, keys and raw JSON that contain uids, the CRC32 user hash) become NULL.
 */
export type Privacy = "uid" | "private";

/** One stored column. */
export interface ColumnSpec<E> {
  /** Column name. */
  readonly name: string;
  /** Declared SQL type. */
  readonly sqlType: SqlType;
  /** Whether NULL is allowed (`NOT NULL` when false; ignored for the primary key). */
  readonly nullable: boolean;
  /** The column is the table's `PRIMARY KEY` (else the table gets `id INTEGER PRIMARY KEY`). */
  readonly primaryKey?: true;
  /** How `export --hash-uids` treats it. @default {undefined} (written as stored) */
  readonly privacy?: Privacy;
  /** Schema version the column came in. @default {1} */
  readonly since?: number;
  /**
   * SQL `DEFAULT` of a column added to an existing table (what older rows read); required for
   * a NOT NULL column with `since` > 1, which SQLite can add only with a default.
   */
  readonly defaultSql?: string;
  /** The value bound for an event. */
  readonly value: (event: E) => SQLInputValue;
}

/** One index of a table. */
export interface IndexSpec {
  /** Index name. */
  readonly name: string;
  /** `CREATE UNIQUE INDEX` when true. */
  readonly unique: boolean;
  /** Indexed columns, in order. */
  readonly columns: readonly string[];
  /** Partial-index condition (`WHERE …`), when any. */
  readonly where?: string;
  /** Schema version the index came in. @default {1} */
  readonly since?: number;
}

/** How a table is exported (`export --kind <table>`); tables without it are not exportable. */
export interface ExportSpec {
  /** SQL expression giving the row's time in unix ms (for `--since`/`--until` and `time`). */
  readonly timeSql: string;
  /**
   * Columns that lead the output, in order; `time` is the row's time as ISO 8601 UTC. Every
   * other column follows in table order, so a column added to the table is exported too.
   */
  readonly lead: readonly string[];
}

/**
 * Which receivers of a room store a table's rows when several nodes hold the room (a cluster
 * on one PostgreSQL): `any` — every receiver of a broadcast makes the same row and its unique
 * key merges them (or the table is an upsert by its own key), so each holder stores them;
 * `primary` — rows with no broadcast identity (counters, entries, notices), stored only by the
 * holder of the room's lease slot 0. A single node stores everything.
 */
export type Holders = "any" | "primary";

/** The table of one event type. */
export interface RowSpec<E> {
  /** Table name. */
  readonly table: string;
  /** Schema version the table came in. @default {1} */
  readonly since?: number;
  /** Which holders of a room store these rows in a cluster. */
  readonly holders: Holders;
  /** Stored columns in table order (after `id`, unless a column is the primary key). */
  readonly columns: readonly ColumnSpec<E>[];
  /** Indexes, created after the table in this order. */
  readonly indexes: readonly IndexSpec[];
  /** What follows the INSERT's VALUES (an `ON CONFLICT …` upsert), or "" for a plain insert. */
  readonly onConflict: string;
  /**
   * For tables keeping one row per (room_id, dedup_key): the key of an event (Bilibili sends
   * some messages twice under different cmds).
   */
  readonly dedupKey?: (event: E) => string;
  /** How the table is exported. */
  readonly export?: ExportSpec;
}

type EventOf<T extends CollectedEventType> = Extract<CollectedEvent, { type: T }>;

/** A row spec per event type, each typed by its event. */
export type RowSpecs = { readonly [T in CollectedEventType]: RowSpec<EventOf<T>> };

function integer<E>(name: string, value: (e: E) => number, privacy?: Privacy): ColumnSpec<E> {
  return { name, sqlType: "INTEGER", nullable: false, value, privacy };
}

function integerOrNull<E>(
  name: string,
  value: (e: E) => number | null,
  privacy?: Privacy,
): ColumnSpec<E> {
  return { name, sqlType: "INTEGER", nullable: true, value, privacy };
}

function text<E>(name: string, value: (e: E) => string, privacy?: Privacy): ColumnSpec<E> {
  return { name, sqlType: "TEXT", nullable: false, value, privacy };
}

function textOrNull<E>(
  name: string,
  value: (e: E) => string | null,
  privacy?: Privacy,
): ColumnSpec<E> {
  return { name, sqlType: "TEXT", nullable: true, value, privacy };
}

function real<E>(name: string, value: (e: E) => number): ColumnSpec<E> {
  return { name, sqlType: "REAL", nullable: false, value };
}

/** `column`, added to its table in schema version `version` with SQL default `defaultSql`. */
function addedIn<E>(version: number, column: ColumnSpec<E>, defaultSql?: string): ColumnSpec<E> {
  return { ...column, since: version, defaultSql };
}

/** `room_id`, first column of every table but `sessions`. */
function roomId<E extends { roomId: number }>(): ColumnSpec<E> {
  return integer("room_id", (e) => e.roomId);
}

/** `received_at_ms`: when the message arrived. */
function receivedAt<E extends { receivedAtMs: number }>(): ColumnSpec<E> {
  return integer("received_at_ms", (e) => e.receivedAtMs);
}

/** The room, server time, arrival time and cmd that lead the tables of plain messages. */
function messageHead<
  E extends { roomId: number; tsMs: number | null; receivedAtMs: number; cmd: string },
>(): ColumnSpec<E>[] {
  return [
    roomId(),
    integerOrNull("ts_ms", (e) => e.tsMs),
    receivedAt(),
    text("cmd", (e) => e.cmd),
  ];
}

/** A room's title and areas, as ROOM_CHANGE and the room list give them. */
function areaColumns<
  E extends {
    title: string | null;
    areaId: number | null;
    areaName: string | null;
    parentAreaId: number | null;
    parentAreaName: string | null;
  },
>(): ColumnSpec<E>[] {
  return [
    textOrNull("title", (e) => e.title),
    integerOrNull("area_id", (e) => e.areaId),
    textOrNull("area_name", (e) => e.areaName),
    integerOrNull("parent_area_id", (e) => e.parentAreaId),
    textOrNull("parent_area_name", (e) => e.parentAreaName),
  ];
}

/** `dedup_key` of a table keeping one row per (room_id, dedup_key). */
function dedupKey<E>(key: (e: E) => string): ColumnSpec<E> {
  return text("dedup_key", key, "private");
}

/** The UNIQUE (room_id, dedup_key) index of such a table. */
function roomDedupIndex(table: string): IndexSpec {
  return { name: `${table}_room_dedup`, unique: true, columns: ["room_id", "dedup_key"] };
}

/** The fan medal shown next to a viewer's name. */
function medalColumns<E extends MedalFields>(): ColumnSpec<E>[] {
  return [
    textOrNull("medal_name", (e) => e.medalName),
    integerOrNull("medal_level", (e) => e.medalLevel),
    textOrNull("medal_anchor_uname", (e) => e.medalAnchorUname),
    integerOrNull("medal_anchor_room_id", (e) => e.medalAnchorRoomId),
    integerOrNull("medal_anchor_uid", (e) => e.medalAnchorUid, "uid"),
  ];
}

/** The sender (uid 0 when masked) and their name. */
function viewer<E extends { uid: number; uname: string }>(): ColumnSpec<E>[] {
  return [integer("uid", (e) => e.uid, "uid"), text("uname", (e) => e.uname, "private")];
}

/** Row time of tables whose server time may be missing. */
const TS_OR_RECEIVED = "coalesce(ts_ms, received_at_ms)";

/** Export of a table timed by `ts_ms`: room, times and viewer lead, then `more`. */
function timedExport(...more: string[]): ExportSpec {
  return {
    timeSql: TS_OR_RECEIVED,
    lead: ["room_id", "ts_ms", "time", "received_at_ms", "uid", "uname", ...more],
  };
}

/** Export of a table timed by `start_time_ms`: room, times and viewer lead, then `more`. */
function startedExport(...more: string[]): ExportSpec {
  return {
    timeSql: "coalesce(start_time_ms, received_at_ms)",
    lead: ["room_id", "start_time_ms", "time", "received_at_ms", "uid", "uname", ...more],
  };
}

// Columns a newer observation of a room fills in; a null never erases a known value.
const ROOM_FIELDS = [
  "short_id",
  "anchor_uid",
  "uname",
  "title",
  "area_id",
  "area_name",
  "parent_area_id",
  "parent_area_name",
  "live_status",
] as const;

/** Every event type's table, in creation order. */
export const ROW_SPECS = {
  danmaku: {
    table: "danmaku",
    holders: "any",
    columns: [
      ...messageHead(),
      textOrNull("msg_id", (e) => e.msgId),
      ...viewer(),
      text("text", (e) => e.text),
      textOrNull("user_hash", (e) => e.userHash, "private"),
      integer("is_admin", (e) => e.isAdmin ? 1 : 0),
      integer("guard_level", (e) => e.guardLevel),
      integerOrNull("user_level", (e) => e.userLevel),
      ...medalColumns(),
      integerOrNull("mode", (e) => e.mode),
      integerOrNull("font_size", (e) => e.fontSize),
      integerOrNull("color", (e) => e.color),
      integerOrNull("dm_type", (e) => e.dmType),
      textOrNull("emoticon", (e) => e.emoticon),
      integerOrNull("reply_to_uid", (e) => e.replyToUid, "uid"),
      textOrNull("reply_to_uname", (e) => e.replyToUname, "private"),
      addedIn(2, integer("lottery_type", (e) => e.lotteryType), "0"),
      // NULL when msg_id is known (danmaku_dedup covers it).
      addedIn(3, textOrNull("dedup_key", danmakuDedupKey, "private")),
    ],
    indexes: [{
      name: "danmaku_dedup",
      unique: true,
      columns: ["ts_ms", "room_id", "msg_id"],
      where: "msg_id IS NOT NULL",
    }, {
      name: "danmaku_room_dedup",
      unique: true,
      columns: ["room_id", "dedup_key"],
      where: "dedup_key IS NOT NULL",
      since: 3,
    }],
    onConflict: "ON CONFLICT DO NOTHING",
    export: timedExport("text", "msg_id"),
  },
  gift: {
    table: "gifts",
    holders: "any",
    columns: [
      roomId(),
      dedupKey(giftDedupKey),
      integerOrNull("ts_ms", (e) => e.tsMs),
      receivedAt(),
      text("cmd", (e) => e.cmd),
      ...viewer(),
      integerOrNull("gift_id", (e) => e.giftId),
      text("gift_name", (e) => e.giftName),
      integer("num", (e) => e.num),
      text("coin_type", (e) => e.coinType),
      integer("price", (e) => e.price),
      integerOrNull("total_coin", (e) => e.totalCoin),
      real("price_cny", (e) => e.priceCny),
      textOrNull("tid", (e) => e.tid),
      textOrNull("rnd", (e) => e.rnd),
      textOrNull("action", (e) => e.action),
      integer("guard_level", (e) => e.guardLevel),
      textOrNull("blind_box_gift_name", (e) => e.blindBoxGiftName),
      integerOrNull("blind_box_gift_price", (e) => e.blindBoxGiftPrice),
      integerOrNull("receiver_uid", (e) => e.receiverUid, "uid"),
      ...medalColumns(),
    ],
    indexes: [roomDedupIndex("gifts")],
    // SEND_GIFT and SEND_GIFT_V2 of one gift: whichever comes second fills what the first lacked.
    onConflict: `ON CONFLICT (room_id, dedup_key) DO UPDATE SET
    receiver_uid = excluded.receiver_uid,
    medal_anchor_uname = coalesce(gifts.medal_anchor_uname, excluded.medal_anchor_uname)
  WHERE gifts.receiver_uid IS NULL AND excluded.receiver_uid IS NOT NULL`,
    dedupKey: giftDedupKey,
    export: timedExport(
      "gift_id",
      "gift_name",
      "num",
      "coin_type",
      "price",
      "total_coin",
      "price_cny",
      "cmd",
      "dedup_key",
    ),
  },
  superChat: {
    table: "super_chats",
    holders: "any",
    columns: [
      roomId(),
      dedupKey(superChatDedupKey),
      integerOrNull("sc_id", (e) => e.scId),
      receivedAt(),
      text("cmd", (e) => e.cmd),
      ...viewer(),
      text("message", (e) => e.message),
      textOrNull("message_jpn", (e) => e.messageJpn),
      real("price_cny", (e) => e.priceCny),
      integerOrNull("duration_s", (e) => e.durationS),
      integerOrNull("start_time_ms", (e) => e.startTimeMs),
      integerOrNull("end_time_ms", (e) => e.endTimeMs),
      integerOrNull("user_level", (e) => e.userLevel),
      integer("guard_level", (e) => e.guardLevel),
      ...medalColumns(),
    ],
    indexes: [roomDedupIndex("super_chats")],
    // SUPER_CHAT_MESSAGE_JPN fills in the translation.
    onConflict: `ON CONFLICT (room_id, dedup_key) DO UPDATE SET message_jpn = excluded.message_jpn
  WHERE super_chats.message_jpn IS NULL AND excluded.message_jpn IS NOT NULL`,
    dedupKey: superChatDedupKey,
    export: startedExport(
      "message",
      "message_jpn",
      "price_cny",
      "duration_s",
      "end_time_ms",
      "sc_id",
      "cmd",
      "dedup_key",
    ),
  },
  superChatDeletion: {
    table: "super_chat_deletions",
    holders: "any",
    since: 2,
    columns: [roomId(), integer("sc_id", (e) => e.scId), receivedAt()],
    indexes: [{
      name: "super_chat_deletions_room_sc",
      unique: true,
      columns: ["room_id", "sc_id"],
    }],
    onConflict: "ON CONFLICT DO NOTHING",
    export: { timeSql: "received_at_ms", lead: ["room_id", "sc_id", "received_at_ms", "time"] },
  },
  guardBuy: {
    table: "guard_buys",
    holders: "any",
    columns: [
      roomId(),
      dedupKey(guardBuyDedupKey),
      receivedAt(),
      text("cmd", (e) => e.cmd),
      ...viewer(),
      integer("guard_level", (e) => e.guardLevel),
      integer("num", (e) => e.num),
      real("price_cny", (e) => e.priceCny),
      textOrNull("unit", (e) => e.unit),
      integerOrNull("start_time_ms", (e) => e.startTimeMs),
      integerOrNull("end_time_ms", (e) => e.endTimeMs),
      textOrNull("payflow_id", (e) => e.payflowId),
      integerOrNull("gift_id", (e) => e.giftId),
      textOrNull("gift_name", (e) => e.giftName),
    ],
    indexes: [roomDedupIndex("guard_buys")],
    // GUARD_BUY carries the list price, the toasts the price paid: a toast replaces the price
    // (and `cmd`, which names where the price came from) and fills unit / payflow_id.
    onConflict: `ON CONFLICT (room_id, dedup_key) DO UPDATE SET
    price_cny = CASE WHEN guard_buys.cmd = 'GUARD_BUY' THEN excluded.price_cny
      ELSE guard_buys.price_cny END,
    cmd = CASE WHEN guard_buys.cmd = 'GUARD_BUY' THEN excluded.cmd ELSE guard_buys.cmd END,
    unit = coalesce(guard_buys.unit, excluded.unit),
    payflow_id = coalesce(guard_buys.payflow_id, excluded.payflow_id),
    gift_id = coalesce(guard_buys.gift_id, excluded.gift_id),
    gift_name = coalesce(guard_buys.gift_name, excluded.gift_name)
  WHERE excluded.cmd <> 'GUARD_BUY' AND (guard_buys.cmd = 'GUARD_BUY'
    OR (guard_buys.payflow_id IS NULL AND excluded.payflow_id IS NOT NULL))`,
    dedupKey: guardBuyDedupKey,
    export: startedExport(
      "guard_level",
      "num",
      "price_cny",
      "unit",
      "end_time_ms",
      "gift_id",
      "gift_name",
      "payflow_id",
      "cmd",
      "dedup_key",
    ),
  },
  interaction: {
    table: "interactions",
    holders: "primary",
    columns: [
      ...messageHead(),
      text("kind", (e) => e.kind),
      integerOrNull("msg_type", (e) => e.msgType),
      ...viewer(),
      integer("guard_level", (e) => e.guardLevel),
      ...medalColumns(),
    ],
    indexes: [],
    onConflict: "",
    export: timedExport("kind", "msg_type"),
  },
  entry: {
    table: "entries",
    holders: "primary",
    since: 2,
    columns: [
      ...messageHead(),
      ...viewer(),
      integer("guard_level", (e) => e.guardLevel),
      integerOrNull("wealth_level", (e) => e.wealthLevel),
      integerOrNull("effect_id", (e) => e.effectId),
      // The text shown names the viewer.
      text("copy_writing", (e) => e.copyWriting, "private"),
    ],
    indexes: [],
    onConflict: "",
    export: timedExport("guard_level", "wealth_level"),
  },
  lottery: {
    table: "lotteries",
    holders: "any",
    since: 2,
    columns: [
      roomId(),
      integer("lot_id", (e) => e.lotId),
      text("phase", (e) => e.phase),
      receivedAt(),
      text("cmd", (e) => e.cmd),
      textOrNull("award_name", (e) => e.awardName),
      integerOrNull("award_num", (e) => e.awardNum),
      textOrNull("danmu", (e) => e.danmu),
      textOrNull("gift_name", (e) => e.giftName),
      integerOrNull("gift_num", (e) => e.giftNum),
      textOrNull("require_text", (e) => e.requireText),
      integerOrNull("duration_s", (e) => e.durationS),
      textOrNull("winners", (e) => e.winners, "private"),
      integerOrNull("winner_count", (e) => e.winnerCount),
    ],
    indexes: [{
      name: "lotteries_room_lot_phase",
      unique: true,
      columns: ["room_id", "lot_id", "phase"],
    }],
    // Bilibili repeats a phase (reconnects, ANCHOR_LOT_START resent): the first one stays.
    onConflict: "ON CONFLICT DO NOTHING",
    export: {
      timeSql: "received_at_ms",
      lead: ["room_id", "received_at_ms", "time", "lot_id", "phase"],
    },
  },
  rankChange: {
    table: "rank_changes",
    holders: "primary",
    since: 2,
    columns: [
      ...messageHead(),
      text("rank_name", (e) => e.rankName),
      integer("rank", (e) => e.rank),
      integerOrNull("countdown_s", (e) => e.countdownS),
    ],
    indexes: [],
    onConflict: "",
    export: {
      timeSql: TS_OR_RECEIVED,
      lead: ["room_id", "ts_ms", "time", "received_at_ms", "rank_name", "rank"],
    },
  },
  onlineRank: {
    table: "online_ranks",
    holders: "primary",
    since: 2,
    columns: [
      roomId(),
      receivedAt(),
      text("cmd", (e) => e.cmd),
      textOrNull("rank_type", (e) => e.rankType),
      integer("rank", (e) => e.rank),
      ...viewer(),
      integerOrNull("score", (e) => e.score),
      integer("guard_level", (e) => e.guardLevel),
    ],
    indexes: [],
    onConflict: "",
    export: {
      timeSql: "received_at_ms",
      lead: ["room_id", "received_at_ms", "time", "rank", "uid", "uname", "score"],
    },
  },
  audience: {
    table: "audience",
    holders: "primary",
    columns: [
      roomId(),
      receivedAt(),
      text("kind", (e) => e.kind),
      integer("value", (e) => e.value),
    ],
    indexes: [],
    onConflict: "",
    export: { timeSql: "received_at_ms", lead: ["room_id", "received_at_ms", "time"] },
  },
  roomState: {
    table: "room_events",
    holders: "primary",
    columns: [
      ...messageHead(),
      text("kind", (e) => e.kind),
      textOrNull("live_key", (e) => e.liveKey),
      ...areaColumns(),
      integerOrNull("uid", (e) => e.uid, "uid"),
      textOrNull("uname", (e) => e.uname, "private"),
      textOrNull("message", (e) => e.message),
      text("raw", (e) => e.text, "private"),
    ],
    indexes: [],
    onConflict: "",
    export: {
      timeSql: TS_OR_RECEIVED,
      lead: ["room_id", "ts_ms", "time", "received_at_ms", "kind"],
    },
  },
  raw: {
    table: "raw_messages",
    holders: "primary",
    columns: [
      roomId(),
      receivedAt(),
      text("cmd", (e) => e.cmd),
      text("reason", (e) => e.reason),
      text("raw", (e) => e.text, "private"),
    ],
    indexes: [],
    onConflict: "",
  },
  room: {
    table: "rooms",
    holders: "any",
    columns: [
      { ...integer("room_id", (e) => e.roomId), primaryKey: true },
      integerOrNull("short_id", (e) => e.shortId),
      integerOrNull("anchor_uid", (e) => e.anchorUid),
      textOrNull("uname", (e) => e.uname),
      ...areaColumns(),
      integerOrNull("live_status", (e) => e.liveStatus),
      integer("first_seen_at_ms", (e) => e.seenAtMs),
      integer("last_seen_at_ms", (e) => e.seenAtMs),
    ],
    indexes: [],
    // Newer observations win field by field; a null never erases a known value.
    onConflict: `ON CONFLICT (room_id) DO UPDATE SET
    ${
      ROOM_FIELDS.map((f) =>
        `${f} = CASE WHEN excluded.last_seen_at_ms >= rooms.last_seen_at_ms
      THEN coalesce(excluded.${f}, rooms.${f}) ELSE coalesce(rooms.${f}, excluded.${f}) END`
      ).join(",\n    ")
    },
    first_seen_at_ms = min(rooms.first_seen_at_ms, excluded.first_seen_at_ms),
    last_seen_at_ms = max(rooms.last_seen_at_ms, excluded.last_seen_at_ms)`,
  },
  session: {
    table: "sessions",
    holders: "any",
    columns: [
      { ...text("session_id", (e) => e.sessionId), primaryKey: true },
      integer("room_id", (e) => e.roomId),
      text("host", (e) => e.host),
      text("transport", (e) => e.transport),
      integer("started_at_ms", (e) => e.startedAtMs),
      integerOrNull("ended_at_ms", (e) => e.endedAtMs),
      textOrNull("reason", (e) => e.reason),
      integer("messages", (e) => e.messages),
    ],
    indexes: [{ name: "sessions_room", unique: false, columns: ["room_id", "started_at_ms"] }],
    // Written when a connection opens and again when it ends: the end is never undone by a
    // replayed start, and the message count only grows.
    onConflict: `ON CONFLICT (session_id) DO UPDATE SET
    ended_at_ms = coalesce(excluded.ended_at_ms, sessions.ended_at_ms),
    reason = coalesce(excluded.reason, sessions.reason),
    messages = max(sessions.messages, excluded.messages)`,
  },
} as const satisfies RowSpecs;

/** A table of the schema. */
export type TableName = typeof ROW_SPECS[CollectedEventType]["table"];

/** Every table of the schema, in creation order. */
export const TABLE_NAMES: readonly TableName[] = Object.values(ROW_SPECS).map((s) => s.table);

/**
 * The spec of an event's type, typed for any event. Sound because `ROW_SPECS[t]` is only ever
 * applied to events whose `type` is `t`.
 */
export function rowSpecOf(type: CollectedEventType): RowSpec<CollectedEvent> {
  return ROW_SPECS[type] as RowSpec<never> as RowSpec<CollectedEvent>;
}

/**
 * Whether every holder of a room stores events of `type` in a cluster (`holders: "any"`), or
 * only the holder of lease slot 0 (`"primary"`).
 */
export function storedByEveryHolder(type: CollectedEventType): boolean {
  return rowSpecOf(type).holders === "any";
}

/** The dedup key an event's row is stored under, or undefined for tables without one. */
export function dedupKeyOf(event: CollectedEvent): string | undefined {
  return rowSpecOf(event.type).dedupKey?.(event);
}

/** Whether a table or column of schema version `since` (default 1) exists at `version`. */
export function existsAt(since: number | undefined, version: number): boolean {
  return (since ?? 1) <= version;
}

/** A column's definition as CREATE TABLE and ALTER TABLE … ADD COLUMN write it. */
export function columnDefinition(column: ColumnSpec<never>): string {
  const constraint = column.primaryKey ? " PRIMARY KEY" : column.nullable ? "" : " NOT NULL";
  const defaultClause = column.defaultSql === undefined ? "" : ` DEFAULT ${column.defaultSql}`;
  return `${column.name} ${column.sqlType}${constraint}${defaultClause}`;
}

/** The `CREATE INDEX` statement of one index of `table` (SQLite and PostgreSQL alike). */
export function indexStatement(table: string, index: IndexSpec): string {
  return `CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${index.name} ON ${table} (${
    index.columns.join(", ")
  })${index.where ? ` WHERE ${index.where}` : ""}`;
}

/**
 * `CREATE TABLE` and `CREATE INDEX` statements of one spec as schema version `version` has
 * it (no trailing semicolons; none when the table is newer).
 */
export function createStatements(spec: RowSpec<never>, version: number): string[] {
  if (!existsAt(spec.since, version)) return [];
  const columns = spec.columns.filter((c) => existsAt(c.since, version))
    .map((c) => `  ${columnDefinition(c)}`);
  if (!spec.columns.some((c) => c.primaryKey)) columns.unshift("  id INTEGER PRIMARY KEY");
  return [
    `CREATE TABLE ${spec.table} (\n${columns.join(",\n")}\n)`,
    ...spec.indexes.filter((i) => existsAt(i.since, version))
      .map((i) => indexStatement(spec.table, i)),
  ];
}

/** The prepared INSERT of one spec: one `?` per column, in column order. */
export function insertStatement(spec: RowSpec<never>): string {
  const names = spec.columns.map((c) => c.name);
  return `INSERT INTO ${spec.table} (${names.join(", ")})
  VALUES (${names.map(() => "?").join(", ")})${spec.onConflict ? `\n  ${spec.onConflict}` : ""}`;
}
