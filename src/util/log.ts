/**
 * Log lines with fields: `level=warn msg="API call failed" room=123 retry_in_ms=500`. Values are
 * quoted once, here, and only when they need it (logfmt; the message always), so every line
 * parses the same way.
 * Modules take a {@linkcode LogSink} (tests collect lines from it) and wrap it once.
 */

/** Where finished lines go (stderr in main.ts, an array in tests). */
export type LogSink = (line: string) => void;

/** A field value; `undefined` fields are left out. */
export type LogValue = string | number | boolean | null | undefined;

/** The fields of one line, in the order they are written. */
export type LogFields = Readonly<Record<string, LogValue>>;

/** Severity, first on every line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Writes lines with fields to a sink. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Characters that a bare value may hold; anything else is quoted as a JSON string. */
const BARE = /^[\w.:/@+,*-]+$/;

/** One value as logfmt writes it. */
export function formatLogValue(value: Exclude<LogValue, undefined>): string {
  if (typeof value === "string") return BARE.test(value) ? value : JSON.stringify(value);
  return String(value);
}

/** One whole line: `level=… msg="…" key=value …` (the message is always quoted). */
export function formatLogLine(level: LogLevel, msg: string, fields: LogFields = {}): string {
  let line = `level=${level} msg=${JSON.stringify(msg)}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatLogValue(value)}`;
  }
  return line;
}

/** A logger writing to `sink`. */
export function fieldLogger(sink: LogSink): Logger {
  return {
    debug: (msg, fields) => sink(formatLogLine("debug", msg, fields)),
    info: (msg, fields) => sink(formatLogLine("info", msg, fields)),
    warn: (msg, fields) => sink(formatLogLine("warn", msg, fields)),
    error: (msg, fields) => sink(formatLogLine("error", msg, fields)),
  };
}
