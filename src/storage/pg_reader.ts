/**
 * A PostgreSQL danmaku database opened read-only for `export` and `stats`: every transaction of
 * the session is read-only (`default_transaction_read_only`), so nothing is ever created or
 * changed, and a database that is empty, not ours, or of a newer schema is refused with one
 * line naming it without its password. Large reads go through a cursor, a batch of rows at a
 * time; integers come back as numbers (bigints beyond ±2^53) and doubles as numbers, so rows
 * compare equal to what SQLite returns.
 */
import postgres from "postgres";
import { describeDatabase } from "./database_url.ts";
import { pgConnect } from "./pg_connect.ts";
import { pgError } from "./pg_errors.ts";
import { openPgSchema } from "./pg_schema.ts";
import {
  type BatchOptions,
  batchRows,
  type ReadParam,
  type ReadRow,
  type ReadStore,
  type ReadValue,
  type SqlDialect,
} from "./read_store.ts";

/** The PostgreSQL dialect: text orders by code point under the "C" collation. */
export const POSTGRES_DIALECT: SqlDialect = {
  name: "postgres",
  bigIntegersAsText: false,
  binaryOrder: (sql) => `${sql} COLLATE "C"`,
};

/**
 * Connections of one reader: an XML export holds a cursor per kind it merges (four) while it
 * asks a few small questions besides.
 */
const POOL_SIZE = 6;

/** Rows per cursor fetch (one network round trip each) unless asked otherwise. */
export const PG_BATCH_ROWS = 512;

/** Longest wait for a connection, in seconds. */
const CONNECT_TIMEOUT_S = 10;

/** An int8 as a number when exact, else a bigint (as SQLite gives them to a reader of bigints). */
export function pgInteger(text: string): number | bigint {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

/** A numeric (what `sum` of int8 returns) as an integer like {@linkcode pgInteger}, else a number. */
export function pgNumeric(text: string): number | bigint {
  return /^-?\d+$/.test(text) ? pgInteger(text) : Number(text);
}

/** int8 and numeric read as numbers; float8 and int4 are numbers already in npm:postgres. */
const TYPES = {
  int8: { to: 20, from: [20], serialize: (x: unknown) => String(x), parse: pgInteger },
  numeric: { to: 1700, from: [1700], serialize: (x: unknown) => String(x), parse: pgNumeric },
};

/**
 * `sql` with its `?` placeholders numbered `$1`, `$2`, … as PostgreSQL wants them; a `?` inside
 * a quoted string or identifier stays.
 */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | undefined;
  for (const char of sql) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      out += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      out += char;
    } else if (char === "?") {
      out += `$${++n}`;
    } else {
      out += char;
    }
  }
  return out;
}

/** A PostgreSQL danmaku database opened for reading (`export`, `stats`). */
export class PgReader implements ReadStore {
  readonly description: string;
  readonly dialect: SqlDialect = POSTGRES_DIALECT;
  #sql: postgres.Sql<Record<string, never>>;
  #url: string;
  #closed = false;

  private constructor(url: string, sql: postgres.Sql<Record<string, never>>) {
    this.#url = url;
    this.#sql = sql;
    this.description = describeDatabase(url);
  }

  /**
   * Connects to the database at `url` and checks it is a danmaku database of the schema
   * version this program reads. StorageError (one line, exit 1, as for a SQLite file) when the
   * server cannot be reached or refuses the login, and when the database is empty, not ours, of
   * a newer schema version or lacks tables.
   */
  static async open(url: string): Promise<PgReader> {
    const description = describeDatabase(url);
    let sql: postgres.Sql<Record<string, never>>;
    try {
      sql = pgConnect(url, {
        max: POOL_SIZE,
        connectTimeoutS: CONNECT_TIMEOUT_S,
        applicationName: "danmaku-collector read",
        readOnly: true,
        types: TYPES,
      }) as unknown as postgres.Sql<Record<string, never>>;
    } catch (error) {
      throw pgError(`Cannot open database "${description}"`, error, url);
    }
    const reader = new PgReader(url, sql);
    try {
      // Reads the schema state and throws the one-line refusal; writes nothing when the schema
      // is current (an older one would need an upgrade, which a read-only session refuses).
      await openPgSchema(sql as unknown as postgres.Sql, url, { readOnly: true });
    } catch (error) {
      await reader.close();
      throw pgError(`Cannot open database "${description}"`, error, url);
    }
    return reader;
  }

  async query(sql: string, params: readonly ReadParam[] = []): Promise<ReadRow[]> {
    try {
      const rows = await this.#sql.unsafe(numberPlaceholders(sql), [...params]);
      return rows as unknown as ReadRow[];
    } catch (error) {
      throw pgError(`Cannot query "${this.description}"`, error, this.#url);
    }
  }

  async *batches(
    sql: string,
    params: readonly ReadParam[] = [],
    options: BatchOptions = {},
  ): AsyncGenerator<ReadValue[][]> {
    const size = batchRows(options.rows ?? PG_BATCH_ROWS);
    const cursor = this.#sql.unsafe(numberPlaceholders(sql), [...params]).values().cursor(size);
    const batches = cursor[Symbol.asyncIterator]();
    try {
      for (;;) {
        let step: IteratorResult<ReadValue[][]>;
        try {
          step = await batches.next() as IteratorResult<ReadValue[][]>;
        } catch (error) {
          throw pgError(`Cannot read "${this.description}"`, error, this.#url);
        }
        if (step.done) return;
        if (step.value.length > 0) yield step.value;
      }
    } finally {
      await batches.return?.();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 5 });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
