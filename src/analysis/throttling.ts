/**
 * Suspected throttling: Bilibili silently sends fewer danmaku to a connection that watches
 * many rooms or has been open for hours. The rule (docs/export.md): cut time into aligned
 * windows (10 min); a window is eligible when sessions cover ≥ 90 % of it and the room was not
 * known to be offline (a PREPARING in effect during it); the room's baseline is the median
 * danmaku count of its eligible windows; an eligible window with fewer than 10 % of that
 * baseline is flagged, but only when the baseline is at least 10 danmaku per window.
 */
import { median } from "./density.ts";

/** Parameters of the throttling rule. */
export interface ThrottleRule {
  /** Window length. @default {600_000} */
  windowMs: number;
  /** A window is flagged below this fraction of the median. @default {0.1} */
  ratio: number;
  /** Smallest median (danmaku per window) worth judging. @default {10} */
  minMedian: number;
  /** Fraction of a window that sessions must cover for it to count. @default {0.9} */
  minCoverage: number;
}

/** The rule `stats` applies. */
export const THROTTLE_RULE: Readonly<ThrottleRule> = Object.freeze({
  windowMs: 600_000,
  ratio: 0.1,
  minMedian: 10,
  minCoverage: 0.9,
});

/** One window of a room. */
export interface RateWindow {
  /** Window start, unix ms (a multiple of the window length). */
  startMs: number;
  /** Danmaku received in it. */
  count: number;
  /** Fraction of it covered by open sessions, 0 to 1. */
  coverage: number;
  /** Whether the room was known to be offline (not streaming) during it. */
  offline: boolean;
}

/** A run of consecutive flagged windows. */
export interface FlaggedRun {
  fromMs: number;
  toMs: number;
  /** Danmaku received in the run. */
  count: number;
  /** What the baseline predicts for the run (median × windows). */
  expected: number;
}

/** The verdict for one room. */
export interface ThrottleVerdict {
  suspected: boolean;
  /** Eligible windows. */
  windows: number;
  /** Median danmaku per eligible window. */
  medianPerWindow: number;
  flagged: FlaggedRun[];
}

/** Applies the rule to a room's windows (ascending by start). */
export function detectThrottling(
  windows: readonly RateWindow[],
  rule: ThrottleRule = THROTTLE_RULE,
): ThrottleVerdict {
  const eligible = windows.filter((w) => w.coverage >= rule.minCoverage && !w.offline);
  const base = median(eligible.map((w) => w.count));
  const flagged: FlaggedRun[] = [];
  if (base >= rule.minMedian) {
    for (const w of eligible) {
      if (w.count >= base * rule.ratio) continue;
      const last = flagged[flagged.length - 1];
      if (last && last.toMs === w.startMs) {
        last.toMs += rule.windowMs;
        last.count += w.count;
        last.expected += base;
      } else {
        flagged.push({
          fromMs: w.startMs,
          toMs: w.startMs + rule.windowMs,
          count: w.count,
          expected: base,
        });
      }
    }
  }
  return {
    suspected: flagged.length > 0,
    windows: eligible.length,
    medianPerWindow: base,
    flagged,
  };
}

/** A LIVE or PREPARING seen for a room. */
export interface LiveChange {
  atMs: number;
  live: boolean;
}

/**
 * Whether the room was known to be offline at some point of `[fromMs, toMs)`: the last change
 * before `fromMs` is a PREPARING, or a PREPARING falls inside. Unknown state counts as online.
 */
export function knownOffline(
  changes: readonly LiveChange[],
  fromMs: number,
  toMs: number,
): boolean {
  let before: LiveChange | undefined;
  for (const c of changes) {
    if (c.atMs < fromMs) before = c;
    else if (c.atMs < toMs && !c.live) return true;
    else if (c.atMs >= toMs) break;
  }
  return before !== undefined && !before.live;
}
