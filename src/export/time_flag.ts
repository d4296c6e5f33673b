/** Times on the command line: unix milliseconds or ISO 8601 with an explicit zone. */
import { ConfigError } from "../errors.ts";

// Date, or date + time + zone; a date-time without a zone would depend on the machine's zone.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Smallest unix-ms value accepted (1973-03-03); smaller numbers look like unix seconds. */
export const MIN_UNIX_MS = 1e11;

/**
 * Parses `value` as unix milliseconds (digits only) or ISO 8601 (`2024-05-01`,
 * `2024-05-01T20:00:00+08:00`, `2024-05-01T12:00:00.5Z`). A date alone means 00:00 UTC.
 * Throws a ConfigError naming `--flag` and the value.
 */
export function parseTimeFlag(flag: string, value: string): number {
  const fail = (why: string): never => {
    throw new ConfigError(`Cannot parse --${flag} "${value}": ${why}`);
  };
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (ms < MIN_UNIX_MS) {
      fail("expected unix milliseconds (13 digits); this looks like unix seconds, times 1000");
    }
    if (!Number.isSafeInteger(ms) || ms > 8.64e15) fail("the time is out of range");
    return ms;
  }
  const m = ISO.exec(text);
  if (!m) {
    fail(
      "expected unix milliseconds or ISO 8601 with a zone, e.g. 2024-05-01T20:00:00+08:00 or 2024-05-01",
    );
  }
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone = "Z"] = m!;
  if (m![4] !== undefined && m![8] === undefined) fail("add a zone (Z or +08:00)");
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59
  ) {
    fail("no such date or time");
  }
  const ms = Math.trunc(Number(`0.${frac || "0"}`) * 1000);
  let offsetMin = 0;
  if (zone.toUpperCase() !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2)), om = Number(digits.slice(2));
    if (oh > 23 || om > 59) fail("no such zone offset");
    offsetMin = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  return local + ms - offsetMin * 60_000;
}

/** ISO 8601 in UTC with milliseconds and `Z`, e.g. `2024-05-01T12:00:00.000Z`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A half-open time range `[sinceMs, untilMs)`; either end may be open. */
export interface TimeRange {
  /** Inclusive start, unix ms. */
  sinceMs: number | undefined;
  /** Exclusive end, unix ms. */
  untilMs: number | undefined;
}

/** Parses `--since` and `--until`; throws a ConfigError when until is not after since. */
export function parseTimeRange(since: string | undefined, until: string | undefined): TimeRange {
  const sinceMs = since === undefined ? undefined : parseTimeFlag("since", since);
  const untilMs = until === undefined ? undefined : parseTimeFlag("until", until);
  if (sinceMs !== undefined && untilMs !== undefined && untilMs <= sinceMs) {
    throw new ConfigError(
      `Cannot use --until "${until}": it is not after --since "${since}"`,
    );
  }
  return { sinceMs, untilMs };
}

/** Parses `--room 123,456` into real room ids; throws a ConfigError naming a bad id. */
export function parseRoomList(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (ids.length === 0) throw new ConfigError(`Cannot parse --room "${value}": no room id`);
  return [
    ...new Set(ids.map((id) => {
      const n = Number(id);
      if (!/^\d+$/.test(id) || !Number.isSafeInteger(n) || n <= 0) {
        throw new ConfigError(`Cannot parse --room "${value}": "${id}" is not a room id`);
      }
      return n;
    })),
  ];
}
