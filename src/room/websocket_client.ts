/**
 * A WebSocket client (RFC 6455, client side) over `Deno.connect`, with TLS through
 * `Deno.startTls` and extra trusted CAs: the upgrade request with our own headers, the
 * `Sec-WebSocket-Accept` check, masked binary frames out, and a reader that is a plain
 * {@linkcode ByteSource} of the binary payloads, so the packet reader reads it like TCP (same
 * small buffer, same pause before each read). Pings are answered, a close frame ends the stream.
 */
import { ProtocolError } from "../errors.ts";
import type { ByteSource } from "../protocol/frame_reader.ts";
import {
  encodeWsFrame,
  MAX_WS_HEADER_LENGTH,
  MAX_WS_MESSAGE_BYTES,
  parseWsFrameHeader,
  wsAcceptValue,
  wsCloseCode,
  type WsFrameHeader,
  wsHeaderLength,
  WsOpcode,
} from "../protocol/websocket_frame.ts";
import { Deadline } from "../util/deadline.ts";

/** Longest upgrade response head (status line and headers) accepted. */
export const MAX_HANDSHAKE_RESPONSE_BYTES = 16 * 1024;

/** Options of {@linkcode openWebSocket}. */
export interface OpenWebSocketOptions {
  /** `wss` (TLS) or `ws`. */
  secure: boolean;
  hostname: string;
  port: number;
  /** Request path. @default {"/sub"} */
  path?: string;
  /** Extra upgrade headers (User-Agent, Origin, Cookie); CR and LF are refused. */
  headers?: Readonly<Record<string, string>>;
  /** PEM certificates trusted in addition to the system's roots (wss only). */
  caCerts?: readonly string[];
  /** Gives up after this long (connect, TLS and upgrade together). @default {10000} */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();

/** The URL of a connection, for logs and errors. */
export function webSocketUrl(options: OpenWebSocketOptions): string {
  return `${options.secure ? "wss" : "ws"}://${options.hostname}:${options.port}${
    options.path ?? "/sub"
  }`;
}

/** Connects, upgrades and returns the open WebSocket; rejects with a sentence naming the URL. */
export async function openWebSocket(options: OpenWebSocketOptions): Promise<WebSocketConnection> {
  const url = webSocketUrl(options);
  const request = upgradeRequest(options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  using deadline = new Deadline(timeoutMs, options.signal);
  let conn: Deno.Conn | undefined;
  const onAbort = () => {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  };
  deadline.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const tcp = await Deno.connect({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
      signal: deadline.signal,
    });
    tcp.setNoDelay(true);
    conn = tcp;
    if (options.secure) {
      const tls = await Deno.startTls(tcp, {
        hostname: options.hostname,
        caCerts: options.caCerts ? [...options.caCerts] : undefined,
      });
      conn = tls;
      await tls.handshake();
    }
    if (deadline.signal.aborted) throw new Error("aborted");
    await writeAll(conn, ascii.encode(request.text));
    const rest = await readUpgradeResponse(conn, await wsAcceptValue(request.key));
    return new WebSocketConnection(conn, url, rest);
  } catch (error) {
    onAbort();
    if (deadline.timedOut) throw new Error(`Cannot open ${url}: timed out after ${timeoutMs} ms`);
    if (options.signal?.aborted) throw new Error(`Cannot open ${url}: aborted`, { cause: error });
    throw new Error(`Cannot open ${url}: ${(error as Error).message}`, { cause: error });
  } finally {
    deadline.signal.removeEventListener("abort", onAbort);
  }
}

function upgradeRequest(options: OpenWebSocketOptions): { text: string; key: string } {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const defaultPort = options.secure ? 443 : 80;
  const host = options.port === defaultPort
    ? options.hostname
    : `${
      options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname
    }:${options.port}`;
  const lines = [
    `GET ${options.path ?? "/sub"} HTTP/1.1`,
    `Host: ${host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  const reserved = new Set(lines.slice(1).map((line) => line.split(":")[0].toLowerCase()));
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
      // The value may be a cookie: never repeat it.
      throw new TypeError(`Cannot send the upgrade header "${name}": bad name or line break`);
    }
    if (value !== "" && !reserved.has(name.toLowerCase())) lines.push(`${name}: ${value}`);
  }
  return { text: `${lines.join("\r\n")}\r\n\r\n`, key };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let rest = bytes;
  while (rest.length > 0) rest = rest.subarray(await conn.write(rest));
}

/** Reads the response head, checks it is our upgrade, and returns the bytes read past it. */
async function readUpgradeResponse(conn: Deno.Conn, accept: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(MAX_HANDSHAKE_RESPONSE_BYTES);
  let have = 0;
  let headEnd = -1;
  while (headEnd < 0) {
    if (have === buffer.length) {
      throw new Error(`the upgrade response head is over ${buffer.length} bytes`);
    }
    const count = await conn.read(buffer.subarray(have));
    if (count === null) throw new Error("the server closed the connection during the upgrade");
    const from = Math.max(0, have - 3);
    have += count;
    for (let i = from; i + 3 < have; i++) {
      if (
        buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10
      ) {
        headEnd = i;
        break;
      }
    }
  }
  const [statusLine, ...headerLines] = latin1.decode(buffer.subarray(0, headEnd)).split("\r\n");
  const status = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!status) throw new Error(`the server did not answer HTTP/1.1: "${statusLine.slice(0, 80)}"`);
  if (status[1] !== "101") {
    throw new Error(`the server answered ${status[1]}${status[2] ? ` ${status[2]}` : ""}`);
  }
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new Error(`bad header line in the upgrade response: "${line.slice(0, 80)}"`);
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  const tokens = (name: string) =>
    (headers.get(name) ?? "").toLowerCase().split(",").map((token) => token.trim());
  if (!tokens("upgrade").includes("websocket")) {
    throw new Error("the upgrade response lacks Upgrade: websocket");
  }
  if (!tokens("connection").includes("upgrade")) {
    throw new Error("the upgrade response lacks Connection: Upgrade");
  }
  if (headers.get("sec-websocket-accept") !== accept) {
    throw new Error("the upgrade response has a wrong Sec-WebSocket-Accept");
  }
  if (headers.has("sec-websocket-extensions") || headers.has("sec-websocket-protocol")) {
    throw new Error("the server chose an extension or subprotocol we did not offer");
  }
  return buffer.slice(headEnd + 4, have);
}

/** A control frame being read. */
interface ControlFrame {
  opcode: number;
  bytes: Uint8Array;
  have: number;
}

/**
 * An open client WebSocket. `read()` yields the payload bytes of binary messages in order,
 * with frame headers removed in place (no buffer of its own beyond a 14-byte header and a
 * control frame's ≤ 125 bytes); text frames are skipped; it returns null after a close frame
 * or at the end of the connection. `send()` writes one masked binary frame. `close()` is
 * idempotent.
 */
export class WebSocketConnection implements ByteSource, Disposable {
  /** `ws://…` or `wss://…`, for logs. */
  readonly url: string;
  /** The code of the server's close frame, once received. */
  closeCode?: number;
  readonly #conn: Deno.Conn;
  #pending: Uint8Array | undefined;
  readonly #header = new Uint8Array(MAX_WS_HEADER_LENGTH);
  #headerHave = 0;
  /** Payload bytes still to come of the current data frame. */
  #payloadLeft = 0;
  /** The current message is text: its payload is skipped. */
  #skipping = false;
  #control: ControlFrame | undefined;
  /** A fragmented message has begun and its final frame has not. */
  #inMessage = false;
  #messageBytes = 0;
  /** Stream offset of the next byte, for errors. */
  #offset = 0;
  #closeReceived = false;
  #closed = false;
  #writes: Promise<void> = Promise.resolve();

  constructor(conn: Deno.Conn, url: string, alreadyRead: Uint8Array) {
    this.#conn = conn;
    this.url = url;
    if (alreadyRead.length > 0) this.#pending = alreadyRead;
  }

  /** Reads payload bytes into `target`; null once the server closed. */
  async read(target: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closeReceived) {
        await this.#writes; // our close reply goes out before the caller closes the socket
        return null;
      }
      let count: number | null;
      if (this.#pending) {
        count = Math.min(target.length, this.#pending.length);
        target.set(this.#pending.subarray(0, count));
        this.#pending = count < this.#pending.length ? this.#pending.subarray(count) : undefined;
      } else count = await this.#conn.read(target);
      if (count === null) {
        if (this.#headerHave > 0 || this.#payloadLeft > 0 || this.#control) {
          throw new ProtocolError(
            `Cannot decode WebSocket frame at byte ${this.#offset}: the connection ended inside it`,
            this.#offset,
          );
        }
        return null;
      }
      const out = this.#unframe(target, count);
      if (out > 0) return out;
    }
  }

  /** Removes frame headers from `buffer[0, count)` in place; returns the payload bytes left. */
  #unframe(buffer: Uint8Array, count: number): number {
    let out = 0;
    let i = 0;
    while (i < count && !this.#closeReceived) {
      const control = this.#control;
      if (control) {
        const take = Math.min(control.bytes.length - control.have, count - i);
        control.bytes.set(buffer.subarray(i, i + take), control.have);
        control.have += take;
        i += take;
        this.#offset += take;
        if (control.have === control.bytes.length) {
          this.#control = undefined;
          this.#onControl(control.opcode, control.bytes);
        }
        continue;
      }
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, count - i);
        if (!this.#skipping) {
          if (out !== i) buffer.copyWithin(out, i, i + take);
          out += take;
        }
        i += take;
        this.#payloadLeft -= take;
        this.#offset += take;
        continue;
      }
      this.#header[this.#headerHave++] = buffer[i++];
      if (this.#headerHave < 2 || this.#headerHave < wsHeaderLength(this.#header[1])) continue;
      const offset = this.#offset;
      this.#offset += this.#headerHave;
      const header = parseWsFrameHeader(this.#header.subarray(0, this.#headerHave), offset);
      this.#headerHave = 0;
      this.#startFrame(header, offset);
    }
    return out;
  }

  #startFrame(header: WsFrameHeader, offset: number): void {
    const fail = (problem: string) =>
      new ProtocolError(`Cannot decode WebSocket frame at byte ${offset}: ${problem}`, offset);
    if (header.mask) throw fail("the server masked it");
    if (header.opcode >= WsOpcode.close) {
      if (header.payloadLength === 0) this.#onControl(header.opcode, new Uint8Array(0));
      else {
        this.#control = {
          opcode: header.opcode,
          bytes: new Uint8Array(header.payloadLength),
          have: 0,
        };
      }
      return;
    }
    if (header.opcode === WsOpcode.continuation) {
      if (!this.#inMessage) throw fail("a continuation frame outside a message");
    } else {
      if (this.#inMessage) throw fail("a new message inside a fragmented one");
      this.#messageBytes = 0;
      this.#skipping = header.opcode === WsOpcode.text; // Bilibili sends binary only
    }
    this.#messageBytes += header.payloadLength;
    if (this.#messageBytes > MAX_WS_MESSAGE_BYTES) {
      throw fail(`a message over ${MAX_WS_MESSAGE_BYTES} bytes`);
    }
    this.#inMessage = !header.fin;
    this.#payloadLeft = header.payloadLength;
  }

  #onControl(opcode: number, payload: Uint8Array): void {
    if (opcode === WsOpcode.ping) {
      this.#write(WsOpcode.pong, payload).catch(() => {}); // a failed write ends the read too
    } else if (opcode === WsOpcode.close) {
      this.closeCode = wsCloseCode(payload);
      this.#closeReceived = true;
      // Echo the status code (§5.5.1); the server then closes the connection.
      this.#write(WsOpcode.close, payload.subarray(0, 2)).catch(() => {});
    }
  }

  /** Writes one masked binary frame holding `payload`. */
  send(payload: Uint8Array): Promise<void> {
    return this.#write(WsOpcode.binary, payload);
  }

  /** Frames are written one after another, never interleaved. */
  #write(opcode: number, payload: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`Cannot write to ${this.url}: closed`));
    const frame = encodeWsFrame(opcode, payload, {
      mask: crypto.getRandomValues(new Uint8Array(4)),
    });
    const written = this.#writes.then(() => writeAll(this.#conn, frame));
    this.#writes = written.catch(() => {});
    return written;
  }

  /** Closes the connection at once (a pending read ends with BadResource or Interrupted). */
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
