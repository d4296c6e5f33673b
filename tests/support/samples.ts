/** Access to the protocol fixtures in tests/fixtures/protocol-samples (real packets, decode oracles). */

/** Folder of the conformance fixtures. */
export const SAMPLES_DIR = new URL("../fixtures/protocol-samples/", import.meta.url);

/** Reads `bin/NAME.bin`. */
export function readSampleBin(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`bin/${name}.bin`, SAMPLES_DIR));
}

/** Reads and parses a JSON fixture, e.g. `expected/NAME.json` or `json/NAME.json`. */
export function readSampleJson(path: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(path, SAMPLES_DIR)));
}

/**
 * The 2024 DANMU_MSG sample as text (wire key order) with `edit` applied to it and to its parsed
 * `extra` (written back as a string).
 */
export function sample2024(
  edit: (body: { info: unknown[] }, extra: Record<string, unknown>) => void,
): string {
  const body = structuredClone(readSampleJson("json/danmu_msg_2024.json")) as { info: unknown[] };
  const modeInfo = (body.info[0] as unknown[])[15] as { extra: string };
  const extra = JSON.parse(modeInfo.extra);
  edit(body, extra);
  modeInfo.extra = JSON.stringify(extra);
  return JSON.stringify(body);
}

/** Names (without extension) of every `bin/*.bin` sample. */
export function sampleBinNames(): string[] {
  return [...Deno.readDirSync(new URL("bin/", SAMPLES_DIR))]
    .filter((entry) => entry.name.endsWith(".bin"))
    .map((entry) => entry.name.slice(0, -4))
    .sort();
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A deterministic PRNG (mulberry32) for fuzzing and splitting. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A ByteSource that hands out `bytes` in chunks of the given sizes (the last size repeats). */
export function chunkedSource(bytes: Uint8Array, sizes: number[] | (() => number)) {
  let offset = 0;
  let index = 0;
  return {
    read(target: Uint8Array): Promise<number | null> {
      if (offset >= bytes.length) return Promise.resolve(null);
      const want = typeof sizes === "function"
        ? sizes()
        : sizes[Math.min(index++, sizes.length - 1)];
      const count = Math.max(1, Math.min(want, target.length, bytes.length - offset));
      target.set(bytes.subarray(offset, offset + count));
      offset += count;
      return Promise.resolve(count);
    },
  };
}
