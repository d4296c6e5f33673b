/**
 * parseMessageBody(): the lean parse of DANMU_MSG must give the normalizer exactly the events of
 * a whole `JSON.parse`, take the fast path on the wire layout, and parse anything else whole.
 */
import assert from "node:assert/strict";
import type { CollectedEvent } from "../src/normalize/events.ts";
import {
  EscapedJsonString,
  parseLeanDanmuMsg,
  parseMessageBody,
} from "../src/normalize/message_body.ts";
import { normalizeMessage } from "../src/normalize/normalize_message.ts";
import { decodePacket, type ServerMessage } from "../src/protocol/packet_decoder.ts";
import { MessageFactory } from "../src/simulator/message_factory.ts";
import { World } from "../src/simulator/world.ts";
import { nextSent } from "./support/sent_messages.ts";
import { readSampleBin, readSampleJson, sample2024 } from "./support/samples.ts";

const REAL_DIR = new URL("./fixtures/real/", import.meta.url);

/** The events of `text` when its body comes from `parse`. */
function eventsOf(text: string, parse: (text: string) => unknown): CollectedEvent[] {
  const out: CollectedEvent[] = [];
  normalizeMessage(parse(text), text, { roomId: 7, receivedAtMs: 1, keepRaw: false }, out);
  return out;
}

/** Asserts the lean parse of `text` is taken and normalizes exactly as `JSON.parse` does. */
function assertLeanSame(text: string): CollectedEvent[] {
  const lean = parseLeanDanmuMsg(text);
  assert.ok(lean !== undefined, `the lean parse was not taken for ${text.slice(0, 80)}…`);
  const modeInfo = ((lean as { info: unknown[][] }).info[0][15]) as Record<string, unknown>;
  assert.ok(modeInfo.extra instanceof EscapedJsonString);
  assert.equal("user" in modeInfo, false);
  const events = eventsOf(text, parseMessageBody);
  assert.deepEqual(events, eventsOf(text, JSON.parse));
  assert.equal(events[0].type, "danmaku");
  return events;
}

Deno.test("parseMessageBody() normalizes every simulated danmaku exactly as JSON.parse does, on the lean path", () => {
  const world = new World({ seed: "lean-parse", rooms: 4, rate: 5, now: 0, eraShare: 0.5 });
  const factory = new MessageFactory(world);
  let lean = 0;
  let whole = 0;
  for (const room of world.rooms) {
    room.live = true;
    for (let i = 0, now = 1_765_000_000_000; i < 400; i++, now += 37) {
      for (const { text } of nextSent(factory, room, now)) {
        assert.deepEqual(eventsOf(text, parseMessageBody), eventsOf(text, JSON.parse));
        if (!text.startsWith('{"cmd":"DANMU_MSG')) continue;
        if (parseLeanDanmuMsg(text) === undefined) whole++;
        else {
          assertLeanSame(text);
          lean++;
        }
      }
    }
  }
  // The 2023+ layout takes the lean path; the older eras (no `extra`) are parsed whole.
  assert.ok(lean > 200, `${lean} lean`);
  assert.ok(whole > 20, `${whole} whole`);
});

Deno.test("decodePacket() hands bodies to the parser it is given; a 2021 packet off the wire parses whole", () => {
  const messages: ServerMessage[] = [];
  const parsed: string[] = [];
  const parse = (text: string) => {
    parsed.push(text);
    return parseMessageBody(text);
  };
  decodePacket(readSampleBin("brotli_danmu_msg"), (m) => messages.push(m), 0, { parseBody: parse });
  assert.equal(messages.length, 1);
  const [message] = messages;
  assert.ok(message.kind === "message" && message.text !== undefined);
  assert.deepEqual(parsed, [message.text]);
  // 2021: `info[0]` ends at `[14]`, no `extra`.
  assert.equal(parseLeanDanmuMsg(message.text), undefined);
  assert.deepEqual(message.body, JSON.parse(message.text));
});

Deno.test("parseMessageBody() reads id, reply uid and reply name of the 2024 sample from the escaped extra", () => {
  const [event] = assertLeanSame(JSON.stringify(readSampleJson("json/danmu_msg_2024.json")));
  assert.equal(event.type, "danmaku");
  if (event.type !== "danmaku") return;
  assert.equal(event.msgId, "1ff943b6b581c71a6207c5329965fa8488");
  assert.equal(event.replyToUid, 2351778);
  assert.equal(event.replyToUname, "橘枳橼");
});

