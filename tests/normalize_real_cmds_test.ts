/**
 * The normalizer on message bodies as other projects captured them (issue 12): eras whose
 * fields differ from today's samples, and the cmds real rooms send beyond danmaku and gifts.
 * Each body names its public source; personal data is kept as published.
 */
import assert from "node:assert/strict";
import type {
  CollectedEvent,
  DanmakuEvent,
  EntryEvent,
  GiftEvent,
  LotteryEvent,
  OnlineRankEvent,
  RankChangeEvent,
  RawEvent,
  RoomStateEvent,
  SuperChatDeletionEvent,
  SuperChatEvent,
} from "../src/normalize/events.ts";
import { type NormalizeContext, normalizeMessage } from "../src/normalize/normalize_message.ts";
import { ProtoWriter } from "../src/protocol/protobuf.ts";
import { seededRandom } from "./support/samples.ts";

const ROOM = 1;
const AT = 1_700_000_000_000;

function normalizeBody(body: unknown, overrides: Partial<NormalizeContext> = {}) {
  const text = JSON.stringify(body);
  const out: CollectedEvent[] = [];
  normalizeMessage(JSON.parse(text), text, {
    roomId: ROOM,
    receivedAtMs: AT,
    keepRaw: false,
    ...overrides,
  }, out);
  return out;
}

/** The fields of `event` named in `expected`, for a partial comparison. */
function pick(event: CollectedEvent | undefined, expected: Record<string, unknown>) {
  const record = (event ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.keys(expected).map((k) => [k, record[k]]));
}

function malformed(body: unknown): boolean {
  const events = normalizeBody(body);
  return events.length === 1 && events[0].type === "raw" &&
    (events[0] as RawEvent).reason === "malformed";
}

// --- DANMU_MSG -------------------------------------------------------------------------------

// bilive/bilive_client bilive/@types/danmaku.d.ts (2018): info[0][4] is in seconds.
const DANMU_2018 = {
  info: [
    [0, 5, 25, 16738408, 1517306023, 1405289835, 0, "c23b254e", 0],
    "好想抱回家",
    [37089851, "Dark2笑", 0, 1, 1, 10000, 1, "#7c1482"],
    [17, "言叶", "枫言w", 367, 16752445, "union"],
    [35, 0, 10512625, ">50000"],
    ["title-140-2", "title-140-2"],
    0,
    1,
    { uname_color: "#7c1482" },
  ],
  cmd: "DANMU_MSG",
};

Deno.test("normalizeMessage() reads a 2018 DANMU_MSG send time given in seconds as ms", () => {
  const [event] = normalizeBody(DANMU_2018) as DanmakuEvent[];
  assert.deepEqual(
    pick(event, {
      type: 0,
      tsMs: 0,
      uid: 0,
      uname: 0,
      text: 0,
      guardLevel: 0,
      medalName: 0,
      lotteryType: 0,
    }),
    {
      type: "danmaku",
      tsMs: 1517306023000,
      uid: 37089851,
      uname: "Dark2笑",
      text: "好想抱回家",
      guardLevel: 1,
      medalName: "言叶",
      lotteryType: 0,
    },
  );
});

Deno.test("normalizeMessage() keeps a ms send time and rejects absurd ones in favour of info[9].ts", () => {
  const info = (t: unknown) => [[0, 1, 25, 16777215, t], "x", [1, "a"], [], [], [], 0, 0, null, {
    ts: 1710916697,
    ct: "1",
  }];
  const times = [1710916697432, "1710916697432", 1710916697, 0, -5, 1e300, null].map((t) =>
    (normalizeBody({ cmd: "DANMU_MSG", info: info(t) })[0] as DanmakuEvent).tsMs
  );
  assert.deepEqual(times, [
    1710916697432,
    1710916697432,
    1710916697000,
    1710916697000,
    1710916697000,
    1710916697000,
    1710916697000,
  ]);
});

