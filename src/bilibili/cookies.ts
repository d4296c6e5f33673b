/**
 * Finds the SESSDATA cookie in what users have at hand: a bare value, a `Cookie:` header
 * string, or a Netscape cookies.txt export. The value is never logged.
 */
import { ConfigError } from "../errors.ts";

/** Extracts SESSDATA from file or env text, or undefined when it is not there. */
export function findSessdata(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split("\t");
    if (fields.length >= 7 && fields[5] === "SESSDATA") return fields[6].trim() || undefined; // cookies.txt
  }
  const pair = /(?:^|[;\s])SESSDATA=([^;\s]+)/.exec(text);
  if (pair) return pair[1];
  const bare = text.trim();
  // A bare value: SESSDATA looks like "hex%2Cdigits%2Chex*xx" — no spaces, '=' or ';'.
  if (bare !== "" && !/[\s;=]/.test(bare)) return bare;
  return undefined;
}

/**
 * The SESSDATA to use: from `cookieFile` if given, else BILIBILI_SESSDATA, else
 * BILIBILI_COOKIE. Errors name the source but never the value.
 */
export async function loadSessdata(
  cookieFile: string | undefined,
  env: (name: string) => string | undefined,
): Promise<string | undefined> {
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
    const value = findSessdata(text);
    if (!value) {
      throw new ConfigError(
        `Cannot find SESSDATA in --cookie-file "${cookieFile}": expected the bare value, a "SESSDATA=…" cookie string or a cookies.txt export`,
      );
    }
    return value;
  }
  const bare = env("BILIBILI_SESSDATA")?.trim();
  if (bare) return bare;
  const header = env("BILIBILI_COOKIE");
  if (header) {
    const value = findSessdata(header.includes("=") ? header : `SESSDATA=${header}`);
    if (!value) {
      throw new ConfigError(
        "Cannot find SESSDATA in BILIBILI_COOKIE: expected a cookie string with SESSDATA=…",
      );
    }
    return value;
  }
  return undefined;
}
