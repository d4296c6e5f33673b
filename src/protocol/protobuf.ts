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

/** The offset after the varint {@linkcode readVarint} read last (saves a tuple per varint). */
let varintEnd = 0;

/**
 * Reads one varint at `offset` of `bytes`: returns the value (exact, masked to 64 bits) and
 * leaves the offset after it in `varintEnd`. Plain numbers while the value fits in 2^49;
 * BigInt only for longer varints.
 */
function readVarint(bytes: Uint8Array, offset: number): number | bigint {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (offset >= bytes.length) {
      throw new ProtocolError("Cannot read protobuf: varint runs past the end", offset);
    }
    const byte = bytes[offset++];
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      varintEnd = offset;
      return result;
    }
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
    if ((byte & 0x80) === 0) {
      varintEnd = offset;
      return big & 0xffff_ffff_ffff_ffffn;
    }
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

/** Numbers per field in a {@linkcode FieldIndex}: field number, wire type, two values. */
const SLOT = 4;

/**
 * The top-level fields of one message without an object per field: per field, its number,
 * its wire type and two numbers — a varint's value (-1 when it needed a BigInt, kept in `big`),
 * a fixed32's value, or a length-delimited field's start and end. fixed64 values are in `big`.
 */
interface FieldIndex {
  slots: number[];
  /** BigInt values by slot position, for varints beyond 2^49 and every fixed64. */
  big: Map<number, bigint> | undefined;
}