// The 2024 layout (tests/fixtures/protocol-samples/json/danmu_msg_2024.json) as a 天选时刻
// keyword danmaku: info[0][9] = 2 (sjh8130/bili_danmaku Testing.md: 1 节奏风暴, 2 天选时刻,
// 9 弹幕互动游戏), info[0][5] = 0 as for every lottery danmaku.
Deno.test("normalizeMessage() keeps info[0][9] as the lotteryType of a 天选时刻 danmaku", () => {
  const meta = [0, 1, 25, 16777215, 1705662500123, 0, 0, "2c5d4e1f", 0, 2, 0, "", 0, "{}", "{}", {
    mode: 0,
    show_player_type: 0,
    extra: '{"content":"2023游戏区年度盘点冲冲冲！","id_str":"a1b2c3","recommend_score":0}',
  }];
  const body = {
    cmd: "DANMU_MSG",
    info: [meta, "2023游戏区年度盘点冲冲冲！", [3493118494001000, "观众甲", 0, 0, 0, 10000, 1, ""]],
  };
  const [event] = normalizeBody(body) as DanmakuEvent[];
  assert.equal(event.lotteryType, 2);
  assert.equal(event.msgId, "a1b2c3");
  meta[9] = 0;
  assert.equal((normalizeBody(body)[0] as DanmakuEvent).lotteryType, 0);
});

// --- SEND_GIFT_V2 ----------------------------------------------------------------------------

