/**
 * Body decoding (docs/protocol.md §1.2, §1.7): turns whole packets into server messages,
 * unwrapping zlib and brotli bundles recursively with bounds on depth and size.
 */
import { brotliDecompressSync, inflateSync } from "node:zlib";
import { ProtocolError } from "../errors.ts";
import type { BrotliDecompress } from "./brotli.ts";
import {
  HEADER_LENGTH,
  MAX_PACKET_LENGTH,
  Op,
  type PacketHeader,
  readHeader,
  Ver,
} from "./packet.ts";

/** Most bytes one outer packet may decompress to, across all nesting levels. */
export const MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;

/** Deepest bundle nesting accepted; real traffic nests exactly one level. */
export const MAX_BUNDLE_DEPTH = 4;

/** Header fields every decoded message keeps. */
interface MessageBase {
  ver: number;
  seq: number;
}

/** An op-5 business message: JSON text and its parsed value. */
export interface BusinessMessage extends MessageBase {
  kind: "message";
  /**
   * The JSON exactly as received (keeps integers beyond 2^53 intact); undefined when
   * `BodyDecoding.readBody` read the body from its bytes (no text was made).
   */
  text: string | undefined;
  /** `JSON.parse(text)`, or what `readBody` read; narrowed by the normalizer. */
  body: unknown;
}

/** An op-3 heartbeat reply: the deprecated popularity counter. */
export interface HeartbeatReply extends MessageBase {
  kind: "heartbeatReply";
  popularity: number;
}

/** An op-8 auth reply, normally `{"code":0}`. */
export interface AuthReply extends MessageBase {
  kind: "authReply";
  text: string;
  body: unknown;
}

/** Any other op (e.g. client packets in a capture): the raw body. */
export interface OtherPacket extends MessageBase {
  kind: "other";
  op: number;
  body: Uint8Array;
}

/** One decoded innermost packet. */
export type ServerMessage = BusinessMessage | HeartbeatReply | AuthReply | OtherPacket;

/** Receives decoded messages in stream order. */
export type MessageSink = (message: ServerMessage) => void;

/**
 * Turns a body's JSON text into its `body` value; throws on text that is not JSON. The
 * collector passes one that skips what it never stores (normalize/message_body.ts).
 */
export type BodyParser = (text: string) => unknown;

/** How bodies are decoded; the collector's rooms choose, everything else takes the defaults. */
export interface BodyDecoding {
  /**
   * Tried first on an op-5 body's bytes: a value read from them without making the body's text
   * (the message's `text` is then undefined), or undefined to decode and parse the text.
   * @default {none}
   */
  readonly readBody?: (bytes: Uint8Array) => unknown;
  /** @default {JSON.parse} */
  readonly parseBody?: BodyParser;
  /**
   * Tried before `node:zlib` for a packet's brotli bundle (protocol/brotli.ts). Its bytes are
   * lent until its next call, so the decoder copies the bodies it emits as bytes and leaves
   * bundles inside the bundle (which Bilibili does not send) to `node:zlib`. @default {none}
   */
  readonly brotli?: BrotliDecompress;
}

/** JSON.parse and node:zlib. */
export const PLAIN_DECODING: BodyDecoding = {};

/** What one outer packet's decoding carries down its bundles. */
interface DecodePass {
  /** Decompressed bytes still allowed. */
  remaining: number;
  readonly decoding: BodyDecoding;
  /** Whether the packets walked sit in bytes lent by `decoding.brotli`. */
  lent: boolean;
}

const utf8 = new TextDecoder();

/**
 * Decodes one whole packet (as cut by the frame reader) and emits its innermost messages.
 * `streamOffset` is where the packet starts in the stream, used in error messages.
 */
export function decodePacket(
  packet: Uint8Array,
  emit: MessageSink,
  streamOffset = 0,
  decoding: BodyDecoding = PLAIN_DECODING,
): void {
  const header = checkedHeader(packet, 0, streamOffset);
  if (header.packetLength !== packet.length) {
    throw new ProtocolError(
      `Cannot decode packet at byte ${streamOffset}: pack_len ${header.packetLength} does not match its ${packet.length} bytes`,
      streamOffset,
    );
  }
  const pass: DecodePass = { remaining: MAX_DECOMPRESSED_BYTES, decoding, lent: false };
  decodeOne(packet, 0, header, emit, new Location(streamOffset), 0, pass);
}

/**
 * Decodes a buffer holding whole packets back to back, such as one WebSocket message.
 * As Bilibili appends the echoed heartbeat body after an op-3 packet (§1.6), an op-3
 * packet ends the frame: what follows it is ignored.
 */
export function decodeFrame(frame: Uint8Array, emit: MessageSink, frameOffset = 0): void {
  const pass: DecodePass = {
    remaining: MAX_DECOMPRESSED_BYTES,
    decoding: PLAIN_DECODING,
    lent: false,
  };
  walkPackets(frame, emit, frameOffset, 0, pass, "frame");
}

/** Reads and validates a header at `offset` of `bytes`; `streamOffset` is used in errors. */
export function checkedHeader(
  bytes: Uint8Array,
  offset: number,
  streamOffset: number,
): PacketHeader {
  return checkedHeaderAt(bytes, offset, new Location(streamOffset));
}

function checkedHeaderAt(bytes: Uint8Array, offset: number, at: Location): PacketHeader {
  if (bytes.length - offset < HEADER_LENGTH) {
    throw new ProtocolError(
      `Cannot decode packet at ${at.label}: ${
        bytes.length - offset
      } bytes left, a header needs ${HEADER_LENGTH}`,
      at.offset,
    );
  }
  const header = readHeader(bytes, offset);
  const problem = headerProblem(header);
  if (problem) {
    throw new ProtocolError(`Cannot decode packet at ${at.label}: ${problem}`, at.offset);
  }
  return header;
}

