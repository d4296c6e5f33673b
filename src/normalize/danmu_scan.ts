/**
 * Reads a DANMU_MSG body from its UTF-8 bytes with a WebAssembly scanner (wasm/danmu_scan/,
 * docs/wasm.md), for the collector: no text of the whole body and no `JSON.parse`. Of a body's
 * ≈ 1.7 KB, `info[0][15]` holds ≈ 1.4 KB (`extra`, a JSON text escaped into a string, and
 * `user`) of which three values are stored; decoding the body, cutting it and parsing the rest
 * was the largest cost of a message on its way to its row (docs/benchmarks.md, "Eighth round").
 *
 * The scanner checks the whole body as `JSON.parse` would and records the values a danmaku row
 * reads, by their place; this module hands them to the normalizer as the `DanmuMsgFields`
 * (danmu_msg.ts) it would read from the parsed body, `extra` as an {@linkcode ExtraFields}.
 * Anything it does not read exactly — JSON that does not check out, numbers other than
 * integers, escapes inside `extra`'s values — gives undefined, and the caller decodes and
 * parses the text as before.
 */
import { DANMU_SCAN_WASM_BASE64 } from "./danmu_scan_wasm.ts";
import { ScannedDanmuMsg } from "./danmu_msg.ts";
import { ExtraFields } from "./extra_fields.ts";

/** The scanner's exports (wasm/danmu_scan/index.ts). */
interface ScannerExports {
  memory: WebAssembly.Memory;
  maxInput(): number;
  input(): number;
  slots(): number;
  numbers(): number;
  textArea(): number;
  textBytes(): number;
  scan(length: number): number;
}

// Slot kinds and slots, as wasm/danmu_scan/index.ts numbers them.
const NUMBER = 1;
const STRING = 2;
const NULL = 3;
const TRUE = 4;
const FALSE = 5;
const OBJECT = 6;
const ARRAY = 7;
const ESCAPED = 8;

const S_CMD = 0;
const S_MODE = 1;
const S_FONT_SIZE = 2;
const S_COLOR = 3;
const S_TS = 4;
const S_USER_HASH = 5;
const S_LOTTERY = 6;
const S_DM_TYPE = 7;
const S_MODE_INFO = 9;
const S_TEXT = 10;
const S_UID = 11;
const S_UNAME = 12;
const S_ADMIN = 13;
const S_MEDAL_LEVEL = 14;
const S_MEDAL_NAME = 15;
const S_MEDAL_ANCHOR_UNAME = 16;
const S_MEDAL_ROOM = 17;
const S_MEDAL_ANCHOR_UID = 18;
const S_USER_LEVEL = 19;
const S_GUARD = 20;
const S_CHECK_TS = 21;
const S_ID_STR = 22;
const S_REPLY_MID = 23;
const S_REPLY_UNAME = 24;
const S_INFO = 25;
const S_EMOTICON_UNIQUE = 27;
const S_EMOTICON_URL = 28;
const SLOT_COUNT = 29;

const PREFIX = new TextEncoder().encode('{"cmd":"DANMU_MSG');

const scanner = new WebAssembly.Instance(
  new WebAssembly.Module(Uint8Array.fromBase64(DANMU_SCAN_WASM_BASE64)),
  {},
).exports as unknown as ScannerExports;
/** Longest body the scanner takes (its input area, less room past the end for its loads). */
export const MAX_SCANNED_BYTES: number = scanner.maxInput();
// The memory never grows (3 pages, fixed): these views stay valid.
const memory = new Uint8Array(scanner.memory.buffer);
const input = scanner.input();
const textArea = scanner.textArea();
const slots = new Int32Array(scanner.memory.buffer, scanner.slots(), SLOT_COUNT * 3);
const numbers = new Float64Array(scanner.memory.buffer, scanner.numbers(), SLOT_COUNT);
// A stored string may start with U+FEFF: keep it, as decoding the whole body would.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Placeholders for an object or array where a row reads a scalar (the guards read null). */
const SOME_OBJECT: Readonly<Record<string, never>> = Object.freeze({});
const SOME_ARRAY: readonly never[] = Object.freeze([]);

