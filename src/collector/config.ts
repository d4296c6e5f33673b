/** The collect command's flags and environment, parsed once into a frozen config. */
import { ConfigError } from "../errors.ts";
import { durationFlag, numberFlag, parseFlags } from "../cli/flags.ts";
import type { TransportKind } from "../room/transport.ts";
import { parseByteSize } from "../util/byte_size.ts";
import { DEFAULT_QUEUE_BYTES } from "./event_queue.ts";

/** Everything `collect` needs to know, validated. */
export interface CollectConfig {
  /** SQLite file; created if missing. */
  dbPath: string;
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
  transport: TransportKind;
  /** File holding the SESSDATA cookie. */
  cookieFile?: string;
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
  authTimeoutMs: number;
  /** On stop, how long each connection may keep reading what is on its way. */
  drainMs: number;
  /** Global pace of Bilibili API calls. */
  apiRatePerSecond: number;
  /** Connection starts per second (staggered starts). */
  connectRatePerSecond: number;
  /** Cap on concurrent danmaku connections from this process. */
  maxConnections: number;
  /** Largest reconnect backoff. */
  maxBackoffMs: number;
  /** Stop by itself after this long. */
  durationMs?: number;
  /** Status log period when stderr is not a terminal. */
  statusIntervalMs: number;
}

/** Usage text of the collect command. */
export const COLLECT_USAGE = `Usage: main.ts collect [flags]

Collects danmaku, gifts, super chats, guard buys, interactions, audience counts and room
events from live rooms into SQLite. Ctrl+C flushes everything queued and exits 0.

Rooms (default: the top 100 live rooms plus newly started ones):
  --rooms ID,…              room ids (short ids are resolved to real ids); alone, only these
  --rooms-file FILE         more room ids, one per line or comma separated, # comments
  --top N                   also the N most popular live rooms (default 100 without --rooms)
  --follow-new / --no-follow-new
                            keep adding newly started rooms (default on when --top is used)
  --new-poll-interval DUR   how often to look for newly started rooms (default 1m)
  --new-scan N              newest rooms looked at per poll (default 30)
  --max-rooms N             cap on rooms; at the cap a new room replaces the least popular
                            discovered one only if it is more popular (default --max-connections)
  --drop-offline DUR        stop collecting discovered rooms offline this long (default: never)
  --area ID / --parent-area ID   discover only in this area / parent area

Storage:
  --db FILE                 SQLite database, created if missing (default ./danmaku.db)
  --keep-raw                also keep every message verbatim in raw_messages
  --flush-interval DUR      write queued events every DUR (default 10s)
  --flush-high-water N      flush early once N events are queued (default 20000)
  --queue-limit SIZE        memory for events waiting to be written, e.g. 64MB, 1GB, 512MiB;
                            when full, new events are dropped and counted (default 256MB,
                            about 500,000 events: leaves room on a 2-core box with 1 GB)

Connections:
  --transport tcp|ws|wss    danmaku transport (default tcp)
  --cookie-file FILE        file holding your SESSDATA cookie, so names are not masked;
                            or set BILIBILI_SESSDATA / BILIBILI_COOKIE. Never logged or stored.
  --api-base URL            send every Bilibili API origin to URL (e.g. the simulator)
  --api-rate N              API requests per second, for all rooms together (default 1)
  --connect-rate N          connection starts per second (default 5)
  --max-connections N       concurrent danmaku connections at most (default 150)
  --heartbeat-interval DUR  (default 30s)   --watchdog DUR  silence that kills a link (default 70s)
  --auth-timeout DUR        (default 10s)   --max-backoff DUR  longest retry delay (default 2m)
  --sweep-interval DUR      supervisor sweep (default 10s)
  --drain-timeout DUR       on stop, read what each socket still holds for at most DUR
                            before closing it (default 2s; 0 closes at once)

Run:
  --duration DUR            stop after DUR (default: until Ctrl+C / SIGTERM)
  --status-interval DUR     status log period when stderr is not a terminal (default 60s)

Durations: 500ms, 10s, 5m, 2h, 1d (a bare number is seconds).`;

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
function queueLimitFlag(value: string | undefined): number {
  if (value === undefined) return DEFAULT_QUEUE_BYTES;
  const bytes = parseByteSize(value);
  if (bytes === undefined || bytes < 1e6 || bytes > 1e12) {
    throw new ConfigError(
      `Cannot parse --queue-limit "${value}": expected a size such as 64MB, 1GB or 512MiB (plain digits are bytes) from 1MB to 1TB`,
    );
  }
  return bytes;
}

