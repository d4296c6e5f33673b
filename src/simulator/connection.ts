/**
 * One client of the danmaku server, over raw TCP or WebSocket: an ordered, bounded send queue
 * whose entries report when their bytes reached the socket, and graceful or abrupt closing.
 */

/** Bytes of one write: `bytes` whole (WebSocket message), `pieces` for TCP (split anywhere). */
export interface Frame {
  bytes: Uint8Array;
  /** The same bytes cut at arbitrary points; each piece is written separately on TCP. */
  pieces: readonly Uint8Array[];
}

/** Called once per frame: `true` when all of it was handed to the socket. */
export type WriteDone = (ok: boolean) => void;

/** Connection states: waiting for op 7, authenticated, silent (stall fault), closing, closed. */
export type ConnectionState = "pending" | "open" | "stalled" | "closing" | "closed";

/** Most bytes queued for one connection before it counts as a slow consumer and is dropped. */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** What both transports share: identity, auth state, and the send queue's contract. */
export abstract class ClientConnection {
  readonly id: number;
  readonly ip: string;
  abstract readonly kind: "tcp" | "ws";
  state: ConnectionState = "pending";
  /** Wall-clock ms the connection was accepted. */
  readonly openedAt: number;
  /** Wall-clock ms of the last heartbeat (or of the auth). */
  lastHeartbeat = 0;
  /** Subscribed real room id, or 0 (not authenticated, or deaf after a short-id auth). */
  roomId = 0;
  /** 1 plain packets, 2 zlib bundles, 3 brotli bundles. */
  protover: 1 | 2 | 3 = 1;
  /** Anonymous connections get masked names and uid 0. */
  masked = true;
  /** Set by the corrupt fault: the next message frame goes out corrupt, then the connection ends. */
  corruptNext = false;
  /** Share of its room's messages it gets: below 1 once the throttle fault hit it. */
  share = 1;
  /** Messages owed to a throttled connection, so it gets `share` of them over time. */
  #credit = 0;
  /** Resolves once the socket is closed and the reader has stopped. */
  readonly closed: Promise<void>;
  protected resolveClosed!: () => void;

  constructor(id: number, ip: string, now: number) {
    this.id = id;
    this.ip = ip;
    this.openedAt = now;
    this.closed = new Promise((resolve) => this.resolveClosed = resolve);
  }

  /** Whether a batch of `count` room messages goes to it (always, unless throttled). */
  admits(count: number): boolean {
    if (this.share >= 1) return true;
    this.#credit += this.share * count;
    if (this.#credit < count) return false;
    this.#credit -= count;
    return true;
  }

  /** Queues a frame; false (and `done(false)`) when closing or over the queue bound. */
  abstract send(frame: Frame, done?: WriteDone): boolean;
  /** Stops accepting frames, flushes the queue, then closes. Idempotent. */
  abstract end(): void;
  /** Closes now, failing queued frames. Idempotent. */
  abstract abort(): void;
}

/** A raw TCP client; writes go through one pump that awaits each piece. */
export class TcpConnection extends ClientConnection {
  readonly kind = "tcp";
  #conn: Deno.Conn;
  #queue: { frame: Frame; done?: WriteDone }[] = [];
  #queuedBytes = 0;
  #pumping = false;
  /** True while the queue's head is being written (abort leaves it to the pump). */
  #writing = false;
  #ending = false;
  /** The stream is ended (FIN sent after the last byte); the socket still reads. */
  #writeClosed = false;
  #socketClosed = false;
  #readerDone = false;

  constructor(id: number, conn: Deno.TcpConn, now: number) {
    super(id, conn.remoteAddr.hostname, now);
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
    } catch {
      // Not fatal: only affects how writes are coalesced.
    }
  }

