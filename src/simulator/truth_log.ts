/**
 * The `--truth FILE` ground truth: one JSONL line per op-5 message written to an authenticated
 * connection, `{"room_id":…,"cmd":"…","id":"…","conn":…,"at":…}`, appended in write-completion
 * order; `at` is when the write completed (unix ms, the simulator's clock). Readers of the
 * older lines without `at` keep working: the fields before it are unchanged.
 */

/** Receives truth lines; the simulator calls it once per message per connection. */
export interface TruthSink {
  /** Appends already newline-terminated JSONL text. */
  append(text: string): void;
  /** Writes out what is buffered. */
  flush(): void;
  /** Flushes and releases the sink; idempotent. */
  close(): void;
}

/** Buffered text beyond which the log writes out without waiting for the next flush. */
const FLUSH_BYTES = 1 << 20;

/** The prefix of a truth line, up to the connection id: render once per message. */
export function truthPrefix(roomId: number, cmd: string, id: string): string {
  return `{"room_id":${roomId},"cmd":${JSON.stringify(cmd)},"id":${JSON.stringify(id)},"conn":`;
}

/** The rest of a truth line after {@linkcode truthPrefix}: connection id, write time, newline. */
export function truthSuffix(conn: number, atMs: number): string {
  return `${conn},"at":${atMs}}\n`;
}

/** A truth sink that appends to a file (created if missing). */
export class TruthFile implements TruthSink {
  #file: Deno.FsFile | undefined;
  #parts: string[] = [];
  #size = 0;
  #encoder = new TextEncoder();

  constructor(path: string) {
    this.#file = Deno.openSync(path, { append: true, create: true });
  }

  /** Appends lines; writes once 1 MB is buffered. */
  append(text: string): void {
    if (!this.#file) return;
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= FLUSH_BYTES) this.flush();
  }

  /** Writes out buffered lines. */
  flush(): void {
    if (!this.#file || this.#parts.length === 0) return;
    let bytes = this.#encoder.encode(this.#parts.join(""));
    this.#parts = [];
    this.#size = 0;
    while (bytes.length > 0) bytes = bytes.subarray(this.#file.writeSync(bytes));
  }

  /** Flushes and closes the file. */
  close(): void {
    if (!this.#file) return;
    this.flush();
    this.#file.close();
    this.#file = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A truth sink that keeps lines in memory (for tests), bounded by `maxLines`. */
export class MemoryTruth implements TruthSink {
  readonly lines: string[] = [];
  #max: number;
  /** Keeps at most `maxLines` lines; more are dropped and counted. @default {1_000_000} */
  constructor(maxLines = 1_000_000) {
    this.#max = maxLines;
  }
  /** Lines beyond the bound. */
  dropped = 0;
  append(text: string): void {
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (this.lines.length < this.#max) this.lines.push(line);
      else this.dropped++;
    }
  }
  flush(): void {}
  close(): void {}
}
