/**
 * Reads the bodies that cost most from their UTF-8 bytes with a WebAssembly scanner
 * (wasm/body_scan/, docs/wasm.md), for the collector: no text of the whole body and no
 * `JSON.parse`. DANMU_MSG is most of the traffic, and of its ≈ 1.7 KB `info[0][15]` holds ≈ 1.4
 * KB (`extra`, a JSON text escaped into a string, and `user`) of which three values are stored;
 * SEND_GIFT's ≈ 1.4 KB are read for 20 values; INTERACT_WORD_V2 (the next most frequent) for
 * seven values of its base64 protobuf `pb`, decoded in the scanner; COMBO_SEND and
 * STOP_LIVE_ROOM_LIST for their cmd (docs/benchmarks.md, "Eighth round" and "Ninth round").
 *
 * The scanner checks the whole body as `JSON.parse` would and records the values a row reads, by
 * their place; this module hands them to the normalizer as what it would read from the parsed
 * body: a DANMU_MSG's `DanmuMsgFields` (danmu_msg.ts, `extra` as an {@linkcode ExtraFields}), a
 * SEND_GIFT's `{cmd, data}` with those values, an INTERACT_WORD_V2's `InteractWordV2Fields`
 * (interact_word.ts), `{cmd}` of a cmd not stored. Anything it does not read exactly — JSON that
 * does not check out, numbers other than integers of up to 18 digits, escapes inside `extra`'s
 * values, base64 or protobuf that `Uint8Array.fromBase64` or `ProtoMessage` would read otherwise
 * or reject, another cmd — gives undefined, and the caller decodes and parses the text as before.
 */
import { BODY_SCAN_WASM_BASE64 } from "./body_scan_wasm.ts";
import { baseCmdOf } from "./context.ts";
import { ScannedDanmuMsg } from "./danmu_msg.ts";
import { ExtraFields } from "./extra_fields.ts";
import { IGNORED_CMDS } from "./ignored_cmds.ts";
import { ScannedInteractWordV2 } from "./interact_word.ts";

/** The scanner's exports (wasm/body_scan/index.ts). */
interface ScannerExports {
  memory: WebAssembly.Memory;
  maxInput(): number;
  input(): number;
  slots(): number;
  numbers(): number;
  textArea(): number;
  textBytes(): number;
  scanDanmuMsg(length: number): number;
  scanSendGift(length: number): number;
  scanInteractWordV2(length: number): number;
  scanCmd(length: number): number;
}

// Slot kinds and slots, as wasm/body_scan/index.ts numbers them.
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
// SEND_GIFT's slots.
const G_DATA = 1;
const G_TIMESTAMP = 2;
const G_UID = 3;
const G_UNAME = 4;
const G_GIFT_ID = 5;
const G_GIFT_ID_SNAKE = 6;
const G_GIFT_NAME = 7;
const G_GIFT_NAME_SNAKE = 8;
const G_NUM = 9;
const G_COIN_TYPE = 10;
const G_PRICE = 11;
const G_TOTAL_COIN = 12;
const G_TID = 13;
const G_RND = 14;
const G_ACTION = 15;
const G_GUARD_LEVEL = 16;
const G_RUID = 17;
const G_BLIND = 18;
const G_BLIND_NAME = 19;
const G_BLIND_PRICE = 20;
const G_RECEIVER = 21;
const G_RECEIVER_UID = 22;
const G_MEDAL = 23;
const G_MEDAL_NAME = 24;
const G_MEDAL_LEVEL = 25;
const G_MEDAL_ANCHOR_UNAME = 26;
const G_MEDAL_ANCHOR_ROOM = 27;
const G_MEDAL_TARGET = 28;
// INTERACT_WORD_V2's slots (I_DATA and I_PB are only checked by the scanner).
const I_UID = 3;
const I_UNAME = 4;
const I_MSG_TYPE = 5;
const I_TIMESTAMP = 6;
const I_PRIVILEGE = 7;
const I_MEDAL = 8;
const I_MEDAL_ANCHOR_UID = 9;
const I_MEDAL_LEVEL = 10;
const I_MEDAL_NAME = 11;
const I_MEDAL_GUARD = 12;
const I_MEDAL_ROOM = 13;

