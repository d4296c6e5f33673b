/**
 * Reads the user's Bilibili cookie from what users have at hand: a bare SESSDATA value, a
 * `Cookie:` header line or `a=b; c=d` string (as copied from the browser's developer tools), or a
 * Netscape cookies.txt export. The whole cookie is kept (SESSDATA, bili_jct, buvid3, buvid4,
 * b_nut, …) so requests carry what the browser would; values are never logged or echoed.
 */
import { ConfigError } from "../errors.ts";

/** A user's cookies by name (bounded by {@linkcode MAX_COOKIES}); never logged. */
export type UserCookie = ReadonlyMap<string, string>;

/** Most cookies kept from one source; a browser's bilibili.com jar holds a few dozen. */
export const MAX_COOKIES = 100;
/** Longest cookie value kept; longer ones (no real Bilibili cookie is) are dropped. */
export const MAX_COOKIE_VALUE = 4096;

/** Cookie names are RFC 6265 tokens; values are cookie-octets (no space, `"`, `,`, `;`, `\`). */
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/** True for the domain of a cookies.txt line that Bilibili's hosts receive. */
function isBilibiliDomain(domain: string): boolean {
  const host = domain.replace(/^#HttpOnly_/i, "").replace(/^\./, "").toLowerCase();
  return host === "bilibili.com" || host.endsWith(".bilibili.com");
}

function keep(cookies: Map<string, string>, name: string, value: string): void {
  if (cookies.size >= MAX_COOKIES && !cookies.has(name)) return;
  if (!NAME.test(name) || !VALUE.test(value) || value.length > MAX_COOKIE_VALUE) return;
  if (value === "") return;
  cookies.set(name, value);
}

/**
 * Parses cookie text: a cookies.txt export (only its bilibili.com lines), a `Cookie:` header
 * line or `a=b; c=d` string (several lines are joined), or a bare value taken as SESSDATA.
 * Malformed pairs are skipped. Empty when nothing usable is there.
 */
export function parseCookieText(text: string): Map<string, string> {
  const cookies = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  const tabLines = lines.filter((line) => line.split("\t").length >= 7);
  if (tabLines.length > 0) {
    for (const line of tabLines) {
      const fields = line.split("\t");
      if (!isBilibiliDomain(fields[0])) continue;
      keep(cookies, fields[5].trim(), fields[6].trim());
    }
    return cookies;
  }
  const content = lines.map((line) => line.trim()).filter((line) => line && !line.startsWith("#"))
    .map((line) => line.replace(/^cookie:\s*/i, "")).join("; ");
  if (content === "") return cookies;
  if (!content.includes("=")) {
    // A bare value: SESSDATA looks like "hex%2Cdigits%2Chex*xx" — no spaces, '=' or ';'.
    if (!/[\s;]/.test(content)) keep(cookies, "SESSDATA", content);
    return cookies;
  }
  for (const part of content.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    keep(cookies, part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

/** Extracts SESSDATA from file or env text, or undefined when it is not there. */
export function findSessdata(text: string): string | undefined {
  return parseCookieText(text).get("SESSDATA");
}

/** A copy of `cookie` in `Cookie` header form; for the HTTP client only, never for logs. */
export function cookieHeader(cookie: Iterable<[string, string]>): string {
  return [...cookie].map(([name, value]) => `${name}=${value}`).join("; ");
}

/**
 * The user's cookie: from `cookieFile` if given, else BILIBILI_SESSDATA (a bare value), else
 * BILIBILI_COOKIE (a Cookie string or bare value). It must hold SESSDATA (the login); errors
 * name the source but never a value. Undefined when no source is set.
 */
export async function loadUserCookie(
  cookieFile: string | undefined,
  env: (name: string) => string | undefined,
): Promise<UserCookie | undefined> {
  if (cookieFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(cookieFile);
    } catch (error) {
      throw new ConfigError(
        `Cannot read --cookie-file "${cookieFile}": ${(error as Error).message}`,
        { cause: error },
      );
    }
    const cookie = parseCookieText(text);
    if (!cookie.has("SESSDATA")) {
      throw new ConfigError(
        `Cannot find SESSDATA in --cookie-file "${cookieFile}": expected the bare value, a "SESSDATA=…" cookie string or a cookies.txt export`,
      );
    }
    return cookie;
  }
  const bare = env("BILIBILI_SESSDATA")?.trim();
  if (bare) return new Map([["SESSDATA", bare]]);
  const header = env("BILIBILI_COOKIE");
  if (header?.trim()) {
    const cookie = parseCookieText(header);
    if (!cookie.has("SESSDATA")) {
      throw new ConfigError(
        "Cannot find SESSDATA in BILIBILI_COOKIE: expected a cookie string with SESSDATA=…",
      );
    }
    return cookie;
  }
  return undefined;
}

/** The SESSDATA of {@linkcode loadUserCookie}'s cookie (same sources, same errors). */
export async function loadSessdata(
  cookieFile: string | undefined,
  env: (name: string) => string | undefined,
): Promise<string | undefined> {
  return (await loadUserCookie(cookieFile, env))?.get("SESSDATA");
}
