/**
 * `/api/status`: the JSON document the status page polls (version 1), made from the same
 * reading as `/metrics`. Rates (msg/s) come from the change between two samples; the history
 * keeps one point per sample over the last {@linkcode HISTORY_MS}.
 */
import type { RoomState } from "../collector/room_worker.ts";
import type { TransportKind } from "../room/transport.ts";
import type { CollectorReading } from "./collector_reading.ts";

/** How far back `history` goes. */
export const HISTORY_MS = 10 * 60_000;

/** Points kept at most, whatever the sampling period (a bound). */
export const MAX_HISTORY_POINTS = 3_000;

/** One room in the document. */
export interface StatusRoom {
  roomId: number;
  state: RoomState;
  transport: TransportKind;
  messages: number;
  msgPerS: number;
  lastMessageAgeS: number | null;
  reconnects: number;
  quiet: boolean;
  title: string | null;
  anchor: string | null;
}

/** The `/api/status` document. */
export interface StatusDocument {
  version: 1;
  nowMs: number;
  startedAtMs: number;
  totals: {
    messages: number;
    msgPerS: number;
    written: number;
    dropped: number;
    writeErrors: number;
    queue: number;
    queueBytes: number;
    rooms: number;
    live: number;
    failed: number;
  };
  /** `[timeMs, msgPerS]`, oldest first. */
  history: [number, number][];
  rooms: StatusRoom[];
}

/** Samples readings and turns them into status documents. */
export class StatusTracker {
  readonly #history: [number, number][] = [];
  /** The last sample: its time, total messages and each room's messages. */
  #last?: { atMs: number; messages: number; rooms: Map<number, number> };
  /** Rates from the last two samples. */
  #rate = 0;
  #roomRates = new Map<number, number>();

  /** Records a reading: the rates since the previous one and a history point. */
  sample(reading: CollectorReading): void {
    const rooms = new Map(reading.rooms.map((room) => [room.roomId, room.messages]));
    const last = this.#last;
    if (last && reading.nowMs > last.atMs) {
      const seconds = (reading.nowMs - last.atMs) / 1000;
      this.#rate = Math.max(0, reading.messages - last.messages) / seconds;
      this.#roomRates = new Map();
      for (const [roomId, messages] of rooms) {
        const before = last.rooms.get(roomId) ?? messages;
        this.#roomRates.set(roomId, Math.max(0, messages - before) / seconds);
      }
      this.#history.push([reading.nowMs, round(this.#rate)]);
      while (
        this.#history.length > MAX_HISTORY_POINTS ||
        (this.#history.length > 0 && this.#history[0][0] < reading.nowMs - HISTORY_MS)
      ) this.#history.shift();
    }
    this.#last = { atMs: reading.nowMs, messages: reading.messages, rooms };
  }

  /** The document of `reading`, with the rates of the latest samples. */
  document(reading: CollectorReading): StatusDocument {
    let live = 0;
    let failed = 0;
    for (const room of reading.rooms) {
      if (room.state === "live") live++;
      else if (room.state === "failed") failed++;
    }
    return {
      version: 1,
      nowMs: reading.nowMs,
      startedAtMs: reading.startedAtMs,
      totals: {
        messages: reading.messages,
        msgPerS: round(this.#rate),
        written: reading.written,
        dropped: reading.dropped,
        writeErrors: reading.writeErrors,
        queue: reading.queue.events,
        queueBytes: reading.queue.bytes,
        rooms: reading.rooms.length,
        live,
        failed,
      },
      history: this.#history.map(([t, v]) => [t, v]),
      rooms: reading.rooms.map((room) => ({
        roomId: room.roomId,
        state: room.state,
        transport: room.transport,
        messages: room.messages,
        msgPerS: round(this.#roomRates.get(room.roomId) ?? 0),
        lastMessageAgeS: room.lastMessageAgeS === null ? null : round(room.lastMessageAgeS),
        reconnects: room.reconnects,
        quiet: room.quiet,
        title: room.title,
        anchor: room.anchor,
      })),
    };
  }
}

/** Two decimals are plenty for rates and ages. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
