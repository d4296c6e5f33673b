/**
 * SUPER_CHAT_MESSAGE and SUPER_CHAT_MESSAGE_JPN (docs/protocol.md §4.4) → a `superChat`
 * event; SUPER_CHAT_MESSAGE_DELETE → one `superChatDeletion` per id.
 */
import {
  asArray,
  asNonEmptyString,
  asNumber,
  asObject,
  asString,
  secondsToMs,
} from "../util/json_guards.ts";
import { medalFromJson } from "./medal.ts";
import type { CmdHandler } from "./context.ts";

/** Most ids read from one SUPER_CHAT_MESSAGE_DELETE (real ones list one or a few). */
export const MAX_DELETED_SC_IDS = 1000;

/**
 * Pushes the `superChat` event of either SC cmd (the JPN one has string ids and
 * `message_jpn`; since 2025 the translation is in `message_trans`); false when `data` is
 * missing.
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
    messageJpn: asNonEmptyString(data.message_jpn) ?? asNonEmptyString(data.message_trans),
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

/**
 * Pushes one `superChatDeletion` per id in `data.ids` (numbers or numeric strings, at most
 * MAX_DELETED_SC_IDS); false when there is no usable id.
 */
export const normalizeSuperChatDelete: CmdHandler = ({ data }, context, out) => {
  const ids = asArray(data?.ids);
  const n = Math.min(ids.length, MAX_DELETED_SC_IDS);
  const start = out.length;
  for (let i = 0; i < n; i++) {
    const scId = asNumber(ids[i]);
    if (scId === null) continue;
    out.push({
      type: "superChatDeletion",
      roomId: context.roomId,
      receivedAtMs: context.receivedAtMs,
      scId,
    });
  }
  return out.length > start;
};
