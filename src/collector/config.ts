/** The collect command's flags and environment, parsed once into a frozen config. */
import { COLLECT_DEFAULTS as D } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import type { SocketsMode } from "../room/epoll_sockets.ts";
import type { BrotliMode } from "../protocol/brotli.ts";
import type { TransportMode } from "../room/transport.ts";
import { parseByteSize } from "../util/byte_size.ts";
import { describeDatabase, isPostgresUrl } from "../storage/database_url.ts";
import { SETUP_CONCURRENCY } from "./connection_slots.ts";
import { SILENCE_RULE } from "./silence_watch.ts";
import { type CommandSpec, flag, parseCommandArgs } from "../util/flags.ts";

/** How this collector takes part in a cluster (with a postgres:// --db only). */
export interface ClusterConfig {
  /** This node's name, unique among live nodes (`<hostname>-<pid>` by default). */
  nodeId: string;
  /** How long a room lease lasts unrenewed; renewed every third of it. */
  leaseTtlMs: number;
  /** Nodes that hold each room this node adds to the wanted set. */
  replicas: number;
}

/** Everything `collect` needs to know, validated. */
export interface CollectConfig {
  /** SQLite file (created if missing), or a `postgres://` URL (shown only via describeDatabase). */
  dbPath: string;
  /** Room leases: set exactly when `dbPath` is a PostgreSQL URL. */
  cluster?: ClusterConfig;
  /** Room ids given with --rooms (short ids allowed). */
  rooms: readonly number[];
  /** File with more room ids (one per line or comma separated; `#` comments). */
  roomsFile?: string;
  /** Top rooms by popularity to collect (100 by default when no rooms are given, else 0). */
  top: number;
  /** Keep adding newly started rooms (on by default in top-N mode). */
  followNew: boolean;
  /** How often the newest-started list is polled. */
  newPollIntervalMs: number;
  /** How many newest rooms each poll looks at. */
  newScan: number;
  /** Cap on collected rooms; at the cap the most popular are kept. */
  maxRooms: number;
  /** Drop discovered rooms offline this long (undefined = keep collecting them). */
  dropOfflineMs?: number;
  /** Only discover rooms of this area / parent area (0 = all). */
  areaId: number;
  parentAreaId: number;
  /** Send every Bilibili origin here (the simulator). */
  apiBase?: string;
  transport: TransportMode;
  /** Sockets of raw TCP rooms: the shared epoll set, Deno's, or epoll where it can run. */
  sockets: SocketsMode;
  brotli: BrotliMode;
  /** PEM file of extra CAs wss trusts (tests, intercepting proxies); verification stays on. */
  caFile?: string;
  /** File holding the user's cookie (SESSDATA, or the whole browser cookie). */
  cookieFile?: string;
  /** User-Agent of API calls and the WebSocket upgrade (else BILIBILI_USER_AGENT, else the built-in one). */
  userAgent?: string;
  /** Re-check the login (nav) this often; also after an auth failure, at most every 10 s. */
  identityMaxAgeMs: number;
  /** Keep every message verbatim in raw_messages too. */
  keepRaw: boolean;
  flushIntervalMs: number;
  /** Queue size that triggers an early flush. */
  flushHighWater: number;
  /** Memory budget of the event queue, in estimated bytes; beyond it new events are dropped. */
  queueLimit: number;
  sweepIntervalMs: number;
  heartbeatIntervalMs: number;
  watchdogMs: number;
  /** Give a room a fresh connection when it goes quiet while its audience does not. */
  silenceWatch: boolean;
  /** The silence watch's window, and the shortest time between two of its reconnects of a room. */
  silenceWindowMs: number;
  silenceCooldownMs: number;
  authTimeoutMs: number;
  /** On stop, how long each connection may keep reading what is on its way. */
  drainMs: number;
  /** Global pace of Bilibili API calls. */
  apiRatePerSecond: number;
  /** Connection starts per second (staggered starts). */
  connectRatePerSecond: number;
  /** Cap on concurrent danmaku connections from this process. */
  maxConnections: number;
  /** Rooms setting up at once (first API call until the danmaku connection is open). */
  setupConcurrency: number;
  /** Largest reconnect backoff. */
  maxBackoffMs: number;
  /** Stop by itself after this long. */
  durationMs?: number;
  /** Status log period when stderr is not a terminal. */
  statusIntervalMs: number;
  /** Where `--http` serves /metrics, /api/status and the status page; undefined = off. */
  http?: HttpAddress;
  /** Allow `--http` on an address other than loopback. */
  httpPublic: boolean;
}

