/**
 * A small known danmaku database for the export and stats tests (numbers in the comments are
 * what the tests assert). Room A (1001) has 207 danmaku: 201 typed by viewers in 10-minute
 * windows and 6 sent by a lottery; two sessions with a 2-minute gap, gifts, two super chats (one
 * deleted) and a guard. Room B (2002) has 2 danmaku, an open session and one row of each table
 * that schema version 2 added.
 */
import type {
  CollectedEvent,
  DanmakuEvent,
  GiftEvent,
  GuardBuyEvent,
  SuperChatEvent,
} from "../../src/normalize/events.ts";
import { SqliteStore } from "../../src/storage/sqlite_store.ts";

/** Room with most of the data. */
export const ROOM_A = 1001;
/** Room with two danmaku and an open session. */
export const ROOM_B = 2002;
/** 2024-05-01T12:00:00Z, start of room A's first session. */
export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const MIN = 60_000;

/** Texts that break naive CSV, JSON and XML writers (the third has no server time). */
export const TRICKY = [
  'He said "hi", then left',
  "tab\there",
  "line1\nline2",
  "crlf\r\nand lone cr\rend",
  "中文弹幕，逗号",
  "emoji 🎉👍🏽 ok",
  "<&> ]]> &amp; '\"",
  "bell\u0007x\u001fy",
  " padded ",
  "",
  "=1+1",
  "a,b;c|d",
] as const;

/** A danmaku with defaults for every field. */
export function danmaku(overrides: Partial<DanmakuEvent> = {}): DanmakuEvent {
  return {
    type: "danmaku",
    roomId: ROOM_A,
    receivedAtMs: T0 + 200,
    cmd: "DANMU_MSG",
    tsMs: T0,
    uid: 8,
    uname: "Bob",
    text: "hi",
    msgId: null,
    userHash: "1a2b3c4d",
    isAdmin: false,
    guardLevel: 0,
    userLevel: 12,
    mode: 1,
    fontSize: 25,
    color: 16777215,
    dmType: 0,
    emoticon: null,
    replyToUid: null,
    replyToUname: null,
    lotteryType: 0,
    medalName: null,
    medalLevel: null,
    medalAnchorUname: null,
    medalAnchorRoomId: null,
    medalAnchorUid: null,
    ...overrides,
  };
}

function gift(overrides: Partial<GiftEvent>): GiftEvent {
  return {
    type: "gift",
    roomId: ROOM_A,
    receivedAtMs: T0 + 30 * MIN,
    cmd: "SEND_GIFT",
    tsMs: T0 + 30 * MIN,
    uid: 8,
    uname: "Bob",
    giftId: 1,
    giftName: "辣条",
    num: 1,
    coinType: "silver",
    price: 100,
    totalCoin: 100,
    priceCny: 0,
    tid: null,
    rnd: null,
    action: "投喂",
    guardLevel: 0,
    blindBoxGiftName: null,
    blindBoxGiftPrice: null,
    receiverUid: 999,
    medalName: "牌子",
    medalLevel: 3,
    medalAnchorUname: "主播A",
    medalAnchorRoomId: ROOM_A,
    medalAnchorUid: 999,
    ...overrides,
  };
}

function superChat(overrides: Partial<SuperChatEvent>): SuperChatEvent {
  return {
    type: "superChat",
    roomId: ROOM_A,
    receivedAtMs: T0 + 40 * MIN,
    cmd: "SUPER_CHAT_MESSAGE",
    scId: 1,
    uid: 42,
    uname: 'Alice, "A"',
    message: "SC",
    messageJpn: null,
    priceCny: 30,
    durationS: 60,
    startTimeMs: T0 + 40 * MIN,
    endTimeMs: T0 + 41 * MIN,
    userLevel: 20,
    guardLevel: 3,
    medalName: null,
    medalLevel: null,
    medalAnchorUname: null,
    medalAnchorRoomId: null,
    medalAnchorUid: null,
    ...overrides,
  };
}

function guard(): GuardBuyEvent {
  return {
    type: "guardBuy",
    roomId: ROOM_A,
    receivedAtMs: T0 + 50 * MIN + 1000,
    cmd: "USER_TOAST_MSG",
    uid: 7,
    uname: "小明",
    guardLevel: 3,
    num: 1,
    priceCny: 198,
    unit: "月",
    startTimeMs: T0 + 50 * MIN,
    endTimeMs: T0 + 50 * MIN,
    payflowId: "pay-1",
    giftId: 10003,
    giftName: "舰长",
  };
}

