/** Buffered synchronous line output, so a synchronous decode callback can print. */

/** Where bytes go: `Deno.stdout`, a file, or a test's collector. */
export interface SyncWriter {
  writeSync(bytes: Uint8Array): number;
}

/** Collects lines and writes them in 64 KB chunks; call `flush()` before exiting. */
export class LineWriter {
  #parts: string[] = [];
  #size = 0;
  #writer: SyncWriter;
  #encoder = new TextEncoder();

  constructor(writer: SyncWriter) {
    this.#writer = writer;
  }

  /** Queues one line; writes out once 64 KB are waiting. */
  writeLine(line: string): void {
    this.#parts.push(line, "\n");
    this.#size += line.length + 1;
    if (this.#size >= 64 * 1024) this.flush();
  }

  /** Writes everything queued. */
  flush(): void {
    if (this.#parts.length === 0) return;
    let bytes = this.#encoder.encode(this.#parts.join(""));
    this.#parts = [];
    this.#size = 0;
    while (bytes.length > 0) bytes = bytes.subarray(this.#writer.writeSync(bytes));
  }
}