  /** The socket, for the reader. */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  send(frame: Frame, done?: WriteDone): boolean {
    if (this.#ending || this.#socketClosed || this.#queuedBytes > MAX_QUEUED_BYTES) {
      if (this.#queuedBytes > MAX_QUEUED_BYTES) this.abort();
      done?.(false);
      return false;
    }
    this.#queue.push({ frame, done });
    this.#queuedBytes += frame.bytes.length;
    if (!this.#pumping) this.#pump();
    return true;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#socketClosed) {
        const { frame, done } = this.#queue[0];
        let written = true;
        this.#writing = true;
        try {
          for (const piece of frame.pieces) {
            let rest = piece;
            while (rest.length > 0) rest = rest.subarray(await this.#conn.write(rest));
          }
        } catch {
          written = false;
        } finally {
          this.#writing = false;
        }
        this.#queue.shift();
        this.#queuedBytes -= frame.bytes.length;
        done?.(written);
        if (!written) {
          this.abort(); // fails every frame queued behind it
          return;
        }
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#ending) this.#endStream();
  }

  /**
   * Ends the stream after the last queued frame with a half-close, and closes the socket once
   * the client has closed its side (the reader stopped): a client that lags still reads
   * everything written. Closing at once instead lets the next bytes the client sends (a
   * heartbeat) meet a closed socket, and the kernel answers them with a reset that throws away
   * what it still held for the client. A client that never closes is cut by the heartbeat
   * watchdog, or by `DanmakuServer.close`'s grace.
   */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    if (this.state !== "closed") this.state = "closing";
    if (!this.#pumping) this.#endStream();
  }

  #endStream(): void {
    if (this.#readerDone) {
      this.#closeSocket();
      return;
    }
    if (this.#writeClosed || this.#socketClosed) return;
    this.#writeClosed = true;
    try {
      this.#conn.closeWrite();
    } catch {
      this.#closeSocket(); // the socket is already gone
    }
  }

  abort(): void {
    this.#ending = true;
    if (this.state !== "closed") this.state = "closing";
    const failed = this.#queue.splice(this.#writing ? 1 : 0);
    for (const entry of failed) {
      this.#queuedBytes -= entry.frame.bytes.length;
      entry.done?.(false);
    }
    this.#closeSocket();
  }

  #closeSocket(): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by a failed read or write.
    }
    this.#maybeClosed();
  }

  /** The reader calls this when it has stopped. */
  readerStopped(): void {
    this.#readerDone = true;
    this.end();
    if (this.#writeClosed) this.#closeSocket();
    this.#maybeClosed();
  }

  #maybeClosed(): void {
    if (this.#socketClosed && this.#readerDone && this.state !== "closed") {
      this.state = "closed";
      // A pump still awaiting a write is failed by the close; let it settle first.
      queueMicrotask(() => this.resolveClosed());
    }
  }
}

/** How often a WebSocket with frames in flight asks Deno how much of them it has written. */
const WS_WRITE_POLL_MS = 5;
/** Longest a graceful WebSocket end waits for queued frames to be written before closing. */
const WS_END_GRACE_MS = 2000;

/**
 * A WebSocket client. `send` hands the frame to Deno's WebSocket, which writes in order; a
 * frame's `done(true)` comes once `bufferedAmount` shows all of its bytes left Deno's buffer,
 * and frames still buffered when the socket closes get `done(false)`. `end()` waits for the
 * buffer to empty (up to {@linkcode WS_END_GRACE_MS}) before it sends the close frame.
 */
export class WsConnection extends ClientConnection {
  readonly kind = "ws";
  #socket: WebSocket;
  #ending = false;
  #closeSent = false;
  #endBy = 0;
  /** Bytes handed to `socket.send` so far. */
  #sent = 0;
  /** Frames not yet confirmed written, oldest first: where each ends, counted like `#sent`. */
  #inFlight: { end: number; done: WriteDone }[] = [];
  #poll: ReturnType<typeof setTimeout> | undefined;

  constructor(id: number, ip: string, socket: WebSocket, now: number) {
    super(id, ip, now);
    this.#socket = socket;
  }

  send(frame: Frame, done?: WriteDone): boolean {
    if (this.#ending || this.#socket.readyState !== WebSocket.OPEN) {
      done?.(false);
      return false;
    }
    if (this.#socket.bufferedAmount > MAX_QUEUED_BYTES) {
      this.abort();
      done?.(false);
      return false;
    }
    this.#socket.send(frame.bytes);
    this.#sent += frame.bytes.length;
    if (done) this.#inFlight.push({ end: this.#sent, done });
    this.#check();
    return true;
  }

  /** Confirms the frames Deno has written, closes a finished end, and polls while needed. */
  #check(): void {
    if (this.#socket.readyState === WebSocket.OPEN && this.#inFlight.length > 0) {
      const written = this.#sent - this.#socket.bufferedAmount;
      let count = 0;
      while (count < this.#inFlight.length && this.#inFlight[count].end <= written) count++;
      for (const entry of this.#inFlight.splice(0, count)) entry.done(true);
    }
    if (
      this.#ending && !this.#closeSent &&
      (this.#inFlight.length === 0 || Date.now() >= this.#endBy)
    ) {
      this.#sendClose();
    }
    const waiting = this.#inFlight.length > 0 && this.#socket.readyState === WebSocket.OPEN;
    if (waiting && this.#poll === undefined && this.state !== "closed") {
      this.#poll = setTimeout(() => {
        this.#poll = undefined;
        this.#check();
      }, WS_WRITE_POLL_MS);
    }
  }

  #sendClose(): void {
    this.#closeSent = true;
    if (
      this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING
    ) {
      try {
        this.#socket.close(1000);
      } catch {
        // Closing a socket that is already going away.
      }
    }
  }

  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#endBy = Date.now() + WS_END_GRACE_MS;
    if (this.state !== "closed") this.state = "closing";
    this.#check();
  }

  abort(): void {
    this.#ending = true;
    if (this.state !== "closed") this.state = "closing";
    if (!this.#closeSent) this.#sendClose();
  }

  /** The socket's `close` event calls this; frames not confirmed by then were not written. */
  socketClosed(): void {
    this.#ending = true;
    this.#closeSent = true;
    clearTimeout(this.#poll);
    this.#poll = undefined;
    for (const entry of this.#inFlight.splice(0)) entry.done(false);
    if (this.state === "closed") return;
    this.state = "closed";
    this.resolveClosed();
  }
}
