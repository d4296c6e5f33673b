/**
 * What the collector stores: one discriminated union, `CollectedEvent`, whose `type` names
 * the table a row goes to (docs/schema.md). Times are unix ms; `roomId` is always the real
 * (long) room id; a field Bilibili did not send is `null`, never `undefined`.
 */

/** Fields every event carries. */
export interface EventBase {
  /** Real (long) room id the connection was authenticated for. */
  roomId: number;
  /** Local time the message was received (or the event was made), unix ms. */
  receivedAtMs: number;
}

/** A fan medal as shown next to a name; all null when the user wears none. */
export interface MedalFields {
  /** Medal name, e.g. "ASAKI". */
  medalName: string | null;
  /** Medal level. */
  medalLevel: number | null;
  /** Name of the anchor the medal belongs to (not sent by every cmd). */
  medalAnchorUname: string | null;
  /** Real room id of the medal's anchor (0 or null when not sent). */
  medalAnchorRoomId: number | null;
  /** Uid of the medal's anchor (`ruid` / `target_id`). */
  medalAnchorUid: number | null;
}

/** One danmaku (DANMU_MSG, any `:suffix`, and DANMU_MSG_MIRROR). */
export interface DanmakuEvent extends EventBase, MedalFields {
  type: "danmaku";
  /** Full cmd including its suffix, e.g. "DANMU_MSG:3:7:1:1:1:1". */
  cmd: string;
  /** Server send time `info[0][4]` (seconds before 2019, then ms; else `info[9].ts`), unix ms. */
  tsMs: number | null;
  /** Sender uid; 0 for masked (anonymous-connection) senders. */
  uid: number;
  /** Sender name; masked like "提***" on anonymous connections. */
  uname: string;
  /** Danmaku text `info[1]` (a JSON array string for mode 7). */
  text: string;
  /** `extra.id_str`: Bilibili's unique danmaku id; null before 2022. */
  msgId: string | null;
  /** `info[0][7]`: 8-hex-digit hash of the sender (CRC32 of the uid). */
  userHash: string | null;
  /** `info[2][2]`: the sender is a room admin. */
  isAdmin: boolean;
  /** `info[7]`: 0 none, 1 总督, 2 提督, 3 舰长. */
  guardLevel: number;
  /** `info[4][0]`: user level (UL). */
  userLevel: number | null;
  /** `info[0][1]`: 1 scroll, 4 bottom, 5 top, 7 positioned. */
  mode: number | null;
  /** `info[0][2]`: font size. */
  fontSize: number | null;
  /** `info[0][3]`: colour as decimal RGB. */
  color: number | null;
  /** `info[0][12]`: 0 text, 1 emoticon, 2 voice. */
  dmType: number | null;
  /** For dm_type 1: the emoticon's `emoticon_unique`, else its URL. */
  emoticon: string | null;
  /** `extra.reply_mid`: uid this danmaku replies to. */
  replyToUid: number | null;
  /** `extra.reply_uname`: name this danmaku replies to. */
  replyToUname: string | null;
  /**
   * `info[0][9]` as sent: 0 for a danmaku a viewer typed; non-zero for one sent in their name by
   * taking part (1 节奏风暴, 2 天选时刻 keyword, 9 弹幕互动游戏; docs/protocol.md §4.2). `stats`
   * leaves these out.
   */
  lotteryType: number;
}

/** One gift from SEND_GIFT, or one `gift_list` item of SEND_GIFT_V2. */
export interface GiftEvent extends EventBase, MedalFields {
  type: "gift";
  /** "SEND_GIFT" or "SEND_GIFT_V2". */
  cmd: string;
  /** Gift `timestamp` (seconds on the wire) as unix ms. */
  tsMs: number | null;
  /** Sender uid (0 when masked). */
  uid: number;
  /** Sender name. */
  uname: string;
  /** Gift id. */
  giftId: number | null;
  /** Gift name, e.g. "小花花". */
  giftName: string;
  /** Number of gifts. */
  num: number;
  /** "gold" (paid) or "silver" (free); "" when absent. */
  coinType: string;
  /** Unit price in the gift's coin (gold: 1000 = 1 CNY). */
  price: number;
  /** `total_coin` as sent (blind boxes: see docs/schema.md). */
  totalCoin: number | null;
  /** Gold: price × num / 1000; silver: 0. */
  priceCny: number;
  /** Transaction id; the deduplication key between SEND_GIFT and SEND_GIFT_V2. */
  tid: string | null;
  /** `rnd` as sent (SEND_GIFT); null for SEND_GIFT_V2, whose protobuf has none. */
  rnd: string | null;
  /** "投喂", "赠送", … */
  action: string | null;
  /** Sender's guard level in this room. */
  guardLevel: number;
  /** Blind box the gift came out of (`blind_gift.original_gift_name`). */
  blindBoxGiftName: string | null;
  /** That blind box's unit price in coins. */
  blindBoxGiftPrice: number | null;
  /** Uid of the receiving anchor (`receive_user_info.uid`; V2: gift item field 29.2), when sent. */
  receiverUid: number | null;
}

