import assert from "node:assert/strict";
import { brotliCompressSync, deflateSync } from "node:zlib";
import { ProtocolError } from "../src/errors.ts";
import {
  type ByteSource,
  byteSourceFromStream,
  PacketSplitter,
  readPackets,
} from "../src/protocol/frame_reader.ts";
import { encodePacket, Op, Ver } from "../src/protocol/packet.ts";
import { decodePacket, type ServerMessage } from "../src/protocol/packet_decoder.ts";
import { chunkedSource, concatBytes, readSampleBin, seededRandom } from "./support/samples.ts";

/** Every server sample except the WebSocket-only echo frame, as one TCP stream. */
const serverStream = concatBytes(
  [
    "auth_reply_ver1",
    "brotli_watched_change",
    "heartbeat_reply_ver0",
    "zlib_multi_8msgs",
    "brotli_danmu_msg",
    "auth_reply_ver0",
    "brotli_interact_word",
    "zlib_interact_word_x2",
  ].map(readSampleBin),
);

async function decodeStream(source: ByteSource, bufferSize?: number): Promise<ServerMessage[]> {
  const out: ServerMessage[] = [];
  await readPackets(source, (packet, offset) => decodePacket(packet, (m) => out.push(m), offset), {
    bufferSize,
  });
  return out;
}

const reference = await decodeStream(chunkedSource(serverStream, [serverStream.length]));

Deno.test("readPackets() decodes the sample stream into 15 messages in order", () => {
  assert.deepEqual(reference.map((m) => m.kind), [
    "authReply",
    "message",
    "heartbeatReply",
    ...Array(8).fill("message"),
    "message",
    "authReply",
    "message",
    "message",
    "message",
  ]);
});

Deno.test("readPackets() gives identical results for the stream split at every byte boundary", async () => {
  for (let split = 1; split < serverStream.length; split++) {
    const messages = await decodeStream(chunkedSource(serverStream, [split, serverStream.length]));
    assert.deepEqual(messages, reference, `split at byte ${split}`);
  }
});

Deno.test("readPackets() gives identical results for one-byte reads and random read sizes", async () => {
  assert.deepEqual(await decodeStream(chunkedSource(serverStream, [1])), reference);
  const random = seededRandom(7);
  for (let round = 0; round < 200; round++) {
    const source = chunkedSource(serverStream, () => 1 + Math.floor(random() * 600));
    assert.deepEqual(await decodeStream(source, 16 + Math.floor(random() * 300)), reference);
  }
});

Deno.test("readPackets() grows past its buffer for a large packet and shrinks back", async () => {
  const big = encodePacket(Op.message, JSON.stringify({ cmd: "BIG", pad: "x".repeat(100_000) }), {
    ver: Ver.json,
  });
  const stream = concatBytes([big, readSampleBin("auth_reply_ver0")]);
  const messages = await decodeStream(chunkedSource(stream, [1000]), 4096);
  assert.deepEqual(messages.map((m) => m.kind), ["message", "authReply"]);
});

