/**
 * Turns one op-5 message (parsed JSON plus its text) into collected events. Pure and
 * synchronous: it runs on the reader's hot path and never throws on odd input. Dispatch
 * is on the cmd before the first `:` (docs/protocol.md §4.1).
 */
import { normalizeLikeCount, normalizeOnlineRankCount, normalizeWatched } from "./audience.ts";
import {
  baseCmdOf,
  type CmdHandler,
  type CmdMessage,
  keptText,
  type NormalizeContext,
} from "./context.ts";
import { normalizeDanmuMsg } from "./danmu_msg.ts";
import { IGNORED_CMDS } from "./ignored_cmds.ts";
import { normalizeEntryEffect } from "./entry_effect.ts";
import type { CollectedEvent, RawReason } from "./events.ts";
import { normalizeGuardBuy, normalizeUserToastV2 } from "./guard_buy.ts";
import { normalizeInteractWord, normalizeInteractWordV2 } from "./interact_word.ts";
import { asObject, asString, type JsonObject } from "../util/json_guards.ts";
import { normalizeAnchorLot } from "./lottery.ts";
import { normalizeOnlineRankV2, normalizeOnlineRankV3, normalizeRankChanged } from "./rank.ts";
import { normalizeRoomState } from "./room_state.ts";
import { normalizeSendGift, normalizeSendGiftV2 } from "./send_gift.ts";
import { normalizeSuperChat, normalizeSuperChatDelete } from "./super_chat.ts";

// Callers need only this module: the heartbeat reader, the body parser and the context type
// come with it.
export { audienceFromHeartbeat } from "./audience.ts";
export { parseMessageBody } from "./message_body.ts";
export { readBodyBytes } from "./body_scan.ts";
export type { NormalizeContext } from "./context.ts";
export { IGNORED_CMDS } from "./ignored_cmds.ts";

/** The handler of each cmd stored, by the cmd before its first `:`. */
const HANDLERS: ReadonlyMap<string, CmdHandler> = new Map([
  ["DANMU_MSG", normalizeDanmuMsg],
  ["DANMU_MSG_MIRROR", normalizeDanmuMsg],
  ["SEND_GIFT", normalizeSendGift],
  ["SEND_GIFT_V2", normalizeSendGiftV2],
  ["SUPER_CHAT_MESSAGE", normalizeSuperChat],
  ["SUPER_CHAT_MESSAGE_JPN", normalizeSuperChat],
  ["SUPER_CHAT_MESSAGE_DELETE", normalizeSuperChatDelete],
  ["GUARD_BUY", normalizeGuardBuy],
  ["USER_TOAST_MSG", normalizeGuardBuy],
  ["USER_TOAST_MSG_V2", normalizeUserToastV2],
  ["INTERACT_WORD", normalizeInteractWord],
  ["LIKE_INFO_V3_CLICK", normalizeInteractWord],
  ["INTERACT_WORD_V2", normalizeInteractWordV2],
  ["ENTRY_EFFECT", normalizeEntryEffect],
  ["ENTRY_EFFECT_MUST_RECEIVE", normalizeEntryEffect],
  ["ANCHOR_LOT_START", normalizeAnchorLot],
  ["ANCHOR_LOT_END", normalizeAnchorLot],
  ["ANCHOR_LOT_AWARD", normalizeAnchorLot],
  ["POPULAR_RANK_CHANGED", normalizeRankChanged],
  ["AREA_RANK_CHANGED", normalizeRankChanged],
  ["HOT_RANK_CHANGED", normalizeRankChanged],
  ["HOT_RANK_CHANGED_V2", normalizeRankChanged],
  ["ONLINE_RANK_V2", normalizeOnlineRankV2],
  ["ONLINE_RANK_V3", normalizeOnlineRankV3],
  ["WATCHED_CHANGE", normalizeWatched],
  ["ONLINE_RANK_COUNT", normalizeOnlineRankCount],
  ["LIKE_INFO_V3_UPDATE", normalizeLikeCount],
  ["LIVE", normalizeRoomState],
  ["PREPARING", normalizeRoomState],
  ["ROOM_CHANGE", normalizeRoomState],
  ["ROOM_BLOCK_MSG", normalizeRoomState],
  ["CUT_OFF", normalizeRoomState],
  ["CUT_OFF_V2", normalizeRoomState],
  ["WARNING", normalizeRoomState],
  ["NOTICE_MSG", normalizeRoomState],
  ["COMMON_NOTICE_DANMAKU", normalizeRoomState],
  ["DANMU_AGGREGATION", normalizeRoomState],
  ["GUARD_HONOR_THOUSAND", normalizeRoomState],
  ["WIDGET_BANNER", normalizeRoomState],
]);

const HANDLED = 0;
const IGNORED = 1;
const UNKNOWN = 2;
const MALFORMED = 3;
type Outcome = typeof HANDLED | typeof IGNORED | typeof UNKNOWN | typeof MALFORMED;

/**
 * Appends the events of one op-5 message to `out`. Unknown cmds become `raw` events
 * (reason "unknown_cmd"); known cmds that cannot be read (missing fields, a hostile `pb`)
 * become `raw` events (reason "malformed") instead of partial rows; with `keepRaw` every
 * message is also kept as a `raw` event (reason "kept"). `text` is undefined for a body read
 * from its bytes (body_scan.ts), which the collector does only without `keepRaw`.
 */
export function normalizeMessage(
  body: unknown,
  text: string | undefined,
  context: NormalizeContext,
  out: CollectedEvent[],
): void {
  const start = out.length;
  let cmd = "";
  let outcome: Outcome;
  try {
    let message = asObject(body);
    cmd = message === undefined ? "" : asString(message.cmd) ?? "";
    if (cmd === "" && message !== undefined) {
      // Very old messages put the cmd under `msg.cmd` (§4.1).
      message = asObject(message.msg);
      cmd = message === undefined ? "" : asString(message.cmd) ?? "";
    }
    outcome = message === undefined || cmd === ""
      ? MALFORMED
      : dispatch(message, cmd, text, context, out);
  } catch {
    out.length = start;
    outcome = MALFORMED;
  }
  if (outcome === UNKNOWN || outcome === MALFORMED || context.keepRaw) {
    const reason: RawReason = outcome === UNKNOWN
      ? "unknown_cmd"
      : outcome === MALFORMED
      ? "malformed"
      : "kept";
    if (outcome === MALFORMED) out.length = start;
    out.push({
      type: "raw",
      roomId: context.roomId,
      receivedAtMs: context.receivedAtMs,
      cmd,
      reason,
      text: keptText(text, body),
    });
  }
  if (outcome === UNKNOWN) context.onUnknownCmd?.(cmd);
}

function dispatch(
  body: JsonObject,
  cmd: string,
  text: string | undefined,
  context: NormalizeContext,
  out: CollectedEvent[],
): Outcome {
  const baseCmd = baseCmdOf(cmd);
  const handler = HANDLERS.get(baseCmd);
  if (handler === undefined) return IGNORED_CMDS.has(baseCmd) ? IGNORED : UNKNOWN;
  const message: CmdMessage = { body, data: asObject(body.data), cmd, baseCmd, text };
  return handler(message, context, out) ? HANDLED : MALFORMED;
}