/** Says what is wrong with a header, or returns undefined when it can be trusted. */
export function headerProblem(header: PacketHeader): string | undefined {
  if (header.headerLength < HEADER_LENGTH) {
    return `header length ${header.headerLength} is below ${HEADER_LENGTH}`;
  }
  if (header.packetLength < header.headerLength) {
    return `pack_len ${header.packetLength} is below its header length ${header.headerLength}`;
  }
  if (header.packetLength > MAX_PACKET_LENGTH) {
    return `pack_len ${header.packetLength} exceeds the maximum of ${MAX_PACKET_LENGTH}`;
  }
  return undefined;
}

type WalkMode = "bundle" | "frame";

/**
 * Where a packet sits: the stream offset errors carry, and (for a packet inside a bundle) its
 * offset in the decompressed bytes. The words naming it are made only for an error: building
 * them for every packet was a string allocation per message.
 */
class Location {
  constructor(readonly offset: number, readonly inner = -1) {}

  /** `byte 120`, or `byte 120 (inner byte 48)` inside a bundle. */
  get label(): string {
    return this.inner < 0
      ? `byte ${this.offset}`
      : `byte ${this.offset} (inner byte ${this.inner})`;
  }
}

function walkPackets(
  bytes: Uint8Array,
  emit: MessageSink,
  baseOffset: number,
  depth: number,
  pass: DecodePass,
  mode: WalkMode,
): void {
  let offset = 0;
  while (offset < bytes.length) {
    const at = mode === "frame"
      ? new Location(baseOffset + offset)
      : new Location(baseOffset, offset);
    const header = checkedHeaderAt(bytes, offset, at);
    if (header.packetLength > bytes.length - offset) {
      throw new ProtocolError(
        `Cannot decode packet at ${at.label}: pack_len ${header.packetLength} runs past the ${mode} end (${
          bytes.length - offset
        } bytes left)`,
        at.offset,
      );
    }
    decodeOne(bytes, offset, header, emit, at, depth, pass);
    if (mode === "frame" && header.op === Op.heartbeatReply) return;
    offset += header.packetLength;
  }
}

function decodeOne(
  bytes: Uint8Array,
  offset: number,
  header: PacketHeader,
  emit: MessageSink,
  at: Location,
  depth: number,
  pass: DecodePass,
): void {
  const body = bytes.subarray(offset + header.headerLength, offset + header.packetLength);
  const { ver, seq } = header;
  switch (header.op) {
    case Op.message:
      if (ver === Ver.zlib || ver === Ver.brotli) {
        if (depth >= MAX_BUNDLE_DEPTH) {
          throw new ProtocolError(
            `Cannot decode packet at ${at.label}: bundles nest deeper than ${MAX_BUNDLE_DEPTH} levels`,
            at.offset,
          );
        }
        const inner = decompress(body, ver, at, depth, pass);
        walkPackets(inner, emit, at.offset, depth + 1, pass, "bundle");
        return;
      }
      if (ver !== Ver.json && ver !== Ver.raw) {
        throw new ProtocolError(
          `Cannot decode packet at ${at.label}: unknown protocol version ${ver} for op 5`,
          at.offset,
        );
      }
      {
        const read = pass.decoding.readBody?.(body);
        if (read !== undefined) {
          emit({ kind: "message", ver, seq, text: undefined, body: read });
          return;
        }
        const text = utf8.decode(body);
        emit({
          kind: "message",
          ver,
          seq,
          text,
          body: parseJson(text, at, pass.decoding.parseBody ?? JSON.parse),
        });
      }
      return;
    case Op.heartbeatReply:
      if (body.length < 4) {
        throw new ProtocolError(
          `Cannot decode heartbeat reply at ${at.label}: body has ${body.length} bytes, expected 4`,
          at.offset,
        );
      }
      emit({
        kind: "heartbeatReply",
        ver,
        seq,
        popularity: new DataView(body.buffer, body.byteOffset, 4).getUint32(0),
      });
      return;
    case Op.authReply: {
      const text = utf8.decode(body);
      emit({ kind: "authReply", ver, seq, text, body: parseJson(text, at, JSON.parse) });
      return;
    }
    default:
      emit({ kind: "other", op: header.op, ver, seq, body: pass.lent ? body.slice() : body });
  }
}

function decompress(
  body: Uint8Array,
  ver: number,
  at: Location,
  depth: number,
  pass: DecodePass,
): Uint8Array {
  const name = ver === Ver.zlib ? "zlib" : "brotli";
  const maxOutputLength = Math.max(1, pass.remaining);
  // Only the outer packet's bundle: a bundle inside it would overwrite the bytes being walked.
  let out = ver === Ver.brotli && depth === 0
    ? pass.decoding.brotli?.(body, maxOutputLength)
    : undefined;
  if (out !== undefined) pass.lent = true;
  try {
    out ??= ver === Ver.zlib
      ? inflateSync(body, { maxOutputLength })
      : brotliDecompressSync(body, { maxOutputLength });
  } catch (error) {
    const tooLarge = (error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE";
    const reason = tooLarge
      ? `decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`
      : `is not valid ${name} data (${(error as Error).message})`;
    throw new ProtocolError(
      `Cannot decode ${name} bundle at ${at.label}: it ${reason}`,
      at.offset,
      {
        cause: error,
      },
    );
  }
  pass.remaining -= out.length;
  return out;
}

function parseJson(text: string, at: Location, parseBody: BodyParser): unknown {
  try {
    return parseBody(text);
  } catch (error) {
    throw new ProtocolError(
      `Cannot parse JSON body of packet at ${at.label}: ${(error as Error).message}`,
      at.offset,
      { cause: error },
    );
  }
}
