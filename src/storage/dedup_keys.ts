/**
 * Deduplication keys for the messages Bilibili sends twice (docs/schema.md): one row per
 * (room_id, dedup_key) in `gifts`, `super_chats` and `guard_buys`.
 */
import type { GiftEvent, GuardBuyEvent, SuperChatEvent } from "../normalize/events.ts";

/**
 * SEND_GIFT and SEND_GIFT_V2 of one gift share `tid`: key `tid:<tid>`. Without a tid:
 * `gift:<uid>:<gift_id>:<num>:<ts_ms>` (or the receive time when there is no timestamp).
 */
export function giftDedupKey(event: GiftEvent): string {
  if (event.tid !== null) return `tid:${event.tid}`;
  return `gift:${event.uid}:${event.giftId ?? ""}:${event.num}:${
    event.tsMs ?? `r${event.receivedAtMs}`
  }`;
}

/**
 * SUPER_CHAT_MESSAGE and its _JPN twin share the SC id: key `id:<sc_id>`. Without an id:
 * `sc:<uid>:<start_time_ms>:<price_cny>`.
 */
export function superChatDedupKey(event: SuperChatEvent): string {
  if (event.scId !== null) return `id:${event.scId}`;
  return `sc:${event.uid}:${event.startTimeMs ?? `r${event.receivedAtMs}`}:${event.priceCny}`;
}

/**
 * GUARD_BUY, USER_TOAST_MSG and USER_TOAST_MSG_V2 of one purchase share buyer, level and
 * start time: key `<uid>:<guard_level>:<start_time_ms>` (receive time when absent).
 */
export function guardBuyDedupKey(event: GuardBuyEvent): string {
  return `${event.uid}:${event.guardLevel}:${event.startTimeMs ?? `r${event.receivedAtMs}`}`;
}
