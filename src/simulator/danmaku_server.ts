/**
 * The danmaku servers (docs/protocol.md §2): raw TCP and WebSocket `/sub` clients, op-7 auth within
 * 5 s against tokens bound to room and identity, heartbeat replies (u32 1), the 70 s heartbeat
 * timeout, per-IP caps and the per-connection faults. Message fan-out is the broadcaster's job.
 */
import { readPackets } from "../protocol/frame_reader.ts";
import { decodeFrame, decodePacket, type ServerMessage } from "../protocol/packet_decoder.ts";
import { encodePacket, Op, Ver } from "../protocol/packet.ts";
import type { WallClock as Clock } from "../util/clock.ts";
import { type ClientConnection, type Frame, TcpConnection, WsConnection } from "./connection.ts";
import type { SimulatorCounters } from "./counters.ts";
import { type Faults, type TcpFaultRooms, THROTTLE_SHARE } from "./faults.ts";
import type { TokenAuthority } from "./identity.ts";
import type { Random } from "./random.ts";
import type { World } from "./world.ts";

/** Wraps whole bytes as a frame written in one piece. */
export function wholeFrame(bytes: Uint8Array): Frame {
  return { bytes, pieces: [bytes] };
}

/** Op 8 `{"code":0}`, ver 0, seq 1 (as captured). */
const AUTH_REPLY = wholeFrame(encodePacket(Op.authReply, '{"code":0}', { ver: Ver.json, seq: 1 }));
/** Op 3 with popularity 1, ver 1, seq 0: what Bilibili answers now. */
const HEARTBEAT_REPLY = wholeFrame(
  encodePacket(Op.heartbeatReply, new Uint8Array([0, 0, 0, 1]), { ver: Ver.raw, seq: 0 }),
);

/** Largest auth body parsed; real ones are about 300 bytes. */
const MAX_AUTH_BODY = 4096;

/** Options of {@linkcode DanmakuServer}. */
export interface DanmakuServerOptions {
  world: World;
  tokens: TokenAuthority;
  clock: Clock;
  /** Rolls faults; seeded for reproducible runs. */
  rng: Random;
  faults: Faults;
  /** Rooms whose raw TCP is refused, closed after auth or silent after auth. @default {none} */
  tcpFaults?: TcpFaultRooms;
  counters: SimulatorCounters;
  /** Open connections allowed per client IP; 0 = no cap. */
  maxConnectionsPerIp: number;
  /** Close a connection that has not authenticated by then. @default {AUTH_TIMEOUT_MS} */
  authTimeoutMs?: number;
  /** Close an authenticated connection this long after its last heartbeat. @default {70000} */
  heartbeatTimeoutMs?: number;
  /** Called after a successful auth reply was queued. */
  onAuthenticated(connection: ClientConnection): void;
}

interface AuthFields {
  uid: number;
  roomid: number;
  protover: 1 | 2 | 3;
  key: string;
  buvid: string | undefined;
}

const utf8 = new TextDecoder();

function parseAuth(body: Uint8Array): AuthFields | undefined {
  if (body.length > MAX_AUTH_BODY) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const o = value as Record<string, unknown>;
  const roomid = o.roomid;
  const uid = o.uid ?? 0;
  if (typeof roomid !== "number" || !Number.isSafeInteger(roomid) || roomid <= 0) return undefined;
  if (typeof uid !== "number" || !Number.isSafeInteger(uid) || uid < 0) return undefined;
  const protover = o.protover === 2 || o.protover === 3 ? o.protover : 1;
  return {
    uid,
    roomid,
    protover,
    key: typeof o.key === "string" ? o.key : "",
    buvid: typeof o.buvid === "string" ? o.buvid : undefined,
  };
}

/** How long closing the danmaku servers waits for clients by default, ms. */
export const CLOSE_GRACE_MS = 2000;

/** How long a new connection may take to authenticate before it is closed, by default. */
export const AUTH_TIMEOUT_MS = 5000;

/** Accepts and supervises danmaku clients; knows which connections listen to which room. */
export class DanmakuServer {
  /** Subscribed, authenticated connections by real room id. */
  readonly rooms = new Map<number, Set<ClientConnection>>();
  /** Every open connection. */
  readonly connections = new Set<ClientConnection>();
  #perIp = new Map<string, number>();
  #nextId = 1;
  #options: DanmakuServerOptions;
  #authTimeoutMs: number;
  #heartbeatTimeoutMs: number;
  #closing = false;

  constructor(options: DanmakuServerOptions) {
    this.#options = options;
    this.#authTimeoutMs = options.authTimeoutMs ?? AUTH_TIMEOUT_MS;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 70_000;
  }