const scanner = new WebAssembly.Instance(
  new WebAssembly.Module(Uint8Array.fromBase64(BODY_SCAN_WASM_BASE64)),
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
 * Reads one body from its bytes (see the module's comment): a DANMU_MSG's fields, a SEND_GIFT's
 * `{cmd, data}` with the values its row reads, or `{cmd}` of a cmd not stored; undefined for any
 * other body, or one the scanner does not read exactly. Keeps nothing of `bytes`: they may be a
 * decompressor's buffer, lent.
 */
export function readBodyBytes(bytes: Uint8Array): unknown {
  if (bytes.length < CMD_START.length + 1 || bytes.length > MAX_SCANNED_BYTES) return undefined;
  for (let k = 0; k < CMD_START.length; k++) if (bytes[k] !== CMD_START[k]) return undefined;
  let scan: (length: number) => number;
  let read: () => unknown;
  if (startsWith(bytes, DANMU_PREFIX)) {
    scan = scanner.scanDanmuMsg;
    read = scannedDanmuMsg;
  } else if (isCmd(bytes, GIFT_PREFIX)) {
    scan = scanner.scanSendGift;
    read = scannedSendGift;
  } else if (isCmd(bytes, INTERACT_V2_PREFIX)) {
    scan = scanner.scanInteractWordV2;
    read = scannedInteractWordV2;
  } else if (isIgnoredCmd(bytes)) {
    scan = scanner.scanCmd;
    read = scannedIgnored;
  } else {
    return undefined;
  }
  memory.set(bytes, input);
  if (scan(bytes.length) !== 1) return undefined;
  text = utf8.decode(memory.subarray(textArea, textArea + scanner.textBytes()));
  try {
    return read();
  } finally {
    text = "";
  }
}

/** How every body the scanner reads starts (the wire's compact JSON). */
const CMD_START = new TextEncoder().encode('{"cmd":"');
const DANMU_PREFIX = new TextEncoder().encode('{"cmd":"DANMU_MSG');
const GIFT_PREFIX = new TextEncoder().encode('{"cmd":"SEND_GIFT');
const INTERACT_V2_PREFIX = new TextEncoder().encode('{"cmd":"INTERACT_WORD_V2');
const IGNORED_PREFIXES = [...IGNORED_CMDS].map((cmd) => new TextEncoder().encode(`{"cmd":"${cmd}`));

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let k = CMD_START.length; k < prefix.length; k++) if (bytes[k] !== prefix[k]) return false;
  return true;
}

/** Whether the cmd is `prefix`'s, alone or with a `:…` suffix (not SEND_GIFT_V2). */
function isCmd(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const next = bytes[prefix.length];
  return startsWith(bytes, prefix) && (next === 0x22 || next === 0x3a);
}

/** Whether the cmd is one of IGNORED_CMDS (a loop: this runs for most bodies not read). */
function isIgnoredCmd(bytes: Uint8Array): boolean {
  for (const prefix of IGNORED_PREFIXES) if (isCmd(bytes, prefix)) return true;
  return false;
}

/** The cmd recorded, when its part before `:` passes `wanted`. */
function cmdOf(wanted: (baseCmd: string) => boolean): string | undefined {
  const cmd = value(S_CMD);
  return typeof cmd === "string" && wanted(baseCmdOf(cmd)) ? cmd : undefined;
}

const isIgnored = (baseCmd: string) => IGNORED_CMDS.has(baseCmd);
const isSendGift = (baseCmd: string) => baseCmd === "SEND_GIFT";
const isInteractWordV2 = (baseCmd: string) => baseCmd === "INTERACT_WORD_V2";
const isDanmuMsg = (baseCmd: string) => baseCmd === "DANMU_MSG" || baseCmd === "DANMU_MSG_MIRROR";

