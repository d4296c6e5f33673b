/**
 * The SQLite sink: `node:sqlite` in WAL mode with `synchronous=NORMAL`, one transaction per
 * `write`, prepared statements, and UNIQUE indexes + `INSERT … ON CONFLICT` so a batch
 * written twice (or Bilibili's twin messages) never gives duplicate rows.
 */
import {
  DatabaseSync,
  type SQLInputValue,
  type SQLOutputValue,
  type StatementSync,
} from "node:sqlite";
import { StorageError, type StorageFailure } from "../errors.ts";
import type {
  AudienceEvent,
  CollectedEvent,
  DanmakuEvent,
  GiftEvent,
  GuardBuyEvent,
  InteractionEvent,
  RawEvent,
  RoomEvent,
  RoomStateEvent,
  SessionEvent,
  SuperChatEvent,
} from "../normalize/events.ts";
import { giftDedupKey, guardBuyDedupKey, superChatDedupKey } from "./dedup_keys.ts";
import {
  APPLICATION_ID,
  SCHEMA_SQL,
  SCHEMA_VERSION,
  TABLE_NAMES,
  type TableName,
} from "./schema.ts";

/** How a store is opened. */
export interface SqliteStoreOptions {
  /** Open without write access (for export and inspection); `write` then fails. @default false */
  readOnly?: boolean;
  /** Longest a statement waits for another connection's write lock, in ms. @default 1000 */
  busyTimeoutMs?: number;
  /**
   * Caps the file at this many pages (`PRAGMA max_page_count`; below the current size it means
   * "no bigger than now"): writes past it fail with SQLITE_FULL as on a full disk. For tests and
   * for a hard size limit. @default {undefined} (SQLite's own limit)
   */
  maxPageCount?: number;
}

/** Rows each `write` inserted or updated per table, and the events that changed nothing. */
export interface WriteCounts {
  /** Rows inserted into `danmaku`. */
  danmaku: number;
  /** Rows inserted into (or completed in) `gifts`. */
  gifts: number;
  /** Rows inserted into (or completed in) `super_chats`. */
  superChats: number;
  /** Rows inserted into (or completed in) `guard_buys`. */
  guardBuys: number;
  /** Rows inserted into `interactions`. */
  interactions: number;
  /** Rows inserted into `audience`. */
  audience: number;
  /** Rows inserted into `room_events`. */
  roomEvents: number;
  /** Rows inserted into `raw_messages`. */
  rawMessages: number;
  /** Rows upserted into `rooms`. */
  rooms: number;
  /** Rows upserted into `sessions`. */
  sessions: number;
  /** Events that matched an existing row and changed nothing (duplicates). */
  unchanged: number;
}

/** Row counts of every table. */
export type TableCounts = Record<TableName, number>;

const DANMAKU_SQL = `INSERT INTO danmaku (room_id, ts_ms, received_at_ms, cmd, msg_id, uid, uname,
  text, user_hash, is_admin, guard_level, user_level, medal_name, medal_level,
  medal_anchor_uname, medal_anchor_room_id, medal_anchor_uid, mode, font_size, color, dm_type,
  emoticon, reply_to_uid, reply_to_uname)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT DO NOTHING`;

const GIFT_SQL = `INSERT INTO gifts (room_id, dedup_key, ts_ms, received_at_ms, cmd, uid, uname,
  gift_id, gift_name, num, coin_type, price, total_coin, price_cny, tid, rnd, action,
  guard_level, blind_box_gift_name, blind_box_gift_price, receiver_uid, medal_name,
  medal_level, medal_anchor_uname, medal_anchor_room_id, medal_anchor_uid)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (room_id, dedup_key) DO UPDATE SET
    receiver_uid = excluded.receiver_uid,
    medal_anchor_uname = coalesce(gifts.medal_anchor_uname, excluded.medal_anchor_uname)
  WHERE gifts.receiver_uid IS NULL AND excluded.receiver_uid IS NOT NULL`;

const SUPER_CHAT_SQL = `INSERT INTO super_chats (room_id, dedup_key, sc_id, received_at_ms, cmd,
  uid, uname, message, message_jpn, price_cny, duration_s, start_time_ms, end_time_ms,
  user_level, guard_level, medal_name, medal_level, medal_anchor_uname, medal_anchor_room_id,
  medal_anchor_uid)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (room_id, dedup_key) DO UPDATE SET message_jpn = excluded.message_jpn
  WHERE super_chats.message_jpn IS NULL AND excluded.message_jpn IS NOT NULL`;