/** An address to listen on: a hostname (IP or `localhost`) and a port (0 = any free one). */
export interface HttpAddress {
  hostname: string;
  port: number;
}

/** True for `localhost`, 127.0.0.0/8 and ::1. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Parses --http: `PORT`, `:PORT` (both on 127.0.0.1), `ADDR:PORT` or `[IPv6]:PORT`, with ADDR
 * an IPv4 address, `localhost` or, in brackets, an IPv6 address; the port from 0 to 65535.
 */
export function parseHttpAddress(text: string): HttpAddress {
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[0-9.]+|localhost)?:)?(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  let hostname = match?.[1] ?? "127.0.0.1";
  if (hostname.startsWith("[")) hostname = hostname.slice(1, -1);
  const ipv4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) &&
    hostname.split(".").every((part) => Number(part) <= 255);
  const valid = match !== null && port <= 65535 &&
    (ipv4 || hostname === "localhost" || hostname.includes(":"));
  if (!valid) {
    throw new ConfigError(
      `Cannot parse --http "${text}": expected PORT, :PORT or ADDR:PORT, e.g. 9100 or 127.0.0.1:9100 (port 0 picks a free one)`,
    );
  }
  return { hostname, port };
}

/** Parses a comma/whitespace separated list of positive room ids; `where` names the source. */
export function parseRoomIds(text: string, where: string): number[] {
  const ids: number[] = [];
  for (const line of text.split("\n")) {
    const content = line.replace(/#.*/, "");
    for (const token of content.split(/[\s,]+/)) {
      if (token === "") continue;
      const id = Number(token);
      // Digits only: Number() would also take "0x10", "1e3" and round ids beyond 2^53.
      if (!/^\d+$/.test(token) || !Number.isSafeInteger(id) || id <= 0) {
        throw new ConfigError(
          `Cannot parse ${where}: "${token}" is not a room id (a positive integer)`,
        );
      }
      ids.push(id);
    }
  }
  return ids;
}

/** Parses --queue-limit: a size from 1 MB to 1 TB. */
function parseQueueLimit(text: string): number {
  const bytes = parseByteSize(text);
  if (bytes === undefined || bytes < 1e6 || bytes > 1e12) {
    throw new ConfigError(
      `Cannot parse --queue-limit "${text}": expected a size such as 64MB, 1GB or 512MiB (plain digits are bytes) from 1MB to 1TB`,
    );
  }
  return bytes;
}

/** Longest --node-id. */
const MAX_NODE_ID = 100;

/** Parses --node-id: letters, digits, `.`, `_` and `-`, up to 100 characters. */
export function parseNodeId(text: string): string {
  if (!new RegExp(`^[A-Za-z0-9._-]{1,${MAX_NODE_ID}}$`).test(text)) {
    throw new ConfigError(
      `Cannot parse --node-id "${text}": expected 1 to ${MAX_NODE_ID} letters, digits, dots, dashes or underscores`,
    );
  }
  return text;
}

/** The default --node-id: `<hostname>-<pid>`, the host name reduced to the allowed characters. */
export function defaultNodeId(): string {
  let host = "node";
  try {
    host = Deno.hostname().replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80) || "node";
  } catch {
    // No --allow-sys: the pid alone still tells the nodes of one machine apart.
  }
  return `${host}-${Deno.pid}`;
}

