/**
 * The room lists (docs/protocol.md §3.7): `/room/v3/area/getRoomList` (by popularity or newest
 * start) and its fallback `/room/v1/Area/getListByAreaID`, through the shared client.
 */
import type { BilibiliApi, CallOptions } from "./api_client.ts";
import { asIdText, asNumber, asObject, type JsonObject } from "../util/json_guards.ts";

/** One row of a room list. */
export interface LiveRoomListing {
  roomId: number;
  uid: number;
  uname: string;
  title: string;
  online: number;
  areaId: number;
  areaName: string;
  parentAreaId: number;
  parentAreaName: string;
  /** Unix seconds the stream started, when the API says. */
  liveTime?: number;
}

/**
 * One page of live rooms from `/room/v3/area/getRoomList`, sorted by `online` (popularity)
 * or `live_time` (newest first). Returns the rows and the API's total count.
 */
export async function getRoomList(
  api: BilibiliApi,
  params: {
    sortType: "online" | "live_time";
    page: number;
    pageSize: number;
    areaId?: number;
    parentAreaId?: number;
  },
  options: CallOptions = {},
): Promise<{ rooms: LiveRoomListing[]; count: number }> {
  const query = new URLSearchParams({
    platform: "web",
    parent_area_id: String(params.parentAreaId ?? 0),
    area_id: String(params.areaId ?? 0),
    cate_id: "0",
    sort_type: params.sortType,
    page: String(params.page),
    page_size: String(params.pageSize),
    tag_version: "1",
  });
  const { data } = await api.call("live", "/room/v3/area/getRoomList", query.toString(), options);
  const record = asObject(data) ?? {};
  const list = Array.isArray(record.list)
    ? record.list.map(asObject).filter((row): row is JsonObject => row !== undefined)
    : [];
  return { rooms: list.map(listingFrom), count: asNumber(record.count) ?? 0 };
}

/** One page of `/room/v1/Area/getListByAreaID` (the fallback list: a plain array). */
export async function getListByAreaId(
  api: BilibiliApi,
  params: { areaId?: number; page: number; pageSize: number },
  options: CallOptions = {},
): Promise<LiveRoomListing[]> {
  const query = `areaId=${
    params.areaId ?? 0
  }&sort=online&pageSize=${params.pageSize}&page=${params.page}`;
  const { data } = await api.call("live", "/room/v1/Area/getListByAreaID", query, options);
  return (Array.isArray(data)
    ? data.map(asObject).filter((row): row is JsonObject => row !== undefined)
    : []).map(listingFrom);
}

function listingFrom(row: JsonObject): LiveRoomListing {
  const liveTime = asNumber(row.live_time) ?? NaN;
  return {
    roomId: asNumber(row.roomid ?? row.room_id) ?? 0,
    uid: asNumber(row.uid) ?? 0,
    uname: asIdText(row.uname) ?? "",
    title: asIdText(row.title) ?? "",
    online: asNumber(row.online) ?? 0,
    areaId: asNumber(row.area_v2_id ?? row.area_id) ?? 0,
    areaName: asIdText(row.area_v2_name ?? row.area_name) ?? "",
    parentAreaId: asNumber(row.area_v2_parent_id ?? row.parent_id) ?? 0,
    parentAreaName: asIdText(row.area_v2_parent_name ?? row.parent_name) ?? "",
    liveTime: Number.isFinite(liveTime) && liveTime > 0 ? liveTime : undefined,
  };
}
