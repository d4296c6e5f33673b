/**
 * Decode suite: messages per CPU-second decoding one recorded simulator stream (brotli bundles
 * of realistic messages, fed in 4 KB reads) to message objects, by ours (stream reader + packet
 * decoder, in this process; bundles through libbrotlidec as `collect` does by default, and
 * through node:zlib), by the raw limit of the same work done by hand (node:zlib's brotli
 * decompress + JSON.parse per inner packet) and by the peer, bilibili-live-ws's own framing and
 * decoder in Node. Rounds alternate ours, raw and peer; figures are medians.
 */
import { cpuUsage } from "node:process";
import { brotliDecompressSync, inflateSync } from "node:zlib";
import { readPackets } from "../../src/protocol/frame_reader.ts";
import { Op, readHeader, Ver } from "../../src/protocol/packet.ts";
import {
  type BodyDecoding,
  decodePacket,
  PLAIN_DECODING,
} from "../../src/protocol/packet_decoder.ts";
import { openBrotli } from "../../src/protocol/brotli.ts";
import { PeerProcess, preparePeer } from "./peer.ts";
import { median } from "./processes.ts";
import { recordSimulatorStream } from "./recording.ts";

/** Options every suite takes. */
export interface SuiteOptions {
  quick: boolean;
  log: (line: string) => void;
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

async function oursOnce(
  stream: Uint8Array,
  decoding: BodyDecoding,
): Promise<{ messages: number; cpu: number }> {
  let messages = 0;
  const start = cpuSeconds();
  await readPackets(memorySource(stream), (packet, offset) =>
    decodePacket(
      packet,
      (message) => {
        if (message.kind === "message") messages++;
      },
      offset,
      decoding,
    ));
  return { messages, cpu: cpuSeconds() - start };
}

const utf8 = new TextDecoder();

/** Counts the op-5 messages of the whole packets in `bytes`: parses JSON, unwraps bundles. */
function rawPackets(bytes: Uint8Array): number {
  let messages = 0;
  for (let offset = 0; offset < bytes.length;) {
    const { packetLength, headerLength, ver, op } = readHeader(bytes, offset);
    const body = bytes.subarray(offset + headerLength, offset + packetLength);
    if (ver === Ver.brotli) messages += rawPackets(brotliDecompressSync(body));
    else if (ver === Ver.zlib) messages += rawPackets(inflateSync(body));
    else if (op === Op.message) {
      JSON.parse(utf8.decode(body));
      messages++;
    }
    offset += packetLength;
  }
  return messages;
}

function rawOnce(stream: Uint8Array): { messages: number; cpu: number } {
  const start = cpuSeconds();
  const messages = rawPackets(stream);
  return { messages, cpu: cpuSeconds() - start };
}

/** Runs the decode suite; ours, the raw limit and the peer alternate so noise hits all three. */
export async function decodeSuite(options: SuiteOptions): Promise<Record<string, number>> {
  const stream = await recordSimulatorStream({
    rooms: 20,
    rate: 500,
    seconds: options.quick ? 2 : 8,
  });
  const messages = rawOnce(stream).messages;
  options.log(`decode: recorded ${messages} messages in ${stream.length} bytes from the simulator`);
  const peer = await preparePeer(options.log);
  const dir = await Deno.makeTempDir({ prefix: "bench-decode-" });
  try {
    await Deno.writeFile(`${dir}/stream.bin`, stream);
    // UV_THREADPOOL_SIZE=1: the peer's async brotli runs on one pool thread, not on four.
    await using peerProcess = peer &&
      new PeerProcess(peer, "decode.mjs", [`${dir}/stream.bin`], { UV_THREADPOOL_SIZE: "1" });
    // Ours as `collect` decodes by default (`--brotli auto`: libbrotlidec where it opens), and
    // with node:zlib for bundles as before 2026-12-03 (and as the raw limit does).
    using brotli = openBrotli("auto");
    const collectDecoding: BodyDecoding = { brotli: brotli.decompress };
    const ours: number[] = [];
    const oursNodeZlib: number[] = [];
    const raw: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < (options.quick ? 3 : 7); round++) {
      const a = await oursOnce(stream, collectDecoding);
      const z = await oursOnce(stream, PLAIN_DECODING);
      const b = rawOnce(stream);
      const c = peerProcess && await peerProcess.ask("pass");
      for (
        const [who, got] of [
          ["ours", a.messages],
          ["ours (node:zlib)", z.messages],
          ["raw", b.messages],
          ["peer", c?.messages],
        ]
      ) {
        if (got !== undefined && got !== messages) {
          throw new Error(`Decode suite: ${who} decoded ${got} messages, expected ${messages}`);
        }
      }
      ours.push(a.messages / a.cpu);
      oursNodeZlib.push(z.messages / z.cpu);
      raw.push(b.messages / b.cpu);
      if (c) theirs.push(c.messages / c.cpu_s);
    }
    const results: Record<string, number> = {
      "decode.messages": messages,
      "decode.ours_libbrotli": brotli.kind === "libbrotli" ? 1 : 0,
      "decode.ours_msgs_per_cpu_s": Math.round(median(ours)),
      "decode.ours_node_zlib_msgs_per_cpu_s": Math.round(median(oursNodeZlib)),
      "decode.raw_limit_msgs_per_cpu_s": Math.round(median(raw)),
    };
    if (theirs.length > 0) {
      results["decode.peer_msgs_per_cpu_s"] = Math.round(median(theirs));
      results["decode.ours_vs_peer"] = Number((median(ours) / median(theirs)).toFixed(2));
      results["decode.ours_node_zlib_vs_peer"] = Number(
        (median(oursNodeZlib) / median(theirs)).toFixed(2),
      );
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
