/**
 * Reads a danmaku database into per-room statistics (`main.ts stats`): counts by kind,
 * danmaku density, top senders and phrases, value in CNY, collection gaps and suspected
 * throttling. Aggregation happens in the database (GROUP BY; SQLite or PostgreSQL, the same
 * queries through storage/read_store.ts), so memory does not grow with rows; phrases are
 * normalized here, once per distinct text the database groups, and counted per room.
 *
 * Danmaku a lottery sent in viewers' names (`lottery_type <> 0`: 天选时刻 keywords, 节奏风暴) are
 * counted apart and left out of density, senders, phrases and the masked count unless
 * `includeLottery`; throttling counts every danmaku received, since it judges delivery. A super
 * chat whose `sc_id` the room later deleted (`super_chat_deletions`) is no revenue.
 */
import {
  EXPORT_KINDS,
  EXPORT_TABLES,
  type ExportKind,
  roomIdIn,
  type RowFilter,
  whereClause,
} from "../export/export_tables.ts";
import type { ReadRow, ReadStore, ReadValue } from "../storage/read_store.ts";
import {
  clipIntervals,
  coverageGaps,
  coveredMs,
  type Interval,
  sessionCoverage,
  type SessionSpan,
} from "./coverage.ts";
import { type Density, densitySummary, type MinuteCount } from "./density.ts";
import { PhraseCounter } from "./phrases.ts";
import {
  detectThrottling,
  knownOffline,
  type LiveChange,
  type RateWindow,
  THROTTLE_RULE,
  type ThrottleVerdict,
} from "./throttling.ts";

/** What `stats` computes. */
export interface StatsOptions {
  filter: RowFilter;
  /** Senders and phrases listed per room. @default {10} */
  top: number;
  /** Shortest collection gap listed, ms. @default {60_000} */
  minGapMs: number;
  /** Keep lottery danmaku in density, senders, phrases and the masked count. @default {false} */
  includeLottery: boolean;
}

/** Statistics of one room. */
export interface RoomStats {
  roomId: number;
  /** Anchor name and title from `rooms`, when known. */
  anchor: string | null;
  title: string | null;
  /** First and last row time (any kind), unix ms; null without rows. */
  firstMs: number | null;
  lastMs: number | null;
  /** Rows per table, every row (lottery danmaku and deleted super chats too). */
  counts: Record<ExportKind, number>;
  /** Danmaku sent by lotteries (`lottery_type <> 0`), included in `counts.danmaku`. */
  lotteryDanmaku: number;
  /** Danmaku from uid 0 (masked senders; left out of topSenders); lottery ones as in density. */
  maskedDanmaku: number;
  density: Density & { perMinute: MinuteCount[] };
  topSenders: { uid: number; uname: string; count: number }[];
  /** Masked senders (uid 0) told apart by `user_hash` (`info[0][7]`, which masking keeps). */
  topMaskedSenders: { userHash: string; uname: string; count: number }[];
  topPhrases: { phrase: string; count: number }[];
  /** Value in CNY: gold gifts, super chats not deleted, guards. */
  valueCny: { gifts: number; superChats: number; guardBuys: number; total: number };
  /** `valueCny` per minute by row time, for the minutes that had any (ascending). */
  valuePerMinute: ValueMinute[];
  /** Super chats in range that the room deleted, left out of `valueCny`. */
  deletedSuperChats: { count: number; valueCny: number };
  sessions: {
    count: number;
    /** Sessions without an end (open, or the collector stopped without recording it). */
    unterminated: number;
    /** From the first session start to the last session end, clipped to the range. */
    spanMs: number;
    coveredMs: number;
    /** coveredMs / spanMs (1 when spanMs is 0). */
    coverage: number;
    gaps: (Interval & { durationMs: number })[];
  };
  throttling: ThrottleVerdict;
}

/** A minute (its start, unix ms) and its value in CNY: gold gifts, super chats, guards. */
export type ValueMinute = readonly [
  minuteMs: number,
  gifts: number,
  superChats: number,
  guardBuys: number,
];