/** `{cmd}` of a cmd not stored: its normalizer reads nothing else. */
function scannedIgnored(): unknown {
  const cmd = cmdOf(isIgnored);
  return cmd === undefined ? undefined : { cmd };
}

/** SEND_GIFT's `{cmd, data}` with the values normalizeSendGift reads (send_gift.ts). */
function scannedSendGift(): unknown {
  const cmd = cmdOf(isSendGift);
  // Without a `data` object the text path keeps the body, whose text only it has.
  if (cmd === undefined || slots[G_DATA * 3] !== OBJECT) return undefined;
  const data = {
    timestamp: value(G_TIMESTAMP),
    uid: value(G_UID),
    uname: value(G_UNAME),
    giftId: value(G_GIFT_ID),
    gift_id: value(G_GIFT_ID_SNAKE),
    giftName: value(G_GIFT_NAME),
    gift_name: value(G_GIFT_NAME_SNAKE),
    num: value(G_NUM),
    coin_type: value(G_COIN_TYPE),
    price: value(G_PRICE),
    total_coin: value(G_TOTAL_COIN),
    tid: value(G_TID),
    rnd: value(G_RND),
    action: value(G_ACTION),
    guard_level: value(G_GUARD_LEVEL),
    ruid: value(G_RUID),
    blind_gift: slots[G_BLIND * 3] === OBJECT
      ? { original_gift_name: value(G_BLIND_NAME), original_gift_price: value(G_BLIND_PRICE) }
      : value(G_BLIND),
    receive_user_info: slots[G_RECEIVER * 3] === OBJECT
      ? { uid: value(G_RECEIVER_UID) }
      : value(G_RECEIVER),
    medal_info: slots[G_MEDAL * 3] === OBJECT
      ? {
        medal_name: value(G_MEDAL_NAME),
        medal_level: value(G_MEDAL_LEVEL),
        anchor_uname: value(G_MEDAL_ANCHOR_UNAME),
        anchor_roomid: value(G_MEDAL_ANCHOR_ROOM),
        target_id: value(G_MEDAL_TARGET),
      }
      : value(G_MEDAL),
  };
  return { cmd, data };
}

/** An INTERACT_WORD_V2's fields, read from its `pb` by the scanner (interact_word.ts). */
function scannedInteractWordV2(): ScannedInteractWordV2 | undefined {
  const cmd = cmdOf(isInteractWordV2);
  if (cmd === undefined) return undefined;
  const hasMedal = slots[I_MEDAL * 3] === OBJECT;
  return new ScannedInteractWordV2(cmd, {
    uid: numbers[I_UID],
    uname: stringOrEmpty(I_UNAME),
    msgType: numbers[I_MSG_TYPE],
    timestamp: numbers[I_TIMESTAMP],
    privilege: numbers[I_PRIVILEGE],
    medal: hasMedal
      ? {
        name: stringOrEmpty(I_MEDAL_NAME),
        level: numbers[I_MEDAL_LEVEL],
        anchorRoomId: numbers[I_MEDAL_ROOM],
        anchorUid: numbers[I_MEDAL_ANCHOR_UID],
      }
      : undefined,
    medalGuard: hasMedal ? numbers[I_MEDAL_GUARD] : 0,
  });
}

/** A protobuf string the scanner read ("" when absent, as protobuf defaults). */
function stringOrEmpty(slot: number): string {
  return slots[slot * 3] === STRING ? text.slice(slots[slot * 3 + 1], slots[slot * 3 + 2]) : "";
}

/** A DANMU_MSG's fields (danmu_msg.ts). */
function scannedDanmuMsg(): ScannedDanmuMsg | undefined {
  const cmd = cmdOf(isDanmuMsg);
  if (cmd === undefined || slots[S_INFO * 3] !== ARRAY) return undefined;
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
