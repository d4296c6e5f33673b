/**
 * PostgreSQL failures as StorageErrors: one line, naming the database only by
 * `describeDatabase` (never the password), classified so the caller can tell "retry later"
 * (server unreachable, restarting, disk full) from "stop" (wrong password, no such database,
 * not our schema).
 */
import { StorageError, type StorageFailure } from "../errors.ts";

/** Connection-level codes of npm:postgres and Node sockets that mean "cannot reach it now". */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/** SQLSTATE classes and codes that mean the server is going away or not accepting yet. */
function unreachableSqlState(code: string): boolean {
  // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03";
}

/** The `code` of an error from npm:postgres (a SQLSTATE or a connection code), if any. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** Classifies a PostgreSQL (or connection) error into a failure kind and words for a message. */
export function describePgFailure(error: unknown): { reason: StorageFailure; words: string } {
  const code = errorCode(error) ?? "";
  const message = (error instanceof Error ? error.message : String(error))
    .replace(/\s*\n\s*/g, " ");
  if (UNREACHABLE_CODES.has(code) || unreachableSqlState(code)) {
    return { reason: "unreachable", words: `the server is unreachable (${message})` };
  }
  if (code === "28P01" || code === "28000") return { reason: "auth", words: message };
  if (code === "3D000") return { reason: "missing", words: message };
  if (code === "53100") return { reason: "diskFull", words: `the disk is full (${message})` };
  if (code === "25006") return { reason: "readOnly", words: message };
  if (code === "40001" || code === "40P01" || code === "55P03") {
    return { reason: "locked", words: message };
  }
  return { reason: "other", words: message };
}

/** `text` with every occurrence of the password of `url` (plain or URL-encoded) masked. */
export function withoutPassword(text: string, url: string): string {
  let password = "";
  try {
    password = new URL(url).password;
  } catch {
    return text;
  }
  if (password === "") return text;
  let out = text;
  for (const form of new Set([password, decodeURIComponent(password)])) {
    if (form !== "") out = out.replaceAll(form, "***");
  }
  return out;
}

/**
 * A StorageError for a failed PostgreSQL call: `what` (e.g. `Cannot open database
 * "postgres://u@h:5432/db"`), then why, with `step` before the server's words when given.
 * The password of `url` never appears in the message.
 */
export function pgError(what: string, error: unknown, url: string, step?: string): StorageError {
  if (error instanceof StorageError) return error;
  const { reason, words } = describePgFailure(error);
  const line = `${what}: ${step ? `${step}: ` : ""}${words}`;
  return new StorageError(withoutPassword(line, url), reason, { cause: error });
}
