/**
 * Records a real server stream from the simulator: one raw TCP client per room (protover 3,
 * brotli bundles), bytes kept exactly as received, cut at the last whole packet, the rooms'
 * streams concatenated. The decode suite feeds the same bytes to ours and to the peer.
 */
import {
  encodeAuthPacket,
  encodeHeartbeatPacket,
  readHeader,
  webAuthBody,
} from "../../src/protocol/packet.ts";
import { BENCH_BUVID, danmuTokens, roomIds, sleep, startChild } from "./processes.ts";

/** What to record. */
export interface RecordOptions {
  rooms: number;
  /** Mean op-5 messages/s per room (Zipf-spread by the simulator). */
  rate: number;
  seconds: number;
}

async function recordRoom(
  tcp: Deno.ConnectOptions,
  roomid: number,
  key: string,
  until: Promise<void>,
): Promise<Uint8Array> {
  using conn = await Deno.connect(tcp);
  for (
    const packet of [
      encodeAuthPacket(webAuthBody(0, roomid, key, BENCH_BUVID)),
      encodeHeartbeatPacket(),
    ]
  ) {
    for (let rest = packet; rest.length > 0;) rest = rest.subarray(await conn.write(rest));
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  let stop = false;
  until.then(() => stop = true);
  const buffer = new Uint8Array(64 * 1024);
  while (!stop) {
    const n = await Promise.race([conn.read(buffer), until.then(() => null)]);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    size += n;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  // Keep whole packets only.
  let end = 0;
  while (bytes.length - end >= 16 && readHeader(bytes, end).packetLength <= bytes.length - end) {
    end += readHeader(bytes, end).packetLength;
  }
  return bytes.subarray(0, end);
}

/** Records `seconds` of traffic from `rooms` busy simulator rooms; returns the stream bytes. */
export async function recordSimulatorStream(options: RecordOptions): Promise<Uint8Array> {
  const sim = await startChild([
    "--rooms",
    String(options.rooms),
    "--rate",
    String(options.rate),
    "--seed",
    "bench-record",
    "--live-minutes",
    "100000",
    "--offline-minutes",
    "0.01",
  ]);
  try {
    await sleep(300); // every room goes live within the first ticks
    const ids = await roomIds(sim.api, options.rooms);
    const tokens = await danmuTokens(sim.api, ids);
    const until = sleep(options.seconds * 1000);
    const streams = await Promise.all(
      ids.map((id) => recordRoom(sim.tcp, id, tokens.get(id)!, until)),
    );
    const out = new Uint8Array(streams.reduce((n, s) => n + s.length, 0));
    let offset = 0;
    for (const stream of streams) {
      out.set(stream, offset);
      offset += stream.length;
    }
    return out;
  } finally {
    await sim.stop();
  }
}
