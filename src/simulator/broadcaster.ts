/**
 * The scheduler tick: once per tick, each room with listeners gets its messages for the elapsed
 * time, encoded once per (protover, masked) variant and written as the same bytes to every
 * listener. Keeps the `--messages` budget and writes the truth log as writes complete.
 */
import { brotliCompressSync, constants as zlibConstants, deflateSync } from "node:zlib";
import { encodePacket, HEADER_LENGTH, Op, Ver, writeHeader } from "../protocol/packet.ts";
import { BodyWriter } from "./body_writer.ts";
import type { ClientConnection, Frame } from "./connection.ts";
import type { SimulatorCounters } from "./counters.ts";
import type { DanmakuServer } from "./danmaku_server.ts";
import { loginNotice, type MessageFactory, type SimMessage } from "./message_factory.ts";
import type { Random } from "./random.ts";
import { truthPrefix, type TruthSink, truthSuffix } from "./truth_log.ts";
import type { SimRoom, World } from "./world.ts";

/** Most messages one room emits in one tick, whatever its rate. */
export const MAX_MESSAGES_PER_TICK = 5000;
/**
 * Most messages all rooms emit in one tick together; beyond it every room's share shrinks alike
 * and the rest waits in its carry. A simulator offered more than its core makes (the collect
 * bench: 100 rooms × 2,000 msg/s) otherwise spent seconds in one tick (5,000 messages for each
 * room), and rooms still asking its API for a token timed out between ticks, again and again.
 */
export const MAX_MESSAGES_PER_TICK_ALL = 10_000;
/** Share of the live rate a room keeps while offline (chat goes on between streams). */
export const OFFLINE_RATE_SHARE = 0.05;
/** Longest elapsed time one tick catches up on; a stalled event loop does not cause a burst. */
const MAX_TICK_MS = 1000;

/** Options of {@linkcode Broadcaster}. */
export interface BroadcasterOptions {
  world: World;
  factory: MessageFactory;
  server: DanmakuServer;
  counters: SimulatorCounters;
  /** Decides frame layouts and TCP split points; seeded. */
  rng: Random;
  /** Each room sends exactly this many op-5 messages, then goes quiet. */
  messagesPerRoom?: number;
  truth?: TruthSink;
  /** Time of a truth line (when its write completed), unix ms. @default {Date.now} */
  now?: () => number;
}

/** A room's messages of one tick, shared by all its listeners. */
interface Batch {
  room: SimRoom;
  count: number;
  pending: number;
  delivered: boolean;
}

/** A batch encoded as ver-0 packets; `offsets[i]` is where packet i starts (and `[count]` the end). */
interface EncodedBatch {
  /** Valid until the next batch is encoded into the same writer: copy what must outlive it. */
  bytes: Uint8Array;
  offsets: number[];
}

/** Writes every message as a ver-0 packet, back to back, into `out` (reset first). */
function encodeBatch(out: BodyWriter, messages: SimMessage[], masked: boolean): EncodedBatch {
  out.length = 0;
  const offsets = [0];
  for (const m of messages) {
    const start = out.length;
    out.reserve(HEADER_LENGTH);
    out.length += HEADER_LENGTH;
    m.write(out, masked);
    writeHeader(out.bytes, start, {
      packetLength: out.length - start,
      headerLength: HEADER_LENGTH,
      ver: Ver.json,
      op: Op.message,
      seq: 0,
    });
    offsets.push(out.length);
  }
  return { bytes: out.bytes.subarray(0, out.length), offsets };
}

/**
 * Cuts `bytes` at two points drawn as fractions in [0, 1) into at most three non-empty pieces
 * that, written in order, are exactly `bytes` (a TCP peer may see any split). The fractions are
 * ordered by value: `[0.3, 5e-7].sort()` would compare them as text and put 0.3 first.
 */
