/** The fan medal of JSON bodies (`medal_info` of gifts and super chats, `fans_medal` of INTERACT_WORD). */
import { asNonEmptyString, asNumber, type JsonObject } from "../util/json_guards.ts";
import type { MedalFields } from "./events.ts";

/** Medal fields from a `medal_info`-shaped object; all null when no medal is worn. */
export function medalFromJson(medal: JsonObject | undefined): MedalFields {
  const medalName = medal === undefined ? null : asNonEmptyString(medal.medal_name);
  if (medalName === null) {
    return {
      medalName: null,
      medalLevel: null,
      medalAnchorUname: null,
      medalAnchorRoomId: null,
      medalAnchorUid: null,
    };
  }
  return {
    medalName,
    medalLevel: asNumber(medal?.medal_level),
    medalAnchorUname: asNonEmptyString(medal?.anchor_uname),
    medalAnchorRoomId: asNumber(medal?.anchor_roomid),
    medalAnchorUid: asNumber(medal?.target_id),
  };
}