  /** Accepts TCP clients until the listener closes. */
  async serveTcp(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) this.#acceptTcp(conn);
    } catch (error) {
      if (!this.#closing) throw error;
    }
  }

  #admit(ip: string): boolean {
    const cap = this.#options.maxConnectionsPerIp;
    const count = this.#perIp.get(ip) ?? 0;
    if (this.#closing || (cap > 0 && count >= cap)) {
      this.#options.counters.connectionsRefused++;
      return false;
    }
    this.#perIp.set(ip, count + 1);
    this.#options.counters.connectionsAccepted++;
    return true;
  }

  #track(connection: ClientConnection): void {
    this.connections.add(connection);
    connection.closed.then(() => {
      this.connections.delete(connection);
      this.#unsubscribe(connection);
      const left = (this.#perIp.get(connection.ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(connection.ip, left);
      else this.#perIp.delete(connection.ip);
    });
  }

  #acceptTcp(conn: Deno.TcpConn): void {
    if (!this.#admit(conn.remoteAddr.hostname)) {
      conn.close();
      return;
    }
    const connection = new TcpConnection(this.#nextId++, conn, this.#options.clock.now());
    this.#track(connection);
    readPackets(
      connection.conn,
      (packet, offset) => decodePacket(packet, (m) => this.#onPacket(connection, m), offset),
    ).catch(() => {
      // A malformed client packet or a closed socket: either way the connection ends.
    }).finally(() => connection.readerStopped());
  }

  /** Upgrades a `/sub` request, or refuses it with 403 when the IP is over its cap. */
  acceptWebSocket(request: Request, ip: string): Response {
    if (!this.#admit(ip)) return new Response("connection limit", { status: 403 });
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    const connection = new WsConnection(this.#nextId++, ip, socket, this.#options.clock.now());
    this.#track(connection);
    socket.onmessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) {
        connection.abort();
        return;
      }
      try {
        decodeFrame(new Uint8Array(event.data), (m) => this.#onPacket(connection, m));
      } catch {
        connection.abort();
      }
    };
    socket.onclose = () => connection.socketClosed();
    return response;
  }

  #onPacket(connection: ClientConnection, message: ServerMessage): void {
    if (message.kind !== "other") return;
    if (message.op === Op.auth) {
      if (connection.state === "pending") this.#auth(connection, message.body);
      return;
    }
    if (message.op === Op.heartbeat) {
      if (connection.state !== "open" && connection.state !== "stalled") return;
      connection.lastHeartbeat = this.#options.clock.now();
      if (connection.state === "open" && connection.send(HEARTBEAT_REPLY)) {
        this.#options.counters.heartbeats++;
      }
    }
  }

  #auth(connection: ClientConnection, body: Uint8Array): void {
    const { world, tokens, counters, faults, rng } = this.#options;
    const auth = parseAuth(body);
    const room = auth && world.resolve(auth.roomid);
    const claims = auth && tokens.verify(auth.key);
    const valid = auth && room && !room.blocked && claims && claims.roomId === room.roomId &&
      claims.uid === auth.uid && (auth.buvid === undefined || auth.buvid === claims.buvid);
    if (!valid || (faults.authfail > 0 && rng.chance(faults.authfail))) {
      counters.authRejected++;
      connection.abort();
      return;
    }
    const tcpFault = connection.kind === "tcp"
      ? this.#options.tcpFaults?.of(room.roomId)
      : undefined;
    if (tcpFault === "refuse") {
      counters.tcpRefused++;
      connection.abort();
      return;
    }
    connection.state = "open";
    connection.protover = auth.protover;
    connection.masked = auth.uid === 0;
    connection.lastHeartbeat = this.#options.clock.now();
    connection.send(AUTH_REPLY);
    counters.authAccepted++;
    if (tcpFault === "close") {
      counters.tcpClosedAfterAuth++;
      connection.end(); // once the reply is written
      return;
    }
    if (tcpFault === "silent") {
      counters.tcpSilenced++;
      connection.state = "stalled"; // no messages, no heartbeat replies, open until the client leaves
      return;
    }
    // A short id authenticates but receives nothing (bilibili-live-ws#378).
    if (auth.roomid === room.roomId) {
      connection.roomId = room.roomId;
      let set = this.rooms.get(room.roomId);
      if (!set) this.rooms.set(room.roomId, set = new Set());
      set.add(connection);
      this.#options.onAuthenticated(connection);
    }
  }

  #unsubscribe(connection: ClientConnection): void {
    if (connection.roomId === 0) return;
    const set = this.rooms.get(connection.roomId);
    set?.delete(connection);
    if (set?.size === 0) this.rooms.delete(connection.roomId);
  }

  /** Enforces the auth and heartbeat timeouts and rolls the per-second faults. */
  housekeeping(now: number, elapsedSeconds: number): void {
    const { faults, rng, counters } = this.#options;
    const p = (perSecond: number) =>
      perSecond > 0 && rng.chance(1 - (1 - perSecond) ** elapsedSeconds);
    for (const c of this.connections) {
      if (c.state === "pending") {
        if (now - c.openedAt > this.#authTimeoutMs) c.abort();
        continue;
      }
      if (c.state !== "open" && c.state !== "stalled") continue;
      if (now - c.lastHeartbeat > this.#heartbeatTimeoutMs) {
        c.end();
        continue;
      }
      if (c.state !== "open") continue;
      if (p(faults.disconnect)) {
        counters.faultDisconnects++;
        c.end();
      } else if (p(faults.stall)) {
        counters.faultStalls++;
        c.state = "stalled";
        this.#unsubscribe(c);
      } else if (c.roomId !== 0 && c.share === 1 && p(faults.throttle)) {
        counters.faultThrottles++;
        c.share = THROTTLE_SHARE;
      } else if (c.roomId !== 0 && !c.corruptNext && p(faults.corrupt)) {
        counters.faultCorrupt++;
        c.corruptNext = true;
      }
    }
  }

  /** Gracefully ends every connection of a room (after what was queued is flushed). */
  endRoom(roomId: number): void {
    for (const c of this.rooms.get(roomId) ?? []) c.end();
  }

  /** Gracefully ends every connection (after what was queued is flushed); new ones are welcome. */
  endAll(): void {
    for (const c of this.connections) c.end();
  }

  /**
   * Ends every connection (a TCP stream is half-closed after its last queued frame), waits up to
   * `graceMs` for the clients to read it all and close, then aborts the rest.
   */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.#closing = true;
    for (const c of this.connections) c.end();
    const all = Promise.all([...this.connections].map((c) => c.closed));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    try {
      if (await Promise.race([all, timeout]) === "timeout") {
        for (const c of this.connections) c.abort();
        await all;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
