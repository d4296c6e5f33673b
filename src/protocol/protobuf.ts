/**
 * A minimal protobuf wire-format reader and writer (docs/protocol.md §4.12): enough for the
 * base64 `pb` payloads of INTERACT_WORD_V2, SEND_GIFT_V2 and ONLINE_RANK_V3. No schema
 * compiler: callers pick fields by number; unknown fields are skipped.
 */
import { ProtocolError } from "../errors.ts";

/** Wire types (the low three bits of a field key). */
export const WireType = { varint: 0, fixed64: 1, len: 2, fixed32: 5 } as const;

/** One field as read from the wire. */
export type ProtoField =
  | { field: number; wire: 0; value: bigint }
  | { field: number; wire: 1; value: bigint }
  | { field: number; wire: 2; value: Uint8Array }
  | { field: number; wire: 5; value: number };

/** Most fields one message may hold; real messages have a few dozen. */
export const MAX_PROTO_FIELDS = 10_000;

/**
 * Reads one varint at `offset` of `bytes`: the value (exact, masked to 64 bits) and the offset
 * after it. Plain numbers while the value fits in 2^49; BigInt only for longer varints.
 */
function readVarint(bytes: Uint8Array, offset: number): [number | bigint, number] {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (offset >= bytes.length) {
      throw new ProtocolError("Cannot read protobuf: varint runs past the end", offset);
    }
    const byte = bytes[offset++];
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [result, offset];
    scale *= 128;
  }
  // Beyond 49 bits: continue exactly with BigInt (uint64 such as nanosecond trigger times).
  let big = BigInt(result);
  for (let shift = 49n; shift < 70n; shift += 7n) {
    if (offset >= bytes.length) {
      throw new ProtocolError("Cannot read protobuf: varint runs past the end", offset);
    }
    const byte = bytes[offset++];
    big |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [big & 0xffff_ffff_ffff_ffffn, offset];
  }
  throw new ProtocolError("Cannot read protobuf: varint longer than 10 bytes", offset);
}

/** The `size` bytes of the fixed-width value at `offset`; throws when they run past the end. */
function fixedView(bytes: Uint8Array, offset: number, size: 4 | 8, at: number): DataView {
  if (offset + size > bytes.length) {
    throw new ProtocolError(
      `Cannot read protobuf at byte ${at}: fixed${size * 8} runs past the end`,
      at,
    );
  }
  return new DataView(bytes.buffer, bytes.byteOffset + offset, size);
}

/** Reads every top-level field of `bytes`; throws ProtocolError on malformed input. */
export function readProtoFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (fields.length >= MAX_PROTO_FIELDS) {
      throw new ProtocolError(`Cannot read protobuf: more than ${MAX_PROTO_FIELDS} fields`, offset);
    }
    const at = offset;
    const [key, afterKey] = readVarint(bytes, offset);
    offset = afterKey;
    const field = typeof key === "number" ? Math.floor(key / 8) : Number(key >> 3n);
    const wire = typeof key === "number" ? key % 8 : Number(key & 7n);
    if (field === 0) {
      throw new ProtocolError(`Cannot read protobuf at byte ${at}: field number 0`, at);
    }
    switch (wire) {
      case WireType.varint: {
        const [value, end] = readVarint(bytes, offset);
        offset = end;
        fields.push({ field, wire, value: typeof value === "number" ? BigInt(value) : value });
        break;
      }
      case WireType.fixed64: {
        fields.push({ field, wire, value: fixedView(bytes, offset, 8, at).getBigUint64(0, true) });
        offset += 8;
        break;
      }
      case WireType.len: {
        const [length, start] = readVarint(bytes, offset);
        if (typeof length !== "number" || length > bytes.length - start) {
          throw new ProtocolError(
            `Cannot read protobuf at byte ${at}: length ${length} runs past the end`,
            at,
          );
        }
        const end = start + length;
        fields.push({ field, wire, value: bytes.subarray(start, end) });
        offset = end;
        break;
      }
      case WireType.fixed32: {
        fields.push({ field, wire, value: fixedView(bytes, offset, 4, at).getUint32(0, true) });
        offset += 4;
        break;
      }
      default:
        throw new ProtocolError(
          `Cannot read protobuf at byte ${at}: unsupported wire type ${wire}`,
          at,
        );
    }
  }
  return fields;
}

const utf8Decoder = new TextDecoder();

/** Convenient typed access to one message's fields by number (last value wins, as in protobuf). */
export class ProtoMessage {
  readonly fields: ProtoField[];
  constructor(bytes: Uint8Array) {
    this.fields = readProtoFields(bytes);
  }

