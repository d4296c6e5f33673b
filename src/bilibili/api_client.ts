/**
 * The Bilibili HTTP client (docs/protocol.md §3): room_init, getDanmuInfo with WBI signing,
 * nav, finger/spi, and the room lists. Every call goes through one global rate limiter;
 * 412 and -352 answers pause the calls of the same group ("room" or "list") with a growing
 * delay, so a refused room list never holds getDanmuInfo back. Cookies are never logged.
 */
import { ApiError } from "../errors.ts";
import type { Clock } from "../util/clock.ts";
import { asIdText, asNumber, asObject, type JsonObject } from "../util/json_guards.ts";
import { Deadline } from "../util/deadline.ts";
import type { RateLimiter } from "../util/rate_limiter.ts";
import { cookieHeader, type UserCookie } from "./cookies.ts";
import {
  cookiesFromSetCookie,
  deviceCookies,
  type DeviceIdentity,
  type DeviceSources,
  mergeDeviceIdentity,
} from "./device_identity.ts";
import { type HttpGet, type HttpResponse, nodeHttpGet } from "./http_get.ts";
import { signWbiQuery, wbiKeyFromUrl, type WbiKeys } from "./wbi.ts";
import { fieldLogger, type Logger } from "../util/log.ts";

/** The page every API call is made from, as a browser sends it (Origin and Referer). */
export const LIVE_PAGE_ORIGIN = "https://live.bilibili.com";

/** The real origins; `apiBase` replaces all of them (e.g. with the simulator). */
export const BILIBILI_ORIGINS = {
  live: "https://api.live.bilibili.com",
  api: "https://api.bilibili.com",
  www: "https://www.bilibili.com",
  livePage: LIVE_PAGE_ORIGIN,
} as const;

/** A current desktop browser User-Agent: stale ones get -352 (blivedm#84). */
export const BROWSER_USER_AGENT =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36";

/** How long WBI keys are trusted before a refetch (blivedm: just under 12 h). */
const WBI_KEY_LIFETIME_MS = 11 * 3_600_000;

/** Cookies of the login that are no longer sent once nav says the account is logged out. */
const LOGIN_COOKIES = new Set(["SESSDATA", "bili_jct", "DedeUserID", "DedeUserID__ckMd5", "sid"]);

/** One danmaku server from `host_list`. */
export interface DanmakuHost {
  host: string;
  port: number;
  wsPort: number;
  wssPort: number;
}

/** The fallback used by blivedm/blrec when getDanmuInfo fails. */
export const FALLBACK_HOST: DanmakuHost = {
  host: "broadcastlv.chat.bilibili.com",
  port: 2243,
  wsPort: 2244,
  wssPort: 443,
};

/** What getDanmuInfo returns. */
export interface DanmuInfo {
  token: string;
  hosts: DanmakuHost[];
}

/** What room_init returns. */
export interface RoomInit {
  roomId: number;
  shortId: number;
  uid: number;
  liveStatus: number;
  /** Unix seconds of the current stream's start, or undefined when offline. */
  liveTime?: number;
  isLocked: boolean;
  isHidden: boolean;
  encrypted: boolean;
}

/** Who we are to Bilibili: the uid to put in the auth body and the device cookies. */
export interface Identity {
  uid: number;
  /** The device's buvid3 (the auth body's `buvid`). */
  buvid3: string;
  loggedIn: boolean;
  /** The run's device cookies (the same object for the whole run). */
  device: DeviceIdentity;
}

/** Options of {@linkcode BilibiliApi}. */
export interface BilibiliApiOptions {
  limiter: RateLimiter;
  clock: Clock;
  /** Send every origin here instead (the simulator). */
  apiBase?: string;
  /**
   * The user's whole cookie (SESSDATA, bili_jct, buvid3, …), sent on every request and the
   * WebSocket upgrade; its buvid3/buvid4/b_nut are the device identity. Never logged or stored.
   */
  cookie?: UserCookie;
  /** A SESSDATA value alone (added to `cookie`); never logged or stored. */
  sessdata?: string;
  /** User-Agent of every request and the upgrade. @default {BROWSER_USER_AGENT} */
  userAgent?: string;
  /** Re-check the login (nav) this long after the last check. @default {6 h} */
  identityMaxAgeMs?: number;
  /** `invalidateIdentity()` re-checks at most this often. @default {min(10 s, identityMaxAgeMs)} */
  identityRecheckMs?: number;
  /** First pause after HTTP 412 / -412; doubles per consecutive one, up to 30 min. @default {60000} */
  bannedPauseMs?: number;
  /** First pause after -352; doubles per consecutive one, up to 10 min. @default {5000} */
  riskPauseMs?: number;
  /** Per-request timeout. @default {15000} */
  timeoutMs?: number;
  log?: (line: string) => void;
  /** How GETs are made. @default {nodeHttpGet} */
  httpGet?: HttpGet;
}