// GUARD_BUY carries the list price, the toasts the price paid: a toast replaces the price
// (and `cmd`, which names where the price came from) and fills unit / payflow_id.
const GUARD_BUY_SQL = `INSERT INTO guard_buys (room_id, dedup_key, received_at_ms, cmd, uid,
  uname, guard_level, num, price_cny, unit, start_time_ms, end_time_ms, payflow_id, gift_id,
  gift_name)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (room_id, dedup_key) DO UPDATE SET
    price_cny = CASE WHEN guard_buys.cmd = 'GUARD_BUY' THEN excluded.price_cny
      ELSE guard_buys.price_cny END,
    cmd = CASE WHEN guard_buys.cmd = 'GUARD_BUY' THEN excluded.cmd ELSE guard_buys.cmd END,
    unit = coalesce(guard_buys.unit, excluded.unit),
    payflow_id = coalesce(guard_buys.payflow_id, excluded.payflow_id),
    gift_id = coalesce(guard_buys.gift_id, excluded.gift_id),
    gift_name = coalesce(guard_buys.gift_name, excluded.gift_name)
  WHERE excluded.cmd <> 'GUARD_BUY' AND (guard_buys.cmd = 'GUARD_BUY'
    OR (guard_buys.payflow_id IS NULL AND excluded.payflow_id IS NOT NULL))`;

const INTERACTION_SQL = `INSERT INTO interactions (room_id, ts_ms, received_at_ms, cmd, kind,
  msg_type, uid, uname, guard_level, medal_name, medal_level, medal_anchor_uname,
  medal_anchor_room_id, medal_anchor_uid)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const AUDIENCE_SQL = `INSERT INTO audience (room_id, received_at_ms, kind, value)
  VALUES (?, ?, ?, ?)`;

const ROOM_EVENT_SQL = `INSERT INTO room_events (room_id, ts_ms, received_at_ms, cmd, kind,
  live_key, title, area_id, area_name, parent_area_id, parent_area_name, uid, uname, message,
  raw)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const RAW_SQL = `INSERT INTO raw_messages (room_id, received_at_ms, cmd, reason, raw)
  VALUES (?, ?, ?, ?, ?)`;

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

// Newer observations win field by field; a null never erases a known value.
const ROOM_SQL = `INSERT INTO rooms (room_id, ${ROOM_FIELDS.join(", ")}, first_seen_at_ms,
  last_seen_at_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (room_id) DO UPDATE SET
    ${
  ROOM_FIELDS.map((f) =>
    `${f} = CASE WHEN excluded.last_seen_at_ms >= rooms.last_seen_at_ms
      THEN coalesce(excluded.${f}, rooms.${f}) ELSE coalesce(rooms.${f}, excluded.${f}) END`
  ).join(",\n    ")
},
    first_seen_at_ms = min(rooms.first_seen_at_ms, excluded.first_seen_at_ms),
    last_seen_at_ms = max(rooms.last_seen_at_ms, excluded.last_seen_at_ms)`;

// Written when a connection opens and again when it ends: the end is never undone by a
// replayed start, and the message count only grows.
const SESSION_SQL = `INSERT INTO sessions (session_id, room_id, host, transport, started_at_ms,
  ended_at_ms, reason, messages)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (session_id) DO UPDATE SET
    ended_at_ms = coalesce(excluded.ended_at_ms, sessions.ended_at_ms),
    reason = coalesce(excluded.reason, sessions.reason),
    messages = max(sessions.messages, excluded.messages)`;

const TABLE_OF_TYPE: Readonly<Record<CollectedEvent["type"], TableName>> = {
  danmaku: "danmaku",
  gift: "gifts",
  superChat: "super_chats",
  guardBuy: "guard_buys",
  interaction: "interactions",
  audience: "audience",
  roomState: "room_events",
  raw: "raw_messages",
  room: "rooms",
  session: "sessions",
};

/** A new all-zero `WriteCounts`. */
export function emptyWriteCounts(): WriteCounts {
  return {
    danmaku: 0,
    gifts: 0,
    superChats: 0,
    guardBuys: 0,
    interactions: 0,
    audience: 0,
    roomEvents: 0,
    rawMessages: 0,
    rooms: 0,
    sessions: 0,
    unchanged: 0,
  };
}

