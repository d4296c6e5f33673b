/**
 * Room discovery while collecting: the top-N rooms at start, then every poll interval the
 * newest-started rooms that are not collected yet. `--max-rooms` caps the total: at the cap a
 * new room replaces the least popular discovered room only when it is more popular; explicit
 * rooms are never replaced. With `--drop-offline` discovered rooms offline that long are dropped.
 */
import type { BilibiliApi } from "../bilibili/api_client.ts";
import type { LiveWebId } from "../bilibili/live_page.ts";
import type { LiveRoomListing } from "../bilibili/room_list_api.ts";
import type { CollectedEvent } from "../normalize/events.ts";
import type { Clock } from "../util/clock.ts";
import { fieldLogger, type Logger, type LogSink } from "../util/log.ts";
import { RoomLists } from "./room_lists.ts";
import type { RoomSet } from "./room_set.ts";

/** Options of {@linkcode RoomDiscovery}. */
export interface RoomDiscoveryOptions {
  api: BilibiliApi;
  /** The rooms being collected (the collector's supervisor). */
  supervisor: RoomSet;
  clock: Clock;
  log: LogSink;
  /** When paused API calls may resume (clock ms; 0 = not paused): a retry waits for it. */
  apiPausedUntil?: () => number;
  /** Emits `room` events (what the lists say about each room). */
  emit: (event: CollectedEvent) => void;
  /** Top rooms by popularity to collect at start (0 = none). */
  top: number;
  /** Poll the newest-started list and add rooms that started since. */
  followNew: boolean;
  /** How many newest rooms each poll looks at. */
  newScan: number;
  pollIntervalMs: number;
  /** Cap on collected rooms (explicit ones included). */
  maxRooms: number;
  /** Drop discovered rooms offline at least this long (undefined = keep them). */
  dropOfflineMs?: number;
  areaId?: number;
  parentAreaId?: number;
  /** The live page's `w_webid`, so the newest list can fall back to second/getList. */
  webId?: LiveWebId;
}

/** A list fetch that failed during one poll. */
interface ListFailure {
  list: "top" | "newest";
  error: unknown;
}

/** The discovery loop. */
export class RoomDiscovery {
  readonly #options: RoomDiscoveryOptions;
  readonly #log: Logger;
  /** The list sources, remembering which one is backing off. */
  readonly lists: RoomLists;
  /** Discovered rooms → popularity when found. */
  readonly #discovered = new Map<number, number>();
  /** Rooms seen in the newest list (so a poll adds only rooms that started since). */
  readonly #seenNew = new Set<number>();
  /** Room → clock time it was last seen going offline (absent while live). */
  readonly #offlineSince = new Map<number, number>();
  /** Rooms added by polls of the newest list. */
  addedNew = 0;
  /** Rooms not added because the cap was reached and they were less popular. */
  skippedAtCap = 0;
  /** Rooms dropped for being offline. */
  droppedOffline = 0;
  /** Successful scans of the newest-started list (the first one is the baseline). */
  newestScans = 0;
  /** Polls made (each fetches the lists still due), and those where a list fetch failed. */
  polls = 0;
  pollFailures = 0;
  /** Removals under way, awaited before run() returns. */
  readonly #removals = new Set<Promise<unknown>>();

  constructor(options: RoomDiscoveryOptions) {
    this.#options = options;
    this.#log = fieldLogger(options.log);
    this.lists = new RoomLists(options.api, {
      clock: options.clock,
      webId: options.webId,
      log: options.log,
    });
  }

  /** Watches collected events for live/offline changes (called for every room event). */
  observe(event: CollectedEvent): void {
    if (event.type !== "room" || event.liveStatus === null) return;
    if (event.liveStatus === 1) this.#offlineSince.delete(event.roomId);
    else if (!this.#offlineSince.has(event.roomId)) {
      this.#offlineSince.set(event.roomId, event.receivedAtMs);
    }
  }

