/**
 * The HTTP side (docs/protocol.md §3, §7): one origin standing in for api.live.bilibili.com,
 * api.bilibili.com and www.bilibili.com, with the real envelopes and field names, WBI-checked
 * getDanmuInfo (-352 otherwise), optional 412 rate limiting, and `/sub` WebSocket upgrades.
 */
import { createHash } from "node:crypto";
import { verifyWbiQuery, type WbiKeys } from "../bilibili/wbi.ts";
import type { WallClock as Clock } from "../util/clock.ts";
import type { SimulatorCounters } from "./counters.ts";
import type { DanmakuServer } from "./danmaku_server.ts";
import { parseCookies, type SeenRequest, type TokenAuthority } from "./identity.ts";
import { Random } from "./random.ts";
import type { RateLimiter } from "./rate_limit.ts";
import { AREAS, type SimRoom, type World } from "./world.ts";

/** Options of {@linkcode createHttpApi}. */
export interface HttpApiOptions {
  world: World;
  tokens: TokenAuthority;
  server: DanmakuServer;
  clock: Clock;
  counters: SimulatorCounters;
  limiter: RateLimiter;
  /** The WBI keys nav serves and getDanmuInfo checks right now (they can rotate). */
  wbiKeys(): WbiKeys;
  seed: string;
  /**
   * The ports getDanmuInfo hands out for a room (known once listening): raw TCP (a refusing
   * port for a room whose TCP is refused), WebSocket, and the TLS WebSocket port (the plain one
   * when the simulator has no TLS listener).
   */
  ports(roomId: number): { tcp: number; ws: number; wss: number };
  /** getDanmuInfo also answers -352 without a buvid4 cookie. @default {false} */
  requireBuvid4?: boolean;
  /** Receives every request's headers and cookies (HTTP and WebSocket upgrades). */
  onRequest?: (seen: SeenRequest) => void;
  /** How strict the room lists are. @default {lenient: every list answers everybody} */
  lists?: ListRules;
}

/** The room-list endpoints the simulator serves. */
export type SimListEndpoint = "v3" | "byArea" | "second";

/**
 * How strict the simulated room lists are, so discovery's fallbacks can be made to run: the real
 * lists have answered -352 to guests, and second/getList wants WBI and a fresh `w_webid`.
 */
export interface ListRules {
  /** Every room list answers -352 to a request without a SESSDATA cookie. @default {false} */
  guests352?: boolean;
  /**
   * Endpoints that answer this code instead of a list: -352 (risk control), 412 (an HTTP 412
   * with -412), or any other code. @default {none}
   */
  refuse?: Partial<Record<SimListEndpoint, number>>;
  /** How long second/getList accepts a `w_webid` read from the live page. @default {86400000} */
  webIdTtlMs?: number;
}

/** Rooms per second/getList page (the web area page's size; the endpoint takes no size). */
const SECOND_LIST_PAGE_SIZE = 30;
/** Live-page `access_id`s remembered at most. */
const MAX_WEB_IDS = 1000;

