/**
 * The soak's bookkeeping, pure: the simulator's truth lines (what was written to the
 * collector's sockets), the `raw_messages` rows (what the collector received, with
 * `--keep-raw`) and the keys of the stored rows go in; per table delivered, stored, missing,
 * in flight at stop, received but not stored, and duplicated come out.
 */
import type { DatabaseSync } from "node:sqlite";
import type { CollectedEvent, CollectedEventType } from "../../src/normalize/events.ts";
import { normalizeMessage } from "../../src/normalize/normalize_message.ts";
import { dedupKeyOf } from "../../src/storage/rows.ts";
import type { TableName } from "../../src/storage/schema.ts";

/** The truth line the soak appends when it sends SIGINT: every line after it was written later. */
export const STOP_MARK = '{"mark":"stop"}';

/** How a table's rows are matched to the messages that made them. */
export type MatchBy =
  /** The row holds the message id (`msg_id`, or the `raw` text that carries it). */
  | "id"
  /** The row holds a dedup key; the received body gives the same key through the normalizer. */
  | "dedup"
  /** No id in the row: rows are counted against the rows the received messages make. */
  | "count";

/** One table of the reconciliation. */
export interface TableSpec {
  table: TableName;
  /** Cmds (before any `:`) each of whose messages makes rows here; twins are not listed. */
  cmds: readonly string[];
  /** The event type the normalizer makes for this table. */
  event: CollectedEventType;
  match: MatchBy;
  /** For `id` and `dedup`: one row per stored row, `room_id` and `key`. */
  keysSql?: string;
  /** For `count`: the stored rows that messages made. */
  countSql?: string;
  /**
   * The key (as `keysSql` gives it) of the row an event makes, for `dedup` tables without a
   * dedup key and for `id` rows whose message id is not stored (danmaku of the older layouts).
   * @default {dedupKeyOf}
   */
  rowKey?: (event: CollectedEvent) => string | undefined;
}

/** The tables whose rows come from op-5 messages, and how each is matched. */
export const TABLES: readonly TableSpec[] = [
  {
    table: "danmaku",
    cmds: ["DANMU_MSG", "DANMU_MSG_MIRROR"],
    event: "danmaku",
    match: "id",
    // The older layouts have no `extra.id_str`: their row is found by time and user hash (the
    // simulator sends at most one such danmaku per user, room and second).
    keysSql: "SELECT room_id, coalesce(msg_id, ts_ms || ':' || user_hash) AS key FROM danmaku",
    rowKey: (e) => e.type === "danmaku" && e.msgId === null ? `${e.tsMs}:${e.userHash}` : undefined,
  },
  {
    table: "gifts",
    // SEND_GIFT_V2 of the same gift shares the row (dedup key `tid:…`); COMBO_SEND is not stored.
    cmds: ["SEND_GIFT"],
    event: "gift",
    match: "dedup",
    keysSql: "SELECT room_id, dedup_key AS key FROM gifts",
  },
  {
    table: "super_chats",
    // The _JPN twin shares the row.
    cmds: ["SUPER_CHAT_MESSAGE"],
    event: "superChat",
    match: "dedup",
    keysSql: "SELECT room_id, dedup_key AS key FROM super_chats",
  },
  {
    table: "guard_buys",
    // USER_TOAST_MSG of the same purchase shares the row.
    cmds: ["GUARD_BUY"],
    event: "guardBuy",
    match: "dedup",
    keysSql: "SELECT room_id, dedup_key AS key FROM guard_buys",
  },
  {
    table: "super_chat_deletions",
    cmds: ["SUPER_CHAT_MESSAGE_DELETE"],
    event: "superChatDeletion",
    match: "count",
    countSql: "SELECT count(*) AS n FROM super_chat_deletions",
  },
  {
    table: "interactions",
    cmds: ["INTERACT_WORD", "INTERACT_WORD_V2", "LIKE_INFO_V3_CLICK"],
    event: "interaction",
    match: "count",
    countSql: "SELECT count(*) AS n FROM interactions",
  },
  {
    table: "entries",
    cmds: ["ENTRY_EFFECT", "ENTRY_EFFECT_MUST_RECEIVE"],
    event: "entry",
    match: "count",
    countSql: "SELECT count(*) AS n FROM entries",
  },
  {
    table: "lotteries",
    // One row per lottery and phase: a phase sent again (ANCHOR_LOT_START) shares it.
    cmds: ["ANCHOR_LOT_START", "ANCHOR_LOT_END", "ANCHOR_LOT_AWARD"],
    event: "lottery",
    match: "dedup",
    keysSql: "SELECT room_id, lot_id || ':' || phase AS key FROM lotteries",
    rowKey: (e) => e.type === "lottery" ? `${e.lotId}:${e.phase}` : undefined,
  },
  {
    table: "rank_changes",
    cmds: ["POPULAR_RANK_CHANGED", "AREA_RANK_CHANGED", "HOT_RANK_CHANGED", "HOT_RANK_CHANGED_V2"],
    event: "rankChange",
    match: "count",
    countSql: "SELECT count(*) AS n FROM rank_changes",
  },
  {
    table: "online_ranks",
    // One row per listed viewer.
    cmds: ["ONLINE_RANK_V2", "ONLINE_RANK_V3"],
    event: "onlineRank",
    match: "count",
    countSql: "SELECT count(*) AS n FROM online_ranks",
  },
  {
    table: "audience",
    cmds: ["WATCHED_CHANGE", "ONLINE_RANK_COUNT", "LIKE_INFO_V3_UPDATE"],
    event: "audience",
    match: "count",
    // Heartbeat replies (op 3) are not op-5 messages.
    countSql: "SELECT count(*) AS n FROM audience WHERE kind <> 'heartbeat'",
  },
  {
    table: "room_events",
    cmds: [
      "LIVE",
      "PREPARING",
      "ROOM_CHANGE",
      "ROOM_BLOCK_MSG",
      "CUT_OFF",
      "CUT_OFF_V2",
      "WARNING",
      "NOTICE_MSG",
      "COMMON_NOTICE_DANMAKU",
      "DANMU_AGGREGATION",
      "GUARD_HONOR_THOUSAND",
      "WIDGET_BANNER",
    ],
    event: "roomState",
    match: "id",
    keysSql: "SELECT room_id, raw AS key FROM room_events",
  },
];