/**
 * Room A danmaku: window w (10 minutes from T0) holds 20 danmaku 25 s apart, except window 6
 * (none; only 80 % covered by sessions) and window 9 (1 danmaku). Window 0: the 12 TRICKY texts
 * from uid 42 then 8 × "哈哈哈哈哈" from masked uid 0; other windows: even i "ＨＥＬＬＯ  world",
 * odd i "哈哈哈", uid 7 "小明" when i % 4 == 0, else uid 8 "Bob".
 * Totals: 201 danmaku; phrases 哈哈哈 98, hello world 91; senders Bob 135, 小明 46, Alice 12;
 * 8 masked.
 */
export function roomADanmaku(): DanmakuEvent[] {
  const out: DanmakuEvent[] = [];
  let serial = 0;
  for (let w = 0; w < 12; w++) {
    const count = w === 6 ? 0 : w === 9 ? 1 : 20;
    for (let i = 0; i < count; i++) {
      const ts = T0 + w * 10 * MIN + i * 25_000;
      let fields: Partial<DanmakuEvent>;
      if (w === 0 && i < TRICKY.length) {
        fields = {
          uid: 42,
          uname: 'Alice, "A"',
          text: TRICKY[i],
          replyToUid: 8,
          replyToUname: "Bob",
        };
      } else if (w === 0) {
        // Masked senders: uid 0, but the user hash still tells them apart.
        fields = {
          uid: 0,
          uname: "提***",
          text: "哈哈哈哈哈",
          userHash: i % 3 === 0 ? "aa11bb22" : "cc33dd44",
        };
      } else {
        fields = {
          uid: i % 4 === 0 ? 7 : 8,
          uname: i % 4 === 0 ? "小明" : "Bob",
          text: i % 2 === 0 ? "ＨＥＬＬＯ  world" : "哈哈哈",
        };
      }
      out.push(danmaku({
        tsMs: w === 0 && i === 2 ? null : ts,
        receivedAtMs: ts + 200,
        msgId: `m${serial++}`,
        ...fields,
      }));
    }
  }
  return out;
}

/**
 * Room A danmaku sent by a 天选时刻 lottery (lotteryType 2), all "冲冲冲" in minute 65 (window 6,
 * which no other danmaku has and throttling does not judge): 4 from Alice (uid 42), 2 from a
 * masked sender (hash "ee55ff66"). `stats` leaves them out unless --include-lottery; then
 * density peaks at 6 in that minute, Alice has 16, 冲冲冲 6, and 10 are masked.
 */
export function roomALotteryDanmaku(): DanmakuEvent[] {
  return Array.from({ length: 6 }, (_, i) => {
    const ts = T0 + 65 * MIN + i * 5000;
    const sender: Partial<DanmakuEvent> = i < 4
      ? { uid: 42, uname: 'Alice, "A"' }
      : { uid: 0, uname: "提***", userHash: "ee55ff66" };
    return danmaku({
      tsMs: ts,
      receivedAtMs: ts + 200,
      msgId: `lot${i}`,
      text: "冲冲冲",
      lotteryType: 2,
      ...sender,
    });
  });
}