/** WBI keys derived from the seed, as `/x/web-interface/nav` serves them; each rotation is a new `generation`. */
export function wbiKeysForSeed(seed: string, generation = 0): WbiKeys {
  const md5 = (text: string) => createHash("md5").update(text).digest("hex");
  const suffix = generation === 0 ? "" : `:${generation}`;
  return { imgKey: md5(`img:${seed}${suffix}`), subKey: md5(`sub:${seed}${suffix}`) };
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
/** Longest room page served by the list endpoints. */
const MAX_PAGE_SIZE = 200;

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** The `room/v1` envelope (`msg` and `message`). */
function v1(code: number, message: string, data: unknown): Response {
  return json({ code, msg: message, message, data });
}

/** The `x/` and `xlive/` envelope (`message` and `ttl`). */
function x(code: number, message: string, data: unknown, status = 200): Response {
  return json({ code, message, ttl: 1, data }, status);
}

function intParam(params: URLSearchParams, name: string, fallback: number): number {
  const value = Number(params.get(name) ?? "");
  return Number.isSafeInteger(value) && params.get(name) !== "" ? value : fallback;
}

/** "YYYY-MM-DD HH:mm:ss" in China time, as get_info shows `live_time`. */
function chinaTime(unixSeconds: number): string {
  if (unixSeconds <= 0) return "0000-00-00 00:00:00";
  return new Date((unixSeconds + 8 * 3600) * 1000).toISOString().slice(0, 19).replace("T", " ");
}

function cover(room: SimRoom): string {
  return `https://i0.hdslb.com/bfs/live/new_room_cover/${room.roomId.toString(16)}.jpg`;
}

/** Builds the request handler for `Deno.serve`. */
export function createHttpApi(
  options: HttpApiOptions,
): (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response {
  const { world, tokens, server, clock, counters, limiter, wbiKeys } = options;
  const buvidRng = new Random(`buvid:${options.seed}`);
  const lists = options.lists ?? {};
  /** Issued live-page access ids → clock ms when issued. */
  const webIds = new Map<string, number>();
  const webIdRng = new Random(`webid:${options.seed}`);
  const newWebId = () => {
    // Shaped like the real one (base64 parts), with a "/" so the page has to escape it.
    const id = `${webIdRng.hex(16)}.${webIdRng.hex(24)}/${webIdRng.hex(16)}`;
    webIds.set(id, clock.now());
    for (const old of webIds.keys()) {
      if (webIds.size <= MAX_WEB_IDS) break;
      webIds.delete(old);
    }
    return id;
  };
  const webIdFresh = (id: string | null) => {
    const issued = id === null ? undefined : webIds.get(id);
    return issued !== undefined && clock.now() - issued < (lists.webIdTtlMs ?? 86_400_000);
  };
  const risk352 = () => {
    counters.http352++;
    return json({ code: -352, message: "-352", ttl: 1 });
  };
  /** The answer that replaces a list under `lists`, or undefined to serve the list. */
  const listRefusal = (endpoint: SimListEndpoint, cookies: Map<string, string>) => {
    const code = lists.refuse?.[endpoint];
    if (code === 412 || code === -412) return x(-412, "请求被拦截", null, 412);
    if (code === -352 || (lists.guests352 && !cookies.get("SESSDATA"))) return risk352();
    if (code !== undefined) return json({ code, message: String(code), ttl: 1 });
    return undefined;
  };

  const newBuvid3 = () =>
    `${buvidRng.hex(8)}-${buvidRng.hex(4)}-${buvidRng.hex(4)}-${buvidRng.hex(4)}-${
      buvidRng.hex(12)
    }${String(buvidRng.int(100_000)).padStart(5, "0")}infoc`.toUpperCase().replace(
      "INFOC",
      "infoc",
    );
  const wbiImg = () => {
    const keys = wbiKeys();
    return {
      img_url: `https://i0.hdslb.com/bfs/wbi/${keys.imgKey}.png`,
      sub_url: `https://i0.hdslb.com/bfs/wbi/${keys.subKey}.png`,
    };
  };

  const roomListEntry = (room: SimRoom) => ({
    roomid: room.roomId,
    uid: room.uid,
    title: room.title,
    uname: room.uname,
    online: room.popularity,
    user_cover: cover(room),
    user_cover_flag: 1,
    system_cover: cover(room),
    cover: cover(room),
    show_cover: cover(room),
    link: `/${room.roomId}`,
    face: `https://i0.hdslb.com/bfs/face/${room.uid.toString(16)}.jpg`,
    parent_id: room.area.parentId,
    parent_name: room.area.parentName,
    area_id: room.area.id,
    area_name: room.area.name,
    area_v2_parent_id: room.area.parentId,
    area_v2_parent_name: room.area.parentName,
    area_v2_id: room.area.id,
    area_v2_name: room.area.name,
    session_id: `${room.liveKey}`,
    group_id: 0,
    show_callback: "",
    click_callback: "",
    verify: { role: -1, desc: "", type: -1 },
    watched_show: {
      switch: true,
      num: room.popularity * 3,
      text_small: String(room.popularity * 3),
      text_large: `${room.popularity * 3}人看过`,
      icon: "",
      icon_location: "",
      icon_web: "",
    },
    is_auto_play: 0,
    is_nft: 0,
  });

  const page = <T>(list: T[], params: URLSearchParams, sizeName: string): T[] => {
    const size = Math.min(MAX_PAGE_SIZE, Math.max(1, intParam(params, sizeName, 30)));
    const number = Math.max(1, intParam(params, "page", 1));
    return list.slice((number - 1) * size, number * size);
  };

  const routes: Record<string, (url: URL, cookies: Map<string, string>) => Response> = {
    "/": () => {
      // A first visit: the device cookie buvid3 and b_nut (unix seconds it was issued).
      const headers = new Headers({ "content-type": "text/html; charset=utf-8" });
      const attributes = "path=/; domain=.bilibili.com; expires=Fri, 01 Jan 2100 00:00:00 GMT";
      headers.append("set-cookie", `buvid3=${newBuvid3()}; ${attributes}`);
      headers.append("set-cookie", `b_nut=${Math.floor(clock.now() / 1000)}; ${attributes}`);
      return new Response(
        "<!DOCTYPE html><title>哔哩哔哩 (゜-゜)つロ 干杯~-bilibili (simulator)</title>",
        { headers },
      );
    },
    "/x/web-interface/nav": (_url, cookies) => {
      const sessdata = cookies.get("SESSDATA");
      const mid = sessdata ? tokens.accountOf(sessdata) : undefined;
      if (mid === undefined) {
        return x(-101, "账号未登录", { isLogin: false, wbi_img: wbiImg() });
      }
      return x(0, "0", {
        isLogin: true,
        mid,
        uname: `模拟用户${mid % 100_000}`,
        face: "https://i0.hdslb.com/bfs/face/member/noface.jpg",
        level_info: { current_level: 5 },
        money: 0,
        vipStatus: 0,
        wbi_img: wbiImg(),
      });
    },
    "/x/frontend/finger/spi": () =>
      json({
        code: 0,
        data: {
          b_3: newBuvid3(),
          b_4: `${buvidRng.hex(8)}-${buvidRng.hex(4)}-${buvidRng.hex(4)}-${buvidRng.hex(4)}-${
            buvidRng.hex(12)
          }-0${buvidRng.range(100_000_000, 999_999_999)}-${buvidRng.hex(8)}==`.toUpperCase(),
        },
        message: "ok",
      }),
    "/room/v1/Room/room_init": (url) => {
      const room = world.resolve(intParam(url.searchParams, "id", 0));
      if (!room) return v1(60004, "直播间不存在", []);
      return v1(0, "ok", {
        room_id: room.roomId,
        short_id: room.shortId,
        uid: room.uid,
        need_p2p: 0,
        is_hidden: false,
        is_locked: room.blocked,
        is_portrait: false,
        live_status: room.live ? 1 : 0,
        hidden_till: 0,
        lock_till: room.blocked ? 4102444800 : 0,
        encrypted: false,
        pwd_verified: false,
        live_time: room.live ? room.liveTime : -62170012800,
        room_shield: 1,
        is_sp: 0,
        special_type: 0,
      });
    },
    "/room/v1/Room/get_info": (url) => {
      const id = intParam(url.searchParams, "room_id", intParam(url.searchParams, "id", 0));
      const room = world.resolve(id);
      if (!room) return v1(1, "未找到该房间", {});
      return v1(0, "ok", {
        uid: room.uid,
        room_id: room.roomId,
        short_id: room.shortId,
        attention: room.popularity * 10,
        online: room.live ? room.popularity : 0,
        is_portrait: false,
        description: "",
        live_status: room.live ? 1 : 0,
        area_id: room.area.id,
        parent_area_id: room.area.parentId,
        parent_area_name: room.area.parentName,
        old_area_id: 0,
        background: "",
        title: room.title,
        user_cover: cover(room),
        keyframe: cover(room),
        is_strict_room: false,
        live_time: chinaTime(room.live ? room.liveTime : 0),
        tags: "",
        is_anchor: 0,
        room_silent_type: "",
        room_silent_level: 0,
        room_silent_second: 0,
        area_name: room.area.name,
        pendants: "",
        area_pendants: "",
        hot_words: [],
        hot_words_status: 0,
        verify: "",
        new_pendants: {},
        up_session: room.live ? room.liveKey : "",
        pk_status: 0,
        pk_id: 0,
        battle_id: 0,
        allow_change_area_time: 0,
        allow_upload_cover_time: 0,
        studio_info: { status: 0, master_list: [] },
      });
    },
    "/xlive/web-room/v1/index/getDanmuInfo": (url, cookies) => {
      const params = url.searchParams;
      const buvid = cookies.get("buvid3");
      const buvid4Missing = options.requireBuvid4 === true && !cookies.get("buvid4");
      if (!verifyWbiQuery(params, wbiKeys()) || !buvid || buvid4Missing) {
        counters.http352++;
        return json({ code: -352, message: "-352", ttl: 1 });
      }
      const room = world.resolve(intParam(params, "id", 0));
      if (!room) return x(1, "错误", null);
      const sessdata = cookies.get("SESSDATA");
      const uid = (sessdata ? tokens.accountOf(sessdata) : undefined) ?? 0;
      const { tcp, ws, wss } = options.ports(room.roomId);
      const host = url.hostname;
      const entry = { host, port: tcp, wss_port: wss, ws_port: ws };
      return x(0, "0", {
        group: "live",
        business_id: 0,
        refresh_row_factor: 0.125,
        refresh_rate: 100,
        max_delay: 5000,
        token: tokens.issue({ roomId: room.roomId, uid, buvid }),
        host_list: [entry, entry, entry],
      });
    },
    "/room/v3/area/getRoomList": (url, cookies) => {
      const refused = listRefusal("v3", cookies);
      if (refused) return refused;
      const params = url.searchParams;
      const sort = params.get("sort_type") === "live_time" ? "live_time" : "online";
      const parent = intParam(params, "parent_area_id", 0);
      const area = intParam(params, "area_id", 0);
      const rooms = world.liveRooms(
        sort,
        (r) => (parent === 0 || r.area.parentId === parent) && (area === 0 || r.area.id === area),
      );
      return x(0, "success", {
        banner: [],
        new_tags: [],
        count: rooms.length,
        list: page(rooms, params, "page_size").map(roomListEntry),
        has_more: 0,
      });
    },
    "/room/v1/Area/getListByAreaID": (url, cookies) => {
      const refused = listRefusal("byArea", cookies);
      if (refused) return refused;
      const params = url.searchParams;
      const area = intParam(params, "areaId", 0);
      // The live home page asks `sort=livetime`; older clients `live_time`.
      const sort = /^live_?time$/.test(params.get("sort") ?? "") ? "live_time" : "online";
      const rooms = world.liveRooms(sort, (r) => area === 0 || r.area.id === area);
      return v1(0, "success", page(rooms, params, "pageSize").map(roomListEntry));
    },
    "/xlive/web-interface/v1/second/getList": (url, cookies) => {
      const refused = listRefusal("second", cookies);
      if (refused) return refused;
      const params = url.searchParams;
      if (!verifyWbiQuery(params, wbiKeys()) || !webIdFresh(params.get("w_webid"))) {
        return risk352();
      }
      const parent = intParam(params, "parent_area_id", 0);
      if (parent <= 0) return x(-400, "请求错误", null);
      const area = intParam(params, "area_id", 0);
      const sort = params.get("sort_type") === "live_time" ? "live_time" : "online";
      const rooms = world.liveRooms(
        sort,
        (r) => r.area.parentId === parent && (area === 0 || r.area.id === area),
      );
      const number = Math.max(1, intParam(params, "page", 1));
      const list = rooms.slice(
        (number - 1) * SECOND_LIST_PAGE_SIZE,
        number * SECOND_LIST_PAGE_SIZE,
      );
      return x(0, "0", {
        banner: [],
        new_tags: [],
        list: list.map(roomListEntry),
        count: rooms.length,
        has_more: number * SECOND_LIST_PAGE_SIZE < rooms.length ? 1 : 0,
      });
    },
    "/lol": () => {
      // The live area page: its render data carries the access_id second/getList wants as w_webid.
      const renderData = JSON.stringify({ access_id: newWebId(), area: "lol" })
        .replaceAll("/", "\\/");
      return new Response(
        `<!DOCTYPE html><html><head><title>英雄联盟 - 哔哩哔哩直播 (simulator)</title></head>` +
          `<body><div id="app"></div><script>window._render_data_ = ${renderData};</script>` +
          `</body></html>`,
        { headers: { "content-type": "text/html; charset=utf-8" } },
      );
    },
    "/room/v1/Area/getList": () => {
      const parents = new Map<number, { id: number; name: string; list: unknown[] }>();
      for (const a of AREAS) {
        let p = parents.get(a.parentId);
        if (!p) parents.set(a.parentId, p = { id: a.parentId, name: a.parentName, list: [] });
        p.list.push({
          id: String(a.id),
          parent_id: String(a.parentId),
          old_area_id: "0",
          name: a.name,
          act_id: "0",
          pk_status: "0",
          hot_status: 0,
          lock_status: "0",
          pic: `https://i0.hdslb.com/bfs/vc/area_${a.id}.png`,
          parent_name: a.parentName,
          area_type: 0,
        });
      }
      return v1(0, "success", [...parents.values()]);
    },
  };
  routes["/room/v1/area/getRoomList"] = routes["/room/v3/area/getRoomList"];
  routes["/room/v1/area/getList"] = routes["/room/v1/Area/getList"];

  return (request, info) => {
    const ip = info.remoteAddr.hostname;
    const url = new URL(request.url);
    const cookies = parseCookies(request.headers.get("cookie"));
    const upgrade = url.pathname === "/sub" &&
      request.headers.get("upgrade")?.toLowerCase() === "websocket";
    options.onRequest?.({
      kind: upgrade ? "upgrade" : "http",
      path: url.pathname,
      userAgent: request.headers.get("user-agent"),
      origin: request.headers.get("origin"),
      referer: request.headers.get("referer"),
      cookies,
    });
    if (upgrade) return server.acceptWebSocket(request, ip);
    counters.httpRequests++;
    if (!limiter.allow(ip, clock.now())) {
      counters.http412++;
      return x(-412, "请求被拦截", null, 412);
    }
    const route = routes[url.pathname];
    if (!route || (request.method !== "GET" && request.method !== "HEAD")) {
      return x(-404, "啥都木有", null, 404);
    }
    return route(url, cookies);
  };
}