/** Default --max-rooms of a cluster: discovery fills the wanted set that every node shares. */
export const CLUSTER_MAX_ROOMS = 100_000;

/** Default of --lease-ttl. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** Parses --user-agent / BILIBILI_USER_AGENT: printable ASCII, up to 512 characters. */
export function parseUserAgent(text: string, where = "--user-agent"): string {
  const value = text.trim();
  if (value === "" || value.length > 512 || !/^[\x20-\x7E]+$/.test(value)) {
    throw new ConfigError(
      `Cannot parse ${where} "${text}": expected a browser User-Agent of printable ASCII up to 512 characters`,
    );
  }
  return value;
}

const ROOMS = "Rooms (default: the top 100 live rooms plus newly started ones)";
const STORAGE = "Storage";
const CLUSTER = "Several collectors on one PostgreSQL (postgres:// --db only)";
const CONNECTIONS = "Connections";
const RUN = "Run";
const id = { min: 0, max: 1e9, integer: true };

/** The flags of collect, declared once, keyed by the config field each one sets. */
const COLLECT_FLAGS = {
  rooms: flag.custom({
    name: "rooms",
    arg: "ID,…",
    default: undefined,
    help: "room ids (short ids are resolved to real ids); alone, only these",
    group: ROOMS,
    parse: (text) => Object.freeze(parseRoomIds(text, `--rooms "${text}"`)),
  }),
  roomsFile: flag.string({
    name: "rooms-file",
    arg: "FILE",
    help: "more room ids, one per line or comma separated, # comments",
    group: ROOMS,
  }),
  top: flag.number({
    name: "top",
    default: undefined,
    defaultText: `${D.top} without --rooms or --rooms-file, else 0`,
    help: "also the N most popular live rooms",
    group: ROOMS,
    min: 0,
    max: 100_000,
    integer: true,
  }),
  followNew: flag.boolean({
    name: "follow-new",
    negatable: true,
    default: undefined,
    defaultText: "on when --top is above 0",
    help: "keep adding newly started rooms",
    group: ROOMS,
  }),
  newPollIntervalMs: flag.duration({
    name: "new-poll-interval",
    default: D.newPollIntervalMs,
    help: "how often to look for newly started rooms",
    group: ROOMS,
    minMs: 100,
  }),
  newScan: flag.number({
    name: "new-scan",
    default: D.newScan,
    help: "newest rooms looked at per poll",
    group: ROOMS,
    min: 1,
    max: 10_000,
    integer: true,
  }),
  maxRooms: flag.number({
    name: "max-rooms",
    default: undefined,
    defaultText:
      `--max-connections; with a postgres:// --db ${CLUSTER_MAX_ROOMS}, the wanted set of all nodes`,
    help:
      "cap on rooms; at the cap a new room replaces the least popular discovered one only if it is more popular",
    group: ROOMS,
    min: 1,
    max: 1e6,
    integer: true,
  }),
  dropOfflineMs: flag.duration({
    name: "drop-offline",
    default: undefined,
    defaultText: "never",
    help: "stop collecting discovered rooms offline this long",
    group: ROOMS,
    minMs: 1,
  }),
  areaId: flag.number({
    name: "area",
    arg: "ID",
    default: 0,
    defaultText: "0 = all",
    help: "discover only in this area",
    group: ROOMS,
    ...id,
  }),
  parentAreaId: flag.number({
    name: "parent-area",
    arg: "ID",
    default: 0,
    defaultText: "0 = all",
    help: "discover only in this parent area",
    group: ROOMS,
    ...id,
  }),
  dbPath: flag.string({
    name: "db",
    arg: "FILE|URL",
    default: D.dbPath,
    help:
      "SQLite database, created if missing, or postgres://user:password@host:port/dbname (several collectors may share one; docs/postgres.md)",
    group: STORAGE,
  }),
  nodeId: flag.custom({
    name: "node-id",
    arg: "NAME",
    default: undefined,
    defaultText: "<hostname>-<pid>",
    help:
      "this collector's name among the nodes sharing the database; a second live node with the same name is refused",
    group: CLUSTER,
    parse: parseNodeId,
  }),
  leaseTtlMs: flag.duration({
    name: "lease-ttl",
    default: undefined,
    defaultText: "30s",
    help:
      "a room lease not renewed for DUR expires and another node takes the room; renewed every third of it",
    group: CLUSTER,
    minMs: 300,
  }),
  replicas: flag.number({
    name: "replicas",
    default: undefined,
    defaultText: "1",
    help:
      "nodes that collect each room at once (the most popular first when capacity is short): losing one loses nothing",
    group: CLUSTER,
    min: 1,
    max: 16,
    integer: true,
  }),
  keepRaw: flag.boolean({
    name: "keep-raw",
    help: "also keep every message verbatim in raw_messages",
    group: STORAGE,
  }),
  flushIntervalMs: flag.duration({
    name: "flush-interval",
    default: D.flushIntervalMs,
    help: "write queued events every DUR",
    group: STORAGE,
    minMs: 10,
  }),
  flushHighWater: flag.number({
    name: "flush-high-water",
    default: D.flushHighWater,
    help: "flush early once N events are queued",
    group: STORAGE,
    min: 1,
    max: 1e12,
    integer: true,
  }),
  queueLimit: flag.custom({
    name: "queue-limit",
    arg: "SIZE",
    default: D.queueLimitBytes,
    defaultText: `${
      D.queueLimitBytes / 1e6
    }MB, about 500,000 events: leaves room on a 2-core box with 1 GB`,
    help:
      "memory for events waiting to be written, e.g. 64MB, 1GB, 512MiB; when full, new events are dropped and counted",
    group: STORAGE,
    parse: parseQueueLimit,
  }),
  transport: flag.choice({
    name: "transport",
    choices: ["auto", "tcp", "ws", "wss"] satisfies TransportMode[],
    default: "auto",
    help:
      "danmaku transport; auto starts on raw TCP and moves a room to wss after 3 TCP sessions in a row refused, closed right after auth or silent after it",
    group: CONNECTIONS,
  }),
  sockets: flag.choice({
    name: "sockets",
    choices: ["auto", "epoll", "deno"] satisfies SocketsMode[],
    default: "auto",
    help:
      "sockets of raw TCP rooms: epoll keeps every connection in one epoll set through libc (FFI; ≈ 0.5 KB per idle connection against ≈ 4.2 KB with Deno's sockets); auto uses it on Linux x86-64/aarch64 with glibc and --allow-ffi, else Deno's",
    group: CONNECTIONS,
  }),
  brotli: flag.choice({
    name: "brotli",
    choices: ["auto", "libbrotli", "node"] satisfies BrotliMode[],
    default: "auto",
    help:
      "brotli decoder of bundles: libbrotli calls the system's libbrotlidec through FFI (11–13 µs for a one-message bundle against 29–52 µs with node:zlib); auto uses it where it opens with --allow-ffi, else node:zlib",
    group: CONNECTIONS,
  }),
  caFile: flag.string({
    name: "ca-file",
    arg: "FILE",
    help:
      "PEM certificates wss trusts besides the system's (a test CA, an intercepting proxy); verification is never turned off",
    group: CONNECTIONS,
  }),
  cookieFile: flag.string({
    name: "cookie-file",
    arg: "FILE",
    help:
      "your Bilibili cookie, so names are not masked: the SESSDATA value, a Cookie header string or a cookies.txt export (its buvid3/buvid4 are used too); or set BILIBILI_COOKIE / BILIBILI_SESSDATA. Never logged or stored",
    group: CONNECTIONS,
  }),
  userAgent: flag.custom({
    name: "user-agent",
    arg: "UA",
    default: undefined,
    defaultText: "BILIBILI_USER_AGENT, else a current desktop Chrome",
    help: "User-Agent of every API call and WebSocket upgrade (update it if the API answers -352)",
    group: CONNECTIONS,
    parse: parseUserAgent,
  }),
  identityMaxAgeMs: flag.duration({
    name: "identity-max-age",
    default: 6 * 3_600_000,
    help:
      "ask nav again whether the cookie is still logged in after DUR (and after an auth failure, at most every 10s); logged out: one warning, then uid 0",
    group: CONNECTIONS,
    minMs: 100,
  }),
  apiBase: flag.url({
    name: "api-base",
    default: undefined,
    help: "send every Bilibili API origin to URL (e.g. the simulator)",
    group: CONNECTIONS,
  }),
  apiRatePerSecond: flag.number({
    name: "api-rate",
    default: D.apiRatePerSecond,
    help: "API requests per second, for all rooms together",
    group: CONNECTIONS,
    min: 0.001,
    max: 1e6,
  }),
  connectRatePerSecond: flag.number({
    name: "connect-rate",
    default: D.connectRatePerSecond,
    help: "connection starts per second",
    group: CONNECTIONS,
    min: 0.001,
    max: 1e6,
  }),
  maxConnections: flag.number({
    name: "max-connections",
    default: D.maxConnections,
    help: "concurrent danmaku connections at most",
    group: CONNECTIONS,
    min: 1,
    max: 1e6,
    integer: true,
  }),
  setupConcurrency: flag.number({
    name: "setup-concurrency",
    default: SETUP_CONCURRENCY,
    help: "rooms setting up at once (API calls until the connection is open); fewer lower the " +
      "memory peak of a connection ramp (below 64 a ramp of very busy rooms is slow; see " +
      "docs/benchmarks.md)",
    group: CONNECTIONS,
    min: 1,
    max: 1e6,
    integer: true,
  }),
  heartbeatIntervalMs: flag.duration({
    name: "heartbeat-interval",
    default: D.heartbeatIntervalMs,
    help: "heartbeat period",
    group: CONNECTIONS,
    minMs: 10,
  }),
  watchdogMs: flag.duration({
    name: "watchdog",
    default: D.watchdogMs,
    help: "silence that kills a connection",
    group: CONNECTIONS,
    minMs: 10,
  }),
  silenceWatch: flag.boolean({
    name: "silence-watch",
    negatable: true,
    default: true,
    defaultText: "on",
    help:
      "reconnect a room whose messages drop below 10 % of its usual rate while its audience stays (docs/collecting.md)",
    group: CONNECTIONS,
  }),
  silenceWindowMs: flag.duration({
    name: "silence-window",
    default: SILENCE_RULE.windowMs,
    help: "window of the silence watch; a room is judged after 3 of them",
    group: CONNECTIONS,
    minMs: 100,
  }),
  silenceCooldownMs: flag.duration({
    name: "silence-cooldown",
    default: SILENCE_RULE.cooldownMs,
    help: "at most one silence-watch reconnect per room per DUR",
    group: CONNECTIONS,
  }),
  authTimeoutMs: flag.duration({
    name: "auth-timeout",
    default: D.authTimeoutMs,
    help: "wait this long for the auth reply",
    group: CONNECTIONS,
    minMs: 10,
  }),
  maxBackoffMs: flag.duration({
    name: "max-backoff",
    default: D.maxBackoffMs,
    help: "longest delay before a reconnect",
    group: CONNECTIONS,
    minMs: 10,
  }),
  sweepIntervalMs: flag.duration({
    name: "sweep-interval",
    default: D.sweepIntervalMs,
    help: "how often the supervisor checks every connection",
    group: CONNECTIONS,
    minMs: 10,
  }),
  drainMs: flag.duration({
    name: "drain-timeout",
    default: D.drainMs,
    help:
      "on stop, read what each socket still holds for at most DUR before closing it; 0 closes at once",
    group: CONNECTIONS,
  }),
  durationMs: flag.duration({
    name: "duration",
    default: undefined,
    defaultText: "until Ctrl+C or SIGTERM",
    help: "stop after DUR",
    group: RUN,
  }),
  statusIntervalMs: flag.duration({
    name: "status-interval",
    default: D.statusIntervalMs,
    help: "status log period when stderr is not a terminal",
    group: RUN,
    minMs: 10,
  }),
  http: flag.custom({
    name: "http",
    arg: "ADDR:PORT",
    default: undefined,
    defaultText: "off",
    help:
      "serve /metrics (Prometheus), /api/status (JSON) and a live status page; PORT or :PORT listens on 127.0.0.1, port 0 picks a free one (docs/collecting.md)",
    group: RUN,
    parse: parseHttpAddress,
  }),
  httpPublic: flag.boolean({
    name: "http-public",
    help:
      "let --http listen on an address other than loopback (anyone who reaches it sees the rooms and counters)",
    group: RUN,
  }),
};

