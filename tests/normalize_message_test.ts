import assert from "node:assert/strict";
import type {
  AudienceEvent,
  CollectedEvent,
  DanmakuEvent,
  GiftEvent,
  GuardBuyEvent,
  InteractionEvent,
  RawEvent,
  RoomEvent,
  RoomStateEvent,
  SuperChatEvent,
} from "../src/normalize/events.ts";
import { extraNumber, extraString } from "../src/normalize/extra_fields.ts";
import {
  audienceFromHeartbeat,
  type NormalizeContext,
  normalizeMessage,
} from "../src/normalize/normalize_message.ts";
import { decodePacket, type ServerMessage } from "../src/protocol/packet_decoder.ts";
import { ProtoWriter } from "../src/protocol/protobuf.ts";
import { readSampleBin, sampleBinNames, SAMPLES_DIR, seededRandom } from "./support/samples.ts";

const ROOM = 30827248;
const AT = 1_775_828_915_000;
const NO_MEDAL = {
  medalName: null,
  medalLevel: null,
  medalAnchorUname: null,
  medalAnchorRoomId: null,
  medalAnchorUid: null,
};

function context(overrides: Partial<NormalizeContext> = {}): NormalizeContext {
  return { roomId: ROOM, receivedAtMs: AT, keepRaw: false, ...overrides };
}

function normalizeText(text: string, overrides: Partial<NormalizeContext> = {}): CollectedEvent[] {
  const out: CollectedEvent[] = [];
  normalizeMessage(JSON.parse(text), text, context(overrides), out);
  return out;
}

function normalizeBody(body: unknown, overrides: Partial<NormalizeContext> = {}) {
  return normalizeText(JSON.stringify(body), overrides);
}

function sampleText(name: string): string {
  return Deno.readTextFileSync(new URL(`json/${name}.json`, SAMPLES_DIR));
}

function sample(name: string, overrides: Partial<NormalizeContext> = {}): CollectedEvent[] {
  return normalizeText(sampleText(name), overrides);
}

function sampleBody(name: string): Record<string, unknown> {
  return JSON.parse(sampleText(name));
}

/** Op-5 messages inside a bin sample, in order. */
function binMessages(name: string): ServerMessage[] {
  const messages: ServerMessage[] = [];
  decodePacket(readSampleBin(name), (m) => messages.push(m));
  return messages;
}