// Starlwr/StarBot src/main/java/com/starlwr/bot/bilibili/event/live/BilibiliRandomGiftEvent.java
// (2026): 羁绊宝盒 blind boxes that gave 5 甜蜜契约 and 5 星光点点 to 白礼Bailii.
const GIFT_V2_BLIND_BOX =
  "CJL8mxcSFeeZveekvOeahOmtlOazleiDluasoRpKaHR0cHM6Ly9pMC5oZHNsYi5jb20vYmZzL2ZhY2UvZDExY2MzMWJiZjQxNjVkNjYxNDNkNTdiYjc1ZjdlYWFlNzU2ZDhmMy5qcGciByNFMTdBRkYoAkInCO7xiwsoKTIG5oOz5rOVOIvC/QdAi8L9B0iEof8HUP/RnwNYAWADSiEIoQEQhZUCGgznvoHnu4rlrp3nm5IqBueIhuWHujDogQJSgwUIiJUCEgznlJzonJzlpZHnuqYYBSACKLiRAjC4kQI4iIkKQgRnb2xkShM0ODEzMzc5NTA4NTI0Njk5MTM3UK6E7NQGWAFiJGVjMjM4ZGI4LTI0MGMtNGQ4MC1iMTAxLWNhZmNmNGNkMjMxNmgKcJjXCngIhQEAAIA/iAEBkgEG5oqV5ZaCqAECwAHmg5wP6gETCgznmb3npLxCYWlsaWkQ5d/aDIoC3gEI5d/aDBLWAQoM55m956S8QmFpbGlpEkpodHRwczovL2kwLmhkc2xiLmNvbS9iZnMvZmFjZS84NjAzZWNjMzAyMzY2OGM1YzVkNTcwN2Q0MWFiZDc5ZjlkMjlmYWQ2LmpwZzJaCgznmb3npLxCYWlsaWkSSmh0dHBzOi8vaTAuaGRzbGIuY29tL2Jmcy9mYWNlLzg2MDNlY2MzMDIzNjY4YzVjNWQ1NzA3ZDQxYWJkNzlmOWQyOWZhZDYuanBnOh4IBxIaYmlsaWJpbGnnm7Tmkq3pq5jog73kuLvmkq2SAgIQApoC6gEKSmh0dHBzOi8vczEuaGRzbGIuY29tL2Jmcy9saXZlLzRiMzc5NmIyNjc2YWFmMmJjZDQzMjgzNzEwZDEzZTNiYjY2MzllNDIucG5nEktodHRwczovL2kwLmhkc2xiLmNvbS9iZnMvbGl2ZS8yNGYzY2ZjODliZTU2M2U1ZGMyMWI5YjkxYjc5NTM3MmNjZTc3ZmQwLndlYnAY7ikgASpKaHR0cHM6Ly9pMC5oZHNsYi5jb20vYmZzL2xpdmUvNTlkMjIxZDc3Yjc3YjNjNDZjOWMwMmRmYzhkNDcxNDcxNDhjNWJlMS5naWagAriRAqoCAggCUoMFCIeVAhIM5pif5YWJ54K554K5GAUgAiignAEwoJwBOIiJCkIEZ29sZEoTNDgxMzM3OTUwODUyNDY5OTEzNlCuhOzUBlgBYiRmZWM3NGM5My03MGQwLTQxYzItODU0Ni1iMTFlNTJiZDM1MWVoCnCgjQZ4BYUBAACAP4gBAZIBBuaKleWWgqgBAsAB+P2bD+oBEwoM55m956S8QmFpbGlpEOXf2gyKAt4BCOXf2gwS1gEKDOeZveekvEJhaWxpaRJKaHR0cHM6Ly9pMC5oZHNsYi5jb20vYmZzL2ZhY2UvODYwM2VjYzMwMjM2NjhjNWM1ZDU3MDdkNDFhYmQ3OWY5ZDI5ZmFkNi5qcGcyWgoM55m956S8QmFpbGlpEkpodHRwczovL2kwLmhkc2xiLmNvbS9iZnMvZmFjZS84NjAzZWNjMzAyMzY2OGM1YzVkNTcwN2Q0MWFiZDc5ZjlkMjlmYWQ2LmpwZzoeCAcSGmJpbGliaWxp55u05pKt6auY6IO95Li75pKtkgICEAKaAuoBCkpodHRwczovL3MxLmhkc2xiLmNvbS9iZnMvbGl2ZS85MzRiOTYxMThkNzAzZjc5NTQ2NzYyMDA3MTEwODMwOGRhNjM3MTJhLnBuZxJLaHR0cHM6Ly9pMC5oZHNsYi5jb20vYmZzL2xpdmUvMzI2NDFmNTBjMjdiYmNiYmY3MDM0ZTg2NjY4NDJjODdlZWE1MWYzZS53ZWJwGO0pIAEqSmh0dHBzOi8vaTAuaGRzbGIuY29tL2Jmcy9saXZlLzZiZjQxMGNlYzNhZmE5MGFmNDlhOTRkYzA4ZjM0MzQyNjE1NWIwZjQuZ2lmoAKgnAGqAgIIAlgBagIIPHqSAwiS/JsXEtUBChXnmb3npLznmoTprZTms5Xog5bmrKESSmh0dHBzOi8vaTAuaGRzbGIuY29tL2Jmcy9mYWNlL2QxMWNjMzFiYmY0MTY1ZDY2MTQzZDU3YmI3NWY3ZWFhZTc1NmQ4ZjMuanBnMmMKFeeZveekvOeahOmtlOazleiDluasoRJKaHR0cHM6Ly9pMC5oZHNsYi5jb20vYmZzL2ZhY2UvZDExY2MzMWJiZjQxNjVkNjYxNDNkNTdiYjc1ZjdlYWFlNzU2ZDhmMy5qcGc6CyD///////////8BGrIBCgnnmb3npLznlJwQOxiLwv0HIISh/wco1ND/BzCLwv0HSAFQ5d/aDFgCYNmd9whqSmh0dHBzOi8vaTAuaGRzbGIuY29tL2Jmcy9saXZlLzYyYWMwNmZkNzJiMDVmZTIyYmUyNjQyNmI5ZTFhOGUxZmMyYzZiODkucG5negkjRUM0RjZFOTmCAQkjRUM0RjZFOTmKAQcjRjE4MDg3kgEHI0ZGRkZGRpoBCSNFQzRGNkVFNg==";

Deno.test("normalizeMessage() reads the receiver of a real SEND_GIFT_V2 and no rnd from its batch_combo_id", () => {
  const events = normalizeBody({ cmd: "SEND_GIFT_V2", data: { pb: GIFT_V2_BLIND_BOX } });
  assert.equal(events.length, 2);
  const expected = {
    type: "gift",
    cmd: "SEND_GIFT_V2",
    tsMs: 1788543534000,
    uid: 48692754,
    uname: "白礼的魔法胖次",
    giftId: 35464,
    giftName: "甜蜜契约",
    num: 5,
    coinType: "gold",
    price: 35000,
    totalCoin: 165000, // 5 × the 33000 box, not 5 × 35000
    tid: "4813379508524699137",
    rnd: null, // field 12 is the batch_combo_id "ec238db8-240c-4d80-b101-cafcf4cd2316"
    action: "投喂",
    guardLevel: 2,
    blindBoxGiftName: "羁绊宝盒",
    blindBoxGiftPrice: 33000,
    receiverUid: 26652645, // gift_list[0].receive_user_info {1 "白礼Bailii", 2 26652645}
    medalName: "想法",
    medalLevel: 41,
    medalAnchorUid: 23263470,
  };
  assert.deepEqual(pick(events[0] as GiftEvent, expected), expected);
  const second = { giftName: "星光点点", price: 20000, totalCoin: 165000, receiverUid: 26652645 };
  assert.deepEqual(pick(events[1], { ...second, tid: 0, rnd: 0 }), {
    ...second,
    tid: "4813379508524699136",
    rnd: null,
  });
});

