/**
 * INTERACT_WORD (JSON), INTERACT_WORD_V2 (protobuf, docs/protocol.md §4.6) and
 * LIKE_INFO_V3_CLICK (§4.7) → an `interaction` event.
 */
import type { InteractionKind } from "./events.ts";
import { asNumber, asObject, asString, secondsToMs } from "../util/json_guards.ts";
import {
  medalFromJson,
  medalFromProto,
  type ProtoMedal,
  type ProtoMedalLayout,
  readProtoMedal,
} from "./medal.ts";
import type { CmdHandler } from "./context.ts";
import { readPbPayload } from "./pb_payload.ts";
import type { ProtoMessage } from "../protocol/protobuf.ts";

/**
 * Where INTERACT_WORD_V2's medal message (field 9) keeps its fields; its field 9 is the
 * wearer's guard level. wasm/body_scan/index.ts reads the same numbers.
 */
const INTERACT_MEDAL: ProtoMedalLayout = { name: 3, level: 2, anchorRoomId: 12, anchorUid: 1 };
const INTERACT_MEDAL_GUARD = 9;

/**
 * What an interaction row reads of an INTERACT_WORD_V2's `pb` (absent numbers 0, absent strings
 * ""), by field: read from the decoded protobuf by {@linkcode fieldsOfPb}, or straight from the
 * body's bytes (body_scan.ts).
 */
export interface InteractWordV2Fields {
  /** Fields 1, 2, 5, 7 and 16. */
  uid: number;
  uname: string;
  msgType: number;
  timestamp: number;
  privilege: number;
  /** The medal message (field 9), when there is one. */
  medal: ProtoMedal | undefined;
  /** The medal message's guard level (its field 9); 0 without one. */
  medalGuard: number;
}

/** An INTERACT_WORD_V2 whose fields were read from its bytes (body_scan.ts): the body dispatched. */
export class ScannedInteractWordV2 {
  constructor(readonly cmd: string, readonly fields: InteractWordV2Fields) {}
}

/** The fields of a decoded `pb`; throws (ProtocolError) on a malformed medal message. */
function fieldsOfPb(pb: ProtoMessage): InteractWordV2Fields {
  const medal = pb.message(9);
  return {
    uid: pb.number(1),
    uname: pb.string(2),
    msgType: pb.number(5),
    timestamp: pb.number(7),
    privilege: pb.number(16),
    medal: readProtoMedal(medal, INTERACT_MEDAL),
    medalGuard: medal === undefined ? 0 : medal.number(INTERACT_MEDAL_GUARD),
  };
}

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
export const normalizeInteractWordV2: CmdHandler = ({ body, data, cmd }, context, out) => {
  let fields: InteractWordV2Fields;
  if (body instanceof ScannedInteractWordV2) fields = body.fields;
  else {
    const pb = readPbPayload(data);
    if (pb === undefined) return false;
    fields = fieldsOfPb(pb);
  }
  out.push({
    type: "interaction",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    kind: interactionKind(fields.msgType),
    msgType: fields.msgType,
    uid: fields.uid,
    uname: fields.uname,
    tsMs: secondsToMs(fields.timestamp),
    guardLevel: fields.privilege || fields.medalGuard,
    ...medalFromProto(fields.medal),
  });
  return true;
};
