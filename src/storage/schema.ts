/**
 * The SQLite schema (README "SQLite schema" describes every column). Versioned with
 * `PRAGMA user_version`; `PRAGMA application_id` marks the file as ours so the store
 * refuses to write into someone else's database.
 */

/** Schema version this program writes (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 1;

/** `PRAGMA application_id` of a danmaku database: "BDMK" in ASCII. */
export const APPLICATION_ID = 0x42444d4b;

/** Every table of the schema, in creation order. */
export const TABLE_NAMES = [
  "danmaku",
  "gifts",
  "super_chats",
  "guard_buys",
  "interactions",
  "audience",
  "room_events",
  "raw_messages",
  "rooms",
  "sessions",
] as const;

/** A table of the schema. */
export type TableName = typeof TABLE_NAMES[number];

/** DDL of schema version 1 (run in one transaction on an empty database). */
export const SCHEMA_SQL = `
CREATE TABLE danmaku (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  ts_ms INTEGER,
  received_at_ms INTEGER NOT NULL,
  cmd TEXT NOT NULL,
  msg_id TEXT,
  uid INTEGER NOT NULL,
  uname TEXT NOT NULL,
  text TEXT NOT NULL,
  user_hash TEXT,
  is_admin INTEGER NOT NULL,
  guard_level INTEGER NOT NULL,
  user_level INTEGER,
  medal_name TEXT,
  medal_level INTEGER,
  medal_anchor_uname TEXT,
  medal_anchor_room_id INTEGER,
  medal_anchor_uid INTEGER,
  mode INTEGER,
  font_size INTEGER,
  color INTEGER,
  dm_type INTEGER,
  emoticon TEXT,
  reply_to_uid INTEGER,
  reply_to_uname TEXT
);
CREATE UNIQUE INDEX danmaku_dedup ON danmaku (ts_ms, room_id, msg_id) WHERE msg_id IS NOT NULL;

CREATE TABLE gifts (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  dedup_key TEXT NOT NULL,
  ts_ms INTEGER,
  received_at_ms INTEGER NOT NULL,
  cmd TEXT NOT NULL,
  uid INTEGER NOT NULL,
  uname TEXT NOT NULL,
  gift_id INTEGER,
  gift_name TEXT NOT NULL,
  num INTEGER NOT NULL,
  coin_type TEXT NOT NULL,
  price INTEGER NOT NULL,
  total_coin INTEGER,
  price_cny REAL NOT NULL,
  tid TEXT,
  rnd TEXT,
  action TEXT,
  guard_level INTEGER NOT NULL,
  blind_box_gift_name TEXT,
  blind_box_gift_price INTEGER,
  receiver_uid INTEGER,
  medal_name TEXT,
  medal_level INTEGER,
  medal_anchor_uname TEXT,
  medal_anchor_room_id INTEGER,
  medal_anchor_uid INTEGER
);
CREATE UNIQUE INDEX gifts_room_dedup ON gifts (room_id, dedup_key);

CREATE TABLE super_chats (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  dedup_key TEXT NOT NULL,
  sc_id INTEGER,
  received_at_ms INTEGER NOT NULL,
  cmd TEXT NOT NULL,
  uid INTEGER NOT NULL,
  uname TEXT NOT NULL,
  message TEXT NOT NULL,
  message_jpn TEXT,
  price_cny REAL NOT NULL,
  duration_s INTEGER,
  start_time_ms INTEGER,
  end_time_ms INTEGER,
  user_level INTEGER,
  guard_level INTEGER NOT NULL,
  medal_name TEXT,
  medal_level INTEGER,
  medal_anchor_uname TEXT,
  medal_anchor_room_id INTEGER,
  medal_anchor_uid INTEGER
);
CREATE UNIQUE INDEX super_chats_room_dedup ON super_chats (room_id, dedup_key);

CREATE TABLE guard_buys (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  dedup_key TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  cmd TEXT NOT NULL,
  uid INTEGER NOT NULL,
  uname TEXT NOT NULL,
  guard_level INTEGER NOT NULL,
  num INTEGER NOT NULL,
  price_cny REAL NOT NULL,
  unit TEXT,
  start_time_ms INTEGER,
  end_time_ms INTEGER,
  payflow_id TEXT,
  gift_id INTEGER,
  gift_name TEXT
);
CREATE UNIQUE INDEX guard_buys_room_dedup ON guard_buys (room_id, dedup_key);

CREATE TABLE interactions (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  ts_ms INTEGER,
  received_at_ms INTEGER NOT NULL,
  cmd TEXT NOT NULL,
  kind TEXT NOT NULL,
  msg_type INTEGER,
  uid INTEGER NOT NULL,
  uname TEXT NOT NULL,
  guard_level INTEGER NOT NULL,
  medal_name TEXT,
  medal_level INTEGER,
  medal_anchor_uname TEXT,
  medal_anchor_room_id INTEGER,
  medal_anchor_uid INTEGER
);

CREATE TABLE audience (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  value INTEGER NOT NULL
);

CREATE TABLE room_events (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  ts_ms INTEGER,
  received_at_ms INTEGER NOT NULL,
  cmd TEXT NOT NULL,
  kind TEXT NOT NULL,
  live_key TEXT,
  title TEXT,
  area_id INTEGER,
  area_name TEXT,
  parent_area_id INTEGER,
  parent_area_name TEXT,
  uid INTEGER,
  uname TEXT,
  message TEXT,
  raw TEXT NOT NULL
);

CREATE TABLE raw_messages (
  id INTEGER PRIMARY KEY,
  room_id INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL,
  cmd TEXT NOT NULL,
  reason TEXT NOT NULL,
  raw TEXT NOT NULL
);

CREATE TABLE rooms (
  room_id INTEGER PRIMARY KEY,
  short_id INTEGER,
  anchor_uid INTEGER,
  uname TEXT,
  title TEXT,
  area_id INTEGER,
  area_name TEXT,
  parent_area_id INTEGER,
  parent_area_name TEXT,
  live_status INTEGER,
  first_seen_at_ms INTEGER NOT NULL,
  last_seen_at_ms INTEGER NOT NULL
);

CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY,
  room_id INTEGER NOT NULL,
  host TEXT NOT NULL,
  transport TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  ended_at_ms INTEGER,
  reason TEXT,
  messages INTEGER NOT NULL
);
CREATE INDEX sessions_room ON sessions (room_id, started_at_ms);
`;