Deno.test("parseMessageBody(): what viewers write cannot move the cut or the fields read", () => {
  const forged = '","user":{"uid":1}},{"activity_identity":"x"},"extra":"\\"id_str\\":\\"fake\\"';
  const text = sample2024((body, extra) => {
    body.info[1] = forged;
    (body.info[2] as unknown[])[1] = forged;
    extra.content = forged;
    extra.reply_uname = 'a "quoted" \\ name';
  });
  const [event] = assertLeanSame(text);
  if (event.type !== "danmaku") return;
  assert.equal(event.text, forged);
  assert.equal(event.uname, forged);
  assert.equal(event.msgId, "1ff943b6b581c71a6207c5329965fa8488");
  assert.equal(event.replyToUname, 'a "quoted" \\ name');
});

Deno.test("parseMessageBody(): values with escapes (\\u, quotes) are unescaped whole and read the same", () => {
  // As Python or Go with ASCII escaping would send it: every non-ASCII letter a \u escape.
  const ascii = (text: string) =>
    text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const events = assertLeanSame(ascii(JSON.stringify(readSampleJson("json/danmu_msg_2024.json"))));
  assert.equal(events[0].type === "danmaku" && events[0].replyToUname, "橘枳橼");
  const odd = assertLeanSame(sample2024((_, extra) => {
    extra.id_str = 'id"with\\escapes';
  }));
  assert.equal(odd[0].type === "danmaku" && odd[0].msgId, 'id"with\\escapes');
  const noReply = assertLeanSame(sample2024((_, extra) => {
    extra.reply_mid = 0;
    extra.id_str = "";
  }));
  assert.equal(noReply[0].type === "danmaku" && noReply[0].replyToUid, null);
  assert.equal(noReply[0].type === "danmaku" && noReply[0].msgId, null);
});

Deno.test("parseMessageBody() parses other layouts and other cmds whole, and throws on bad JSON as JSON.parse does", () => {
  const wire = JSON.stringify(readSampleJson("json/danmu_msg_2024.json"));
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : typeof value === "object" && value !== null
      ? Object.fromEntries(
        Object.entries(value).sort(([a], [b]) => a < b ? -1 : 1).map((
          [k, v],
        ) => [k, sorted(v)]),
      )
      : value;
  const others = [
    JSON.stringify(sorted(JSON.parse(wire))), // `"extra"` first in its object
    wire.replace('"user":{"uid"', '"viewer":{"uid"'),
    wire.replace('{"activity_identity"', '{"activity"'),
    // The last `}},{"activity_identity"` is not `info[0]`'s: the cut would not be JSON.
    wire.replace(/,"dm_v2":""}$/, ',"more":[{"a":{"b":1}},{"activity_identity":0}]}'),
  ];
  for (const text of others) {
    assert.equal(parseLeanDanmuMsg(text), undefined, text.slice(0, 60));
    assert.deepEqual(parseMessageBody(text), JSON.parse(text));
  }
  assert.throws(() => parseMessageBody(wire.slice(0, -1)), SyntaxError);
  assert.throws(() => parseMessageBody('{"cmd":"DANMU_MSG"'), SyntaxError);
  // A cut whose remainder is not JSON falls back to the whole text, which then fails alike.
  const broken = wire.replace('"mode":0,', '"mode":0,,');
  assert.throws(() => parseMessageBody(broken), SyntaxError);
});

Deno.test("parseMessageBody() gives every real fixture's body the events JSON.parse gives", () => {
  let danmaku = 0;
  for (const entry of Deno.readDirSync(REAL_DIR)) {
    if (!entry.name.endsWith(".json")) continue;
    const fixture = JSON.parse(Deno.readTextFileSync(new URL(entry.name, REAL_DIR)));
    const text = JSON.stringify((fixture as { body: unknown }).body);
    assert.deepEqual(eventsOf(text, parseMessageBody), eventsOf(text, JSON.parse), entry.name);
    if (!text.startsWith('{"cmd":"DANMU_MSG')) {
      assert.deepEqual(parseMessageBody(text), JSON.parse(text));
    } else danmaku++;
  }
  assert.ok(danmaku >= 20, `${danmaku} DANMU_MSG fixtures`);
});
