/** Exponential backoff with jitter, as a pure function. */
import { COLLECT_DEFAULTS } from "../defaults.ts";

/** Options of {@linkcode backoffDelay}. */
export interface BackoffOptions {
  /** Delay of the first retry. @default {COLLECT_DEFAULTS.minBackoffMs} */
  baseMs?: number;
  /** Largest delay. @default {COLLECT_DEFAULTS.maxBackoffMs} */
  maxMs?: number;
  /** Fraction of the delay that is randomized (0 = none, 1 = "full jitter"). @default {0.5} */
  jitter?: number;
}

/**
 * Delay before retry number `attempt` (0-based): `base·2^attempt`, capped at `max`, of which a
 * `jitter` fraction is random so that many rooms failing together do not retry together.
 */
export function backoffDelay(
  attempt: number,
  random: number,
  options: BackoffOptions = {},
): number {
  const base = options.baseMs ?? COLLECT_DEFAULTS.minBackoffMs;
  const max = options.maxMs ?? COLLECT_DEFAULTS.maxBackoffMs;
  const jitter = options.jitter ?? 0.5;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (1 - jitter) + ceiling * jitter * random);
}
