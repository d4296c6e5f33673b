/** A `Clock` for tests: time only moves when the test calls `advance()`. */
import type { Clock } from "../../src/util/clock.ts";

interface Sleeper {
  at: number;
  resolve: () => void;
}

/** Lets every pending promise continuation run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A manual clock. `sleep()` resolves once `advance()` moves time to or past its deadline, or
 * early when its signal aborts.
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  /** Starts at `start` ms since the epoch. @default {1_750_000_000_000} */
  constructor(start = 1_750_000_000_000) {
    this.#now = start;
  }

  /** The current fake time in ms. */
  now(): number {
    return this.#now;
  }

  /** Number of `sleep()` calls waiting. */
  get sleepers(): number {
    return this.#sleepers.length;
  }

  /** Deadlines of the waiting sleeps, earliest first. */
  get deadlines(): number[] {
    return this.#sleepers.map((s) => s.at).sort((a, b) => a - b);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /**
   * Moves time forward by `ms`, waking due sleepers in deadline order; after each wake-up the
   * woken code runs (and may sleep again) before time moves on.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#sleepers
        .filter((s) => s.at <= target)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#sleepers = this.#sleepers.filter((s) => s !== due);
      this.#now = Math.max(this.#now, due.at);
      due.resolve();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}
