/**
 * Brotli bundles through the system's libbrotlidec (FFI) instead of `node:zlib`. Deno's
 * `brotliDecompressSync` builds a stream engine for every call: 22–25 µs before a byte is
 * decoded, 29–52 µs for a bundle of one message, and the real site (like the simulator at
 * many rooms) sends bundles of one or two. libbrotlidec's one-shot call took 11–13 µs for the
 * same bundle and about half the time for bundles of 50–750 messages (docs/benchmarks.md).
 */
import { ConfigError } from "../errors.ts";

/** `--brotli`: the library where it can be opened (auto), it or an error, or `node:zlib`. */
export type BrotliMode = "auto" | "libbrotli" | "node";

/**
 * Decompresses one brotli stream into at most `maxOutputLength` bytes. Undefined when it cannot
 * (bad data, or more output than it holds): the caller then uses `node:zlib`, which either
 * decodes it or names the problem. The bytes are the decompressor's own buffer, valid until its
 * next call: the caller copies what must outlive that.
 */
export type BrotliDecompress = (
  input: Uint8Array,
  maxOutputLength: number,
) => Uint8Array | undefined;

/** What {@linkcode openBrotli} chose; disposing it closes the library (once no room reads). */
export interface BrotliChoice extends Disposable {
  kind: "libbrotli" | "node";
  /** The library's decompressor, when `kind` is libbrotli. */
  decompress?: BrotliDecompress;
  /** Why `node:zlib` is used, when it is. */
  reason?: string;
}

/** What opening the library needs from the platform (tests replace it). */
export interface BrotliPlatform {
  /** `Deno.build.os`. */
  os: string;
  /** Whether FFI may be used (never a permission prompt). */
  ffiGranted(): boolean;
  /** Opens the first library of `names` that loads; throws when none does. */
  open(names: readonly string[]): BrotliLibrary;
}

/** The one libbrotlidec call used. */
export interface BrotliLibrary {
  /**
   * `BrotliDecoderDecompress(encoded_size, encoded, *decoded_size, decoded)`: 1 on success,
   * with `*decoded_size` (in: the room, out: the length) as a little-endian size_t.
   */
  decompress(size: number, input: Uint8Array, decodedSize: Uint8Array, output: Uint8Array): number;
  close(): void;
}

const SYMBOLS = {
  BrotliDecoderDecompress: { parameters: ["usize", "buffer", "buffer", "buffer"], result: "i32" },
} as const;

/** This process. */
export const DENO_BROTLI_PLATFORM: BrotliPlatform = {
  os: Deno.build.os,
  ffiGranted: () => Deno.permissions.querySync({ name: "ffi" }).state === "granted",
  open(names) {
    const errors: string[] = [];
    for (const name of names) {
      try {
        const library = Deno.dlopen(name, SYMBOLS);
        const { symbols } = library;
        return {
          decompress: (size, input, decodedSize, output) =>
            symbols.BrotliDecoderDecompress(BigInt(size), input, decodedSize, output),
          close: () => library.close(),
        };
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    throw new Error(`no libbrotlidec (${errors.join("; ")})`);
  },
};

/** Library file names by OS, tried in order. */
const LIBRARY_NAMES: Readonly<Record<string, readonly string[]>> = {
  linux: ["libbrotlidec.so.1", "libbrotlidec.so"],
  darwin: [
    "libbrotlidec.1.dylib",
    "/opt/homebrew/lib/libbrotlidec.1.dylib",
    "/usr/local/lib/libbrotlidec.1.dylib",
  ],
};

/**
 * Output room of the library's first call. A bundle that decodes to more (the real site's are a
 * few KB; the simulator's busiest rooms send 4–6 MB) is decoded again into a buffer twice as
 * large, up to the decoder's bound, and the larger buffer is kept for the bundles after it.
 */
export const LIBRARY_OUTPUT_BYTES = 4 * 1024 * 1024;

const BROTLI_DECODER_RESULT_SUCCESS = 1;

/**
 * Picks the brotli decoder for `--brotli`: with `auto` libbrotlidec where it opens (FFI
 * permission, the library installed), else `node:zlib` and the reason; with `libbrotli` a
 * ConfigError naming the reason when it cannot be used.
 */
export function openBrotli(
  mode: BrotliMode,
  platform: BrotliPlatform = DENO_BROTLI_PLATFORM,
): BrotliChoice {
  if (mode === "node") return nodeZlib("--brotli node");
  let reason: string;
  const names = LIBRARY_NAMES[platform.os];
  if (!names) reason = `no libbrotlidec name known for ${platform.os}`;
  else if (!platform.ffiGranted()) reason = "no FFI permission (--allow-ffi)";
  else {
    try {
      return libraryChoice(platform.open(names));
    } catch (error) {
      reason = (error as Error).message;
    }
  }
  if (mode === "libbrotli") throw new ConfigError(`Cannot use --brotli libbrotli: ${reason}`);
  return nodeZlib(reason);
}

function nodeZlib(reason: string): BrotliChoice {
  return { kind: "node", reason, [Symbol.dispose]() {} };
}

/**
 * The library's decompressor, decoding into one buffer it reuses (grown when a bundle fills it,
 * never beyond `maxOutputLength`) and lending it out: a copy per bundle, 4–6 MB for the
 * simulator's busiest rooms, cost ≈ 15 % of decoding a recorded 100-room stream (fresh pages,
 * and the collector of their buffers). Once disposed it declines every bundle (to `node:zlib`):
 * the library's code is gone.
 */
function libraryChoice(library: BrotliLibrary): BrotliChoice {
  let output: Uint8Array | undefined;
  let closed = false;
  const decodedSize = new Uint32Array(2); // a size_t, little-endian: outputs stay below 2^32
  const decodedSizeBytes = new Uint8Array(decodedSize.buffer);
  const decompress: BrotliDecompress = (input, maxOutputLength) => {
    if (closed) return undefined;
    output ??= new Uint8Array(LIBRARY_OUTPUT_BYTES);
    for (;;) {
      const room = Math.min(output.length, maxOutputLength);
      decodedSize[0] = room;
      decodedSize[1] = 0;
      const result = library.decompress(input.length, input, decodedSizeBytes, output);
      if (result === BROTLI_DECODER_RESULT_SUCCESS) return output.subarray(0, decodedSize[0]);
      // On failure the size is what was decoded: short of the room, the data is bad; at the
      // bound, node:zlib names the bundle too large.
      if (decodedSize[0] < room || room >= maxOutputLength) return undefined;
      output = new Uint8Array(Math.min(output.length * 2, maxOutputLength));
    }
  };
  return {
    kind: "libbrotli",
    decompress,
    [Symbol.dispose]() {
      if (closed) return;
      closed = true;
      output = undefined;
      library.close();
    },
  };
}
