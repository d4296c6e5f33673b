/**
 * One reading of a running collector's counters, taken from its live parts: `/metrics` and
 * `/api/status` are both made from a reading, so they say the same numbers. Holds no secret:
 * counts, states, room ids, titles and endpoint paths only.
 */
import type { ApiResult } from "../bilibili/api_client.ts";
import type { CollectorParts } from "../collector/collector.ts";
import type { RoomState } from "../collector/room_worker.ts";
import type { TransportKind } from "../room/transport.ts";
import { SCHEMA_VERSION } from "../storage/schema.ts";

/** A room with no op-5 message for longer than this while live counts as quiet. */
export const QUIET_AFTER_MS = 60_000;

/** One room, as read. */
export interface RoomReading {
  roomId: number;
  state: RoomState;
  transport: TransportKind;
  messages: number;
  bytes: number;
  reconnects: number;
  /** Seconds since the last op-5 message; null before the first. */
  lastMessageAgeS: number | null;
  /** The silence watch judged it quiet lately, or no message for {@linkcode QUIET_AFTER_MS} while live. */
  quiet: boolean;
  title: string | null;
  anchor: string | null;
}

/** Answers of one API endpoint with one result. */
export interface ApiCount {
  endpoint: string;
  result: ApiResult;
  count: number;
}

/** Every counter of the collector at one moment. */
export interface CollectorReading {
  nowMs: number;
  startedAtMs: number;
  rooms: RoomReading[];
  /** Op-5 messages received by the rooms collected now. */
  messages: number;
  queue: { events: number; bytes: number; limitBytes: number };
  /** Events written to the store. */
  written: number;
  /** Rows inserted or changed per table. */
  rows: [table: string, count: number][];
  /** Flushes that failed, and whether writes are failing now. */
  writeErrors: number;
  writesFailing: boolean;
  dropped: number;
  api: ApiCount[];
  discovery: { polls: number; failures: number } | undefined;
  restarts: number;
  watchdogKills: number;
  quietReconnects: number;
  memory: { rss: number; heapUsed: number; heapTotal: number };
  build: { deno: string; v8: string; typescript: string; schema: number };
}

/** Reads the collector's parts at `nowMs`. */
export function readCollector(
  parts: CollectorParts,
  nowMs: number,
  startedAtMs: number,
): CollectorReading {
  const { supervisor, queue, flusher, api, discovery, labels } = parts;
  const silenceWindowMs = supervisor.silence?.rule.windowMs ?? 0;
  let messages = 0;
  const rooms = supervisor.workers().map((worker): RoomReading => {
    const roomId = worker.realId ?? worker.requestedId;
    const label = labels.get(roomId);
    const sinceMessage = worker.lastMessageAt === undefined
      ? undefined
      : nowMs - worker.lastMessageAt;
    const silentWhileLive = worker.state === "live" &&
      (sinceMessage ?? nowMs - (worker.session?.authenticatedAt ?? nowMs)) > QUIET_AFTER_MS;
    const judgedQuiet = worker.quietAt !== undefined && nowMs - worker.quietAt < silenceWindowMs;
    messages += worker.messages;
    return {
      roomId,
      state: worker.state,
      transport: worker.transport,
      messages: worker.messages,
      bytes: worker.bytes,
      reconnects: worker.reconnects,
      lastMessageAgeS: sinceMessage === undefined ? null : Math.max(0, sinceMessage) / 1000,
      quiet: silentWhileLive || judgedQuiet,
      title: label?.title ?? null,
      anchor: label?.anchor ?? null,
    };
  }).sort((a, b) => a.roomId - b.roomId);
  const apiCounts: ApiCount[] = [];
  for (const [endpoint, counts] of api.results) {
    for (const result of ["ok", "412", "-352", "other"] as const) {
      apiCounts.push({ endpoint, result, count: counts[result] });
    }
  }
  const memory = Deno.memoryUsage();
  return {
    nowMs,
    startedAtMs,
    rooms,
    messages,
    queue: { events: queue.size, bytes: queue.bytes, limitBytes: queue.maxBytes },
    written: flusher.written,
    rows: [...flusher.rows].sort(([a], [b]) => a.localeCompare(b)),
    writeErrors: flusher.failures,
    writesFailing: flusher.currentError !== undefined,
    dropped: queue.droppedTotal,
    api: apiCounts.sort((a, b) => a.endpoint.localeCompare(b.endpoint)),
    discovery: discovery && { polls: discovery.polls, failures: discovery.pollFailures },
    restarts: supervisor.restarts,
    watchdogKills: supervisor.watchdogKills,
    quietReconnects: supervisor.quietReconnects,
    memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal },
    build: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      schema: SCHEMA_VERSION,
    },
  };
}
