/** SUPER_CHAT_MESSAGE and SUPER_CHAT_MESSAGE_JPN (docs/protocol.md §4.4) → a `superChat` event. */
import {
  asNonEmptyString,
  asNumber,
  asObject,
  asString,
  secondsToMs,
} from "../util/json_guards.ts";
import { medalFromJson } from "./medal.ts";
import type { CmdHandler } from "./context.ts";

/**
 * Pushes the `superChat` event of either SC cmd (the JPN one has string ids and
 * `message_jpn`); false when `data` is missing.
 */
export const normalizeSuperChat: CmdHandler = ({ data, cmd }, context, out) => {
  if (data === undefined) return false;
  const user = asObject(data.user_info);
  const medal = asObject(data.medal_info);
  out.push({
    type: "superChat",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    scId: asNumber(data.id),
    uid: asNumber(data.uid) ?? 0,
    uname: asString(user?.uname) ?? asString(data.uname) ?? "",
    message: asString(data.message) ?? "",
    messageJpn: asNonEmptyString(data.message_jpn),
    priceCny: asNumber(data.price) ?? 0,
    durationS: asNumber(data.time),
    startTimeMs: secondsToMs(data.start_time),
    endTimeMs: secondsToMs(data.end_time),
    userLevel: asNumber(user?.user_level),
    guardLevel: asNumber(user?.guard_level) ?? 0,
    ...medalFromJson(medal),
  });
  return true;
};