/** Classifies a SQLite error message into a failure kind and words for a message. */
export function describeSqliteFailure(error: unknown): { reason: StorageFailure; words: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (/database or disk is full|disk is full|SQLITE_FULL/i.test(message)) {
    return { reason: "diskFull", words: "the disk is full" };
  }
  if (/readonly|read-only/i.test(message)) {
    return { reason: "readOnly", words: "the database is read-only" };
  }
  if (/database is locked|database table is locked|SQLITE_BUSY|SQLITE_LOCKED/i.test(message)) {
    return { reason: "locked", words: "the database is locked by another connection" };
  }
  if (/disk I\/O error|SQLITE_IOERR/i.test(message)) {
    return { reason: "io", words: "an I/O error occurred" };
  }
  if (/malformed|not a database|SQLITE_CORRUPT|SQLITE_NOTADB/i.test(message)) {
    return { reason: "corrupt", words: "the file is not a valid SQLite database" };
  }
  return { reason: "other", words: "SQLite failed" };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function fileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A danmaku database: `write` batches of collected events; `close` or `using` when done. */
export class SqliteStore implements Disposable {
  /** Path the store was opened with. */
  readonly path: string;
  /** Whether the store was opened read-only. */
  readonly readOnly: boolean;
  #db: DatabaseSync | undefined;
  #statements: Statements | undefined;

  private constructor(path: string, db: DatabaseSync, readOnly: boolean) {
    this.path = path;
    this.#db = db;
    this.readOnly = readOnly;
  }

  /**
   * Opens (creating when missing, unless read-only) the database at `path` and creates
   * schema version 1 in an empty file. Throws StorageError for a newer schema version, a
   * foreign database, or a file SQLite cannot open.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    if (options.readOnly) return SqliteStore.openExisting(path, options);
    return SqliteStore.#open(path, options);
  }

  /** Opens an existing danmaku database; a missing file is a StorageError, never created. */
  static openExisting(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    if (path === ":memory:" || !fileExists(path)) {
      throw new StorageError(`Cannot open database "${path}": no such file`, "missing");
    }
    return SqliteStore.#open(path, options);
  }

  static #open(path: string, options: SqliteStoreOptions): SqliteStore {
    const readOnly = options.readOnly ?? false;
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { readOnly });
    } catch (error) {
      const { reason, words } = describeSqliteFailure(error);
      throw new StorageError(
        `Cannot open database "${path}": ${words} (${errorText(error)})`,
        reason,
        { cause: error },
      );
    }
    const store = new SqliteStore(path, db, readOnly);
    try {
      store.#initialize(options.busyTimeoutMs ?? 1000);
      if (options.maxPageCount !== undefined) store.setMaxPageCount(options.maxPageCount);
    } catch (error) {
      db.close();
      if (error instanceof StorageError) throw error;
      const { reason, words } = describeSqliteFailure(error);
      throw new StorageError(
        `Cannot open database "${path}": ${words} (${errorText(error)})`,
        reason,
        { cause: error },
      );
    }
    return store;
  }

  #initialize(busyTimeoutMs: number): void {
    const db = this.#db!;
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    if (this.#checkSchema(db) === "empty") {
      if (this.readOnly) {
        throw new StorageError(
          `Cannot open database "${this.path}": it is empty and was opened read-only`,
          "schema",
        );
      }
      db.exec("BEGIN IMMEDIATE");
      try {
        // Another process may have created a schema, ours or not, while we waited for the lock.
        if (this.#checkSchema(db) === "empty") {
          db.exec(SCHEMA_SQL);
          db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
          db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        }
        db.exec("COMMIT");
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
    }
    // Only once the file is known to be ours: a foreign file is left exactly as it was.
    if (!this.readOnly) db.exec("PRAGMA journal_mode = WAL");
    if (!this.readOnly) db.exec("PRAGMA synchronous = NORMAL");
    this.#statements = prepareStatements(db);
  }

  /**
   * "ready" for a version-1 danmaku database, "empty" for a blank file (no schema object of any
   * kind, no application_id, no user_version); throws otherwise, having written nothing.
   */
  #checkSchema(db: DatabaseSync): "ready" | "empty" {
    const applicationId = pragmaNumber(db, "application_id");
    const version = pragmaNumber(db, "user_version");
    // Every table, view, index and trigger, SQLite's own included (sqlite_sequence, …).
    const objects = db.prepare("SELECT type, name FROM sqlite_schema ORDER BY type, name").all()
      .map((row) => ({ type: String(row.type), name: String(row.name) }));
    if (applicationId === 0 && version === 0 && objects.length === 0) return "empty";
    if (applicationId !== APPLICATION_ID) {
      const some = objects.slice(0, 3).map((o) => `${o.type} "${o.name}"`).join(", ");
      throw new StorageError(
        `Cannot open database "${this.path}": it is not a danmaku database (application_id ${applicationId}, user_version ${version}, ${objects.length} schema object${
          objects.length === 1 ? "" : "s"
        }${some ? ` such as ${some}` : ""}); refusing to write into it`,
        "schema",
      );
    }
    const tables = objects.filter((o) => o.type === "table").map((o) => o.name);
    if (version > SCHEMA_VERSION) {
      throw new StorageError(
        `Cannot open database "${this.path}": its schema version ${version} is newer than version ${SCHEMA_VERSION} this program knows; use a newer build`,
        "schema",
      );
    }
    if (version < SCHEMA_VERSION) {
      throw new StorageError(
        `Cannot open database "${this.path}": its schema version ${version} is older than version ${SCHEMA_VERSION} and cannot be upgraded`,
        "schema",
      );
    }
    const missing = TABLE_NAMES.filter((t) => !tables.includes(t));
    if (missing.length > 0) {
      throw new StorageError(
        `Cannot open database "${this.path}": schema version ${version} lacks tables ${
          missing.map((t) => `"${t}"`).join(", ")
        }`,
        "schema",
      );
    }
    return "ready";
  }

  /**
   * Sets `PRAGMA max_page_count` on this connection and returns the cap now in force (SQLite
   * never sets it below the current size). Raising it is how a test gives a "full disk" space
   * back.
   */
  setMaxPageCount(pages: number): number {
    const db = this.#requireOpen("limit the size of");
    return pragmaNumber(db, `max_page_count = ${Math.max(1, Math.trunc(pages))}`);
  }

  /** Whether `close` has not been called yet. */
  get isOpen(): boolean {
    return this.#db !== undefined;
  }

  /**
   * Writes a batch in one transaction and returns what changed. On any failure the whole
   * batch is rolled back and a StorageError says why (disk full, read-only, locked, …);
   * `events` is untouched, so the caller can retry it later.
   */
  write(events: readonly CollectedEvent[]): WriteCounts {
    const db = this.#requireOpen("write");
    const statements = this.#statements!;
    const counts = emptyWriteCounts();
    if (events.length === 0) return counts;
    // -1: BEGIN, events.length: COMMIT, else the index of the event being written.
    let at = -1;
    try {
      db.exec("BEGIN IMMEDIATE");
      for (at = 0; at < events.length; at++) writeEvent(statements, events[at], counts);
      db.exec("COMMIT");
    } catch (error) {
      const step = at < 0
        ? "begin a transaction"
        : at >= events.length
        ? "commit"
        : `insert event ${at} into ${
          TABLE_OF_TYPE[events[at].type] ?? `? (type "${events[at].type}")`
        }`;
      if (db.isTransaction) {
        try {
          db.exec("ROLLBACK");
        } catch {
          // SQLite has already rolled back (e.g. after SQLITE_FULL); nothing is committed.
        }
      }
      const { reason, words } = describeSqliteFailure(error);
      throw new StorageError(
        `Cannot write ${events.length} events to "${this.path}": ${words} (${step}: ${
          errorText(error)
        })`,
        reason,
        { cause: error },
      );
    }
    return counts;
  }

  /** Runs a read-only query and returns its rows (null-prototype objects). */
  query(sql: string, ...params: SQLInputValue[]): Record<string, SQLOutputValue>[] {
    const db = this.#requireOpen("query");
    try {
      return db.prepare(sql).all(...params);
    } catch (error) {
      const { reason, words } = describeSqliteFailure(error);
      throw new StorageError(
        `Cannot query "${this.path}": ${words} (${errorText(error)})`,
        reason,
        { cause: error },
      );
    }
  }

  /**
   * Prepares a statement for streaming reads (`iterate()`, `setReturnArrays()`), so exports of
   * any size keep memory flat.
   */
  prepare(sql: string): StatementSync {
    const db = this.#requireOpen("prepare a statement on");
    try {
      return db.prepare(sql);
    } catch (error) {
      const { reason, words } = describeSqliteFailure(error);
      throw new StorageError(
        `Cannot prepare a query on "${this.path}": ${words} (${errorText(error)})`,
        reason,
        { cause: error },
      );
    }
  }

  /** Registers a deterministic scalar SQL function on this connection (e.g. for GROUP BY). */
  defineFunction(name: string, fn: (...args: SQLOutputValue[]) => SQLInputValue): void {
    this.#requireOpen("define a function on").function(name, { deterministic: true }, fn);
  }

  /** Row counts of every table. */
  countRows(): TableCounts {
    const counts = {} as TableCounts;
    for (const table of TABLE_NAMES) {
      const row = this.query(`SELECT count(*) AS n FROM ${table}`)[0];
      counts[table] = Number(row.n);
    }
    return counts;
  }

  /** Closes the database; later calls do nothing. */
  close(): void {
    const db = this.#db;
    if (db === undefined) return;
    this.#db = undefined;
    this.#statements = undefined;
    db.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #requireOpen(action: string): DatabaseSync {
    if (this.#db === undefined) {
      throw new StorageError(`Cannot ${action} "${this.path}": the store is closed`, "other");
    }
    return this.#db;
  }
}

