/**
 * The silence watch: a room whose connection receives far fewer messages than the room's own
 * recent rate while its audience did not fall alike gets a fresh connection. A logged-in
 * connection can receive fewer and fewer messages over long runs until it reconnects
 * (acgnhiki/blrec#225); `stats` flags the same pattern afterwards (src/analysis/throttling.ts),
 * and this applies its rule while collecting.
 *
 * The rule, per room, on windows of `windowMs` (10 min) of one connection each:
 * - a window is eligible when one connection was live throughout it and the room was not known
 *   to be offline (a PREPARING, or room_init's live_status other than 1) at any point of it;
 * - the baseline is the median op-5 message count of the room's last `baselineWindows` (6)
 *   eligible windows before the one judged; at least `minWindows` (3) of them, and a baseline
 *   of at least `minBaseline` (10) messages per window;
 * - a window below `ratio` (10 %) of the baseline is quiet; its room is reconnected unless its
 *   audience fell too: the latest `online_count` (else `online_rank_count`) reading is below
 *   `audienceShare` (50 %) of its median level over the baseline windows. `watched` and
 *   `like_count` only ever grow and say nothing about viewers leaving; without any online
 *   reading the room is judged on its messages alone, as `stats` does;
 * - at most once per room per `cooldownMs` (30 min), and never while the room is offline.
 *
 * A chat that really died (the streamer restricted it, say) is reconnected at most a couple of
 * times: its quiet windows enter the baseline, and once they are half of it the median falls.
 * Pure: no timers; the caller passes the time.
 */
import { median } from "../analysis/density.ts";
import { THROTTLE_RULE } from "../analysis/throttling.ts";
import type { AudienceKind, CollectedEvent } from "../normalize/events.ts";

/** Parameters of the silence watch. */
export interface SilenceRule {
  /** Window length, ms. @default {600_000} (as `stats`) */
  windowMs: number;
  /** A window below this fraction of the baseline is quiet. @default {0.1} (as `stats`) */
  ratio: number;
  /** Smallest baseline (messages per window) worth judging. @default {10} (as `stats`) */
  minBaseline: number;
  /** Eligible windows the baseline is the median of, at most. @default {6} */
  baselineWindows: number;
  /** Eligible windows needed before any judgement. @default {3} */
  minWindows: number;
  /** The audience "did not fall" while at least this fraction of its baseline level. @default {0.5} */
  audienceShare: number;
  /** Shortest time between two reconnects of one room, ms. @default {1_800_000} */
  cooldownMs: number;
}

/** The defaults (the window, ratio and smallest baseline are those of `stats`). */
export const SILENCE_RULE: Readonly<SilenceRule> = Object.freeze({
  windowMs: THROTTLE_RULE.windowMs,
  ratio: THROTTLE_RULE.ratio,
  minBaseline: THROTTLE_RULE.minMedian,
  baselineWindows: 6,
  minWindows: 3,
  audienceShare: 0.5,
  cooldownMs: 30 * 60_000,
});

/** What the caller reads from a room's worker at each check. */
export interface RoomReading {
  /** Op-5 messages received by the room so far, over all its connections. */
  messages: number;
  /** Names the room's live connection (changes on reconnect); undefined when there is none. */
  connection: number | undefined;
}

/** A decision to give a room a fresh connection, with the figures behind it. */
export interface QuietVerdict {
  roomId: number;
  /** Messages in the window judged (scaled to `windowMs`). */
  windowMessages: number;
  /** Median messages per window of the baseline. */
  baseline: number;
  /** The audience counter compared, if any. */
  audienceKind?: AudienceKind;
  /** Its latest reading. */
  audience?: number;
  /** Its median level over the baseline windows. */
  audienceBaseline?: number;
}

/** Audience counters that can fall when viewers leave, preferred first. */
const ONLINE_KINDS = ["online_count", "online_rank_count"] as const satisfies AudienceKind[];
type OnlineKind = typeof ONLINE_KINDS[number];

interface ClosedWindow {
  count: number;
  /** Last reading of each online counter during the window (none: undefined). */
  audience: Partial<Record<OnlineKind, number>> | undefined;
}

interface RoomWatch {
  /** Start of the open window (NaN before the first reading), and the message total then. */
  startMs: number;
  startMessages: number;
  connection: number | undefined;
  /** The open window cannot be eligible (connection changed or missing, room offline). */
  broken: boolean;
  /** Readings of the open window; made by the first one (most rooms never send any). */
  audience: Partial<Record<OnlineKind, number>> | undefined;
  /** Eligible closed windows, oldest first, at most `baselineWindows`; made by the first. */
  history: ClosedWindow[] | undefined;
  /** Latest reading of each online counter; made by the first. */
  latest: Partial<Record<OnlineKind, number>> | undefined;
  offline: boolean;
  lastReconnectMs: number;
}

