/**
 * Live room lists (docs/protocol.md §3.7): the most popular rooms or the newest started, from
 * the first list source that answers, in this order:
 *
 * 1. `/room/v3/area/getRoomList` (`sort_type=online|live_time`), paged;
 * 2. `/room/v1/Area/getListByAreaID` (`sort=online|livetime`), from the page where 1 failed;
 * 3. the live area page's `second/getList` (WBI, `w_webid`), one parent area at a time.
 *
 * A source that answers -352 or 412 is left alone for a growing while (1 min, doubling up to
 * 30 min) and the next one is tried; after a 412 (an IP ban, which every source shares) the
 * listing stops there and the caller retries later. The client's own "list" backoff group keeps
 * those answers from pausing getDanmuInfo.
 */
import { ROOMS_DEFAULTS } from "../defaults.ts";
import { ApiError } from "../errors.ts";
import type { BilibiliApi } from "../bilibili/api_client.ts";
import type { LiveWebId } from "../bilibili/live_page.ts";
import {
  getAreaTree,
  getListByAreaId,
  getRoomList,
  getSecondList,
  type LiveRoomListing,
  type ParentArea,
} from "../bilibili/room_list_api.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { fieldLogger, type Logger, type LogSink } from "../util/log.ts";

/** The list sources, in the order they are tried. */
export const LIST_SOURCES = ["v3", "byArea", "second"] as const;
/** One list source. */
export type ListSource = typeof LIST_SOURCES[number];

const SOURCE_PATHS: Record<ListSource, string> = {
  v3: "/room/v3/area/getRoomList",
  byArea: "/room/v1/Area/getListByAreaID",
  second: "/xlive/web-interface/v1/second/getList",
};

/** What to list. */
export interface ListRequest {
  /** `online`: by popularity; `live_time`: newest started first. */
  sort: "online" | "live_time";
  /** How many rooms to return at most. */
  limit: number;
  areaId?: number;
  parentAreaId?: number;
  /** Rooms per page (sources that take a size). @default {ROOMS_DEFAULTS.pageSize} */
  pageSize?: number;
  /** Pages fetched at most per source (per parent area for `second`). @default {100} */
  maxPages?: number;
  signal?: AbortSignal;
}

/** Options of {@linkcode RoomLists}. */
export interface RoomListsOptions {
  /** @default {systemClock} */
  clock?: Clock;
  /** The live page's `w_webid`; without it `second/getList` is not tried. */
  webId?: LiveWebId;
  log?: LogSink;
  /** First pause of a source after -352 / 412; doubles per repeat. @default {60000} */
  backoffMs?: number;
  /** Longest pause of a source. @default {1800000} */
  maxBackoffMs?: number;
}

/** How long the area tree is reused. */
const AREA_TREE_LIFETIME_MS = 6 * 3_600_000;

/** Rooms gathered across pages and sources: each room once, at its first position. */
class Gathered {
  readonly rooms: LiveRoomListing[] = [];
  readonly #seen = new Set<number>();
  constructor(readonly limit: number) {}

  get full(): boolean {
    return this.rooms.length >= this.limit;
  }

  add(list: readonly LiveRoomListing[]): void {
    for (const room of list) {
      if (this.full) return;
      if (room.roomId <= 0 || this.#seen.has(room.roomId)) continue;
      this.#seen.add(room.roomId);
      this.rooms.push(room);
    }
  }
}

/** True for answers that mean "this endpoint does not trust us now": -352, 412 / -412. */
function isRiskAnswer(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.code === -352 || error.code === -412);
}

/**
 * The list sources of one run, with what they remember between listings: which source is
 * backing off, the area tree, the live page's `w_webid`.
 */
export class RoomLists {
  readonly #api: BilibiliApi;
  readonly #options: RoomListsOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #backoff = new Map<ListSource, { until: number; count: number }>();
  #tree?: { parents: ParentArea[]; fetchedAt: number };
  /** Pages each source answered. */
  readonly pages: Record<ListSource, number> = { v3: 0, byArea: 0, second: 0 };

