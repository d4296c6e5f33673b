/**
 * The WebSocket wire format (RFC 6455 §5) without I/O: frame encoding (masked for a client,
 * plain for a server), an incremental frame-header parser with bounds, and the handshake's
 * `Sec-WebSocket-Accept` value (§4.2.2). The room's client and a server may both use it.
 */
import { ProtocolError } from "../errors.ts";
import { MAX_PACKET_LENGTH } from "./packet.ts";

/** Frame opcodes (RFC 6455 §5.2). */
export const WsOpcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Largest payload of one data frame, and of one whole message: Bilibili's packet bound. */
export const MAX_WS_MESSAGE_BYTES = MAX_PACKET_LENGTH;

/** Control frames carry at most this many payload bytes and are never fragmented (§5.5). */
export const MAX_WS_CONTROL_PAYLOAD = 125;

/** Longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
export const MAX_WS_HEADER_LENGTH = 14;

/** The GUID a server appends to the client's key before hashing (§1.3). */
const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** One parsed frame header. */
export interface WsFrameHeader {
  fin: boolean;
  opcode: number;
  /** The 4-byte masking key, when the frame is masked (client to server). */
  mask: Uint8Array | undefined;
  payloadLength: number;
  /** Bytes the header took. */
  headerLength: number;
}

/** Bytes a frame header needs in all (2 to 14), from its second byte (mask bit and length). */
export function wsHeaderLength(second: number): number {
  const length7 = second & 0x7f;
  const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  return 2 + extended + (second & 0x80 ? 4 : 0);
}

/**
 * Reads a frame header from `bytes` (which must hold {@linkcode wsHeaderLength} bytes) and
 * checks it: no reserved bits (no extension was agreed), a known opcode, control frames whole
 * and at most 125 bytes, data frames at most {@linkcode MAX_WS_MESSAGE_BYTES}. `offset` is the
 * stream offset for errors.
 */
export function parseWsFrameHeader(bytes: Uint8Array, offset = 0): WsFrameHeader {
  const first = bytes[0];
  const second = bytes[1];
  const headerLength = wsHeaderLength(second);
  const fail = (problem: string) =>
    new ProtocolError(`Cannot decode WebSocket frame at byte ${offset}: ${problem}`, offset);
  if (first & 0x70) throw fail(`reserved bits set (0x${first.toString(16)})`);
  const opcode = first & 0x0f;
  if (!Object.values(WsOpcode).includes(opcode as never)) throw fail(`unknown opcode ${opcode}`);
  const fin = (first & 0x80) !== 0;
  const length7 = second & 0x7f;
  let payloadLength = length7;
  let at = 2;
  if (length7 === 126) {
    payloadLength = (bytes[2] << 8) | bytes[3];
    at = 4;
  } else if (length7 === 127) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8);
    const high = view.getUint32(0);
    if (high >= 0x200000) throw fail("a 64-bit length beyond 2^53");
    payloadLength = high * 2 ** 32 + view.getUint32(4);
    at = 10;
  }
  const mask = second & 0x80 ? bytes.slice(at, at + 4) : undefined;
  if (opcode >= WsOpcode.close) {
    if (!fin) throw fail(`a fragmented control frame (opcode ${opcode})`);
    if (payloadLength > MAX_WS_CONTROL_PAYLOAD) {
      throw fail(`a ${payloadLength}-byte control frame (at most ${MAX_WS_CONTROL_PAYLOAD})`);
    }
  } else if (payloadLength > MAX_WS_MESSAGE_BYTES) {
    throw fail(`a ${payloadLength}-byte frame (at most ${MAX_WS_MESSAGE_BYTES})`);
  }
  return { fin, opcode, mask, payloadLength, headerLength };
}

/** Options of {@linkcode encodeWsFrame}. */
export interface EncodeWsFrameOptions {
  /** 4 bytes: masks the payload, as a client must (§5.3). @default {undefined} (not masked) */
  mask?: Uint8Array;
  /** Last frame of its message. @default {true} */
  fin?: boolean;
}

/** Builds one frame: header, then `payload` (masked with `options.mask` when given). */
export function encodeWsFrame(
  opcode: number,
  payload: Uint8Array,
  options: EncodeWsFrameOptions = {},
): Uint8Array {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const maskBytes = options.mask ? 4 : 0;
  const headerLength = 2 + extended + maskBytes;
  const frame = new Uint8Array(headerLength + length);
  frame[0] = (options.fin === false ? 0 : 0x80) | (opcode & 0x0f);
  const maskBit = options.mask ? 0x80 : 0;
  if (extended === 0) frame[1] = maskBit | length;
  else if (extended === 2) {
    frame[1] = maskBit | 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = maskBit | 127;
    const view = new DataView(frame.buffer, 2, 8);
    view.setUint32(0, Math.floor(length / 2 ** 32));
    view.setUint32(4, length >>> 0);
  }
  frame.set(payload, headerLength);
  if (options.mask) {
    frame.set(options.mask.subarray(0, 4), headerLength - 4);
    applyWsMask(frame.subarray(headerLength), options.mask);
  }
  return frame;
}

/** XORs `bytes` in place with the 4-byte `mask`, starting `phase` bytes into it. */
export function applyWsMask(bytes: Uint8Array, mask: Uint8Array, phase = 0): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] ^= mask[(i + phase) & 3];
}

/** The close frame payload's status code, or undefined when it has none (§5.5.1). */
export function wsCloseCode(payload: Uint8Array): number | undefined {
  return payload.length >= 2 ? (payload[0] << 8) | payload[1] : undefined;
}

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)). */
export async function wsAcceptValue(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(key + HANDSHAKE_GUID),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