/** Per-room windows and audience readings, and the decision to reconnect. */
export class SilenceWatch {
  /** The rule in force. */
  readonly rule: Readonly<SilenceRule>;
  readonly #rooms = new Map<number, RoomWatch>();

  constructor(rule: Partial<SilenceRule> = {}) {
    this.rule = Object.freeze({ ...SILENCE_RULE, ...rule });
  }

  /** Rooms being watched. */
  get size(): number {
    return this.#rooms.size;
  }

  /** Takes the audience readings and live/offline changes out of a collected event. */
  note(event: CollectedEvent): void {
    if (event.type === "audience") {
      if (event.kind !== "online_count" && event.kind !== "online_rank_count") return;
      const room = this.#room(event.roomId);
      (room.latest ??= {})[event.kind] = event.value;
      (room.audience ??= {})[event.kind] = event.value;
    } else if (event.type === "roomState") {
      if (event.kind !== "live" && event.kind !== "preparing") return;
      this.#setOffline(event.roomId, event.kind === "preparing");
    } else if (event.type === "room" && event.liveStatus !== null) {
      this.#setOffline(event.roomId, event.liveStatus !== 1);
    }
  }

  #room(roomId: number): RoomWatch {
    let room = this.#rooms.get(roomId);
    if (!room) {
      room = {
        startMs: NaN,
        startMessages: 0,
        connection: undefined,
        broken: true,
        audience: undefined,
        history: undefined,
        latest: undefined,
        offline: false,
        lastReconnectMs: -Infinity,
      };
      this.#rooms.set(roomId, room);
    }
    return room;
  }

  #setOffline(roomId: number, offline: boolean): void {
    const room = this.#room(roomId);
    room.offline = offline;
    if (offline) room.broken = true;
  }

  /**
   * Records a room's reading at `now` (call it every few seconds, e.g. on each sweep); when a
   * window closes, judges it and returns a verdict if the room should get a fresh connection.
   * The caller acts on the verdict: it is counted against the cooldown at once.
   */
  observe(roomId: number, reading: RoomReading, now: number): QuietVerdict | undefined {
    const room = this.#room(roomId);
    if (Number.isNaN(room.startMs)) {
      this.#open(room, reading, now);
      return undefined;
    }
    if (
      reading.connection === undefined || reading.connection !== room.connection ||
      reading.messages < room.startMessages // a new worker counting from 0 (a restart)
    ) room.broken = true;
    const elapsed = now - room.startMs;
    if (elapsed < this.rule.windowMs) return undefined;
    // A window much longer than asked (the process was suspended) is not a fair measure.
    const eligible = !room.broken && elapsed <= 2 * this.rule.windowMs;
    const closed: ClosedWindow = {
      count: (reading.messages - room.startMessages) * this.rule.windowMs / elapsed,
      audience: room.audience,
    };
    const verdict = eligible ? this.#judge(roomId, room, closed, now) : undefined;
    if (eligible) {
      const history = room.history ??= [];
      history.push(closed);
      if (history.length > this.rule.baselineWindows) history.shift();
    }
    this.#open(room, reading, now);
    if (verdict) room.lastReconnectMs = now;
    return verdict;
  }

  /** Starts a new window at `now`. */
  #open(room: RoomWatch, reading: RoomReading, now: number): void {
    room.startMs = now;
    room.startMessages = reading.messages;
    room.connection = reading.connection;
    room.broken = reading.connection === undefined || room.offline;
    room.audience = undefined;
  }

  #judge(
    roomId: number,
    room: RoomWatch,
    window: ClosedWindow,
    now: number,
  ): QuietVerdict | undefined {
    const rule = this.rule;
    const history = room.history ?? [];
    if (history.length < rule.minWindows) return undefined;
    if (now - room.lastReconnectMs < rule.cooldownMs) return undefined;
    const baseline = median(history.map((w) => w.count));
    if (baseline < rule.minBaseline || window.count >= baseline * rule.ratio) return undefined;
    const verdict: QuietVerdict = {
      roomId,
      windowMessages: Math.round(window.count * 10) / 10,
      baseline,
    };
    for (const kind of ONLINE_KINDS) {
      const levels = history.flatMap((w) => w.audience?.[kind] ?? []);
      const latest = room.latest?.[kind];
      if (levels.length === 0 || latest === undefined) continue;
      const level = median(levels);
      if (latest < level * rule.audienceShare) return undefined; // the viewers left as well
      return { ...verdict, audienceKind: kind, audience: latest, audienceBaseline: level };
    }
    return verdict;
  }

  /** Eligible windows kept for a room's baseline (at most `baselineWindows`). */
  windows(roomId: number): number {
    return this.#rooms.get(roomId)?.history?.length ?? 0;
  }

  /** Forgets a room (it is no longer collected). */
  forget(roomId: number): void {
    this.#rooms.delete(roomId);
  }
}
