/**
 * A connection pool of npm:postgres with the project's settings: TCP_NODELAY sockets (with
 * Nagle's algorithm a COPY's last data message and CopyDone waited for a delayed ACK: ~90 ms
 * per COPY on loopback instead of ~5), notices dropped (never printed to stdout), a connect
 * timeout, and `application_name` = `danmaku` so the server's views name us.
 */
import net from "node:net";
import postgres from "postgres";

/** Options of {@linkcode pgConnect}. */
export interface PgConnectOptions {
  /** Most connections the pool opens. @default {2} */
  max?: number;
  /** Longest a connection attempt may take, in seconds. @default {10} */
  connectTimeoutS?: number;
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
    connection: { application_name: "danmaku" },
    socket: (target: SocketTarget) => connectSocket(target),
  };
  return postgres(url, settings as postgres.Options<Record<string, postgres.PostgresType>>);
}
