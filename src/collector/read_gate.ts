/**
 * Backpressure between storage and readers. Sockets can deliver faster than SQLite writes
 * (a reader drains a whole kernel buffer in one turn of the event loop), so when the queue
 * holds `pauseAt` events, or half its memory budget, while storage is healthy, readers wait
 * before their next read and the backlog stays in the kernels' socket buffers. While writes
 * fail, readers never wait: collection goes on into memory up to the queue's limit, and what
 * does not fit is dropped and counted.
 */
import type { EventQueue } from "./event_queue.ts";

/** Readers pause (storage healthy) once the queue holds this fraction of its memory budget. */
export const PAUSE_FRACTION = 0.5;

/** The gate readers ask before each read. */
export class ReadGate {
  readonly #queue: EventQueue;
  readonly #pauseAt: number;
  readonly #storageFailing: () => boolean;
  #closed?: PromiseWithResolvers<void>;
  #disposed = false;
  /** Times readers were paused. */
  pauses = 0;

  constructor(queue: EventQueue, pauseAt: number, storageFailing: () => boolean) {
    this.#queue = queue;
    this.#pauseAt = pauseAt;
    this.#storageFailing = storageFailing;
  }

  /** Undefined when reading may go on; otherwise a promise that settles when it may. */
  wait(): Promise<void> | undefined {
    if (this.#disposed) return undefined;
    if (this.#closed) return this.#closed.promise;
    if (!this.#full() || this.#storageFailing()) return undefined;
    this.pauses++;
    this.#closed = Promise.withResolvers<void>();
    return this.#closed.promise;
  }

  /** Re-checks after storage made progress (or failed); opens the gate when reading may go on. */
  update(): void {
    if (!this.#closed) return;
    if (!this.#full() || this.#storageFailing()) this.#open();
  }

  #full(): boolean {
    const queue = this.#queue;
    return queue.size >= this.#pauseAt || queue.bytes >= queue.maxBytes * PAUSE_FRACTION;
  }

  #open(): void {
    this.#closed?.resolve();
    this.#closed = undefined;
  }

  /** Opens the gate for good (shutdown: paused readers must see their sockets close). */
  [Symbol.dispose](): void {
    this.#disposed = true;
    this.#open();
  }
}
