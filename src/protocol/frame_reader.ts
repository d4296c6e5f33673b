/**
 * Cuts a byte stream (a TCP connection, a capture file, stdin) into whole packets,
 * whatever the read boundaries (docs/protocol.md §1.5): {@linkcode readPackets} pulls from a
 * source through one small reusable buffer; {@linkcode PacketSplitter} takes bytes pushed to it
 * (from a buffer shared by many connections) and keeps only an unfinished packet. Both check
 * headers and report a stream that ends inside a packet the same way.
 */
import { ProtocolError } from "../errors.ts";
import { HEADER_LENGTH, MAX_PACKET_LENGTH, Op, type PacketHeader, readHeader } from "./packet.ts";
import { headerProblem } from "./packet_decoder.ts";

/** Anything with `read(p)` like `Deno.Conn`, `Deno.FsFile` or `Deno.stdin`. */
export interface ByteSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Default read buffer: ≈ 10–16 KB RSS per idle connection, against ≈ 55–60 KB with 64 KB reads. */
export const DEFAULT_READ_BUFFER_SIZE = 4096;

/**
 * Read buffer of a quiet connection (see {@linkcode ReadPacketsOptions.idleBufferSize}): a
 * pending read holds its buffer, and 4 KB of it measured ≈ 3.4 KB RSS per idle connection.
 */
export const IDLE_READ_BUFFER_SIZE = 512;

/** Reads in a row at most half the idle size that shrink a grown buffer back to it. */
export const SMALL_READS_BEFORE_SHRINK = 8;

/** Longest heartbeat body Bilibili may echo after an op-3 packet (§1.6) that we skip. */
export const MAX_HEARTBEAT_ECHO_BYTES = 256;

/** Options of {@linkcode readPackets}. */
export interface ReadPacketsOptions {
  /** Size of the read buffer; it grows only while a larger packet is in it. @default {4096} */
  bufferSize?: number;
  /**
   * When set (smaller than `bufferSize`), reading starts with a buffer this small; a read that
   * fills it grows it to `bufferSize`, and {@linkcode SMALL_READS_BEFORE_SHRINK} small reads in
   * a row shrink it back. Idle connections then hold a small buffer, busy ones read in big chunks.
   * @default {undefined} (always `bufferSize`)
   */
  idleBufferSize?: number;
  /** Stops reading between reads once aborted (close the source to end a pending read). */
  signal?: AbortSignal;
  /**
   * When the stream ends with bytes that directly follow a heartbeat reply and do not form a
   * packet (at most {@linkcode MAX_HEARTBEAT_ECHO_BYTES}), treat them as the echoed heartbeat
   * body of §1.6 and pass them here instead of failing. For captures; a live client sends an
   * empty heartbeat body, so it never sees an echo.
   * @default {undefined} (such bytes are a ProtocolError)
   */
  onHeartbeatEcho?: (bytes: Uint8Array, offset: number) => void;
  /** Called after each read with the number of bytes read (for watchdogs and counters). */
  onRead?: (byteCount: number) => void;
  /**
   * Called before each read; a returned promise pauses reading until it settles (backpressure:
   * unread bytes wait in the kernel's socket buffer).
   */
  beforeRead?: () => Promise<void> | undefined;
}

/**
 * Reads `source` to its end and calls `onPacket` with every whole packet, in order.
 * `packet` is a view into the read buffer, valid only during the call: copy what must outlive it.
 * Resolves at a clean end of stream; rejects with a `ProtocolError` on a bad header or a
 * stream that ends inside a packet. Errors thrown by `onPacket` end the read and propagate.
 */