/** The collect command: usage, help and flags. */
export const COLLECT_COMMAND: CommandSpec<typeof COLLECT_FLAGS> = {
  name: "collect",
  usage: ["main.ts collect [flags]", "deno task start [flags]"],
  summary: "collect danmaku from live rooms into SQLite (deno task start)",
  description: `Collects danmaku, gifts, super chats, guard buys, interactions, audience counts
and room events from live rooms into SQLite. Ctrl+C flushes everything queued
and exits 0.`,
  flags: COLLECT_FLAGS,
  notes: `Durations: 500ms, 10s, 5m, 2h, 1d (a bare number is seconds).
Sizes: 64MB or 1GB (powers of 1000), 512MiB (of 1024); bare digits are bytes.`,
};

/** Turns collect's flags into a frozen config; errors name the flag and the bad value. */
export function parseCollectArgs(args: readonly string[]): Readonly<CollectConfig> {
  const { values } = parseCommandArgs(COLLECT_COMMAND, args);
  if (values.http && !isLoopback(values.http.hostname) && !values.httpPublic) {
    throw new ConfigError(
      `Cannot serve --http on "${values.http.hostname}": it is not a loopback address, so anyone who can reach this machine would see the rooms and counters; add --http-public to allow it`,
    );
  }
  const explicitRooms = values.rooms !== undefined || values.roomsFile !== undefined;
  const top = values.top ?? (explicitRooms ? 0 : D.top);
  const { nodeId, leaseTtlMs, replicas, ...rest } = values;
  const postgres = isPostgresUrl(values.dbPath);
  if (!postgres) {
    const given = [
      nodeId !== undefined && "--node-id",
      leaseTtlMs !== undefined && "--lease-ttl",
      replicas !== undefined && "--replicas",
    ].filter((name) => name !== false);
    if (given.length > 0) {
      throw new ConfigError(
        `Cannot use ${given.join(", ")} with --db "${
          describeDatabase(values.dbPath)
        }": room leases need a shared PostgreSQL database (--db postgres://user@host:port/dbname)`,
      );
    }
  }
  const cluster: ClusterConfig | undefined = postgres
    ? Object.freeze({
      nodeId: nodeId ?? defaultNodeId(),
      leaseTtlMs: leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
      replicas: replicas ?? 1,
    })
    : undefined;
  return Object.freeze({
    ...rest,
    rooms: values.rooms ?? Object.freeze([]),
    top,
    followNew: values.followNew ?? top > 0,
    maxRooms: values.maxRooms ?? (cluster ? CLUSTER_MAX_ROOMS : values.maxConnections),
    ...(cluster ? { cluster } : {}),
  });
}
