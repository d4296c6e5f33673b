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
  /** Server send time `info[0][4]` (else `info[9].ts` × 1000), unix ms. */
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
  /** `rnd` as sent. */
  rnd: string | null;
  /** "投喂", "赠送", … */
  action: string | null;
  /** Sender's guard level in this room. */
  guardLevel: number;
  /** Blind box the gift came out of (`blind_gift.original_gift_name`). */
  blindBoxGiftName: string | null;
  /** That blind box's unit price in coins. */
  blindBoxGiftPrice: number | null;
  /** Uid of the receiving anchor (`receive_user_info.uid`), when sent. */
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
  /** Machine translation (`message_jpn`), when sent. */
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
  | "warning";

/** A room state change: LIVE, PREPARING, ROOM_CHANGE, ROOM_BLOCK_MSG, CUT_OFF(_V2), WARNING. */
export interface RoomStateEvent extends EventBase {
  type: "roomState";
  /** Full cmd. */
  cmd: string;
  /** Kind of change. */
  kind: RoomStateKind;
  /** Server send time (`send_time` ms, or CUT_OFF_V2 `timestamp`), unix ms. */
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
  /** CUT_OFF / WARNING `msg`. */
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
  | GuardBuyEvent
  | InteractionEvent
  | AudienceEvent
  | RoomStateEvent
  | RawEvent
  | SessionEvent
  | RoomEvent;

/** The `type` of a collected event. */
export type CollectedEventType = CollectedEvent["type"];