/** Per table (or for all op-5 messages): the soak's verdict. Counts are messages unless noted. */
export interface TableResult {
  table: string;
  match: MatchBy | "raw";
  /** Distinct messages the simulator wrote to the collector (once per room, whatever the connections). */
  delivered: number;
  /** Rows in the table. */
  stored: number;
  /** Delivered before the stop and not stored (includes `receivedNotStored`). */
  missing: number;
  /** Written after the soak sent SIGINT and never received: may legitimately be missing. */
  inFlight: number;
  /** Received by the collector but not stored (for `count` tables: rows short of expected). */
  receivedNotStored: number;
  /** Rows beyond one per message (for `count` tables: rows beyond expected). */
  duplicated: number;
  /** Stored rows without a key, or whose key matches no delivered message (0 for `count`). */
  unexpected: number;
  /** Truth line indices (0-based) of the first few missing messages, never received ones first. */
  examples: number[];
}

/** Missing messages whose truth lines a result keeps, per table. */
export const MAX_EXAMPLES = 5;

/** The reconciliation of one soak. */
export interface Reconciliation {
  tables: TableResult[];
  /** Every op-5 message: `stored` is raw_messages rows, `receivedNotStored` the collector's count minus them. */
  all: TableResult;
  /** Truth lines, distinct messages, and lines after the stop mark. */
  truthLines: number;
  afterStopLines: number;
  /** raw_messages rows, and how many carried no message id. */
  rawRows: number;
  rawWithoutId: number;
}

/** The cmd without its `:suffix`. */
export function baseCmd(cmd: string): string {
  const colon = cmd.indexOf(":");
  return colon < 0 ? cmd : cmd.slice(0, colon);
}