  #last(field: number): ProtoField | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (this.fields[i].field === field) return this.fields[i];
    }
    return undefined;
  }

  /** A varint as a number (exact up to 2^53); 0 when absent, as protobuf defaults. */
  number(field: number): number {
    const f = this.#last(field);
    return f && (f.wire === 0 || f.wire === 1) ? Number(f.value) : f?.wire === 5 ? f.value : 0;
  }

  /** A varint as a bigint (for uint64 such as nanosecond trigger times); 0n when absent. */
  bigint(field: number): bigint {
    const f = this.#last(field);
    return f && (f.wire === 0 || f.wire === 1) ? f.value : 0n;
  }

  /** A UTF-8 string; "" when absent. */
  string(field: number): string {
    const f = this.#last(field);
    return f?.wire === 2 ? utf8Decoder.decode(f.value) : "";
  }

  /** A nested message, or undefined when absent. */
  message(field: number): ProtoMessage | undefined {
    const f = this.#last(field);
    return f?.wire === 2 ? new ProtoMessage(f.value) : undefined;
  }

  /** Every occurrence of a repeated nested message. */
  messages(field: number): ProtoMessage[] {
    const out: ProtoMessage[] = [];
    for (const f of this.fields) {
      if (f.field === field && f.wire === 2) out.push(new ProtoMessage(f.value));
    }
    return out;
  }

  /** A repeated varint field, packed or not. */
  numbers(field: number): number[] {
    const out: number[] = [];
    for (const f of this.fields) {
      if (f.field !== field) continue;
      if (f.wire === 0) out.push(Number(f.value));
      else if (f.wire === 2) {
        for (const v of readPackedVarints(f.value)) out.push(v);
      }
    }
    return out;
  }
}

function readPackedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) {
      out.push(value);
      value = 0;
      shift = 0;
    } else if (shift > 63) {
      throw new ProtocolError("Cannot read protobuf: packed varint longer than 10 bytes", i);
    }
  }
  if (shift !== 0) {
    throw new ProtocolError("Cannot read protobuf: packed varint runs past the end", bytes.length);
  }
  return out;
}

const utf8Encoder = new TextEncoder();

/** Builds protobuf bytes field by field (used by the simulator to make `pb` payloads). */
export class ProtoWriter {
  #buffer: Uint8Array;
  #length = 0;

  /** Starts with room for `capacity` bytes; it grows as needed. @default {32} */
  constructor(capacity = 32) {
    this.#buffer = new Uint8Array(capacity);
  }

  #reserve(extra: number): void {
    const need = this.#length + extra;
    if (need <= this.#buffer.length) return;
    const bigger = new Uint8Array(Math.max(need, this.#buffer.length * 2));
    bigger.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = bigger;
  }

  #varint(value: number | bigint): void {
    this.#reserve(10);
    const buffer = this.#buffer;
    let at = this.#length;
    if (typeof value === "number" && value >= 0 && Number.isSafeInteger(value)) {
      // Plain numbers up to 2^53: no BigInt allocation per byte.
      while (value >= 0x80) {
        buffer[at++] = (value % 0x80) | 0x80;
        value = Math.floor(value / 0x80);
      }
      buffer[at++] = value;
    } else {
      let v = BigInt.asUintN(64, BigInt(value));
      do {
        const byte = Number(v & 0x7fn);
        v >>= 7n;
        buffer[at++] = v > 0n ? byte | 0x80 : byte;
      } while (v > 0n);
    }
    this.#length = at;
  }

  #key(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  #append(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Appends a varint field (numbers must be integers; bigint for uint64). */
  varint(field: number, value: number | bigint | boolean): this {
    this.#key(field, WireType.varint);
    this.#varint(typeof value === "boolean" ? (value ? 1 : 0) : value);
    return this;
  }

  /** Appends a length-delimited field: a string, raw bytes, or a nested message. */
  bytes(field: number, value: string | Uint8Array | ProtoWriter): this {
    if (typeof value === "string" && value.length < 42) {
      // At most 126 UTF-8 bytes: a one-byte length, so encode in place.
      this.#key(field, WireType.len);
      this.#reserve(1 + value.length * 3);
      const { written } = utf8Encoder.encodeInto(
        value,
        this.#buffer.subarray(this.#length + 1),
      );
      this.#buffer[this.#length] = written;
      this.#length += 1 + written;
      return this;
    }
    const bytes = typeof value === "string"
      ? utf8Encoder.encode(value)
      : value instanceof ProtoWriter
      ? value.#buffer.subarray(0, value.#length)
      : value;
    this.#key(field, WireType.len);
    this.#varint(bytes.length);
    this.#append(bytes);
    return this;
  }

  /** Appends a packed repeated varint field. */
  packed(field: number, values: number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.#varint(v);
    return this.bytes(field, inner);
  }

  /** Appends bytes that are already protobuf fields (e.g. a cached run of constant fields). */
  raw(fields: Uint8Array): this {
    this.#append(fields);
    return this;
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}
