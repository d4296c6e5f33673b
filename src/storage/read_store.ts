/**
 * What `export` and `stats` read through: a danmaku database opened read-only, SQLite or
 * PostgreSQL. Queries are written once, in SQL both engines run, with `?` placeholders; the few
 * places where the engines differ go through the store's {@linkcode SqlDialect}. Small results
 * come back whole (`query`); reads of any size come in batches of rows (`batches`), so memory
 * stays flat and the caller awaits once per batch, not once per row.
 */
import type { Logger } from "../util/log.ts";
import { isPostgresUrl } from "./database_url.ts";
import { logSchemaUpgrade, SqliteStore } from "./sqlite_store.ts";

/** A value read: what SQLite returns, and what the PostgreSQL reader maps its types to. */
export type ReadValue = null | number | bigint | string | Uint8Array;

/** A bound parameter: numbers and text only. */
export type ReadParam = number | string;

/** A row of `query`, keyed by column name. */
export type ReadRow = Record<string, ReadValue>;

/** Where the engines' SQL differs, as small functions of the one query text. */
export interface SqlDialect {
  /** The engine. */
  readonly name: "sqlite" | "postgres";
  /**
   * Whether an integer beyond ±2^53 must be selected as text (node:sqlite refuses to read it as
   * a number); the PostgreSQL reader hands such values out as bigints by itself.
   */
  readonly bigIntegersAsText: boolean;
  /** `sql` (a text expression) for ORDER BY in code point order, whatever the collation. */
  binaryOrder(sql: string): string;
}

/**
 * Rows per batch of a SQLite `batches` unless asked otherwise: the rows are at hand already, and
 * a small batch leaves few of them alive when the young generation is collected
 * (`--max-semi-space-size=2`; batches of 512 measured 4–11 % slower on a loaded box).
 */
export const SQLITE_BATCH_ROWS = 64;

/** Options of {@linkcode ReadStore.batches}. */
export interface BatchOptions {
  /**
   * SQLite: read every INTEGER as a bigint (for Parquet INT64, exact beyond 2^53). PostgreSQL
   * reads integers as numbers when exact and as bigints beyond, with or without this; the
   * Parquet writer takes both. @default {false}
   */
  bigInts?: boolean;
  /** Rows per batch. @default {SQLITE_BATCH_ROWS} for SQLite, PG_BATCH_ROWS for PostgreSQL */
  rows?: number;
}

/** A danmaku database opened for reading. Failures are StorageErrors naming `description`. */
export interface ReadStore extends AsyncDisposable {
  /** The database as it may be shown (a path, or a URL without its password). */
  readonly description: string;
  /** How this engine's SQL differs. */
  readonly dialect: SqlDialect;
  /** Runs a query whose result is small and returns its rows. */
  query(sql: string, params?: readonly ReadParam[]): Promise<ReadRow[]>;
  /**
   * Streams the rows of a query as arrays in column order, a batch at a time (the last may be
   * short; none is empty). Integers beyond ±2^53 come as bigints or, with SQLite without
   * `bigInts`, must be selected as text (see {@linkcode SqlDialect.bigIntegersAsText}).
   */
  batches(
    sql: string,
    params?: readonly ReadParam[],
    options?: BatchOptions,
  ): AsyncIterable<ReadValue[][]>;
  /** Closes the database; later calls do nothing. */
  close(): Promise<void>;
}

/** The SQLite dialect: text orders by its bytes already (BINARY collation). */
export const SQLITE_DIALECT: SqlDialect = {
  name: "sqlite",
  bigIntegersAsText: true,
  binaryOrder: (sql) => sql,
};

/** A ReadStore over an open SqliteStore (which it closes on `close`). */
export class SqliteReadStore implements ReadStore {
  readonly description: string;
  readonly dialect: SqlDialect = SQLITE_DIALECT;
  #store: SqliteStore;

  constructor(store: SqliteStore) {
    this.#store = store;
    this.description = store.path;
  }

  query(sql: string, params: readonly ReadParam[] = []): Promise<ReadRow[]> {
    try {
      return Promise.resolve(this.#store.query(sql, ...params));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async *batches(
    sql: string,
    params: readonly ReadParam[] = [],
    options: BatchOptions = {},
  ): AsyncGenerator<ReadValue[][]> {
    const size = batchRows(options.rows ?? SQLITE_BATCH_ROWS);
    const rows = options.bigInts
      ? this.#store.iterateBigIntArrays(sql, ...params)
      : this.#store.iterateArrays(sql, ...params);
    try {
      let batch: ReadValue[][] = [];
      for (const row of rows) {
        batch.push(row);
        if (batch.length === size) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      rows.return?.();
    }
  }

  close(): Promise<void> {
    this.#store.close();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** `rows` checked: a whole number ≥ 1. */
export function batchRows(rows: number): number {
  if (!Number.isInteger(rows) || rows < 1) {
    throw new RangeError(`Cannot read ${rows} rows per batch: expected an integer ≥ 1`);
  }
  return rows;
}

/** Options of {@linkcode openReadStore}. */
export interface OpenReadOptions {
  /** Where an upgrade of an older SQLite file on the way is logged. */
  log: Logger;
}

/**
 * Opens `db` (a SQLite path or a `postgres://` URL, as `--db` gives it) for reading: never
 * creates it, refuses one that is not a danmaku database or has a newer schema (StorageError
 * naming the database as `describeDatabase` shows it).
 */
export async function openReadStore(db: string, options: OpenReadOptions): Promise<ReadStore> {
  if (isPostgresUrl(db)) {
    const { PgReader } = await import("./pg_reader.ts");
    return await PgReader.open(db);
  }
  const store = SqliteStore.openExisting(db, { readOnly: true });
  logSchemaUpgrade(store, options.log);
  return new SqliteReadStore(store);
}
