/**
 * Small guards that narrow `unknown` JSON to what the normalizer needs. Bilibili's types
 * drift between eras (ids as numbers or strings, `[]` or `null` for missing arrays), so
 * every guard answers "this value, if it can be read as one, else null".
 */

/** A parsed JSON object (never an array or null). */
export type JsonObject = { readonly [key: string]: unknown };

const EMPTY_ARRAY: readonly unknown[] = Object.freeze([]);

/** `value` when it is a JSON object, else undefined. */
export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as JsonObject
    : undefined;
}

/** `value` when it is an array, else a shared empty array (indexing it gives undefined). */
export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : EMPTY_ARRAY;
}

/** A finite number, or a string holding one (`"37903025"`); else null. */
export function asNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && value !== "") {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** A string, else null. */
export function asString(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** A non-empty string, else null. */
export function asNonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * An id as text: strings as they are, integers in decimal. Keeps transaction ids such as
 * `tid` exact when they arrive as strings beyond 2^53.
 */
export function asIdText(value: unknown): string | null {
  if (typeof value === "string") return value === "" ? null : value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}

/** Unix seconds (number or numeric string) as unix ms; null when absent, not positive or absurd. */
export function secondsToMs(value: unknown): number | null {
  const seconds = asNumber(value);
  return seconds !== null && seconds > 0 && seconds < MAX_UNIX_SECONDS ? seconds * 1000 : null;
}

/** Times at or beyond this many unix seconds (year 5138) are garbage, not times. */
export const MAX_UNIX_SECONDS = 1e11;
