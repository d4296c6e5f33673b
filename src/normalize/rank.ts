/**
 * Rankings (docs/protocol.md §4.8): the room's place in a ranking (POPULAR_RANK_CHANGED,
 * AREA_RANK_CHANGED, HOT_RANK_CHANGED, HOT_RANK_CHANGED_V2) → a `rankChange` event; the
 * viewers of the high-energy list (ONLINE_RANK_V2 as JSON, ONLINE_RANK_V3 as protobuf) → one
 * `onlineRank` event per viewer.
 */
import type { OnlineRankEvent } from "./events.ts";
import {
  asNonEmptyString,
  asNumber,
  asObject,
  asString,
  secondsToMs,
} from "../util/json_guards.ts";
import type { CmdHandler, NormalizeContext } from "./context.ts";
import { protoMessages, readPbPayload } from "./pb_payload.ts";

/** Most viewers read from one ranking list (real lists hold 7 to 100). */
export const MAX_RANK_ITEMS = 100;

/** GoldRankBroadcast (ONLINE_RANK_V3 `pb`): rank_type, list, online_list. */
const GOLD_RANK = { rankType: 1, list: 2, onlineList: 3 } as const;
/** One GoldRankBroadcast item; field 2 is `face`, 7 `is_mystery`, 8 `uinfo`. */
const GOLD_RANK_ITEM = { uid: 1, score: 3, uname: 4, rank: 5, guardLevel: 6 } as const;

/** The ranking a rank-change cmd reports: "popular" (人气榜), else the name it sends. */
function rankName(baseCmd: string, data: { readonly [key: string]: unknown }): string | null {
  switch (baseCmd) {
    case "POPULAR_RANK_CHANGED":
      return "popular";
    case "AREA_RANK_CHANGED":
      return asString(data.rank_name) ?? "";
    case "HOT_RANK_CHANGED":
    case "HOT_RANK_CHANGED_V2":
      return asString(data.area_name) ?? "";
    default:
      return null;
  }
}

/** Pushes the `rankChange` event of a rank-change cmd; false without `data.rank`. */
export const normalizeRankChanged: CmdHandler = ({ data, cmd, baseCmd }, context, out) => {
  if (data === undefined) return false;
  const name = rankName(baseCmd, data);
  const rank = asNumber(data.rank);
  if (name === null || rank === null) return false;
  out.push({
    type: "rankChange",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    tsMs: secondsToMs(data.timestamp),
    rankName: name,
    rank,
    countdownS: asNumber(data.countdown),
  });
  return true;
};

function onlineRank(
  context: NormalizeContext,
  cmd: string,
  rankType: string | null,
  rank: number,
  uid: number,
  uname: string,
  score: number | null,
  guardLevel: number,
): OnlineRankEvent {
  return {
    type: "onlineRank",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    rankType,
    rank,
    uid,
    uname,
    score,
    guardLevel,
  };
}

/**
 * Pushes one `onlineRank` per item of ONLINE_RANK_V2's `data.list` (else `online_list`), at
 * most MAX_RANK_ITEMS; an empty list pushes nothing. False when neither is an array or no
 * item is an object. An item without `rank` takes its position in the list.
 */
export const normalizeOnlineRankV2: CmdHandler = ({ data, cmd }, context, out) => {
  const list = Array.isArray(data?.list)
    ? data.list
    : Array.isArray(data?.online_list)
    ? data.online_list
    : undefined;
  if (data === undefined || list === undefined) return false;
  const rankType = asNonEmptyString(data.rank_type);
  const start = out.length;
  const n = Math.min(list.length, MAX_RANK_ITEMS);
  for (let i = 0; i < n; i++) {
    const item = asObject(list[i]);
    if (item === undefined) continue;
    const uinfo = asObject(item.uinfo);
    out.push(onlineRank(
      context,
      cmd,
      rankType,
      asNumber(item.rank) ?? i + 1,
      asNumber(item.uid) ?? asNumber(uinfo?.uid) ?? 0,
      asString(item.uname) ?? asString(asObject(uinfo?.base)?.name) ?? "",
      asNumber(item.score),
      asNumber(item.guard_level) ?? 0,
    ));
  }
  return list.length === 0 || out.length > start;
};

/**
 * Pushes one `onlineRank` per item of ONLINE_RANK_V3's GoldRankBroadcast `list` (else
 * `online_list`), at most MAX_RANK_ITEMS; false without `pb`. Throws on bad base64/protobuf
 * (the caller keeps it raw).
 */
export const normalizeOnlineRankV3: CmdHandler = ({ data, cmd }, context, out) => {
  const pb = readPbPayload(data);
  if (pb === undefined) return false;
  const rankType = pb.string(GOLD_RANK.rankType) || null;
  let items = protoMessages(pb, GOLD_RANK.list, MAX_RANK_ITEMS);
  if (items.length === 0) items = protoMessages(pb, GOLD_RANK.onlineList, MAX_RANK_ITEMS);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const score = item.string(GOLD_RANK_ITEM.score);
    out.push(onlineRank(
      context,
      cmd,
      rankType,
      item.number(GOLD_RANK_ITEM.rank) || i + 1,
      item.number(GOLD_RANK_ITEM.uid),
      item.string(GOLD_RANK_ITEM.uname),
      score === "" ? null : asNumber(score),
      item.number(GOLD_RANK_ITEM.guardLevel),
    ));
  }
  return true;
};