/** Turns collect's flags into a frozen config; errors name the flag and the bad value. */
export function parseCollectArgs(args: string[]): Readonly<CollectConfig> {
  const values = parseFlags("collect", args, {
    db: { type: "string" },
    rooms: { type: "string" },
    "rooms-file": { type: "string" },
    top: { type: "string" },
    "follow-new": { type: "boolean" },
    "no-follow-new": { type: "boolean" },
    "new-poll-interval": { type: "string" },
    "new-scan": { type: "string" },
    "max-rooms": { type: "string" },
    "drop-offline": { type: "string" },
    area: { type: "string" },
    "parent-area": { type: "string" },
    "api-base": { type: "string" },
    transport: { type: "string" },
    "cookie-file": { type: "string" },
    "keep-raw": { type: "boolean" },
    "flush-interval": { type: "string" },
    "flush-high-water": { type: "string" },
    "queue-limit": { type: "string" },
    "sweep-interval": { type: "string" },
    "heartbeat-interval": { type: "string" },
    watchdog: { type: "string" },
    "auth-timeout": { type: "string" },
    "drain-timeout": { type: "string" },
    "api-rate": { type: "string" },
    "connect-rate": { type: "string" },
    "max-connections": { type: "string" },
    "max-backoff": { type: "string" },
    duration: { type: "string" },
    "status-interval": { type: "string" },
  });
  const transport = values.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ws" && transport !== "wss") {
    throw new ConfigError(`Cannot parse --transport "${transport}": expected tcp, ws or wss`);
  }
  const apiBase = values["api-base"];
  if (apiBase !== undefined && !/^https?:\/\/[^/]+/.test(apiBase)) {
    throw new ConfigError(
      `Cannot parse --api-base "${apiBase}": expected an http:// or https:// URL`,
    );
  }
  const big = 1e12;
  const rooms = values.rooms === undefined
    ? []
    : parseRoomIds(values.rooms, `--rooms "${values.rooms}"`);
  const explicitRooms = values.rooms !== undefined || values["rooms-file"] !== undefined;
  const top = numberFlag("top", values.top, explicitRooms ? 0 : 100, {
    min: 0,
    max: 100_000,
    integer: true,
  });
  if (values["follow-new"] && values["no-follow-new"]) {
    throw new ConfigError("Cannot use --follow-new and --no-follow-new together");
  }
  const maxConnections = numberFlag("max-connections", values["max-connections"], 150, {
    min: 1,
    max: 1e6,
    integer: true,
  });
  return Object.freeze({
    dbPath: values.db ?? "danmaku.db",
    rooms: Object.freeze(rooms),
    roomsFile: values["rooms-file"],
    top,
    followNew: values["no-follow-new"] ? false : values["follow-new"] ?? top > 0,
    newPollIntervalMs: durationFlag("new-poll-interval", values["new-poll-interval"], 60_000, 100),
    newScan: numberFlag("new-scan", values["new-scan"], 30, { min: 1, max: 10_000, integer: true }),
    maxRooms: numberFlag("max-rooms", values["max-rooms"], maxConnections, {
      min: 1,
      max: 1e6,
      integer: true,
    }),
    dropOfflineMs: durationFlag("drop-offline", values["drop-offline"], undefined, 1),
    areaId: numberFlag("area", values.area, 0, { min: 0, max: 1e9, integer: true }),
    parentAreaId: numberFlag("parent-area", values["parent-area"], 0, {
      min: 0,
      max: 1e9,
      integer: true,
    }),
    apiBase,
    transport,
    cookieFile: values["cookie-file"],
    keepRaw: values["keep-raw"] ?? false,
    flushIntervalMs: durationFlag("flush-interval", values["flush-interval"], 10_000, 10),
    flushHighWater: numberFlag("flush-high-water", values["flush-high-water"], 20_000, {
      min: 1,
      max: big,
      integer: true,
    }),
    queueLimit: queueLimitFlag(values["queue-limit"]),
    sweepIntervalMs: durationFlag("sweep-interval", values["sweep-interval"], 10_000, 10),
    heartbeatIntervalMs: durationFlag(
      "heartbeat-interval",
      values["heartbeat-interval"],
      30_000,
      10,
    ),
    watchdogMs: durationFlag("watchdog", values.watchdog, 70_000, 10),
    authTimeoutMs: durationFlag("auth-timeout", values["auth-timeout"], 10_000, 10),
    drainMs: durationFlag("drain-timeout", values["drain-timeout"], 2000, 0),
    apiRatePerSecond: numberFlag("api-rate", values["api-rate"], 1, { min: 0.001, max: 1e6 }),
    connectRatePerSecond: numberFlag("connect-rate", values["connect-rate"], 5, {
      min: 0.001,
      max: 1e6,
    }),
    maxConnections,
    maxBackoffMs: durationFlag("max-backoff", values["max-backoff"], 120_000, 10),
    durationMs: durationFlag("duration", values.duration, undefined),
    statusIntervalMs: durationFlag("status-interval", values["status-interval"], 60_000, 10),
  });
}