  constructor(api: BilibiliApi, options: RoomListsOptions = {}) {
    this.#api = api;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = fieldLogger(options.log ?? (() => {}));
  }

  /** When `source` may be tried again (clock ms; 0 = now). */
  backingOffUntil(source: ListSource): number {
    return this.#backoff.get(source)?.until ?? 0;
  }

  /**
   * Up to `limit` live rooms in the list's order, from the first source that answers. Every
   * page is one API call through the shared limiter. Throws the last failure when no source
   * could answer (network errors and cancellation at once: another source would fail alike).
   */
  async list(request: ListRequest): Promise<LiveRoomListing[]> {
    const gathered = new Gathered(request.limit);
    const progress = { page: 1 };
    let lastError: unknown;
    for (const source of LIST_SOURCES) {
      if (!this.#applies(source, request)) continue;
      if (this.#clock.now() < this.backingOffUntil(source)) continue;
      try {
        if (source === "second") await this.#second(request, gathered);
        else await this.#paged(source, request, gathered, progress);
        this.#backoff.delete(source);
        return gathered.rooms;
      } catch (error) {
        // A network failure or a cancel is not the list's fault: the next source would fail too.
        if (!(error instanceof ApiError) || error.code === 0) throw error;
        lastError = error;
        if (isRiskAnswer(error)) this.#backOff(source, error);
        // An IP ban (412) covers every source: wait instead of knocking on the next one.
        if (error.code === -412) throw error;
        this.#log.warn("room list failed, trying the next list", {
          list: SOURCE_PATHS[source],
          sort: request.sort,
          page: source === "second" ? undefined : progress.page,
          detail: error.message,
        });
      }
    }
    if (lastError) throw lastError;
    const soonest = Math.min(...LIST_SOURCES.map((s) => this.backingOffUntil(s)).filter((t) => t));
    throw new ApiError(
      `Cannot list rooms: every room list is backing off after -352/412 until ${
        new Date(soonest).toISOString()
      }`,
      -352,
    );
  }