function normalizeBin(name: string): CollectedEvent[] {
  const out: CollectedEvent[] = [];
  for (const m of binMessages(name)) {
    if (m.kind === "message") normalizeMessage(m.body, m.text, context(), out);
    if (m.kind === "heartbeatReply") out.push(audienceFromHeartbeat(ROOM, AT, m.popularity));
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

// --- json/*.json ---------------------------------------------------------------------------

Deno.test("normalizeMessage() reads the 2024 DANMU_MSG with its id_str, reply and user level", () => {
  const expected: DanmakuEvent = {
    type: "danmaku",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "DANMU_MSG",
    tsMs: 1710916697432,
    uid: 3546571385866489,
    uname: "孤丶独の观测者",
    text: "......",
    msgId: "1ff943b6b581c71a6207c5329965fa8488",
    userHash: "177882c0",
    isAdmin: false,
    guardLevel: 0,
    userLevel: 1,
    ...NO_MEDAL,
    mode: 1,
    fontSize: 25,
    color: 16777215,
    dmType: 0,
    emoticon: null,
    replyToUid: 2351778,
    replyToUname: "橘枳橼",
    lotteryType: 0,
  };
  assert.deepEqual(sample("danmu_msg_2024"), [expected]);
});

Deno.test("normalizeMessage() reads an emoticon danmaku with a full medal and guard level 3", () => {
  const expected: DanmakuEvent = {
    type: "danmaku",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "DANMU_MSG",
    tsMs: 1713762065361,
    uid: 2351778,
    uname: "橘枳橼",
    text: "[艾尔莎收藏集_mua]",
    msgId: "343a52f34489799508c91605ae6625ef14",
    userHash: "98095d8b",
    isAdmin: false,
    guardLevel: 3,
    userLevel: 25,
    medalName: "艾薯条",
    medalLevel: 29,
    medalAnchorUname: "艾尔莎_Channel",
    medalAnchorRoomId: 81004,
    medalAnchorUid: 1521415,
    mode: 4,
    fontSize: 25,
    color: 9920249,
    dmType: 1,
    emoticon: "upower_[艾尔莎收藏集_mua]",
    replyToUid: null,
    replyToUname: null,
    lotteryType: 0,
  };
  assert.deepEqual(sample("danmu_msg_2024_emoticon_medal"), [expected]);
});

Deno.test("normalizeMessage() keeps the cmd suffix, uid 0 and nulls of a masked mode-7 danmaku", () => {
  const [event] = sample("danmu_msg_3_7_1_1_1_1_uid0") as DanmakuEvent[];
  assert.equal(event.type, "danmaku");
  assert.equal(event.cmd, "DANMU_MSG:3:7:1:1:1:1");
  assert.equal(event.uid, 0);
  assert.equal(event.uname, "***");
  assert.equal(event.mode, 7);
  assert.equal(event.fontSize, 100);
  assert.equal(event.tsMs, 1713788399263);
  assert.equal(
    event.text,
    '[1.0,0.0,"0.8-0.5",10.0,"哈哈，大白猫",0.0,0.0,0.0,0.0,10000,0,true,"黑体",1]',
  );
  assert.equal(event.msgId, null, "this extra has no id_str");
  assert.equal(event.userLevel, null, "info[4] is []");
  assert.equal(event.medalName, null, "info[3] is null");
  assert.equal(event.userHash, "f4dbdf21");
  assert.equal(event.replyToUid, null);
});

Deno.test("normalizeMessage() turns SEND_GIFT into one gold gift worth 0.1 CNY", () => {
  const expected: GiftEvent = {
    type: "gift",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "SEND_GIFT",
    tsMs: 1673622464000,
    uid: 510149209,
    uname: "12138额83121",
    giftId: 31036,
    giftName: "小花花",
    num: 1,
    coinType: "gold",
    price: 100,
    totalCoin: 100,
    priceCny: 0.1,
    tid: "1673622464121900003",
    rnd: "1673622464121900003",
    action: "投喂",
    guardLevel: 0,
    blindBoxGiftName: null,
    blindBoxGiftPrice: null,
    receiverUid: 36047134,
    ...NO_MEDAL,
  };
  assert.deepEqual(sample("send_gift_2023"), [expected]);
});

Deno.test("normalizeMessage() reads SUPER_CHAT_MESSAGE: 30 CNY, 60 s, medal ASAKI 21", () => {
  const expected: SuperChatEvent = {
    type: "superChat",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "SUPER_CHAT_MESSAGE",
    scId: 6522809,
    uid: 294094150,
    uname: "界原虚",
    message: "猪播完美预测自己第一个死，这就是鹅鸭杀高玩吗",
    messageJpn: null,
    priceCny: 30,
    durationS: 60,
    startTimeMs: 1677069035000,
    endTimeMs: 1677069095000,
    userLevel: 6,
    guardLevel: 3,
    medalName: "ASAKI",
    medalLevel: 21,
    medalAnchorUname: "Asaki大人",
    medalAnchorRoomId: 732,
    medalAnchorUid: 194484313,
  };
  assert.deepEqual(sample("super_chat_message_2023"), [expected]);
});

Deno.test("normalizeMessage() reads SUPER_CHAT_MESSAGE_JPN with string ids and message_jpn", () => {
  const body = sampleBody("super_chat_message_2023");
  const data = body.data as Record<string, unknown>;
  const jpn = {
    cmd: "SUPER_CHAT_MESSAGE_JPN",
    data: { ...data, id: "6522809", uid: "294094150", message_jpn: "豚配信は完璧な予測" },
    roomid: "6154037",
  };
  const [event] = normalizeBody(jpn) as SuperChatEvent[];
  assert.equal(event.cmd, "SUPER_CHAT_MESSAGE_JPN");
  assert.equal(event.scId, 6522809);
  assert.equal(event.uid, 294094150);
  assert.equal(event.messageJpn, "豚配信は完璧な予測");
  assert.equal(event.priceCny, 30);
});

Deno.test("normalizeMessage() reads GUARD_BUY: 舰长 for 198 CNY", () => {
  const expected: GuardBuyEvent = {
    type: "guardBuy",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "GUARD_BUY",
    uid: 14225357,
    uname: "妙妙喵喵妙妙喵O_O",
    guardLevel: 3,
    num: 1,
    priceCny: 198,
    unit: null,
    startTimeMs: 1677069316000,
    endTimeMs: 1677069316000,
    payflowId: null,
    giftId: 10003,
    giftName: "舰长",
  };
  assert.deepEqual(sample("guard_buy_2023"), [expected]);
});

Deno.test("normalizeMessage() decodes the INTERACT_WORD_V2 protobuf: mikufilck shared the room", () => {
  const expected: InteractionEvent = {
    type: "interaction",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "INTERACT_WORD_V2",
    kind: "share",
    msgType: 3,
    uid: 26928797,
    uname: "mikufilck",
    tsMs: 1775828914000,
    guardLevel: 0,
    medalName: "做猫的",
    medalLevel: 21,
    medalAnchorUname: null,
    medalAnchorRoomId: 30827248,
    medalAnchorUid: 3546384651258599,
  };
  assert.deepEqual(sample("interact_word_v2_2026"), [expected]);
});

Deno.test("normalizeMessage() reads ONLINE_RANK_COUNT as an online_rank_count of 44", () => {
  const expected: AudienceEvent = {
    type: "audience",
    roomId: ROOM,
    receivedAtMs: AT,
    kind: "online_rank_count",
    value: 44,
  };
  assert.deepEqual(sample("online_rank_count_2021"), [expected]);
});

Deno.test("normalizeMessage() reads LIVE as a room state and marks the room live", () => {
  const text = sampleText("live_2022");
  const [state, room] = normalizeText(text) as [RoomStateEvent, RoomEvent];
  assert.equal(state.type, "roomState");
  assert.equal(state.kind, "live");
  assert.equal(state.liveKey, "234304209915761953");
  assert.equal(state.text, text);
  assert.equal(room.type, "room");
  assert.equal(room.liveStatus, 1);
  assert.equal(room.seenAtMs, AT);
});

Deno.test("normalizeMessage() reads PREPARING with its string roomid and send_time", () => {
  const [state, room] = sample("preparing_2025") as [RoomStateEvent, RoomEvent];
  assert.equal(state.kind, "preparing");
  assert.equal(state.tsMs, 1740129398337);
  assert.equal(state.roomId, ROOM, "roomId is the connection's real id, not the message's");
  assert.equal(room.liveStatus, 0);
});

Deno.test("normalizeMessage() reads ROOM_BLOCK_MSG with the muted viewer", () => {
  const [state] = sample("room_block_msg") as RoomStateEvent[];
  assert.equal(state.kind, "room_block");
  assert.equal(state.uid, 37903025);
  assert.equal(state.uname, "玉麟珑");
});

Deno.test("normalizeMessage() reads CUT_OFF with its message", () => {
  const [state] = sample("cut_off") as RoomStateEvent[];
  assert.equal(state.kind, "cut_off");
  assert.equal(state.message, "违反直播言论规范，请立即调整");
});

Deno.test("normalizeMessage() keeps unknown cmds verbatim and reports them", () => {
  const unknown: string[] = [];
  const texts = [sampleText("log_in_notice"), '{"cmd":"PK_BATTLE_PRE_NEW","data":{"pk_id":1}}'];
  for (const text of texts) {
    const events = normalizeText(text, { onUnknownCmd: (cmd) => unknown.push(cmd) });
    const cmd = JSON.parse(text).cmd;
    assert.deepEqual(events, [
      { type: "raw", roomId: ROOM, receivedAtMs: AT, cmd, reason: "unknown_cmd", text },
    ]);
  }
  assert.deepEqual(unknown, ["LOG_IN_NOTICE", "PK_BATTLE_PRE_NEW"]);
});

Deno.test("normalizeMessage() gives every json sample at least one event of the expected type", () => {
  const expectedTypes: Record<string, string[]> = {
    cut_off: ["roomState"],
    danmu_msg_2024: ["danmaku"],
    danmu_msg_2024_emoticon_medal: ["danmaku"],
    danmu_msg_3_7_1_1_1_1_uid0: ["danmaku"],
    guard_buy_2023: ["guardBuy"],
    interact_word_v2_2026: ["interaction"],
    live_2022: ["roomState", "room"],
    log_in_notice: ["raw"],
    online_rank_count_2021: ["audience"],
    online_rank_v2_2023: ["onlineRank", "onlineRank", "onlineRank"],
    preparing_2025: ["roomState", "room"],
    room_block_msg: ["roomState"],
    send_gift_2023: ["gift"],
    super_chat_message_2023: ["superChat"],
  };
  const names = [...Deno.readDirSync(new URL("json/", SAMPLES_DIR))]
    .map((e) => e.name.replace(/\.json$/, ""))
    .sort();
  assert.deepEqual(names, Object.keys(expectedTypes).sort(), "a new sample needs an expectation");
  for (const name of names) {
    assert.deepEqual(sample(name).map((e) => e.type), expectedTypes[name], name);
  }
});

// --- bin/*.bin -----------------------------------------------------------------------------

Deno.test("normalizeMessage() reads the 2021 brotli DANMU_MSG with a 15-element info[0] and medal", () => {
  const [event] = normalizeBin("brotli_danmu_msg") as DanmakuEvent[];
  assert.deepEqual(event, {
    type: "danmaku",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "DANMU_MSG",
    tsMs: 1631676810606,
    uid: 573732342,
    uname: "进栈检票",
    text: "Hello, LiveKit!!!",
    msgId: null,
    userHash: "6420484f",
    isAdmin: true,
    guardLevel: 0,
    userLevel: 13,
    medalName: "滑稽果",
    medalLevel: 18,
    medalAnchorUname: "老弟一号",
    medalAnchorRoomId: 10308958,
    medalAnchorUid: 178429408,
    mode: 1,
    fontSize: 25,
    color: 5816798,
    dmType: 0,
    emoticon: null,
    replyToUid: null,
    replyToUname: null,
    lotteryType: 0,
  });
});

Deno.test("normalizeMessage() reads INTERACT_WORD enters from the brotli and zlib samples", () => {
  const [one] = normalizeBin("brotli_interact_word") as InteractionEvent[];
  assert.deepEqual(one, {
    type: "interaction",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "INTERACT_WORD",
    kind: "enter",
    msgType: 1,
    uid: 1000490649,
    uname: "嘉然_毒唯",
    tsMs: 1637432009000,
    guardLevel: 0,
    ...NO_MEDAL,
  });
  const two = normalizeBin("zlib_interact_word_x2") as InteractionEvent[];
  assert.deepEqual(two.map((e) => [e.kind, e.uid, e.uname]), [
    ["enter", 174102117, "vioIet・伊芙加登"],
    ["enter", 321964609, "消失的私家车"],
  ]);
});

Deno.test("normalizeMessage() reads WATCHED_CHANGE from the brotli meta-block sample", () => {
  assert.deepEqual(normalizeBin("brotli_watched_change"), [
    { type: "audience", roomId: ROOM, receivedAtMs: AT, kind: "watched", value: 22097 },
  ]);
});

Deno.test("normalizeMessage() reads all 8 messages of the zlib batch in order", () => {
  const events = normalizeBin("zlib_multi_8msgs");
  assert.deepEqual(events.map((e) => e.type), [
    "interaction",
    "interaction",
    "audience",
    "danmaku",
    "raw",
    "danmaku",
    "raw",
    "gift",
  ]);
  const enter = events[0] as InteractionEvent;
  assert.equal(enter.uname, "成年人已经崩溃");
  assert.equal(enter.medalName, "西诗");
  assert.equal(enter.medalLevel, 24);
  assert.equal(enter.medalAnchorRoomId, 3208512);
  assert.equal(enter.medalAnchorUid, 18768997);
  assert.equal(enter.guardLevel, 3, "no privilege_type: the medal's guard level");
  assert.equal((events[2] as AudienceEvent).value, 44);
  const danmaku = events[3] as DanmakuEvent;
  assert.equal(danmaku.text, "这是比赛，没必要让");
  assert.equal(danmaku.uid, 390117739);
  assert.equal(danmaku.tsMs, 1610100373678);
  assert.equal(danmaku.dmType, null, "12-element info[0] has no dm_type");
  assert.equal(danmaku.medalName, null, "info[3] is []");
  assert.equal((events[4] as RawEvent).cmd, "LIVE_INTERACTIVE_GAME");
  assert.equal((events[4] as RawEvent).reason, "unknown_cmd");
  const gift = events[7] as GiftEvent;
  assert.equal(gift.giftName, "辣条");
  assert.equal(gift.coinType, "silver");
  assert.equal(gift.num, 30);
  assert.equal(gift.price, 100);
  assert.equal(gift.totalCoin, 3000);
  assert.equal(gift.priceCny, 0, "silver gifts are free");
  assert.equal(gift.tid, "1610100372120700003");
  assert.equal(gift.rnd, "1231988944");
  assert.equal(gift.medalName, "祈君");
  assert.equal(gift.medalLevel, 13);
});

Deno.test("audienceFromHeartbeat() records the popularity of both heartbeat reply samples", () => {
  assert.deepEqual(normalizeBin("heartbeat_reply_ver0"), [
    { type: "audience", roomId: ROOM, receivedAtMs: AT, kind: "heartbeat", value: 358069 },
  ]);
  const echo: ServerMessage[] = [];
  decodePacket(readSampleBin("heartbeat_reply_with_echo").subarray(0, 20), (m) => echo.push(m));
  assert.equal(echo[0].kind === "heartbeatReply" && echo[0].popularity, 2466);
});

Deno.test("normalizeMessage() handles every op-5 message in every bin sample", () => {
  let messages = 0;
  for (const name of sampleBinNames()) {
    if (name === "heartbeat_reply_with_echo") continue; // bytes past pack_len; tested above
    for (const m of binMessages(name)) {
      if (m.kind !== "message") continue;
      messages++;
      const out: CollectedEvent[] = [];
      normalizeMessage(m.body, m.text, context(), out);
      assert.ok(out.length >= 1, `${name}: ${m.text?.slice(0, 40)}`);
      const cmd = (m.body as { cmd: string }).cmd;
      if (cmd === "LIVE_INTERACTIVE_GAME") assert.equal(out[0].type, "raw");
      else assert.notEqual(out[0].type, "raw", `${name}: ${cmd}`);
    }
  }
  assert.equal(messages, 13);
});

// --- cmds without a captured sample --------------------------------------------------------

function sendGiftV2Pb(): ProtoWriter {
  const item = (tid: string, giftId: number, name: string, price: number) =>
    new ProtoWriter()
      .varint(1, giftId)
      .bytes(2, name)
      .varint(3, 2)
      .varint(5, price)
      .varint(7, price * 2)
      .bytes(8, "gold")
      .bytes(9, tid)
      .varint(10, 1785000000)
      .bytes(12, `batch:gift:combo_id:42:777:${giftId}:1785000000.1234`) // not an rnd
      .bytes(18, "投喂")
      .bytes(29, new ProtoWriter().bytes(1, "主播").varint(2, 777)); // receive_user_info
  return new ProtoWriter()
    .varint(1, 42)
    .bytes(2, "盒子玩家")
    .varint(5, 3)
    .bytes(8, new ProtoWriter().varint(1, 777).varint(4, 1234).varint(5, 12).bytes(6, "粉丝牌"))
    .bytes(9, new ProtoWriter().bytes(3, "心动盲盒").varint(6, 150000))
    .bytes(10, item("1785000000111", 32132, "浪漫城堡", 100000))
    .bytes(10, item("1785000000112", 31036, "小花花", 100));
}

Deno.test("normalizeMessage() turns a SEND_GIFT_V2 blind box into one gift per gift_list item", () => {
  const pb = base64(sendGiftV2Pb().finish());
  const events = normalizeBody({ cmd: "SEND_GIFT_V2", data: { pb } }) as GiftEvent[];
  assert.equal(events.length, 2);
  assert.deepEqual(events[0], {
    type: "gift",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "SEND_GIFT_V2",
    tsMs: 1785000000000,
    uid: 42,
    uname: "盒子玩家",
    giftId: 32132,
    giftName: "浪漫城堡",
    num: 2,
    coinType: "gold",
    price: 100000,
    totalCoin: 200000,
    priceCny: 200,
    tid: "1785000000111",
    rnd: null,
    action: "投喂",
    guardLevel: 3,
    blindBoxGiftName: "心动盲盒",
    blindBoxGiftPrice: 150000,
    receiverUid: 777,
    medalName: "粉丝牌",
    medalLevel: 12,
    medalAnchorUname: null,
    medalAnchorRoomId: 1234,
    medalAnchorUid: 777,
  });
  assert.equal(events[1].tid, "1785000000112");
  assert.equal(events[1].priceCny, 0.2);
  const nested = normalizeBody({ cmd: "SEND_GIFT_V2", data: { data: { pb } } });
  assert.deepEqual(nested, events, "data.data.pb is read the same way");
});

Deno.test("normalizeMessage() stores nothing for COMBO_SEND, which only summarises SEND_GIFTs", () => {
  const body = { cmd: "COMBO_SEND", data: { uid: 1, gift_id: 31036, combo_num: 5 } };
  const unknown: string[] = [];
  assert.deepEqual(normalizeBody(body, { onUnknownCmd: (c) => unknown.push(c) }), []);
  assert.deepEqual(unknown, []);
  const kept = normalizeBody(body, { keepRaw: true }) as RawEvent[];
  assert.deepEqual(kept.map((e) => [e.type, e.cmd, e.reason]), [["raw", "COMBO_SEND", "kept"]]);
});

Deno.test("normalizeMessage() reads USER_TOAST_MSG with unit and payflow_id", () => {
  const [event] = normalizeBody({
    cmd: "USER_TOAST_MSG",
    data: {
      uid: 14225357,
      username: "妙妙喵喵妙妙喵O_O",
      guard_level: 3,
      num: 1,
      price: 138000,
      unit: "月",
      role_name: "舰长",
      payflow_id: "2302222035103472131",
      start_time: 1677069316,
      end_time: 1677069316,
      gift_id: 10003,
    },
  }) as GuardBuyEvent[];
  assert.equal(event.priceCny, 138);
  assert.equal(event.unit, "月");
  assert.equal(event.payflowId, "2302222035103472131");
  assert.equal(event.giftName, "舰长");
  assert.equal(event.startTimeMs, 1677069316000);
});

Deno.test("normalizeMessage() reads the nested USER_TOAST_MSG_V2 layout", () => {
  const [event] = normalizeBody({
    cmd: "USER_TOAST_MSG_V2",
    data: {
      sender_uinfo: { uid: 14225357, base: { name: "妙妙喵喵妙妙喵O_O" } },
      guard_info: { guard_level: 2, start_time: 1677069316, end_time: 1677069316 },
      pay_info: { num: 1, price: 1998000, unit: "月" },
      gift_info: { gift_id: 10002 },
      option: { source: 0 },
    },
  }) as GuardBuyEvent[];
  assert.deepEqual(event, {
    type: "guardBuy",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "USER_TOAST_MSG_V2",
    uid: 14225357,
    uname: "妙妙喵喵妙妙喵O_O",
    guardLevel: 2,
    num: 1,
    priceCny: 1998,
    unit: "月",
    startTimeMs: 1677069316000,
    endTimeMs: 1677069316000,
    payflowId: null,
    giftId: 10002,
    giftName: null,
  });
});

Deno.test("normalizeMessage() reads likes, like totals and online counts", () => {
  const [like] = normalizeBody({
    cmd: "LIKE_INFO_V3_CLICK",
    data: {
      uid: 5,
      uname: "点赞的人",
      msg_type: 6,
      fans_medal: { medal_name: "牌子", medal_level: 3, target_id: 9, anchor_roomid: 0 },
    },
  }) as InteractionEvent[];
  assert.equal(like.kind, "like");
  assert.equal(like.uid, 5);
  assert.equal(like.medalName, "牌子");
  assert.equal(like.tsMs, null);
  assert.deepEqual(
    normalizeBody({ cmd: "LIKE_INFO_V3_UPDATE", data: { click_count: 1234 } }),
    [{ type: "audience", roomId: ROOM, receivedAtMs: AT, kind: "like_count", value: 1234 }],
  );
  const counts = normalizeBody({
    cmd: "ONLINE_RANK_COUNT",
    data: { count: 3, count_text: "3", online_count: 250, online_count_text: "250" },
  }) as AudienceEvent[];
  assert.deepEqual(counts.map((e) => [e.kind, e.value]), [
    ["online_rank_count", 3],
    ["online_count", 250],
  ]);
});

Deno.test("normalizeMessage() reads ROOM_CHANGE into a room state and a room update", () => {
  const [state, room] = normalizeBody({
    cmd: "ROOM_CHANGE",
    data: {
      title: "今晚打游戏",
      area_id: 236,
      parent_area_id: 6,
      area_name: "主机游戏",
      parent_area_name: "单机游戏",
      live_key: "0",
      sub_session_key: "",
    },
  }) as [RoomStateEvent, RoomEvent];
  assert.equal(state.kind, "room_change");
  assert.equal(state.title, "今晚打游戏");
  assert.equal(state.areaId, 236);
  assert.equal(state.parentAreaName, "单机游戏");
  assert.equal(state.liveKey, null, 'live_key "0" means offline');
  assert.equal(room.title, "今晚打游戏");
  assert.equal(room.areaName, "主机游戏");
  assert.equal(room.liveStatus, null);
});

Deno.test("normalizeMessage() reads WARNING and CUT_OFF_V2", () => {
  const [warning] = normalizeBody({ cmd: "WARNING", msg: "请注意", roomid: 1 }) as RoomStateEvent[];
  assert.equal(warning.kind, "warning");
  assert.equal(warning.message, "请注意");
  const [cut] = normalizeBody({
    cmd: "CUT_OFF_V2",
    data: { cut_off_scene: 1, timestamp: 1785000000, cut_off_data: { title: "直播中断" } },
  }) as RoomStateEvent[];
  assert.equal(cut.kind, "cut_off");
  assert.equal(cut.cmd, "CUT_OFF_V2");
  assert.equal(cut.title, "直播中断");
  assert.equal(cut.tsMs, 1785000000000);
});

Deno.test("normalizeMessage() with keepRaw also keeps every message verbatim", () => {
  const text = sampleText("guard_buy_2023");
  const events = normalizeText(text, { keepRaw: true });
  assert.deepEqual(events.map((e) => e.type), ["guardBuy", "raw"]);
  assert.deepEqual(events[1], {
    type: "raw",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "GUARD_BUY",
    reason: "kept",
    text,
  });
});

Deno.test("normalizeMessage() reads a cmd under msg.cmd as very old messages sent it", () => {
  const [event] = normalizeBody({ msg: { cmd: "WATCHED_CHANGE", data: { num: 7 } } });
  assert.equal(event.type === "audience" && event.value, 7);
});

// --- hostile input -------------------------------------------------------------------------

Deno.test("normalizeMessage() keeps a hostile pb as a malformed raw event instead of throwing", () => {
  const truncated = sendGiftV2Pb().finish().subarray(0, 40);
  const bad = [
    { cmd: "SEND_GIFT_V2", data: { pb: "!!! not base64 !!!" } },
    { cmd: "SEND_GIFT_V2", data: { pb: "AAAA" } }, // field number 0
    { cmd: "SEND_GIFT_V2", data: { pb: base64(truncated) } },
    { cmd: "SEND_GIFT_V2", data: { pb: base64(new Uint8Array(12).fill(0xff)) } }, // endless varint
    { cmd: "SEND_GIFT_V2", data: { pb: "" } }, // no gift
    { cmd: "SEND_GIFT_V2", data: {} },
    { cmd: "INTERACT_WORD_V2", data: { pb: "CJ3N6wwSCW1pa3VmaWxj" } }, // cut inside uname
    { cmd: "INTERACT_WORD_V2", data: { pb: 12345 } },
    { cmd: "INTERACT_WORD_V2", data: { dmscore: 1 } },
  ];
  for (const body of bad) {
    const text = JSON.stringify(body);
    const events = normalizeText(text);
    assert.deepEqual(events, [
      { type: "raw", roomId: ROOM, receivedAtMs: AT, cmd: body.cmd, reason: "malformed", text },
    ], text);
  }
});

Deno.test("normalizeMessage() turns bodies without a usable cmd or payload into malformed raw events", () => {
  const bodies: unknown[] = [
    null,
    42,
    "DANMU_MSG",
    [],
    {},
    { cmd: 5 },
    { cmd: "" },
    { cmd: "DANMU_MSG" },
    { cmd: "DANMU_MSG", info: null },
    { cmd: "DANMU_MSG", info: "x" },
    { cmd: "SEND_GIFT", data: null },
    { cmd: "SUPER_CHAT_MESSAGE", data: [] },
    { cmd: "GUARD_BUY" },
    { cmd: "USER_TOAST_MSG_V2", data: {} },
    { cmd: "INTERACT_WORD", data: 3 },
    { cmd: "WATCHED_CHANGE", data: { num: "many" } },
    { cmd: "ONLINE_RANK_COUNT", data: {} },
    { cmd: "LIKE_INFO_V3_UPDATE", data: null },
  ];
  for (const body of bodies) {
    const text = JSON.stringify(body);
    const events = normalizeText(text);
    assert.equal(events.length, 1, text);
    const [raw] = events as RawEvent[];
    assert.equal(raw.type, "raw", text);
    assert.equal(raw.reason, "malformed", text);
    assert.equal(raw.text, text);
  }
});

Deno.test("normalizeMessage() reads a DANMU_MSG with every array short, null or mistyped", () => {
  const infos: unknown[] = [
    [],
    [null, null, null, null, null],
    [[], "", [], [], []],
    [[0, "1", "25", "16777215", "1713788399263"], "hi", ["12", 7], [5, "牌", 3]],
    [[0, 1, 25, 1, null, 0, 0, 7, 0, 0, 0, "", 1, "{}", "{}", { extra: 5 }], 5, [{}, {}]],
    [[0, 1, 25, 1, 1, 0, 0, "", 0, 0, 0, "", 1, { url: 3 }, "{}", { extra: "{" }]],
  ];
  const events = infos.flatMap((info) => normalizeBody({ cmd: "DANMU_MSG", info }));
  assert.deepEqual(events.map((e) => e.type), Array(infos.length).fill("danmaku"));
  const typed = events as DanmakuEvent[];
  assert.equal(typed[0].uid, 0);
  assert.equal(typed[0].text, "");
  assert.equal(typed[0].tsMs, null);
  assert.equal(typed[3].uid, 12, "string uid");
  assert.equal(typed[3].tsMs, 1713788399263, "string time");
  assert.equal(typed[3].medalName, "牌");
  assert.equal(typed[3].medalAnchorUid, null, "short medal array");
  assert.equal(typed[4].text, "", "non-string text");
  assert.equal(typed[4].msgId, null, "non-string extra");
  assert.equal(typed[5].emoticon, null, "emoticon object without a string id or URL");
  assert.equal(typed[5].msgId, null, "broken extra JSON");
});

/** Replaces random nodes of a JSON value with values of the wrong type. */
function mutate(value: unknown, random: () => number): unknown {
  const junk = [null, 0, -1, 1e300, "", "x", "1e999", [], {}, true, [null], { a: null }];
  if (random() < 0.08) return junk[Math.floor(random() * junk.length)];
  if (Array.isArray(value)) {
    const copy = value.map((v) => mutate(v, random));
    if (random() < 0.1) copy.length = Math.floor(random() * copy.length);
    return copy;
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "cmd" && random() < 0.9) copy[k] = v;
      else copy[k] = mutate(v, random);
    }
    return copy;
  }
  return value;
}

