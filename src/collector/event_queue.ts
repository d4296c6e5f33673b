/**
 * The bounded queue between readers and the flusher. Readers push synchronously and never
 * wait. Overflow policy: once `maxEvents` are waiting (storage failing for a long time),
 * new message events are dropped and counted per type; session and room events, which
 * record the collection's own history, are always kept.
 */
import type { CollectedEvent } from "../normalize/events.ts";

/** Options of {@linkcode EventQueue}. */
export interface EventQueueOptions {
  /** Most events held; beyond it message events are dropped. @default {2000000} */
  maxEvents?: number;
  /** Size at which `onHighWater` fires, to flush early. @default {20000} */
  highWaterMark?: number;
  /** Called when the queue reaches the high-water mark (once per crossing). */
  onHighWater?: () => void;
}

/** A bounded FIFO of events with drop counters. */
export class EventQueue {
  #items: CollectedEvent[] = [];
  /** Index of the oldest waiting event: taking a chunk moves it instead of copying the rest. */
  #head = 0;
  readonly #max: number;
  readonly #highWater: number;
  readonly #onHighWater?: () => void;
  #signalled = false;
  /** Events dropped because the queue was full, by event type. */
  readonly dropped = new Map<string, number>();
  /** Events accepted since start. */
  accepted = 0;

  constructor(options: EventQueueOptions = {}) {
    this.#max = options.maxEvents ?? 2_000_000;
    this.#highWater = options.highWaterMark ?? 20_000;
    this.#onHighWater = options.onHighWater;
  }

  /** Events waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an event; returns false when it was dropped because the queue is full. */
  push(event: CollectedEvent): boolean {
    if (this.size >= this.#max && event.type !== "session" && event.type !== "room") {
      this.dropped.set(event.type, (this.dropped.get(event.type) ?? 0) + 1);
      return false;
    }
    this.#items.push(event);
    this.accepted++;
    if (!this.#signalled && this.size >= this.#highWater) {
      this.#signalled = true;
      this.#onHighWater?.();
    }
    return true;
  }

  /** Removes and returns up to `max` of the oldest events. */
  take(max = Infinity): CollectedEvent[] {
    let batch: CollectedEvent[];
    if (max >= this.size) {
      batch = this.#head === 0 ? this.#items : this.#items.slice(this.#head);
      this.#items = [];
      this.#head = 0;
    } else {
      batch = this.#items.slice(this.#head, this.#head + max);
      this.#head += max;
      if (this.#head > this.#items.length / 2) {
        this.#items = this.#items.slice(this.#head); // drop the taken half once in a while
        this.#head = 0;
      }
    }
    if (this.size < this.#highWater) this.#signalled = false;
    return batch;
  }

  /**
   * Puts a batch that could not be written back in front, in order. This restores the state
   * before `take()`, so it is not a new high-water crossing: the failed write is retried on the
   * next timed flush, not on the next push.
   */
  requeue(batch: CollectedEvent[]): void {
    this.#items = batch.concat(this.#head === 0 ? this.#items : this.#items.slice(this.#head));
    this.#head = 0;
    if (this.size >= this.#highWater) this.#signalled = true;
  }

  /** Total events dropped. */
  get droppedTotal(): number {
    let total = 0;
    for (const count of this.dropped.values()) total += count;
    return total;
  }
}
