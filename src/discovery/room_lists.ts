/**
 * Live room lists (docs/protocol.md §3.7): the most popular rooms (`sort_type=online`) and the
 * newest started (`sort_type=live_time`) from `/room/v3/area/getRoomList`, paged until enough
 * rooms or the list ends, with `/room/v1/Area/getListByAreaID` as the fallback for popularity.
 */
import { ROOMS_DEFAULTS } from "../defaults.ts";
import { ApiError } from "../errors.ts";
import type { BilibiliApi } from "../bilibili/api_client.ts";
import { getListByAreaId, getRoomList, type LiveRoomListing } from "../bilibili/room_list_api.ts";
import { fieldLogger, type LogSink } from "../util/log.ts";

/** Options of {@linkcode listLiveRooms}. */
export interface ListLiveRoomsOptions {
  /** `online`: by popularity; `live_time`: newest started first. */
  sort: "online" | "live_time";
  /** How many rooms to return at most. */
  limit: number;
  areaId?: number;
  parentAreaId?: number;
  /** Rooms per page. @default {ROOMS_DEFAULTS.pageSize} */
  pageSize?: number;
  /** Pages fetched at most, whatever `limit` says. @default {100} */
  maxPages?: number;
  signal?: AbortSignal;
  log?: LogSink;
}

/**
 * Up to `limit` live rooms in the API's order. Rooms that move between pages while paging are
 * kept once, at their first position. Every page is one API call through the shared limiter.
 */
export async function listLiveRooms(
  api: BilibiliApi,
  options: ListLiveRoomsOptions,
): Promise<LiveRoomListing[]> {
  const pageSize = options.pageSize ?? ROOMS_DEFAULTS.pageSize;
  const seen = new Set<number>();
  const rooms: LiveRoomListing[] = [];
  let useFallback = false;
  for (let page = 1; rooms.length < options.limit && page <= (options.maxPages ?? 100); page++) {
    let list: LiveRoomListing[];
    let count = Infinity;
    if (!useFallback) {
      try {
        const result = await getRoomList(api, {
          sortType: options.sort,
          page,
          pageSize,
          areaId: options.areaId,
          parentAreaId: options.parentAreaId,
        }, { signal: options.signal });
        list = result.rooms;
        count = result.count > 0 ? result.count : Infinity;
      } catch (error) {
        // A ban (-412) or a cancel is not the list's fault: the fallback would be banned too.
        const retryable = error instanceof ApiError && error.code !== -412 && error.code !== 0;
        if (!retryable || options.sort !== "online" || page !== 1) throw error;
        if (options.log) {
          fieldLogger(options.log).warn("getRoomList failed, using getListByAreaID", {
            detail: (error as Error).message,
          });
        }
        useFallback = true;
        page--;
        continue;
      }
    } else {
      list = await getListByAreaId(api, { areaId: options.areaId, page, pageSize }, {
        signal: options.signal,
      });
    }
    if (list.length === 0) break;
    for (const room of list) {
      if (room.roomId <= 0 || seen.has(room.roomId)) continue;
      seen.add(room.roomId);
      rooms.push(room);
      if (rooms.length >= options.limit) break;
    }
    if (page * pageSize >= count) break;
  }
  return rooms;
}