/** One super chat, from SUPER_CHAT_MESSAGE or SUPER_CHAT_MESSAGE_JPN (stored once). */
export interface SuperChatEvent extends EventBase, MedalFields {
  type: "superChat";
  /** "SUPER_CHAT_MESSAGE" or "SUPER_CHAT_MESSAGE_JPN". */
  cmd: string;
  /** Super chat id (`data.id`). */
  scId: number | null;
  /** Sender uid. */
  uid: number;
  /** Sender name (`user_info.uname`). */
  uname: string;
  /** The message. */
  message: string;
  /** Machine translation (`message_jpn`, since 2025 `message_trans`), when sent. */
  messageJpn: string | null;
  /** Price in CNY (Bilibili sends SC prices in yuan). */
  priceCny: number;
  /** How long it stays pinned, seconds (`time`). */
  durationS: number | null;
  /** `start_time` as unix ms. */
  startTimeMs: number | null;
  /** `end_time` as unix ms. */
  endTimeMs: number | null;
  /** `user_info.user_level`. */
  userLevel: number | null;
  /** `user_info.guard_level`. */
  guardLevel: number;
}

/** One guard (大航海) purchase, from GUARD_BUY, USER_TOAST_MSG or USER_TOAST_MSG_V2. */
export interface GuardBuyEvent extends EventBase {
  type: "guardBuy";
  /** Which message this came from. */
  cmd: string;
  /** Buyer uid. */
  uid: number;
  /** Buyer name. */
  uname: string;
  /** 1 总督, 2 提督, 3 舰长. */
  guardLevel: number;
  /** Number of units (months) bought. */
  num: number;
  /** Price in CNY (gold / 1000): list price from GUARD_BUY, paid price from the toasts. */
  priceCny: number;
  /** Unit, e.g. "月" (toasts only). */
  unit: string | null;
  /** `start_time` as unix ms. */
  startTimeMs: number | null;
  /** `end_time` as unix ms. */
  endTimeMs: number | null;
  /** `payflow_id` (USER_TOAST_MSG). */
  payflowId: string | null;
  /** Gift id, e.g. 10003 舰长. */
  giftId: number | null;
  /** Gift or role name, e.g. "舰长". */
  giftName: string | null;
}

/** What a viewer did, by INTERACT_WORD `msg_type` (and LIKE_INFO_V3_CLICK). */
export type InteractionKind =
  | "enter"
  | "follow"
  | "share"
  | "special_follow"
  | "mutual_follow"
  | "like"
  | "other";

/** A viewer entered, followed, shared or liked. */
export interface InteractionEvent extends EventBase, MedalFields {
  type: "interaction";
  /** "INTERACT_WORD", "INTERACT_WORD_V2" or "LIKE_INFO_V3_CLICK". */
  cmd: string;
  /** Kind, from `msgType`. */
  kind: InteractionKind;
  /** `msg_type` as sent (1 enter … 6 like). */
  msgType: number | null;
  /** Viewer uid (0 when masked). */
  uid: number;
  /** Viewer name. */
  uname: string;
  /** `timestamp` (seconds on the wire) as unix ms; null for likes. */
  tsMs: number | null;
  /** `privilege_type`, else the medal's guard level. */
  guardLevel: number;
}

