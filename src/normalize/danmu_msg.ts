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
 * Pushes one `danmaku` event for a DANMU_MSG body; returns false (pushing nothing) when
 * `info` is missing. Short arrays, nulls and `[]` medals read as null fields.
 */
export const normalizeDanmuMsg: CmdHandler = ({ body, cmd }, context, out) => {
  const info = body.info;
  if (!Array.isArray(info)) return false;
  const meta = asArray(info[0]);
  const sender = asArray(info[2]);
  const medal = asArray(info[3]);
  const hasMedal = medal.length > 1 && asNonEmptyString(medal[1]) !== null;

  const modeInfo = asObject(meta[15]);
  const extraValue = modeInfo?.extra;
  let extra = asString(extraValue);
  let msgId: string | null = null;
  let replyToUid: number | null = null;
  let replyToUname: string | null = null;
  if (extraValue instanceof ExtraFields) {
    // Read from the body's bytes (danmu_scan.ts).
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

  const dmType = asNumber(meta[12]);
  let emoticon: string | null = null;
  if (dmType === 1) {
    const options = asObject(meta[13]);
    if (options !== undefined) {
      emoticon = asNonEmptyString(options.emoticon_unique) ?? asNonEmptyString(options.url);
    }
  }

  // `info[0][4]` is ms since about 2019 and seconds before (2018: 1517306023).
  let tsMs = secondsOrMsToMs(meta[4]);
  if (tsMs === null) {
    const check = asObject(info[9]);
    tsMs = secondsToMs(check?.ts);
  }

  out.push({
    type: "danmaku",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    tsMs,
    uid: asNumber(sender[0]) ?? 0,
    uname: asString(sender[1]) ?? "",
    text: asString(info[1]) ?? "",
    msgId,
    userHash: asNonEmptyString(meta[7]),
    isAdmin: asNumber(sender[2]) === 1,
    guardLevel: asNumber(info[7]) ?? 0,
    userLevel: asNumber(asArray(info[4])[0]),
    medalName: hasMedal ? asString(medal[1]) : null,
    medalLevel: hasMedal ? asNumber(medal[0]) : null,
    medalAnchorUname: hasMedal ? asString(medal[2]) : null,
    medalAnchorRoomId: hasMedal ? asNumber(medal[3]) : null,
    medalAnchorUid: hasMedal ? asNumber(medal[12]) : null,
    mode: asNumber(meta[1]),
    fontSize: asNumber(meta[2]),
    color: asNumber(meta[3]),
    dmType,
    emoticon,
    replyToUid,
    replyToUname,
    lotteryType: asNumber(meta[9]) ?? 0,
  });
  return true;
};
