/**
 * The `w_webid` that `second/getList` wants: the `access_id` a live area page
 * (`https://live.bilibili.com/lol`) carries in its render data, read as dart_simple_live,
 * pure_live and DTV read it. Fetched once, reused, and fetched again when the list endpoint
 * says it is stale (-352) or after `lifetimeMs`.
 */
import { ApiError } from "../errors.ts";
import type { Clock } from "../util/clock.ts";
import type { BilibiliApi } from "./api_client.ts";

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
  /** The client the page is read through (its pace, list backoff, User-Agent and cookies). */
  api: BilibiliApi;
  clock: Clock;
  /** The page to read. @default {LIVE_AREA_PAGE_PATH} */
  path?: string;
  /** Reuse an id this long before reading the page again. @default {3_600_000} */
  lifetimeMs?: number;
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
    this.fetches++;
    // Part of the lists: a ban of the page pauses the lists, never getDanmuInfo.
    const text = await this.#options.api.page("livePage", path, {
      signal,
      group: "list",
      referer: "https://www.bilibili.com/",
    });
    const id = accessIdFromPage(text);
    if (!id) throw new ApiError(`Cannot read w_webid from ${path}: the page has no access_id`, 0);
    this.#cached = { id, fetchedAt: this.#options.clock.now() };
    return id;
  }
}