/** Indexes every top-level field of `bytes`; throws ProtocolError on malformed input. */
function indexFields(bytes: Uint8Array): FieldIndex {
  const slots: number[] = [];
  let big: Map<number, bigint> | undefined;
  let offset = 0;
  while (offset < bytes.length) {
    if (slots.length >= MAX_PROTO_FIELDS * SLOT) {
      throw new ProtocolError(`Cannot read protobuf: more than ${MAX_PROTO_FIELDS} fields`, offset);
    }
    const at = offset;
    const key = readVarint(bytes, offset);
    offset = varintEnd;
    const field = typeof key === "number" ? Math.floor(key / 8) : Number(key >> 3n);
    const wire = typeof key === "number" ? key % 8 : Number(key & 7n);
    if (field === 0) {
      throw new ProtocolError(`Cannot read protobuf at byte ${at}: field number 0`, at);
    }
    switch (wire) {
      case WireType.varint: {
        const value = readVarint(bytes, offset);
        offset = varintEnd;
        if (typeof value === "number") slots.push(field, wire, value, 0);
        else {
          (big ??= new Map()).set(slots.length, value);
          slots.push(field, wire, -1, 0);
        }
        break;
      }
      case WireType.fixed64: {
        (big ??= new Map()).set(
          slots.length,
          fixedView(bytes, offset, 8, at).getBigUint64(0, true),
        );
        slots.push(field, wire, -1, 0);
        offset += 8;
        break;
      }
      case WireType.len: {
        const length = readVarint(bytes, offset);
        const start = varintEnd;
        if (typeof length !== "number" || length > bytes.length - start) {
          throw new ProtocolError(
            `Cannot read protobuf at byte ${at}: length ${length} runs past the end`,
            at,
          );
        }
        const end = start + length;
        slots.push(field, wire, start, end);
        offset = end;
        break;
      }
      case WireType.fixed32: {
        slots.push(field, wire, fixedView(bytes, offset, 4, at).getUint32(0, true), 0);
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
  return { slots, big };
}

/** Reads every top-level field of `bytes`; throws ProtocolError on malformed input. */
export function readProtoFields(bytes: Uint8Array): ProtoField[] {
  return new ProtoMessage(bytes).fields;
}

const utf8Decoder = new TextDecoder();

/**
 * Convenient typed access to one message's fields by number (last value wins, as in protobuf).
 * The fields are indexed once, without an object, a BigInt or a subarray per field: those are
 * made only for the fields read.
 */
export class ProtoMessage {
  readonly #bytes: Uint8Array;
  readonly #slots: number[];
  readonly #big: Map<number, bigint> | undefined;
  #fields: ProtoField[] | undefined;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    const { slots, big } = indexFields(bytes);
    this.#slots = slots;
    this.#big = big;
  }

  /** Every top-level field as read from the wire, in order (made on first use). */
  get fields(): ProtoField[] {
    if (this.#fields !== undefined) return this.#fields;
    const fields: ProtoField[] = [];
    for (let i = 0; i < this.#slots.length; i += SLOT) {
      const field = this.#slots[i];
      const wire = this.#slots[i + 1];
      if (wire === WireType.len) fields.push({ field, wire, value: this.#bytesAt(i) });
      else if (wire === WireType.fixed32) fields.push({ field, wire, value: this.#slots[i + 2] });
      else fields.push({ field, wire: wire as 0 | 1, value: this.#bigintAt(i) });
    }
    this.#fields = fields;
    return fields;
  }

  /** The slot position of the last occurrence of `field`, or -1. */
  #last(field: number): number {
    for (let i = this.#slots.length - SLOT; i >= 0; i -= SLOT) {
      if (this.#slots[i] === field) return i;
    }
    return -1;
  }

  #bytesAt(i: number): Uint8Array {
    return this.#bytes.subarray(this.#slots[i + 2], this.#slots[i + 3]);
  }

  /** A varint or fixed64 at slot position `i` as a bigint. */
  #bigintAt(i: number): bigint {
    const value = this.#slots[i + 2];
    return value >= 0 ? BigInt(value) : this.#big!.get(i)!;
  }

  /** A varint as a number (exact up to 2^53); 0 when absent, as protobuf defaults. */
  number(field: number): number {
    const i = this.#last(field);
    if (i < 0) return 0;
    const wire = this.#slots[i + 1];
    if (wire === WireType.fixed32) return this.#slots[i + 2];
    if (wire === WireType.len) return 0;
    const value = this.#slots[i + 2];
    return value >= 0 ? value : Number(this.#big!.get(i)!);
  }

  /** A varint as a bigint (for uint64 such as nanosecond trigger times); 0n when absent. */
  bigint(field: number): bigint {
    const i = this.#last(field);
    if (i < 0) return 0n;
    const wire = this.#slots[i + 1];
    return wire === WireType.varint || wire === WireType.fixed64 ? this.#bigintAt(i) : 0n;
  }

  /** A UTF-8 string; "" when absent. */
  string(field: number): string {
    const i = this.#last(field);
    return i >= 0 && this.#slots[i + 1] === WireType.len
      ? utf8Decoder.decode(this.#bytesAt(i))
      : "";
  }

  /** A nested message, or undefined when absent. */
  message(field: number): ProtoMessage | undefined {
    const i = this.#last(field);
    return i >= 0 && this.#slots[i + 1] === WireType.len
      ? new ProtoMessage(this.#bytesAt(i))
      : undefined;
  }

  /** The wire type of the last occurrence of `field`, or -1 when absent. */
  wireOf(field: number): number {
    const i = this.#last(field);
    return i < 0 ? -1 : this.#slots[i + 1];
  }

  /** Every occurrence of a repeated nested message (the first `max` of them). */
  messages(field: number, max = Infinity): ProtoMessage[] {
    const out: ProtoMessage[] = [];
    for (let i = 0; i < this.#slots.length && out.length < max; i += SLOT) {
      if (this.#slots[i] === field && this.#slots[i + 1] === WireType.len) {
        out.push(new ProtoMessage(this.#bytesAt(i)));
      }
    }
    return out;
  }

  /** A repeated varint field, packed or not. */
  numbers(field: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#slots.length; i += SLOT) {
      if (this.#slots[i] !== field) continue;
      const wire = this.#slots[i + 1];
      if (wire === WireType.varint) {
        const value = this.#slots[i + 2];
        out.push(value >= 0 ? value : Number(this.#big!.get(i)!));
      } else if (wire === WireType.len) {
        for (const v of readPackedVarints(this.#bytesAt(i))) out.push(v);
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
