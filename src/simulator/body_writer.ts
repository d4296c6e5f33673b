/**
 * A growable byte buffer that message bodies are written into as UTF-8, without building a
 * JavaScript string first: constant template parts are encoded once, numbers are written as
 * ASCII digits, and short ASCII strings are copied char by char.
 */

const utf8 = new TextEncoder();

/** Marks where a value goes in a body template. */
export const SLOT = "\u0001";

/** A value of a body template: an integer, an already UTF-8 encoded piece, or a string. */
export type BodyValue = number | Uint8Array | string;

/** Appends UTF-8 bytes; `bytes.subarray(0, length)` is what was written. */
export class BodyWriter {
  /** The underlying buffer; replaced when it grows. */
  bytes: Uint8Array;
  /** Bytes written so far. */
  length = 0;

  /** Starts with `capacity` bytes. @default {65536} */
  constructor(capacity = 65_536) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(need, this.bytes.length * 2));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  /** Appends raw bytes. */
  raw(piece: Uint8Array): void {
    const n = piece.length;
    this.reserve(n);
    const out = this.bytes;
    let at = this.length;
    if (n > 32) out.set(piece, at);
    else for (let i = 0; i < n; i++) out[at + i] = piece[i];
    at += n;
    this.length = at;
  }

  /** Appends an integer in decimal (any safe integer, negative included). */
  int(value: number): void {
    this.reserve(24);
    if (value < 0 || !Number.isSafeInteger(value)) {
      this.ascii(String(value));
      return;
    }
    const out = this.bytes;
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    let at = this.length + digits;
    this.length = at;
    let v = value;
    do {
      out[--at] = 48 + v % 10;
      v = Math.floor(v / 10);
    } while (v > 0);
  }

  /** Appends a string that is known to be ASCII. */
  ascii(text: string): void {
    const n = text.length;
    this.reserve(n);
    const out = this.bytes;
    const at = this.length;
    for (let i = 0; i < n; i++) out[at + i] = text.charCodeAt(i);
    this.length = at + n;
  }

  /** Appends any string as UTF-8. */
  text(text: string): void {
    this.reserve(text.length * 3);
    this.length += utf8.encodeInto(text, this.bytes.subarray(this.length)).written;
  }

  /** Appends a value of a template. */
  value(value: BodyValue): void {
    if (typeof value === "number") this.int(value);
    else if (typeof value === "string") this.text(value);
    else this.raw(value);
  }

  /** Appends `parts[0] values[0] parts[1] …`: a template from {@linkcode bodyTemplate}. */
  fill(parts: readonly Uint8Array[], values: readonly BodyValue[]): void {
    this.raw(parts[0]);
    for (let i = 0; i < values.length; i++) {
      this.value(values[i]);
      this.raw(parts[i + 1]);
    }
  }
}

/** Cuts a template at its {@linkcode SLOT}s and encodes the parts once. */
export function bodyTemplate(template: string): Uint8Array[] {
  return template.split(SLOT).map((part) => utf8.encode(part));
}

/** UTF-8 bytes of a string, for pieces that are reused many times. */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}
