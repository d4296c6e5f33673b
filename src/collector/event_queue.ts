/**
 * The bounded queue between readers and the flusher. Readers push synchronously and never
 * wait. The bound is a memory budget, estimated per event without serializing it: once the
 * waiting events' estimate would pass `maxBytes`, every new event, of any kind, is dropped and
 * counted per type. Dropping only happens while storage fails or falls far behind: while it
 * is healthy the read gate pauses readers long before the budget is reached.
 */
import type { CollectedEvent } from "../normalize/events.ts";
import { COLLECT_DEFAULTS } from "../defaults.ts";

/** Once full, the queue drops new events until it has drained to this fraction of its budget. */
export const RESUME_FRACTION = 0.9;

/** Options of {@linkcode EventQueue}. */
export interface EventQueueOptions {
  /**
   * Memory budget: estimated bytes of the waiting events.
   * @default {COLLECT_DEFAULTS.queueLimitBytes}
   */
  maxBytes?: number;
  /**
   * Size (events) at which `onHighWater` fires, to flush early.
   * @default {COLLECT_DEFAULTS.flushHighWater}
   */
  highWaterMark?: number;
  /** Called when the queue reaches the high-water mark (once per crossing). */
  onHighWater?: () => void;
  /**
   * Called with `true` when the queue starts dropping, and with `false` when it accepts events
   * again, with the total dropped so far.
   */
  onDropping?: (dropping: boolean, droppedTotal: number) => void;
}

/**
 * Heap bytes one event holds, estimated: the object with its fields, and every string at two
 * bytes a character (V8 stores text outside Latin-1 in two-byte strings) plus its header.
 * Measured against the real heap (Deno 2.9, simulator traffic) it errs on the high side.
 */
export function estimateEventBytes(event: CollectedEvent): number {
  switch (event.type) {
    case "danmaku":
      return 360 +
        text(event.cmd) + text(event.uname) + text(event.text) + text(event.msgId) +
        text(event.userHash) + text(event.medalName) + text(event.medalAnchorUname) +
        text(event.emoticon) + text(event.replyToUname);
    case "gift":
      return 360 +
        text(event.cmd) + text(event.uname) + text(event.giftName) + text(event.coinType) +
        text(event.tid) + text(event.rnd) + text(event.action) + text(event.blindBoxGiftName) +
        text(event.medalName) + text(event.medalAnchorUname);
    case "superChat":
      return 320 +
        text(event.cmd) + text(event.uname) + text(event.message) + text(event.messageJpn) +
        text(event.medalName) + text(event.medalAnchorUname);
    case "guardBuy":
      return 240 +
        text(event.cmd) + text(event.uname) + text(event.unit) + text(event.payflowId) +
        text(event.giftName);
    case "interaction":
      return 240 +
        text(event.cmd) + text(event.uname) + text(event.medalName) +
        text(event.medalAnchorUname);
    case "superChatDeletion":
      return 96;
    case "entry":
      return 240 + text(event.cmd) + text(event.uname) + text(event.copyWriting);
    case "lottery":
      return 280 +
        text(event.cmd) + text(event.awardName) + text(event.danmu) + text(event.giftName) +
        text(event.requireText) + text(event.winners);
    case "rankChange":
      return 160 + text(event.cmd) + text(event.rankName);
    case "onlineRank":
      return 200 + text(event.cmd) + text(event.rankType) + text(event.uname);
    case "audience":
      return 96;
    case "roomState":
      return 240 +
        text(event.cmd) + text(event.liveKey) + text(event.title) + text(event.areaName) +
        text(event.parentAreaName) + text(event.uname) + text(event.message) + text(event.text);
    case "raw":
      return 120 + text(event.cmd) + text(event.text);
    case "session":
      return 160 + text(event.sessionId) + text(event.host) + text(event.transport) +
        text(event.reason);
    case "room":
      return 200 +
        text(event.uname) + text(event.title) + text(event.areaName) +
        text(event.parentAreaName);
    default: {
      // Every event type has a case: a new one fails to compile here until it gets its own.
      const unknownType: never = event;
      return unknownType;
    }
  }
}

function text(value: string | null): number {
  return value === null ? 0 : 24 + value.length * 2;
}