/** Whether every field can be bound to SQLite (no undefined, NaN, objects). */
function bindable(event: CollectedEvent): boolean {
  return Object.values(event).every((v) =>
    v === null || typeof v === "string" || typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v))
  );
}

/** Whether a body is an ONLINE_RANK_V2 whose list is empty: it stores nothing. */
function isEmptyRanking(body: unknown): boolean {
  const message = body as { cmd?: unknown; data?: { list?: unknown; online_list?: unknown } };
  if (message?.cmd !== "ONLINE_RANK_V2") return false;
  const list = Array.isArray(message.data?.list) ? message.data.list : message.data?.online_list;
  return Array.isArray(list) && list.length === 0;
}

Deno.test("normalizeMessage() turns 20,000 mutated samples into events with bindable fields", () => {
  const random = seededRandom(20260815);
  const bodies = [...Deno.readDirSync(new URL("json/", SAMPLES_DIR))]
    .map((e) => JSON.parse(Deno.readTextFileSync(new URL(`json/${e.name}`, SAMPLES_DIR))));
  bodies.push(JSON.parse(JSON.stringify({ cmd: "SEND_GIFT_V2", data: { pb: "x" } })));
  const types = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const body = mutate(bodies[i % bodies.length], random);
    const text = JSON.stringify(body) ?? "null";
    const out: CollectedEvent[] = [];
    normalizeMessage(body, text, context({ keepRaw: i % 7 === 0 }), out);
    assert.ok(out.length >= 1 || isEmptyRanking(body), text);
    for (const event of out) {
      types.add(event.type);
      assert.ok(bindable(event), JSON.stringify(event));
      assert.equal(event.roomId, ROOM);
    }
  }
  assert.ok(types.size >= 8, `saw only ${[...types]}`);
});

// --- extra fields --------------------------------------------------------------------------

Deno.test("extraString() unescapes quotes and \\u escapes and ignores keys inside strings", () => {
  const extra = JSON.stringify({
    content: '"id_str":"fake"',
    id_str: "abc123",
    reply_uname: 'a"b\\c',
    reply_mid: 99,
  });
  assert.equal(extraString(extra, '"id_str":'), "abc123");
  assert.equal(extraString(extra, '"reply_uname":'), 'a"b\\c');
  assert.equal(extraNumber(extra, '"reply_mid":'), 99);
  assert.equal(extraString('{"reply_uname":"\\u6a58"}', '"reply_uname":'), "橘");
  assert.equal(extraString('{"id_str":""}', '"id_str":'), null);
  assert.equal(extraString('{"id_str":12}', '"id_str":'), null);
  assert.equal(extraString('{"id_str":"unterminated', '"id_str":'), null);
  assert.equal(extraNumber('{"reply_mid":null}', '"reply_mid":'), null);
  assert.equal(extraNumber("{}", '"reply_mid":'), null);
});
