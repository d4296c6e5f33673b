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
