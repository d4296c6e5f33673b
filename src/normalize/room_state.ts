/**
 * Room state changes (docs/protocol.md §4.9): LIVE, PREPARING, ROOM_CHANGE, ROOM_BLOCK_MSG,
 * CUT_OFF, CUT_OFF_V2, WARNING → a `roomState` event (plus a `room` upsert for the first
 * three, so `rooms` follows title, area and live status). Notices (§4.10): NOTICE_MSG,
 * COMMON_NOTICE_DANMAKU, DANMU_AGGREGATION, GUARD_HONOR_THOUSAND and WIDGET_BANNER → a
 * `roomState` event that keeps the whole message in `text`.
 */
import type { RoomStateKind } from "./events.ts";
import {
  asArray,
  asIdText,
  asNonEmptyString,
  asNumber,
  asObject,
  asString,
  type JsonObject,
} from "../util/json_guards.ts";
import { type CmdHandler, keptText } from "./context.ts";
import { secondsOrMsToMs } from "./unix_time.ts";

/** Most `content_segments` of one COMMON_NOTICE_DANMAKU joined into its message (real ones: 1–5). */
export const MAX_NOTICE_SEGMENTS = 100;

/** The room-state kind of a cmd (without suffix), or undefined when it is not one. */
export function roomStateKind(baseCmd: string): RoomStateKind | undefined {
  switch (baseCmd) {
    case "LIVE":
      return "live";
    case "PREPARING":
      return "preparing";
    case "ROOM_CHANGE":
      return "room_change";
    case "ROOM_BLOCK_MSG":
      return "room_block";
    case "CUT_OFF":
    case "CUT_OFF_V2":
      return "cut_off";
    case "WARNING":
      return "warning";
    case "NOTICE_MSG":
    case "COMMON_NOTICE_DANMAKU":
      return "notice";
    case "DANMU_AGGREGATION":
      return "danmaku_aggregation";
    case "GUARD_HONOR_THOUSAND":
      return "guard_honor";
    case "WIDGET_BANNER":
      return "widget_banner";
    default:
      return undefined;
  }
}

/** Pushes the `roomState` event (and `room` upsert) of a room state cmd; false for other cmds. */
export const normalizeRoomState: CmdHandler = (
  { body, data, cmd, baseCmd, text },
  context,
  out,
) => {
  const kind = roomStateKind(baseCmd);
  if (kind === undefined) return false;
  const cutOff = kind === "cut_off" ? asObject(data?.cut_off_data) : undefined;
  const liveKey = asNonEmptyString(body.live_key) ?? asIdText(data?.live_key);
  const title = kind === "room_change"
    ? asNonEmptyString(data?.title)
    : cutOff === undefined
    ? null
    : asNonEmptyString(cutOff.title);
  const areaId = kind === "room_change" ? asNumber(data?.area_id) : null;
  const areaName = kind === "room_change" ? asNonEmptyString(data?.area_name) : null;
  const parentAreaId = kind === "room_change" ? asNumber(data?.parent_area_id) : null;
  const parentAreaName = kind === "room_change" ? asNonEmptyString(data?.parent_area_name) : null;
  out.push({
    type: "roomState",
    roomId: context.roomId,
    receivedAtMs: context.receivedAtMs,
    cmd,
    kind,
    tsMs: secondsOrMsToMs(body.send_time) ?? secondsOrMsToMs(data?.timestamp),
    liveKey: liveKey === "0" ? null : liveKey,
    title,
    areaId,
    areaName,
    parentAreaId,
    parentAreaName,
    uid: kind === "room_block" ? asNumber(data?.uid) ?? asNumber(body.uid) : null,
    uname: kind === "room_block"
      ? asNonEmptyString(data?.uname) ?? asNonEmptyString(body.uname)
      : null,
    message: roomStateMessage(baseCmd, body, data),
    text: keptText(text, body),
  });
  if (kind === "live" || kind === "preparing" || kind === "room_change") {
    out.push({
      type: "room",
      roomId: context.roomId,
      receivedAtMs: context.receivedAtMs,
      shortId: null,
      anchorUid: null,
      uname: null,
      title,
      areaId,
      areaName,
      parentAreaId,
      parentAreaName,
      liveStatus: kind === "live"
        ? 1
        : kind === "preparing"
        ? (asNumber(body.round) === 1 ? 2 : 0)
        : null,
      seenAtMs: context.receivedAtMs,
    });
  }
  return true;
};

/**
 * The message of a room state: NOTICE_MSG `msg_common` (else `msg_self`), COMMON_NOTICE_DANMAKU's
 * `content_segments` texts joined, else `msg` (CUT_OFF, WARNING, DANMU_AGGREGATION).
 */
function roomStateMessage(
  baseCmd: string,
  body: JsonObject,
  data: JsonObject | undefined,
): string | null {
  if (baseCmd === "NOTICE_MSG") {
    // Some notices leave `msg_common` empty and carry their text only in `msg_self`.
    return asNonEmptyString(body.msg_common) ?? asNonEmptyString(data?.msg_common) ??
      asNonEmptyString(body.msg_self);
  }
  if (baseCmd === "COMMON_NOTICE_DANMAKU") {
    const segments = asArray(data?.content_segments);
    let joined = "";
    const n = Math.min(segments.length, MAX_NOTICE_SEGMENTS);
    for (let i = 0; i < n; i++) joined += asString(asObject(segments[i])?.text) ?? "";
    return joined === "" ? null : joined;
  }
  return asNonEmptyString(body.msg) ?? asNonEmptyString(data?.msg);
}