export async function readPackets(
  source: ByteSource,
  onPacket: (packet: Uint8Array, streamOffset: number) => void,
  options: ReadPacketsOptions = {},
): Promise<void> {
  const bufferSize = Math.max(HEADER_LENGTH, options.bufferSize ?? DEFAULT_READ_BUFFER_SIZE);
  const idleSize = Math.min(
    bufferSize,
    Math.max(MAX_HEARTBEAT_ECHO_BYTES + 1, options.idleBufferSize ?? bufferSize),
  );
  let readSize = idleSize; // the size the buffer returns to once empty
  let smallReads = 0;
  let buffer = new Uint8Array(readSize);
  let start = 0; // first unconsumed byte in buffer
  let end = 0; // one past the last byte read
  let bufferOffset = 0; // stream offset of buffer[0]
  let lastOp = -1;
  let lastPacketEnd = 0; // stream offset just after the last packet
  let echoSuspect: ProtocolError | undefined;

  for (;;) {
    let needed = HEADER_LENGTH;
    while (!echoSuspect && end - start >= HEADER_LENGTH) {
      const header = readHeader(buffer, start);
      const offset = bufferOffset + start;
      const error = headerError(header, offset);
      if (error) {
        if (options.onHeartbeatEcho && lastOp === Op.heartbeatReply && lastPacketEnd === offset) {
          echoSuspect = error;
          break;
        }
        throw error;
      }
      if (end - start < header.packetLength) {
        needed = header.packetLength;
        break;
      }
      onPacket(buffer.subarray(start, start + header.packetLength), offset);
      start += header.packetLength;
      lastOp = header.op;
      lastPacketEnd = offset + header.packetLength;
    }

    if (echoSuspect && end - start > MAX_HEARTBEAT_ECHO_BYTES) throw echoSuspect;
    if (start === end) {
      bufferOffset += start;
      start = end = 0;
      if (buffer.length !== readSize) buffer = new Uint8Array(readSize);
    } else if (
      end === buffer.length ||
      buffer.length - start < Math.max(needed, MAX_HEARTBEAT_ECHO_BYTES + 1)
    ) {
      // Not enough room after `start`: move the partial packet to the front, growing the
      // buffer to the read size, or further only when one packet is larger than it (bounded
      // by MAX_PACKET_LENGTH).
      const size = Math.max(readSize, needed, end - start + 1);
      const target = size > buffer.length
        ? new Uint8Array(Math.min(size, MAX_PACKET_LENGTH))
        : buffer;
      if (target === buffer) buffer.copyWithin(0, start, end);
      else target.set(buffer.subarray(start, end), 0);
      bufferOffset += start;
      end -= start;
      start = 0;
      buffer = target;
    }

    if (options.signal?.aborted) return;
    const pause = options.beforeRead?.();
    if (pause) await pause;
    const room = buffer.length - end;
    const count = await source.read(buffer.subarray(end));
    if (count === null) {
      if (start === end) return;
      const offset = bufferOffset + start;
      const shortTailAfterReply = end - start < HEADER_LENGTH &&
        lastOp === Op.heartbeatReply && lastPacketEnd === offset;
      if (options.onHeartbeatEcho && (echoSuspect || shortTailAfterReply)) {
        options.onHeartbeatEcho(buffer.slice(start, end), offset);
        return;
      }
      throw endedInsidePacket(offset, end - start, needed);
    }
    end += count;
    if (count === room && readSize < bufferSize) {
      readSize = bufferSize; // a busy connection: read in big chunks from now on
      smallReads = 0;
    } else if (readSize > idleSize) {
      smallReads = count * 2 <= idleSize ? smallReads + 1 : 0;
      if (smallReads >= SMALL_READS_BEFORE_SHRINK) readSize = idleSize;
    }
    options.onRead?.(count);
  }
}

/** The ProtocolError of a header that frames no packet, at stream `offset`; else undefined. */
function headerError(header: PacketHeader, offset: number): ProtocolError | undefined {
  const problem = headerProblem(header);
  return problem === undefined
    ? undefined
    : new ProtocolError(`Cannot decode packet at byte ${offset}: ${problem}`, offset);
}

/**
 * The ProtocolError of a stream that ended `have` bytes into the packet at `offset` (of `needed`
 * bytes, known once its header is in).
 */
function endedInsidePacket(offset: number, have: number, needed: number): ProtocolError {
  return new ProtocolError(
    `Cannot decode packet at byte ${offset}: the stream ended ${have} bytes into a ${
      have >= HEADER_LENGTH ? `${needed}-byte packet` : "header"
    }`,
    offset,
  );
}

/**
 * Push-mode framing: bytes go in with {@linkcode PacketSplitter.push} as they arrive, whole
 * packets come out through `onPacket` (a view into the pushed bytes when a packet lies whole in
 * them, valid only during the call), in order, with their stream offsets. Between pushes it
 * holds only the start of an unfinished packet, in a copy as large as that packet (bounded by
 * MAX_PACKET_LENGTH: a larger pack_len is a ProtocolError before anything is allocated), and
 * nothing once the packet is complete. Errors thrown by `onPacket` propagate out of `push`.
 */
