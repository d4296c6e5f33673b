/**
 * The offline Bilibili: composes the world, the HTTP API, the TCP and WebSocket (and, given a
 * certificate, TLS WebSocket) danmaku servers, the scheduler tick and the truth log into one
 * object a test or the CLI starts and closes.
 */
import type { WbiKeys } from "../bilibili/wbi.ts";
import { ConfigError } from "../errors.ts";
import { Broadcaster } from "./broadcaster.ts";
import { systemClock, type WallClock as Clock } from "../util/clock.ts";
import { newCounters, type SimulatorCounters } from "./counters.ts";
import { CLOSE_GRACE_MS, DanmakuServer } from "./danmaku_server.ts";
import { type Faults, NO_FAULTS, type TcpFault, TcpFaultRooms, THROTTLE_SHARE } from "./faults.ts";
import { createHttpApi, type ListRules, wbiKeysForSeed } from "./http_api.ts";
import { type SeenRequest, TokenAuthority } from "./identity.ts";
import { MessageFactory } from "./message_factory.ts";
import { Random } from "./random.ts";
import { RateLimiter } from "./rate_limit.ts";
import { TruthFile, type TruthSink } from "./truth_log.ts";
import { type SimRoom, World } from "./world.ts";
import { SIMULATOR_DEFAULTS } from "../defaults.ts";

/** A PEM certificate chain and its PEM private key, for the `wss` listener. */
export interface TlsPem {
  /** The server certificate (then any intermediates), PEM. */
  cert: string;
  /** The certificate's private key, PEM. */
  key: string;
}

/** Options of {@linkcode startSimulator}. */
export interface SimulatorOptions {
  /** Interface to bind. @default {SIMULATOR_DEFAULTS.host} */
  host?: string;
  /** HTTP and WebSocket port; 0 picks a free one. @default {0} */
  port?: number;
  /** Raw TCP danmaku port; 0 picks a free one. @default {0} */
  tcpPort?: number;
  /**
   * Also serve everything (WebSocket `/sub` and the HTTP API) over TLS with this certificate;
   * getDanmuInfo's `wss_port` then points there (else at the plain WebSocket port).
   * @default {undefined} (no TLS listener)
   */
  tls?: TlsPem;
  /** TLS port when `tls` is given; 0 picks a free one. @default {0} */
  tlsPort?: number;
  /**
   * Seed of the world, the messages, tokens, WBI keys and faults.
   * @default {SIMULATOR_DEFAULTS.seed}
   */
  seed?: string | number;
  /** Number of rooms. @default {SIMULATOR_DEFAULTS.rooms} */
  rooms?: number;
  /**
   * Mean op-5 messages per second per live room (Zipf-spread over rooms).
   * @default {SIMULATOR_DEFAULTS.rate}
   */
  rate?: number;
  /**
   * Share of rooms whose DANMU_MSG come in an older layout (2018 with `info[0][4]` in seconds, or
   * 2021 without `extra`); see docs/simulator.md. @default {0}
   */
  eraShare?: number;
  /** Each room sends exactly this many op-5 messages in total, then goes quiet. @default {undefined} (no limit) */
  messagesPerRoom?: number;
  /** Truth log: a JSONL file path (appended) or a sink. @default {undefined} (none) */
  truth?: string | TruthSink;
  /** Fault probabilities, and shares of rooms whose raw TCP misbehaves. @default {all 0} */
  faults?: Partial<Faults>;
  /** Rooms (real ids) whose raw TCP misbehaves, besides the shares in `faults`. @default {none} */
  tcpFaultRooms?: Readonly<Record<number, TcpFault>>;
  /** Open danmaku connections allowed per client IP; 0 = no cap. @default {0} */
  maxConnectionsPerIp?: number;
  /** HTTP requests allowed per client IP per second before 412; 0 = no limit. @default {0} */
  httpRateLimit?: number;
  /** How long an IP gets 412 after exceeding the limit. @default {SIMULATOR_DEFAULTS.httpBanMs} */
  httpBanMs?: number;
  /** getDanmuInfo also answers -352 without a buvid4 cookie (it always does without buvid3). @default {false} */
  requireBuvid4?: boolean;
  /** How strict the room lists are (-352 to guests, refused endpoints). @default {lenient} */
  lists?: ListRules;
  /**
   * Scheduler period in ms; 0 = no timer, drive it with `step()` (tests).
   * @default {SIMULATOR_DEFAULTS.tickMs}
   */
  tickMs?: number;
  /**
   * Mean live session and offline gap of the schedule.
   * @default {SIMULATOR_DEFAULTS.meanLiveMs} each
   */
  meanLiveMs?: number;
  meanOfflineMs?: number;
  /** Danmaku auth deadline. @default {AUTH_TIMEOUT_MS} (danmaku_server.ts) */
  authTimeoutMs?: number;
  /** Heartbeat silence after which a connection is closed. @default {70000} */
  heartbeatTimeoutMs?: number;
  /**
   * How long `close()` waits, once it has stopped sending, for clients to read what was written
   * to them and close; then it cuts the rest. @default {CLOSE_GRACE_MS}
   */
  closeGraceMs?: number;
  /** Time source. @default {systemClock} */
  clock?: Clock;
  /** Log sink for `key=value` lines. @default {no logging} */
  log?: (line: string) => void;
  /** Period of the counters log line; 0 = never. @default {SIMULATOR_DEFAULTS.logEveryMs} */
  logEveryMs?: number;
  /** Aborting closes the simulator. */
  signal?: AbortSignal;
}

