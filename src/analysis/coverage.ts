/**
 * Collection coverage from the `sessions` table: when a room had an open danmaku connection,
 * and the gaps between. A session without an end (still open, or the collector crashed) counts
 * as open until the room's next session starts, else until `openEndMs`.
 */

/** A half-open interval `[fromMs, toMs)`. */
export interface Interval {
  fromMs: number;
  toMs: number;
}

/** One row of `sessions`. */
export interface SessionSpan {
  startedAtMs: number;
  endedAtMs: number | null;
}

/** Merged, sorted intervals during which at least one session was open. */
export function sessionCoverage(sessions: readonly SessionSpan[], openEndMs: number): Interval[] {
  const sorted = [...sessions].sort((a, b) => a.startedAtMs - b.startedAtMs);
  const spans: Interval[] = sorted.map((s, i) => {
    const end = s.endedAtMs ??
      (i + 1 < sorted.length ? sorted[i + 1].startedAtMs : Math.max(openEndMs, s.startedAtMs));
    return { fromMs: s.startedAtMs, toMs: Math.max(end, s.startedAtMs) };
  });
  const merged: Interval[] = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span.fromMs <= last.toMs) last.toMs = Math.max(last.toMs, span.toMs);
    else merged.push({ ...span });
  }
  return merged;
}

/** `intervals` cut to `[fromMs, toMs)`, dropping the empty ones. */
export function clipIntervals(
  intervals: readonly Interval[],
  fromMs: number,
  toMs: number,
): Interval[] {
  const out: Interval[] = [];
  for (const i of intervals) {
    const a = Math.max(i.fromMs, fromMs);
    const b = Math.min(i.toMs, toMs);
    if (b > a) out.push({ fromMs: a, toMs: b });
  }
  return out;
}

/** Gaps of at least `minGapMs` between consecutive covered intervals (sorted, merged). */
export function coverageGaps(covered: readonly Interval[], minGapMs: number): Interval[] {
  const gaps: Interval[] = [];
  for (let i = 1; i < covered.length; i++) {
    const gap = { fromMs: covered[i - 1].toMs, toMs: covered[i].fromMs };
    if (gap.toMs - gap.fromMs >= minGapMs) gaps.push(gap);
  }
  return gaps;
}

/** Milliseconds of `[fromMs, toMs)` inside the sorted, merged `covered` intervals. */
export function coveredMs(covered: readonly Interval[], fromMs: number, toMs: number): number {
  let sum = 0;
  for (const i of covered) {
    if (i.fromMs >= toMs) break;
    sum += Math.max(0, Math.min(i.toMs, toMs) - Math.max(i.fromMs, fromMs));
  }
  return sum;
}
