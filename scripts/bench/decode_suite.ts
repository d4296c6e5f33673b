/**
 * Decode suite: messages per CPU-second decoding brotli bundles of DANMU_MSG-sized bodies
 * through the stream reader and the packet decoder, against the raw limit of the same work
 * done by hand (brotliDecompressSync + JSON.parse per inner packet).
 */
import { cpuUsage } from "node:process";
import { brotliCompressSync, brotliDecompressSync } from "node:zlib";
import { readPackets } from "../../src/protocol/frame_reader.ts";
import { encodePacket, Op, Ver } from "../../src/protocol/packet.ts";
import { decodePacket } from "../../src/protocol/packet_decoder.ts";

/** Options every suite takes. */
export interface SuiteOptions {
  quick: boolean;
  log: (line: string) => void;
}

const SAMPLE = new URL(
  "../../../shared/protocol-samples/json/danmu_msg_2024.json",
  import.meta.url,
);

/** Builds a server stream of `bundles` brotli bundles holding `perBundle` danmaku each. */
export function buildDanmakuStream(
  bundles: number,
  perBundle: number,
): { stream: Uint8Array; messages: number } {
  const template = JSON.parse(Deno.readTextFileSync(SAMPLE)) as { info: unknown[] };
  const parts: Uint8Array[] = [];
  let serial = 0;
  for (let b = 0; b < bundles; b++) {
    const inner: Uint8Array[] = [];
    for (let i = 0; i < perBundle; i++) {
      template.info[1] = `弹幕 ${serial++} hello, "world" 🎉`;
      inner.push(encodePacket(Op.message, JSON.stringify(template), { ver: Ver.json, seq: 0 }));
    }
    parts.push(
      encodePacket(Op.message, brotliCompressSync(concat(inner)), { ver: Ver.brotli, seq: 0 }),
    );
  }
  return { stream: concat(parts), messages: bundles * perBundle };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function cpuSeconds(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6;
}

/** Feeds `stream` in 4 KB reads, as a TCP socket would. */
function memorySource(stream: Uint8Array) {
  let offset = 0;
  return {
    read(target: Uint8Array): Promise<number | null> {
      if (offset >= stream.length) return Promise.resolve(null);
      const count = Math.min(target.length, stream.length - offset, 4096);
      target.set(stream.subarray(offset, offset + count));
      offset += count;
      return Promise.resolve(count);
    },
  };
}

async function oursOnce(stream: Uint8Array): Promise<{ messages: number; cpu: number }> {
  let messages = 0;
  const start = cpuSeconds();
  await readPackets(memorySource(stream), (packet, offset) =>
    decodePacket(packet, () => {
      messages++;
    }, offset));
  return { messages, cpu: cpuSeconds() - start };
}

function rawOnce(stream: Uint8Array): { messages: number; cpu: number } {
  const utf8 = new TextDecoder();
  let messages = 0;
  const start = cpuSeconds();
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  for (let offset = 0; offset < stream.length;) {
    const length = view.getUint32(offset);
    const inner = brotliDecompressSync(stream.subarray(offset + 16, offset + length));
    const innerView = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
    for (let i = 0; i < inner.length;) {
      const innerLength = innerView.getUint32(i);
      JSON.parse(utf8.decode(inner.subarray(i + 16, i + innerLength)));
      messages++;
      i += innerLength;
    }
    offset += length;
  }
  return { messages, cpu: cpuSeconds() - start };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs the decode suite; ours and the raw limit alternate so noise hits both. */
export async function decodeSuite(options: SuiteOptions): Promise<Record<string, number>> {
  const { stream, messages } = buildDanmakuStream(options.quick ? 2_000 : 10_000, 10);
  options.log(`decode: ${messages} DANMU_MSG in ${stream.length} bytes of brotli bundles`);
  const ours: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < (options.quick ? 3 : 7); round++) {
    const a = await oursOnce(stream);
    const b = rawOnce(stream);
    if (a.messages !== messages || b.messages !== messages) {
      throw new Error("decode suite lost messages");
    }
    ours.push(a.messages / a.cpu);
    raw.push(b.messages / b.cpu);
  }
  return {
    "decode.ours_msgs_per_cpu_s": Math.round(median(ours)),
    "decode.raw_limit_msgs_per_cpu_s": Math.round(median(raw)),
  };
}
