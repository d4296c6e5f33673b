/**
 * Transports to a danmaku server: raw TCP (Deno's sockets with 512-byte reads while a room is
 * quiet and 4 KB once busy, or libc sockets in one shared epoll set: ./epoll_sockets.ts) and
 * WebSocket (`ws`/`wss`, path `/sub`, our own client so wss can trust an extra CA and reading can
 * pause like TCP). All hand decoded messages to a callback; none knows about reconnecting.
 */
import { ConfigError } from "../errors.ts";
import { IDLE_READ_BUFFER_SIZE, readPackets } from "../protocol/frame_reader.ts";
import { Deadline } from "../util/deadline.ts";
import { type BodyDecoding, decodePacket, type MessageSink } from "../protocol/packet_decoder.ts";
import type { DanmakuHost } from "../bilibili/api_client.ts";
import type { EpollSockets } from "./epoll_sockets.ts";
import { openWebSocket } from "./websocket_client.ts";

/** A transport a connection uses. */
export type TransportKind = "tcp" | "ws" | "wss";

/**
 * Which transport a room uses: one of them, or `auto` (raw TCP first; a room whose TCP is
 * refused, closed right after auth or silent after auth several times in a row moves to wss).
 */
export type TransportMode = "auto" | TransportKind;

/** An open connection to a danmaku server. `close()` is idempotent. */
export interface DanmakuTransport extends Disposable {
  /** `host:port` or the URL, for logs and the sessions table. */
  readonly address: string;
  /**
   * Reads until the connection ends, decoding synchronously into `onMessage`. Resolves when the
   * peer closes; rejects with ProtocolError on bad bytes or with the socket error. Bodies are
   * decoded as `decoding` says (default `JSON.parse` and `node:zlib`).
   */
  receive(
    onMessage: MessageSink,
    onBytes: (count: number) => void,
    beforeRead?: () => Promise<void> | undefined,
    decoding?: BodyDecoding,
  ): Promise<void>;
  /** Writes one packet. */
  send(packet: Uint8Array): Promise<void>;
  /**
   * Says we are done sending, so the server flushes what it has and closes; reading goes on.
   * TCP shuts its write side; a WebSocket cannot half-close, so it does nothing.
   */
  finish(): void;
  close(): void;
}

/** Options of {@linkcode connectTransport}. */
export interface ConnectOptions {
  kind: TransportKind;
  host: DanmakuHost;
  /** Headers for the WebSocket upgrade (User-Agent, Origin, Cookie). */
  headers?: Readonly<Record<string, string>>;
  /** PEM certificates wss trusts in addition to the system's roots (`--ca-file`). */
  caCerts?: readonly string[];
  /** Gives up connecting after this long. @default {10000} */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Raw TCP through this process's shared epoll set (`--sockets`) instead of Deno's sockets.
   * @default {undefined} (Deno.connect)
   */
  sockets?: EpollSockets;
}

/**
 * Reads `--ca-file`: the PEM certificates in it, for {@linkcode ConnectOptions.caCerts}; a
 * ConfigError names the flag and the file when it cannot be read or holds no certificate.
 */
export function readCaFile(path: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(`Cannot read --ca-file "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  const certificates = text.match(
    /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g,
  );
  if (!certificates) {
    throw new ConfigError(
      `Cannot use --ca-file "${path}": expected PEM certificates (-----BEGIN CERTIFICATE-----)`,
    );
  }
  return certificates.map((pem) => `${pem}\n`);
}

/** Opens a transport of `options.kind` to `options.host`. */
export function connectTransport(options: ConnectOptions): Promise<DanmakuTransport> {
  return options.kind === "tcp" ? connectTcp(options) : connectWebSocket(options);
}

async function connectTcp(options: ConnectOptions): Promise<DanmakuTransport> {
  const { host, port } = options.host;
  if (options.sockets) {
    return await options.sockets.connect(host, port, {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
  }
  let conn: Deno.TcpConn;
  {
    using deadline = new Deadline(options.timeoutMs ?? 10_000, options.signal);
    conn = await Deno.connect({ hostname: host, port, transport: "tcp", signal: deadline.signal });
  }
  conn.setNoDelay(true);
  return new TcpTransport(conn, `${host}:${port}`);
}

/** A raw TCP connection (a class: its methods are shared, not five closures per room). */
class TcpTransport implements DanmakuTransport {
  readonly address: string;
  readonly #conn: Deno.TcpConn;
  #closed = false;

  constructor(conn: Deno.TcpConn, address: string) {
    this.#conn = conn;
    this.address = address;
  }

  receive(
    onMessage: MessageSink,
    onBytes: (count: number) => void,
    beforeRead?: () => Promise<void> | undefined,
    decoding?: BodyDecoding,
  ): Promise<void> {
    return receivePackets(
      this.#conn,
      () => this.#closed,
      onMessage,
      onBytes,
      beforeRead,
      decoding,
    );
  }

  async send(packet: Uint8Array): Promise<void> {
    let written = 0;
    while (written < packet.length) written += await this.#conn.write(packet.subarray(written));
  }

  finish(): void {
    // A peer that is gone already: nothing to drain.
    if (!this.#closed) this.#conn.closeWrite().catch(() => {});
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

async function connectWebSocket(options: ConnectOptions): Promise<DanmakuTransport> {
  const { host, wsPort, wssPort } = options.host;
  const secure = options.kind === "wss";
  const socket = await openWebSocket({
    secure,
    hostname: host,
    port: secure ? wssPort : wsPort,
    path: "/sub",
    headers: options.headers,
    caCerts: secure ? options.caCerts : undefined,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  let closed = false;
  const close = () => {
    closed = true;
    socket.close();
  };
  return {
    address: socket.url,
    receive(onMessage, onBytes, beforeRead, decoding) {
      // Binary payloads form the same packet stream as TCP: same reader, buffer and pauses.
      return receivePackets(socket, () => closed, onMessage, onBytes, beforeRead, decoding);
    },
    send: (packet) => socket.send(packet),
    finish() {
      // A WebSocket cannot half-close, and a close frame would end the server's sending: keep
      // reading until the drain's quiet period or deadline.
    },
    close,
    [Symbol.dispose]: close,
  };
}

/**
 * Reads `source` until it ends, decoding packets into `onMessage`. Our own close() ends a
 * pending read with BadResource/Interrupted: once `isClosed()`, that is a clean end. (A promise
 * chain, not an async function: it stays pending as long as the connection lives.)
 */
function receivePackets(
  source: Parameters<typeof readPackets>[0],
  isClosed: () => boolean,
  onMessage: MessageSink,
  onBytes: (count: number) => void,
  beforeRead: (() => Promise<void> | undefined) | undefined,
  decoding: BodyDecoding | undefined,
): Promise<void> {
  const decode = (packet: Uint8Array, offset: number) =>
    decodePacket(packet, onMessage, offset, decoding);
  return readPackets(source, decode, {
    onRead: onBytes,
    beforeRead,
    idleBufferSize: IDLE_READ_BUFFER_SIZE, // a quiet room holds 512 bytes, a busy one reads 4 KB
  }).catch((error) => {
    if (
      isClosed() &&
      (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)
    ) {
      return;
    }
    throw error;
  });
}