/** A running simulator. */
export interface Simulator extends AsyncDisposable {
  /** HTTP origin, e.g. `http://127.0.0.1:8000`. */
  readonly api: string;
  /** Raw TCP danmaku address, `127.0.0.1:P`. */
  readonly tcp: string;
  /** WebSocket URL, `ws://127.0.0.1:P/sub`. */
  readonly ws: string;
  /** TLS WebSocket URL, `wss://127.0.0.1:P/sub`, when started with `tls`. */
  readonly wss: string | undefined;
  /** The rooms (real id, short id, live flag, popularity, anchor, title, area, live_time). */
  readonly world: World;
  /** WBI keys `/x/web-interface/nav` serves now. */
  readonly wbiKeys: WbiKeys;
  /** Live counters. */
  readonly counters: Readonly<SimulatorCounters>;
  /**
   * The last {@linkcode MAX_SEEN_REQUESTS} requests (HTTP and WebSocket upgrades) with their
   * User-Agent, Origin, Referer and cookies, oldest first.
   */
  readonly requests: readonly SeenRequest[];
  /** Open danmaku connections. */
  connectionCount(): number;
  /** Sets a room live (LIVE ×2) or offline (PREPARING) and pins it there. */
  setLive(roomId: number, live: boolean): void;
  /** Blocks a room: ROOM_BLOCK_MSG to its listeners, then closes them and refuses new auths. */
  blockRoom(roomId: number): void;
  /** Messages the room may still send under `messagesPerRoom` (Infinity without a limit). */
  remaining(roomId: number): number;
  /**
   * Throttles the room's open connections now, as the `throttle` fault does to one: each gets
   * only `share` of the room's messages from then on; new connections get them all. Returns
   * how many connections it throttled.
   */
  throttle(roomId: number, share?: number): number;
  /**
   * Makes a room's raw TCP misbehave from its next auth on (refused: getDanmuInfo hands out a
   * port nobody listens on and a TCP auth is closed unanswered; closed right after the auth
   * reply; silent after it), or behave (undefined). WebSocket and wss are never affected.
   */
  setTcpFault(roomId: number, fault: TcpFault | undefined): void;
  /**
   * Rotates the WBI keys, as Bilibili does about daily: nav serves new ones at once and
   * getDanmuInfo signed with the old ones answers -352. Tokens and connections are unaffected.
   * Returns the new keys.
   */
  rotateWbiKeys(): WbiKeys;
  /**
   * Expires every danmaku token issued so far: an auth with one is closed without a reply, as
   * the real server does with a stale key. Open connections stay (the key is only checked at
   * auth); combine with `disconnectAll()` to make clients fetch a new token.
   */
  expireTokens(): void;
  /**
   * Logs every SESSDATA cookie out, as when it expires: nav answers -101 and getDanmuInfo issues
   * anonymous (uid 0) tokens, so an auth with the account's uid is refused.
   */
  expireSessions(): void;
  /**
   * Ends every danmaku connection after what was written to it is flushed, as when a danmaku
   * server restarts; clients may reconnect at once.
   */
  disconnectAll(): void;
  /** Runs one scheduler tick now (use with `tickMs: 0`). */
  step(): void;
  /** Stops everything, flushing writes and the truth log first. Idempotent. */
  close(): Promise<void>;
}

