/**
 * SEND_GIFT (JSON) and SEND_GIFT_V2 (protobuf `gift_list`) → one `gift` event per gift
 * (docs/protocol.md §4.3). Both may arrive for one gift; the store keeps one row by `tid`.
 */
import type { ProtoMessage } from "../protocol/protobuf.ts";
import type { GiftEvent } from "./events.ts";
import {
  asIdText,
  asNonEmptyString,
  asNumber,
  asObject,
  asString,
  secondsToMs,
} from "../util/json_guards.ts";
import { medalFromJson, medalFromProto, type ProtoMedalLayout, readProtoMedal } from "./medal.ts";
import type { CmdHandler } from "./context.ts";
import { protoMessages, protoText, readPbPayload } from "./pb_payload.ts";

/** Where SEND_GIFT_V2's medal message (field 8) keeps its fields. */
const GIFT_MEDAL: ProtoMedalLayout = { name: 6, level: 5, anchorRoomId: 4, anchorUid: 1 };

/**
 * SEND_GIFT_V2 GiftItem field of the receiving anchor, `receive_user_info {1 uname, 2 uid}`
 * (docs/protocol.md §4.3). The item has no `rnd`: its field 12 is `batch_combo_id`.
 */
const GIFT_RECEIVER = 29;
const RECEIVER_UID = 2;

/** Most `gift_list` items read from one SEND_GIFT_V2 (a blind box batch holds a few). */
export const MAX_GIFT_ITEMS = 100;

/** Gold coins per CNY (1000 金瓜子 = 1 元). */
export const GOLD_PER_CNY = 1000;

/** CNY value of `num` gifts at `price` coins each: gold only, silver is free (0 if absurd). */
export function giftPriceCny(coinType: string, price: number, num: number): number {
  const cny = coinType === "gold" ? (price * num) / GOLD_PER_CNY : 0;
  return Number.isFinite(cny) ? cny : 0;
}

/** Pushes the `gift` event of a SEND_GIFT body; false when `data` is missing. */
export const normalizeSendGift: CmdHandler = ({ data, cmd }, context, out) => {
  if (data === undefined) return false;
  const medal = asObject(data.medal_info);
  const blind = asObject(data.blind_gift);
  const receiver = asObject(data.receive_user_info);
  const coinType = asString(data.coin_type) ?? "";
  const price = asNumber(data.price) ?? 0;
  const num = asNumber(data.num) ?? 0;
  const event: GiftEvent = {
    type: "gift",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    tsMs: secondsToMs(data.timestamp),
    uid: asNumber(data.uid) ?? 0,
    uname: asString(data.uname) ?? "",
    giftId: asNumber(data.giftId ?? data.gift_id),
    giftName: asString(data.giftName ?? data.gift_name) ?? "",
    num,
    coinType,
    price,
    totalCoin: asNumber(data.total_coin),
    priceCny: giftPriceCny(coinType, price, num),
    tid: asIdText(data.tid),
    rnd: asIdText(data.rnd),
    action: asNonEmptyString(data.action),
    guardLevel: asNumber(data.guard_level) ?? 0,
    blindBoxGiftName: blind === undefined ? null : asNonEmptyString(blind.original_gift_name),
    blindBoxGiftPrice: blind === undefined ? null : asNumber(blind.original_gift_price),
    receiverUid: asNumber(receiver?.uid ?? data.ruid),
    ...medalFromJson(medal),
  };
  out.push(event);
  return true;
};

/**
 * Pushes one `gift` event per `gift_list` item (at most MAX_GIFT_ITEMS) of a SEND_GIFT_V2
 * `pb`; false when there is no `pb` or no gift in it. `rnd` is null: the protobuf has none.
 * Throws on bad base64/protobuf (the caller keeps it raw).
 */
export const normalizeSendGiftV2: CmdHandler = ({ data, cmd }, context, out) => {
  const pb = readPbPayload(data);
  if (pb === undefined) return false;
  const gifts = protoMessages(pb, 10, MAX_GIFT_ITEMS);
  if (gifts.length === 0) return false;
  const medal = medalFromProto(readProtoMedal(pb.message(8), GIFT_MEDAL));
  const blind = pb.message(9);
  const uid = pb.number(1);
  const uname = pb.string(2);
  const guardLevel = pb.number(5);
  for (const gift of gifts) out.push(v2Gift(gift));
  return true;

  function v2Gift(gift: ProtoMessage): GiftEvent {
    const coinType = gift.string(8);
    const price = gift.number(5);
    const num = gift.number(3);
    const timestamp = gift.number(10);
    const receiver = gift.message(GIFT_RECEIVER);
    const receiverUid = receiver === undefined ? 0 : receiver.number(RECEIVER_UID);
    return {
      type: "gift",
      roomId: context.roomId,
      receivedAtMs: context.receivedAtMs,
      cmd,
      tsMs: secondsToMs(timestamp),
      uid,
      uname,
      giftId: gift.number(1),
      giftName: gift.string(2),
      num,
      coinType,
      price,
      totalCoin: gift.number(7),
      priceCny: giftPriceCny(coinType, price, num),
      tid: protoText(gift, 9),
      rnd: null,
      action: gift.string(18) || null,
      guardLevel,
      blindBoxGiftName: blind === undefined ? null : blind.string(3) || null,
      blindBoxGiftPrice: blind === undefined ? null : blind.number(6),
      receiverUid: receiverUid === 0 ? null : receiverUid,
      ...medal,
    };
  }
};
