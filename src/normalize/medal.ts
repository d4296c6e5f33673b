/**
 * The fan medal worn next to a name: `medal_info` of JSON gifts and super chats, `fans_medal`
 * of INTERACT_WORD, and the nested medal message of the protobuf *_V2 cmds.
 */
import type { ProtoMessage } from "../protocol/protobuf.ts";
import { asNonEmptyString, asNumber, type JsonObject } from "../util/json_guards.ts";
import type { MedalFields } from "./events.ts";

/** The medal fields of a user who wears none. */
function noMedal(): MedalFields {
  return {
    medalName: null,
    medalLevel: null,
    medalAnchorUname: null,
    medalAnchorRoomId: null,
    medalAnchorUid: null,
  };
}

/** Medal fields from a `medal_info`-shaped object; all null when no medal is worn. */
export function medalFromJson(medal: JsonObject | undefined): MedalFields {
  const medalName = medal === undefined ? null : asNonEmptyString(medal.medal_name);
  if (medal === undefined || medalName === null) return noMedal();
  return {
    medalName,
    medalLevel: asNumber(medal.medal_level),
    medalAnchorUname: asNonEmptyString(medal.anchor_uname),
    medalAnchorRoomId: asNumber(medal.anchor_roomid),
    medalAnchorUid: asNumber(medal.target_id),
  };
}

/** The field numbers of a protobuf medal message; they differ from cmd to cmd. */
export interface ProtoMedalLayout {
  /** Medal name (string). */
  name: number;
  /** Medal level (varint). */
  level: number;
  /** Real room id of the medal's anchor (varint). */
  anchorRoomId: number;
  /** Uid of the medal's anchor (varint). */
  anchorUid: number;
}

/** What a medal row reads of a protobuf medal message (absent numbers 0, a missing name ""). */
export interface ProtoMedal {
  name: string;
  level: number;
  anchorRoomId: number;
  anchorUid: number;
}

/** The values of a protobuf medal message laid out as `layout`; undefined when it is absent. */
export function readProtoMedal(
  medal: ProtoMessage | undefined,
  layout: ProtoMedalLayout,
): ProtoMedal | undefined {
  if (medal === undefined) return undefined;
  return {
    name: medal.string(layout.name),
    level: medal.number(layout.level),
    anchorRoomId: medal.number(layout.anchorRoomId),
    anchorUid: medal.number(layout.anchorUid),
  };
}

/**
 * Medal fields from a protobuf medal message's values; all null when it is absent or its name
 * is empty. These messages carry no anchor name.
 */
export function medalFromProto(medal: ProtoMedal | undefined): MedalFields {
  if (medal === undefined || medal.name === "") return noMedal();
  return {
    medalName: medal.name,
    medalLevel: medal.level,
    medalAnchorUname: null,
    medalAnchorRoomId: medal.anchorRoomId,
    medalAnchorUid: medal.anchorUid,
  };
}