function pragmaNumber(db: DatabaseSync, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get();
  return row === undefined ? 0 : Number(Object.values(row)[0]);
}

interface Statements {
  danmaku: StatementSync;
  gift: StatementSync;
  superChat: StatementSync;
  guardBuy: StatementSync;
  interaction: StatementSync;
  audience: StatementSync;
  roomState: StatementSync;
  raw: StatementSync;
  room: StatementSync;
  session: StatementSync;
}

function prepareStatements(db: DatabaseSync): Statements {
  return {
    danmaku: db.prepare(DANMAKU_SQL),
    gift: db.prepare(GIFT_SQL),
    superChat: db.prepare(SUPER_CHAT_SQL),
    guardBuy: db.prepare(GUARD_BUY_SQL),
    interaction: db.prepare(INTERACTION_SQL),
    audience: db.prepare(AUDIENCE_SQL),
    roomState: db.prepare(ROOM_EVENT_SQL),
    raw: db.prepare(RAW_SQL),
    room: db.prepare(ROOM_SQL),
    session: db.prepare(SESSION_SQL),
  };
}

function writeEvent(s: Statements, event: CollectedEvent, counts: WriteCounts): void {
  let changes: number | bigint;
  switch (event.type) {
    case "danmaku":
      changes = insertDanmaku(s.danmaku, event);
      if (changes) counts.danmaku++;
      break;
    case "gift":
      changes = insertGift(s.gift, event);
      if (changes) counts.gifts++;
      break;
    case "superChat":
      changes = insertSuperChat(s.superChat, event);
      if (changes) counts.superChats++;
      break;
    case "guardBuy":
      changes = insertGuardBuy(s.guardBuy, event);
      if (changes) counts.guardBuys++;
      break;
    case "interaction":
      changes = insertInteraction(s.interaction, event);
      if (changes) counts.interactions++;
      break;
    case "audience":
      changes = insertAudience(s.audience, event);
      if (changes) counts.audience++;
      break;
    case "roomState":
      changes = insertRoomState(s.roomState, event);
      if (changes) counts.roomEvents++;
      break;
    case "raw":
      changes = insertRaw(s.raw, event);
      if (changes) counts.rawMessages++;
      break;
    case "room":
      changes = upsertRoom(s.room, event);
      if (changes) counts.rooms++;
      break;
    case "session":
      changes = upsertSession(s.session, event);
      if (changes) counts.sessions++;
      break;
    default:
      throw new TypeError(`Unknown event type "${(event as { type: unknown }).type}"`);
  }
  if (!changes) counts.unchanged++;
}

