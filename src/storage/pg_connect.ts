/**
 * A connection pool of npm:postgres with the project's settings: TCP_NODELAY sockets (with
 * Nagle's algorithm a COPY's last data message and CopyDone waited for a delayed ACK: ~90 ms
 * per COPY on loopback instead of ~5), notices dropped (never printed to stdout), a connect
 * timeout, `application_name` (`danmaku` unless told) so the server's views name us, and the
 * two workarounds below for npm:postgres 3.4.9 when the server goes away. Every pool of the
 * project (store, reader, lease manager) is made here.
 */
import net from "node:net";
import postgres from "postgres";

/** Options of {@linkcode pgConnect}. */
export interface PgConnectOptions {
  /** Most connections the pool opens. @default {2} */
  max?: number;
  /** Longest a connection attempt may take, in seconds. @default {10} */
  connectTimeoutS?: number;
  /** Seconds after which an idle connection is closed (0: never). @default {0} */
  idleTimeoutS?: number;
  /** `application_name` the server shows for these connections. @default {"danmaku"} */
  applicationName?: string;
  /** Every transaction of the session read-only (`default_transaction_read_only`). */
  readOnly?: boolean;
  /** Parsers for server types (npm:postgres `types`), e.g. int8 as exact numbers. */
  types?: Record<string, postgres.PostgresType>;
}

/** What npm:postgres hands a `socket` factory (its parsed URL). */
interface SocketTarget {
  readonly host: readonly string[];
  readonly port: readonly number[];
  readonly path?: string | false;
}

/**
 * A TCP (or unix) socket, connecting, with TCP_NODELAY on once connected. Returned at once and
 * never rejected: npm:postgres handles its `error` and `close` events (a connect refused while
 * the server is down) and retries on the next query. A factory that rejects leaves the pool's
 * connection half-open for good, and once every connection failed so, every later query waits
 * forever, also after the server is back (tests/pg_restart_test.ts).
 */
function connectSocket(target: SocketTarget): net.Socket {
  if (target.path) return net.connect(target.path);
  const socket = net.connect(target.port[0] ?? 5432, target.host[0] ?? "localhost");
  socket.once("connect", () => socket.setNoDelay(true));
  return socket;
}

/** A pool for the database at `url` (connections open on first use). */
export function pgConnect(url: string, options: PgConnectOptions = {}): postgres.Sql {
  const timeoutS = options.connectTimeoutS ?? 10;
  const settings = {
    max: Math.max(1, Math.trunc(options.max ?? 2)),
    onnotice: () => {},
    connect_timeout: timeoutS,
    idle_timeout: options.idleTimeoutS ?? 0,
    connection: {
      // The server cuts it at 63 bytes anyway.
      application_name: (options.applicationName ?? "danmaku").slice(0, 63),
      ...(options.readOnly ? { default_transaction_read_only: true } : {}),
    },
    types: options.types,
    socket: (target: SocketTarget) => connectSocket(target),
  };
  return withSafeBegin(
    postgres(url, settings as postgres.Options<Record<string, postgres.PostgresType>>),
  );
}

/**
 * Makes `sql.begin` safe against a connection lost mid-transaction. npm:postgres 3.4.9 answers a
 * failed transaction with ROLLBACK on the same connection; when that connection was just closed
 * (its socket set to null), the ROLLBACK's write runs from setImmediate and throws an uncaught
 * TypeError ("reading 'write'") that ends the process — a collector died that way when
 * PostgreSQL restarted during a write. So when a query of the transaction failed because the
 * connection is gone, the callback never settles: no ROLLBACK or COMMIT is sent, and `begin`
 * rejects all the same, with the connection's close (the server rolls the transaction back).
 */
export function withSafeBegin(sql: postgres.Sql): postgres.Sql {
  const begin = sql.begin.bind(sql) as (
    fn: (tx: postgres.TransactionSql) => Promise<unknown>,
  ) => Promise<unknown>;
  const safe = (
    first: string | ((tx: postgres.TransactionSql) => unknown),
    second?: (tx: postgres.TransactionSql) => unknown,
  ): Promise<unknown> => {
    const fn = typeof first === "function" ? first : second!;
    const guarded = async (tx: postgres.TransactionSql) => {
      try {
        return await fn(tx);
      } catch (error) {
        if (connectionClosed(error)) await new Promise<never>(() => {});
        throw error;
      }
    };
    return typeof first === "string"
      ? (sql.begin as unknown as (o: string, f: typeof guarded) => Promise<unknown>)
        .call(sql, first, guarded)
      : begin(guarded);
  };
  sql.begin = safe as postgres.Sql["begin"];
  return sql;
}

/** Codes after which npm:postgres has closed (or the server is closing) the connection. */
const CLOSED_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "ECONNRESET",
  "EPIPE",
]);

/** Whether `error` means the transaction's connection is closed or being closed by the server. */
function connectionClosed(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  // 08: connection exception; 57P01-57P03: the server shuts down or is not accepting.
  return CLOSED_CODES.has(code) || code.startsWith("08") ||
    ["57P01", "57P02", "57P03"].includes(code);
}