/** The text of the string slots of the last scan, back to back. */
let text = "";

/**
 * Reads one body (see the module's comment); undefined when `bytes` is not a DANMU_MSG the
 * scanner reads exactly. Keeps nothing of `bytes`: they may be a decompressor's buffer, lent.
 */
export function readDanmuMsgBytes(bytes: Uint8Array): ScannedDanmuMsg | undefined {
  if (bytes.length < PREFIX.length || bytes.length > MAX_SCANNED_BYTES) return undefined;
  for (let k = 0; k < PREFIX.length; k++) if (bytes[k] !== PREFIX[k]) return undefined;
  memory.set(bytes, input);
  if (scanner.scan(bytes.length) !== 1) return undefined;
  text = utf8.decode(memory.subarray(textArea, textArea + scanner.textBytes()));
  try {
    return scanned();
  } finally {
    text = "";
  }
}

function scanned(): ScannedDanmuMsg | undefined {
  const cmd = value(S_CMD);
  if (typeof cmd !== "string" || slots[S_INFO * 3] !== ARRAY) return undefined;
  const colon = cmd.indexOf(":");
  const baseCmd = colon < 0 ? cmd : cmd.slice(0, colon);
  if (baseCmd !== "DANMU_MSG" && baseCmd !== "DANMU_MSG_MIRROR") return undefined;
  return new ScannedDanmuMsg(cmd, {
    mode: value(S_MODE),
    fontSize: value(S_FONT_SIZE),
    color: value(S_COLOR),
    ts: value(S_TS),
    userHash: value(S_USER_HASH),
    lotteryType: value(S_LOTTERY),
    dmType: value(S_DM_TYPE),
    emoticonUnique: value(S_EMOTICON_UNIQUE),
    emoticonUrl: value(S_EMOTICON_URL),
    // start 1: `info[0][15]` is an object holding an `extra` string, read by the scanner.
    extra: slots[S_MODE_INFO * 3] === OBJECT && slots[S_MODE_INFO * 3 + 1] === 1
      ? extraFields()
      : undefined,
    text: value(S_TEXT),
    uid: value(S_UID),
    uname: value(S_UNAME),
    admin: value(S_ADMIN),
    medalLevel: value(S_MEDAL_LEVEL),
    medalName: value(S_MEDAL_NAME),
    medalAnchorUname: value(S_MEDAL_ANCHOR_UNAME),
    medalAnchorRoomId: value(S_MEDAL_ROOM),
    medalAnchorUid: value(S_MEDAL_ANCHOR_UID),
    userLevel: value(S_USER_LEVEL),
    guardLevel: value(S_GUARD),
    checkTs: value(S_CHECK_TS),
  });
}

/** `extra`'s values as the normalizer's escaped-text path reads them (extra_fields.ts). */
function extraFields(): ExtraFields {
  const id = value(S_ID_STR);
  const mid = value(S_REPLY_MID);
  const replyToUid = typeof mid === "number" && mid !== 0 ? mid : null;
  const uname = replyToUid === null ? null : value(S_REPLY_UNAME);
  return new ExtraFields(
    typeof id === "string" ? id : null,
    replyToUid,
    typeof uname === "string" ? uname : null,
  );
}

/** The value recorded in `slot`, as `JSON.parse` gives it; undefined when absent. */
function value(slot: number): unknown {
  const at = slot * 3;
  switch (slots[at]) {
    case NUMBER:
      return numbers[slot];
    case STRING:
      return text.slice(slots[at + 1], slots[at + 2]);
    case ESCAPED:
      // As sent, escapes and all: JSON.parse gives what it gives for the whole body.
      return JSON.parse(`"${text.slice(slots[at + 1], slots[at + 2])}"`);
    case NULL:
      return null;
    case TRUE:
      return true;
    case FALSE:
      return false;
    case OBJECT:
      return SOME_OBJECT;
    case ARRAY:
      return SOME_ARRAY;
    default:
      return undefined;
  }
}
