/** One global pace for Bilibili API calls, with a shared pause after 412 / -352 answers. */
import type { Clock } from "./clock.ts";

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Requests per second. @default {1} */
  perSecond?: number;
  clock: Clock;
}

/**
 * Spaces calls `1/perSecond` apart, in arrival order, and lets one caller pause everybody
 * (`pauseFor`) when the server says "slow down". Waiters leave early once their signal aborts.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #clock: Clock;
  #nextSlot = 0;
  #pausedUntil = 0;
  /** Number of calls let through. */
  granted = 0;

  constructor(options: RateLimiterOptions) {
    const perSecond = options.perSecond ?? 1;
    this.#intervalMs = perSecond > 0 ? 1000 / perSecond : 0;
    this.#clock = options.clock;
  }

  /** Waits for this caller's slot. Returns false when `signal` aborted first. */
  async take(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const now = this.#clock.now();
      const slot = Math.max(this.#nextSlot, this.#pausedUntil, now);
      if (slot <= now) {
        this.#nextSlot = now + this.#intervalMs;
        this.granted++;
        return true;
      }
      // Reserve the slot, then re-check after sleeping: a pause may have moved it.
      this.#nextSlot = slot + this.#intervalMs;
      await this.#clock.sleep(slot - now, signal);
      if (signal?.aborted) return false;
      if (this.#clock.now() >= this.#pausedUntil) {
        this.granted++;
        return true;
      }
    }
  }

  /** Holds every caller back until `ms` from now (e.g. after HTTP 412). */
  pauseFor(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + ms);
  }

  /** When calls may resume, in clock milliseconds (0 when not paused). */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }
}
