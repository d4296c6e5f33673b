/** RSS samples of the collector and what the soak reports about them, pure. */
import { median } from "../bench/processes.ts";

/** One sample: seconds since the collector started, and its resident set in MB. */
export interface RssSample {
  atS: number;
  rssMb: number;
}

/** Min, median and max RSS over the run, and the slope of its second half. */
export interface RssSummary {
  samples: number;
  minMb: number;
  medianMb: number;
  maxMb: number;
  /** Least-squares slope over the samples of the second half of the run, in MB per minute. */
  slopeMbPerMin: number;
  /** Samples the slope was fitted to. */
  slopeSamples: number;
  /** Median and max of each half: a leak raises the second half's, a saw-tooth does not. */
  firstHalf: { medianMb: number; maxMb: number };
  secondHalf: { medianMb: number; maxMb: number };
}

function spread(samples: readonly RssSample[]): { medianMb: number; maxMb: number } {
  if (samples.length === 0) return { medianMb: 0, maxMb: 0 };
  const values = samples.map((s) => s.rssMb);
  return { medianMb: median(values), maxMb: Math.max(...values) };
}

/** The least-squares slope of y over x; 0 with fewer than two distinct x. */
export function leastSquaresSlope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Summarizes samples taken until `endS`; the slope uses those at or after `endS / 2`. */
export function summarizeRss(samples: readonly RssSample[], endS: number): RssSummary {
  if (samples.length === 0) {
    const none = { medianMb: 0, maxMb: 0 };
    return {
      samples: 0,
      minMb: 0,
      medianMb: 0,
      maxMb: 0,
      slopeMbPerMin: 0,
      slopeSamples: 0,
      firstHalf: none,
      secondHalf: none,
    };
  }
  const values = samples.map((s) => s.rssMb);
  const late = samples.filter((s) => s.atS >= endS / 2 && s.atS <= endS);
  return {
    samples: samples.length,
    minMb: Math.min(...values),
    medianMb: median(values),
    maxMb: Math.max(...values),
    slopeMbPerMin: leastSquaresSlope(late.map((s) => ({ x: s.atS / 60, y: s.rssMb }))),
    slopeSamples: late.length,
    firstHalf: spread(samples.filter((s) => s.atS < endS / 2)),
    secondHalf: spread(late),
  };
}
