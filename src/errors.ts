/** The few error classes the project throws; each sets `name` and keeps its `cause`. */

/** Bytes from the wire that break Bilibili's packet format. `offset` is the stream byte offset. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  /** Byte offset in the stream (or frame) of the packet at fault. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(message, options);
    this.offset = offset;
  }
}

/** A bad flag, environment variable or config file: the user must change their input. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The danmaku server refused the auth packet, or never answered it. */
export class AuthError extends Error {
  override name = "AuthError";
}

/** A Bilibili HTTP API answered with an HTTP error or a non-zero `code`. */
export class ApiError extends Error {
  override name = "ApiError";
  /** The envelope `code` (e.g. -352, -412, 60004), or the HTTP status when there was no envelope. */
  readonly code: number;
  constructor(message: string, code: number, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Why a storage operation failed, so the caller can tell "retry later" from "stop".
 * `unreachable`: a database server cannot be reached or dropped the connection (worth retrying);
 * `auth`: the server refused the credentials.
 */
export type StorageFailure =
  | "diskFull"
  | "readOnly"
  | "locked"
  | "io"
  | "corrupt"
  | "schema"
  | "missing"
  | "unreachable"
  | "auth"
  | "other";

/** The database could not be opened or written; a failed write changed nothing. */
export class StorageError extends Error {
  override name = "StorageError";
  /** What kind of failure this is (a full disk and a lock are worth retrying). */
  readonly reason: StorageFailure;
  constructor(message: string, reason: StorageFailure, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
