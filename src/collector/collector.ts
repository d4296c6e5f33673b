/**
 * The composition root of `collect`: store, API client, supervisor, queue, flusher and status,
 * wired in one place. `runCollector` returns when `signal` aborts (or the duration ends),
 * after the final flush; nothing queued is lost: what cannot be written is saved to a JSONL
 * file beside the database.
 *
 * With a `postgres://` --db the node joins a cluster: its lease manager (src/cluster/) decides
 * which rooms the supervisor runs, discovery runs only while this node holds the discovery
 * lease, and the tables stored by the primary holder only are written only for rooms whose
 * slot 0 this node holds.
 */
import { BilibiliApi } from "../bilibili/api_client.ts";
import type { UserCookie } from "../bilibili/cookies.ts";
import type { HttpGet } from "../bilibili/http_get.ts";
import { LiveWebId } from "../bilibili/live_page.ts";
import { LeaseManager } from "../cluster/lease_manager.ts";
import type { WantedRooms } from "../cluster/wanted_rooms.ts";
import { RoomDiscovery } from "../discovery/room_discovery.ts";
import type { CollectedEvent } from "../normalize/events.ts";
import { openSockets, type SocketsChoice } from "../room/epoll_sockets.ts";
import { openBrotli } from "../protocol/brotli.ts";
import type { BodyDecoding } from "../protocol/packet_decoder.ts";
import {
  type ConnectOptions,
  connectTransport,
  type DanmakuTransport,
  readCaFile,
} from "../room/transport.ts";
import { describeDatabase, isPostgresUrl } from "../storage/database_url.ts";
import { PgStore } from "../storage/pg_store.ts";
import { storedByEveryHolder } from "../storage/rows.ts";
import { logSchemaUpgrade, SqliteStore } from "../storage/sqlite_store.ts";
import type { Clock } from "../util/clock.ts";
import { formatMegabytes } from "../util/byte_size.ts";
import { fieldLogger, formatLogValue, type Logger } from "../util/log.ts";
import { RateLimiter } from "../util/rate_limiter.ts";
import type { RoomSet } from "../discovery/room_set.ts";
import type { CollectConfig } from "./config.ts";
import { ConnectionSlots } from "./connection_slots.ts";
import { EventQueue } from "./event_queue.ts";
import { type EventSink, Flusher } from "./flusher.ts";
import { ReadGate } from "./read_gate.ts";
import { StatusReporter } from "./status_reporter.ts";
import { leanDecoding } from "./room_worker.ts";
import { Supervisor } from "./supervisor.ts";
import { saveUnwritten } from "./unwritten_file.ts";
import { COLLECT_DEFAULTS } from "../defaults.ts";

/** What the collector needs from its surroundings (injectable for tests). */
export interface CollectorDeps {
  clock: Clock;
  random: () => number;
  log: (line: string) => void;
  /** The user's whole cookie (SESSDATA, buvid3, …), already loaded; never logged. */
  cookie?: UserCookie;
  /** A SESSDATA value alone (added to `cookie`); never logged. */
  sessdata?: string;
  /** Room ids to collect (from --rooms and --rooms-file). */
  rooms: readonly number[];
  /** Live status line on a terminal: called with each line; undefined off a TTY. */
  statusLine?: (line: string) => void;
  /** Replaces the store (a no-op sink for dry runs and tests). */
  sink?: ClosableSink;
  connect?: (options: ConnectOptions) => Promise<DanmakuTransport>;
  /** Replaces the HTTP GET of the API client (tests inject failures here). */
  httpGet?: HttpGet;
  /**
   * Aborted when the process is about to exit without a final flush (a forced second Ctrl+C):
   * everything queued is saved to the fallback JSONL synchronously, in the abort listener.
   */
  forced?: AbortSignal;
  /** Called once everything is running, with the live parts (tests and discovery hook in here). */
  onStarted?: (parts: CollectorParts) => void | Promise<void>;
}

/** A sink the collector closes when it stops (SQLite closes at once, PostgreSQL awaits). */
export type ClosableSink = EventSink & { close(): void | Promise<void> };

/** The running parts, for hooks. */
export interface CollectorParts {
  supervisor: Supervisor;
  /** Room discovery, while it runs on this node (in a cluster: while it holds the lease). */
  readonly discovery?: RoomDiscovery;
  /** This node's leases, with a postgres:// --db. */
  leases?: LeaseManager;
  api: BilibiliApi;
  queue: EventQueue;
  flusher: Flusher;
  gate: ReadGate;
  /** Title and anchor name of each room, as last seen in a room list or ROOM_CHANGE. */
  labels: ReadonlyMap<number, RoomLabel>;
}

