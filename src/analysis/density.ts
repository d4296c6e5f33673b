/** Danmaku density: counts per minute summarised as mean and peak. */

/** A minute (its start, unix ms) and how many danmaku it had. */
export type MinuteCount = readonly [minuteMs: number, count: number];

/** Per-minute density of one room. */
export interface Density {
  /** Minutes from the first to the last minute with a danmaku, inclusive. */
  minutes: number;
  /** Minutes with at least one danmaku. */
  activeMinutes: number;
  /** Danmaku / `minutes` (quiet minutes count as 0). */
  meanPerMinute: number;
  /** Most danmaku in one minute. */
  peakPerMinute: number;
  /** Start of the (first) peak minute, unix ms; null without danmaku. */
  peakMinuteMs: number | null;
}

/** Summarises counts of the minutes that had danmaku (ascending; absent minutes are 0). */
export function densitySummary(perMinute: readonly MinuteCount[]): Density {
  if (perMinute.length === 0) {
    return { minutes: 0, activeMinutes: 0, meanPerMinute: 0, peakPerMinute: 0, peakMinuteMs: null };
  }
  let total = 0;
  let peak = perMinute[0];
  for (const minute of perMinute) {
    total += minute[1];
    if (minute[1] > peak[1]) peak = minute;
  }
  const minutes = (perMinute[perMinute.length - 1][0] - perMinute[0][0]) / 60_000 + 1;
  return {
    minutes,
    activeMinutes: perMinute.length,
    meanPerMinute: total / minutes,
    peakPerMinute: peak[1],
    peakMinuteMs: peak[0],
  };
}

/** Median of `values` (0 for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