  /** Whether `source` can serve `request` at all. */
  #applies(source: ListSource, request: ListRequest): boolean {
    // getListByAreaID has no parent-area filter.
    if (source === "byArea") return !(request.parentAreaId && !request.areaId);
    if (source === "second") return this.#options.webId !== undefined;
    return true;
  }

  #backOff(source: ListSource, error: ApiError): void {
    const base = this.#options.backoffMs ?? 60_000;
    const cap = this.#options.maxBackoffMs ?? 30 * 60_000;
    const count = (this.#backoff.get(source)?.count ?? 0) + 1;
    const pause = Math.min(cap, base * 2 ** Math.min(count - 1, 20));
    this.#backoff.set(source, { until: this.#clock.now() + pause, count });
    this.#log.warn("room list refused, leaving it alone for a while", {
      list: SOURCE_PATHS[source],
      code: error.code,
      backoff_s: Math.ceil(pause / 1000),
    });
  }

  /** The paged sources (v3, byArea), from `progress.page` on; `progress.page` is where it failed. */
  async #paged(
    source: "v3" | "byArea",
    request: ListRequest,
    gathered: Gathered,
    progress: { page: number },
  ): Promise<void> {
    const pageSize = request.pageSize ?? ROOMS_DEFAULTS.pageSize;
    const maxPages = request.maxPages ?? 100;
    const options = { signal: request.signal };
    for (; !gathered.full && progress.page <= maxPages; progress.page++) {
      const page = progress.page;
      let list: LiveRoomListing[];
      let count = Infinity;
      if (source === "v3") {
        const result = await getRoomList(this.#api, {
          sortType: request.sort,
          page,
          pageSize,
          areaId: request.areaId,
          parentAreaId: request.parentAreaId,
        }, options);
        list = result.rooms;
        if (result.count > 0) count = result.count;
      } else {
        list = await getListByAreaId(this.#api, {
          sortType: request.sort,
          areaId: request.areaId,
          page,
          pageSize,
        }, options);
      }
      this.pages[source]++;
      if (list.length === 0) break;
      gathered.add(list);
      if (page * pageSize >= count) break;
    }
  }

  /**
   * second/getList, one parent area at a time: page 1 of every parent, then page 2, … Each
   * round is merged by start time (newest) or `online` (popularity) when the rows say, else
   * taken in turns, so every parent area contributes its newest rooms.
   */
  async #second(request: ListRequest, gathered: Gathered): Promise<void> {
    const parents = await this.#parentsFor(request);
    const maxPages = request.maxPages ?? 100;
    const open = new Set(parents);
    for (let page = 1; !gathered.full && open.size > 0 && page <= maxPages; page++) {
      const round: LiveRoomListing[][] = [];
      for (const parentAreaId of [...open]) {
        const { rooms, hasMore } = await this.#secondPage(request, parentAreaId, page);
        this.pages.second++;
        round.push(rooms);
        if (rooms.length === 0 || !hasMore) open.delete(parentAreaId);
      }
      gathered.add(mergeRound(round, request.sort));
    }
  }

  /** One page of second/getList; a -352 first reads the live page again and retries once. */
  async #secondPage(request: ListRequest, parentAreaId: number, page: number) {
    const webId = this.#options.webId!;
    const call = async () =>
      getSecondList(this.#api, {
        sortType: request.sort,
        parentAreaId,
        areaId: request.areaId,
        page,
        webId: await webId.get(request.signal),
        nowSeconds: this.#clock.now() / 1000,
      }, { signal: request.signal });
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== -352) throw error;
      // A stale w_webid (or WBI key, which the client dropped already): fetch both again.
      webId.invalidate();
      return await call();
    }
  }

  /** The parent areas to walk: the one asked for, the parent of the area asked for, or all. */
  async #parentsFor(request: ListRequest): Promise<number[]> {
    if (request.parentAreaId) return [request.parentAreaId];
    const tree = await this.#areaTree(request.signal);
    if (request.areaId) {
      const parent = tree.find((p) => p.areaIds.includes(request.areaId!));
      if (!parent) {
        throw new ApiError(`Cannot list area ${request.areaId}: it is not in the area tree`, 1);
      }
      return [parent.id];
    }
    return tree.map((p) => p.id);
  }

  async #areaTree(signal?: AbortSignal): Promise<ParentArea[]> {
    const cached = this.#tree;
    if (cached && this.#clock.now() - cached.fetchedAt < AREA_TREE_LIFETIME_MS) {
      return cached.parents;
    }
    const parents = await getAreaTree(this.#api, { signal });
    if (parents.length === 0) throw new ApiError("Cannot list rooms: the area tree is empty", 1);
    this.#tree = { parents, fetchedAt: this.#clock.now() };
    return parents;
  }
}

/** One round of per-parent pages as one list: by start time or popularity, else in turns. */
function mergeRound(
  round: readonly LiveRoomListing[][],
  sort: ListRequest["sort"],
): LiveRoomListing[] {
  const all = round.flat();
  if (sort === "online") return all.sort((a, b) => b.online - a.online);
  if (all.every((room) => room.liveTime !== undefined)) {
    return all.sort((a, b) => b.liveTime! - a.liveTime!);
  }
  const merged: LiveRoomListing[] = [];
  for (let i = 0; merged.length < all.length; i++) {
    for (const list of round) if (i < list.length) merged.push(list[i]);
  }
  return merged;
}

/** Options of {@linkcode listLiveRooms}. */
export interface ListLiveRoomsOptions extends ListRequest, RoomListsOptions {}

/** One listing with sources that remember nothing (the `rooms` command, tests). */
export function listLiveRooms(
  api: BilibiliApi,
  options: ListLiveRoomsOptions,
): Promise<LiveRoomListing[]> {
  return new RoomLists(api, options).list(options);
}