/** What a room is called, when known. */
export interface RoomLabel {
  title: string | null;
  anchor: string | null;
}

/** Rooms whose labels are kept at most (a bound: discovery may add and drop many). */
const MAX_LABELS = 100_000;

/** Records a room's title and anchor name from a room or ROOM_CHANGE event. */
function noteLabel(labels: Map<number, RoomLabel>, event: CollectedEvent): void {
  const title =
    event.type === "room" || (event.type === "roomState" && event.kind === "room_change")
      ? event.title
      : null;
  const anchor = event.type === "room" ? event.uname : null;
  if (title === null && anchor === null) return;
  const label = labels.get(event.roomId);
  if (!label && labels.size >= MAX_LABELS) return;
  labels.set(event.roomId, {
    title: title ?? label?.title ?? null,
    anchor: anchor ?? label?.anchor ?? null,
  });
}

/** What a run did. */
export interface CollectorSummary {
  written: number;
  dropped: number;
  messages: number;
  sessions: number;
  /** Where unwritable events were saved at exit, if anywhere. */
  savedTo?: string;
}

/** Runs the collector until `signal` aborts or `config.durationMs` passes. */
export async function runCollector(
  config: Readonly<CollectConfig>,
  deps: CollectorDeps,
  signal: AbortSignal,
): Promise<CollectorSummary> {
  const { clock, log } = deps;
  const logger = fieldLogger(log);
  const sink = deps.sink ?? await openDatabase(config.dbPath, log, logger);
  let leases: LeaseManager | undefined;
  try {
    leases = await joinCluster(config, deps);
  } catch (error) {
    await sink.close();
    throw error;
  }
  const nodeId = config.cluster?.nodeId;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) stop.abort();
  let removeForcedListener = () => {};
  try {
    // Raw TCP rooms share one epoll set (closed once every room is) or use Deno's sockets.
    const sockets: SocketsChoice = config.transport === "ws" || config.transport === "wss"
      ? { kind: "deno", reason: `--transport ${config.transport}` }
      : openSockets(config.sockets);
    await using epoll = sockets.sockets;
    logger.info("raw TCP sockets", { sockets: sockets.kind, reason: sockets.reason });
    using brotli = openBrotli(config.brotli);
    logger.info("brotli decoder", { brotli: brotli.kind, reason: brotli.reason });
    const decoding: BodyDecoding = { ...leanDecoding(config.keepRaw), brotli: brotli.decompress };
    const limiter = new RateLimiter({ perSecond: config.apiRatePerSecond, clock });
    const api = new BilibiliApi({
      limiter,
      clock,
      apiBase: config.apiBase,
      cookie: deps.cookie,
      sessdata: deps.sessdata,
      userAgent: config.userAgent,
      identityMaxAgeMs: config.identityMaxAgeMs,
      log,
      httpGet: deps.httpGet,
    });
    const wakeFlusher = () => flusher.wake();
    const queue = new EventQueue({
      maxBytes: config.queueLimit,
      highWaterMark: config.flushHighWater,
      onHighWater: wakeFlusher,
      onDropping: (dropping, dropped) =>
        dropping
          ? logger.error("Queue is full: dropping new events until writes catch up", {
            dropped,
            queued: queue.size,
            queue_mb: formatMegabytes(queue.bytes),
            limit_mb: formatMegabytes(queue.maxBytes),
          })
          : logger.warn("Queue has room again: no longer dropping", {
            dropped,
            queued: queue.size,
          }),
    });
    const flusher = new Flusher({
      queue,
      sink,
      clock,
      intervalMs: config.flushIntervalMs,
      log,
      onProgress: () => gate.update(),
      yieldBetweenChunks: (): boolean => supervisor.connecting() > 0,
    });
    const gate = new ReadGate(
      queue,
      config.flushHighWater * 2,
      () => flusher.currentError !== undefined,
    );
    const unknownCmds = new Set<string>();
    const labels = new Map<number, RoomLabel>();
    // The upgrade headers (UA, Origin, device and user cookies) are read at each connect, after
    // the worker awaited api.identity(), so they follow the identity's current state.
    const wsHeaders = liveHeaders(() => api.wsHeaders(), ["User-Agent", "Origin", "Cookie"]);
    const supervisor = new Supervisor({
      clock,
      log,
      sweepIntervalMs: config.sweepIntervalMs,
      watchdogMs: config.watchdogMs,
      setupConcurrency: config.setupConcurrency,
      silence: config.silenceWatch &&
        { windowMs: config.silenceWindowMs, cooldownMs: config.silenceCooldownMs },
      deps: {
        api,
        clock,
        random: deps.random,
        transport: config.transport,
        caCerts: config.caFile === undefined ? undefined : readCaFile(config.caFile),
        startGate: new RateLimiter({ perSecond: config.connectRatePerSecond, clock }),
        slots: new ConnectionSlots(config.maxConnections),
        emit: (event: CollectedEvent) => {
          if (leases) {
            if (event.type === "room" && event.shortId !== null) {
              leases.noteRealId(event.shortId, event.roomId);
            }
            // Counters, entries and notices have no broadcast identity: one node stores them.
            if (!storedByEveryHolder(event.type) && !leases.holdsPrimary(event.roomId)) {
              leftToPrimary++;
              return;
            }
          }
          queue.push(event);
          if (event.type === "room") discovery?.observe(event);
          if (event.type === "room" || event.type === "roomState") noteLabel(labels, event);
        },
        keepRaw: config.keepRaw,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        authTimeoutMs: config.authTimeoutMs,
        drainMs: config.drainMs,
        backoff: { baseMs: COLLECT_DEFAULTS.minBackoffMs, maxMs: config.maxBackoffMs },
        wsHeaders,
        beforeRead: () => gate.wait(),
        onUnknownCmd: (cmd) => {
          if (unknownCmds.has(cmd) || unknownCmds.size >= 1000) return;
          unknownCmds.add(cmd);
          logger.info("unknown cmd, stored verbatim in raw_messages", { cmd });
        },
        log,
        decoding,
        connect: epoll
          ? (options: ConnectOptions) =>
            (deps.connect ?? connectTransport)({ ...options, sockets: epoll })
          : deps.connect,
      },
    });
    const discovers = config.top > 0 || config.followNew;
    const newDiscovery = (rooms: RoomSet) =>
      new RoomDiscovery({
        api,
        supervisor: rooms,
        clock,
        log,
        apiPausedUntil: () => api.pausedUntil("list"),
        emit: (event) => {
          queue.push(event);
          if (event.type === "room") noteLabel(labels, event);
        },
        top: config.top,
        followNew: config.followNew,
        newScan: config.newScan,
        pollIntervalMs: config.newPollIntervalMs,
        maxRooms: config.maxRooms,
        dropOfflineMs: config.dropOfflineMs,
        areaId: config.areaId || undefined,
        parentAreaId: config.parentAreaId || undefined,
        // The live page's w_webid, for second/getList when the other lists refuse.
        webId: new LiveWebId({ api, clock }),
      });
    // In a cluster discovery writes the wanted set, on the node holding the discovery lease.
    let discovery = discovers && !leases ? newDiscovery(supervisor) : undefined;
    let leftToPrimary = 0;
    const discover = async (signal: AbortSignal, wanted: WantedRooms) => {
      const running = newDiscovery(wanted);
      discovery = running;
      try {
        await running.run(signal);
      } finally {
        if (discovery === running) discovery = undefined;
      }
    };
    if (leases) {
      await leases.want(deps.rooms.map((roomId) => ({ roomId })));
      leases.drive(supervisor, discovers ? discover : undefined);
    } else {
      for (const roomId of deps.rooms) supervisor.add(roomId);
    }
    logger.info("collecting", {
      rooms: deps.rooms.length,
      top: config.top,
      follow_new: config.followNew,
      db: describeDatabase(config.dbPath),
      node: nodeId,
      lease_ttl_ms: config.cluster?.leaseTtlMs,
      replicas: config.cluster?.replicas,
      transport: config.transport,
      logged_in: api.hasLogin,
    });

    // A forced exit skips the final flush: what is queued goes to the fallback file first.
    const onForced = () => {
      const events = queue.take();
      const file = saveUnwritten(config.dbPath, events, clock.now(), log, nodeId);
      logger.warn("forced exit: saved what was queued", {
        messages: supervisor.status().messages,
        events: events.length,
        file: file ?? null,
      });
    };
    deps.forced?.addEventListener("abort", onForced, { once: true });
    removeForcedListener = () => deps.forced?.removeEventListener("abort", onForced);

    const reporter = new StatusReporter({ supervisor, queue, flusher }, clock.now());
    // Storage keeps writing while the rooms drain their sockets on stop; it ends once every
    // connection is closed, and the final flush below writes the rest.
    const roomsClosed = new AbortController();
    // Stopping opens the read gate for good: a drain must read the whole backlog the kernel holds
    // within --drain-timeout, even while storage is slow (the queue's memory limit still holds).
    stop.signal.addEventListener("abort", () => gate[Symbol.dispose](), { once: true });
    const tasks = [
      leases ? leases.run(stop.signal) : discovery?.run(stop.signal),
      supervisor.run(stop.signal).finally(() => roomsClosed.abort()),
      flusher.run(roomsClosed.signal),
      reportStatus(reporter, config, deps, roomsClosed.signal, leases),
    ];
    if (config.durationMs !== undefined) {
      tasks.push(clock.sleep(config.durationMs, stop.signal).then(() => stop.abort()));
    }
    try {
      await deps.onStarted?.({
        supervisor,
        get discovery() {
          return discovery;
        },
        leases,
        api,
        queue,
        flusher,
        gate,
        labels,
      });
    } catch (error) {
      stop.abort();
      await Promise.allSettled(tasks);
      throw error;
    }
    await Promise.all(tasks); // supervisor.run drains and closes every connection once stopped

    // Final flush: a few tries, then save what is left so nothing collected is lost.
    let flushed = false;
    for (let attempt = 0; attempt < 3 && !flushed; attempt++) {
      flushed = await flusher.flush();
      if (!flushed) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    let savedTo: string | undefined;
    if (!flushed) {
      savedTo = saveUnwritten(config.dbPath, queue.take(), clock.now(), log, nodeId);
    }
    const status = supervisor.status();
    const summary: CollectorSummary = {
      written: flusher.written,
      dropped: queue.droppedTotal,
      messages: status.messages,
      sessions: status.sessions,
      savedTo,
    };
    logger.info("stopped", {
      messages: summary.messages,
      written: summary.written,
      dropped: summary.dropped,
      sessions: summary.sessions,
      left_to_primary: leases ? leftToPrimary : undefined,
    });
    return summary;
  } finally {
    removeForcedListener();
    signal.removeEventListener("abort", onAbort);
    await leases?.close();
    await sink.close();
  }
}

