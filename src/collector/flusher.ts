/**
 * The timer-driven writer: every flush interval, and early when the queue reaches its
 * high-water mark, it moves queued events into the store. Events leave the queue only once
 * written: a failed write leaves them queued and is retried on the next flush. It logs one
 * line when writes start failing and one when they succeed again, however many flushes fail
 * in between.
 */
import { StorageError } from "../errors.ts";
import type { CollectedEvent } from "../normalize/events.ts";
import type { Clock } from "../util/clock.ts";
import { formatMegabytes } from "../util/byte_size.ts";
import type { EventQueue } from "./event_queue.ts";
import { fieldLogger } from "../util/log.ts";
import { COLLECT_DEFAULTS } from "../defaults.ts";

/** Where flushed events go (the SQLite store, or a no-op sink for dry runs). */
export interface EventSink {
  write(events: readonly CollectedEvent[]): unknown;
}

/** Options of {@linkcode Flusher}. */
export interface FlusherOptions {
  queue: EventQueue;
  sink: EventSink;
  clock: Clock;
  /** How often queued events are written. @default {COLLECT_DEFAULTS.flushIntervalMs} */
  intervalMs?: number;
  /** Events per transaction; a backlog is written in several, yielding in between. @default {20000} */
  chunkSize?: number;
  log: (line: string) => void;
  /** Called after every chunk written and every failed write (the read gate re-checks). */
  onProgress?: () => void;
  /**
   * While it returns true, the event loop runs between every two chunks of a backlog, not only
   * before the last one: a connection waiting for its auth reply (the server closes it unless
   * op 7 came within 5 s) must not wait out a backlog of many chunks. @default {never}
   */
  yieldBetweenChunks?: () => boolean;
}

/** Moves events from the queue to the sink on a timer. */
export class Flusher {
  readonly #options: FlusherOptions;
  #wake = Promise.withResolvers<void>();
  /** The flush in progress (flushes run one at a time: two would write the same events). */
  #flushing: Promise<unknown> = Promise.resolve();
  /** When writes started failing, while they fail. */
  #failingSince = 0;
  /** Failed flushes in the current failure. */
  #failedFlushes = 0;
  /** Events written so far. */
  written = 0;
  /**
   * Rows inserted or changed so far, by table, from what the sink's `write` returns (the
   * store's counts per table; nothing for a sink that returns none).
   */
  readonly rows = new Map<string, number>();
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
        clock.sleep(this.#options.intervalMs ?? COLLECT_DEFAULTS.flushIntervalMs, timer.signal),
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
   * the failed chunk and everything after it stay queued. A call made while another flush
   * runs waits for it, then flushes what is left.
   */
  flush(): Promise<boolean> {
    const next = this.#flushing.then(() => this.#flushAll());
    this.#flushing = next.catch(() => {});
    return next;
  }

  async #flushAll(): Promise<boolean> {
    const { queue, sink, clock } = this.#options;
    const chunkSize = this.#options.chunkSize ?? 20_000;
    const started = clock.now();
    let remaining = queue.size;
    while (remaining > 0) {
      const batch = queue.peek(Math.min(chunkSize, remaining));
      try {
        this.#countRows(await sink.write(batch));
      } catch (error) {
        this.#failed(error);
        return false;
      }
      queue.release(batch);
      remaining -= batch.length;
      this.written += batch.length;
      if (this.currentError !== undefined) this.#recovered();
      this.#options.onProgress?.();
      // Readers run only between the last chunks: while a whole chunk or more is waiting, the
      // backlog stays in the kernel's socket buffers instead of growing the heap (bounded memory
      // when storage is slower than the rooms). Connections setting up are served in between.
      if (remaining > 0 && (remaining < chunkSize || this.#options.yieldBetweenChunks?.())) {
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    this.lastFlushMs = clock.now() - started;
    return true;
  }

  /** Adds a write's rows per table (every numeric field but `unchanged`) to {@linkcode rows}. */
  #countRows(result: unknown): void {
    if (typeof result !== "object" || result === null) return;
    for (const [table, count] of Object.entries(result)) {
      if (table === "unchanged" || typeof count !== "number") continue;
      this.rows.set(table, (this.rows.get(table) ?? 0) + count);
    }
  }

  #failed(error: unknown): void {
    const { queue, clock, log } = this.#options;
    this.failures++;
    this.#failedFlushes++;
    const message = error instanceof StorageError
      ? error.message
      : `Cannot write events: ${error instanceof Error ? error.message : String(error)}`;
    const first = this.currentError === undefined;
    this.currentError = message;
    this.#options.onProgress?.();
    if (!first) return;
    this.#failingSince = clock.now();
    fieldLogger(log).error(
      "Writes are failing: events stay queued in memory and are retried every flush",
      {
        error: message,
        queued: queue.size,
        queue_mb: formatMegabytes(queue.bytes),
        limit_mb: formatMegabytes(queue.maxBytes),
      },
    );
  }

  #recovered(): void {
    const { queue, clock, log } = this.#options;
    fieldLogger(log).info("Writes succeed again", {
      failed_for_ms: clock.now() - this.#failingSince,
      failed_flushes: this.#failedFlushes,
      written: this.written,
      queued: queue.size,
    });
    this.currentError = undefined;
    this.#failedFlushes = 0;
  }
}