// --- SUPER_CHAT_MESSAGE ----------------------------------------------------------------------

function superChat(data: Record<string, unknown>) {
  return {
    cmd: "SUPER_CHAT_MESSAGE",
    data: {
      id: 12165373,
      uid: 3546705376003069,
      price: 30,
      message: "主播晚上好，今天唱什么",
      message_font_color: "#A3F6FF",
      start_time: 1748172130,
      end_time: 1748172190,
      time: 60,
      user_info: { uname: "観測者A", guard_level: 0, user_level: 12 },
      ...data,
    },
    roomid: 21452505,
  };
}

Deno.test("normalizeMessage() takes a 2025 super chat's translation from message_trans", () => {
  const trans = "配信者さん、こんばんは。今日は何を歌いますか";
  const read = (data: Record<string, unknown>) =>
    (normalizeBody(superChat(data))[0] as SuperChatEvent).messageJpn;
  assert.equal(read({ message_trans: trans }), trans);
  assert.equal(read({ message_jpn: "", message_trans: trans }), trans);
  assert.equal(read({ message_jpn: "JPN", message_trans: trans }), "JPN", "message_jpn first");
  assert.equal(read({ message_trans: "" }), null);
});

Deno.test("normalizeMessage() turns SUPER_CHAT_MESSAGE_DELETE into one deletion per id", () => {
  // sjh8130/bili_danmaku Testing.md (SUPER_CHAT_MESSAGE_DELETE).
  const events = normalizeBody({
    cmd: "SUPER_CHAT_MESSAGE_DELETE",
    data: { ids: [3897503, "3897504", "x", null] },
    roomid: 23708804,
  }) as SuperChatDeletionEvent[];
  assert.deepEqual(events, [
    { type: "superChatDeletion", roomId: ROOM, receivedAtMs: AT, scId: 3897503 },
    { type: "superChatDeletion", roomId: ROOM, receivedAtMs: AT, scId: 3897504 },
  ]);
  assert.ok(malformed({ cmd: "SUPER_CHAT_MESSAGE_DELETE", data: { ids: [] } }));
  assert.ok(malformed({ cmd: "SUPER_CHAT_MESSAGE_DELETE", data: {} }));
  const many = Array.from({ length: 5000 }, (_, i) => i + 1);
  const bounded = normalizeBody({ cmd: "SUPER_CHAT_MESSAGE_DELETE", data: { ids: many } });
  assert.equal(bounded.length, 1000, "at most 1000 ids per message");
});

// --- ENTRY_EFFECT ----------------------------------------------------------------------------

// A debug log quoted in a public Go collector (2024-01): trigger_time beyond 2^53, name in uinfo.
const ENTRY_2024 = {
  cmd: "ENTRY_EFFECT",
  data: {
    id: 135,
    uid: 297462432,
    target_id: 1402851423,
    mock_effect: 0,
    face: "https://i0.hdslb.com/bfs/face/80b9e93131f7815ada27960858850391ccbf1097.jpg",
    privilege_type: 0,
    copy_writing: "欢迎 <%梯度上升%> 进入直播间",
    copy_color: "#000000",
    highlight_color: "#FFF100",
    priority: 1,
    business: 3,
    copy_writing_v2: "欢迎 <^icon^> <%梯度上升%> 进入直播间",
    icon_list: [1],
    max_delay_time: 7,
    trigger_time: 1704534340507624467,
    identities: 22,
    wealthy_info: null,
    new_style: 0,
    is_mystery: false,
    uinfo: { uid: 297462432, base: { name: "梯度上升", is_mystery: false } },
  },
};

