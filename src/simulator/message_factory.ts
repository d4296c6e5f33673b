/**
 * Realistic op-5 bodies (docs/protocol.md §4) built by cheap string templating: DANMU_MSG with the
 * full 18-element `info` (or, in rooms of an older era, the 2018 and 2021 layouts), gifts, super
 * chats (with deletions), guard buys, INTERACT_WORD_V2 protobuf, entry effects, 天选时刻 lotteries
 * with their keyword danmaku, rankings (ONLINE_RANK_V3 protobuf), counters, notices, room state
 * and unknown cmds. User-bearing bodies also come in the masked form anonymous connections see
 * (uid 0, `x***`).
 */
import { ProtoWriter } from "../protocol/protobuf.ts";
import { bodyTemplate, type BodyValue, BodyWriter, SLOT, utf8Bytes } from "./body_writer.ts";
import { Random } from "./random.ts";
import type { DanmakuEra, SimRoom, World } from "./world.ts";

/** One op-5 message as generated for a room. */
export interface SimMessage {
  /** Full cmd, suffix included (e.g. `DANMU_MSG:4:0:2:2:2:0`). */
  cmd: string;
  /**
   * Unique id within its room, as recorded in the truth file: `extra.id_str` for DANMU_MSG
   * (`info[0][5]`, the `rnd`, in the older layouts that have no `extra`), the top-level `msg_id`
   * for every other cmd.
   */
  id: string;
  /** Whether anonymous connections get a different body (masked names, uid 0). */
  personal: boolean;
  /**
   * Writes the JSON body as UTF-8: as logged-in connections receive it, or (`masked`) as
   * anonymous ones do. Bodies render only when some connection needs them.
   */
  write(out: BodyWriter, masked: boolean): void;
}

/** A message every connection gets alike: `body` is its whole JSON text. */
function shared(cmd: string, id: string, body: string): SimMessage {
  return { cmd, id, personal: false, write: (out) => out.text(body) };
}

/** A shared message of the usual layout: `cmd`, `msg_id`, `send_time` (ms), then `data` (JSON). */
function sharedData(cmd: string, id: string, now: number, data: string): SimMessage {
  return shared(cmd, id, `{"cmd":"${cmd}","msg_id":"${id}","send_time":${now},"data":${data}}`);
}

/** A message whose body differs for anonymous connections. */
function personal(
  cmd: string,
  id: string,
  render: (masked: boolean) => string,
): SimMessage {
  return { cmd, id, personal: true, write: (out, masked) => out.text(render(masked)) };
}

/** The JSON-encoded pieces of a user that bodies repeat, as UTF-8 (rendered once per user). */
interface UserBytes {
  name: Uint8Array;
  maskedName: Uint8Array;
  face: Uint8Array;
  /** DANMU_MSG `info[3]`, the fan medal of this room (users belong to one room's stream). */
  medal: Uint8Array;
  /** `user_hash`: FNV-1a of the uid, decimal, as lower-case and upper-case 8-digit hex. */
  hash: number;
  hashHex: string;
  hashHexUpper: string;
}

interface User {
  uid: number;
  name: string;
  face: string;
  level: number;
  guard: number;
  medalLevel: number;
  /** INTERACT_WORD_V2 pb pieces that never change for this user: [plain, masked]. */
  pb?: [Uint8Array, Uint8Array, Uint8Array][];
  /** ENTRY_EFFECT `data` around `trigger_time`, which is all that changes: [plain, masked]. */
  entry?: [string, string][];
  /** ONLINE_RANK_V3 item pieces (fields 1–2, field 4) that never change: [plain, masked]. */
  rankPb?: [Uint8Array, Uint8Array][];
  /** Body pieces that never change for this user. */
  bytes?: UserBytes;
}

/**
 * The constant parts of a user's INTERACT_WORD_V2 pb: fields 1–4, fields 9 and 12, field 22.
 * The per-message fields (5–8, 15) go between them, keeping field order.
 */
function interactSegments(
  room: SimRoom,
  user: User,
  masked: boolean,
): [Uint8Array, Uint8Array, Uint8Array] {
  const cache = user.pb ??= [];
  const index = masked ? 1 : 0;
  return cache[index] ??= (() => {
    const uid = masked ? 0 : user.uid;
    const name = masked ? maskName(user.name) : user.name;
    const face = masked ? NOFACE : user.face;
    const head = new ProtoWriter().varint(1, uid).bytes(2, name)
      .packed(4, user.guard ? [3, 1] : [1]).finish();
    const medal = new ProtoWriter();
    if (user.medalLevel > 0) {
      medal.bytes(
        9,
        new ProtoWriter().varint(1, room.uid).varint(2, user.medalLevel)
          .bytes(3, room.uname.slice(0, 3)).varint(4, 6067854).varint(12, room.roomId),
      );
    }
    medal.bytes(12, new Uint8Array(0));
    const uinfo = new ProtoWriter().bytes(
      22,
      new ProtoWriter().varint(1, uid).bytes(
        2,
        new ProtoWriter().bytes(1, name).bytes(2, face).bytes(
          6,
          new ProtoWriter().bytes(1, name).bytes(2, face),
        ),
      ),
    ).finish();
    return [head, medal.finish(), uinfo];
  })();
}

/** A 天选时刻 lottery under way in a room. */
interface Lottery {
  id: number;
  /** The danmaku viewers send to take part (`danmu`). */
  keyword: string;
  award: (typeof AWARDS)[number];
  require: (typeof LOTTERY_REQUIREMENTS)[number];
  /** Gift needed to take part, if any. */
  gift: boolean;
  /** Unix seconds of ANCHOR_LOT_START. */
  startedAt: number;
  /** Lottery events left before ANCHOR_LOT_END. */
  left: number;
  /** `left` at which ANCHOR_LOT_START is sent once more, as Bilibili sometimes does; -1 never. */
  resendAt: number;
  /** Keyword danmaku since the last DANMU_AGGREGATION. */
  sinceAggregation: number;
  /** ANCHOR_LOT_END was sent: the next lottery event is ANCHOR_LOT_AWARD. */
  ended: boolean;
}

interface RoomStream {
  rng: Random;
  seq: number;
  users: User[];
  watched: number;
  likes: number;
  /** Second of the latest guard purchase, and who bought in it. */
  guardSecond: number;
  guardBuyers: Set<number>;
  /** Super chats sent in this room and not deleted yet, oldest first (bounded). */
  scIds: number[];
  /** The lottery under way, if any. */
  lottery: Lottery | undefined;
  /** Position on the 人气榜 (0 = out of it). */
  popularRank: number;
  /**
   * Second of the latest old-layout danmaku, and the user hashes that sent one in it: such rows
   * have no id, and (room, time, user hash) must tell them apart.
   */
  eraSecond: number;
  eraHashes: Set<number>;
}

/** Super chat ids a room remembers for SUPER_CHAT_MESSAGE_DELETE. */
const MAX_DELETABLE_SCS = 32;
/** Share of a live room's events that belong to its lottery while one is under way. */
const LOTTERY_EVENT_SHARE = 0.35;
/** `info[0][9]` of a danmaku sent by taking part in a 天选时刻 lottery. */
export const LOTTERY_DANMAKU_TYPE = 2;

/** Users kept per room; new ones replace random old ones beyond this. */
const MAX_USERS_PER_ROOM = 256;