/** Every event of the known database. */
export function fixtureEvents(): CollectedEvent[] {
  return [
    ...roomBNotices(),
    {
      type: "room",
      roomId: ROOM_A,
      receivedAtMs: T0,
      shortId: 5,
      anchorUid: 999,
      uname: "主播A",
      title: '标题 <test> & "x"',
      areaId: 1,
      areaName: "聊天",
      parentAreaId: 2,
      parentAreaName: "娱乐",
      liveStatus: 1,
      seenAtMs: T0,
    },
    {
      type: "roomState",
      roomId: ROOM_A,
      receivedAtMs: T0 - MIN,
      cmd: "LIVE",
      kind: "live",
      tsMs: T0 - MIN,
      liveKey: "k1",
      title: null,
      areaId: null,
      areaName: null,
      parentAreaId: null,
      parentAreaName: null,
      uid: null,
      uname: null,
      message: null,
      text: '{"cmd":"LIVE"}',
    },
    session("a1", ROOM_A, T0, T0 + 60 * MIN),
    session("a2", ROOM_A, T0 + 62 * MIN, T0 + 120 * MIN),
    session("b1", ROOM_B, T0, null),
    ...roomADanmaku(),
    ...roomALotteryDanmaku(),
    danmaku({ roomId: ROOM_B, tsMs: T0 + 5000, receivedAtMs: T0 + 5200, msgId: "b0" }),
    danmaku({ roomId: ROOM_B, tsMs: T0 + 10_000, receivedAtMs: T0 + 10_200, msgId: "b1" }),
    gift({
      tid: "t1",
      coinType: "gold",
      price: 100,
      num: 10,
      totalCoin: 1000,
      priceCny: 1,
      giftName: "小花花",
    }),
    gift({
      tid: "t2",
      coinType: "gold",
      price: 52_000,
      num: 1,
      totalCoin: 52_000,
      priceCny: 52,
      giftName: "告白气球",
      uid: 42,
      uname: 'Alice, "A"',
    }),
    gift({ tid: "t3", num: 5, totalCoin: 500 }),
    superChat({ scId: 1, message: 'SC <&> "quoted"\n第二行', priceCny: 30 }),
    superChat({
      scId: 2,
      message: "thanks",
      priceCny: 50,
      uid: 8,
      uname: "Bob",
      startTimeMs: T0 + 45 * MIN,
    }),
    // Super chat 2 (50 CNY) was deleted: stats leaves it out of the value.
    { type: "superChatDeletion", roomId: ROOM_A, receivedAtMs: T0 + 46 * MIN, scId: 2 },
    guard(),
    {
      type: "interaction",
      roomId: ROOM_A,
      receivedAtMs: T0 + 1000,
      cmd: "INTERACT_WORD",
      kind: "enter",
      msgType: 1,
      uid: 8,
      uname: "Bob",
      tsMs: T0 + 1000,
      guardLevel: 0,
      medalName: null,
      medalLevel: null,
      medalAnchorUname: null,
      medalAnchorRoomId: null,
      medalAnchorUid: null,
    },
    {
      type: "interaction",
      roomId: ROOM_A,
      receivedAtMs: T0 + 2000,
      cmd: "LIKE_INFO_V3_CLICK",
      kind: "like",
      msgType: 6,
      uid: 0,
      uname: "提***",
      tsMs: null,
      guardLevel: 0,
      medalName: null,
      medalLevel: null,
      medalAnchorUname: null,
      medalAnchorRoomId: null,
      medalAnchorUid: null,
    },
    { type: "audience", roomId: ROOM_A, receivedAtMs: T0 + 3000, kind: "watched", value: 1234 },
  ];
}

function session(id: string, roomId: number, start: number, end: number | null): CollectedEvent {
  return {
    type: "session",
    roomId,
    receivedAtMs: start,
    sessionId: id,
    host: "127.0.0.1",
    transport: "tcp",
    startedAtMs: start,
    endedAtMs: end,
    reason: end === null ? null : "closed",
    messages: 0,
  };
}

/** A temp directory holding `fixture.db` (the known database); removed after `fn`. */
export async function withFixtureDb(
  fn: (db: string, dir: string) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_export_" });
  try {
    const db = `${dir}/fixture.db`;
    {
      using store = SqliteStore.open(db);
      store.write(fixtureEvents());
    }
    await fn(db, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One row for each table of schema version 2, in room B (no effect on room A's figures). */
function roomBNotices(): CollectedEvent[] {
  const at = T0 + 10_000;
  const base = { roomId: ROOM_B, receivedAtMs: at };
  return [
    {
      ...base,
      type: "entry",
      cmd: "ENTRY_EFFECT",
      tsMs: at - 100,
      uid: 8,
      uname: "Bob",
      guardLevel: 3,
      wealthLevel: 12,
      effectId: 4,
      copyWriting: "欢迎舰长 <%Bob%> 进入直播间",
    },
    { ...base, type: "superChatDeletion", scId: 77 },
    {
      ...base,
      type: "lottery",
      cmd: "ANCHOR_LOT_START",
      phase: "start",
      lotId: 5001,
      awardName: "小电视",
      awardNum: 1,
      danmu: "冲冲冲",
      giftName: null,
      giftNum: null,
      requireText: "无",
      durationS: 300,
      winners: null,
      winnerCount: null,
    },
    {
      ...base,
      type: "rankChange",
      cmd: "POPULAR_RANK_CHANGED",
      tsMs: at - 1000,
      rankName: "popular",
      rank: 37,
      countdownS: 1500,
    },
    {
      ...base,
      type: "onlineRank",
      cmd: "ONLINE_RANK_V2",
      rankType: "gold-rank",
      rank: 1,
      uid: 8,
      uname: "Bob",
      score: 1290,
      guardLevel: 3,
    },
  ];
}
