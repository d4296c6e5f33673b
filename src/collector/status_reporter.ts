/** The status line: rooms by state, msg/s, queue depth, rows written, errors. */
import type { EventQueue } from "./event_queue.ts";
import type { Flusher } from "./flusher.ts";
import type { Supervisor } from "./supervisor.ts";

/** What the status line is made of. */
export interface StatusSources {
  supervisor: Supervisor;
  queue: EventQueue;
  flusher: Flusher;
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
  line(now: number): string {
    const { supervisor, queue, flusher } = this.#sources;
    const status = supervisor.status();
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    const rate = (status.messages - this.#lastMessages) / seconds;
    this.#lastMessages = status.messages;
    this.#lastAt = now;
    const s = status.byState;
    const parts = [
      `rooms=${status.rooms}`,
      `live=${s.live}`,
      `connecting=${s.connecting + s.resolving + s.waiting}`,
      `backoff=${s.backoff}`,
      `failed=${s.failed}`,
      `msg_per_s=${Math.round(rate)}`,
      `messages=${status.messages}`,
      `queue=${queue.size}`,
      `written=${flusher.written}`,
      `dropped=${queue.droppedTotal}`,
      `write_errors=${flusher.failures}`,
      `rss_mb=${Math.round(Deno.memoryUsage().rss / 1048576)}`,
      `heap_mb=${Math.round(Deno.memoryUsage().heapUsed / 1048576)}`,
    ];
    if (flusher.currentError) parts.push(`error=${JSON.stringify(flusher.currentError)}`);
    return parts.join(" ");
  }
}