export class PacketSplitter {
  readonly #onPacket: (packet: Uint8Array, streamOffset: number) => void;
  /** The unfinished packet's bytes so far (undefined when none). */
  #partial: Uint8Array | undefined;
  /** Bytes in `#partial`. */
  #have = 0;
  /** The unfinished packet's length once its header is in, else HEADER_LENGTH. */
  #need = HEADER_LENGTH;
  /** Stream offset of the unfinished packet. */
  #partialOffset = 0;
  /** Bytes pushed so far. */
  #pushed = 0;

  constructor(onPacket: (packet: Uint8Array, streamOffset: number) => void) {
    this.#onPacket = onPacket;
  }

  /** Bytes of an unfinished packet held between pushes. */
  get pending(): number {
    return this.#have;
  }

  /**
   * Adds `bytes` (used only during the call) and hands on every packet they complete; throws a
   * ProtocolError on a header that frames no packet.
   */
  push(bytes: Uint8Array): void {
    const base = this.#pushed;
    this.#pushed += bytes.length;
    let at = this.#have > 0 ? this.#continuePartial(bytes) : 0;
    if (this.#have > 0) return; // every byte went into the unfinished packet
    while (bytes.length - at >= HEADER_LENGTH) {
      const header = readHeader(bytes, at);
      const error = headerError(header, base + at);
      if (error) throw error;
      if (bytes.length - at < header.packetLength) break;
      this.#onPacket(bytes.subarray(at, at + header.packetLength), base + at);
      at += header.packetLength;
    }
    if (at === bytes.length) return;
    // The start of a packet: keep a copy sized to the packet (to its header while that is cut).
    const tail = bytes.subarray(at);
    this.#need = tail.length >= HEADER_LENGTH ? readHeader(tail, 0).packetLength : HEADER_LENGTH;
    this.#partial = new Uint8Array(this.#need);
    this.#partial.set(tail);
    this.#have = tail.length;
    this.#partialOffset = base + at;
  }

  /** Says the stream ended: a ProtocolError when it ended inside a packet. */
  end(): void {
    if (this.#have > 0) throw endedInsidePacket(this.#partialOffset, this.#have, this.#need);
  }

  /** Feeds the unfinished packet from `bytes`; returns how many bytes it took. */
  #continuePartial(bytes: Uint8Array): number {
    let partial = this.#partial!;
    let at = 0;
    if (this.#have < HEADER_LENGTH) {
      at = Math.min(HEADER_LENGTH - this.#have, bytes.length);
      partial.set(bytes.subarray(0, at), this.#have);
      this.#have += at;
      if (this.#have < HEADER_LENGTH) return at;
      const header = readHeader(partial, 0);
      const error = headerError(header, this.#partialOffset);
      if (error) throw error;
      this.#need = header.packetLength;
      if (partial.length < this.#need) {
        partial = new Uint8Array(this.#need);
        partial.set(this.#partial!.subarray(0, this.#have));
        this.#partial = partial;
      }
    }
    const take = Math.min(this.#need - this.#have, bytes.length - at);
    partial.set(bytes.subarray(at, at + take), this.#have);
    this.#have += take;
    at += take;
    if (this.#have < this.#need) return at;
    const offset = this.#partialOffset;
    this.#partial = undefined;
    this.#have = 0;
    this.#need = HEADER_LENGTH;
    this.#onPacket(partial, offset);
    return at;
  }
}

/** Adapts a `ReadableStream<Uint8Array>` (e.g. `conn.readable`, a fetch body) to a ByteSource. */
export function byteSourceFromStream(stream: ReadableStream<Uint8Array>): ByteSource & Disposable {
  const reader = stream.getReader();
  let pending: Uint8Array | undefined;
  return {
    async read(target: Uint8Array): Promise<number | null> {
      if (!pending || pending.length === 0) {
        const { value, done } = await reader.read();
        if (done) return null;
        pending = value;
      }
      const count = Math.min(target.length, pending.length);
      target.set(pending.subarray(0, count));
      pending = pending.subarray(count);
      return count;
    },
    [Symbol.dispose]() {
      reader.releaseLock();
    },
  };
}
