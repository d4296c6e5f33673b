import assert from "node:assert/strict";
import { brotliCompressSync, constants, deflateSync } from "node:zlib";
import { ProtocolError } from "../src/errors.ts";
import { encodePacket, Op, readHeader, Ver } from "../src/protocol/packet.ts";
import {
  decodeFrame,
  decodePacket,
  MAX_BUNDLE_DEPTH,
  MAX_DECOMPRESSED_BYTES,
  type ServerMessage,
} from "../src/protocol/packet_decoder.ts";
import { concatBytes, readSampleBin, readSampleJson, sampleBinNames } from "./support/samples.ts";

interface ExpectedPacket {
  pack_len: number;
  header_len: number;
  ver: number;
  op: number;
  seq: number;
  body_kind: string;
  json?: unknown;
  text?: string;
  popularity?: number;
  inner?: ExpectedPacket[];
}

function innermost(packets: ExpectedPacket[]): ExpectedPacket[] {
  return packets.flatMap((packet) => packet.inner ? innermost(packet.inner) : [packet]);
}

function decodeAll(frame: Uint8Array): ServerMessage[] {
  const out: ServerMessage[] = [];
  decodeFrame(frame, (message) => out.push(message));
  return out;
}

for (const name of sampleBinNames()) {
  Deno.test(`decodeFrame() decodes bin/${name}.bin exactly as its expected oracle`, () => {
    const bytes = readSampleBin(name);
    const expected = readSampleJson(`expected/${name}.json`) as { packets: ExpectedPacket[] };
    const outer = readHeader(bytes, 0);
    const first = expected.packets[0];
    assert.deepEqual(
      [outer.packetLength, outer.headerLength, outer.ver, outer.op, outer.seq],
      [first.pack_len, first.header_len, first.ver, first.op, first.seq],
    );
    const messages = decodeAll(bytes);
    const oracle = innermost(expected.packets);
    assert.equal(messages.length, oracle.length);
    messages.forEach((message, i) => {
      const want = oracle[i];
      assert.equal(message.ver, want.ver);
      assert.equal(message.seq, want.seq);
      switch (message.kind) {
        case "message":
        case "authReply":
          assert.equal(want.op, message.kind === "message" ? Op.message : Op.authReply);
          assert.deepEqual(message.body, want.json);
          break;
        case "heartbeatReply":
          assert.equal(want.op, Op.heartbeatReply);
          assert.equal(message.popularity, want.popularity);
          break;
        case "other":
          assert.equal(message.op, want.op);
          if (want.body_kind === "json") {
            assert.deepEqual(JSON.parse(new TextDecoder().decode(message.body)), want.json);
          } else assert.equal(new TextDecoder().decode(message.body), want.text);
      }
    });
  });
}

Deno.test("decodeFrame() stops at a heartbeat reply and ignores the echoed heartbeat body", () => {
  const frame = readSampleBin("heartbeat_reply_with_echo");
  assert.equal(frame.length, 35);
  const messages = decodeAll(frame);
  assert.deepEqual(messages, [{ kind: "heartbeatReply", ver: 1, seq: 0, popularity: 2466 }]);
});

Deno.test("decodeFrame() walks several packets in one frame", () => {
  const frame = concatBytes([readSampleBin("auth_reply_ver1"), readSampleBin("zlib_multi_8msgs")]);
  const kinds = decodeAll(frame).map((m) => m.kind);
  assert.deepEqual(kinds, ["authReply", ...Array(8).fill("message")]);
});

Deno.test("decodePacket() keeps the JSON text verbatim so integers beyond 2^53 survive", () => {
  const text = '{"cmd":"INTERACT_WORD","data":{"trigger_time":1637432008025155361}}';
  const out: ServerMessage[] = [];
  decodePacket(encodePacket(Op.message, text, { ver: Ver.json, seq: 0 }), (m) => out.push(m));
  assert.equal(out[0].kind === "message" && out[0].text, text);
});

function assertProtocolError(fn: () => void, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("decodePacket() rejects a brotli bomb without inflating it", () => {
  const zeros = new Uint8Array(MAX_DECOMPRESSED_BYTES + 1024 * 1024);
  const bomb = brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
  const packet = encodePacket(Op.message, bomb, { ver: Ver.brotli, seq: 0 });
  assertProtocolError(
    () => decodePacket(packet, () => {}, 100),
    /^Cannot decode brotli bundle at byte 100: it decompresses to more than 16777216 bytes$/,
  );
});

Deno.test("decodePacket() rejects bundles nested deeper than the bound", () => {
  let packet = encodePacket(Op.message, '{"cmd":"X"}', { ver: Ver.json, seq: 0 });
  for (let i = 0; i <= MAX_BUNDLE_DEPTH; i++) {
    packet = encodePacket(Op.message, deflateSync(packet), { ver: Ver.zlib, seq: 0 });
  }
  assertProtocolError(() => decodePacket(packet, () => {}), /nest deeper than 4 levels/);
});

Deno.test("decodePacket() accepts the deepest allowed nesting", () => {
  let packet = encodePacket(Op.message, '{"cmd":"X"}', { ver: Ver.json, seq: 0 });
  for (let i = 0; i < MAX_BUNDLE_DEPTH; i++) {
    packet = encodePacket(Op.message, deflateSync(packet), { ver: Ver.zlib, seq: 0 });
  }
  const out: ServerMessage[] = [];
  decodePacket(packet, (m) => out.push(m));
  assert.equal(out.length, 1);
});

Deno.test("decodePacket() names the inner byte of a broken packet inside a bundle", () => {
  const inner = concatBytes([
    encodePacket(Op.message, '{"cmd":"A"}', { ver: 0, seq: 0 }),
    new Uint8Array([0, 0, 0, 8, 0, 16, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]),
  ]);
  const packet = encodePacket(Op.message, deflateSync(inner), { ver: Ver.zlib, seq: 0 });
  assertProtocolError(
    () => decodePacket(packet, () => {}, 40),
    /^Cannot decode packet at byte 40 \(inner byte 27\): pack_len 8 is below its header length 16$/,
  );
});

Deno.test("decodePacket() rejects invalid JSON, a short heartbeat reply and an unknown op-5 version", () => {
  assertProtocolError(
    () => decodePacket(encodePacket(Op.message, "{oops", { ver: 0 }), () => {}),
    /^Cannot parse JSON body of packet at byte 0: /,
  );
  assertProtocolError(
    () => decodePacket(encodePacket(Op.heartbeatReply, new Uint8Array(2)), () => {}),
    /body has 2 bytes, expected 4/,
  );
  assertProtocolError(
    () => decodePacket(encodePacket(Op.message, "{}", { ver: 9 }), () => {}),
    /unknown protocol version 9 for op 5/,
  );
  assertProtocolError(
    () =>
      decodePacket(
        encodePacket(Op.message, new Uint8Array([1, 2, 3]), { ver: Ver.zlib }),
        () => {},
      ),
    /^Cannot decode zlib bundle at byte 0: it is not valid zlib data/,
  );
});