  /** Adds the top rooms, then polls the newest list until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.#discover(signal);
    } finally {
      await Promise.all(this.#removals);
    }
  }

  async #discover(signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    // A list that failed (network down at start, a ban) is tried again at every poll.
    let topDone = this.#options.top === 0;
    // The first newest-list scan only sets the baseline: rooms live before we started are not new.
    let baselineDone = !this.#options.followNew;
    let failedPolls = 0;
    for (let first = true; !signal.aborted; first = false) {
      if (!first) {
        await clock.sleep(this.#options.pollIntervalMs, signal);
        if (signal.aborted) break;
      }
      const failures: ListFailure[] = [];
      if (!topDone) topDone = await this.#attempt("top", failures, () => this.#addTop(signal));
      if (this.#options.followNew) {
        const add = baselineDone;
        if (await this.#attempt("newest", failures, () => this.#scanNew(signal, add))) {
          baselineDone = true;
        }
      }
      if (signal.aborted) break;
      this.polls++;
      if (failures.length > 0) this.pollFailures++;
      if (failures.length > 0) this.#reportFailures(failures, ++failedPolls);
      else if (failedPolls > 0) {
        this.#log.info("room discovery works again", { failed_polls: failedPolls });
        failedPolls = 0;
      }
      if (topDone && !this.#options.followNew) return;
      if (first) continue;
      this.#dropOffline();
      this.#log.info("discovery poll", {
        rooms: this.#options.supervisor.status().rooms,
        added_new: this.addedNew,
        skipped_at_cap: this.skippedAtCap,
        dropped_offline: this.droppedOffline,
      });
    }
  }

  /** Runs one list fetch; false (noting the error in `failures`) when it failed. */
  async #attempt(
    list: ListFailure["list"],
    failures: ListFailure[],
    work: () => Promise<void>,
  ): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (error) {
      failures.push({ list, error });
      return false;
    }
  }

  /**
   * One line per failed poll saying what it means (nothing collected, or no rooms added) and
   * when the next try is: the next poll, or later while the API is paused after a 412.
   */
  #reportFailures(failures: readonly ListFailure[], failedPolls: number): void {
    const { clock, supervisor, pollIntervalMs } = this.#options;
    const now = clock.now();
    const retryAt = Math.max(now + pollIntervalMs, this.#options.apiPausedUntil?.() ?? 0);
    const rooms = supervisor.status().rooms;
    const consequence = rooms === 0 ? "nothing is being collected" : "no new rooms are added";
    const detail = failures[0].error instanceof Error
      ? failures[0].error.message
      : String(failures[0].error);
    this.#log.warn(`room discovery failed: ${consequence}`, {
      list: failures.map((f) => f.list).join(","),
      rooms,
      retry_in_s: Math.ceil((retryAt - now) / 1000),
      retry_at: new Date(retryAt).toISOString(),
      failed_polls: failedPolls,
      detail,
    });
  }

  /** One list, in the configured area, through the shared API limiter. */
  #list(sort: "online" | "live_time", limit: number, signal: AbortSignal) {
    const { areaId, parentAreaId } = this.#options;
    return this.lists.list({ sort, limit, areaId, parentAreaId, signal });
  }

  async #addTop(signal: AbortSignal): Promise<void> {
    const rooms = await this.#list("online", this.#options.top, signal);
    for (const room of rooms) this.#offer(room);
    this.#log.info("top rooms added", { rooms: rooms.length });
  }

  async #scanNew(signal: AbortSignal, add: boolean): Promise<void> {
    const rooms = await this.#list("live_time", this.#options.newScan, signal);
    for (const room of rooms) {
      if (this.#seenNew.has(room.roomId)) continue;
      this.#seenNew.add(room.roomId);
      this.#offlineSince.delete(room.roomId);
      if (add && this.#offer(room)) this.addedNew++;
    }
    this.newestScans++;
    // Keep the memory of seen rooms bounded: forget the oldest beyond a few scans' worth.
    const limit = this.#options.newScan * 20;
    for (const roomId of this.#seenNew) {
      if (this.#seenNew.size <= limit) break;
      this.#seenNew.delete(roomId);
    }
  }

  /** Adds a listed room under the cap policy; true when it was added. */
  #offer(room: LiveRoomListing): boolean {
    const { supervisor, maxRooms } = this.#options;
    if (supervisor.has(room.roomId)) return false;
    if (supervisor.status().rooms >= maxRooms) {
      let weakest: [number, number] | undefined;
      // Only discovered rooms compete: rooms the user named are never replaced.
      for (const [roomId, online] of this.#discovered) {
        if (!weakest || online < weakest[1]) weakest = [roomId, online];
      }
      if (!weakest || weakest[1] >= room.online) {
        this.skippedAtCap++;
        return false;
      }
      this.#discovered.delete(weakest[0]);
      this.#remove(weakest[0]);
      this.#log.info("dropped for a more popular room", {
        room: weakest[0],
        replaced_by: room.roomId,
      });
    }
    this.#discovered.set(room.roomId, room.online);
    this.#emitRoom(room);
    return supervisor.add(room.roomId, { roomId: room.roomId, online: room.online });
  }

  #dropOffline(): void {
    const after = this.#options.dropOfflineMs;
    if (after === undefined) return;
    const now = this.#options.clock.now();
    for (const [roomId, since] of this.#offlineSince) {
      if (now - since < after || !this.#discovered.has(roomId)) continue;
      this.#discovered.delete(roomId);
      this.#offlineSince.delete(roomId);
      this.droppedOffline++;
      this.#remove(roomId);
      this.#log.info("dropped: offline", {
        room: roomId,
        offline_s: Math.round((now - since) / 1000),
      });
    }
  }

  #remove(roomId: number): void {
    const removal = this.#options.supervisor.remove(roomId).finally(() =>
      this.#removals.delete(removal)
    );
    this.#removals.add(removal);
  }

  #emitRoom(room: LiveRoomListing): void {
    const now = this.#options.clock.now();
    this.#options.emit({
      type: "room",
      roomId: room.roomId,
      receivedAtMs: now,
      shortId: null,
      anchorUid: room.uid > 0 ? room.uid : null,
      uname: room.uname || null,
      title: room.title || null,
      areaId: room.areaId || null,
      areaName: room.areaName || null,
      parentAreaId: room.parentAreaId || null,
      parentAreaName: room.parentAreaName || null,
      liveStatus: 1,
      seenAtMs: now,
    });
  }
}