const TEXTS = [
  "哈哈哈哈哈",
  "草",
  "666",
  "主播好厉害！",
  "这波操作, 我给满分",
  '"引号" 也要能存',
  "晚上好🌙",
  "🎉🎉🎉",
  "kksk",
  "?",
  "前方高能!!!",
  "a,b,c,,",
  "换行\n测试",
  "制表\t符",
  "中文English混合 123",
  "（￣▽￣）",
  "「日本語もOK」",
  "emoji 👍🏻👨‍👩‍👧",
  "\\ 反斜杠 \\n 不是换行",
  "'single' quotes",
  "<b>not html</b> &amp;",
  "𠮷野家",
  "",
];
const NAME_PARTS = [
  "橘",
  "星",
  "猫",
  "小",
  "Mio",
  "阿",
  "雪",
  "兔",
  "🍊",
  "夜",
  "xX",
  "_",
  "Ω",
  "不吃",
  "香菜",
];
const EMOTICONS = ["[dog]", "[妙啊]", "[OK]", "[吃瓜]"];
const GIFTS = [
  { id: 31036, name: "小花花", price: 100, coin: "gold" },
  { id: 31039, name: "牛哇牛哇", price: 100, coin: "gold" },
  { id: 1, name: "辣条", price: 100, coin: "silver" },
  { id: 31216, name: "打call", price: 500, coin: "gold" },
  { id: 31164, name: "粉丝团灯牌", price: 1000, coin: "gold" },
  { id: 32125, name: "心动盲盒", price: 15000, coin: "gold" },
] as const;
/** Cmds the collector does not know: stored only with --keep-raw. */
const UNKNOWN_CMDS = ["DM_INTERACTION", "VOICE_JOIN_LIST", "WIDGET_GIFT_STAR_PROCESS"];
const LOTTERY_KEYWORDS = ["关注主播", "好耶！", "我要中奖", "冲鸭", "喜欢主播"];
const AWARDS = [
  { name: "情书", price: "价值52电池" },
  { name: "5元红包", price: "价值50电池" },
  { name: "小电视飞船", price: "价值12450电池" },
  { name: "主播签名照", price: "" },
] as const;
const LOTTERY_REQUIREMENTS = [
  { type: 1, value: 0, text: "关注主播" },
  { type: 2, value: 1, text: "当前主播粉丝勋章至少1级" },
  { type: 3, value: 3, text: "当前主播大航海" },
] as const;
const COMMON_NOTICES = [
  ["本场PK即将开始，快来为主播助力吧！"],
  ["恭喜主播 ", "%anchor%", " 在本场PK中获胜"],
  ["当前直播间已开启", " 天选时刻 ", "，快来参与吧"],
  ["主播在", "%area%", "分区的小时榜排名上升至第", "%rank%", "名"],
] as const;
const GUARD_ROLES = ["", "总督", "提督", "舰长"] as const;
/** ENTRY_EFFECT background images by guard level (0: a wealth-level entry). */
const ENTRY_BASEMAPS = [
  "19e7564ed9d466b02f341abfa979c6e38c2ffffb",
  "2e3ea4ae8ad0d7de7ea3c3ffb77a3c5d5ba9a30b",
  "1f4b7d0a1a4e2b6fb87b1e0cfb1b9e4b8a8a3c3b",
  "11a6e8eb061c3e715d0a6a2ac0ddea2faa15c15e",
] as const;
const NOFACE = "https://i0.hdslb.com/bfs/face/member/noface.jpg";
const q = JSON.stringify;

/** A string as a JSON string literal, escaped again to sit inside another JSON string. */
function escapedJson(value: string): string {
  return JSON.stringify(JSON.stringify(value)).slice(1, -1);
}

/** `info[0][15].extra` of DANMU_MSG: JSON text that is itself a JSON string (escaped once). */
const DANMU_EXTRA = JSON.stringify(
  `{"send_from_me":false,"mode":0,"color":${SLOT},"dm_type":${SLOT},"font_size":25,"player_mode":1,"show_player_type":0,"content":${SLOT},"user_hash":"${SLOT}","emoticon_unique":${SLOT},"bulge_display":0,"recommend_score":${SLOT},"main_state_dm_color":"","objective_state_dm_color":"","direction":0,"pk_direction":0,"quartet_direction":0,"anniversary_crowd":0,"yeah_space_type":"","yeah_space_url":"","jump_to_url":"","space_type":"","space_url":"","animation":{},"emots":null,"is_audited":false,"id_str":"${SLOT}","icon":null,"show_reply":true,"reply_mid":${SLOT},"reply_uname":${SLOT},"reply_uname_color":"","reply_is_mystery":false,"hit_combo":0}`,
).slice(1, -1).replaceAll("\\u0001", SLOT);

/** The whole DANMU_MSG body, encoded once; values are written between the parts. */
const DANMU_TEMPLATE = bodyTemplate(
  `{"cmd":"${SLOT}","info":[[0,1,25,${SLOT},${SLOT},${SLOT},0,"${SLOT}",0,${SLOT},0,"",${SLOT},${SLOT},"{}",{"mode":0,"show_player_type":0,"extra":"${DANMU_EXTRA}","user":{"uid":${SLOT},"base":{"name":${SLOT},"face":${SLOT},"name_color":0,"is_mystery":false,"risk_ctrl_info":null,"origin_info":{"name":${SLOT},"face":${SLOT}},"official_info":{"role":0,"title":"","desc":"","type":-1},"name_color_str":""},"medal":null,"wealth":null,"title":{"old_title_css_id":"","title_css_id":""},"guard":null,"uhead_frame":null,"guard_leader":{"is_guard_leader":false}}},{"activity_identity":"","activity_source":0,"not_show":0},0],${SLOT},[${SLOT},${SLOT},0,0,0,10000,1,""],${SLOT},[${SLOT},0,9868950,">50000",0],["",""],0,${SLOT},null,{"ts":${SLOT},"ct":"${SLOT}"},0,0,null,null,0,${SLOT},[${SLOT}],null],"dm_v2":""}`,
);
const NOFACE_JSON = utf8Bytes(q(NOFACE));
const EMPTY_ESCAPED = utf8Bytes(escapedJson(""));
const REPLY_UNAME_ESCAPED = utf8Bytes(escapedJson("橘枳橼"));
const NO_EMOTICON = utf8Bytes(`"{}"`);

/**
 * A danmaku text (or emoticon id) as a JSON literal and as an escaped JSON literal, UTF-8.
 * Texts come from a small fixed set, emoticon ids from four per room: the cache stays small.
 */
const textPieces = new Map<string, [Uint8Array, Uint8Array]>();
function danmuText(text: string): [Uint8Array, Uint8Array] {
  let pieces = textPieces.get(text);
  if (!pieces) textPieces.set(text, pieces = [utf8Bytes(q(text)), utf8Bytes(escapedJson(text))]);
  return pieces;
}

