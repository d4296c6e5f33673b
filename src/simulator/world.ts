/**
 * The simulated site: rooms with real and short ids, Zipf-distributed popularity and message
 * rates, and a live/offline schedule. Deterministic for a given seed and clock.
 */
import { Random } from "./random.ts";
import { SIMULATOR_DEFAULTS } from "../defaults.ts";

/** A child area of the area tree (`/room/v1/Area/getList`). */
export interface Area {
  id: number;
  name: string;
  parentId: number;
  parentName: string;
}

/** The area tree: a few real parent areas and some of their children. */
export const AREAS: readonly Area[] = [
  { id: 21, name: "视频唱见", parentId: 1, parentName: "娱乐" },
  { id: 207, name: "舞见", parentId: 1, parentName: "娱乐" },
  { id: 145, name: "视频聊天", parentId: 1, parentName: "娱乐" },
  { id: 86, name: "英雄联盟", parentId: 2, parentName: "网游" },
  { id: 80, name: "绝地求生", parentId: 2, parentName: "网游" },
  { id: 35, name: "王者荣耀", parentId: 3, parentName: "手游" },
  { id: 321, name: "原神", parentId: 3, parentName: "手游" },
  { id: 190, name: "唱见电台", parentId: 5, parentName: "电台" },
  { id: 236, name: "主机游戏", parentId: 6, parentName: "单机游戏" },
  { id: 216, name: "我的世界", parentId: 6, parentName: "单机游戏" },
  { id: 371, name: "虚拟日常", parentId: 9, parentName: "虚拟主播" },
  { id: 745, name: "虚拟Gamer", parentId: 9, parentName: "虚拟主播" },
  { id: 376, name: "人文社科", parentId: 11, parentName: "知识" },
  { id: 372, name: "科技科普", parentId: 11, parentName: "知识" },
];

/**
 * Which DANMU_MSG layout a room sends: `"2018"` (9-element `info[0]` with `info[0][4]` in unix
 * **seconds**, 9-element `info`, no `extra`), `"2021"` (15-element `info[0]`, `info[0][4]` in ms,
 * no `extra.id_str`) or `"current"` (18-element `info[0]` with `extra.id_str`).
 */
export type DanmakuEra = "2018" | "2021" | "current";

/** One live room of the simulated world. */
export interface SimRoom {
  /** Real (long) room id. */
  readonly roomId: number;
  /** Short (vanity) id, or 0 when the room has none. */
  readonly shortId: number;
  /** Anchor uid. */
  readonly uid: number;
  /** Anchor name. */
  readonly uname: string;
  /** Popularity rank, 0 = most popular. */
  readonly rank: number;
  readonly area: Area;
  /** Mean op-5 messages per second while live (a twentieth of it while offline). */
  readonly rate: number;
  /** Whether this room also pushes SEND_GIFT_V2 next to SEND_GIFT (the 2026 gray release). */
  readonly giftV2: boolean;
  /** The DANMU_MSG layout this room's plain danmaku come in. */
  readonly era: DanmakuEra;
  title: string;
  live: boolean;
  /** Unix seconds the current session started; 0 while offline. */
  liveTime: number;
  /** `online` figure shown in room lists. */
  popularity: number;
  /** Blocked rooms refuse danmaku connections. */
  blocked: boolean;
  /** `live_key` of the current (or last) session. */
  liveKey: string;
  /** Wall-clock ms of the next scheduled live/offline switch; Infinity when pinned. */
  nextChangeAt: number;
}

/** A room that switched state during {@linkcode World.advance}. */
export interface RoomTransition {
  room: SimRoom;
  live: boolean;
}

/** Options of {@linkcode World}. */
export interface WorldOptions {
  /** Seed of everything random. @default {SIMULATOR_DEFAULTS.seed} */
  seed?: string | number;
  /** Number of rooms. @default {SIMULATOR_DEFAULTS.rooms} */
  rooms?: number;
  /** Mean op-5 messages per second per live room. @default {SIMULATOR_DEFAULTS.rate} */
  rate?: number;
  /** Zipf exponent of popularity and rates. @default {1} */
  zipf?: number;
  /** Mean length of a live session in ms. @default {SIMULATOR_DEFAULTS.meanLiveMs} */
  meanLiveMs?: number;
  /** Mean offline gap between sessions in ms. @default {SIMULATOR_DEFAULTS.meanOfflineMs} */
  meanOfflineMs?: number;
  /** Share of rooms that have a short id. @default {0.1} */
  shortIdShare?: number;
  /** Share of rooms that push SEND_GIFT_V2 too. @default {0.3} */
  giftV2Share?: number;
  /**
   * Share of rooms whose danmaku come in an older layout, half of them 2018 and half 2021
   * ({@linkcode DanmakuEra}); drawn from a generator of its own, so the rest of the world is the
   * same whatever the share. @default {0}
   */
  eraShare?: number;
  /** Wall-clock ms the world starts at (from the simulator's clock). */
  now: number;
}

/** Most rooms one world may hold. */
export const MAX_ROOMS = 100_000;

const NAME_HEADS = ["星", "小", "阿", "白", "夜", "橘", "猫", "雪", "Ai", "Mio", "Luna", "七"];
const NAME_TAILS = [
  "酱",
  "Official",
  "_Channel",
  "桑",
  "喵",
  "子",
  "不吃香菜",
  "の部屋",
  "Ch.",
  "🌙",
];
const TITLES = [
  "【歌回】今晚唱到你睡着 🎤",
  '摸鱼杂谈，欢迎来聊 "任何" 话题',
  "新人主播，第一次直播！",
  "排位上分，冲冲冲🔥",
  "深夜电台\t慢慢聊",
  "Minecraft 生存第 100 天, 建城堡",
  "原神 4.0 剧情, 不剧透",
  "学习直播间｜一起自习 📚",
];

