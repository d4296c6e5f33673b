/**
 * The room lists (docs/protocol.md §3.7): `/room/v3/area/getRoomList` (by popularity or newest
 * start), `/room/v1/Area/getListByAreaID` (unsigned, both sorts), the web area page's
 * `/xlive/web-interface/v1/second/getList` (WBI-signed, with `w_webid`, one parent area at a
 * time) and the area tree `/room/v1/Area/getList`, through the shared client. Every call is in
 * the "list" backoff group, so a -352 or 412 here never holds back getDanmuInfo.
 */
import type { BilibiliApi, CallOptions } from "./api_client.ts";
import { asIdText, asNumber, asObject, type JsonObject } from "../util/json_guards.ts";
import { signWbiQuery } from "./wbi.ts";

/** `web_location` of the live area page, which second/getList is called from (DTV, 2025–26). */
export const AREA_PAGE_WEB_LOCATION = "444.253";

/** The options of a list call: the caller's signal, in the "list" backoff group. */
function listCall(options: CallOptions): CallOptions {
  return { ...options, group: "list" };
}

/** The rows of a list answer, as objects. */
function rowsOf(value: unknown): JsonObject[] {
  return Array.isArray(value)
    ? value.map(asObject).filter((row): row is JsonObject => row !== undefined)
    : [];
}

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
  const { data } = await api.call(
    "live",
    "/room/v3/area/getRoomList",
    query.toString(),
    listCall(options),
  );
  const record = asObject(data) ?? {};
  return { rooms: rowsOf(record.list).map(listingFrom), count: asNumber(record.count) ?? 0 };
}

/**
 * One page of `/room/v1/Area/getListByAreaID` (a plain array): `sort=online` (popularity) or
 * `sort=livetime` (newest started, as the live home page asks). `areaId` 0 is every area; the
 * endpoint has no parent-area filter.
 */
export async function getListByAreaId(
  api: BilibiliApi,
  params: { sortType: "online" | "live_time"; areaId?: number; page: number; pageSize: number },
  options: CallOptions = {},
): Promise<LiveRoomListing[]> {
  const sort = params.sortType === "live_time" ? "livetime" : "online";
  const query = `areaId=${
    params.areaId ?? 0
  }&sort=${sort}&pageSize=${params.pageSize}&page=${params.page}`;
  const { data } = await api.call(
    "live",
    "/room/v1/Area/getListByAreaID",
    query,
    listCall(options),
  );
  return rowsOf(data).map(listingFrom);
}

/**
 * One page of `/xlive/web-interface/v1/second/getList`, the list the live area page shows: one
 * parent area (`parentAreaId` > 0; `areaId` 0 = all of it), `sort_type=live_time` for newest
 * started or empty for the page's default order, WBI-signed, with `web_location=444.253` and the
 * page's `w_webid`. The server picks the page size (30); `hasMore` says whether to go on.
 */
export async function getSecondList(
  api: BilibiliApi,
  params: {
    sortType: "online" | "live_time";
    parentAreaId: number;
    areaId?: number;
    page: number;
    webId: string;
    nowSeconds: number;
  },
  options: CallOptions = {},
): Promise<{ rooms: LiveRoomListing[]; hasMore: boolean }> {
  const keys = await api.wbiKeys(options);
  const query = signWbiQuery(
    {
      platform: "web",
      parent_area_id: params.parentAreaId,
      area_id: params.areaId ?? 0,
      sort_type: params.sortType === "live_time" ? "live_time" : "",
      page: params.page,
      vajra_business_key: "",
      w_webid: params.webId,
      web_location: AREA_PAGE_WEB_LOCATION,
    },
    keys,
    params.nowSeconds,
  );
  const { data } = await api.call(
    "live",
    "/xlive/web-interface/v1/second/getList",
    query,
    listCall(options),
  );
  const record = asObject(data) ?? {};
  const rooms = rowsOf(record.list).map(listingFrom);
  const hasMore = record.has_more === 1 || record.has_more === true;
  return { rooms, hasMore };
}

/** A parent area of the area tree and its areas. */
export interface ParentArea {
  id: number;
  name: string;
  areaIds: number[];
}

/** The area tree from `/room/v1/Area/getList`: the parent areas, each with its area ids. */
export async function getAreaTree(
  api: BilibiliApi,
  options: CallOptions = {},
): Promise<ParentArea[]> {
  const { data } = await api.call(
    "live",
    "/room/v1/Area/getList",
    "parent_id=0",
    listCall(options),
  );
  return rowsOf(data).map((parent) => ({
    id: asNumber(parent.id) ?? 0,
    name: asIdText(parent.name) ?? "",
    areaIds: rowsOf(parent.list).map((area) => asNumber(area.id) ?? 0).filter((id) => id > 0),
  })).filter((parent) => parent.id > 0);
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
