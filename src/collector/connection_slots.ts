/** A counting semaphore for danmaku connections: the per-IP cap shared by every room. */

/**
 * Default of `SupervisorOptions.setupConcurrency` and `--setup-concurrency`: rooms setting up at
 * once (first API call until the danmaku connection is open). Measured before the ramp GC at 1,000
 * idle rooms: an unbounded burst grew RSS by ≈ 75 KB per room that no GC returned within 20 s; 32
 * at a time, 44 KB. With the ramp GC, its follow-up and the malloc trim, RSS once settled at 1,000
 * / 5,000 / 10,000 idle rooms (KB per room, ± 1): 256 → 18.1 / 15.6 / 14.8, 64 → 18.8 / 14.7 /
 * 14.2, 32 → 19.2 / 14.9 / 14.4 — the same within noise; a narrower window only lowers the ramp's
 * peak. A narrower window makes a ramp of very busy rooms long: in the collect suite (100 rooms at
 * 2,000 msg/s each against a saturated simulator) rooms that connect after the first ones flood
 * the queue go live late (2026-12-02, after the auth reply was exempted from the read gate and the
 * flusher yields while rooms connect: 32 → all live after 42 and 65 s in two runs, with 152,036
 * and 12,011 messages "lost": backlog still in kernel buffers when the bench's simulator stopped
 * and reset those connections; 64 → 7.6 s, 0 lost; 256 → 1.4 s, 0 lost). So the default keeps
 * ramps of a few hundred rooms unbounded. On the real site `--api-rate 1` paces setups far below
 * either bound.
 */
export const SETUP_CONCURRENCY = 256;

/** At most `limit` holders at once; waiters are served in order. */
export class ConnectionSlots {
  readonly limit: number;
  #inUse = 0;
  #waiters: Array<() => void> = [];
  /** Slots granted so far. */
  granted = 0;
  /** Called when the last slot is given back and nobody waits. */
  onIdle?: () => void;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Slots held now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Rooms waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a slot, waiting if none is free. Returns false when `signal` aborted first. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.#inUse < this.limit) {
      this.#inUse++;
      this.granted++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener("abort", cancel);
        this.#inUse++;
        this.granted++;
        resolve(true);
      };
      const cancel = () => {
        this.#waiters = this.#waiters.filter((w) => w !== grant);
        resolve(false);
      };
      this.#waiters.push(grant);
      signal?.addEventListener("abort", cancel, { once: true });
    });
  }

  /** Gives a slot back, handing it to the next waiter. */
  release(): void {
    this.#inUse = Math.max(0, this.#inUse - 1);
    const next = this.#waiters.shift();
    next?.();
    if (this.#inUse === 0 && this.#waiters.length === 0) this.onIdle?.();
  }
}
