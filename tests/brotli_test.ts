/**
 * libbrotlidec through FFI: the same bytes as node:zlib, node:zlib's errors and bounds when it
 * cannot decode, and the choice `--brotli` makes on each platform.
 */
import assert from "node:assert/strict";
import { brotliCompressSync, brotliDecompressSync } from "node:zlib";
import { ConfigError } from "../src/errors.ts";
import {
  type BrotliPlatform,
  DENO_BROTLI_PLATFORM,
  LIBRARY_OUTPUT_BYTES,
  openBrotli,
} from "../src/protocol/brotli.ts";
import {
  decodePacket,
  MAX_DECOMPRESSED_BYTES,
  type ServerMessage,
} from "../src/protocol/packet_decoder.ts";
import { encodePacket, HEADER_LENGTH, Op, Ver } from "../src/protocol/packet.ts";
import { concatBytes, readSampleBin, sampleBinNames } from "./support/samples.ts";

const library = openBrotli("auto");

/** The body of an outer brotli packet. */
const bodyOf = (packet: Uint8Array) => packet.subarray(HEADER_LENGTH);

/** A brotli bundle packet of `messages` op-5 JSON packets. */
function bundle(messages: readonly string[]): Uint8Array {
  const inner = messages.map((text) => encodePacket(Op.message, text, { ver: Ver.json }));
  const bytes = concatBytes(inner);
  return encodePacket(Op.message, brotliCompressSync(bytes), { ver: Ver.brotli });
}

/** What decodePacket emits for `packet` with the library, and without it. */
function bothWays(packet: Uint8Array) {
  const run = (brotli: typeof library.decompress) => {
    const out: unknown[] = [];
    try {
      decodePacket(packet, (m) => out.push(m), 0, { brotli });
    } catch (error) {
      return { error: (error as Error).message, out };
    }
    return { out };
  };
  return { withLibrary: run(library.decompress), withNode: run(undefined) };
}

Deno.test({
  name: "openBrotli('auto') opens the system's libbrotlidec here (CI installs libbrotli1)",
  fn() {
    assert.equal(library.kind, "libbrotli", library.reason);
    assert.equal(typeof library.decompress, "function");
  },
});

Deno.test("libbrotlidec decodes the real brotli samples and large bundles to node:zlib's bytes", () => {
  const names = sampleBinNames().filter((name) => name.startsWith("brotli_"));
  assert.ok(names.length >= 3);
  const bodies = names.map((name) => bodyOf(readSampleBin(name)));
  const texts = Array.from(
    { length: 3000 },
    (_, i) => `{"cmd":"DANMU_MSG","info":[[${i}],"弹幕 ${i}"]}`,
  );
  bodies.push(bodyOf(bundle(texts)), brotliCompressSync(new Uint8Array(0)));
  for (const body of bodies) {
    const ours = library.decompress!(body, MAX_DECOMPRESSED_BYTES);
    assert.ok(ours !== undefined);
    assert.deepEqual(ours, new Uint8Array(brotliDecompressSync(body)));
  }
  const message = bothWays(bundle(texts));
  assert.equal(message.withLibrary.out.length, 3000);
  assert.deepEqual(message.withLibrary, message.withNode);
});

Deno.test("libbrotlidec leaves bad data and outputs beyond the bound to node:zlib", () => {
  const decompress = library.decompress!;
  // A cut stream: the library refuses it; node:zlib's answer (Deno's returns what it could
  // decode) stays the decoder's, as before the library.
  const whole = brotliCompressSync(new TextEncoder().encode('{"cmd":"X"}'.repeat(300)));
  const cut = whole.subarray(0, whole.length - 3);
  assert.equal(decompress(cut, MAX_DECOMPRESSED_BYTES), undefined);
  const { withLibrary, withNode } = bothWays(encodePacket(Op.message, cut, { ver: Ver.brotli }));
  assert.deepEqual(withLibrary, withNode);

  // The bound holds: 100 bytes asked for, 2,000 there; and for a bundle beyond the library's
  // first buffer, one byte short of its size.
  const small = brotliCompressSync(new Uint8Array(2000));
  assert.equal(decompress(small, 100), undefined);
  assert.equal(decompress(small, 2000)?.length, 2000);
  const big = new Uint8Array(LIBRARY_OUTPUT_BYTES + 1000).fill(0x78);
  assert.equal(decompress(brotliCompressSync(big), big.length - 1), undefined);
  const bomb = bothWays(
    encodePacket(Op.message, brotliCompressSync(new Uint8Array(MAX_DECOMPRESSED_BYTES + 1)), {
      ver: Ver.brotli,
    }),
  );
  assert.match(bomb.withLibrary.error ?? "", /decompresses to more than 16777216 bytes/);
  assert.deepEqual(bomb.withLibrary, bomb.withNode);
});