Deno.test("normalizeMessage() reads ENTRY_EFFECT: nanosecond trigger_time, name from uinfo", () => {
  const events = normalizeBody(ENTRY_2024) as EntryEvent[];
  assert.deepEqual(events, [{
    type: "entry",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "ENTRY_EFFECT",
    tsMs: 1704534340507,
    uid: 297462432,
    uname: "梯度上升",
    guardLevel: 0,
    wealthLevel: null,
    effectId: 135,
    copyWriting: "欢迎 <%梯度上升%> 进入直播间",
  }]);
});

Deno.test("normalizeMessage() reads a guard's ENTRY_EFFECT_MUST_RECEIVE: privilege, wealth and the name in copy_writing", () => {
  // qydysky/bili_danmu Reply/ws_msg/ENTRY_EFFECT_MUST_RECEIVE.go (no uinfo, no trigger_time),
  // made a 舰长 entry with a wealth level as sjh8130/bili_danmaku Testing.md shows them.
  const [event] = normalizeBody({
    cmd: "ENTRY_EFFECT_MUST_RECEIVE",
    data: {
      id: 4,
      uid: 29183321,
      target_id: 612524985,
      privilege_type: 3,
      copy_writing: "欢迎舰长 <%qydysky...%> 进入直播间",
      business: 1,
      wealthy_info: { cur_score: 113700, level: 20, status: 1, uid: 29183321 },
    },
  }) as EntryEvent[];
  const expected = {
    cmd: "ENTRY_EFFECT_MUST_RECEIVE",
    tsMs: null,
    uid: 29183321,
    uname: "qydysky...",
    guardLevel: 3,
    wealthLevel: 20,
    effectId: 4,
  };
  assert.deepEqual(pick(event, expected), expected);
  const flat = normalizeBody({ cmd: "ENTRY_EFFECT", data: { uid: 7, wealth_level: 12 } });
  assert.equal((flat[0] as EntryEvent).wealthLevel, 12, "wealth_level when wealthy_info is absent");
  const uinfoOnly = normalizeBody({ cmd: "ENTRY_EFFECT", data: { uinfo: { uid: 8 } } });
  assert.equal((uinfoOnly[0] as EntryEvent).uid, 8, "uinfo.uid when uid is absent");
  assert.ok(malformed({ cmd: "ENTRY_EFFECT", data: { copy_writing: "欢迎进入直播间" } }));
});

// --- ANCHOR_LOT_* ----------------------------------------------------------------------------

// sjh8130/bili_danmaku Testing.md (2024-01-19), shortened to the fields read.
const LOT_START = {
  cmd: "ANCHOR_LOT_START",
  data: {
    award_name: "PS5轻薄版1台",
    award_num: 1,
    current_time: 1705662414,
    danmu: "2023游戏区年度盘点冲冲冲！",
    gift_id: 0,
    gift_name: "",
    gift_num: 1,
    gift_price: 0,
    id: 5708694,
    max_time: 300,
    require_text: "关注主播",
    require_type: 1,
    room_id: 5440,
    time: 299,
  },
};

Deno.test("normalizeMessage() reads the three phases of a 天选时刻 lottery under one lotId", () => {
  const [start] = normalizeBody(LOT_START) as LotteryEvent[];
  assert.deepEqual(start, {
    type: "lottery",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "ANCHOR_LOT_START",
    phase: "start",
    lotId: 5708694,
    awardName: "PS5轻薄版1台",
    awardNum: 1,
    danmu: "2023游戏区年度盘点冲冲冲！",
    giftName: null,
    giftNum: null,
    requireText: "关注主播",
    durationS: 300,
    winners: null,
    winnerCount: null,
  });
  const [end] = normalizeBody({ cmd: "ANCHOR_LOT_END", data: { id: 5708694 } }) as LotteryEvent[];
  assert.deepEqual(pick(end, { phase: 0, lotId: 0, awardName: 0, danmu: 0, winners: 0 }), {
    phase: "end",
    lotId: 5708694,
    awardName: null,
    danmu: null,
    winners: null,
  });
  const [award] = normalizeBody({
    cmd: "ANCHOR_LOT_AWARD",
    data: {
      award_name: "情书",
      award_num: 1,
      award_price_text: "价值52电池",
      award_users: [{
        bag_id: 9999,
        color: 9999,
        gift_id: 31250,
        level: 21,
        num: 1,
        uid: 9999,
        uname: "XXX",
      }],
      id: 5708694,
      lot_status: 2,
      ruid: 9999,
    },
  }) as LotteryEvent[];
  const expected = {
    phase: "award",
    lotId: 5708694,
    awardName: "情书",
    awardNum: 1,
    winners: '[{"uid":9999,"uname":"XXX"}]',
    winnerCount: 1,
    danmu: null,
    durationS: null,
  };
  assert.deepEqual(pick(award, expected), expected);
  assert.ok(malformed({ cmd: "ANCHOR_LOT_END", data: {} }), "a lottery without an id");
});

