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

/** A connected TCP (or unix) socket with TCP_NODELAY on; rejects with the socket's error. */
function connectSocket(target: SocketTarget, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.path
      ? net.connect(target.path)
      : net.connect(target.port[0] ?? 5432, target.host[0] ?? "localhost");
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), {
        code: "CONNECT_TIMEOUT",
      }));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      if (!target.path) socket.setNoDelay(true);
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once("error", onError);
  });
}

/** A pool for the database at `url` (connections open on first use). */
export function pgConnect(url: string, options: PgConnectOptions = {}): postgres.Sql {
  const timeoutS = options.connectTimeoutS ?? 10;
  const settings = {
    max: Math.max(1, Math.trunc(options.max ?? 2)),
    onnotice: () => {},
    connect_timeout: timeoutS,
    connection: { application_name: "danmaku" },
    socket: (target: SocketTarget) => connectSocket(target, timeoutS * 1000),
  };
  return postgres(url, settings as postgres.Options<Record<string, postgres.PostgresType>>);
}
