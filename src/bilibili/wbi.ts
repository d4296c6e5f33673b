/**
 * WBI request signing (docs/protocol.md §3.3): `w_rid = md5(sorted query + mixin key)`.
 * Pure functions, used by the HTTP client to sign and by the simulator to verify.
 */
import { createHash } from "node:crypto";

const MIXIN_KEY_ORDER = [
  46,
  47,
  18,
  2,
  53,
  8,
  23,
  32,
  15,
  50,
  10,
  31,
  58,
  3,
  45,
  35,
  27,
  43,
  5,
  49,
  33,
  9,
  42,
  19,
  29,
  28,
  14,
  39,
  12,
  38,
  41,
  13,
];

/** The WBI key pair from `/x/web-interface/nav` `data.wbi_img`. */
export interface WbiKeys {
  imgKey: string;
  subKey: string;
}

/** Extracts a key from a wbi_img URL: the file name without extension. */
export function wbiKeyFromUrl(url: string): string {
  const name = url.slice(url.lastIndexOf("/") + 1);
  const dot = name.indexOf(".");
  return dot === -1 ? name : name.slice(0, dot);
}

/** The 32-char mixin key: `img_key + sub_key` permuted by the fixed table. */
export function mixinKey(keys: WbiKeys): string {
  const raw = keys.imgKey + keys.subKey;
  return MIXIN_KEY_ORDER.map((i) => raw[i] ?? "").join("");
}

/** RFC 3986 encoding with upper-case hex and `%20` for spaces, as the server hashes it. */
function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The string WBI hashes: params plus `wts`, sorted by key, `!'()*` removed from values, encoded. */
export function wbiQuery(params: Record<string, string | number>, wts: number): string {
  const all: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    all[key] = String(value).replace(/[!'()*]/g, "");
  }
  all.wts = String(wts);
  return Object.keys(all)
    .sort()
    .map((key) => `${encodeComponent(key)}=${encodeComponent(all[key])}`)
    .join("&");
}

/** `w_rid` for `params` at unix time `wts` (seconds). */
export function wbiSignature(
  params: Record<string, string | number>,
  wts: number,
  keys: WbiKeys,
): string {
  return createHash("md5").update(wbiQuery(params, wts) + mixinKey(keys)).digest("hex");
}

/** The signed query string to send: the params plus `wts` and `w_rid`. */
export function signWbiQuery(
  params: Record<string, string | number>,
  keys: WbiKeys,
  nowSeconds: number,
): string {
  const wts = Math.floor(nowSeconds);
  return `${wbiQuery(params, wts)}&w_rid=${wbiSignature(params, wts, keys)}`;
}

/**
 * Checks a received query (as `URLSearchParams`) against `keys`: true when `w_rid` matches the
 * other parameters. Freshness of `wts` is the caller's policy.
 */
export function verifyWbiQuery(query: URLSearchParams, keys: WbiKeys): boolean {
  const wRid = query.get("w_rid");
  const wts = Number(query.get("wts"));
  if (!wRid || !Number.isInteger(wts)) return false;
  const params: Record<string, string> = {};
  for (const [key, value] of query) if (key !== "w_rid" && key !== "wts") params[key] = value;
  return wbiSignature(params, wts, keys) === wRid;
}
