/**
 * `/metrics`: a collector reading in the Prometheus text exposition format 0.0.4, written to
 * the spec (https://prometheus.io/docs/instrumenting/exposition_formats/): one `# HELP` and one
 * `# TYPE` line per family, then its samples; label values escape `\`, `"` and newlines, HELP
 * text `\` and newlines; counters end in `_total`; every name starts with `danmaku_`.
 */
import type { RoomState } from "../collector/room_worker.ts";
import type { CollectorReading } from "./collector_reading.ts";

/** The Content-Type of the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Every room state, each a series of `danmaku_room_state` (1 for the room's current one). */
const ROOM_STATES: readonly RoomState[] = [
  "resolving",
  "waiting",
  "connecting",
  "live",
  "backoff",
  "failed",
  "stopped",
];

/** A metric family's kind. */
export type MetricType = "counter" | "gauge";

/** Labels of one sample, in order. */
export type Labels = Readonly<Record<string, string | number>>;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/** A sample value as the format writes it (`NaN`, `+Inf`, `-Inf`, else the shortest decimal). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Builds the text of several metric families, each written whole. */
export class MetricsWriter {
  readonly #lines: string[] = [];
  readonly #names = new Set<string>();

  /**
   * Writes one family: HELP, TYPE and a sample per entry of `samples`. A counter's name must end
   * in `_total`; each name is written once.
   */
  family(
    name: string,
    type: MetricType,
    help: string,
    samples: Iterable<readonly [Labels, number]>,
  ): this {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new TypeError(`Bad metric name ${name}`);
    if (type === "counter" && !name.endsWith("_total")) {
      throw new TypeError(`Counter ${name} does not end in _total`);
    }
    if (this.#names.has(name)) throw new TypeError(`Metric ${name} written twice`);
    this.#names.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([key, v]) =>
        `${key}="${escapeLabelValue(String(v))}"`
      );
      const labelText = pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
      this.#lines.push(`${name}${labelText} ${formatValue(value)}`);
    }
    return this;
  }

  /** One family of a single unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number): this {
    return this.family(name, type, help, [[{}, value]]);
  }

  /** The exposition text (ends with a line feed). */
  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/** The `/metrics` text of a reading. */
