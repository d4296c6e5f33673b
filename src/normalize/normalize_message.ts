/**
 * Turns one op-5 message (parsed JSON plus its text) into collected events. Pure and
 * synchronous: it runs on the reader's hot path and never throws on odd input. Dispatch
 * is on the cmd before the first `:` (docs/protocol.md §4.1).
 */
import { normalizeAudience } from "./audience.ts";
import type { NormalizeContext } from "./context.ts";
import { normalizeDanmuMsg } from "./danmu_msg.ts";
import type { CollectedEvent, RawReason } from "./events.ts";
import { normalizeGuardBuy, normalizeUserToastV2 } from "./guard_buy.ts";
import { normalizeInteractWord, normalizeInteractWordV2 } from "./interact_word.ts";
import { asObject, asString, type JsonObject } from "../util/json_guards.ts";
import { normalizeRoomState } from "./room_state.ts";
import { normalizeSendGift, normalizeSendGiftV2 } from "./send_gift.ts";
import { normalizeSuperChat } from "./super_chat.ts";

// Callers need only this module: the heartbeat reader and the context type come with it.
export { audienceFromHeartbeat } from "./audience.ts";
export type { NormalizeContext } from "./context.ts";

/** Cmds understood but deliberately not stored (kept only under keepRaw). */
export const IGNORED_CMDS: ReadonlySet<string> = new Set([
  // Summarises SEND_GIFTs already stored one by one: storing it would double count.
  "COMBO_SEND",
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
 * message is also kept as a `raw` event (reason "kept").
 */
export function normalizeMessage(
  body: unknown,
  text: string,
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
      text,
    });
  }
  if (outcome === UNKNOWN) context.onUnknownCmd?.(cmd);
}

function dispatch(
  body: JsonObject,
  cmd: string,
  text: string,
  context: NormalizeContext,
  out: CollectedEvent[],
): Outcome {
  const colon = cmd.indexOf(":");
  const base = colon < 0 ? cmd : cmd.slice(0, colon);
  let ok: boolean;
  switch (base) {
    case "DANMU_MSG":
    case "DANMU_MSG_MIRROR":
      ok = normalizeDanmuMsg(body, cmd, context, out);
      break;
    case "SEND_GIFT":
      ok = normalizeSendGift(body, cmd, context, out);
      break;
    case "SEND_GIFT_V2":
      ok = normalizeSendGiftV2(body, cmd, context, out);
      break;
    case "SUPER_CHAT_MESSAGE":
    case "SUPER_CHAT_MESSAGE_JPN":
      ok = normalizeSuperChat(body, cmd, context, out);
      break;
    case "GUARD_BUY":
    case "USER_TOAST_MSG":
      ok = normalizeGuardBuy(body, cmd, context, out);
      break;
    case "USER_TOAST_MSG_V2":
      ok = normalizeUserToastV2(body, cmd, context, out);
      break;
    case "INTERACT_WORD":
    case "LIKE_INFO_V3_CLICK":
      ok = normalizeInteractWord(body, cmd, context, out);
      break;
    case "INTERACT_WORD_V2":
      ok = normalizeInteractWordV2(body, cmd, context, out);
      break;
    case "WATCHED_CHANGE":
    case "ONLINE_RANK_COUNT":
    case "LIKE_INFO_V3_UPDATE":
      ok = normalizeAudience(body, base, context, out);
      break;
    case "LIVE":
    case "PREPARING":
    case "ROOM_CHANGE":
    case "ROOM_BLOCK_MSG":
    case "CUT_OFF":
    case "CUT_OFF_V2":
    case "WARNING":
      ok = normalizeRoomState(body, cmd, base, text, context, out);
      break;
    default:
      return IGNORED_CMDS.has(base) ? IGNORED : UNKNOWN;
  }
  return ok ? HANDLED : MALFORMED;
}