Deno.test("normalizeMessage() reads a gift lottery's gift and bounds the winners it writes", () => {
  const gift = { ...LOT_START.data, gift_id: 31036, gift_name: "小花花", gift_num: 10 };
  const [start] = normalizeBody({ cmd: "ANCHOR_LOT_START", data: gift }) as LotteryEvent[];
  assert.equal(start.giftName, "小花花");
  assert.equal(start.giftNum, 10);
  const users = Array.from({ length: 1500 }, (_, i) => ({ uid: i + 1, uname: `u${i + 1}` }));
  const [award] = normalizeBody({
    cmd: "ANCHOR_LOT_AWARD",
    data: { id: 1, award_users: users },
  }) as LotteryEvent[];
  assert.equal(award.winnerCount, 1500);
  assert.equal(JSON.parse(award.winners ?? "[]").length, 1000, "at most 1000 winners written");
});

// --- rankings --------------------------------------------------------------------------------

Deno.test("normalizeMessage() reads POPULAR, AREA and HOT rank changes with their ranking's name", () => {
  const bodies = [
    // sjh8130/bili_danmaku Testing.md (POPULAR_RANK_CHANGED), values from a live room.
    {
      cmd: "POPULAR_RANK_CHANGED",
      data: {
        uid: 12345,
        rank: 37,
        countdown: 1712,
        timestamp: 1672502400,
        cache_key: "rank_change:ff",
      },
    },
    // qydysky/bili_danmu Reply/ws_msg/AREA_RANK_CHANGED.go (2023).
    {
      cmd: "AREA_RANK_CHANGED",
      data: {
        conf_id: 22,
        rank_name: "网游航海",
        uid: 19738891,
        rank: 0,
        action_type: 1,
        timestamp: 1673762370,
        msg_id: "4477c0ae-c259-4a22-82aa-ff76fa806246",
      },
    },
    // qydysky/bili_danmu Reply/ws_msg/HOT_RANK_CHANGED.go types countdown and timestamp as strings.
    {
      cmd: "HOT_RANK_CHANGED_V2",
      data: {
        rank: 4,
        trend: 1,
        countdown: "1560",
        timestamp: "1673762400",
        area_name: "单机游戏",
      },
    },
  ];
  const events = bodies.flatMap((body) => normalizeBody(body)) as RankChangeEvent[];
  assert.deepEqual(events.map((e) => [e.type, e.rankName, e.rank, e.countdownS, e.tsMs]), [
    ["rankChange", "popular", 37, 1712, 1672502400000],
    ["rankChange", "网游航海", 0, null, 1673762370000],
    ["rankChange", "单机游戏", 4, 1560, 1673762400000],
  ]);
  assert.ok(malformed({ cmd: "HOT_RANK_CHANGED", data: { area_name: "x" } }), "no rank");
});

Deno.test("normalizeMessage() reads ONLINE_RANK_V2 from online_list when list is absent", () => {
  const events = normalizeBody({
    cmd: "ONLINE_RANK_V2",
    data: {
      online_list: [
        { uid: 0, uname: "观***", score: "1200", rank: 1, guard_level: 3, is_mystery: false },
        { uinfo: { uid: 2, base: { name: "二号" } }, score: "x" },
      ],
      rank_type: "online_rank",
    },
  }) as OnlineRankEvent[];
  assert.deepEqual(
    events.map((e) => [e.rankType, e.rank, e.uid, e.uname, e.score, e.guardLevel]),
    [["online_rank", 1, 0, "观***", 1200, 3], ["online_rank", 2, 2, "二号", null, 0]],
  );
  assert.deepEqual(normalizeBody({ cmd: "ONLINE_RANK_V2", data: { list: [] } }), []);
  assert.ok(malformed({ cmd: "ONLINE_RANK_V2", data: { rank_type: "gold-rank" } }));
  const list = Array.from({ length: 150 }, (_, i) => ({ uid: i + 1, rank: i + 1, score: "1" }));
  const bounded = normalizeBody({ cmd: "ONLINE_RANK_V2", data: { list } });
  assert.equal(bounded.length, 100, "at most 100 ranking items per message");
});