/**
 * Which calls a 412 / -412 / -352 answer pauses: "list" (the room lists of discovery) or "room"
 * (room_init, getDanmuInfo, nav, spi and the home page). Each group backs off on its own.
 */
export type ApiGroup = "room" | "list";

/** Options every call takes. */
export interface CallOptions {
  signal?: AbortSignal;
  /** The backoff group of the call. @default {"room"} */
  group?: ApiGroup;
}

/** One group's pause after "slow down" answers. */
interface GroupPause {
  /** Clock ms until which the group's calls wait. */
  until: number;
  /** Consecutive slow-down answers (the pause doubles with each). */
  streak: number;
}

/** How a request ended, as the metrics count it: `412` is HTTP 412 or code -412. */
export type ApiResult = "ok" | "412" | "-352" | "other";

/** The Bilibili HTTP client. */
export class BilibiliApi {
  readonly #options: BilibiliApiOptions;
  readonly #log: Logger;
  #wbiKeys?: { keys: WbiKeys; fetchedAt: number };
  #device?: Promise<DeviceIdentity>;
  #resolvedDevice?: DeviceIdentity;
  #identity?: Promise<Identity>;
  #identityCheckedAt = 0;
  /** An auth failure asked for a re-check of the login, not yet made. */
  #recheckWanted = false;
  #navChecks = 0;
  #homePageWarned = false;
  readonly #userCookie: Map<string, string>;
  /** Nav said the cookie's login is no longer valid: the login cookies are no longer sent. */
  #loggedOut = false;
  readonly #pauses: Record<ApiGroup, GroupPause> = {
    room: { until: 0, streak: 0 },
    list: { until: 0, streak: 0 },
  };
  /** Requests sent, by path (for status and tests). */
  readonly requests = new Map<string, number>();
  /** Answers by path and result (`ok`, `412`, `-352`, `other`), for the metrics. */
  readonly results = new Map<string, Record<ApiResult, number>>();

  constructor(options: BilibiliApiOptions) {
    this.#options = options;
    this.#log = fieldLogger(options.log ?? (() => {}));
    this.#userCookie = new Map(options.cookie);
    if (options.sessdata) this.#userCookie.set("SESSDATA", options.sessdata);
  }

  /** The User-Agent of every request and the WebSocket upgrade. */
  get userAgent(): string {
    return this.#options.userAgent ?? BROWSER_USER_AGENT;
  }

  /** True when a login cookie (SESSDATA) was given. */
  get hasLogin(): boolean {
    return this.#userCookie.has("SESSDATA");
  }

  /** The Cookie header: the device cookies, then the user's others; empty when none. */
  #cookieHeader(device: DeviceIdentity | undefined): string {
    const pairs = new Map<string, string>(device ? deviceCookies(device) : []);
    for (const [name, value] of this.#userCookie) {
      if (pairs.has(name) || (this.#loggedOut && LOGIN_COOKIES.has(name))) continue;
      pairs.set(name, value);
    }
    return cookieHeader(pairs);
  }

  /**
   * Headers of the WebSocket upgrade, as the live page's browser sends them: User-Agent (the
   * web token is tied to it, blivedm), Origin https://live.bilibili.com, and the Cookie with the
   * device and user cookies. Complete once `identity()` has resolved.
   */
  wsHeaders(): Record<string, string> {
    const headers: Record<string, string> = {
      "User-Agent": this.userAgent,
      "Origin": LIVE_PAGE_ORIGIN,
    };
    const cookie = this.#cookieHeader(this.#resolvedDevice);
    if (cookie) headers.Cookie = cookie;
    return headers;
  }

  #origin(kind: keyof typeof BILIBILI_ORIGINS): string {
    return (this.#options.apiBase ?? BILIBILI_ORIGINS[kind]).replace(/\/+$/, "");
  }

  /** GETs an envelope and returns `data`; throws ApiError on HTTP errors and non-zero codes. */
  async #get(
    kind: keyof typeof BILIBILI_ORIGINS,
    path: string,
    query: string,
    options: CallOptions & { acceptCodes?: number[]; device?: DeviceIdentity | null },
  ): Promise<{ code: number; data: unknown }> {
    const group = options.group ?? "room";
    // Every request carries the device cookies; only the requests that fetch them go without,
    // and, as blivedm does, a request goes on without them while they cannot be fetched (the
    // next request tries again).
    const device = options.device === undefined
      ? await this.#deviceOrNone(options)
      : options.device ?? undefined;
    const response = await this.#send(kind, path, query, {
      ...options,
      group,
      headers: {
        "User-Agent": this.userAgent,
        "Accept": "application/json, text/plain, */*",
        "Accept-Language": "zh-CN,zh;q=0.9",
        "Origin": LIVE_PAGE_ORIGIN,
        "Referer": `${LIVE_PAGE_ORIGIN}/`,
      },
      device,
    });
    const text = response.text;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.#tally(path, "other");
      throw new ApiError(
        `Cannot call ${path}: the answer is not JSON: ${text.slice(0, 80)}`,
        response.status,
      );
    }
    const envelope = asObject(parsed);
    if (!envelope) {
      this.#tally(path, "other");
      throw new ApiError(`Cannot call ${path}: the answer is not an object`, 0);
    }
    const code = asNumber(envelope.code) ?? -1;
    if (code !== 0 && !options.acceptCodes?.includes(code)) {
      this.#tally(path, code === -412 ? "412" : code === -352 ? "-352" : "other");
      if (code === -412 || code === -352) this.#slowDown(code, path, group);
      const message = asIdText(envelope.message ?? envelope.msg) ?? "";
      throw new ApiError(
        `Cannot call ${path}: server replied code ${code}${message ? ` (${message})` : ""}`,
        code,
      );
    }
    this.#pauses[group].streak = 0;
    this.#tally(path, "ok");
    return { code, data: envelope.data };
  }

  /**
   * GETs a web page (not an API envelope) at the origin `kind` as a browser navigating there
   * from `referer`: through the group's pause and the limiter, with the User-Agent and the
   * device and user cookies. Its text; ApiError as for the API calls.
   */
  async page(
    kind: keyof typeof BILIBILI_ORIGINS,
    path: string,
    options: CallOptions & { referer: string },
  ): Promise<string> {
    const device = await this.#deviceOrNone(options);
    const response = await this.#send(kind, path, "", {
      ...options,
      group: options.group ?? "room",
      headers: {
        "User-Agent": this.userAgent,
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "zh-CN,zh;q=0.9",
        "Referer": options.referer,
      },
      device,
    });
    return response.text;
  }

  /** The device identity, or undefined while it cannot be fetched (cancelling still throws). */
  #deviceOrNone(options: CallOptions): Promise<DeviceIdentity | undefined> {
    return this.deviceIdentity(options).catch((error) => {
      if (options.signal?.aborted) throw error;
      return undefined;
    });
  }

  /** Counts one answer of `path` in {@linkcode results}. */
  #tally(path: string, result: ApiResult): void {
    let counts = this.results.get(path);
    if (!counts) this.results.set(path, counts = { ok: 0, "412": 0, "-352": 0, other: 0 });
    counts[result]++;
  }

  /**
   * Sends one GET through the group's pause and the limiter, with `headers` plus the Cookie;
   * throws ApiError when cancelled, unreachable, on HTTP 412 (pausing the group) and non-2xx.
   */
  async #send(
    kind: keyof typeof BILIBILI_ORIGINS,
    path: string,
    query: string,
    options: CallOptions & {
      group: ApiGroup;
      headers: Record<string, string>;
      device: DeviceIdentity | undefined;
    },
  ): Promise<HttpResponse> {
    const { group } = options;
    if (!(await this.#takeSlot(group, options.signal))) {
      throw new ApiError(`Cannot call ${path}: cancelled`, 0);
    }
    this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
    const url = `${this.#origin(kind)}${path}${query ? `?${query}` : ""}`;
    const headers = { ...options.headers };
    const cookie = this.#cookieHeader(options.device);
    if (cookie) headers.Cookie = cookie;
    let response: HttpResponse;
    {
      using deadline = new Deadline(this.#options.timeoutMs ?? 15_000, options.signal);
      try {
        response = await (this.#options.httpGet ?? nodeHttpGet)(url, {
          headers,
          signal: deadline.signal,
        });
      } catch (error) {
        const reason = deadline.timedOut ? "timed out" : (error as Error).message;
        this.#tally(path, "other");
        throw new ApiError(`Cannot reach ${path}: ${reason}`, 0, { cause: error });
      }
    }
    if (response.status === 412) {
      this.#tally(path, "412");
      this.#slowDown(-412, path, group);
      throw new ApiError(`Cannot call ${path}: HTTP 412, the IP is being rate limited`, -412);
    }
    if (response.status < 200 || response.status > 299) {
      this.#tally(path, "other");
      throw new ApiError(`Cannot call ${path}: HTTP ${response.status}`, response.status);
    }
    return response;
  }

  /**
   * Waits out the group's pause, then for a slot of the shared limiter; waits again when the
   * group was paused meanwhile. False when `signal` aborted first.
   */
  async #takeSlot(group: ApiGroup, signal: AbortSignal | undefined): Promise<boolean> {
    const { clock, limiter } = this.#options;
    for (;;) {
      for (let wait = this.#pauses[group].until - clock.now(); wait > 0;) {
        await clock.sleep(wait, signal);
        if (signal?.aborted) return false;
        wait = this.#pauses[group].until - clock.now();
      }
      if (!(await limiter.take(signal))) return false;
      if (clock.now() >= this.#pauses[group].until) return true;
    }
  }

  #slowDown(code: number, path: string, group: ApiGroup): void {
    const banned = code === -412;
    const base = banned
      ? this.#options.bannedPauseMs ?? 60_000
      : this.#options.riskPauseMs ?? 5_000;
    const cap = banned ? 30 * 60_000 : 10 * 60_000;
    const state = this.#pauses[group];
    const pause = Math.min(cap, base * 2 ** Math.min(state.streak, 20));
    state.streak++;
    state.until = Math.max(state.until, this.#options.clock.now() + pause);
    // A ban answered to a room call is the IP's: the lists would be refused too. A list's own
    // ban or -352 stays with the lists, so getDanmuInfo never waits for them.
    if (banned && group === "room") {
      this.#pauses.list.until = Math.max(this.#pauses.list.until, state.until);
    }
    if (code === -352) this.#wbiKeys = undefined; // refetch keys: they may have rotated
    this.#log.warn("API asked us to slow down", { path, code, pause_ms: pause, group });
  }

  /** Clock ms until which calls of `group` wait after a slow-down answer (0 when never paused). */
  pausedUntil(group: ApiGroup = "room"): number {
    return this.#pauses[group].until;
  }

  /** The current WBI keys (fetched from nav, cached for 11 h, dropped on -352). */
  async wbiKeys(options: CallOptions = {}): Promise<WbiKeys> {
    const cached = this.#wbiKeys;
    if (cached && this.#options.clock.now() - cached.fetchedAt < WBI_KEY_LIFETIME_MS) {
      return cached.keys;
    }
    const nav = await this.#nav(options);
    return nav.keys;
  }

  async #nav(options: CallOptions): Promise<{ keys: WbiKeys; mid: number; loggedIn: boolean }> {
    // Anonymous nav answers -101 but still carries wbi_img.
    const { data } = await this.#get("api", "/x/web-interface/nav", "", {
      ...options,
      group: "room",
      acceptCodes: [-101],
    });
    const record = asObject(data) ?? {};
    const wbi = asObject(record.wbi_img) ?? {};
    const keys = {
      imgKey: wbiKeyFromUrl(asIdText(wbi.img_url) ?? ""),
      subKey: wbiKeyFromUrl(asIdText(wbi.sub_url) ?? ""),
    };
    if (keys.imgKey.length !== 32 || keys.subKey.length !== 32) {
      throw new ApiError("Cannot read WBI keys from /x/web-interface/nav: wbi_img is missing", 0);
    }
    this.#wbiKeys = { keys, fetchedAt: this.#options.clock.now() };
    return { keys, mid: asNumber(record.mid) ?? 0, loggedIn: record.isLogin === true };
  }

  /**
   * The run's device cookies (buvid3, buvid4, b_nut): the user's cookie's own, else the
   * bilibili.com home page's Set-Cookie (buvid3 and b_nut, as blivedm does) and
   * /x/frontend/finger/spi (b_4, and b_3 when the home page gave none). Fetched once and shared.
   */
  deviceIdentity(options: CallOptions = {}): Promise<DeviceIdentity> {
    this.#device ??= this.#fetchDevice(options).then((device) => {
      this.#resolvedDevice = device;
      this.#log.info("device identity", {
        buvid3_from: device.source,
        buvid4: device.buvid4 !== "",
        b_nut: device.bNut !== "",
      });
      return device;
    }, (error) => {
      this.#device = undefined;
      throw error;
    });
    return this.#device;
  }

  async #fetchDevice(options: CallOptions): Promise<DeviceIdentity> {
    const sources: DeviceSources = { user: this.#userCookie };
    const now = () => this.#options.clock.now() / 1000;
    const known = () => mergeDeviceIdentity(sources, now());
    if (!this.#userCookie.has("buvid3")) {
      try {
        sources.home = await this.#homePageCookies(options);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (!this.#homePageWarned) {
          this.#homePageWarned = true;
          this.#log.warn("Cannot read the home page's device cookies: using spi's", {
            detail: (error as Error).message,
          });
        }
      }
    }
    if (!known() || !known()!.buvid4) {
      const { data } = await this.#get("api", "/x/frontend/finger/spi", "", {
        ...options,
        group: "room",
        device: known() ?? null,
      });
      const record = asObject(data) ?? {};
      sources.spi = {
        b3: asIdText(record.b_3) ?? undefined,
        b4: asIdText(record.b_4) ?? undefined,
      };
    }
    const device = known();
    if (!device) {
      throw new ApiError("Cannot read buvid3 from /x/frontend/finger/spi: b_3 is missing", 0);
    }
    return device;
  }

  /** GETs the bilibili.com home page like a browser's first visit; the cookies it sets. */
  async #homePageCookies(options: CallOptions): Promise<Map<string, string>> {
    const response = await this.#send("www", "/", "", {
      ...options,
      group: "room",
      headers: {
        "User-Agent": this.userAgent,
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "zh-CN,zh;q=0.9",
      },
      device: undefined,
    });
    this.#tally("/", "ok");
    return cookiesFromSetCookie(response.setCookies);
  }

  /**
   * Who we connect as: the account's mid when the login cookie is valid (else 0, with one
   * warning for the run) and the device identity. Shared; nav is asked again after
   * `invalidateIdentity()` and once the last answer is `identityMaxAgeMs` old.
   */
  identity(options: CallOptions = {}): Promise<Identity> {
    const age = this.#options.clock.now() - this.#identityCheckedAt;
    const maxAge = this.#options.identityMaxAgeMs ?? 6 * 3_600_000;
    const recheckDue = this.#recheckWanted && age >= this.#recheckIntervalMs(maxAge);
    if (this.#identity && (recheckDue || age >= maxAge)) {
      const previous = this.#identity;
      this.#recheckWanted = false;
      this.#identityCheckedAt = this.#options.clock.now();
      // A failed re-check keeps the previous identity; the next call after the max age retries.
      this.#identity = this.#fetchIdentity(options).catch(() => previous);
    }
    this.#identity ??= this.#fetchIdentity(options).catch((error) => {
      this.#identity = undefined;
      throw error;
    });
    return this.#identity;
  }

  /**
   * Asks for a re-check of the login (after an auth failure or a connection closed right after
   * auth): the first `identity()` once `identityRecheckMs` has passed since the last check asks
   * nav again, so many failing rooms make one nav call.
   */
  invalidateIdentity(): void {
    if (this.#identity) this.#recheckWanted = true;
  }

  /**
   * How many times nav has answered who we are: a caller that saw auth failures can tell
   * whether the login was checked again since they began.
   */
  get identityChecks(): number {
    return this.#navChecks;
  }

  #recheckIntervalMs(maxAge: number): number {
    return this.#options.identityRecheckMs ?? Math.min(10_000, maxAge);
  }

  async #fetchIdentity(options: CallOptions): Promise<Identity> {
    const device = await this.deviceIdentity(options);
    const nav = await this.#nav(options);
    this.#identityCheckedAt = this.#options.clock.now();
    this.#navChecks++;
    if (this.hasLogin && !nav.loggedIn && !this.#loggedOut) {
      this.#loggedOut = true;
      this.#log.warn(
        this.#navChecks === 0
          ? "The SESSDATA cookie was not accepted (expired or invalid): connecting anonymously as uid 0, names will be masked"
          : "The SESSDATA cookie is no longer accepted (expired or logged out): going on anonymously as uid 0, names will be masked",
      );
    }
    const loggedIn = nav.loggedIn && !this.#loggedOut;
    return { uid: loggedIn ? nav.mid : 0, buvid3: device.buvid3, loggedIn, device };
  }

  /** Resolves a short or long room id; throws ApiError 60004 for no such room. */
  async roomInit(id: number, options: CallOptions = {}): Promise<RoomInit> {
    const { data } = await this.#get("live", "/room/v1/Room/room_init", `id=${id}`, options);
    const record = asObject(data) ?? {};
    const roomId = asNumber(record.room_id) ?? 0;
    if (roomId <= 0) throw new ApiError(`Cannot resolve room ${id}: room_init has no room_id`, 0);
    const liveTime = asNumber(record.live_time) ?? 0;
    return {
      roomId,
      shortId: asNumber(record.short_id) ?? 0,
      uid: asNumber(record.uid) ?? 0,
      liveStatus: asNumber(record.live_status) ?? 0,
      liveTime: liveTime > 0 ? liveTime : undefined,
      isLocked: record.is_locked === true || record.is_locked === 1,
      isHidden: record.is_hidden === true || record.is_hidden === 1,
      encrypted: record.encrypted === true || record.encrypted === 1,
    };
  }

  /** Fetches a token and host list for `roomId` (a real id), WBI-signed, with the device cookies. */
  async getDanmuInfo(roomId: number, options: CallOptions = {}): Promise<DanmuInfo> {
    await this.identity(options); // the token is bound to the login nav last confirmed
    const keys = await this.wbiKeys(options);
    const query = signWbiQuery(
      { id: roomId, type: 0, web_location: "444.8" },
      keys,
      this.#options.clock.now() / 1000,
    );
    const { data } = await this.#get("live", "/xlive/web-room/v1/index/getDanmuInfo", query, {
      ...options,
      group: "room",
    });
    const record = asObject(data) ?? {};
    const token = asIdText(record.token) ?? "";
    const hosts = (Array.isArray(record.host_list) ? record.host_list : [])
      .map(asObject).filter((row): row is JsonObject => row !== undefined)
      .map((h): DanmakuHost => ({
        host: asIdText(h.host) ?? "",
        port: asNumber(h.port) ?? 0,
        wsPort: asNumber(h.ws_port) ?? 0,
        wssPort: asNumber(h.wss_port) ?? 0,
      }))
      .filter((h) => h.host !== "");
    if (!token) {
      throw new ApiError(`Cannot get a token for room ${roomId}: getDanmuInfo has no token`, 0);
    }
    return { token, hosts: hosts.length > 0 ? hosts : [FALLBACK_HOST] };
  }

  /**
   * One GET of `path` at the origin `kind`, through the rate limiter and the slow-down rules of
   * `options.group` (pass `group: "list"` for room lists): the `data` of a code-0 (or accepted)
   * envelope; ApiError otherwise. For the endpoint modules beside this one (room_list_api.ts).
   */
  call(
    kind: keyof typeof BILIBILI_ORIGINS,
    path: string,
    query: string,
    options: CallOptions & { acceptCodes?: number[] } = {},
  ): Promise<{ code: number; data: unknown }> {
    return this.#get(kind, path, query, options);
  }
}
