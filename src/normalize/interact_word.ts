/**
 * INTERACT_WORD (JSON), INTERACT_WORD_V2 (protobuf, docs/protocol.md §4.6) and
 * LIKE_INFO_V3_CLICK (§4.7) → an `interaction` event.
 */
import type { InteractionKind } from "./events.ts";
import { asNumber, asObject, asString, secondsToMs } from "../util/json_guards.ts";
import { medalFromJson, medalFromProto, type ProtoMedalLayout } from "./medal.ts";
import type { CmdHandler } from "./context.ts";
import { readPbPayload } from "./pb_payload.ts";

/** Where INTERACT_WORD_V2's medal message (field 9) keeps its fields. */
const INTERACT_MEDAL: ProtoMedalLayout = { name: 3, level: 2, anchorRoomId: 12, anchorUid: 1 };

const KINDS: readonly InteractionKind[] = [
  "other",
  "enter",
  "follow",
  "share",
  "special_follow",
  "mutual_follow",
  "like",
];

/** The interaction kind of an INTERACT_WORD `msg_type` (1 enter … 6 like; else "other"). */
export function interactionKind(msgType: number | null): InteractionKind {
  return msgType !== null && Number.isInteger(msgType) && msgType > 0 && msgType < KINDS.length
    ? KINDS[msgType]
    : "other";
}

/** Pushes the `interaction` of an INTERACT_WORD or LIKE_INFO_V3_CLICK body; false without `data`. */
export const normalizeInteractWord: CmdHandler = ({ data, cmd }, context, out) => {
  if (data === undefined) return false;
  const isLike = cmd.startsWith("LIKE_INFO_V3_CLICK");
  const msgType = asNumber(data.msg_type) ?? (isLike ? 6 : null);
  const medal = asObject(data.fans_medal);
  const medalGuard = medal === undefined ? null : asNumber(medal.guard_level);
  out.push({
    type: "interaction",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    kind: isLike ? "like" : interactionKind(msgType),
    msgType,
    uid: asNumber(data.uid) ?? 0,
    uname: asString(data.uname) ?? "",
    tsMs: secondsToMs(data.timestamp),
    guardLevel: asNumber(data.privilege_type) ?? medalGuard ?? 0,
    ...medalFromJson(medal),
  });
  return true;
};

/**
 * Pushes the `interaction` of an INTERACT_WORD_V2 `pb`; false without `pb`. Throws on bad
 * base64/protobuf (the caller keeps it raw).
 */
export const normalizeInteractWordV2: CmdHandler = ({ data, cmd }, context, out) => {
  const pb = readPbPayload(data);
  if (pb === undefined) return false;
  const medal = pb.message(9);
  const msgType = pb.number(5);
  const timestamp = pb.number(7);
  const privilege = pb.number(16);
  out.push({
    type: "interaction",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    kind: interactionKind(msgType),
    msgType,
    uid: pb.number(1),
    uname: pb.string(2),
    tsMs: secondsToMs(timestamp),
    guardLevel: privilege || (medal === undefined ? 0 : medal.number(9)),
    ...medalFromProto(medal, INTERACT_MEDAL),
  });
  return true;
};