/** A GoldRankBroadcast item {1 uid, 2 face, 3 score, 4 uname, 5 rank, 6 guard_level, 7 is_mystery}. */
function goldRankItem(uid: number, score: string, uname: string, rank: number, guard: number) {
  return new ProtoWriter().varint(1, uid).bytes(
    2,
    "https://i0.hdslb.com/bfs/face/member/noface.jpg",
  )
    .bytes(3, score).bytes(4, uname).varint(5, rank).varint(6, guard).varint(7, false);
}

Deno.test("normalizeMessage() decodes ONLINE_RANK_V3's GoldRankBroadcast into one onlineRank per viewer", () => {
  const pb = new ProtoWriter()
    .bytes(1, "online_rank")
    .bytes(2, goldRankItem(3546571385866489, "5200", "孤丶独の观测者", 1, 3))
    .bytes(2, goldRankItem(2351778, "1000", "橘枳橼", 2, 0))
    .finish();
  const events = normalizeBody({
    cmd: "ONLINE_RANK_V3",
    data: { pb: pb.toBase64() },
  }) as OnlineRankEvent[];
  assert.deepEqual(events[0], {
    type: "onlineRank",
    roomId: ROOM,
    receivedAtMs: AT,
    cmd: "ONLINE_RANK_V3",
    rankType: "online_rank",
    rank: 1,
    uid: 3546571385866489,
    uname: "孤丶独の观测者",
    score: 5200,
    guardLevel: 3,
  });
  assert.deepEqual(events.map((e) => [e.rank, e.uid]), [[1, 3546571385866489], [2, 2351778]]);
  const onlineList = new ProtoWriter().bytes(1, "gold-rank")
    .bytes(3, goldRankItem(9, "", "九", 1, 0)).finish();
  const [fromOnline] = normalizeBody({
    cmd: "ONLINE_RANK_V3",
    data: { pb: onlineList.toBase64() },
  }) as OnlineRankEvent[];
  assert.deepEqual([fromOnline.uid, fromOnline.score], [9, null], "online_list, empty score");
  assert.ok(malformed({ cmd: "ONLINE_RANK_V3", data: { pb: "!!" } }));
});

// --- notices ---------------------------------------------------------------------------------

Deno.test("normalizeMessage() stores notices, aggregations, guard honours and banners as room states", () => {
  const bodies = [
    // sjh8130/bili_danmaku Testing.md (NOTICE_MSG keeps its fields at the top level).
    {
      cmd: "NOTICE_MSG",
      id: 2,
      name: "分区道具抽奖广播样式",
      full: { head_icon: "", tail_icon: "" },
      roomid: 23058,
      real_roomid: 23058,
      msg_common: "<%暗影骑士%>投喂:<%某主播%>1个小电视飞船，点击前往TA的房间吧！",
      msg_self: "<%暗影骑士%>投喂:<%某主播%>1个小电视飞船，快来抽奖吧！",
      link_url: "https://live.bilibili.com/23058",
      msg_type: 2,
    },
    // qydysky/bili_danmu Reply/ws_msg/COMMON_NOTICE_DANMAKU.go.
    {
      cmd: "COMMON_NOTICE_DANMAKU",
      data: {
        content_segments: [
          { font_color: "#FB7299", text: "大肚罐罐子在元气赏中五连抽！", type: 1 },
          { font_color: "#FB7299", text: "送出了好多礼物！", type: 1 },
        ],
        dmscore: 144,
        terminals: [1, 2, 3, 4, 5],
      },
    },
    // sjh8130/bili_danmaku Testing.md (DANMU_AGGREGATION, 2023-12).
    {
      cmd: "DANMU_AGGREGATION",
      data: {
        activity_identity: "5475890",
        activity_source: 1,
        aggregation_cycle: 1,
        aggregation_num: 999,
        broadcast_msg_type: 0,
        dmscore: 144,
        msg: "蔷薇与铳枪",
        show_rows: 1,
        show_time: 2,
        timestamp: 1702037680,
      },
    },
    { cmd: "GUARD_HONOR_THOUSAND", data: { add: [9999], del: [] } },
    { cmd: "WIDGET_BANNER", data: { timestamp: 1702037681, widget_list: { "1": null } } },
  ];
  const events = bodies.flatMap((body) => normalizeBody(body)) as RoomStateEvent[];
  assert.deepEqual(events.map((e) => [e.type, e.cmd, e.kind, e.message, e.tsMs]), [
    [
      "roomState",
      "NOTICE_MSG",
      "notice",
      "<%暗影骑士%>投喂:<%某主播%>1个小电视飞船，点击前往TA的房间吧！",
      null,
    ],
    [
      "roomState",
      "COMMON_NOTICE_DANMAKU",
      "notice",
      "大肚罐罐子在元气赏中五连抽！送出了好多礼物！",
      null,
    ],
    ["roomState", "DANMU_AGGREGATION", "danmaku_aggregation", "蔷薇与铳枪", 1702037680000],
    ["roomState", "GUARD_HONOR_THOUSAND", "guard_honor", null, null],
    ["roomState", "WIDGET_BANNER", "widget_banner", null, 1702037681000],
  ]);
  events.forEach((event, i) => assert.equal(event.text, JSON.stringify(bodies[i])));
});