/** The whole report. */
export interface StatsReport {
  sinceMs: number | null;
  untilMs: number | null;
  minGapMs: number;
  /** Whether lottery danmaku count in density, senders, phrases and the masked count. */
  includeLottery: boolean;
  throttleRule: typeof THROTTLE_RULE;
  rooms: RoomStats[];
}

const num = (v: ReadValue | undefined): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : 0;
const numOrNull = (v: ReadValue | undefined): number | null =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** `where` (a WHERE clause or "") narrowed by `condition`. */
function and(where: string, condition: string): string {
  return where === "" ? ` WHERE ${condition}` : `${where} AND ${condition}`;
}

/** True for a super chat row the room deleted (a column of a query on `super_chats`). */
const DELETED_SQL = `EXISTS (SELECT 1 FROM super_chat_deletions d
  WHERE d.room_id = super_chats.room_id AND d.sc_id = super_chats.sc_id)`;

function emptyCounts(): Record<ExportKind, number> {
  return Object.fromEntries(EXPORT_KINDS.map((k) => [k, 0])) as Record<ExportKind, number>;
}

/** `condition` counted: portable, where SQLite alone would sum a boolean. */
const countIf = (condition: string): string => `sum(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;

/**
 * Computes the report; rooms are `filter.rooms`, else every room with rows or sessions. The
 * same from SQLite and PostgreSQL: text orders by code point, ties by id.
 */
export async function computeStats(store: ReadStore, options: StatsOptions): Promise<StatsReport> {
  const { filter } = options;
  const { binaryOrder } = store.dialect;
  // Danmaku typed by viewers, or every danmaku with includeLottery.
  const typed = options.includeLottery ? "TRUE" : "lottery_type = 0";
  const rooms = new Map<number, RoomStats>();
  const room = (id: number): RoomStats => {
    let r = rooms.get(id);
    if (!r) {
      r = emptyRoom(id);
      rooms.set(id, r);
    }
    return r;
  };
  for (const id of filter.rooms ?? []) room(id);
  const lastReceived = new Map<number, number>();

  for (const kind of EXPORT_KINDS) {
    const table = EXPORT_TABLES[kind];
    const where = whereClause(table.timeSql, filter);
    const masked = kind === "danmaku"
      ? `, ${countIf(`uid = 0 AND ${typed}`)} AS masked, ${countIf("lottery_type <> 0")} AS lottery`
      : "";
    for (
      const row of await store.query(
        `SELECT room_id, count(*) AS n, min(${table.timeSql}) AS first, max(${table.timeSql}) AS last,
          max(received_at_ms) AS received${masked}
        FROM ${kind}${where.sql} GROUP BY room_id`,
        where.params,
      )
    ) {
      const r = room(num(row.room_id));
      r.counts[kind] = num(row.n);
      if (kind === "danmaku") {
        r.maskedDanmaku = num(row.masked);
        r.lotteryDanmaku = num(row.lottery);
      }
      r.firstMs = minOf(r.firstMs, numOrNull(row.first));
      r.lastMs = maxOf(r.lastMs, numOrNull(row.last));
      lastReceived.set(r.roomId, Math.max(lastReceived.get(r.roomId) ?? 0, num(row.received)));
    }
  }

  const sessionsByRoom = new Map<number, SessionSpan[]>();
  const roomFilter = filter.rooms ? ` WHERE ${roomIdIn(filter.rooms)}` : "";
  for (
    const row of await store.query(
      `SELECT room_id, started_at_ms, ended_at_ms FROM sessions${roomFilter}
      ORDER BY room_id, started_at_ms, ${binaryOrder("session_id")}`,
      filter.rooms ?? [],
    )
  ) {
    const id = num(row.room_id);
    const list = sessionsByRoom.get(id) ?? [];
    list.push({ startedAtMs: num(row.started_at_ms), endedAtMs: numOrNull(row.ended_at_ms) });
    sessionsByRoom.set(id, list);
  }
  const inRange = (s: SessionSpan) =>
    (filter.untilMs === undefined || s.startedAtMs < filter.untilMs) &&
    (filter.sinceMs === undefined || s.endedAtMs === null || s.endedAtMs > filter.sinceMs);
  for (const [id, list] of sessionsByRoom) if (list.some(inRange)) room(id);

  const liveChanges = new Map<number, LiveChange[]>();
  for (
    const row of await store.query(
      `SELECT room_id, coalesce(ts_ms, received_at_ms) AS t, kind FROM room_events
      WHERE kind IN ('live', 'preparing') ORDER BY room_id, t, id`,
    )
  ) {
    const id = num(row.room_id);
    const list = liveChanges.get(id) ?? [];
    list.push({ atMs: num(row.t), live: row.kind === "live" });
    liveChanges.set(id, list);
  }

  const danmaku = EXPORT_TABLES.danmaku;
  const dWhere = whereClause(danmaku.timeSql, { ...filter, rooms: [...rooms.keys()] });
  const perMinute = groupByRoom(
    await store.query(
      `SELECT room_id, ${danmaku.timeSql} / 60000 AS m, count(*) AS n
      FROM danmaku${and(dWhere.sql, typed)} GROUP BY room_id, m ORDER BY room_id, m`,
      dWhere.params,
    ),
    (row): MinuteCount => [num(row.m) * 60_000, num(row.n)],
  );
  const windowMs = THROTTLE_RULE.windowMs;
  const perWindow = groupByRoom(
    await store.query(
      `SELECT room_id, received_at_ms / ${windowMs} AS w, count(*) AS n FROM danmaku${dWhere.sql}
      GROUP BY room_id, w ORDER BY room_id, w`,
      dWhere.params,
    ),
    (row): MinuteCount => [num(row.w) * windowMs, num(row.n)],
  );
  const values = new Map<number, Record<string, number>>();
  for (
    const [kind, sumSql] of [
      ["gifts", "sum(CASE WHEN coin_type = 'gold' THEN price_cny ELSE 0 END)"],
      ["super_chats", "sum(CASE WHEN deleted THEN 0 ELSE price_cny END)"],
      ["guard_buys", "sum(price_cny)"],
    ] as const
  ) {
    const where = whereClause(EXPORT_TABLES[kind].timeSql, filter);
    const from = kind === "super_chats"
      ? `(SELECT *, ${DELETED_SQL} AS deleted FROM super_chats${where.sql}) AS sc`
      : `${kind}${where.sql}`;
    for (
      const row of await store.query(
        `SELECT room_id, ${sumSql} AS cny FROM ${from} GROUP BY room_id`,
        where.params,
      )
    ) {
      const v = values.get(num(row.room_id)) ?? {};
      v[kind] = num(row.cny);
      values.set(num(row.room_id), v);
    }
  }
  const valueMinutes = new Map<number, Map<number, [number, number, number]>>();
  for (
    const [slot, kind, sumSql] of [
      [0, "gifts", "sum(CASE WHEN coin_type = 'gold' THEN price_cny ELSE 0 END)"],
      [1, "super_chats", "sum(CASE WHEN deleted THEN 0 ELSE price_cny END)"],
      [2, "guard_buys", "sum(price_cny)"],
    ] as const
  ) {
    const time = EXPORT_TABLES[kind].timeSql;
    const where = whereClause(time, filter);
    const from = kind === "super_chats"
      ? `(SELECT *, ${DELETED_SQL} AS deleted FROM super_chats${where.sql}) AS sc`
      : `${kind}${where.sql}`;
    for (
      const row of await store.query(
        `SELECT room_id, ${time} / 60000 AS m, ${sumSql} AS cny FROM ${from}
        GROUP BY room_id, m HAVING ${sumSql} > 0`,
        where.params,
      )
    ) {
      const byMinute = valueMinutes.get(num(row.room_id)) ?? new Map();
      const minute = byMinute.get(num(row.m)) ?? [0, 0, 0];
      minute[slot] = round3(num(row.cny));
      byMinute.set(num(row.m), minute);
      valueMinutes.set(num(row.room_id), byMinute);
    }
  }
  // The deletion may arrive after the range: a super chat in range counts as deleted anyway.
  const scWhere = whereClause(EXPORT_TABLES.super_chats.timeSql, filter);
  const deleted = new Map<number, RoomStats["deletedSuperChats"]>();
  for (
    const row of await store.query(
      `SELECT room_id, count(*) AS n, sum(price_cny) AS cny
      FROM super_chats${and(scWhere.sql, DELETED_SQL)} GROUP BY room_id`,
      scWhere.params,
    )
  ) deleted.set(num(row.room_id), { count: num(row.n), valueCny: round3(num(row.cny)) });

  for (const r of rooms.values()) {
    const [info] = await store.query("SELECT uname, title FROM rooms WHERE room_id = ?", [
      r.roomId,
    ]);
    r.anchor = typeof info?.uname === "string" ? info.uname : null;
    r.title = typeof info?.title === "string" ? info.title : null;
    const minutes = perMinute.get(r.roomId) ?? [];
    r.density = { ...densitySummary(minutes), perMinute: minutes };
    const one = whereClause(danmaku.timeSql, { ...filter, rooms: [r.roomId] });
    const typedHere = and(one.sql, typed);
    r.topSenders = (await store.query(
      topBy("uid", `${typedHere} AND uid <> 0`, (sql) => sql),
      [...one.params, options.top],
    )).map((row) => ({ uid: num(row.uid), uname: String(row.uname), count: num(row.n) }));
    r.topMaskedSenders = (await store.query(
      topBy(
        "user_hash",
        `${typedHere} AND uid = 0 AND user_hash IS NOT NULL`,
        binaryOrder,
      ),
      [...one.params, options.top],
    )).map((row) => ({
      userHash: String(row.user_hash),
      uname: String(row.uname),
      count: num(row.n),
    }));
    r.topPhrases = [];
    if (options.top > 0) {
      const phrases = new PhraseCounter();
      for await (
        const batch of store.batches(
          `SELECT text, count(*) AS n FROM danmaku${typedHere} GROUP BY text`,
          one.params,
        )
      ) {
        for (const [text, n] of batch) phrases.add(String(text), num(n));
      }
      r.topPhrases = phrases.top(options.top);
    }
    const v = values.get(r.roomId) ?? {};
    r.valueCny = {
      gifts: round3(v.gifts ?? 0),
      superChats: round3(v.super_chats ?? 0),
      guardBuys: round3(v.guard_buys ?? 0),
      total: round3((v.gifts ?? 0) + (v.super_chats ?? 0) + (v.guard_buys ?? 0)),
    };
    r.valuePerMinute = [...(valueMinutes.get(r.roomId) ?? new Map()).entries()]
      .sort(([a], [b]) => a - b)
      .map(([m, [gifts, sc, guards]]): ValueMinute => [m * 60_000, gifts, sc, guards]);
    r.deletedSuperChats = deleted.get(r.roomId) ?? { count: 0, valueCny: 0 };
    const sessions = sessionsByRoom.get(r.roomId) ?? [];
    collection(
      r,
      sessions,
      lastReceived.get(r.roomId) ?? 0,
      options,
      perWindow.get(r.roomId) ?? [],
      liveChanges.get(r.roomId) ?? [],
    );
  }
  return {
    sinceMs: filter.sinceMs ?? null,
    untilMs: filter.untilMs ?? null,
    minGapMs: options.minGapMs,
    includeLottery: options.includeLottery,
    throttleRule: THROTTLE_RULE,
    rooms: [...rooms.values()].sort((a, b) => a.roomId - b.roomId),
  };
}

function collection(
  r: RoomStats,
  sessions: readonly SessionSpan[],
  lastReceivedMs: number,
  options: StatsOptions,
  windows: readonly MinuteCount[],
  changes: readonly LiveChange[],
): void {
  const { sinceMs, untilMs } = options.filter;
  const all = sessionCoverage(sessions, lastReceivedMs);
  const from = Math.max(all[0]?.fromMs ?? 0, sinceMs ?? -Infinity);
  const to = Math.min(all[all.length - 1]?.toMs ?? 0, untilMs ?? Infinity);
  const covered = clipIntervals(all, from, to);
  const spanMs = Math.max(0, to - from);
  const inRange = sessions.filter((s) =>
    (untilMs === undefined || s.startedAtMs < untilMs) &&
    (sinceMs === undefined || s.endedAtMs === null || s.endedAtMs > sinceMs)
  );
  const covMs = coveredMs(covered, from, to);
  r.sessions = {
    count: inRange.length,
    unterminated: inRange.filter((s) => s.endedAtMs === null).length,
    spanMs,
    coveredMs: covMs,
    coverage: spanMs === 0 ? 1 : covMs / spanMs,
    gaps: coverageGaps(covered, options.minGapMs).map((g) => ({
      ...g,
      durationMs: g.toMs - g.fromMs,
    })),
  };
  // Every window overlapping the covered span, with its danmaku count (0 when absent).
  const windowMs = THROTTLE_RULE.windowMs;
  const counts = new Map(windows);
  const rate: RateWindow[] = [];
  if (covered.length > 0) {
    const first = Math.floor(covered[0].fromMs / windowMs) * windowMs;
    for (let w = first; w < covered[covered.length - 1].toMs; w += windowMs) {
      rate.push({
        startMs: w,
        count: counts.get(w) ?? 0,
        coverage: coveredMs(covered, w, w + windowMs) / windowMs,
        offline: knownOffline(changes, w, w + windowMs),
      });
    }
  }
  r.throttling = detectThrottling(rate);
}

/**
 * The top senders by `key` among danmaku matching `where` (a WHERE clause; its parameters,
 * then the LIMIT): `key`, the name on the sender's latest danmaku, and the count, most first,
 * ties by the key as `order` sorts it (text in code point order). One query for both engines:
 * SQLite alone could take the name as a bare column beside `max(id)`.
 */
function topBy(key: string, where: string, order: (sql: string) => string): string {
  return `SELECT g.${key} AS ${key}, d.uname AS uname, g.n AS n FROM (
      SELECT ${key}, count(*) AS n, max(id) AS last_id FROM danmaku${where}
      GROUP BY ${key} ORDER BY n DESC, ${order(key)} LIMIT ?
    ) AS g JOIN danmaku AS d ON d.id = g.last_id ORDER BY g.n DESC, ${order(`g.${key}`)}`;
}

function groupByRoom<T>(
  rows: ReadRow[],
  map: (row: ReadRow) => T,
): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const row of rows) {
    const id = num(row.room_id);
    const list = out.get(id) ?? [];
    list.push(map(row));
    out.set(id, list);
  }
  return out;
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function emptyRoom(roomId: number): RoomStats {
  return {
    roomId,
    anchor: null,
    title: null,
    firstMs: null,
    lastMs: null,
    counts: emptyCounts(),
    lotteryDanmaku: 0,
    maskedDanmaku: 0,
    density: { ...densitySummary([]), perMinute: [] },
    topSenders: [],
    topMaskedSenders: [],
    topPhrases: [],
    valueCny: { gifts: 0, superChats: 0, guardBuys: 0, total: 0 },
    valuePerMinute: [],
    deletedSuperChats: { count: 0, valueCny: 0 },
    sessions: { count: 0, unterminated: 0, spanMs: 0, coveredMs: 0, coverage: 1, gaps: [] },
    throttling: { suspected: false, windows: 0, medianPerWindow: 0, flagged: [] },
  };
}