/**
 * With a postgres:// --db: registers this node, creating the cluster tables if needed. A
 * server that cannot be reached, refused credentials or a foreign database is a StorageError
 * (one line, exit 1); a live node of the same --node-id is a ConfigError (one line, exit 2).
 */
async function joinCluster(
  config: Readonly<CollectConfig>,
  deps: CollectorDeps,
): Promise<LeaseManager | undefined> {
  if (!config.cluster) return undefined;
  return await LeaseManager.open({
    url: config.dbPath,
    nodeId: config.cluster.nodeId,
    ttlMs: config.cluster.leaseTtlMs,
    capacity: config.maxConnections,
    replicas: config.cluster.replicas,
    // The supervisor and discovery are handed over with drive(), once they exist.
    clock: deps.clock,
    log: deps.log,
  });
}

/** A headers record whose values `current()` gives at each read (names absent now are ""). */
function liveHeaders(
  current: () => Record<string, string>,
  names: readonly string[],
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of names) {
    Object.defineProperty(headers, name, { enumerable: true, get: () => current()[name] ?? "" });
  }
  return headers;
}

async function reportStatus(
  reporter: StatusReporter,
  config: Readonly<CollectConfig>,
  deps: CollectorDeps,
  signal: AbortSignal,
  leases?: LeaseManager,
): Promise<void> {
  const interval = deps.statusLine ? 1000 : config.statusIntervalMs;
  while (!signal.aborted) {
    await deps.clock.sleep(interval, signal);
    if (signal.aborted) break;
    const line = reporter.line(deps.clock.now(), { compact: deps.statusLine !== undefined });
    if (deps.statusLine) deps.statusLine(line);
    else {
      // The line is made of fields already; a cluster node adds its leases.
      const cluster = leases ? ` ${formatLeases(leases)}` : "";
      deps.log(`level=info msg=status ${line}${cluster}`);
    }
  }
}

/** A node's leases as status fields: `node=a leases=12 primary=10 discovery=true lost=0`. */
function formatLeases(leases: LeaseManager): string {
  const primary = [...leases.held.values()].filter((slot) => slot === 0).length;
  return Object.entries({
    node: leases.nodeId,
    leases: leases.held.size,
    primary,
    discovery: leases.holdsDiscovery,
    lost: leases.lost,
  }).map(([key, value]) => `${key}=${formatLogValue(value)}`).join(" ");
}

/**
 * Opens the database, saying so when an older schema was upgraded on the way. A database that
 * cannot be opened (a PostgreSQL server unreachable or refusing us, a foreign database) is a
 * StorageError: one line, exit 1, as with a SQLite file.
 */
async function openDatabase(
  db: string,
  log: (line: string) => void,
  logger: Logger,
): Promise<ClosableSink> {
  if (isPostgresUrl(db)) {
    return await PgStore.open(db, { log });
  }
  const store = SqliteStore.open(db);
  logSchemaUpgrade(store, logger);
  return store;
}