export function splitFrame(bytes: Uint8Array, u: number, v: number): Uint8Array[] {
  const a = Math.floor(Math.min(u, v) * bytes.length);
  const b = Math.floor(Math.max(u, v) * bytes.length);
  return [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)].filter((piece) =>
    piece.length > 0
  );
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function bundle(inner: Uint8Array, ver: 2 | 3): Uint8Array {
  const body = ver === Ver.zlib ? deflateSync(inner, { level: 1 }) : brotliCompressSync(inner, {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: 1,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: inner.length,
    },
  });
  return encodePacket(Op.message, body, { ver, seq: 0 });
}

/** Generates, encodes and fans out room messages; one `tick(now)` per scheduler step. */
export class Broadcaster {
  #o: BroadcasterOptions;
  #last = -1;
  #carry = new Map<number, number>();
  /** Messages counted or in flight towards `messagesPerRoom`, per room. */
  #used = new Map<number, number>();
  /** Scratch buffers the batches are encoded into, per variant (0 plain, 1 masked). */
  #scratch = [new BodyWriter(1 << 20), new BodyWriter(1 << 20)];

  #now: () => number;

  constructor(options: BroadcasterOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Messages a room may still send under `--messages`, or Infinity. */
  remaining(roomId: number): number {
    const limit = this.#o.messagesPerRoom;
    return limit === undefined ? Infinity : Math.max(0, limit - (this.#used.get(roomId) ?? 0));
  }

  /** Generates and sends the messages due since the previous tick. */
  tick(now: number): void {
    const elapsed = this.#last < 0 ? 0 : Math.min(MAX_TICK_MS, Math.max(0, now - this.#last));
    this.#last = now;
    const { world, factory, server } = this.#o;
    for (const { room, live } of world.advance(now)) {
      if (server.rooms.has(room.roomId)) this.deliver(room, factory.transition(room, live, now));
    }
    const rooms: SimRoom[] = [];
    const keys: number[] = []; // the ids the listeners asked for, as the carry is kept
    const dues: number[] = [];
    let total = 0;
    for (const roomId of server.rooms.keys()) {
      const room = world.resolve(roomId);
      if (!room || this.remaining(roomId) === 0) continue;
      const rate = room.live ? room.rate : room.rate * OFFLINE_RATE_SHARE;
      const due = (this.#carry.get(roomId) ?? 0) + rate * elapsed / 1000;
      rooms.push(room);
      keys.push(roomId);
      dues.push(due);
      total += Math.min(due, MAX_MESSAGES_PER_TICK);
    }
    const share = total > MAX_MESSAGES_PER_TICK_ALL ? MAX_MESSAGES_PER_TICK_ALL / total : 1;
    for (let i = 0; i < rooms.length; i++) {
      const room = rooms[i];
      let due = dues[i];
      let quota = Math.min(due, MAX_MESSAGES_PER_TICK) * share;
      const messages: SimMessage[] = [];
      while (quota >= 1) {
        const event = factory.next(room, now);
        for (const m of event) messages.push(m);
        due -= event.length;
        quota -= event.length;
      }
      this.#carry.set(keys[i], Math.min(due, MAX_MESSAGES_PER_TICK));
      if (messages.length > 0) this.deliver(room, messages);
    }
    this.#o.truth?.flush();
  }

  /** Sends LOG_IN_NOTICE to a new anonymous connection (outside the room budget). */
  greet(connection: ClientConnection, now: number): void {
    if (!connection.masked) return;
    const notice = loginNotice(connection.id, now);
    const body = new BodyWriter(512);
    notice.write(body, true);
    const bytes = encodePacket(Op.message, body.bytes.subarray(0, body.length), {
      ver: Ver.json,
      seq: 0,
    });
    const prefix = truthPrefix(connection.roomId, notice.cmd, notice.id);
    connection.send({ bytes, pieces: [bytes] }, (ok) => {
      if (!ok) return;
      this.#o.counters.messagesSent++;
      this.#o.counters.bytesSent += bytes.length;
      this.#o.truth?.append(prefix + truthSuffix(connection.id, this.#now()));
    });
  }

  /**
   * Writes `messages` to every listener of `room` (truncated to the room's budget). Returns how
   * many were queued.
   */
  deliver(room: SimRoom, messages: SimMessage[]): number {
    const { server, counters, truth, rng } = this.#o;
    const listeners = server.rooms.get(room.roomId);
    if (!listeners || listeners.size === 0) return 0;
    const allowed = Math.min(messages.length, this.remaining(room.roomId));
    if (allowed === 0) return 0;
    if (allowed < messages.length) messages = messages.slice(0, allowed);
    const count = messages.length;

    // One layout per batch, shared by all variants: a few plain packets first, then a bundle.
    const singles = count === 1 ? (rng.chance(0.5) ? 1 : 0) : rng.chance(0.2) ? 1 : 0;
    const cuts = [rng.next(), rng.next()];
    const frames = new Map<number, Frame>();
    // Every message as a ver-0 packet, back to back in one buffer, per variant (0 plain, 1 masked).
    const personal = messages.some((m) => m.personal);
    const encoded: (EncodedBatch | undefined)[] = [];
    const encode = (masked: number): EncodedBatch =>
      encoded[masked] ??= encodeBatch(this.#scratch[masked], messages, masked === 1);
    const frameFor = (c: ClientConnection): Frame => {
      const masked = c.masked && personal ? 1 : 0;
      const key = c.protover * 2 + masked;
      let frame = frames.get(key);
      if (frame) return frame;
      const { bytes: all, offsets } = encode(masked);
      const plain = c.protover === 1 ? count : singles;
      // `all` lives in a scratch buffer: every frame gets bytes of its own.
      let bytes: Uint8Array;
      if (plain === count) bytes = all.slice();
      else {
        const b = bundle(all.subarray(offsets[plain]), c.protover as 2 | 3);
        bytes = plain === 0
          ? b
          : concat([all.subarray(0, offsets[plain]), b], offsets[plain] + b.length);
      }
      frame = { bytes, pieces: splitFrame(bytes, cuts[0], cuts[1]) };
      frames.set(key, frame);
      return frame;
    };

    const prefixes = truth ? messages.map((m) => truthPrefix(room.roomId, m.cmd, m.id)) : [];
    const batch: Batch = { room, count, pending: 0, delivered: false };
    this.#used.set(room.roomId, (this.#used.get(room.roomId) ?? 0) + count);
    const settle = () => {
      if (--batch.pending > 0) return;
      if (batch.delivered) counters.roomMessages += count;
      else this.#used.set(room.roomId, (this.#used.get(room.roomId) ?? count) - count);
    };
    batch.pending++; // held until the loop below has queued every write
    for (const c of listeners) {
      if (c.state !== "open") continue;
      if (!c.admits(count)) {
        counters.messagesWithheld += count; // the throttle fault
        continue;
      }
      const frame = frameFor(c);
      if (c.corruptNext) {
        c.send(corrupted(frame));
        c.end();
        continue;
      }
      batch.pending++;
      c.send(frame, (ok) => {
        if (ok) {
          batch.delivered = true;
          counters.messagesSent += count;
          counters.bytesSent += frame.bytes.length;
          if (truth) {
            const suffix = truthSuffix(c.id, this.#now());
            let text = "";
            for (const prefix of prefixes) text += prefix + suffix;
            truth.append(text);
          }
        }
        settle();
      });
    }
    settle();
    return count;
  }
}

/** A copy of `frame` whose first header claims a 10-byte packet: any client must reject it. */
function corrupted(frame: Frame): Frame {
  const bytes = frame.bytes.slice();
  writeHeader(bytes, 0, {
    packetLength: 10,
    headerLength: HEADER_LENGTH,
    ver: Ver.json,
    op: Op.message,
    seq: 0,
  });
  return { bytes, pieces: [bytes] };
}
