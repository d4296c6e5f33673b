/**
 * Parses op-5 bodies for the normalizer: `JSON.parse`, except that a DANMU_MSG in the wire
 * layout skips the two parts of `info[0][15]` nothing stores — the `user` object and the
 * unescaping of the `extra` JSON string (≈ 900 characters of escapes), whose three fields the
 * normalizer then reads from the escaped text (extra_fields.ts). On the collect suite's stream
 * that is ≈ 4.3 µs a DANMU_MSG against ≈ 7.4 µs for `JSON.parse` of the whole body.
 *
 * The layout read is `…,"extra":"<E>","user":{"uid":…}},{"activity_identity"…`, as Bilibili has
 * sent it since 2023 (docs/protocol.md §4.2). Why text a viewer wrote cannot imitate it: inside
 * a JSON string every `"` follows a backslash, so `,"extra":"`, `","user":{` and
 * `}},{"activity_identity"` match only the body's own structure. Any other layout, or a parse
 * whose `info[0][15]` and `info[0][16]` are not the objects expected, is parsed whole.
 */

/** A JSON string's contents as they stand in the message's text, escapes not yet undone. */
export class EscapedJsonString {
  constructor(readonly escaped: string) {}

  /** The string's value (what `JSON.parse` would have given); throws if it is not valid. */
  unescape(): string {
    return JSON.parse(`"${this.escaped}"`) as string;
  }
}

const DANMU_PREFIX = '{"cmd":"DANMU_MSG';
const EXTRA_KEY = ',"extra":"';
const USER_KEY = '","user":{"uid":';
const USER_END = '}},{"activity_identity"';

/**
 * The body of one op-5 message, as the normalizer reads it: `JSON.parse(text)`, or for a
 * DANMU_MSG in the wire layout, the body whose `info[0][15]` holds `extra` as an
 * {@linkcode EscapedJsonString} and no `user`. Throws as `JSON.parse` does on text that is not
 * JSON.
 */
export function parseMessageBody(text: string): unknown {
  if (text.startsWith(DANMU_PREFIX)) {
    const lean = parseLeanDanmuMsg(text);
    if (lean !== undefined) return lean;
  }
  return JSON.parse(text);
}

/**
 * The lean parse of a DANMU_MSG body, or undefined when `text` is not in the layout it reads
 * (the caller then parses it whole).
 */
export function parseLeanDanmuMsg(text: string): unknown {
  const userEnd = text.lastIndexOf(USER_END);
  if (userEnd < 0) return undefined;
  const user = text.lastIndexOf(USER_KEY, userEnd);
  if (user < 0) return undefined;
  const extra = text.lastIndexOf(EXTRA_KEY, user);
  if (extra < 0) return undefined;
  let body: unknown;
  try {
    // `…"show_player_type":0` + `},{"activity_identity"…`: `info[0][15]` without its last two keys.
    body = JSON.parse(text.slice(0, extra) + text.slice(userEnd + 1));
  } catch {
    return undefined;
  }
  const modeInfo = leanModeInfo(body);
  if (modeInfo === undefined) return undefined;
  // A slice of the text: it lives while the message is normalized, and what the normalizer
  // keeps of it is copied (extra_fields.ts).
  modeInfo.extra = new EscapedJsonString(text.slice(extra + EXTRA_KEY.length, user));
  return body;
}

/** `info[0][15]` of a cut body, when it and `info[0][16]` are the objects the cut expects. */
function leanModeInfo(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const info = (body as { info?: unknown }).info;
  if (!Array.isArray(info) || !Array.isArray(info[0])) return undefined;
  const meta: unknown[] = info[0];
  const modeInfo = meta[15];
  const activity = meta[16];
  if (
    typeof modeInfo !== "object" || modeInfo === null || Array.isArray(modeInfo) ||
    "extra" in modeInfo || "user" in modeInfo ||
    typeof activity !== "object" || activity === null || !("activity_identity" in activity)
  ) {
    return undefined;
  }
  return modeInfo as Record<string, unknown>;
}
