/** DANMU_MSG (docs/protocol.md §4.2): the `info` array → a `danmaku` event. */
import { escapedExtraString, ExtraFields, extraNumber, extraString } from "./extra_fields.ts";
import { EscapedJsonString } from "./message_body.ts";
import {
  asArray,
  asNonEmptyString,
  asNumber,
  asObject,
  asString,
  secondsToMs,
} from "../util/json_guards.ts";
import type { CmdHandler } from "./context.ts";
import { secondsOrMsToMs } from "./unix_time.ts";

const ID_STR = '"id_str":';
const REPLY_MID = '"reply_mid":';
const REPLY_UNAME = '"reply_uname":';
// The same keys as they stand in the body's text, inside the escaped `extra` string.
const ESCAPED_ID_STR = '\\"id_str\\":';
const ESCAPED_REPLY_MID = '\\"reply_mid\\":';
const ESCAPED_REPLY_UNAME = '\\"reply_uname\\":';

/**
 * What a danmaku row reads of a DANMU_MSG, by place, before the guards: JSON values as the
 * body holds them (`info[0][1]` is `mode`, …). Read from a parsed body by
 * {@linkcode fieldsOfInfo}, or straight from the body's bytes (body_scan.ts).
 */
export interface DanmuMsgFields {
  /** `info[0][1]`, `[2]`, `[3]`, `[4]`, `[7]`, `[9]`, `[12]`. */
  mode: unknown;
  fontSize: unknown;
  color: unknown;
  ts: unknown;
  userHash: unknown;
  lotteryType: unknown;
  dmType: unknown;
  /** `info[0][13].emoticon_unique` and `.url` when `info[0][13]` is an object. */
  emoticonUnique: unknown;
  emoticonUrl: unknown;
  /** `info[0][15].extra`: JSON text, its escaped text, or the values already read from it. */
  extra: unknown;
  /** `info[1]`, `info[2][0..2]`. */
  text: unknown;
  uid: unknown;
  uname: unknown;
  admin: unknown;
  /** `info[3][0..3]` and `info[3][12]`. */
  medalLevel: unknown;
  medalName: unknown;
  medalAnchorUname: unknown;
  medalAnchorRoomId: unknown;
  medalAnchorUid: unknown;
  /** `info[4][0]`, `info[7]`, `info[9].ts`. */
  userLevel: unknown;
  guardLevel: unknown;
  checkTs: unknown;
}

/** A DANMU_MSG whose fields were read from its bytes (body_scan.ts): the body dispatched. */
export class ScannedDanmuMsg {
  constructor(readonly cmd: string, readonly fields: DanmuMsgFields) {}
}

/** The fields of a parsed body's `info` array (short arrays and non-arrays read undefined). */
export function fieldsOfInfo(info: readonly unknown[]): DanmuMsgFields {
  const meta = asArray(info[0]);
  const sender = asArray(info[2]);
  const medal = asArray(info[3]);
  const options = asObject(meta[13]);
  return {
    mode: meta[1],
    fontSize: meta[2],
    color: meta[3],
    ts: meta[4],
    userHash: meta[7],
    lotteryType: meta[9],
    dmType: meta[12],
    emoticonUnique: options?.emoticon_unique,
    emoticonUrl: options?.url,
    extra: asObject(meta[15])?.extra,
    text: info[1],
    uid: sender[0],
    uname: sender[1],
    admin: sender[2],
    medalLevel: medal[0],
    medalName: medal[1],
    medalAnchorUname: medal[2],
    medalAnchorRoomId: medal[3],
    medalAnchorUid: medal[12],
    userLevel: asArray(info[4])[0],
    guardLevel: info[7],
    checkTs: asObject(info[9])?.ts,
  };
}

/**
 * Pushes one `danmaku` event for a DANMU_MSG body; returns false (pushing nothing) when
 * `info` is missing. Short arrays, nulls and `[]` medals read as null fields.
 */
export const normalizeDanmuMsg: CmdHandler = ({ body, cmd }, context, out) => {
  let fields: DanmuMsgFields;
  if (body instanceof ScannedDanmuMsg) fields = body.fields;
  else {
    const info = body.info;
    if (!Array.isArray(info)) return false;
    fields = fieldsOfInfo(info);
  }
  // A medal is `[level, name, …]`; `[]` (none) or an empty name reads as no medal.
  const hasMedal = asNonEmptyString(fields.medalName) !== null;

  const extraValue = fields.extra;
  let extra = asString(extraValue);
  let msgId: string | null = null;
  let replyToUid: number | null = null;
  let replyToUname: string | null = null;
  if (extraValue instanceof ExtraFields) {
    // Read from the body's bytes (body_scan.ts).
    msgId = extraValue.msgId;
    replyToUid = extraValue.replyToUid;
    replyToUname = extraValue.replyToUname;
  } else if (extraValue instanceof EscapedJsonString) {
    // The lean parse (message_body.ts): read the escaped text; a value with escapes (a reply
    // to a name written with \u escapes) sends the whole `extra` through the plain path.
    const escaped = extraValue.escaped;
    const id = escapedExtraString(escaped, ESCAPED_ID_STR);
    replyToUid = extraNumber(escaped, ESCAPED_REPLY_MID);
    if (replyToUid === 0) replyToUid = null;
    const uname = replyToUid === null ? null : escapedExtraString(escaped, ESCAPED_REPLY_UNAME);
    if (id === undefined || uname === undefined) extra = extraValue.unescape();
    else {
      msgId = id;
      replyToUname = uname;
    }
  }
  if (extra !== null) {
    msgId = extraString(extra, ID_STR);
    replyToUid = extraNumber(extra, REPLY_MID);
    if (replyToUid === 0) replyToUid = null;
    if (replyToUid !== null) replyToUname = extraString(extra, REPLY_UNAME);
  }

  const dmType = asNumber(fields.dmType);
  const emoticon = dmType === 1
    ? asNonEmptyString(fields.emoticonUnique) ?? asNonEmptyString(fields.emoticonUrl)
    : null;

  // `info[0][4]` is ms since about 2019 and seconds before (2018: 1517306023).
  const tsMs = secondsOrMsToMs(fields.ts) ?? secondsToMs(fields.checkTs);

  out.push({
    type: "danmaku",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    tsMs,
    uid: asNumber(fields.uid) ?? 0,
    uname: asString(fields.uname) ?? "",
    text: asString(fields.text) ?? "",
    msgId,
    userHash: asNonEmptyString(fields.userHash),
    isAdmin: asNumber(fields.admin) === 1,
    guardLevel: asNumber(fields.guardLevel) ?? 0,
    userLevel: asNumber(fields.userLevel),
    medalName: hasMedal ? asString(fields.medalName) : null,
    medalLevel: hasMedal ? asNumber(fields.medalLevel) : null,
    medalAnchorUname: hasMedal ? asString(fields.medalAnchorUname) : null,
    medalAnchorRoomId: hasMedal ? asNumber(fields.medalAnchorRoomId) : null,
    medalAnchorUid: hasMedal ? asNumber(fields.medalAnchorUid) : null,
    mode: asNumber(fields.mode),
    fontSize: asNumber(fields.fontSize),
    color: asNumber(fields.color),
    dmType,
    emoticon,
    replyToUid,
    replyToUname,
    lotteryType: asNumber(fields.lotteryType) ?? 0,
  });
  return true;
};