export function renderMetrics(reading: CollectorReading): string {
  const w = new MetricsWriter();
  const { rooms } = reading;
  const perRoom = (value: (room: CollectorReading["rooms"][number]) => number | null) =>
    rooms.flatMap((room): [Labels, number][] => {
      const v = value(room);
      return v === null ? [] : [[{ room: room.roomId }, v]];
    });
  w.family(
    "danmaku_build_info",
    "gauge",
    "Build of the collector: Deno, V8 and TypeScript versions and the database schema version",
    [[{
      deno_version: reading.build.deno,
      v8_version: reading.build.v8,
      typescript_version: reading.build.typescript,
      schema_version: reading.build.schema,
    }, 1]],
  );
  w.single(
    "danmaku_start_time_seconds",
    "gauge",
    "When the collector started, seconds since the Unix epoch",
    reading.startedAtMs / 1000,
  );
  w.single("danmaku_rooms", "gauge", "Rooms being collected", rooms.length);
  w.family(
    "danmaku_room_messages_total",
    "counter",
    "Op-5 messages (danmaku, gifts, every command) received from the room over all connections",
    perRoom((room) => room.messages),
  );
  w.family(
    "danmaku_room_bytes_total",
    "counter",
    "Bytes read from the room's connections",
    perRoom((room) => room.bytes),
  );
  w.family(
    "danmaku_room_reconnects_total",
    "counter",
    "Connections of the room that ended and were followed by another attempt",
    perRoom((room) => room.reconnects),
  );
  w.family(
    "danmaku_room_state",
    "gauge",
    "1 for the room's current connection state, 0 for the others",
    rooms.flatMap((room) =>
      ROOM_STATES.map((state): [Labels, number] => [
        { room: room.roomId, state },
        room.state === state ? 1 : 0,
      ])
    ),
  );
  w.family(
    "danmaku_room_transport",
    "gauge",
    "1 for the transport (tcp, ws, wss) of the room's next or current connection",
    rooms.map((room): [Labels, number] => [{ room: room.roomId, transport: room.transport }, 1]),
  );
  w.family(
    "danmaku_room_last_message_age_seconds",
    "gauge",
    "Seconds since the room's last op-5 message (absent before the first)",
    perRoom((room) => room.lastMessageAgeS),
  );
  w.family(
    "danmaku_room_quiet",
    "gauge",
    "1 when the silence watch judged the room quiet in its last window, or the room is live with no message for 60 s (throttling suspected)",
    perRoom((room) => room.quiet ? 1 : 0),
  );
  w.single(
    "danmaku_messages_total",
    "counter",
    "Op-5 messages received by the rooms being collected",
    reading.messages,
  );
  w.single("danmaku_queue_events", "gauge", "Events waiting to be written", reading.queue.events);
  w.single(
    "danmaku_queue_bytes",
    "gauge",
    "Estimated memory of the events waiting to be written, bytes",
    reading.queue.bytes,
  );
  w.single(
    "danmaku_queue_limit_bytes",
    "gauge",
    "The queue's memory budget (--queue-limit), bytes; beyond it new events are dropped",
    reading.queue.limitBytes,
  );
  w.single(
    "danmaku_events_written_total",
    "counter",
    "Events written to the database",
    reading.written,
  );
  w.family(
    "danmaku_rows_written_total",
    "counter",
    "Rows inserted or changed per database table (a session's end updates its row)",
    reading.rows.map(([table, count]): [Labels, number] => [{ table }, count]),
  );
  w.single(
    "danmaku_write_errors_total",
    "counter",
    "Flushes that failed (their events stay queued and are retried)",
    reading.writeErrors,
  );
  w.single(
    "danmaku_writes_failing",
    "gauge",
    "1 while writes to the database are failing",
    reading.writesFailing ? 1 : 0,
  );
  w.single(
    "danmaku_dropped_events_total",
    "counter",
    "Events dropped because the queue was full",
    reading.dropped,
  );
  w.family(
    "danmaku_api_requests_total",
    "counter",
    "Bilibili API answers by endpoint path and result: ok, 412 (HTTP 412 or code -412), -352, other (other codes, HTTP errors, unreachable)",
    reading.api.map(({ endpoint, result, count }): [Labels, number] => [
      { endpoint, result },
      count,
    ]),
  );
  w.single(
    "danmaku_discovery_polls_total",
    "counter",
    "Polls of the room lists by discovery (0 without --top or --follow-new)",
    reading.discovery?.polls ?? 0,
  );
  w.single(
    "danmaku_discovery_poll_failures_total",
    "counter",
    "Discovery polls in which a room list could not be fetched",
    reading.discovery?.failures ?? 0,
  );
  w.single(
    "danmaku_quiet_reconnects_total",
    "counter",
    "Connections replaced by the silence watch",
    reading.quietReconnects,
  );
  w.single(
    "danmaku_watchdog_kills_total",
    "counter",
    "Connections ended by the watchdog (no bytes for --watchdog)",
    reading.watchdogKills,
  );
  w.single(
    "danmaku_worker_restarts_total",
    "counter",
    "Room workers restarted after an unexpected end",
    reading.restarts,
  );
  w.single(
    "danmaku_process_resident_memory_bytes",
    "gauge",
    "Resident set size of the process, bytes",
    reading.memory.rss,
  );
  w.single(
    "danmaku_process_heap_used_bytes",
    "gauge",
    "V8 heap in use, bytes",
    reading.memory.heapUsed,
  );
  w.single(
    "danmaku_process_heap_total_bytes",
    "gauge",
    "V8 heap reserved, bytes",
    reading.memory.heapTotal,
  );
  return w.text();
}
