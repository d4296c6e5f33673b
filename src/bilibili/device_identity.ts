/**
 * The device identity of one run (docs/protocol.md §3.4): the `buvid3`, `buvid4` and `b_nut`
 * cookies a browser holds for bilibili.com, sent on every HTTP request and the WebSocket
 * upgrade. Pure functions; the HTTP client fetches the sources.
 */
import { MAX_COOKIE_VALUE, MAX_COOKIES } from "./cookies.ts";

/** The device cookies, as a browser sends them. */
export interface DeviceIdentity {
  /** `buvid3`, e.g. `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXXNNNNNinfoc`; also the auth body's `buvid`. */
  buvid3: string;
  /** `buvid4` (spi's `b_4`); empty when no source had one. */
  buvid4: string;
  /** `b_nut`: unix seconds when buvid3 was issued; empty when unknown. */
  bNut: string;
  /** Where buvid3 came from, for the log (never the value). */
  source: "cookie" | "home page" | "spi";
}

/** The names of the device cookies, in the order a browser's jar lists them. */
export const DEVICE_COOKIE_NAMES = ["buvid3", "b_nut", "buvid4"] as const;

/** The cookies of `Set-Cookie` lines: name → value (attributes dropped). */
export function cookiesFromSetCookie(lines: readonly string[] | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of (lines ?? []).slice(0, MAX_COOKIES)) {
    const pair = line.split(";", 1)[0];
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const value = pair.slice(eq + 1).trim();
    if (value !== "" && value.length <= MAX_COOKIE_VALUE) {
      cookies.set(pair.slice(0, eq).trim(), value);
    }
  }
  return cookies;
}

/** What each source gave; any may be missing. */
export interface DeviceSources {
  /** The user's own cookie (preferred for every name it has). */
  user?: ReadonlyMap<string, string>;
  /** Cookies the bilibili.com home page set. */
  home?: ReadonlyMap<string, string>;
  /** `/x/frontend/finger/spi` data: `b_3`, `b_4`. */
  spi?: { b3?: string; b4?: string };
}

/**
 * Merges the sources into one identity, or undefined without any buvid3. The user's cookie
 * wins; else the home page's buvid3 with its b_nut (as a browser keeps them); else spi's b_3,
 * issued now (`nowSeconds` is its b_nut). buvid4: the user's, the home page's, then spi's b_4.
 */
export function mergeDeviceIdentity(
  sources: DeviceSources,
  nowSeconds: number,
): DeviceIdentity | undefined {
  const { user, home, spi } = sources;
  const buvid4 = user?.get("buvid4") ?? home?.get("buvid4") ?? spi?.b4 ?? "";
  const own = user?.get("buvid3");
  if (own) return { buvid3: own, buvid4, bNut: user?.get("b_nut") ?? "", source: "cookie" };
  const fromHome = home?.get("buvid3");
  if (fromHome) {
    return { buvid3: fromHome, buvid4, bNut: home?.get("b_nut") ?? "", source: "home page" };
  }
  if (spi?.b3) {
    return { buvid3: spi.b3, buvid4, bNut: String(Math.floor(nowSeconds)), source: "spi" };
  }
  return undefined;
}

/** The device cookies as `[name, value]` pairs, empty values left out. */
export function deviceCookies(device: DeviceIdentity): [string, string][] {
  const pairs: [string, string][] = [
    ["buvid3", device.buvid3],
    ["b_nut", device.bNut],
    ["buvid4", device.buvid4],
  ];
  return pairs.filter(([, value]) => value !== "");
}
