/** The HTTP rate limit that answers 412: per client IP, N requests per second, then a ban. */

/** Most client IPs tracked; the table is cleared when it grows beyond this. */
const MAX_TRACKED_IPS = 10_000;

interface Window {
  start: number;
  count: number;
  bannedUntil: number;
}

/** Fixed one-second windows per IP; exceeding `perSecond` bans the IP for `banMs`. */
export class RateLimiter {
  #perSecond: number;
  #banMs: number;
  #windows = new Map<string, Window>();

  /** `perSecond` 0 disables the limit. */
  constructor(perSecond: number, banMs: number) {
    this.#perSecond = perSecond;
    this.#banMs = banMs;
  }

  /** Counts a request; false when it must be refused with 412. */
  allow(ip: string, now: number): boolean {
    if (this.#perSecond <= 0) return true;
    let w = this.#windows.get(ip);
    if (!w) {
      if (this.#windows.size >= MAX_TRACKED_IPS) this.#windows.clear();
      this.#windows.set(ip, w = { start: now, count: 0, bannedUntil: 0 });
    }
    if (now < w.bannedUntil) return false;
    if (now - w.start >= 1000) {
      w.start = now;
      w.count = 0;
    }
    if (++w.count > this.#perSecond) {
      w.bannedUntil = now + this.#banMs;
      return false;
    }
    return true;
  }
}
