/**
 * The timer-driven writer: every flush interval, and early when the queue reaches its
 * high-water mark, it moves queued events into the store. A failed write puts its batch
 * back and is retried on the next flush; the error is logged once per distinct message.
 */
import { StorageError } from "../errors.ts";
import type { CollectedEvent } from "../normalize/events.ts";
import type { Clock } from "../util/clock.ts";
import type { EventQueue } from "./event_queue.ts";

/** Where flushed events go (the SQLite store, or a no-op sink for dry runs). */
export interface EventSink {
  write(events: readonly CollectedEvent[]): unknown;
}

/** Options of {@linkcode Flusher}. */
export interface FlusherOptions {
  queue: EventQueue;
  sink: EventSink;
  clock: Clock;
  /** @default {10000} */
  intervalMs?: number;
  /** Events per transaction; a backlog is written in several, yielding in between. @default {20000} */
  chunkSize?: number;
  log: (line: string) => void;
  /** Called after every chunk written and every failed write (the read gate re-checks). */
  onProgress?: () => void;
}

/** Moves events from the queue to the sink on a timer. */
export class Flusher {
  readonly #options: FlusherOptions;
  #wake = Promise.withResolvers<void>();
  #lastError = "";
  /** Events written so far. */
  written = 0;
  /** Flushes that failed. */
  failures = 0;
  /** Duration of the last flush, ms. */
  lastFlushMs = 0;
  /** The last write error, while writes are failing. */
  currentError: string | undefined;

  constructor(options: FlusherOptions) {
    this.#options = options;
  }

  /** Asks for an early flush (the queue hit its high-water mark). */
  wake(): void {
    this.#wake.resolve();
  }

  /** Flushes on the timer until `signal` aborts; does not do the final flush. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    while (!signal.aborted) {
      const timer = new AbortController();
      const onAbort = () => timer.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      await Promise.race([
        clock.sleep(this.#options.intervalMs ?? 10_000, timer.signal),
        this.#wake.promise,
      ]);
      timer.abort();
      signal.removeEventListener("abort", onAbort);
      this.#wake = Promise.withResolvers<void>();
      if (signal.aborted) return;
      await this.flush();
    }
  }

  /**
   * Writes everything queued now. Returns true when the queue was emptied; on a write error
   * the failed chunk and everything after it stay queued.
   */
  async flush(): Promise<boolean> {
    const { queue, sink, clock, log } = this.#options;
    const chunkSize = this.#options.chunkSize ?? 20_000;
    const started = clock.now();
    let remaining = queue.size;
    while (remaining > 0) {
      const batch = queue.take(Math.min(chunkSize, remaining));
      remaining -= batch.length;
      try {
        await sink.write(batch);
      } catch (error) {
        queue.requeue(batch);
        this.failures++;
        const message = error instanceof StorageError
          ? error.message
          : `Cannot write events: ${(error as Error).message}`;
        this.currentError = message;
        this.#options.onProgress?.();
        if (message !== this.#lastError) {
          this.#lastError = message;
          log(
            `level=error msg=${
              JSON.stringify(message)
            } queued=${queue.size} action="kept in memory, retrying every flush"`,
          );
        }
        return false;
      }
      this.written += batch.length;
      if (this.currentError) {
        log(`level=info msg="Writes succeed again" written=${this.written}`);
        this.currentError = undefined;
        this.#lastError = "";
      }
      this.#options.onProgress?.();
      // Readers run only between the last chunks: while a whole chunk or more is waiting, the
      // backlog stays in the kernel's socket buffers instead of growing the heap (bounded memory
      // when storage is slower than the rooms).
      if (remaining > 0 && remaining < chunkSize) {
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    this.lastFlushMs = clock.now() - started;
    return true;
  }
}
