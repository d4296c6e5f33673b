/**
 * Times Bilibili sends in more than one unit. Fields documented as milliseconds arrive in
 * seconds in older eras (DANMU_MSG `info[0][4]` was `1517306023` in 2018); entry effects
 * carry nanoseconds. Pure arithmetic, no allocation: DANMU_MSG calls this on its hot path.
 */
import { asNumber, MAX_UNIX_SECONDS } from "../util/json_guards.ts";

/**
 * Below this a positive time is unix seconds, at or above it unix ms: 1e11 s is the year
 * 5138, 1e11 ms is March 1973, so every real capture falls clearly on one side.
 */
export const SECONDS_BELOW = 100_000_000_000;

/** Times at or beyond this many unix ms (the year 5138) are garbage, not times. */
const MAX_UNIX_MS = MAX_UNIX_SECONDS * 1000;

/**
 * A time meant as unix ms that may have been sent in seconds (number or numeric string), as
 * unix ms; null when absent, not positive or absurd.
 */
export function secondsOrMsToMs(value: unknown): number | null {
  const t = asNumber(value);
  if (t === null || t <= 0) return null;
  const ms = t < SECONDS_BELOW ? t * 1000 : t;
  return ms < MAX_UNIX_MS ? ms : null;
}

/**
 * A nanosecond time (`trigger_time`) as unix ms, truncated. As a JSON number it is beyond
 * 2^53 and already rounded by `JSON.parse` (by at most 256 ns): harmless at ms precision.
 * Null when absent, not positive or absurd.
 */
export function nanosToMs(value: unknown): number | null {
  const ns = asNumber(value);
  if (ns === null || ns <= 0) return null;
  const ms = Math.trunc(ns / 1e6);
  return ms > 0 && ms < MAX_UNIX_MS ? ms : null;
}