/** A FIFO of events bounded by an estimate of their memory, with drop counters. */
export class EventQueue {
  #items: CollectedEvent[] = [];
  /** Estimated bytes of each waiting event, parallel to `#items`. */
  #sizes: number[] = [];
  /** Index of the oldest waiting event: removing a chunk moves it instead of copying the rest. */
  #head = 0;
  #bytes = 0;
  readonly #maxBytes: number;
  readonly #highWater: number;
  readonly #onHighWater?: () => void;
  readonly #onDropping?: (dropping: boolean, droppedTotal: number) => void;
  #signalled = false;
  #dropping = false;
  #droppedTotal = 0;
  /** Events dropped because the queue was full, by event type. */
  readonly dropped = new Map<string, number>();
  /** Events accepted since start. */
  accepted = 0;
  /** Most events ever waiting at once. */
  peakSize = 0;
  /** Most estimated bytes ever waiting at once (never above `maxBytes`). */
  peakBytes = 0;

  constructor(options: EventQueueOptions = {}) {
    this.#maxBytes = options.maxBytes ?? COLLECT_DEFAULTS.queueLimitBytes;
    this.#highWater = options.highWaterMark ?? COLLECT_DEFAULTS.flushHighWater;
    this.#onHighWater = options.onHighWater;
    this.#onDropping = options.onDropping;
  }

  /** Events waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Estimated bytes of the waiting events (see {@linkcode estimateEventBytes}). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The memory budget, in estimated bytes. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Whether new events are being dropped (the queue filled and has not drained since). */
  get dropping(): boolean {
    return this.#dropping;
  }

  /** Total events dropped. */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  /**
   * Appends an event; returns false when it was dropped because the queue is full. Every kind
   * counts, session and room events included. Once full, the queue drops every new event until
   * it has drained to {@linkcode RESUME_FRACTION} of its budget, so that dropping starts and
   * stops once instead of flapping on every small event that would still fit.
   */
  push(event: CollectedEvent): boolean {
    const size = estimateEventBytes(event);
    const room = this.#dropping ? this.#maxBytes * RESUME_FRACTION : this.#maxBytes;
    if (this.#bytes + size > room) {
      this.dropped.set(event.type, (this.dropped.get(event.type) ?? 0) + 1);
      this.#droppedTotal++;
      if (!this.#dropping) {
        this.#dropping = true;
        this.#onDropping?.(true, this.#droppedTotal);
      }
      return false;
    }
    if (this.#dropping) {
      this.#dropping = false;
      this.#onDropping?.(false, this.#droppedTotal);
    }
    this.#items.push(event);
    this.#sizes.push(size);
    this.#bytes += size;
    this.accepted++;
    const waiting = this.#items.length - this.#head;
    if (waiting > this.peakSize) this.peakSize = waiting;
    if (this.#bytes > this.peakBytes) this.peakBytes = this.#bytes;
    if (!this.#signalled && waiting >= this.#highWater) {
      this.#signalled = true;
      this.#onHighWater?.();
    }
    return true;
  }

  /**
   * The oldest `max` events (or all), still queued: the flusher writes them, then
   * {@linkcode release}s them, so a failed write needs no undo and the budget holds throughout.
   */
  peek(max = Infinity): CollectedEvent[] {
    return this.#items.slice(this.#head, Math.min(this.#items.length, this.#head + max));
  }

  /**
   * Removes `batch`, the events a {@linkcode peek} returned, once written: only as far as they
   * are still the oldest waiting (a `take()` in between, at a forced exit, already removed them).
   */
  release(batch: readonly CollectedEvent[]): void {
    const head = this.#head;
    const limit = Math.min(this.#items.length, head + batch.length);
    let end = head;
    while (end < limit && this.#items[end] === batch[end - head]) end++;
    this.#remove(end);
  }

  /** Removes and returns up to `max` of the oldest events (at exit: to save them elsewhere). */
  take(max = Infinity): CollectedEvent[] {
    const batch = this.peek(max);
    this.#remove(this.#head + batch.length);
    return batch;
  }

  /** Removes the waiting events before index `end` of `#items`. */
  #remove(end: number): void {
    if (end === this.#items.length) {
      this.#items = [];
      this.#sizes = [];
      this.#head = 0;
      this.#bytes = 0;
    } else {
      let freed = 0;
      for (let i = this.#head; i < end; i++) freed += this.#sizes[i];
      this.#bytes -= freed;
      this.#head = end;
      if (this.#head > this.#items.length / 2) {
        // Drop the removed half once in a while.
        this.#items = this.#items.slice(this.#head);
        this.#sizes = this.#sizes.slice(this.#head);
        this.#head = 0;
      }
    }
    if (this.size < this.#highWater) this.#signalled = false;
  }
}
