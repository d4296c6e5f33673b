/** Buffered synchronous text output in large chunks, so exports make few write syscalls. */
import type { SyncWriter } from "../util/line_writer.ts";

/** Queues text and writes it as UTF-8 once about `chunkChars` characters are waiting. */
export class ChunkWriter {
  #parts: string[] = [];
  #size = 0;
  #writer: SyncWriter;
  #chunkChars: number;
  #encoder = new TextEncoder();
  /** UTF-8 bytes written so far. */
  bytesWritten = 0;

  /** `chunkChars` @default {1 << 20} */
  constructor(writer: SyncWriter, chunkChars = 1 << 20) {
    this.#writer = writer;
    this.#chunkChars = chunkChars;
  }

  /** Queues `text`; writes out once a chunk is full. */
  write(text: string): void {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= this.#chunkChars) this.flush();
  }

  /** Writes everything queued. */
  flush(): void {
    if (this.#parts.length === 0) return;
    let bytes = this.#encoder.encode(this.#parts.join(""));
    this.#parts = [];
    this.#size = 0;
    this.bytesWritten += bytes.length;
    while (bytes.length > 0) bytes = bytes.subarray(this.#writer.writeSync(bytes));
  }
}
