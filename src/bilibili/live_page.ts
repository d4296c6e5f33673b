/**
 * The `w_webid` that `second/getList` wants: the `access_id` a live area page
 * (`https://live.bilibili.com/lol`) carries in its render data, read as dart_simple_live,
 * pure_live and DTV read it. Fetched once, reused, and fetched again when the list endpoint
 * says it is stale (-352) or after `lifetimeMs`.
 */
import { ApiError } from "../errors.ts";
import type { Clock } from "../util/clock.ts";
import { Deadline } from "../util/deadline.ts";
import { type BilibiliApi, BROWSER_USER_AGENT } from "./api_client.ts";
import { type HttpGet, nodeHttpGet } from "./http_get.ts";

/** Where the live web pages are. */
export const LIVE_WEB_ORIGIN = "https://live.bilibili.com";
/** The area page clients read `access_id` from (dart_simple_live, pure_live, DTV). */
export const LIVE_AREA_PAGE_PATH = "/lol";
/** Longest `access_id` accepted; real ones are a few hundred characters. */
const MAX_ACCESS_ID_LENGTH = 4096;

/** JSON string escapes as they appear inside a page's render data. */
function unescapeJsonText(text: string): string {
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    return text.replaceAll("\\", "");
  }
}

/** The first `"access_id":"…"` value in `text`, unescaped; undefined when there is none. */
function findAccessId(text: string): string | undefined {
  const match = /"access_id"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text);
  if (!match) return undefined;
  const value = unescapeJsonText(match[1]).trim();
  return value !== "" && value.length <= MAX_ACCESS_ID_LENGTH ? value : undefined;
}

/**
 * The `access_id` of a live page, or undefined. Looks in the page's inline render data
 * (`window._render_data_ = {…}`), then in a URL-encoded `<script id="__RENDER_DATA__">` block as
 * the space pages have it (bilibili-API-collect#1107).
 */
export function accessIdFromPage(html: string): string | undefined {
  const direct = findAccessId(html);
  if (direct) return direct;
  const block = /<script[^>]*id="__RENDER_DATA__"[^>]*>([^<]*)<\/script>/.exec(html);
  if (!block) return undefined;
  try {
    return findAccessId(decodeURIComponent(block[1]));
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode LiveWebId}. */
export interface LiveWebIdOptions {
  clock: Clock;
  /** Origin of the live pages (the simulator's when `--api-base` is set). @default {LIVE_WEB_ORIGIN} */
  origin?: string;
  /** The page to read. @default {LIVE_AREA_PAGE_PATH} */
  path?: string;
  /** @default {nodeHttpGet} */
  httpGet?: HttpGet;
  /**
   * The client's headers (e.g. `api.wsHeaders()` once its identity is known): their User-Agent
   * and Cookie (device and user cookies, never logged) are sent with the page request.
   * @default {a browser User-Agent, no cookie}
   */
  headers?: (signal?: AbortSignal) => Promise<Record<string, string>>;
  /** Waits for a slot of the shared API pace, when given. */
  limiter?: { take(signal?: AbortSignal): Promise<boolean> };
  /** Reuse an id this long before reading the page again. @default {3_600_000} */
  lifetimeMs?: number;
  /** Per-request timeout. @default {15000} */
  timeoutMs?: number;
}

/** The cached `w_webid` of this run. */
export class LiveWebId {
  readonly #options: LiveWebIdOptions;
  #cached?: { id: string; fetchedAt: number };
  #pending?: Promise<string>;
  /** Page fetches made (for tests and status). */
  fetches = 0;

  constructor(options: LiveWebIdOptions) {
    this.#options = options;
  }

  /** The current id: the cached one while fresh, else read from the live page. */
  get(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    const lifetime = this.#options.lifetimeMs ?? 3_600_000;
    if (cached && this.#options.clock.now() - cached.fetchedAt < lifetime) {
      return Promise.resolve(cached.id);
    }
    this.#pending ??= this.#fetch(signal).finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** Forgets the cached id (the list endpoint refused it); the next `get()` reads the page. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #fetch(signal?: AbortSignal): Promise<string> {
    const path = this.#options.path ?? LIVE_AREA_PAGE_PATH;
    if (this.#options.limiter && !(await this.#options.limiter.take(signal))) {
      throw new ApiError(`Cannot read ${path}: cancelled`, 0);
    }
    const origin = (this.#options.origin ?? LIVE_WEB_ORIGIN).replace(/\/+$/, "");
    const client = await this.#options.headers?.(signal).catch(() => undefined) ?? {};
    const headers: Record<string, string> = {
      "User-Agent": client["User-Agent"] ?? BROWSER_USER_AGENT,
      "Referer": "https://www.bilibili.com/",
      "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    };
    if (client.Cookie) headers.Cookie = client.Cookie;
    this.fetches++;
    let text: string;
    let status: number;
    {
      using deadline = new Deadline(this.#options.timeoutMs ?? 15_000, signal);
      try {
        ({ text, status } = await (this.#options.httpGet ?? nodeHttpGet)(`${origin}${path}`, {
          headers,
          signal: deadline.signal,
        }));
      } catch (error) {
        const reason = deadline.timedOut ? "timed out" : (error as Error).message;
        throw new ApiError(`Cannot reach ${path}: ${reason}`, 0, { cause: error });
      }
    }
    if (status === 412) {
      throw new ApiError(`Cannot read ${path}: HTTP 412, the IP is being rate limited`, -412);
    }
    if (status < 200 || status > 299) {
      throw new ApiError(`Cannot read ${path}: HTTP ${status}`, status);
    }
    const id = accessIdFromPage(text);
    if (!id) throw new ApiError(`Cannot read w_webid from ${path}: the page has no access_id`, 0);
    this.#cached = { id, fetchedAt: this.#options.clock.now() };
    return id;
  }
}

/**
 * The `w_webid` source of `api`'s run: the page is asked for with the client's User-Agent and
 * cookies (its device identity first), at `origin` (`--api-base` when set).
 */
export function liveWebIdFor(
  api: BilibiliApi,
  options: Omit<LiveWebIdOptions, "headers">,
): LiveWebId {
  return new LiveWebId({
    ...options,
    headers: async (signal) => {
      await api.identity({ signal });
      return api.wsHeaders();
    },
  });
}