/** Masks a name the way anonymous connections see it: first character kept, then `***`. */
export function maskName(name: string): string {
  const first = name.codePointAt(0);
  return first === undefined ? "***" : `${String.fromCodePoint(first)}***`;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function wan(n: number): string {
  return n >= 10_000 ? `${(n / 10_000).toFixed(1)}万` : String(n);
}

/**
 * The fields of a user's ENTRY_EFFECT `data` before and after `trigger_time`: everything but the
 * time is the user's (guard level, wealth level, names), so it is rendered once per variant.
 */
function entryParts(room: SimRoom, user: User, masked: boolean): [string, string] {
  const guard = user.guard;
  const uid = masked ? 0 : user.uid;
  const name = masked ? maskName(user.name) : user.name;
  const face = q(masked ? NOFACE : user.face);
  const copy = q(
    guard ? `欢迎${GUARD_ROLES[guard]} <%${name}%> 进入直播间` : `<%${name}%> 来了`,
  );
  const wealth = guard ? user.level % 31 : 20 + user.level % 21;
  const basemap = `https://i0.hdslb.com/bfs/live/mlive/${ENTRY_BASEMAPS[guard]}.png`;
  return [
    `"id":${
      guard ? [0, 2, 3, 4][guard] : 380
    },"uid":${uid},"target_id":${room.uid},"mock_effect":0,"face":${face},"privilege_type":${guard},"copy_writing":${copy},"copy_color":"#FFFFFF","highlight_color":"#FFF100","priority":1,"basemap_url":"${basemap}","show_avatar":1,"effective_time":2,"web_basemap_url":"${basemap}","web_effective_time":2,"web_effect_close":1,"web_close_time":0,"business":${
      guard ? 1 : 6
    },"copy_writing_v2":${copy},"icon_list":[],"max_delay_time":7,"trigger_time":`,
    `,"identities":${
      guard ? 6 : 1
    },"effect_silent_time":0,"effective_time_new":0,"web_dynamic_url_webp":"","web_dynamic_url_apng":"","mobile_dynamic_url_webp":"","wealthy_info":{"uid":0,"level":${wealth},"level_total_score":0,"cur_score":0,"upgrade_need_score":0,"status":0,"dm_icon_key":""},"new_style":1,"is_mystery":false,"uinfo":{"uid":${uid},"base":{"name":${
      q(name)
    },"face":${face},"name_color":0,"is_mystery":false,"risk_ctrl_info":null,"origin_info":{"name":${
      q(name)
    },"face":${face}},"official_info":{"role":0,"title":"","desc":"","type":-1},"name_color_str":""},"medal":null,"wealth":{"level":${wealth},"dm_icon_key":""},"title":null,"guard":${
      guard ? `{"level":${guard},"expired_str":"2027-06-30 23:59:59"}` : "null"
    },"uhead_frame":null,"guard_leader":null},"full_cartoon_id":0,"priority_long":0`,
  ];
}

/** Builds the messages of every room, each room from its own seeded stream. */
export class MessageFactory {
  #seed: string;
  #world: World;
  #streams = new Map<number, RoomStream>();
  #scSeq = 6_500_000;
  #lotSeq = 7_200_000;

  constructor(world: World) {
    this.#seed = world.seed;
    this.#world = world;
  }

  #stream(room: SimRoom): RoomStream {
    let stream = this.#streams.get(room.roomId);
    if (!stream) {
      stream = {
        rng: new Random(`msg:${this.#seed}:${room.roomId}`),
        seq: 0,
        users: [],
        watched: Math.round(room.popularity / 3),
        likes: room.popularity,
        guardSecond: 0,
        guardBuyers: new Set(),
        scIds: [],
        lottery: undefined,
        popularRank: Math.min(100, room.rank + 1),
        eraSecond: 0,
        eraHashes: new Set(),
      };
      this.#streams.set(room.roomId, stream);
    }
    return stream;
  }

  #user(s: RoomStream): User {
    const rng = s.rng;
    if (s.users.length > 0 && rng.chance(0.8)) return rng.pick(s.users);
    const parts = rng.range(1, 3);
    let name = "";
    for (let i = 0; i < parts; i++) name += rng.pick(NAME_PARTS);
    name += rng.int(10_000);
    const user: User = {
      uid: rng.chance(0.3)
        ? 3_400_000_000_000_000 + rng.uint32() * 16 + rng.int(16)
        : rng.range(10_000, 700_000_000),
      name,
      face: rng.chance(0.3) ? NOFACE : `https://i0.hdslb.com/bfs/face/${rng.hex(40)}.jpg`,
      level: rng.range(0, 40),
      guard: rng.chance(0.05) ? rng.range(1, 3) : 0,
      medalLevel: rng.chance(0.4) ? rng.range(1, 30) : 0,
    };
    if (s.users.length < MAX_USERS_PER_ROOM) s.users.push(user);
    else s.users[rng.int(MAX_USERS_PER_ROOM)] = user;
    return user;
  }

  #msgId(room: SimRoom, s: RoomStream): string {
    return `${room.roomId}${String(++s.seq).padStart(10, "0")}:1000:1000`;
  }

  /** The next event of a room: one to four messages (gifts and guard buys come in groups). */
  next(room: SimRoom, now: number): SimMessage[] {
    const s = this.#stream(room);
    const roll = s.rng.next();
    if (!room.live) {
      // Chat goes on between streams, without gifts.
      if (roll < 0.75) return [this.#danmu(room, s, now)];
      if (roll < 0.95) return [this.#interact(room, s, now)];
      return [this.#like(room, s, now)];
    }
    const lottery = s.lottery;
    if (lottery !== undefined && s.rng.chance(LOTTERY_EVENT_SHARE)) {
      return [this.#lotteryEvent(room, s, lottery, now)];
    }
    if (roll < 0.55) return [this.#danmu(room, s, now)];
    if (roll < 0.70) return [this.#interact(room, s, now)];
    if (roll < 0.78) return this.#gift(room, s, now);
    if (roll < 0.82) return [this.#like(room, s, now)];
    if (roll < 0.86) return [this.#watched(room, s, now)];
    if (roll < 0.90) return [this.#rankCount(room, s, now)];
    if (roll < 0.91) return this.#superChat(room, s, now);
    if (roll < 0.915) return this.#guard(room, s, now);
    if (roll < 0.92) return [this.roomChange(room, now)];
    return [this.#rare(room, s, now)];
  }

  /** The cmds real rooms send now and then: 8 % of a live room's events. */
  #rare(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const r = s.rng.next();
    if (r < 0.19) return this.#entry(room, s, now);
    if (r < 0.29) return this.#onlineRank(room, s, now, true);
    if (r < 0.34) return this.#onlineRank(room, s, now, false);
    if (r < 0.40) return this.#popularRank(room, s, now);
    if (r < 0.48) return this.#notice(room, s, now);
    if (r < 0.53) return this.#commonNotice(room, s, now);
    if (r < 0.58) return this.#widgetBanner(room, s, now);
    if (r < 0.68) return this.#stopLiveRoomList(room, s, now);
    if (r < 0.695) {
      if (s.scIds.length > 0) return this.#superChatDelete(room, s, now);
    } else if (r < 0.715) {
      if (s.lottery === undefined) return this.#lotteryStart(room, s, now);
    }
    return this.#unknown(room, s, now);
  }

  #userBytes(room: SimRoom, user: User): UserBytes {
    return user.bytes ??= (() => {
      const hash = fnv1a(String(user.uid));
      return {
        name: utf8Bytes(q(user.name)),
        maskedName: utf8Bytes(q(maskName(user.name))),
        face: utf8Bytes(q(user.face)),
        medal: utf8Bytes(
          user.medalLevel > 0
            ? `[${user.medalLevel},${q(room.uname.slice(0, 3))},${
              q(room.uname)
            },${room.roomId},6067854,"",0,6067854,6067854,6067854,${user.guard},1,${room.uid}]`
            : "[]",
        ),
        hash,
        hashHex: hash.toString(16).padStart(8, "0"),
        hashHexUpper: hash.toString(16).toUpperCase().padStart(8, "0"),
      };
    })();
  }

  /** A danmaku in the room's layout; with `lottery`, its keyword sent by taking part. */
  #danmu(room: SimRoom, s: RoomStream, now: number, lottery?: Lottery): SimMessage {
    if (room.era !== "current" && (lottery === undefined || room.era === "2021")) {
      const old = this.#oldDanmu(room, s, now, room.era, lottery);
      if (old !== undefined) return old;
    }
    const rng = s.rng;
    const user = this.#user(s);
    const emoticon = lottery === undefined && rng.chance(0.05);
    const text = lottery !== undefined
      ? lottery.keyword
      : emoticon
      ? rng.pick(EMOTICONS)
      : rng.chance(0.2)
      ? `${rng.pick(TEXTS)}${rng.pick(TEXTS)}`
      : rng.pick(TEXTS);
    s.seq++;
    const idStr = `${rng.hex(16)}${room.roomId.toString(16).padStart(8, "0")}${
      s.seq.toString(16).padStart(10, "0")
    }`;
    const cmd = rng.chance(0.1) ? "DANMU_MSG:4:0:2:2:2:0" : "DANMU_MSG";
    const color = rng.chance(0.8) ? 16777215 : rng.pick([14893055, 5816798, 16738408]);
    const rnd = rng.range(-2_000_000_000, 2_000_000_000);
    const reply = rng.chance(0.05);
    const recommendScore = rng.int(10);
    const unique = emoticon ? danmuText(`room_${room.roomId}_${text}`) : undefined;
    const emoticonOptions = unique
      ? `{"bulge_display":1,"emoticon_unique":${
        q(`room_${room.roomId}_${text}`)
      },"height":20,"in_player_area":1,"is_dynamic":0,"url":"https://i0.hdslb.com/bfs/garb/${
        rng.hex(40)
      }.png","width":20}`
      : NO_EMOTICON;
    const dmScore = rng.int(1000);
    const bytes = this.#userBytes(room, user);
    const [textJson, textEscaped] = danmuText(text);
    const write = (out: BodyWriter, masked: boolean): void => {
      const uid = masked ? 0 : user.uid;
      const name = masked ? bytes.maskedName : bytes.name;
      const face = masked ? NOFACE_JSON : bytes.face;
      const values: BodyValue[] = [
        cmd,
        color,
        now,
        rnd,
        bytes.hashHex,
        lottery === undefined ? 0 : LOTTERY_DANMAKU_TYPE,
        emoticon ? 1 : 0,
        emoticonOptions,
        color,
        emoticon ? 1 : 0,
        textEscaped,
        bytes.hash,
        unique ? unique[1] : EMPTY_ESCAPED,
        recommendScore,
        idStr,
        reply ? 2351778 : 0,
        reply ? REPLY_UNAME_ESCAPED : EMPTY_ESCAPED,
        uid,
        name,
        face,
        name,
        face,
        textJson,
        uid,
        name,
        bytes.medal,
        user.level,
        user.guard,
        Math.floor(now / 1000),
        bytes.hashHexUpper,
        dmScore,
        user.level >> 1,
      ];
      out.fill(DANMU_TEMPLATE, values);
    };
    return { cmd, id: idStr, personal: true, write };
  }

  /**
   * A danmaku in the 2018 layout (`info[0]` of 9 with the time in unix seconds, `info` of 9) or
   * the 2021 one (`info[0]` of 15, time in ms, `info` of 16); neither has `extra`, so the id is
   * the `rnd` `info[0][5]`, unique in the room. Undefined when no user is left who has not sent
   * one this second (the row's time and user hash must tell them apart).
   */
  #oldDanmu(
    room: SimRoom,
    s: RoomStream,
    now: number,
    era: Exclude<DanmakuEra, "current">,
    lottery: Lottery | undefined,
  ): SimMessage | undefined {
    const rng = s.rng;
    const second = Math.floor(now / 1000);
    if (second !== s.eraSecond) {
      s.eraSecond = second;
      s.eraHashes.clear();
    }
    let user = this.#user(s);
    let bytes = this.#userBytes(room, user);
    for (let tries = 0; tries < 20 && s.eraHashes.has(bytes.hash); tries++) {
      user = this.#user(s);
      bytes = this.#userBytes(room, user);
    }
    if (s.eraHashes.has(bytes.hash)) return undefined;
    s.eraHashes.add(bytes.hash);
    const text = q(lottery?.keyword ?? rng.pick(TEXTS));
    const color = rng.chance(0.8) ? 16777215 : rng.pick([14893055, 5816798, 16738408]);
    const rnd = 1_400_000_000 + ++s.seq;
    const id = String(rnd);
    const cmd = rng.chance(0.1) && era === "2021" ? "DANMU_MSG:4:0:2:2:2:0" : "DANMU_MSG";
    const dmScore = rng.int(1000);
    const medal = user.medalLevel > 0
      ? `[${user.medalLevel},${q(room.uname.slice(0, 3))},${q(room.uname)},${room.roomId}`
      : "";
    const render = (masked: boolean): string => {
      const uid = masked ? 0 : user.uid;
      const name = q(masked ? maskName(user.name) : user.name);
      const sender = `[${uid},${name},0,0,0,10000,1,""]`;
      if (era === "2018") {
        return `{"cmd":"${cmd}","info":[[0,1,25,${color},${second},${rnd},0,"${bytes.hashHex}",0],${text},${sender},${
          medal ? `${medal},6067854,""]` : "[]"
        },[${user.level},0,9868950,">50000"],["",""],0,${user.guard},{"uname_color":""}]}`;
      }
      return `{"cmd":"${cmd}","info":[[0,1,25,${color},${now},${rnd},0,"${bytes.hashHex}",0,${
        lottery === undefined ? 0 : LOTTERY_DANMAKU_TYPE
      },0,"",0,"{}","{}"],${text},${sender},${
        medal ? `${medal},6067854,0,6067854,6067854,6067854,${user.guard},1,${room.uid}]` : "[]"
      },[${user.level},0,9868950,">50000",0],["",""],0,${user.guard},null,{"ts":${second},"ct":"${bytes.hashHexUpper}"},0,0,null,null,0,${dmScore}]}`;
    };
    return personal(cmd, id, render);
  }

  #interact(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    const user = this.#user(s);
    const msgType = rng.pick([1, 1, 1, 1, 2, 3, 6]);
    // Draw everything random now: bodies render lazily, only if some connection needs them.
    const score = now + rng.int(1_000_000);
    const triggerTime = BigInt(now) * 1_000_000n + BigInt(rng.int(1_000_000));
    const pb = (masked: boolean): string => {
      const [head, medal, uinfo] = interactSegments(room, user, masked);
      return new ProtoWriter(head.length + medal.length + uinfo.length + 48).raw(head).varint(
        5,
        msgType,
      ).varint(6, room.roomId)
        .varint(7, Math.floor(now / 1000)).varint(8, score).raw(medal).varint(15, triggerTime)
        .raw(uinfo).finish().toBase64();
    };
    const msgId = this.#msgId(room, s);
    const dmscore = rng.range(10, 200);
    return personal(
      "INTERACT_WORD_V2",
      msgId,
      (masked) =>
        `{"cmd":"INTERACT_WORD_V2","msg_id":"${msgId}","send_time":${now},"data":{"dmscore":${dmscore},"pb":"${
          pb(masked)
        }"}}`,
    );
  }

  #gift(room: SimRoom, s: RoomStream, now: number): SimMessage[] {
    const rng = s.rng;
    const user = this.#user(s);
    const gift = rng.pick(GIFTS);
    const num = rng.chance(0.7) ? 1 : rng.range(2, 99);
    const ts = Math.floor(now / 1000);
    const tid = `${ts}${rng.range(100_000_000, 999_999_999)}`;
    const combo = `${user.uid}:${room.uid}:${gift.id}:${ts}.${rng.range(1000, 9999)}`;
    const blind = gift.id === 32125
      ? `{"blind_gift_config_id":51,"from":0,"gift_action":"爆出","gift_tip_price":${
        rng.pick([5000, 16000, 52000])
      },"original_gift_id":32125,"original_gift_name":"心动盲盒","original_gift_price":15000}`
      : "null";
    const medalInfo = `{"anchor_roomid":${user.medalLevel ? room.roomId : 0},"anchor_uname":${
      q(user.medalLevel ? room.uname : "")
    },"guard_level":${user.guard},"icon_id":0,"is_lighted":${
      user.medalLevel ? 1 : 0
    },"medal_color":6067854,"medal_color_border":6067854,"medal_color_end":6067854,"medal_color_start":6067854,"medal_level":${user.medalLevel},"medal_name":${
      q(user.medalLevel ? room.uname.slice(0, 3) : "")
    },"special":"","target_id":${user.medalLevel ? room.uid : 0}}`;
    const total = gift.price * num;
    const sendGiftId = this.#msgId(room, s);
    const out: SimMessage[] = [
      sharedData(
        "SEND_GIFT",
        sendGiftId,
        now,
        `{"action":"投喂","batch_combo_id":"batch:gift:combo_id:${combo}","batch_combo_send":null,"beatId":"","biz_source":"live","blind_gift":${blind},"broadcast_id":0,"coin_type":"${gift.coin}","combo_resources_id":1,"combo_send":null,"combo_stay_time":3,"combo_total_coin":${total},"crit_prob":0,"demarcation":1,"discount_price":${gift.price},"dmscore":${
          rng.range(4, 60)
        },"draw":0,"effect":0,"effect_block":0,"face":${
          q(user.face)
        },"giftId":${gift.id},"giftName":${
          q(gift.name)
        },"giftType":0,"gold":0,"guard_level":${user.guard},"is_first":true,"is_naming":false,"magnification":1,"medal_info":${medalInfo},"name_color":"","num":${num},"original_gift_name":"","price":${gift.price},"rcost":${
          rng.range(1_000_000, 999_999_999)
        },"receive_user_info":{"uid":${room.uid},"uname":${
          q(room.uname)
        }},"remain":0,"rnd":"${tid}","send_master":null,"silver":0,"super":0,"super_batch_gift_num":${num},"super_gift_num":${num},"svga_block":0,"switch":true,"tag_image":"","tid":"${tid}","timestamp":${ts},"top_list":null,"total_coin":${total},"uid":${user.uid},"uname":${
          q(user.name)
        }}`,
      ),
    ];
    if (room.giftV2) {
      const item = new ProtoWriter().varint(1, gift.id).bytes(2, gift.name).varint(3, num)
        .varint(4, 0).varint(5, gift.price).varint(7, total).bytes(8, gift.coin).bytes(9, tid)
        .varint(10, ts).bytes(12, tid).bytes(18, "投喂")
        .bytes(35, new ProtoWriter().bytes(1, `https://s1.hdslb.com/bfs/live/${gift.id}.png`));
      const pb = new ProtoWriter().varint(1, user.uid).bytes(2, user.name).bytes(3, user.face)
        .varint(5, user.guard).bytes(10, item);
      const id = this.#msgId(room, s);
      out.push(
        sharedData(
          "SEND_GIFT_V2",
          id,
          now,
          `{"pb":"${Buffer.from(pb.finish()).toString("base64")}"}`,
        ),
      );
    }
    if (num > 1) {
      const id = this.#msgId(room, s);
      out.push(
        sharedData(
          "COMBO_SEND",
          id,
          now,
          `{"action":"投喂","batch_combo_id":"batch:gift:combo_id:${combo}","batch_combo_num":${num},"combo_id":"gift:combo_id:${combo}","combo_num":${num},"combo_total_coin":${total},"dmscore":${
            rng.range(4, 60)
          },"gift_id":${gift.id},"gift_name":${
            q(gift.name)
          },"gift_num":0,"is_show":1,"medal_info":${medalInfo},"name_color":"","r_uname":${
            q(room.uname)
          },"receive_user_info":{"uid":${room.uid},"uname":${
            q(room.uname)
          }},"ruid":${room.uid},"send_master":null,"total_num":${num},"uid":${user.uid},"uname":${
            q(user.name)
          }}`,
        ),
      );
    }
    return out;
  }

  #superChat(room: SimRoom, s: RoomStream, now: number): SimMessage[] {
    const rng = s.rng;
    const user = this.#user(s);
    const price = rng.pick([30, 30, 50, 100, 500, 1000, 2000]);
    const duration = price >= 1000 ? 3600 : price >= 100 ? 300 : 60;
    const scId = ++this.#scSeq;
    const ts = Math.floor(now / 1000);
    const message = `${rng.pick(TEXTS)}，${rng.pick(TEXTS)}`;
    const token = rng.hex(8).toUpperCase();
    // Since 2025 the translation may come in `message_trans` (trans_mark still 0), without a _JPN
    // twin.
    const trans = rng.chance(0.3) ? `[JPN] ${message}` : "";
    s.scIds.push(scId);
    if (s.scIds.length > MAX_DELETABLE_SCS) s.scIds.shift();
    const body = (jpn: boolean, msgId: string) => {
      const id = jpn ? `"${scId}"` : String(scId);
      const uid = jpn ? `"${user.uid}"` : String(user.uid);
      return `{"cmd":"SUPER_CHAT_MESSAGE${
        jpn ? "_JPN" : ""
      }","msg_id":"${msgId}","send_time":${now},"data":{"background_bottom_color":"#2A60B2","background_color":"#EDF5FF","background_color_end":"#405D85","background_color_start":"#3171D2","background_icon":"","background_image":"","background_price_color":"#7497CD","color_point":0.7,"dmscore":120,"end_time":${
        ts + duration
      },"gift":{"gift_id":12000,"gift_name":"醒目留言","num":1},"id":${id},"is_ranked":1,"is_send_audit":0,"medal_info":{"anchor_roomid":${room.roomId},"anchor_uname":${
        q(room.uname)
      },"guard_level":${user.guard},"icon_id":0,"is_lighted":1,"medal_color":"#1a544b","medal_color_border":6809855,"medal_color_end":5414290,"medal_color_start":1725515,"medal_level":${user.medalLevel},"medal_name":${
        q(room.uname.slice(0, 3))
      },"special":"","target_id":${room.uid}},"message":${q(message)},${
        jpn ? `"message_jpn":${q(`[JPN] ${message}`)},` : ""
      }"message_font_color":"#A3F6FF","message_trans":${
        q(trans)
      },"price":${price},"rate":1000,"start_time":${ts},"time":${duration},"token":"${token}","trans_mark":0,"ts":${ts},"uid":${uid},"user_info":{"face":${
        q(user.face)
      },"face_frame":"","guard_level":${user.guard},"is_main_vip":0,"is_svip":0,"is_vip":0,"level_color":"#969696","manager":0,"name_color":"#666666","title":"0","uname":${
        q(user.name)
      },"user_level":${user.level}}},"roomid":${jpn ? `"${room.roomId}"` : room.roomId}}`;
    };
    const first = this.#msgId(room, s);
    const sc = shared("SUPER_CHAT_MESSAGE", first, body(false, first));
    if (trans) return [sc];
    const second = this.#msgId(room, s);
    return [sc, shared("SUPER_CHAT_MESSAGE_JPN", second, body(true, second))];
  }

  #guard(room: SimRoom, s: RoomStream, now: number): SimMessage[] {
    const rng = s.rng;
    const ts = Math.floor(now / 1000);
    if (ts !== s.guardSecond) {
      s.guardSecond = ts;
      s.guardBuyers.clear();
    }
    // A purchase is a payment flow of several seconds: one user buys at most once a second.
    let user = this.#user(s);
    for (let tries = 0; tries < 20 && s.guardBuyers.has(user.uid); tries++) user = this.#user(s);
    s.guardBuyers.add(user.uid);
    const level = rng.pick([3, 3, 3, 2, 1]);
    const [name, price, giftId] = level === 3
      ? ["舰长", 198000, 10003]
      : level === 2
      ? ["提督", 1998000, 10002]
      : ["总督", 19998000, 10001];
    const buyId = this.#msgId(room, s);
    const toastId = this.#msgId(room, s);
    const payflow = `2${ts}${rng.hex(12)}`;
    return [
      sharedData(
        "GUARD_BUY",
        buyId,
        now,
        `{"uid":${user.uid},"username":${
          q(user.name)
        },"guard_level":${level},"num":1,"price":${price},"gift_id":${giftId},"gift_name":"${name}","start_time":${ts},"end_time":${ts}}`,
      ),
      sharedData(
        "USER_TOAST_MSG",
        toastId,
        now,
        `{"anchor_show":true,"color":"#00D1F1","dmscore":96,"effect_id":397,"end_time":${ts},"gift_id":${giftId},"guard_level":${level},"is_show":0,"num":1,"op_type":1,"payflow_id":"${payflow}","price":${price},"role_name":"${name}","room_effect_id":590,"start_time":${ts},"svga_block":0,"target_guard_count":${
          rng.range(1, 3000)
        },"toast_msg":${
          q(`<%${user.name}%> 在主播${room.uname}的直播间开通了${name}，今天是TA陪伴主播的第${
            rng.range(1, 900)
          }天`)
        },"uid":${user.uid},"unit":"月","user_show":true,"username":${q(user.name)}}`,
      ),
    ];
  }

  #like(room: SimRoom, s: RoomStream, now: number): SimMessage {
    s.likes += s.rng.range(1, 50);
    const id = this.#msgId(room, s);
    return sharedData("LIKE_INFO_V3_UPDATE", id, now, `{"click_count":${s.likes}}`);
  }

  #watched(room: SimRoom, s: RoomStream, now: number): SimMessage {
    s.watched += s.rng.range(1, 20);
    const id = this.#msgId(room, s);
    return sharedData(
      "WATCHED_CHANGE",
      id,
      now,
      `{"num":${s.watched},"text_small":"${wan(s.watched)}","text_large":"${
        wan(s.watched)
      }人看过"}`,
    );
  }

  #rankCount(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const count = Math.max(1, Math.round(room.popularity / 50) + s.rng.int(20));
    const online = room.popularity + s.rng.int(100);
    const id = this.#msgId(room, s);
    return sharedData(
      "ONLINE_RANK_COUNT",
      id,
      now,
      `{"count":${count},"count_text":"${
        wan(count)
      }","online_count":${online},"online_count_text":"${wan(online)}"}`,
    );
  }

  #unknown(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    const cmd = rng.pick(UNKNOWN_CMDS);
    const id = this.#msgId(room, s);
    return sharedData(cmd, id, now, `{"dmscore":${rng.int(100)},"note":${q(rng.pick(TEXTS))}}`);
  }

  /** STOP_LIVE_ROOM_LIST: other rooms of the world that (supposedly) just stopped. */
  #stopLiveRoomList(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    const id = this.#msgId(room, s);
    const ids: number[] = [];
    const rooms = this.#world.rooms;
    for (let i = 0; i < 5; i++) ids.push(rooms[rng.int(rooms.length)].roomId);
    return sharedData("STOP_LIVE_ROOM_LIST", id, now, `{"room_id_list":[${ids.join(",")}]}`);
  }

  /**
   * ENTRY_EFFECT (ENTRY_EFFECT_MUST_RECEIVE for a 总督): a guard, else a viewer of high wealth
   * level, entering; `trigger_time` in ns, `copy_writing` naming them between `<%` and `%>`.
   */
  #entry(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    let user = this.#user(s);
    for (let tries = 0; tries < 8 && user.guard === 0; tries++) user = rng.pick(s.users);
    const cmd = user.guard === 1 ? "ENTRY_EFFECT_MUST_RECEIVE" : "ENTRY_EFFECT";
    const triggerTime = `${now}${String(rng.int(1_000_000)).padStart(6, "0")}`;
    const id = this.#msgId(room, s);
    return personal(cmd, id, (masked) => {
      const [head, tail] = (user.entry ??= [])[masked ? 1 : 0] ??= entryParts(room, user, masked);
      return `{"cmd":"${cmd}","msg_id":"${id}","send_time":${now},"data":{${head}${triggerTime}${tail}}}`;
    });
  }

  /** SUPER_CHAT_MESSAGE_DELETE of one super chat this room sent earlier (never twice). */
  #superChatDelete(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const scId = s.scIds.splice(s.rng.int(s.scIds.length), 1)[0];
    const id = this.#msgId(room, s);
    return shared(
      "SUPER_CHAT_MESSAGE_DELETE",
      id,
      `{"cmd":"SUPER_CHAT_MESSAGE_DELETE","msg_id":"${id}","send_time":${now},"data":{"ids":[${scId}]},"roomid":${room.roomId}}`,
    );
  }

  /** Distinct users of the room, best first, for a ranking list of 1–7 entries. */
  #rankList(s: RoomStream): { user: User; score: number }[] {
    const rng = s.rng;
    const wanted = rng.range(1, 7);
    const picked = new Set<User>();
    // Viewers already seen in the room (a new one only while it has none).
    if (s.users.length === 0) picked.add(this.#user(s));
    for (let tries = 0; tries < 20 && picked.size < wanted; tries++) picked.add(rng.pick(s.users));
    let score = rng.range(100, 50_000);
    return [...picked].map((user) => ({ user, score: score = Math.max(1, score - rng.int(200)) }));
  }

  /** ONLINE_RANK_V3 (`data.pb`, a GoldRankBroadcast) or ONLINE_RANK_V2 (JSON `list`). */
  #onlineRank(room: SimRoom, s: RoomStream, now: number, v3: boolean): SimMessage {
    const list = this.#rankList(s);
    const id = this.#msgId(room, s);
    if (v3) {
      // As captured in 2025: rank_type "online_rank", the items in `online_list` (field 3), a
      // guard level of 0 left out as protobuf does.
      const pb = (masked: boolean): string => {
        const out = new ProtoWriter(160 * list.length).bytes(1, "online_rank");
        for (const [i, { user, score }] of list.entries()) {
          const [head, name] = (user.rankPb ??= [])[masked ? 1 : 0] ??= [
            new ProtoWriter().varint(1, masked ? 0 : user.uid)
              .bytes(2, masked ? NOFACE : user.face).finish(),
            new ProtoWriter().bytes(4, masked ? maskName(user.name) : user.name).finish(),
          ];
          const item = new ProtoWriter(head.length + name.length + 24).raw(head)
            .bytes(3, String(score)).raw(name).varint(5, i + 1);
          if (user.guard) item.varint(6, user.guard);
          out.bytes(3, item);
        }
        return out.finish().toBase64();
      };
      return personal(
        "ONLINE_RANK_V3",
        id,
        (masked) =>
          `{"cmd":"ONLINE_RANK_V3","msg_id":"${id}","send_time":${now},"data":{"pb":"${
            pb(masked)
          }"}}`,
      );
    }
    return personal("ONLINE_RANK_V2", id, (masked) => {
      const items = list.map(({ user, score }, i) =>
        `{"uid":${masked ? 0 : user.uid},"face":${
          q(masked ? NOFACE : user.face)
        },"score":"${score}","uname":${q(masked ? maskName(user.name) : user.name)},"rank":${
          i + 1
        },"guard_level":${user.guard}}`
      );
      return `{"cmd":"ONLINE_RANK_V2","msg_id":"${id}","send_time":${now},"data":{"list":[${
        items.join(",")
      }],"rank_type":"gold-rank"}}`;
    });
  }

  /** POPULAR_RANK_CHANGED: the room's 人气榜 position wanders; 0 is out of the ranking. */
  #popularRank(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    s.popularRank = Math.max(0, Math.min(100, s.popularRank + rng.range(-5, 5)));
    const id = this.#msgId(room, s);
    return sharedData(
      "POPULAR_RANK_CHANGED",
      id,
      now,
      `{"uid":${room.uid},"rank":${s.popularRank},"countdown":${rng.range(60, 3600)},"timestamp":${
        Math.floor(now / 1000)
      },"cache_key":"rank_change:${rng.hex(32)}"}`,
    );
  }

  /** NOTICE_MSG (fields at top level): a site-wide broadcast about a gift in another room. */
  #notice(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    const other = rng.pick(this.#world.rooms);
    const gift = rng.pick(GIFTS);
    const user = this.#user(s);
    const common = `<%${user.name}%>投喂:<%${other.uname}%>1个${gift.name}，点击前往TA的房间吧！`;
    const id = this.#msgId(room, s);
    const style = `"background":"#FFE6BDFF","color":"#9D5412FF","highlight":"#FF6933FF","time":${
      rng.range(8, 20)
    }`;
    return shared(
      "NOTICE_MSG",
      id,
      `{"cmd":"NOTICE_MSG","msg_id":"${id}","send_time":${now},"id":2,"name":"分区道具抽奖广播样式","full":{"head_icon":"https://i0.hdslb.com/bfs/live/00f26756182b2e9d06c00af23001bc8e10da67d0.webp","tail_icon":"https://i0.hdslb.com/bfs/live/822da481fdaba986d738db5d8fd469ffa95a8fa1.webp","head_icon_fa":"","tail_icon_fa":"","head_icon_fan":36,"tail_icon_fan":4,${style}},"half":{"head_icon":"","tail_icon":"",${style}},"side":{"head_icon":"","background":"","color":"","highlight":"","border":""},"roomid":${
        other.shortId || other.roomId
      },"real_roomid":${other.roomId},"msg_common":${q(common)},"msg_self":${
        q(common)
      },"link_url":"https://live.bilibili.com/${other.roomId}?broadcast_type=0&is_room_feed=1&from=28003&extra_jump_from=28003","msg_type":2,"shield_uid":-1,"business_id":"${gift.id}","scatter":{"min":0,"max":0},"marquee_id":"","notice_type":0}`,
    );
  }

  /** COMMON_NOTICE_DANMAKU: a notice line in the chat, in coloured segments. */
  #commonNotice(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    const parts = rng.pick(COMMON_NOTICES);
    const segments = parts.map((part, i) => {
      const text = part === "%anchor%"
        ? room.uname
        : part === "%area%"
        ? room.area.name
        : part === "%rank%"
        ? String(rng.range(1, 50))
        : part;
      const color = i % 2 ? "#FFB027" : "#998EFF";
      return `{"font_color":"${color}","font_color_dark":"${color}","highlight_font_color":"#FFB027","highlight_font_color_dark":"#FFB027","text":${
        q(text)
      },"type":1}`;
    });
    const id = this.#msgId(room, s);
    return sharedData(
      "COMMON_NOTICE_DANMAKU",
      id,
      now,
      `{"biz_id":0,"content_segments":[${
        segments.join(",")
      }],"danmaku_style":{"background_color":null,"background_color_dark":null},"danmaku_uri":"","dmscore":${
        rng.range(100, 200)
      },"terminals":[1,2,3,4,5]}`,
    );
  }

  /** WIDGET_BANNER: an activity widget shown in the room. */
  #widgetBanner(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    const widget = rng.range(500, 700);
    const id = this.#msgId(room, s);
    return sharedData(
      "WIDGET_BANNER",
      id,
      now,
      `{"timestamp":${Math.floor(now / 1000)},"widget_list":{"${widget}":{"id":${widget},"title":"${
        rng.pick(["高能榜", "人气榜", "电竞赛事", "心动盲盒"])
      }","cover":"","web_cover":"","tip_text":"","tip_text_color":"","tip_bottom_color":"","jump_url":"https://live.bilibili.com/activity/live-activity-battle/index.html?room_id=${room.roomId}","url":"","stay_time":5,"site":1,"platform_in":["live","blink","live_link","web","pc"],"type":1,"band_id":99999,"sub_key":"","sub_data":"","is_add":true}}}`,
    );
  }

  /** ANCHOR_LOT_START: a 天选时刻 lottery opens; its keyword danmaku follow. */
  #lotteryStart(room: SimRoom, s: RoomStream, now: number): SimMessage {
    const rng = s.rng;
    const left = rng.range(30, 80);
    const lottery: Lottery = {
      id: ++this.#lotSeq,
      keyword: rng.pick(LOTTERY_KEYWORDS),
      award: rng.pick(AWARDS),
      require: rng.pick(LOTTERY_REQUIREMENTS),
      gift: rng.chance(0.2),
      startedAt: Math.floor(now / 1000),
      left,
      resendAt: rng.chance(0.3) ? rng.range(1, left - 1) : -1,
      sinceAggregation: 0,
      ended: false,
    };
    s.lottery = lottery;
    return this.#lotteryStartMessage(room, s, lottery, now);
  }

  #lotteryStartMessage(room: SimRoom, s: RoomStream, lot: Lottery, now: number): SimMessage {
    const id = this.#msgId(room, s);
    const ts = Math.floor(now / 1000);
    return sharedData(
      "ANCHOR_LOT_START",
      id,
      now,
      `{"asset_icon":"https://i0.hdslb.com/bfs/live/627ee2d9e71c682810e7dc4400d5ae2713d8c8df.png","asset_icon_webp":"https://i0.hdslb.com/bfs/live/b47453a0d42f30673b6d030159a96d07905d677a.webp","award_image":"","award_name":${
        q(lot.award.name)
      },"award_num":1,"award_type":0,"cur_gift_num":0,"current_time":${ts},"danmu":${
        q(lot.keyword)
      },"danmu_new":[{"danmu":${
        q(lot.keyword)
      },"danmu_view":"","reject":false}],"danmu_type":0,"gift_id":${
        lot.gift ? 31036 : 0
      },"gift_name":"${lot.gift ? "小花花" : ""}","gift_num":1,"gift_price":${
        lot.gift ? 100 : 0
      },"goaway_time":180,"goods_id":-99998,"id":${lot.id},"is_broadcast":1,"join_type":${
        lot.gift ? 1 : 0
      },"lot_status":0,"max_time":600,"require_text":${
        q(lot.require.text)
      },"require_type":${lot.require.type},"require_value":${lot.require.value},"room_id":${room.roomId},"send_gift_ensure":0,"show_panel":1,"start_dont_popup":0,"status":1,"time":${
        Math.max(0, 599 - (ts - lot.startedAt))
      },"url":"https://live.bilibili.com/p/html/live-lottery/anchor-join.html?is_live_half_webview=1&hybrid_biz=live-lottery-anchor&hybrid_half_ui=1,5,100p,100p,000000,0,30,0,0,1","web_url":"https://live.bilibili.com/p/html/live-lottery/anchor-join.html"}`,
    );
  }

  /**
   * The next step of the room's lottery: its keyword danmaku (flagged in `info[0][9]`), now
   * and then DANMU_AGGREGATION, ANCHOR_LOT_START once more (sometimes), then ANCHOR_LOT_END
   * and at last ANCHOR_LOT_AWARD.
   */
  #lotteryEvent(room: SimRoom, s: RoomStream, lot: Lottery, now: number): SimMessage {
    const rng = s.rng;
    if (lot.ended) {
      s.lottery = undefined;
      return this.#lotteryAward(room, s, lot, now);
    }
    if (lot.left-- <= 0) {
      lot.ended = true;
      const id = this.#msgId(room, s);
      return sharedData("ANCHOR_LOT_END", id, now, `{"id":${lot.id}}`);
    }
    if (lot.left === lot.resendAt) return this.#lotteryStartMessage(room, s, lot, now);
    if (lot.sinceAggregation >= 8 && rng.chance(0.3)) {
      const id = this.#msgId(room, s);
      const num = lot.sinceAggregation;
      lot.sinceAggregation = 0;
      return sharedData(
        "DANMU_AGGREGATION",
        id,
        now,
        `{"activity_identity":"${lot.id}","activity_source":1,"aggregation_cycle":1,"aggregation_icon":"https://i0.hdslb.com/bfs/live/c8fbaa863bf9099c26b491d06f9efe0c20777721.png","aggregation_num":${num},"broadcast_msg_type":0,"msg":${
          q(lot.keyword)
        },"show_rows":1,"show_time":2,"timestamp":${Math.floor(now / 1000)}}`,
      );
    }
    lot.sinceAggregation++;
    return this.#danmu(room, s, now, lot);
  }

  /** ANCHOR_LOT_AWARD: the winners (`award_users`), masked for anonymous connections. */
  #lotteryAward(room: SimRoom, s: RoomStream, lot: Lottery, now: number): SimMessage {
    const winners = this.#rankList(s).slice(0, s.rng.range(1, 3));
    const id = this.#msgId(room, s);
    return personal("ANCHOR_LOT_AWARD", id, (masked) => {
      const users = winners.map(({ user }) =>
        `{"uid":${masked ? 0 : user.uid},"uname":${
          q(masked ? maskName(user.name) : user.name)
        },"face":${q(masked ? NOFACE : user.face)},"level":${user.level},"color":5805790,"num":1}`
      );
      return `{"cmd":"ANCHOR_LOT_AWARD","msg_id":"${id}","send_time":${now},"data":{"award_dont_popup":1,"award_image":"","award_name":${
        q(lot.award.name)
      },"award_num":${winners.length},"award_price_text":${q(lot.award.price)},"award_users":[${
        users.join(",")
      }],"id":${lot.id},"lot_status":2,"url":"https://live.bilibili.com/p/html/live-lottery/anchor-join.html","web_url":"https://live.bilibili.com/p/html/live-lottery/anchor-join.html"}}`;
    });
  }

  /** LIVE (twice: the first carries `live_time`) when a room starts, PREPARING when it stops. */
  transition(room: SimRoom, live: boolean, now: number): SimMessage[] {
    const s = this.#stream(room);
    const ts = Math.floor(now / 1000);
    if (!live) {
      const id = this.#msgId(room, s);
      return [
        shared(
          "PREPARING",
          id,
          `{"cmd":"PREPARING","msg_id":"${id}","p_is_ack":true,"p_msg_type":1,"roomid":"${room.roomId}","send_time":${now}}`,
        ),
      ];
    }
    const live1 = this.#msgId(room, s);
    const live2 = this.#msgId(room, s);
    const common =
      `"live_key":"${room.liveKey}","voice_background":"","sub_session_key":"${room.liveKey}sub_time:${ts}","live_platform":"pc","live_model":0`;
    return [
      shared(
        "LIVE",
        live1,
        `{"cmd":"LIVE","msg_id":"${live1}","send_time":${now},${common},"live_time":${ts},"roomid":${room.roomId}}`,
      ),
      shared(
        "LIVE",
        live2,
        `{"cmd":"LIVE","msg_id":"${live2}","send_time":${now},${common},"roomid":${room.roomId}}`,
      ),
    ];
  }

  /** ROOM_CHANGE with the room's current title and area. */
  roomChange(room: SimRoom, now: number): SimMessage {
    const s = this.#stream(room);
    const id = this.#msgId(room, s);
    return sharedData(
      "ROOM_CHANGE",
      id,
      now,
      `{"title":${
        q(room.title)
      },"area_id":${room.area.id},"parent_area_id":${room.area.parentId},"area_name":${
        q(room.area.name)
      },"parent_area_name":${q(room.area.parentName)},"live_key":"${
        room.live ? room.liveKey : "0"
      }","sub_session_key":"${room.live ? `${room.liveKey}sub_time:${room.liveTime}` : ""}"}`,
    );
  }

  /** ROOM_BLOCK_MSG, sent before a blocked room refuses its connections. */
  roomBlock(room: SimRoom, now: number): SimMessage {
    const s = this.#stream(room);
    const user = this.#user(s);
    const id = this.#msgId(room, s);
    // `uid` and `uname` also stand beside `data`, so this body is not the usual layout.
    return shared(
      "ROOM_BLOCK_MSG",
      id,
      `{"cmd":"ROOM_BLOCK_MSG","msg_id":"${id}","send_time":${now},"data":{"dmscore":30,"operator":2,"uid":${user.uid},"uname":${
        q(user.name)
      }},"uid":"${user.uid}","uname":${q(user.name)}}`,
    );
  }
}

/** LOG_IN_NOTICE for one anonymous connection; `id` is unique per connection. */
export function loginNotice(connectionId: number, now: number): SimMessage {
  const id = `login:${connectionId}:${now}`;
  return sharedData(
    "LOG_IN_NOTICE",
    id,
    now,
    `{"notice_msg":"为保护用户隐私，未登录无法查看他人昵称","image_web":"http://i0.hdslb.com/bfs/dm/75e7c16b99208df259fe0a93354fd3440cbab412.png","image_app":"http://i0.hdslb.com/bfs/dm/b632f7dcd3acf47deffb5f9ccc9546ae97a3415b.png"}`,
  );
}