Deno.test("normalizeMessage() stores nothing for STOP_LIVE_ROOM_LIST, which lists other rooms", () => {
  const body = { cmd: "STOP_LIVE_ROOM_LIST", data: { room_id_list: [21452505, 23058, 5440] } };
  const unknown: string[] = [];
  assert.deepEqual(normalizeBody(body, { onUnknownCmd: (c) => unknown.push(c) }), []);
  assert.deepEqual(unknown, []);
  const kept = normalizeBody(body, { keepRaw: true }) as RawEvent[];
  assert.deepEqual(kept.map((e) => [e.type, e.reason]), [["raw", "kept"]]);
});

// --- odd input -------------------------------------------------------------------------------

/** Replaces random nodes of a JSON value with values of the wrong type. */
function mutate(value: unknown, random: () => number): unknown {
  const junk = [null, 0, -1, 1e300, "", "x", "1e999", [], {}, true, [null], { a: null }];
  if (random() < 0.1) return junk[Math.floor(random() * junk.length)];
  if (Array.isArray(value)) return value.map((v) => mutate(v, random));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === "cmd" ? v : mutate(v, random)]),
    );
  }
  return value;
}

Deno.test("normalizeMessage() turns mutated bodies of the new cmds into bindable events or raw ones", () => {
  const bodies: unknown[] = [
    DANMU_2018,
    ENTRY_2024,
    LOT_START,
    superChat({ message_trans: "t" }),
    { cmd: "SUPER_CHAT_MESSAGE_DELETE", data: { ids: [1, "2"] } },
    { cmd: "ANCHOR_LOT_AWARD", data: { id: 1, award_users: [{ uid: 1, uname: "a" }] } },
    { cmd: "POPULAR_RANK_CHANGED", data: { rank: 1, countdown: 2, timestamp: 1672502400 } },
    { cmd: "ONLINE_RANK_V2", data: { list: [{ uid: 1, rank: 1, score: "1" }] } },
    { cmd: "COMMON_NOTICE_DANMAKU", data: { content_segments: [{ text: "a" }] } },
    { cmd: "SEND_GIFT_V2", data: { pb: GIFT_V2_BLIND_BOX } },
  ];
  const random = seededRandom(20261201);
  for (let i = 0; i < 5000; i++) {
    const body = mutate(bodies[i % bodies.length], random);
    const text = JSON.stringify(body);
    const out: CollectedEvent[] = [];
    normalizeMessage(body, text, { roomId: ROOM, receivedAtMs: AT, keepRaw: false }, out);
    for (const event of out) {
      assert.ok(
        Object.values(event).every((v) =>
          v === null || typeof v === "string" || typeof v === "boolean" ||
          (typeof v === "number" && Number.isFinite(v))
        ),
        JSON.stringify(event),
      );
    }
  }
});