/** A viewer's entry shown with an effect: ENTRY_EFFECT, ENTRY_EFFECT_MUST_RECEIVE. */
export interface EntryEvent extends EventBase {
  type: "entry";
  /** "ENTRY_EFFECT" or "ENTRY_EFFECT_MUST_RECEIVE". */
  cmd: string;
  /** `trigger_time` (nanoseconds on the wire) as unix ms. */
  tsMs: number | null;
  /** Viewer uid (`uid`, else `uinfo.uid`; 0 when masked). */
  uid: number;
  /** Viewer name: `uinfo.base.name`, else the name between `<%` and `%>` of `copy_writing`. */
  uname: string;
  /** `privilege_type`: 0 none, 1 总督, 2 提督, 3 舰长. */
  guardLevel: number;
  /** `wealthy_info.level` / `wealth_level` (荣耀等级), when sent. */
  wealthLevel: number | null;
  /** Effect id (`id`). */
  effectId: number | null;
  /** The text shown, e.g. "欢迎舰长 <%名字%> 进入直播间" (`copy_writing`). */
  copyWriting: string;
}

/** A super chat taken back (SUPER_CHAT_MESSAGE_DELETE, one event per id): not revenue. */
export interface SuperChatDeletionEvent extends EventBase {
  type: "superChatDeletion";
  /** Id of the deleted super chat (`super_chats.sc_id`). */
  scId: number;
}

/** Which step of a 天选时刻 lottery a message is. */
export type LotteryPhase = "start" | "end" | "award";

/** A 天选时刻 lottery: ANCHOR_LOT_START, ANCHOR_LOT_END or ANCHOR_LOT_AWARD. */
export interface LotteryEvent extends EventBase {
  type: "lottery";
  /** Full cmd. */
  cmd: string;
  /** start, end or award. */
  phase: LotteryPhase;
  /** Lottery id (`id`); the three phases of one lottery share it. */
  lotId: number;
  /** Prize name (`award_name`). */
  awardName: string | null;
  /** Number of prizes (`award_num`). */
  awardNum: number | null;
  /** Start: the danmaku viewers send to take part (`danmu`); these arrive flagged lottery. */
  danmu: string | null;
  /** Start: gift required to take part (`gift_name`), when any. */
  giftName: string | null;
  /** Start: number of that gift (`gift_num`). */
  giftNum: number | null;
  /** Start: condition text (`require_text`), e.g. "当前主播粉丝勋章至少1级". */
  requireText: string | null;
  /** Start: how long it runs, seconds (`max_time`). */
  durationS: number | null;
  /** Award: the winners as a JSON array of `{uid, uname}` (`award_users`). */
  winners: string | null;
  /** Award: number of winners. */
  winnerCount: number | null;
}

/** A ranking position of the room: POPULAR_RANK_CHANGED, AREA_RANK_CHANGED, HOT_RANK_CHANGED(_V2). */
export interface RankChangeEvent extends EventBase {
  type: "rankChange";
  /** Full cmd. */
  cmd: string;
  /** Server time (`timestamp`, seconds on the wire) as unix ms. */
  tsMs: number | null;
  /** Which ranking: "popular" (人气榜), else `rank_name` / `area_name` as sent. */
  rankName: string;
  /** Position; 0 when out of the ranking. */
  rank: number;
  /** Seconds until the ranking is next settled (`countdown`). */
  countdownS: number | null;
}

/** One viewer of the high-energy / gold ranking list: ONLINE_RANK_V2 (JSON), ONLINE_RANK_V3 (pb). */
export interface OnlineRankEvent extends EventBase {
  type: "onlineRank";
  /** "ONLINE_RANK_V2" or "ONLINE_RANK_V3". */
  cmd: string;
  /** `rank_type`, e.g. "gold-rank". */
  rankType: string | null;
  /** Position in the list, from 1. */
  rank: number;
  /** Viewer uid (0 when masked). */
  uid: number;
  /** Viewer name. */
  uname: string;
  /** Contribution `score` (a string on the wire). */
  score: number | null;
  /** Viewer's guard level. */
  guardLevel: number;
}

/** Which audience counter a value is. */
export type AudienceKind =
  | "watched"
  | "online_rank_count"
  | "online_count"
  | "like_count"
  | "heartbeat";

/** One audience counter reading. */
export interface AudienceEvent extends EventBase {
  type: "audience";
  /** watched (WATCHED_CHANGE), online_rank_count / online_count (ONLINE_RANK_COUNT), like_count (LIKE_INFO_V3_UPDATE), heartbeat (op 3 popularity). */
  kind: AudienceKind;
  /** The counter's value. */
  value: number;
}

