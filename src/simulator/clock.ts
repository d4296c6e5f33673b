/** Time as the simulator reads it, so tests can drive heartbeats and schedules without sleeping. */

/** A source of wall-clock milliseconds (like `Date.now`). */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  #now: number;
  /** Starts at `start` ms since the epoch. @default {1_750_000_000_000} */
  constructor(start = 1_750_000_000_000) {
    this.#now = start;
  }
  /** The current fake time in ms. */
  now(): number {
    return this.#now;
  }
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }
}