function insertDanmaku(stmt: StatementSync, e: DanmakuEvent): number | bigint {
  return stmt.run(
    e.roomId,
    e.tsMs,
    e.receivedAtMs,
    e.cmd,
    e.msgId,
    e.uid,
    e.uname,
    e.text,
    e.userHash,
    e.isAdmin ? 1 : 0,
    e.guardLevel,
    e.userLevel,
    e.medalName,
    e.medalLevel,
    e.medalAnchorUname,
    e.medalAnchorRoomId,
    e.medalAnchorUid,
    e.mode,
    e.fontSize,
    e.color,
    e.dmType,
    e.emoticon,
    e.replyToUid,
    e.replyToUname,
  ).changes;
}

function insertGift(stmt: StatementSync, e: GiftEvent): number | bigint {
  return stmt.run(
    e.roomId,
    giftDedupKey(e),
    e.tsMs,
    e.receivedAtMs,
    e.cmd,
    e.uid,
    e.uname,
    e.giftId,
    e.giftName,
    e.num,
    e.coinType,
    e.price,
    e.totalCoin,
    e.priceCny,
    e.tid,
    e.rnd,
    e.action,
    e.guardLevel,
    e.blindBoxGiftName,
    e.blindBoxGiftPrice,
    e.receiverUid,
    e.medalName,
    e.medalLevel,
    e.medalAnchorUname,
    e.medalAnchorRoomId,
    e.medalAnchorUid,
  ).changes;
}