const ID_STR = /\\"id_str\\":\\"([^\\"]+)\\"/;
const MSG_ID = /"msg_id":"([^"]*)"/;
/** `info[0][5]`, the `rnd`: the five numbers before it never hold a comma or a bracket. */
const RND = /"info":\[\[(?:[^,[\]]*,){5}(-?\d+)/;

/**
 * The id the truth log gives a message, from its JSON text: `extra.id_str` for DANMU_MSG (an
 * escaped JSON string inside the body; in the older layouts without `extra`, the `rnd`
 * `info[0][5]`), the first `msg_id` for every other cmd.
 */
export function messageId(cmd: string, text: string): string | undefined {
  if (!baseCmd(cmd).startsWith("DANMU_MSG")) return MSG_ID.exec(text)?.[1];
  return (ID_STR.exec(text) ?? RND.exec(text))?.[1];
}

/** Whether a danmaku's text carries `extra.id_str`, the id its row is stored under. */
function hasIdStr(text: string): boolean {
  return text.includes('\\"id_str\\":\\"');
}

interface TruthRecord {
  room_id: number;
  cmd: string;
  id: string;
}

function isTruthRecord(value: unknown): value is TruthRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.room_id === "number" && typeof record.cmd === "string" &&
    typeof record.id === "string";
}

const messageKey = (roomId: number, id: string) => `${roomId} ${id}`;

/**
 * Collects truth lines, raw rows and stored keys in any order, then reconciles them. Truth
 * lines must come in file order (their position decides "in flight at stop").
 */
export class Reconciler {
  #specByCmd = new Map<string, TableSpec>();
  /** Per table (and "" for messages no table stores): message key → first truth line. */
  #truth = new Map<string, Map<string, number>>();
  #truthLines = 0;
  #stopLine: number | undefined;
  #received = new Set<string>();
  #rawRows = 0;
  #rawWithoutId = 0;
  /** Per `dedup` table: message key → room-qualified row key (from the received body). */
  #rowKeys = new Map<string, Map<string, string>>();
  /** Per `count` table: rows the received messages make. */
  #expectedRows = new Map<string, number>();
  /** Per `id`/`dedup` table: room-qualified row keys and the row count. */
  #stored = new Map<string, { keys: Set<string>; rows: number; withoutKey: number }>();
  #storedCounts = new Map<string, number>();
  #events: CollectedEvent[] = [];

  constructor(readonly specs: readonly TableSpec[] = TABLES) {
    for (const spec of specs) {
      for (const cmd of spec.cmds) this.#specByCmd.set(cmd, spec);
      this.#truth.set(spec.table, new Map());
      if (spec.match === "dedup" || spec.rowKey) this.#rowKeys.set(spec.table, new Map());
      if (spec.match === "count") this.#expectedRows.set(spec.table, 0);
      else this.#stored.set(spec.table, { keys: new Set(), rows: 0, withoutKey: 0 });
    }
    this.#truth.set("", new Map());
  }

  /** Adds one line of the truth file (blank lines are skipped, the stop mark remembered). */
  addTruthLine(line: string): void {
    if (line === "") return;
    const index = this.#truthLines++;
    if (line === STOP_MARK) {
      this.#stopLine ??= index;
      return;
    }
    const record: unknown = JSON.parse(line);
    if (!isTruthRecord(record)) throw new TypeError(`Cannot read truth line ${index + 1}: ${line}`);
    const spec = this.#specByCmd.get(baseCmd(record.cmd));
    const messages = this.#truth.get(spec?.table ?? "")!;
    const key = messageKey(record.room_id, record.id);
    if (!messages.has(key)) messages.set(key, index);
  }

  /** Adds one `raw_messages` row: the collector received this message (once more). */
  addRaw(roomId: number, cmd: string, text: string): void {
    this.#rawRows++;
    const id = messageId(cmd, text);
    if (id === undefined) {
      this.#rawWithoutId++;
      return;
    }
    const key = messageKey(roomId, id);
    if (this.#received.has(key)) return; // a second delivery makes no new rows
    this.#received.add(key);
    const spec = this.#specByCmd.get(baseCmd(cmd));
    if (!spec) return;
    // An `id` row holds the message id, except an old-layout danmaku's (found by its row key).
    if (spec.match === "id" && (!spec.rowKey || hasIdStr(text))) return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return; // malformed: makes no row, and will show as received but not stored
    }
    const events = this.#events;
    events.length = 0;
    normalizeMessage(body, text, { roomId, receivedAtMs: 0, keepRaw: false }, events);
    for (const event of events) {
      if (event.type !== spec.event) continue;
      if (spec.match === "count") {
        this.#expectedRows.set(spec.table, this.#expectedRows.get(spec.table)! + 1);
      } else {
        const rowKey = (spec.rowKey ?? dedupKeyOf)(event);
        if (rowKey !== undefined) {
          this.#rowKeys.get(spec.table)!.set(key, messageKey(roomId, rowKey));
        }
      }
    }
  }

  /** Adds one stored row of an `id` or `dedup` table: its room and its key column. */
  addStored(table: string, roomId: number, key: string | null): void {
    const stored = this.#stored.get(table);
    if (!stored) {
      throw new RangeError(`Cannot add keys to table "${table}": it is matched by count`);
    }
    stored.rows++;
    // room_events keep the whole text: its message id is the key.
    const id = key === null ? undefined : table === "room_events" ? messageId("", key) : key;
    if (id === undefined) stored.withoutKey++;
    else stored.keys.add(messageKey(roomId, id));
  }

  /** Sets the stored row count of a `count` table. */
  setStoredCount(table: string, rows: number): void {
    this.#storedCounts.set(table, rows);
  }

  /** Adds what a collector's database holds: every raw message, and every table's keys or count. */
  addDatabase(db: DatabaseSync): void {
    for (const row of db.prepare("SELECT room_id, cmd, raw FROM raw_messages").iterate()) {
      this.addRaw(Number(row.room_id), String(row.cmd), String(row.raw));
    }
    for (const spec of this.specs) {
      if (spec.keysSql) {
        for (const row of db.prepare(spec.keysSql).iterate()) {
          this.addStored(
            spec.table,
            Number(row.room_id),
            row.key === null ? null : String(row.key),
          );
        }
      } else if (spec.countSql) {
        this.setStoredCount(spec.table, Number(db.prepare(spec.countSql).get()?.n ?? 0));
      }
    }
  }

  #after(line: number): boolean {
    return this.#stopLine !== undefined && line > this.#stopLine;
  }

  /** Reconciles; `collectorMessages` is the collector's own final count of op-5 messages. */
  result(collectorMessages?: number): Reconciliation {
    const tables = this.specs.map((spec) => this.#table(spec));
    const all: TableResult = {
      table: "all op-5",
      match: "raw",
      delivered: 0,
      stored: this.#rawRows,
      missing: 0,
      inFlight: 0,
      receivedNotStored: collectorMessages === undefined
        ? 0
        : Math.max(0, collectorMessages - this.#rawRows),
      duplicated: 0,
      unexpected: 0,
      examples: [],
    };
    for (const messages of this.#truth.values()) {
      for (const [key, line] of messages) {
        all.delivered++;
        if (this.#received.has(key)) continue;
        if (this.#after(line)) {
          all.inFlight++;
        } else {
          all.missing++;
          if (all.examples.length < MAX_EXAMPLES) all.examples.push(line);
        }
      }
    }
    all.missing += all.receivedNotStored;
    return {
      tables,
      all,
      truthLines: this.#truthLines,
      afterStopLines: this.#stopLine === undefined ? 0 : this.#truthLines - this.#stopLine - 1,
      rawRows: this.#rawRows,
      rawWithoutId: this.#rawWithoutId,
    };
  }

  #table(spec: TableSpec): TableResult {
    const messages = this.#truth.get(spec.table)!;
    const out: TableResult = {
      table: spec.table,
      match: spec.match,
      delivered: messages.size,
      stored: 0,
      missing: 0,
      inFlight: 0,
      receivedNotStored: 0,
      duplicated: 0,
      unexpected: 0,
      examples: [],
    };
    const example = (line: number) => {
      if (out.examples.length < MAX_EXAMPLES) out.examples.push(line);
    };
    if (spec.match === "count") {
      for (const [key, line] of messages) {
        if (this.#received.has(key)) continue;
        if (this.#after(line)) {
          out.inFlight++;
        } else {
          out.missing++;
          example(line);
        }
      }
      out.stored = this.#storedCounts.get(spec.table) ?? 0;
      const expected = this.#expectedRows.get(spec.table)!;
      out.receivedNotStored = Math.max(0, expected - out.stored);
      out.duplicated = Math.max(0, out.stored - expected);
      out.missing += out.receivedNotStored;
      return out;
    }
    const stored = this.#stored.get(spec.table)!;
    const rowKeys = this.#rowKeys.get(spec.table);
    const matched = new Set<string>();
    const received: number[] = [];
    out.stored = stored.rows;
    for (const [key, line] of messages) {
      const rowKey = spec.match === "id" ? rowKeys?.get(key) ?? key : rowKeys!.get(key);
      if (rowKey !== undefined && stored.keys.has(rowKey)) {
        matched.add(rowKey);
      } else if (this.#received.has(key)) {
        out.receivedNotStored++;
        out.missing++;
        if (received.length < MAX_EXAMPLES) received.push(line);
      } else if (this.#after(line)) {
        out.inFlight++;
      } else {
        out.missing++;
        example(line);
      }
    }
    for (const line of received) example(line);
    out.duplicated = stored.rows - stored.withoutKey - stored.keys.size;
    out.unexpected = stored.keys.size - matched.size + stored.withoutKey;
    return out;
  }
}