/** The rooms and their schedule. `advance(now)` applies due live/offline switches. */
export class World {
  readonly rooms: readonly SimRoom[];
  readonly seed: string;
  #byId = new Map<number, SimRoom>();
  #rng: Random;
  #meanLiveMs: number;
  #meanOfflineMs: number;

  constructor(options: WorldOptions) {
    const count = options.rooms ?? SIMULATOR_DEFAULTS.rooms;
    if (!Number.isInteger(count) || count < 1 || count > MAX_ROOMS) {
      throw new RangeError(`Cannot build a world of ${count} rooms: expected 1 to ${MAX_ROOMS}`);
    }
    this.seed = String(options.seed ?? SIMULATOR_DEFAULTS.seed);
    this.#rng = new Random(`world:${this.seed}`);
    this.#meanLiveMs = options.meanLiveMs ?? SIMULATOR_DEFAULTS.meanLiveMs;
    this.#meanOfflineMs = options.meanOfflineMs ?? SIMULATOR_DEFAULTS.meanOfflineMs;
    const rate = options.rate ?? SIMULATOR_DEFAULTS.rate;
    const s = options.zipf ?? 1;
    const weights = Array.from({ length: count }, (_, i) => 1 / (i + 1) ** s);
    const weightSum = weights.reduce((a, b) => a + b, 0);
    const rng = this.#rng;
    const usedIds = new Set<number>();
    const uniqueId = (min: number, max: number): number => {
      for (;;) {
        const id = rng.range(min, max);
        if (!usedIds.has(id)) {
          usedIds.add(id);
          return id;
        }
      }
    };
    const liveShare = this.#meanLiveMs / (this.#meanLiveMs + this.#meanOfflineMs);
    const rooms: SimRoom[] = [];
    const eraShare = options.eraShare ?? 0;
    const eraRng = new Random(`era:${this.seed}`);
    for (let rank = 0; rank < count; rank++) {
      const live = rng.chance(liveShare);
      const room: SimRoom = {
        roomId: uniqueId(100_000, 32_000_000),
        shortId: rng.chance(options.shortIdShare ?? 0.1) ? uniqueId(1, 9_999) : 0,
        uid: rng.range(1_000_000, 700_000_000),
        uname: `${rng.pick(NAME_HEADS)}${rng.pick(NAME_TAILS)}${rank}`,
        rank,
        area: rng.pick(AREAS),
        rate: rate * count * weights[rank] / weightSum,
        giftV2: rng.chance(options.giftV2Share ?? 0.3),
        era: eraShare > 0 && eraRng.chance(eraShare)
          ? (eraRng.chance(0.5) ? "2018" : "2021")
          : "current",
        title: rng.pick(TITLES),
        live,
        liveTime: 0,
        popularity: Math.max(1, Math.round(200_000 * weights[rank] + rng.int(50))),
        blocked: false,
        liveKey: `${rng.range(100_000_000, 999_999_999)}${rng.range(100_000_000, 999_999_999)}`,
        nextChangeAt: options.now +
          rng.exponential(live ? this.#meanLiveMs : this.#meanOfflineMs),
      };
      if (live) {
        room.liveTime = Math.floor(
          (options.now - rng.exponential(this.#meanLiveMs / 2)) / 1000,
        );
      }
      rooms.push(room);
      this.#byId.set(room.roomId, room);
      if (room.shortId) this.#byId.set(room.shortId, room);
    }
    this.rooms = rooms;
  }

  /** The room with this real or short id. */
  resolve(id: number): SimRoom | undefined {
    return this.#byId.get(id);
  }

  /** Applies every switch due at `now` and returns them. */
  advance(now: number): RoomTransition[] {
    const changes: RoomTransition[] = [];
    for (const room of this.rooms) {
      if (room.nextChangeAt > now || room.blocked) continue;
      this.#switch(room, !room.live, now);
      changes.push({ room, live: room.live });
    }
    return changes;
  }

  /** Sets a room live or offline now and pins it there (no more scheduled switches). */
  setLive(room: SimRoom, live: boolean, now: number): boolean {
    const changed = room.live !== live;
    if (changed) this.#switch(room, live, now);
    room.nextChangeAt = Infinity;
    return changed;
  }

  #switch(room: SimRoom, live: boolean, now: number): void {
    room.live = live;
    if (live) {
      room.liveTime = Math.floor(now / 1000);
      room.liveKey = `${this.#rng.range(100_000_000, 999_999_999)}${
        this.#rng.range(100_000_000, 999_999_999)
      }`;
    } else {
      room.liveTime = 0;
    }
    room.nextChangeAt = now + this.#rng.exponential(live ? this.#meanLiveMs : this.#meanOfflineMs);
  }

  /** Live rooms sorted like `sort_type=online` (most popular first) or `live_time` (newest first). */
  liveRooms(sort: "online" | "live_time", filter?: (room: SimRoom) => boolean): SimRoom[] {
    const list = this.rooms.filter((room) =>
      room.live && !room.blocked && (filter?.(room) ?? true)
    );
    return sort === "online"
      ? list.sort((a, b) => b.popularity - a.popularity || a.roomId - b.roomId)
      : list.sort((a, b) => b.liveTime - a.liveTime || a.roomId - b.roomId);
  }
}
