/**
 * The 16-byte big-endian packet header of Bilibili's danmaku protocol (docs/protocol.md §1)
 * and builders for the packets a client sends.
 */

/** Length of the header every packet starts with. */
export const HEADER_LENGTH = 16;

/** Largest `pack_len` accepted: real packets are a few KB; this only stops hostile lengths. */
export const MAX_PACKET_LENGTH = 16 * 1024 * 1024;

/** Operation codes used on the web danmaku socket (§1.3). */
export const Op = {
  heartbeat: 2,
  heartbeatReply: 3,
  message: 5,
  auth: 7,
  authReply: 8,
} as const;

/** Body encodings in the header's `ver` field (§1.2). */
export const Ver = {
  json: 0,
  raw: 1,
  zlib: 2,
  brotli: 3,
} as const;

/** The five header fields, as on the wire. */
export interface PacketHeader {
  /** Whole packet length, header included (`pack_len`). */
  packetLength: number;
  /** Header length; the body starts here. Always 16 in practice. */
  headerLength: number;
  ver: number;
  op: number;
  seq: number;
}

/** Reads the header at `offset`; the caller guarantees 16 bytes are there. */
export function readHeader(bytes: Uint8Array, offset: number): PacketHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER_LENGTH);
  return {
    packetLength: view.getUint32(0),
    headerLength: view.getUint16(4),
    ver: view.getUint16(6),
    op: view.getUint32(8),
    seq: view.getUint32(12),
  };
}

/** Writes a header into `target` at `offset`. */
export function writeHeader(target: Uint8Array, offset: number, header: PacketHeader): void {
  const view = new DataView(target.buffer, target.byteOffset + offset, HEADER_LENGTH);
  view.setUint32(0, header.packetLength);
  view.setUint16(4, header.headerLength);
  view.setUint16(6, header.ver);
  view.setUint32(8, header.op);
  view.setUint32(12, header.seq);
}

const utf8 = new TextEncoder();

/** Options of {@linkcode encodePacket}. */
export interface EncodePacketOptions {
  /** Header `ver`. @default {1} (what clients send for op 2 and op 7) */
  ver?: number;
  /** Header `seq`. @default {1} (every maintained client writes 1) */
  seq?: number;
}

/** Builds one packet: header plus `body` (a string is UTF-8 encoded). */
export function encodePacket(
  op: number,
  body: Uint8Array | string,
  options: EncodePacketOptions = {},
): Uint8Array {
  const bodyBytes = typeof body === "string" ? utf8.encode(body) : body;
  const packet = new Uint8Array(HEADER_LENGTH + bodyBytes.length);
  writeHeader(packet, 0, {
    packetLength: packet.length,
    headerLength: HEADER_LENGTH,
    ver: options.ver ?? Ver.raw,
    op,
    seq: options.seq ?? 1,
  });
  packet.set(bodyBytes, HEADER_LENGTH);
  return packet;
}

/** The op-7 auth body (§2.4). */
export interface AuthBody {
  /** Logged-in account mid, or 0 when anonymous. */
  uid: number;
  /** Real (long) room id; short ids connect but receive nothing. */
  roomid: number;
  /** 3 asks for brotli bundles, 2 for zlib, 1 for plain packets. */
  protover: 1 | 2 | 3;
  platform: "web";
  type: 2;
  /** Token from getDanmuInfo. */
  key: string;
  /** The buvid3 cookie value. */
  buvid?: string;
}

/**
 * The auth body a web client sends (protover 3: brotli bundles), the collector's and the test
 * clients' alike; `uid` 0 for an anonymous one.
 */
export function webAuthBody(uid: number, roomid: number, key: string, buvid: string): AuthBody {
  return { uid, roomid, protover: 3, platform: "web", type: 2, key, buvid };
}

/** Builds the auth packet (op 7, ver 1, seq 1). */
export function encodeAuthPacket(auth: AuthBody): Uint8Array {
  return encodePacket(Op.auth, JSON.stringify(auth));
}

/** Builds a heartbeat packet with an empty body, so no echo quirk (§1.6) can follow. */
export function encodeHeartbeatPacket(): Uint8Array {
  return encodePacket(Op.heartbeat, new Uint8Array(0));
}
