/**
 * Audience counters (docs/protocol.md §4.7, §4.8): WATCHED_CHANGE, ONLINE_RANK_COUNT,
 * LIKE_INFO_V3_UPDATE and the op-3 heartbeat popularity → `audience` events.
 */
import type { AudienceEvent, AudienceKind, CollectedEvent } from "./events.ts";
import { asNumber, asObject, type JsonObject } from "../util/json_guards.ts";
import type { NormalizeContext } from "./context.ts";

/** The `audience` event of an op-3 heartbeat reply (deprecated: nearly always 1 today). */
export function audienceFromHeartbeat(
  roomId: number,
  receivedAtMs: number,
  popularity: number,
): AudienceEvent {
  return { type: "audience", roomId, receivedAtMs, kind: "heartbeat", value: popularity };
}

function push(
  out: CollectedEvent[],
  context: NormalizeContext,
  kind: AudienceKind,
  value: number,
): void {
  out.push({
    type: "audience",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    kind,
    value,
  });
}

/**
 * Pushes the counters of WATCHED_CHANGE (`num`), ONLINE_RANK_COUNT (`count`, and
 * `online_count` when present) or LIKE_INFO_V3_UPDATE (`click_count`); false when none.
 * `baseCmd` is the cmd without any `:suffix`.
 */
export function normalizeAudience(
  body: JsonObject,
  baseCmd: string,
  context: NormalizeContext,
  out: CollectedEvent[],
): boolean {
  const data = asObject(body.data);
  if (data === undefined) return false;
  switch (baseCmd) {
    case "WATCHED_CHANGE": {
      const num = asNumber(data.num);
      if (num === null) return false;
      push(out, context, "watched", num);
      return true;
    }
    case "ONLINE_RANK_COUNT": {
      const count = asNumber(data.count);
      const online = asNumber(data.online_count);
      if (count !== null) push(out, context, "online_rank_count", count);
      if (online !== null) push(out, context, "online_count", online);
      return count !== null || online !== null;
    }
    case "LIKE_INFO_V3_UPDATE": {
      const clicks = asNumber(data.click_count);
      if (clicks === null) return false;
      push(out, context, "like_count", clicks);
      return true;
    }
    default:
      return false;
  }
}