async function assertStreamError(bytes: Uint8Array, pattern: RegExp, offset: number) {
  await assert.rejects(decodeStream(chunkedSource(bytes, [7])), (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${error}`);
    assert.match(error.message, pattern);
    assert.equal(error.offset, offset);
    return true;
  });
}

Deno.test("readPackets() rejects a 2 GiB pack_len before allocating anything", async () => {
  const header = new Uint8Array([0x80, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]);
  await assertStreamError(
    concatBytes([readSampleBin("auth_reply_ver0"), header]),
    /^Cannot decode packet at byte 26: pack_len 2147483648 exceeds the maximum of 16777216$/,
    26,
  );
});

Deno.test("readPackets() rejects header lengths below 16 and zero-length packets", async () => {
  await assertStreamError(
    new Uint8Array([0, 0, 0, 20, 0, 4, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1, 2, 3, 4]),
    /header length 4 is below 16/,
    0,
  );
  await assertStreamError(new Uint8Array(16), /header length 0 is below 16/, 0);
});

Deno.test("readPackets() reports a stream that ends inside a packet", async () => {
  const truncated = serverStream.subarray(0, serverStream.length - 5);
  await assertStreamError(truncated, /the stream ended 430 bytes into a 435-byte packet$/, 2172);
});

Deno.test("readPackets() hands a trailing heartbeat echo to onHeartbeatEcho when asked", async () => {
  const frame = readSampleBin("heartbeat_reply_with_echo");
  const echoes: [string, number][] = [];
  const out: ServerMessage[] = [];
  await readPackets(chunkedSource(frame, [3]), (p) => decodePacket(p, (m) => out.push(m)), {
    onHeartbeatEcho: (bytes, offset) => echoes.push([new TextDecoder().decode(bytes), offset]),
  });
  assert.deepEqual(echoes, [["[object Object]", 20]]);
  assert.equal(out.length, 1);
  await assertStreamError(frame, /the stream ended 15 bytes into a header/, 20);
});

Deno.test("byteSourceFromStream() adapts a ReadableStream", async () => {
  const stream = ReadableStream.from([serverStream.subarray(0, 100), serverStream.subarray(100)]);
  using source = byteSourceFromStream(stream);
  assert.deepEqual(await decodeStream(source), reference);
});

/** Random and mutated inputs must only ever yield messages or a ProtocolError. */
Deno.test("readPackets() survives 5,000 fuzzed inputs with only messages or ProtocolError", async () => {
  const random = seededRandom(2026);
  const bundle = (inner: Uint8Array, ver: number) =>
    encodePacket(Op.message, ver === Ver.zlib ? deflateSync(inner) : brotliCompressSync(inner), {
      ver,
      seq: 0,
    });
  const seeds = [serverStream, bundle(serverStream, Ver.brotli), bundle(serverStream, Ver.zlib)];
  let protocolErrors = 0;
  for (let round = 0; round < 5000; round++) {
    let input: Uint8Array;
    const choice = random();
    if (choice < 0.2) {
      input = Uint8Array.from(
        { length: Math.floor(random() * 200) },
        () => Math.floor(random() * 256),
      );
    } else {
      input = seeds[Math.floor(random() * seeds.length)].slice();
      const mutations = 1 + Math.floor(random() * 4);
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(random() * input.length);
        const kind = random();
        if (kind < 0.5) input[at] ^= 1 << Math.floor(random() * 8);
        else if (kind < 0.7) input[at] = Math.floor(random() * 256);
        else if (kind < 0.85) input = input.subarray(0, at);
        else {input = concatBytes([
            input.subarray(0, at),
            new Uint8Array([random() * 256]),
            input.subarray(at),
          ]);}
      }
    }
    try {
      await decodeStream(chunkedSource(input, () => 1 + Math.floor(random() * 64)));
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        throw new Error(`round ${round}: unexpected ${error}`, { cause: error });
      }
      protocolErrors++;
    }
  }
  assert.ok(protocolErrors > 1000, `only ${protocolErrors} inputs were rejected`);
});

Deno.test("readPackets() with idleBufferSize reads small while quiet, 4 KB once a read fills the buffer, and shrinks back", async () => {
  const small = readSampleBin("heartbeat_reply_ver0");
  const bulk = concatBytes(Array(400).fill(small)); // 400 × 20 bytes, delivered in big reads
  const sizes: number[] = [];
  const chunks = [
    small,
    small,
    bulk.subarray(0, 4000),
    bulk.subarray(4000),
    ...Array(12).fill(small),
  ];
  const source: ByteSource = {
    read(target) {
      sizes.push(target.length);
      const chunk = chunks.shift();
      if (!chunk) return Promise.resolve(null);
      // A socket hands over at most what fits; the rest waits for the next read.
      const count = Math.min(target.length, chunk.length);
      target.set(chunk.subarray(0, count));
      if (count < chunk.length) chunks.unshift(chunk.subarray(count));
      return Promise.resolve(count);
    },
  };
  let packets = 0;
  await readPackets(source, () => packets++, { bufferSize: 4096, idleBufferSize: 512 });
  assert.equal(packets, 2 + 400 + 12);
  assert.equal(sizes[0], 512, "a new connection reads into 512 bytes");
  assert.equal(sizes[1], 512, "small reads keep the small buffer");
  assert.ok(Math.max(...sizes) >= 4000, `a read that filled the buffer grows it: ${sizes}`);
  assert.equal(sizes.at(-1), 512, `eight small reads in a row shrink it back: ${sizes}`);
});

/** Pushes `stream` through a PacketSplitter in chunks of `sizes`; the messages, or the error. */
function splitStream(stream: Uint8Array, sizes: () => number): ServerMessage[] {
  const out: ServerMessage[] = [];
  const splitter = new PacketSplitter((packet, offset) =>
    decodePacket(packet, (m) => out.push(m), offset)
  );
  for (let at = 0; at < stream.length;) {
    const size = Math.max(1, Math.min(sizes(), stream.length - at));
    // A shared read buffer: each chunk is overwritten once pushed.
    const shared = stream.slice(at, at + size);
    splitter.push(shared);
    shared.fill(0xee);
    at += size;
  }
  splitter.end();
  return out;
}

Deno.test("PacketSplitter gives the same messages as readPackets() for every split point and random chunk sizes", () => {
  for (let split = 1; split < serverStream.length; split++) {
    let first = true;
    const sizes = () => first ? (first = false, split) : serverStream.length;
    assert.deepEqual(splitStream(serverStream, sizes), reference, `split at byte ${split}`);
  }
  assert.deepEqual(splitStream(serverStream, () => 1), reference);
  const random = seededRandom(11);
  for (let round = 0; round < 200; round++) {
    assert.deepEqual(splitStream(serverStream, () => 1 + Math.floor(random() * 600)), reference);
  }
});

Deno.test("PacketSplitter hands a packet larger than one 64 KB push over whole and then holds nothing", () => {
  const big = encodePacket(Op.message, JSON.stringify({ cmd: "BIG", pad: "x".repeat(150_000) }), {
    ver: Ver.json,
  });
  const stream = concatBytes([
    readSampleBin("auth_reply_ver0"),
    big,
    readSampleBin("auth_reply_ver0"),
  ]);
  const packets: number[] = [];
  const splitter = new PacketSplitter((packet) => packets.push(packet.length));
  const held: number[] = [];
  for (let at = 0; at < stream.length; at += 65536) {
    splitter.push(stream.slice(at, at + 65536));
    held.push(splitter.pending);
  }
  splitter.end();
  assert.deepEqual(packets, [26, big.length, 26]);
  assert.ok(held.slice(0, -1).every((n) => n > 0 && n < big.length), `held ${held}`);
  assert.equal(splitter.pending, 0);
});

Deno.test("PacketSplitter and readPackets() report the same error and offset for every bad stream of the fuzz", async () => {
  const random = seededRandom(99);
  let errors = 0;
  for (let round = 0; round < 2000; round++) {
    const input = serverStream.slice(0, Math.floor(random() * serverStream.length));
    for (let m = 0; m < 3; m++) input[Math.floor(random() * input.length)] ^= 0x80;
    let expected: unknown;
    let messages: ServerMessage[] = [];
    try {
      messages = await decodeStream(chunkedSource(input, [input.length || 1]));
    } catch (error) {
      expected = error;
    }
    let actual: unknown;
    let pushed: ServerMessage[] = [];
    try {
      pushed = splitStream(input, () => 1 + Math.floor(random() * 300));
    } catch (error) {
      actual = error;
    }
    if (expected instanceof ProtocolError) {
      errors++;
      assert.ok(actual instanceof ProtocolError, `round ${round}: expected ${expected}`);
      assert.equal(actual.message, expected.message);
      assert.equal(actual.offset, expected.offset);
    } else {
      assert.equal(actual, undefined, `round ${round}`);
      assert.deepEqual(pushed, messages);
    }
  }
  assert.ok(errors > 500, `only ${errors} streams were bad`);
});

Deno.test("PacketSplitter rejects a 2 GiB pack_len, whole or cut, before allocating it", () => {
  const header = new Uint8Array([0x80, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]);
  const stream = concatBytes([readSampleBin("auth_reply_ver0"), header]);
  for (const sizes of [[stream.length], [30, 100], [26, 3, 100]]) {
    const splitter = new PacketSplitter(() => {});
    assert.throws(
      () => {
        for (let at = 0, i = 0; at < stream.length; at += sizes[i++]) {
          splitter.push(stream.subarray(at, at + sizes[i]));
        }
      },
      /^ProtocolError: Cannot decode packet at byte 26: pack_len 2147483648 exceeds the maximum of 16777216$/,
    );
    assert.ok(splitter.pending <= 16, `held ${splitter.pending} bytes`);
  }
});

Deno.test("PacketSplitter.end() reports a stream that ends inside a header or a packet", () => {
  const splitter = new PacketSplitter(() => {});
  splitter.push(serverStream.subarray(0, serverStream.length - 5));
  assert.equal(splitter.pending, 430);
  assert.throws(
    () => splitter.end(),
    /^ProtocolError: Cannot decode packet at byte 2172: the stream ended 430 bytes into a 435-byte packet$/,
  );
  const header = new PacketSplitter(() => {});
  header.push(serverStream.subarray(0, 30));
  assert.throws(() => header.end(), /byte 26: the stream ended 4 bytes into a header$/);
});
