/** GUARD_BUY, USER_TOAST_MSG and USER_TOAST_MSG_V2 (docs/protocol.md §4.5) → a `guardBuy` event. */
import {
  asIdText,
  asNonEmptyString,
  asNumber,
  asObject,
  asString,
  secondsToMs,
} from "../util/json_guards.ts";
import type { CmdHandler } from "./context.ts";
import { GOLD_PER_CNY } from "./send_gift.ts";

/** Pushes the `guardBuy` event of GUARD_BUY or USER_TOAST_MSG (flat `data`); false without `data`. */
export const normalizeGuardBuy: CmdHandler = ({ data, cmd }, context, out) => {
  if (data === undefined) return false;
  out.push({
    type: "guardBuy",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    uid: asNumber(data.uid) ?? 0,
    uname: asString(data.username) ?? asString(data.uname) ?? "",
    guardLevel: asNumber(data.guard_level) ?? 0,
    num: asNumber(data.num) ?? 1,
    priceCny: (asNumber(data.price) ?? 0) / GOLD_PER_CNY,
    unit: asNonEmptyString(data.unit),
    startTimeMs: secondsToMs(data.start_time),
    endTimeMs: secondsToMs(data.end_time),
    payflowId: asIdText(data.payflow_id),
    giftId: asNumber(data.gift_id),
    giftName: asNonEmptyString(data.gift_name) ?? asNonEmptyString(data.role_name),
  });
  return true;
};

/** Pushes the `guardBuy` event of USER_TOAST_MSG_V2 (nested `sender_uinfo`, `guard_info`, `pay_info`). */
export const normalizeUserToastV2: CmdHandler = ({ data, cmd }, context, out) => {
  if (data === undefined) return false;
  const sender = asObject(data.sender_uinfo);
  const guard = asObject(data.guard_info);
  const pay = asObject(data.pay_info);
  const gift = asObject(data.gift_info);
  if (guard === undefined) return false;
  out.push({
    type: "guardBuy",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    uid: asNumber(sender?.uid) ?? asNumber(data.uid) ?? 0,
    uname: asString(asObject(sender?.base)?.name) ?? "",
    guardLevel: asNumber(guard.guard_level) ?? 0,
    num: asNumber(pay?.num) ?? 1,
    priceCny: (asNumber(pay?.price) ?? 0) / GOLD_PER_CNY,
    unit: asNonEmptyString(pay?.unit),
    startTimeMs: secondsToMs(guard.start_time),
    endTimeMs: secondsToMs(guard.end_time),
    payflowId: asIdText(pay?.payflow_id ?? data.payflow_id),
    giftId: asNumber(gift?.gift_id),
    giftName: asNonEmptyString(guard.role_name) ?? asNonEmptyString(gift?.gift_name),
  });
  return true;
};
