import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ProtoMessage, ProtoWriter, readProtoFields } from "../src/protocol/protobuf.ts";

const samples = new URL("./fixtures/protocol-samples/", import.meta.url);

Deno.test("ProtoWriter output reads back field by field through ProtoMessage", () => {
  const bytes = new ProtoWriter()
    .varint(1, 26928797)
    .bytes(2, "橘枳橼 🍊")
    .packed(4, [3, 1, 300])
    .varint(15, 1775828914866319270n)
    .varint(21, true)
    .bytes(22, new ProtoWriter().varint(1, 7).bytes(2, new ProtoWriter().bytes(1, "name")))
    .finish();
  const m = new ProtoMessage(bytes);
  assert.equal(m.number(1), 26928797);
  assert.equal(m.string(2), "橘枳橼 🍊");
  assert.deepEqual(m.numbers(4), [3, 1, 300]);
  assert.equal(m.bigint(15), 1775828914866319270n);
  assert.equal(m.number(21), 1);
  assert.equal(m.message(22)?.message(2)?.string(1), "name");
  assert.equal(m.string(99), "");
});

Deno.test("ProtoMessage decodes the real INTERACT_WORD_V2 data.pb as the expected oracle says", async () => {
  const sample = JSON.parse(
    await Deno.readTextFile(new URL("json/interact_word_v2_2026.json", samples)),
  );
  const expected = JSON.parse(
    await Deno.readTextFile(new URL("expected/interact_word_v2_pb.json", samples)),
  );
  const bytes = new Uint8Array(Buffer.from(sample.data.pb, "base64"));
  const fields = readProtoFields(bytes);
  assert.deepEqual(
    fields.map((f) => f.field),
    expected.top_level_fields.map((f: { field: number }) => f.field),
  );
  const m = new ProtoMessage(bytes);
  const want = expected.interpreted;
  assert.equal(m.number(1), want["uid(1)"]);
  assert.equal(m.string(2), want["uname(2)"]);
  assert.deepEqual(m.numbers(4), want["identities(4, packed varints)"]);
  assert.equal(m.number(5), want["msg_type(5)"]);
  assert.equal(m.number(6), want["roomid(6)"]);
  assert.equal(m.number(7), want["timestamp(7)"]);
  assert.equal(m.number(8), want["score(8)"]);
  assert.equal(m.bigint(15), 1775828914866319270n);
  assert.equal(m.message(9)?.string(3), want["fans_medal(9).medal_name(3)"]);
  assert.equal(m.message(9)?.number(2), want["fans_medal(9).medal_level(2)"]);
  const uinfo = m.message(22);
  assert.equal(uinfo?.number(1), want["uinfo(22).uid(1)"]);
  assert.equal(uinfo?.message(2)?.string(1), want["uinfo(22).base(2).name(1)"]);
  assert.equal(uinfo?.message(2)?.string(2), want["uinfo(22).base(2).face(2)"]);
});

Deno.test("ProtoMessage gives every wire type alike through fields and by number", () => {
  const nested = new ProtoWriter().bytes(1, "a");
  const head = new ProtoWriter()
    .varint(1, 300)
    .varint(2, 2n ** 60n + 5n)
    .bytes(5, "名字")
    .bytes(6, nested)
    .bytes(6, new ProtoWriter().bytes(1, "b"))
    .bytes(6, new ProtoWriter().bytes(1, "c"))
    .finish();
  // fixed32 field 3 = 7, fixed64 field 4 = 2^63 + 1 (ProtoWriter writes neither).
  const fixed = new Uint8Array([(3 << 3) | 5, 7, 0, 0, 0, (4 << 3) | 1, 1, 0, 0, 0, 0, 0, 0, 0x80]);
  const bytes = new Uint8Array([...head, ...fixed]);
  const m = new ProtoMessage(bytes);
  assert.deepEqual(
    m.fields.map((f) => [f.field, f.wire, f.value instanceof Uint8Array ? [...f.value] : f.value]),
    [
      [1, 0, 300n],
      [2, 0, 2n ** 60n + 5n],
      [5, 2, [...new TextEncoder().encode("名字")]],
      [6, 2, [...nested.finish()]],
      [6, 2, [...new ProtoWriter().bytes(1, "b").finish()]],
      [6, 2, [...new ProtoWriter().bytes(1, "c").finish()]],
      [3, 5, 7],
      [4, 1, 2n ** 63n + 1n],
    ],
  );
  assert.deepEqual(readProtoFields(bytes), m.fields);
  assert.equal(m.number(1), 300);
  assert.equal(m.bigint(1), 300n);
  assert.equal(m.bigint(2), 2n ** 60n + 5n);
  assert.equal(m.number(3), 7);
  assert.equal(m.bigint(4), 2n ** 63n + 1n);
  assert.equal(m.string(5), "名字");
  assert.equal(m.number(5), 0);
  assert.equal(m.message(6)?.string(1), "c");
  assert.deepEqual(m.messages(6, 2).map((x) => x.string(1)), ["a", "b"]);
  assert.deepEqual([1, 3, 4, 5, 9].map((f) => m.wireOf(f)), [0, 5, 1, 2, -1]);
  assert.deepEqual(m.numbers(1), [300]);
});
