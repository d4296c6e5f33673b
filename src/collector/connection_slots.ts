/** A counting semaphore for danmaku connections: the per-IP cap shared by every room. */

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
