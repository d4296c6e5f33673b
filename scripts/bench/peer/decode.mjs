// Peer decode pass for `deno task bench` (decode suite): bilibili-live-ws's own TCP framing
// (LiveTCPBase.prototype.splitBuffer) and decoder (makeDecoder with its Node inflates) over a
// recorded server stream fed in 4 KB reads, as a socket would deliver it.
// Usage: PEER_DIR=.bench/peer node decode.mjs STREAM_FILE
// Each stdin line runs one pass and prints {"messages":N,"cpu_s":S}; end of input exits.
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import { createInterface } from "node:readline";

const require = createRequire(`${process.env.PEER_DIR}/package.json`);
const { makeDecoder } = require("bilibili-live-ws/src/buffer.js");
const { inflates } = require("bilibili-live-ws/src/inflate/node.js");
const { LiveTCPBase } = require("bilibili-live-ws/src/tcp.js");

const stream = readFileSync(process.argv[2]);
const decode = makeDecoder(inflates);

async function pass() {
  let messages = 0;
  let pending = [];
  // Stands in for a LiveTCP: splitBuffer() reads `buffer` and `i`, and emits each packet.
  const framer = {
    buffer: Buffer.alloc(0),
    i: 0,
    emit(_event, packet) {
      pending.push(
        decode(packet).then((packs) => {
          for (const pack of packs) if (pack.type === "message") messages++;
        }),
      );
    },
  };
  const start = process.cpuUsage();
  for (let offset = 0; offset < stream.length; offset += 4096) {
    // LiveTCP's 'data' handler: append the read, then cut whole packets.
    framer.buffer = Buffer.concat([framer.buffer, stream.subarray(offset, offset + 4096)]);
    LiveTCPBase.prototype.splitBuffer.call(framer);
    await Promise.all(pending);
    pending = [];
  }
  const cpu = process.cpuUsage(start);
  return { messages, cpu_s: (cpu.user + cpu.system) / 1e6 };
}

for await (const _line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify(await pass())}\n`);
}