/** Which room state change happened. */
export type RoomStateKind =
  | "live"
  | "preparing"
  | "room_change"
  | "room_block"
  | "cut_off"
  | "warning"
  | "notice"
  | "danmaku_aggregation"
  | "guard_honor"
  | "widget_banner";

/**
 * A room state change or notice: LIVE, PREPARING, ROOM_CHANGE, ROOM_BLOCK_MSG, CUT_OFF(_V2),
 * WARNING; NOTICE_MSG and COMMON_NOTICE_DANMAKU (notice), DANMU_AGGREGATION (many viewers sent
 * one lottery keyword), GUARD_HONOR_THOUSAND, WIDGET_BANNER.
 */
export interface RoomStateEvent extends EventBase {
  type: "roomState";
  /** Full cmd. */
  cmd: string;
  /** Kind of change. */
  kind: RoomStateKind;
  /** Server time: `send_time`, else `data.timestamp` (CUT_OFF_V2, DANMU_AGGREGATION), unix ms. */
  tsMs: number | null;
  /** LIVE / ROOM_CHANGE `live_key`. */
  liveKey: string | null;
  /** ROOM_CHANGE title (CUT_OFF_V2: the notice title). */
  title: string | null;
  /** ROOM_CHANGE `area_id`. */
  areaId: number | null;
  /** ROOM_CHANGE `area_name`. */
  areaName: string | null;
  /** ROOM_CHANGE `parent_area_id`. */
  parentAreaId: number | null;
  /** ROOM_CHANGE `parent_area_name`. */
  parentAreaName: string | null;
  /** ROOM_BLOCK_MSG: the muted viewer's uid. */
  uid: number | null;
  /** ROOM_BLOCK_MSG: the muted viewer's name. */
  uname: string | null;
  /**
   * CUT_OFF / WARNING `msg`; the notice text (`msg_common`, the joined `content_segments`);
   * DANMU_AGGREGATION `msg`.
   */
  message: string | null;
  /** The message JSON verbatim. */
  text: string;
}

/** Why a message was kept verbatim. */
export type RawReason = "unknown_cmd" | "malformed" | "kept";

/** A message kept verbatim: an unknown cmd, a malformed known one, or anything under keepRaw. */
export interface RawEvent extends EventBase {
  type: "raw";
  /** Full cmd ("" when the body had none). */
  cmd: string;
  /** unknown_cmd, malformed (a known cmd that could not be read), or kept (keepRaw). */
  reason: RawReason;
  /** The message JSON verbatim. */
  text: string;
}

/** One connection to a danmaku server; written again when it ends (upsert by sessionId). */
export interface SessionEvent extends EventBase {
  type: "session";
  /** Unique id the collector gives the connection. */
  sessionId: string;
  /** Danmaku server host. */
  host: string;
  /** "tcp", "ws" or "wss". */
  transport: string;
  /** Connection start, unix ms. */
  startedAtMs: number;
  /** Connection end, unix ms; null while open. */
  endedAtMs: number | null;
  /** Why it ended; null while open. */
  reason: string | null;
  /** Op-5 messages received on it so far. */
  messages: number;
}

/** What is known about a room (upsert by roomId; null fields keep the stored value). */
export interface RoomEvent extends EventBase {
  type: "room";
  /** Short id, when the room has one. */
  shortId: number | null;
  /** Anchor uid. */
  anchorUid: number | null;
  /** Anchor name. */
  uname: string | null;
  /** Room title. */
  title: string | null;
  /** Area id. */
  areaId: number | null;
  /** Area name. */
  areaName: string | null;
  /** Parent area id. */
  parentAreaId: number | null;
  /** Parent area name. */
  parentAreaName: string | null;
  /** 0 offline, 1 live, 2 rotation (轮播). */
  liveStatus: number | null;
  /** When this was observed, unix ms. */
  seenAtMs: number;
}

/** Everything the collector stores, discriminated by `type`. */
export type CollectedEvent =
  | DanmakuEvent
  | GiftEvent
  | SuperChatEvent
  | SuperChatDeletionEvent
  | GuardBuyEvent
  | InteractionEvent
  | EntryEvent
  | LotteryEvent
  | RankChangeEvent
  | OnlineRankEvent
  | AudienceEvent
  | RoomStateEvent
  | RawEvent
  | SessionEvent
  | RoomEvent;

/** The `type` of a collected event. */
export type CollectedEventType = CollectedEvent["type"];
