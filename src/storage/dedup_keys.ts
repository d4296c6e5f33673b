/**
 * Deduplication keys (docs/schema.md): one row per (room_id, dedup_key) in `gifts`,
 * `super_chats` and `guard_buys` (Bilibili sends some messages twice under different cmds), and
 * in `danmaku` for danmaku without a msg_id. Two receivers of one broadcast compute the same key:
 * a key holds the receive time only when the body has no server time or id at all.
 */
import type {
  DanmakuEvent,
  GiftEvent,
  GuardBuyEvent,
  SuperChatEvent,
} from "../normalize/events.ts";

const encoder = new TextEncoder();

/** FNV-1a 64 of the UTF-8 bytes of `text`, as 16 lower-case hex digits. */
export function fnv1a64Hex(text: string): string {
  // 64-bit arithmetic in two 32-bit halves: x * 0x100000001b3 = x * 0x1b3 + (x << 40).
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const byte of encoder.encode(text)) {
    lo = (lo ^ byte) >>> 0;
    const low = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + Math.floor(low / 0x100000000)) >>> 0;
    lo = low >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/**
 * A danmaku with a msg_id needs no key (the `danmaku_dedup` index covers it): null. Else
 * `h:<ts_ms>:<uid>:<user_hash>:<fnv1a64 hex of text>` (`r<received_at_ms>` for a missing ts).
 */
export function danmakuDedupKey(event: DanmakuEvent): string | null {
  if (event.msgId !== null) return null;
  return `h:${event.tsMs ?? `r${event.receivedAtMs}`}:${event.uid}:${event.userHash ?? ""}:${
    fnv1a64Hex(event.text)
  }`;
}

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