Deno.test("libbrotlidec decodes bundles beyond its first buffer itself, into a larger one it keeps", () => {
  // The simulator's busiest rooms send bundles of 4–6 MB; node:zlib decoded them again after
  // the library had filled its 4 MB (docs/benchmarks.md, sixth round).
  const choice = openBrotli("auto");
  const decompress = choice.decompress!;
  const big = "x".repeat(2 * LIBRARY_OUTPUT_BYTES + 1000);
  const bigBody = brotliCompressSync(new TextEncoder().encode(big));
  const decoded = decompress(bigBody, MAX_DECOMPRESSED_BYTES);
  assert.ok(decoded !== undefined, "the library declined a bundle larger than its first buffer");
  assert.deepEqual(decoded, new Uint8Array(brotliDecompressSync(bigBody)));
  // Smaller bundles after it still decode, into the buffer kept.
  const texts = ['{"cmd":"A"}', '{"cmd":"B"}'];
  const inner = concatBytes(texts.map((text) => encodePacket(Op.message, text, { ver: Ver.json })));
  assert.deepEqual(decompress(brotliCompressSync(inner), MAX_DECOMPRESSED_BYTES), inner);
  const large = bothWays(bundle([`{"cmd":"X","pad":"${big}"}`]));
  assert.equal(large.withLibrary.out.length, 1);
  assert.deepEqual(large.withLibrary, large.withNode);
  choice[Symbol.dispose]();
});

Deno.test("the library lends its buffer: bodies emitted as bytes are copies a later bundle leaves alone", () => {
  // One buffer serves every bundle; an op the decoder passes on as bytes (op 9 here) must keep
  // its own bytes once the next bundle has been decoded into the same place.
  const withOther = (fill: number) => {
    const inner = concatBytes([
      encodePacket(Op.message, '{"cmd":"A"}', { ver: Ver.json }),
      encodePacket(9, new Uint8Array(32).fill(fill)),
    ]);
    return encodePacket(Op.message, brotliCompressSync(inner), { ver: Ver.brotli });
  };
  const kept: Uint8Array[] = [];
  const keep = (message: ServerMessage) => {
    if (message.kind === "other") kept.push(message.body);
  };
  decodePacket(withOther(1), keep, 0, { brotli: library.decompress });
  decodePacket(withOther(2), keep, 0, { brotli: library.decompress });
  assert.deepEqual(kept, [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]);
});

Deno.test("a bundle inside a bundle decodes with the library as without it (it goes to node:zlib)", () => {
  // The inner bundle decodes to far more than the bytes before the outer's last message: had it
  // gone to the library's buffer, it would have overwritten that message before it was read.
  const texts = Array.from({ length: 400 }, (_, i) => `{"cmd":"INNER","i":${i}}`);
  const innerBundle = bundle(texts);
  const outer = concatBytes([
    encodePacket(Op.message, '{"cmd":"FIRST"}', { ver: Ver.json }),
    innerBundle,
    encodePacket(Op.message, '{"cmd":"LAST"}', { ver: Ver.json }),
  ]);
  const packet = encodePacket(Op.message, brotliCompressSync(outer), { ver: Ver.brotli });
  const { withLibrary, withNode } = bothWays(packet);
  assert.equal(withLibrary.error, undefined);
  assert.equal(withLibrary.out.length, 402);
  assert.deepEqual(withLibrary, withNode);
  assert.deepEqual((withLibrary.out.at(-1) as { body: unknown }).body, { cmd: "LAST" });
});

Deno.test("openBrotli() falls back to node:zlib with the reason; --brotli libbrotli where it cannot is a ConfigError", () => {
  const linux: BrotliPlatform = { ...DENO_BROTLI_PLATFORM, os: "linux", ffiGranted: () => true };
  const picked = (choice: ReturnType<typeof openBrotli>) => ({
    kind: choice.kind,
    reason: choice.reason,
  });
  assert.deepEqual(picked(openBrotli("node", linux)), { kind: "node", reason: "--brotli node" });
  assert.deepEqual(picked(openBrotli("auto", { ...linux, os: "windows" })), {
    kind: "node",
    reason: "no libbrotlidec name known for windows",
  });
  assert.deepEqual(picked(openBrotli("auto", { ...linux, ffiGranted: () => false })), {
    kind: "node",
    reason: "no FFI permission (--allow-ffi)",
  });
  const missing = {
    ...linux,
    open: () => {
      throw new Error("no libbrotlidec (libbrotlidec.so.1: cannot open shared object file)");
    },
  };
  assert.equal(openBrotli("auto", missing).kind, "node");
  assert.throws(() => openBrotli("libbrotli", missing), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      "Cannot use --brotli libbrotli: no libbrotlidec (libbrotlidec.so.1: cannot open shared object file)",
    );
    return true;
  });
});

Deno.test("a disposed library declines every bundle to node:zlib and closes once", () => {
  let closes = 0;
  let calls = 0;
  const platform: BrotliPlatform = {
    os: "linux",
    ffiGranted: () => true,
    open: () => ({
      decompress: () => (calls++, 0),
      close: () => void closes++,
    }),
  };
  const choice = openBrotli("libbrotli", platform);
  assert.equal(choice.kind, "libbrotli");
  assert.equal(choice.decompress!(new Uint8Array(4), 100), undefined); // the library said 0
  assert.equal(calls, 1);
  choice[Symbol.dispose]();
  choice[Symbol.dispose]();
  assert.equal(closes, 1);
  assert.equal(choice.decompress!(new Uint8Array(4), 100), undefined);
  assert.equal(calls, 1, "no call into a closed library");
});
