/** Shared flag parsing: every error names the flag and the bad value. */
import { parseArgs } from "node:util";
import { ConfigError } from "../errors.ts";
import { parseDuration } from "../util/duration.ts";

/** Allowed range of a numeric flag. */
export interface NumberRule {
  min: number;
  max: number;
  integer?: boolean;
}

/** Parses a numeric flag, or returns `fallback` when it is absent. */
export function numberFlag<T extends number | undefined>(
  flag: string,
  value: string | undefined,
  fallback: T,
  rule: NumberRule,
): number | T {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (
    value.trim() === "" || !Number.isFinite(n) || (rule.integer && !Number.isInteger(n)) ||
    n < rule.min || n > rule.max
  ) {
    throw new ConfigError(
      `Cannot parse --${flag} "${value}": expected ${
        rule.integer ? "an integer" : "a number"
      } from ${rule.min} to ${rule.max}`,
    );
  }
  return n;
}

/** Parses a duration flag (`500ms`, `10s`, `5m`, `2h`, `1d`; a bare number is seconds). */
export function durationFlag<T extends number | undefined>(
  flag: string,
  value: string | undefined,
  fallback: T,
  minMs = 0,
): number | T {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs) {
    throw new ConfigError(
      `Cannot parse --${flag} "${value}": expected a duration such as 500ms, 10s, 5m or 2h${
        minMs > 0 ? ` of at least ${minMs} ms` : ""
      }`,
    );
  }
  return ms;
}

/** Option specs as `node:util` parseArgs takes them. */
export type FlagSpecs = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean }
>;

/** Runs parseArgs strictly, turning its errors into a ConfigError naming the command. */
export function parseFlags<T extends FlagSpecs>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError(`Cannot parse ${command} flags: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