/** Requests kept in {@linkcode Simulator.requests}. */
export const MAX_SEEN_REQUESTS = 10_000;

/** Starts the simulator and resolves once all ports listen. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = String(options.seed ?? SIMULATOR_DEFAULTS.seed);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => {});
  const counters = newCounters();
  const faults: Faults = { ...NO_FAULTS, ...options.faults };
  const world = new World({
    seed,
    rooms: options.rooms,
    rate: options.rate,
    meanLiveMs: options.meanLiveMs,
    meanOfflineMs: options.meanOfflineMs,
    eraShare: options.eraShare,
    now: clock.now(),
  });
  const tokens = new TokenAuthority(seed);
  const requests: SeenRequest[] = [];
  let wbiGeneration = 0;
  let wbiKeys = wbiKeysForSeed(seed);
  const factory = new MessageFactory(world);
  const truth = typeof options.truth === "string" ? new TruthFile(options.truth) : options.truth;
  const faultRng = new Random(`faults:${seed}`);
  const tcpFaults = new TcpFaultRooms(seed, faults);
  for (const [roomId, fault] of Object.entries(options.tcpFaultRooms ?? {})) {
    tcpFaults.set(Number(roomId), fault);
  }

  const server = new DanmakuServer({
    world,
    tokens,
    clock,
    rng: faultRng,
    faults,
    tcpFaults,
    counters,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? 0,
    authTimeoutMs: options.authTimeoutMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    // Auths only arrive once the listeners below are open, after `broadcaster` exists.
    onAuthenticated: (c) => broadcaster.greet(c, clock.now()),
  });
  const broadcaster = new Broadcaster({
    world,
    factory,
    server,
    counters,
    rng: new Random(`frames:${seed}`),
    messagesPerRoom: options.messagesPerRoom,
    truth,
    now: () => clock.now(),
  });

  const hostname = options.host ?? SIMULATOR_DEFAULTS.host;
  const listener = Deno.listen({ hostname, port: options.tcpPort ?? 0, transport: "tcp" });
  const tcpPort = listener.addr.port;
  const refusedTcpPort = closedPort(hostname);
  let wsPort = 0;
  let tlsPort = 0;
  const handler = createHttpApi({
    world,
    tokens,
    server,
    clock,
    counters,
    limiter: new RateLimiter(
      options.httpRateLimit ?? 0,
      options.httpBanMs ?? SIMULATOR_DEFAULTS.httpBanMs,
    ),
    wbiKeys: () => wbiKeys,
    requireBuvid4: options.requireBuvid4,
    onRequest: (seen) => {
      if (requests.length >= MAX_SEEN_REQUESTS) requests.splice(0, MAX_SEEN_REQUESTS / 10);
      requests.push(seen);
    },
    lists: options.lists,
    seed,
    ports: (roomId) => ({
      tcp: tcpFaults.of(roomId) === "refuse" ? refusedTcpPort : tcpPort,
      ws: wsPort,
      wss: tlsPort || wsPort,
    }),
  });
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  try {
    servers.push(Deno.serve({ hostname, port: options.port ?? 0, onListen() {} }, handler));
    if (options.tls) {
      const { cert, key } = options.tls;
      try {
        servers.push(
          Deno.serve({ hostname, port: options.tlsPort ?? 0, cert, key, onListen() {} }, handler),
        );
      } catch (error) {
        if (
          error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.PermissionDenied
        ) throw error;
        throw new ConfigError(
          `Cannot serve TLS with this certificate and key: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  } catch (error) {
    listener.close();
    await Promise.all(servers.map((server) => server.shutdown()));
    truth?.close();
    throw error;
  }
  wsPort = servers[0].addr.port;
  tlsPort = servers[1]?.addr.port ?? 0;
  const tcpServing = server.serveTcp(listener);
  const shown = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;

  const blockRoom = (room: SimRoom) => {
    if (room.blocked) return;
    broadcaster.deliver(room, [factory.roomBlock(room, clock.now())]);
    room.blocked = true;
    room.live = false;
    room.liveTime = 0;
    server.endRoom(room.roomId);
  };

  const tickMs = options.tickMs ?? SIMULATOR_DEFAULTS.tickMs;
  const logEveryMs = options.logEveryMs ?? SIMULATOR_DEFAULTS.logEveryMs;
  let lastHousekeeping = clock.now();
  let lastLog = clock.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const step = () => {
    const now = clock.now();
    broadcaster.tick(now);
    const elapsed = now - lastHousekeeping;
    if (elapsed >= 1000) {
      lastHousekeeping = now;
      server.housekeeping(now, elapsed / 1000);
      if (faults.block > 0) {
        const p = 1 - (1 - faults.block) ** (elapsed / 1000);
        for (const room of world.rooms) {
          if (room.live && !room.blocked && faultRng.chance(p)) {
            counters.faultBlocks++;
            blockRoom(room);
          }
        }
      }
    }
    if (logEveryMs > 0 && now - lastLog >= logEveryMs) {
      lastLog = now;
      log(
        `event=counters connections=${server.connections.size} ${
          Object.entries(counters).map(([k, v]) => `${k}=${v}`).join(" ")
        }`,
      );
    }
  };
  const schedule = () => {
    timer = setTimeout(() => {
      step();
      schedule();
    }, tickMs);
  };
  if (tickMs > 0) {
    broadcaster.tick(clock.now());
    schedule();
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      clearTimeout(timer);
      timer = undefined;
      options.signal?.removeEventListener("abort", onAbort);
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await server.close(options.closeGraceMs ?? CLOSE_GRACE_MS);
      await tcpServing;
      await Promise.all(servers.map((server) => server.shutdown()));
      truth?.close();
      log(`event=closed messagesSent=${counters.messagesSent} bytesSent=${counters.bytesSent}`);
    })();
  const onAbort = () => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  const roomOf = (roomId: number): SimRoom => {
    const room = world.resolve(roomId);
    if (!room) throw new RangeError(`Cannot find room ${roomId} in the simulated world`);
    return room;
  };

  return {
    api: `http://${shown}:${wsPort}`,
    tcp: `${shown}:${tcpPort}`,
    ws: `ws://${shown}:${wsPort}/sub`,
    wss: tlsPort ? `wss://${shown}:${tlsPort}/sub` : undefined,
    world,
    get wbiKeys() {
      return wbiKeys;
    },
    counters,
    requests,
    connectionCount: () => server.connections.size,
    setLive(roomId, live) {
      const room = roomOf(roomId);
      const now = clock.now();
      if (world.setLive(room, live, now)) {
        broadcaster.deliver(room, factory.transition(room, live, now));
      }
    },
    blockRoom: (roomId) => blockRoom(roomOf(roomId)),
    rotateWbiKeys() {
      wbiKeys = wbiKeysForSeed(seed, ++wbiGeneration);
      log(`event=wbi_keys_rotated generation=${wbiGeneration}`);
      return wbiKeys;
    },
    expireTokens() {
      tokens.expireAll();
      log("event=tokens_expired");
    },
    expireSessions() {
      tokens.expireSessions();
      log("event=sessions_expired");
    },
    disconnectAll: () => server.endAll(),
    remaining: (roomId) => broadcaster.remaining(roomOf(roomId).roomId),
    throttle(roomId, share = THROTTLE_SHARE) {
      const listeners = [...server.rooms.get(roomOf(roomId).roomId) ?? []];
      for (const c of listeners) c.share = share;
      counters.faultThrottles += listeners.length;
      return listeners.length;
    },
    setTcpFault: (roomId, fault) => tcpFaults.set(roomOf(roomId).roomId, fault),
    step,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A loopback port nobody listens on (bound, then released): connecting to it is refused. */
function closedPort(hostname: string): number {
  const probe = Deno.listen({ hostname, port: 0, transport: "tcp" });
  const port = probe.addr.port;
  probe.close();
  return port;
}
