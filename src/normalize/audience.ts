/**
 * Audience counters (docs/protocol.md §4.7, §4.8): WATCHED_CHANGE, ONLINE_RANK_COUNT,
 * LIKE_INFO_V3_UPDATE and the op-3 heartbeat popularity → `audience` events.
 */
import type { AudienceEvent, AudienceKind, CollectedEvent } from "./events.ts";
import { asNumber } from "../util/json_guards.ts";
import type { CmdHandler, NormalizeContext } from "./context.ts";

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

/** Pushes the `watched` count (`num`) of WATCHED_CHANGE; false without it. */
export const normalizeWatched: CmdHandler = ({ data }, context, out) => {
  const num = asNumber(data?.num);
  if (num === null) return false;
  push(out, context, "watched", num);
  return true;
};

/** Pushes ONLINE_RANK_COUNT's `count` and, when present, `online_count`; false without both. */
export const normalizeOnlineRankCount: CmdHandler = ({ data }, context, out) => {
  const count = asNumber(data?.count);
  const online = asNumber(data?.online_count);
  if (count !== null) push(out, context, "online_rank_count", count);
  if (online !== null) push(out, context, "online_count", online);
  return count !== null || online !== null;
};

/** Pushes the `like_count` (`click_count`) of LIKE_INFO_V3_UPDATE; false without it. */
export const normalizeLikeCount: CmdHandler = ({ data }, context, out) => {
  const clicks = asNumber(data?.click_count);
  if (clicks === null) return false;
  push(out, context, "like_count", clicks);
  return true;
};
