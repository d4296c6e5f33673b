/**
 * The status line. It leads with what says the data is safe (rows written, events dropped,
 * failed writes, what waits in the queue), then collection (rooms, msg/s), then memory. On a
 * terminal a compact form fits 80 columns in the typical case.
 */
import { formatMegabytes } from "../util/byte_size.ts";
import type { EventQueue } from "./event_queue.ts";
import type { Flusher } from "./flusher.ts";
import type { Supervisor } from "./supervisor.ts";

/** Columns the compact form keeps optional fields within (an 80-column terminal, minus 1). */
export const COMPACT_WIDTH = 79;

/** What the status line is made of. */
export interface StatusSources {
  supervisor: Pick<Supervisor, "status">;
  queue: Pick<EventQueue, "size" | "bytes" | "droppedTotal">;
  flusher: Pick<Flusher, "written" | "failures" | "currentError">;
}

/** How a status line is laid out. */
export interface StatusLineOptions {
  /**
   * The compact form for a terminal (`queue=N/X.YMB live=L/R msg/s=N`), leaving out totals
   * (`quiet_reconnects` too), memory and the rooms not live unless some are failing; `wss=N`
   * only while the line stays within {@linkcode COMPACT_WIDTH} columns.
   * @default false
   */
  compact?: boolean;
}

/** Formats status lines, computing msg/s from the change since the previous line. */
export class StatusReporter {
  readonly #sources: StatusSources;
  #lastMessages = 0;
  #lastAt: number;

  constructor(sources: StatusSources, now: number) {
    this.#sources = sources;
    this.#lastAt = now;
  }

  /** One `key=value` line describing the collector now. */
  line(now: number, options: StatusLineOptions = {}): string {
    const { supervisor, queue, flusher } = this.#sources;
    const status = supervisor.status();
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    const rate = Math.round((status.messages - this.#lastMessages) / seconds);
    this.#lastMessages = status.messages;
    this.#lastAt = now;
    const s = status.byState;
    const safety = [
      `written=${flusher.written}`,
      `dropped=${queue.droppedTotal}`,
      `write_errors=${flusher.failures}`,
    ];
    // Rooms on wss, when some are: with `auto`, those whose TCP failed.
    const wss = status.wss > 0 ? [`wss=${status.wss}`] : [];
    const error = flusher.currentError ? [`error=${JSON.stringify(flusher.currentError)}`] : [];
    if (options.compact) {
      const fields = [
        ...safety,
        `queue=${queue.size}/${formatMegabytes(queue.bytes)}MB`,
        `live=${s.live}/${status.rooms}`,
        `msg/s=${rate}`,
      ];
      // wss= only where it fits: a terminal line is cut at its width (80 columns - 1).
      const withWss = [...fields, ...wss].join(" ");
      if (withWss.length <= COMPACT_WIDTH) fields.push(...wss);
      return [...fields, ...(s.failed > 0 ? [`failed=${s.failed}`] : []), ...error].join(" ");
    }
    const memory = Deno.memoryUsage();
    return [
      ...safety,
      `queue=${queue.size}`,
      `queue_mb=${formatMegabytes(queue.bytes)}`,
      `live=${s.live}`,
      `rooms=${status.rooms}`,
      ...wss,
      `msg_per_s=${rate}`,
      `messages=${status.messages}`,
      `connecting=${s.connecting + s.resolving + s.waiting}`,
      `backoff=${s.backoff}`,
      `failed=${s.failed}`,
      ...(status.quietReconnects ? [`quiet_reconnects=${status.quietReconnects}`] : []),
      `rss_mb=${Math.round(memory.rss / 1048576)}`,
      `heap_mb=${Math.round(memory.heapUsed / 1048576)}`,
      ...error,
    ].join(" ");
  }
}
