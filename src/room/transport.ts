/**
 * Transports to a danmaku server: raw TCP (default; 4 KB reads keep idle rooms small) and
 * WebSocket (`ws`/`wss`, path `/sub`). Both hand decoded messages to a callback; neither
 * knows about reconnecting.
 */
import { readPackets } from "../protocol/frame_reader.ts";
import { Deadline } from "../util/deadline.ts";
import { decodeFrame, decodePacket, type MessageSink } from "../protocol/packet_decoder.ts";
import type { DanmakuHost } from "../bilibili/api_client.ts";

/** Which transport to use. */
export type TransportKind = "tcp" | "ws" | "wss";

/** An open connection to a danmaku server. `close()` is idempotent. */
export interface DanmakuTransport extends Disposable {
  /** `host:port` or the URL, for logs and the sessions table. */
  readonly address: string;
  /**
   * Reads until the connection ends, decoding synchronously into `onMessage`. Resolves when the
   * peer closes; rejects with ProtocolError on bad bytes or with the socket error.
   */
  receive(
    onMessage: MessageSink,
    onBytes: (count: number) => void,
    beforeRead?: () => Promise<void> | undefined,
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
  /** Headers for the WebSocket upgrade (User-Agent, Cookie). */
  headers?: Record<string, string>;
  /** Gives up connecting after this long. @default {10000} */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Opens a transport of `options.kind` to `options.host`. */
export function connectTransport(options: ConnectOptions): Promise<DanmakuTransport> {
  return options.kind === "tcp" ? connectTcp(options) : connectWebSocket(options);
}

async function connectTcp(options: ConnectOptions): Promise<DanmakuTransport> {
  const { host, port } = options.host;
  let conn: Deno.TcpConn;
  {
    using deadline = new Deadline(options.timeoutMs ?? 10_000, options.signal);
    conn = await Deno.connect({ hostname: host, port, transport: "tcp", signal: deadline.signal });
  }
  conn.setNoDelay(true);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed by the peer
    }
  };
  return {
    address: `${host}:${port}`,
    async receive(onMessage, onBytes, beforeRead) {
      try {
        await readPackets(conn, (packet, offset) => decodePacket(packet, onMessage, offset), {
          onRead: onBytes,
          beforeRead,
        });
      } catch (error) {
        // Our own close() ends a pending read with BadResource/Interrupted: that is a clean end.
        if (
          closed &&
          (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)
        ) {
          return;
        }
        throw error;
      }
    },
    async send(packet) {
      let written = 0;
      while (written < packet.length) written += await conn.write(packet.subarray(written));
    },
    finish() {
      if (!closed) conn.closeWrite().catch(() => {}); // a peer that is gone already: nothing to drain
    },
    close,
    [Symbol.dispose]: close,
  };
}

async function connectWebSocket(options: ConnectOptions): Promise<DanmakuTransport> {
  const { host, wsPort, wssPort } = options.host;
  const url = options.kind === "wss"
    ? `wss://${host}:${wssPort}/sub`
    : `ws://${host}:${wsPort}/sub`;
  // Deno accepts upgrade headers as a second argument (blivedm sends the browser UA).
  const socket = new WebSocket(url, { headers: options.headers ?? {} } as unknown as string[]);
  socket.binaryType = "arraybuffer";
  let messageSink: MessageSink | undefined;
  let byteSink: ((count: number) => void) | undefined;
  let failure: unknown;
  const ended = Promise.withResolvers<void>();
  socket.onmessage = (event) => {
    if (!(event.data instanceof ArrayBuffer)) return; // Bilibili sends binary frames only
    byteSink?.(event.data.byteLength);
    if (!messageSink) return;
    try {
      decodeFrame(new Uint8Array(event.data), messageSink);
    } catch (error) {
      failure ??= error;
      socket.close();
    }
  };
  socket.onclose = () => failure ? ended.reject(failure) : ended.resolve();
  socket.onerror = (event) => {
    failure ??= new Error(
      `WebSocket error on ${url}: ${(event as ErrorEvent).message ?? "unknown"}`,
    );
  };
  const opened = Promise.withResolvers<void>();
  socket.onopen = () => opened.resolve();
  ended.promise.catch(() => {}).finally(() =>
    opened.reject(failure ?? new Error(`Cannot open ${url}: closed`))
  );
  const timer = setTimeout(() => {
    failure ??= new Error(`Cannot open ${url}: timed out`);
    socket.close();
  }, options.timeoutMs ?? 10_000);
  const onAbort = () => socket.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await opened.promise;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
  const close = () => {
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
      socket.close();
    }
  };
  return {
    address: url,
    receive(onMessage, onBytes) {
      // A WebSocket delivers messages as events: it cannot pause, so `beforeRead` is not used.
      messageSink = onMessage;
      byteSink = onBytes;
      return ended.promise;
    },
    send(packet) {
      socket.send(packet);
      return Promise.resolve();
    },
    finish() {
      // Closing would drop messages that arrive during the close handshake: keep reading.
    },
    close,
    [Symbol.dispose]: close,
  };
}
