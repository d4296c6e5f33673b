/**
 * Room state changes (docs/protocol.md §4.9): LIVE, PREPARING, ROOM_CHANGE, ROOM_BLOCK_MSG,
 * CUT_OFF, CUT_OFF_V2, WARNING → a `roomState` event (plus a `room` upsert for the first
 * three, so `rooms` follows title, area and live status).
 */
import type { RoomStateKind } from "./events.ts";
import { asIdText, asNonEmptyString, asNumber, asObject } from "../util/json_guards.ts";
import type { CmdHandler } from "./context.ts";

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
    default:
      return undefined;
  }
}

/** A time that may be unix seconds or ms, as ms. */
function anyTimeToMs(value: unknown): number | null {
  const t = asNumber(value);
  if (t === null || t <= 0) return null;
  return t < 1e11 ? t * 1000 : t;
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
    tsMs: anyTimeToMs(body.send_time) ?? anyTimeToMs(data?.timestamp),
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
    message: asNonEmptyString(body.msg) ?? asNonEmptyString(data?.msg),
    text,
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