function insertSuperChat(stmt: StatementSync, e: SuperChatEvent): number | bigint {
  return stmt.run(
    e.roomId,
    superChatDedupKey(e),
    e.scId,
    e.receivedAtMs,
    e.cmd,
    e.uid,
    e.uname,
    e.message,
    e.messageJpn,
    e.priceCny,
    e.durationS,
    e.startTimeMs,
    e.endTimeMs,
    e.userLevel,
    e.guardLevel,
    e.medalName,
    e.medalLevel,
    e.medalAnchorUname,
    e.medalAnchorRoomId,
    e.medalAnchorUid,
  ).changes;
}

function insertGuardBuy(stmt: StatementSync, e: GuardBuyEvent): number | bigint {
  return stmt.run(
    e.roomId,
    guardBuyDedupKey(e),
    e.receivedAtMs,
    e.cmd,
    e.uid,
    e.uname,
    e.guardLevel,
    e.num,
    e.priceCny,
    e.unit,
    e.startTimeMs,
    e.endTimeMs,
    e.payflowId,
    e.giftId,
    e.giftName,
  ).changes;
}

function insertInteraction(stmt: StatementSync, e: InteractionEvent): number | bigint {
  return stmt.run(
    e.roomId,
    e.tsMs,
    e.receivedAtMs,
    e.cmd,
    e.kind,
    e.msgType,
    e.uid,
    e.uname,
    e.guardLevel,
    e.medalName,
    e.medalLevel,
    e.medalAnchorUname,
    e.medalAnchorRoomId,
    e.medalAnchorUid,
  ).changes;
}

function insertAudience(stmt: StatementSync, e: AudienceEvent): number | bigint {
  return stmt.run(e.roomId, e.receivedAtMs, e.kind, e.value).changes;
}

function insertRoomState(stmt: StatementSync, e: RoomStateEvent): number | bigint {
  return stmt.run(
    e.roomId,
    e.tsMs,
    e.receivedAtMs,
    e.cmd,
    e.kind,
    e.liveKey,
    e.title,
    e.areaId,
    e.areaName,
    e.parentAreaId,
    e.parentAreaName,
    e.uid,
    e.uname,
    e.message,
    e.text,
  ).changes;
}

function insertRaw(stmt: StatementSync, e: RawEvent): number | bigint {
  return stmt.run(e.roomId, e.receivedAtMs, e.cmd, e.reason, e.text).changes;
}

function upsertRoom(stmt: StatementSync, e: RoomEvent): number | bigint {
  return stmt.run(
    e.roomId,
    e.shortId,
    e.anchorUid,
    e.uname,
    e.title,
    e.areaId,
    e.areaName,
    e.parentAreaId,
    e.parentAreaName,
    e.liveStatus,
    e.seenAtMs,
    e.seenAtMs,
  ).changes;
}

function upsertSession(stmt: StatementSync, e: SessionEvent): number | bigint {
  return stmt.run(
    e.sessionId,
    e.roomId,
    e.host,
    e.transport,
    e.startedAtMs,
    e.endedAtMs,
    e.reason,
    e.messages,
  ).changes;
}
