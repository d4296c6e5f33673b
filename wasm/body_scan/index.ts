// AssemblyScript (not Deno TypeScript): the scanner behind src/normalize/body_scan.ts.
// `deno task wasm` compiles it into src/normalize/body_scan_wasm.ts; docs/wasm.md says why.
//
// It reads one body (UTF-8 JSON: DANMU_MSG, SEND_GIFT, INTERACT_WORD_V2 or a cmd not stored)
// placed at INPUT and validates all of it as JSON, as `JSON.parse` would, while it records the
// few values a row stores ("slots", by their place in the body), and returns 1; it returns 0 for
// anything it does not read exactly (the caller then parses the text). Records: per slot its
// kind, the UTF-16 start and end of its text in the TEXT area (strings copied there one after
// the other) and its number. INTERACT_WORD_V2's values are in its base64 protobuf `pb`, which it
// decodes in place and reads as src/protocol/protobuf.ts does.

/** Where the caller writes the body. */
const INPUT: usize = 65536;
/**
 * Longest body read: the rest of memory past INPUT (3 pages in all), less room for the NUL
 * sentinel and the 16-byte loads past it.
 */
const MAX_INPUT: i32 = 131072 - 64;
/** Per slot: kind, text start, text end (i32 each). Above the static data (checked in scan). */
const SLOTS: usize = 16384;
/** Per slot: its number (f64). */
const NUMBERS: usize = 17408;
/** The text of string slots, UTF-8, back to back. */
const TEXT: usize = 18432;
const TEXT_END: usize = 65536;
/** Deepest nesting read; deeper bodies go to JSON.parse. */
const MAX_DEPTH: i32 = 64;

// Slot kinds.
const ABSENT: i32 = 0;
const NUMBER: i32 = 1;
const STRING: i32 = 2;
const NULL: i32 = 3;
const TRUE: i32 = 4;
const FALSE: i32 = 5;
const OBJECT: i32 = 6;
const ARRAY: i32 = 7;
/** A string holding escapes: its text is copied as sent, for the caller's JSON.parse. */
const ESCAPED: i32 = 8;

// Slots: their numbers are shared with src/normalize/body_scan.ts.
const S_CMD: i32 = 0;
const S_MODE: i32 = 1; // info[0][1]
const S_FONT_SIZE: i32 = 2; // info[0][2]
const S_COLOR: i32 = 3; // info[0][3]
const S_TS: i32 = 4; // info[0][4]
const S_USER_HASH: i32 = 5; // info[0][7]
const S_LOTTERY: i32 = 6; // info[0][9]
const S_DM_TYPE: i32 = 7; // info[0][12]
const S_OPTIONS: i32 = 8; // info[0][13]
const S_MODE_INFO: i32 = 9; // info[0][15]
const S_TEXT: i32 = 10; // info[1]
const S_UID: i32 = 11; // info[2][0]
const S_UNAME: i32 = 12; // info[2][1]
const S_ADMIN: i32 = 13; // info[2][2]
const S_MEDAL_LEVEL: i32 = 14; // info[3][0]
const S_MEDAL_NAME: i32 = 15; // info[3][1]
const S_MEDAL_ANCHOR_UNAME: i32 = 16; // info[3][2]
const S_MEDAL_ROOM: i32 = 17; // info[3][3]
const S_MEDAL_ANCHOR_UID: i32 = 18; // info[3][12]
const S_USER_LEVEL: i32 = 19; // info[4][0]
const S_GUARD: i32 = 20; // info[7]
const S_CHECK_TS: i32 = 21; // info[9].ts
const S_ID_STR: i32 = 22; // info[0][15].extra: id_str
const S_REPLY_MID: i32 = 23; // info[0][15].extra: reply_mid
const S_REPLY_UNAME: i32 = 24; // info[0][15].extra: reply_uname
const S_INFO: i32 = 25; // info itself (its kind)
const S_MEDAL: i32 = 26; // info[3] (kind; start = its length)
const S_EMOTICON_UNIQUE: i32 = 27; // info[0][13].emoticon_unique
const S_EMOTICON_URL: i32 = 28; // info[0][13].url
const SLOT_COUNT: i32 = 29;

// SEND_GIFT's slots (a scan reads one cmd: they reuse the numbers). data.*:
const G_DATA: i32 = 1; // data itself (its kind)
const G_TIMESTAMP: i32 = 2;
const G_UID: i32 = 3;
const G_UNAME: i32 = 4;
const G_GIFT_ID: i32 = 5; // giftId
const G_GIFT_ID_SNAKE: i32 = 6; // gift_id
const G_GIFT_NAME: i32 = 7; // giftName
const G_GIFT_NAME_SNAKE: i32 = 8; // gift_name
const G_NUM: i32 = 9;
const G_COIN_TYPE: i32 = 10;
const G_PRICE: i32 = 11;
const G_TOTAL_COIN: i32 = 12;
const G_TID: i32 = 13;
const G_RND: i32 = 14;
const G_ACTION: i32 = 15;
const G_GUARD_LEVEL: i32 = 16;
const G_RUID: i32 = 17;
const G_BLIND: i32 = 18; // blind_gift (its kind)
const G_BLIND_NAME: i32 = 19; // blind_gift.original_gift_name
const G_BLIND_PRICE: i32 = 20; // blind_gift.original_gift_price
const G_RECEIVER: i32 = 21; // receive_user_info (its kind)
const G_RECEIVER_UID: i32 = 22; // receive_user_info.uid
const G_MEDAL: i32 = 23; // medal_info (its kind)
const G_MEDAL_NAME: i32 = 24; // medal_info.medal_name
const G_MEDAL_LEVEL: i32 = 25; // medal_info.medal_level
const G_MEDAL_ANCHOR_UNAME: i32 = 26; // medal_info.anchor_uname
const G_MEDAL_ANCHOR_ROOM: i32 = 27; // medal_info.anchor_roomid
const G_MEDAL_TARGET: i32 = 28; // medal_info.target_id

// INTERACT_WORD_V2's slots: `data` and its `pb` (base64 protobuf, docs/protocol.md §4.6), then
// the values read from the protobuf (absent numbers read 0, as protobuf defaults).
const I_DATA: i32 = 1; // data itself (its kind)
const I_PB: i32 = 2; // data.pb: start and end of its base64 in the input, not copied
const I_UID: i32 = 3; // field 1
const I_UNAME: i32 = 4; // field 2
const I_MSG_TYPE: i32 = 5; // field 5
const I_TIMESTAMP: i32 = 6; // field 7
const I_PRIVILEGE: i32 = 7; // field 16
const I_MEDAL: i32 = 8; // field 9, the medal message (OBJECT when present)
const I_MEDAL_ANCHOR_UID: i32 = 9; // medal field 1
const I_MEDAL_LEVEL: i32 = 10; // medal field 2
const I_MEDAL_NAME: i32 = 11; // medal field 3
const I_MEDAL_GUARD: i32 = 12; // medal field 9
const I_MEDAL_ROOM: i32 = 13; // medal field 12

// Places: which slots a container's elements (or keys) fill.
const P_NONE: i32 = 0;
const P_TOP: i32 = 1;
const P_INFO: i32 = 2;
const P_META: i32 = 3;
const P_SENDER: i32 = 4;
const P_MEDAL: i32 = 5;
const P_LEVEL: i32 = 6;
const P_CHECK: i32 = 7;
const P_MODE_INFO: i32 = 8;
const P_OPTIONS: i32 = 9;
const P_GIFT_TOP: i32 = 10;
const P_GIFT_DATA: i32 = 11;
const P_GIFT_BLIND: i32 = 12;
const P_GIFT_RECEIVER: i32 = 13;
const P_GIFT_MEDAL: i32 = 14;
/** A body of which only `cmd` is read (cmds not stored): checked whole all the same. */
const P_CMD_ONLY: i32 = 15;
const P_INTERACT_TOP: i32 = 16;
const P_INTERACT_DATA: i32 = 17;

let p: i32 = 0; // cursor, from INPUT
let end: i32 = 0; // input length
let failed: bool = false;
let text: usize = TEXT; // next free byte of TEXT
let text16: i32 = 0; // UTF-16 units written to TEXT so far

/** The address of the input area. */
export function input(): usize {
  return INPUT;
}

/** The longest body `scan` reads. */
export function maxInput(): i32 {
  return MAX_INPUT;
}

/** The address of the slots (kind, start, end as i32). */
export function slots(): usize {
  return SLOTS;
}

/** The address of the slots' numbers (f64). */
export function numbers(): usize {
  return NUMBERS;
}

/** The address of the TEXT area; `scan` returns how many bytes of it it filled in `textBytes`. */
export function textArea(): usize {
  return TEXT;
}

let textLength: i32 = 0;

/** Bytes of TEXT the last scan filled. */
export function textBytes(): i32 {
  return textLength;
}

/** Reads the body of `length` bytes at INPUT; 1 when every slot was read, 0 to parse it. */
/** Reads a DANMU_MSG body of `length` bytes at INPUT; 1 when read, 0 to parse it. */
export function scanDanmuMsg(length: i32): i32 {
  return scan(length, P_TOP);
}

/** Reads a SEND_GIFT body of `length` bytes at INPUT; 1 when read, 0 to parse it. */
export function scanSendGift(length: i32): i32 {
  return scan(length, P_GIFT_TOP);
}

/**
 * Reads an INTERACT_WORD_V2 body of `length` bytes at INPUT: its JSON, then `data.pb`'s base64
 * and the protobuf fields an interaction row stores; 1 when read, 0 to parse it.
 */
export function scanInteractWordV2(length: i32): i32 {
  if (scan(length, P_INTERACT_TOP) !== 1) return 0;
  if (load<i32>(slotAt(I_DATA)) !== OBJECT) return 0;
  const pb = slotAt(I_PB);
  if (load<i32>(pb) !== STRING) return 0; // escaped, absent, not a string
  const pbStart = load<i32>(pb + 4);
  const pbEnd = base64(pbStart, load<i32>(pb + 8));
  if (pbEnd < 0 || !interaction(pbStart, pbEnd)) return 0;
  textLength = <i32>(text - TEXT);
  return 1;
}

/** Checks a body of `length` bytes at INPUT and reads its `cmd` only; 1 when read. */
export function scanCmd(length: i32): i32 {
  return scan(length, P_CMD_ONLY);
}

function scan(length: i32, top: i32): i32 {
  // The key names compared against live in the static data: the slots must not overwrite them.
  if (length > MAX_INPUT || __heap_base > SLOTS) return 0;
  for (let k = 0; k < SLOT_COUNT; k++) store<i32>(slotAt(k), ABSENT);
  p = 0;
  end = length;
  // A NUL after the body ends every loop: no token, string or number takes it.
  store<u8>(INPUT + <usize>length, 0);
  failed = false;
  text = TEXT;
  text16 = 0;
  ws();
  value(-1, top, 0);
  ws();
  if (failed || p !== end) return 0;
  textLength = <i32>(text - TEXT);
  return 1;
}

/** The byte at `i`; past the body, its NUL sentinel (and whatever follows it). */
@inline function at(i: i32): i32 {
  return <i32>load<u8>(INPUT + <usize>i);
}

@inline function ws(): void {
  let c = at(p);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = at(++p);
}

/** Where `slot`'s kind, start and end (i32 each) are. */
@inline function slotAt(slot: i32): usize {
  return SLOTS + (<usize>slot) * 12;
}

function setSlot(slot: i32, kind: i32, start: i32, stop: i32): void {
  const base = slotAt(slot);
  store<i32>(base, kind);
  store<i32>(base + 4, start);
  store<i32>(base + 8, stop);
}

/** Reads any value at p; records it in `slot` (-1: none); `place` says what fills its parts. */
function value(slot: i32, place: i32, depth: i32): void {
  if (failed) return;
  const c = at(p);
  if (c === 0x22) {
    stringValue(slot);
  } else if (c === 0x7b) {
    if (slot >= 0) setSlot(slot, OBJECT, 0, 0);
    object(place, depth + 1);
  } else if (c === 0x5b) {
    const length = array(place, depth + 1);
    if (slot >= 0) setSlot(slot, ARRAY, length, 0);
  } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    number(slot);
  } else if (c === 0x74 && at(p + 1) === 0x72 && at(p + 2) === 0x75 && at(p + 3) === 0x65) {
    p += 4;
    if (slot >= 0) setSlot(slot, TRUE, 0, 0);
  } else if (
    c === 0x66 && at(p + 1) === 0x61 && at(p + 2) === 0x6c && at(p + 3) === 0x73 &&
    at(p + 4) === 0x65
  ) {
    p += 5;
    if (slot >= 0) setSlot(slot, FALSE, 0, 0);
  } else if (c === 0x6e && at(p + 1) === 0x75 && at(p + 2) === 0x6c && at(p + 3) === 0x6c) {
    p += 4;
    if (slot >= 0) setSlot(slot, NULL, 0, 0);
  } else {
    failed = true;
  }
}

/** The slot element `index` of a `place` array fills, and the place of its parts. */
function elementSlot(place: i32, index: i32): i32 {
  if (place === P_INFO) {
    if (index === 1) return S_TEXT;
    if (index === 3) return S_MEDAL;
    if (index === 7) return S_GUARD;
    return -1;
  }
  if (place === P_META) {
    if (index === 1) return S_MODE;
    if (index === 2) return S_FONT_SIZE;
    if (index === 3) return S_COLOR;
    if (index === 4) return S_TS;
    if (index === 7) return S_USER_HASH;
    if (index === 9) return S_LOTTERY;
    if (index === 12) return S_DM_TYPE;
    if (index === 13) return S_OPTIONS;
    if (index === 15) return S_MODE_INFO;
    return -1;
  }
  if (place === P_SENDER) {
    if (index === 0) return S_UID;
    if (index === 1) return S_UNAME;
    if (index === 2) return S_ADMIN;
    return -1;
  }
  if (place === P_MEDAL) {
    if (index === 0) return S_MEDAL_LEVEL;
    if (index === 1) return S_MEDAL_NAME;
    if (index === 2) return S_MEDAL_ANCHOR_UNAME;
    if (index === 3) return S_MEDAL_ROOM;
    if (index === 12) return S_MEDAL_ANCHOR_UID;
    return -1;
  }
  if (place === P_LEVEL) return index === 0 ? S_USER_LEVEL : -1;
  return -1;
}

function elementPlace(place: i32, index: i32): i32 {
  if (place === P_INFO) {
    if (index === 0) return P_META;
    if (index === 2) return P_SENDER;
    if (index === 3) return P_MEDAL;
    if (index === 4) return P_LEVEL;
    if (index === 9) return P_CHECK;
    return P_NONE;
  }
  if (place === P_META && index === 15) return P_MODE_INFO;
  if (place === P_META && index === 13) return P_OPTIONS;
  return P_NONE;
}

/** Reads an array at p; returns its length. */
function array(place: i32, depth: i32): i32 {
  if (depth > MAX_DEPTH) {
    failed = true;
    return 0;
  }
  p++;
  ws();
  if (at(p) === 0x5d) {
    p++;
    return 0;
  }
  let index = 0;
  for (;;) {
    ws();
    value(elementSlot(place, index), elementPlace(place, index), depth);
    if (failed) return 0;
    index++;
    ws();
    const c = at(p++);
    if (c === 0x5d) return index;
    if (c !== 0x2c) break;
  }
  failed = true;
  return 0;
}

/** Whether the key just read (UTF-8 bytes [start, stop) of the input) is `word`. */
function keyIs(start: i32, stop: i32, word: string): bool {
  const n = word.length;
  if (stop - start !== n) return false;
  for (let k = 0; k < n; k++) {
    if (at(start + k) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** Reads an object at p. */
function object(place: i32, depth: i32): void {
  if (depth > MAX_DEPTH) {
    failed = true;
    return;
  }
  p++;
  ws();
  if (at(p) === 0x7d) {
    p++;
    return;
  }
  for (;;) {
    ws();
    if (at(p) !== 0x22) {
      failed = true;
      return;
    }
    const keyStart = p + 1;
    const keyEnd = skipString();
    if (failed) return;
    // A key with an escape could spell a key read here: JSON.parse reads such bodies.
    if (lastEscaped) {
      failed = true;
      return;
    }
    ws();
    if (at(p++) !== 0x3a) {
      failed = true;
      return;
    }
    ws();
    let slot = -1;
    let inner = P_NONE;
    if (place === P_TOP) {
      if (keyIs(keyStart, keyEnd, "cmd")) slot = S_CMD;
      else if (keyIs(keyStart, keyEnd, "info")) {
        slot = S_INFO;
        inner = P_INFO;
        clearSlots(1, SLOT_COUNT - 1); // a later `info` replaces an earlier one
      }
    } else if (place === P_GIFT_TOP) {
      if (keyIs(keyStart, keyEnd, "cmd")) slot = S_CMD;
      else if (keyIs(keyStart, keyEnd, "data")) {
        slot = G_DATA;
        inner = P_GIFT_DATA;
        clearSlots(G_DATA + 1, G_MEDAL_TARGET);
      }
    } else if (place === P_CMD_ONLY) {
      if (keyIs(keyStart, keyEnd, "cmd")) slot = S_CMD;
    } else if (place === P_INTERACT_TOP) {
      if (keyIs(keyStart, keyEnd, "cmd")) slot = S_CMD;
      else if (keyIs(keyStart, keyEnd, "data")) {
        slot = I_DATA;
        inner = P_INTERACT_DATA;
        clearSlots(I_PB, I_PB);
      }
    } else if (place === P_INTERACT_DATA && keyIs(keyStart, keyEnd, "pb")) {
      setSlot(I_PB, ABSENT, 0, 0);
      if (at(p) === 0x22) {
        // Its place, not its text: the base64 is decoded where it lies.
        const start = p + 1;
        const stop = skipString();
        if (failed) return;
        setSlot(I_PB, lastEscaped ? ESCAPED : STRING, start, stop);
        if (nextMember()) continue;
        return;
      }
      slot = I_PB; // another kind of value: its kind sends the body to the text path
    } else if (place === P_GIFT_DATA) {
      slot = giftDataSlot(keyStart, keyEnd);
      if (slot === G_BLIND) {
        inner = P_GIFT_BLIND;
        clearSlots(G_BLIND_NAME, G_BLIND_PRICE);
      } else if (slot === G_RECEIVER) {
        inner = P_GIFT_RECEIVER;
        clearSlots(G_RECEIVER_UID, G_RECEIVER_UID);
      } else if (slot === G_MEDAL) {
        inner = P_GIFT_MEDAL;
        clearSlots(G_MEDAL_NAME, G_MEDAL_TARGET);
      }
    } else if (place === P_GIFT_BLIND) {
      if (keyIs(keyStart, keyEnd, "original_gift_name")) slot = G_BLIND_NAME;
      else if (keyIs(keyStart, keyEnd, "original_gift_price")) slot = G_BLIND_PRICE;
    } else if (place === P_GIFT_RECEIVER) {
      if (keyIs(keyStart, keyEnd, "uid")) slot = G_RECEIVER_UID;
    } else if (place === P_GIFT_MEDAL) {
      if (keyIs(keyStart, keyEnd, "medal_name")) slot = G_MEDAL_NAME;
      else if (keyIs(keyStart, keyEnd, "medal_level")) slot = G_MEDAL_LEVEL;
      else if (keyIs(keyStart, keyEnd, "anchor_uname")) slot = G_MEDAL_ANCHOR_UNAME;
      else if (keyIs(keyStart, keyEnd, "anchor_roomid")) slot = G_MEDAL_ANCHOR_ROOM;
      else if (keyIs(keyStart, keyEnd, "target_id")) slot = G_MEDAL_TARGET;
    } else if (place === P_CHECK) {
      if (keyIs(keyStart, keyEnd, "ts")) slot = S_CHECK_TS;
    } else if (place === P_OPTIONS) {
      if (keyIs(keyStart, keyEnd, "emoticon_unique")) slot = S_EMOTICON_UNIQUE;
      else if (keyIs(keyStart, keyEnd, "url")) slot = S_EMOTICON_URL;
    } else if (place === P_MODE_INFO) {
      if (keyIs(keyStart, keyEnd, "extra")) {
        // A later "extra" replaces an earlier one, as in JSON.parse.
        setSlot(S_ID_STR, ABSENT, 0, 0);
        setSlot(S_REPLY_MID, ABSENT, 0, 0);
        setSlot(S_REPLY_UNAME, ABSENT, 0, 0);
        setSlot(S_MODE_INFO, OBJECT, 0, 0);
        if (at(p) === 0x22) {
          extra();
          if (failed) return;
          if (nextMember()) continue;
          return;
        }
      }
    }
    value(slot, inner, depth);
    if (failed || !nextMember()) return;
  }
}

/** After a member's value: true when another follows (`,`); false at `}`, or setting `failed`. */
function nextMember(): bool {
  ws();
  const c = at(p++);
  if (c === 0x2c) return true;
  if (c !== 0x7d) failed = true;
  return false;
}

/**
 * Forgets slots `from`…`to`: a key given again replaces its earlier value whole, as in
 * JSON.parse, so what the earlier object filled must not stay.
 */
function clearSlots(from: i32, to: i32): void {
  for (let k = from; k <= to; k++) setSlot(k, ABSENT, 0, 0);
}

/** The slot of a key of SEND_GIFT's `data`, or -1. */
function giftDataSlot(start: i32, stop: i32): i32 {
  const n = stop - start;
  if (n === 3) {
    if (keyIs(start, stop, "uid")) return G_UID;
    if (keyIs(start, stop, "num")) return G_NUM;
    if (keyIs(start, stop, "tid")) return G_TID;
    if (keyIs(start, stop, "rnd")) return G_RND;
    return -1;
  }
  if (n === 4) return keyIs(start, stop, "ruid") ? G_RUID : -1;
  if (n === 5) {
    if (keyIs(start, stop, "uname")) return G_UNAME;
    if (keyIs(start, stop, "price")) return G_PRICE;
    return -1;
  }
  if (n === 6) {
    if (keyIs(start, stop, "giftId")) return G_GIFT_ID;
    if (keyIs(start, stop, "action")) return G_ACTION;
    return -1;
  }
  if (n === 7) return keyIs(start, stop, "gift_id") ? G_GIFT_ID_SNAKE : -1;
  if (n === 8) return keyIs(start, stop, "giftName") ? G_GIFT_NAME : -1;
  if (n === 9) {
    if (keyIs(start, stop, "timestamp")) return G_TIMESTAMP;
    if (keyIs(start, stop, "coin_type")) return G_COIN_TYPE;
    if (keyIs(start, stop, "gift_name")) return G_GIFT_NAME_SNAKE;
    return -1;
  }
  if (n === 10) {
    if (keyIs(start, stop, "total_coin")) return G_TOTAL_COIN;
    if (keyIs(start, stop, "blind_gift")) return G_BLIND;
    if (keyIs(start, stop, "medal_info")) return G_MEDAL;
    return -1;
  }
  if (n === 11) return keyIs(start, stop, "guard_level") ? G_GUARD_LEVEL : -1;
  if (n === 17) return keyIs(start, stop, "receive_user_info") ? G_RECEIVER : -1;
  return -1;
}

let lastEscaped: bool = false;

/**
 * Skips the string at p, checking it; returns the index of its closing quote. Sixteen bytes at
 * a time while none of them is a quote, a backslash or a control character.
 */
function skipString(): i32 {
  lastEscaped = false;
  let i = p + 1;
  const quote = i8x16.splat(0x22);
  const backslash = i8x16.splat(0x5c);
  const space = i8x16.splat(0x20);
  for (;;) {
    const v = v128.load(INPUT + <usize>i);
    const special = v128.or(
      v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)),
      i8x16.lt_u(v, space),
    );
    const mask = i8x16.bitmask(special);
    if (mask === 0) {
      i += 16;
      continue;
    }
    i += <i32>ctz(mask);
    const c = at(i);
    if (c === 0x22) break;
    if (c < 0x20) {
      failed = true; // a raw control character, or the end
      return 0;
    }
    lastEscaped = true;
    const e = at(i + 1);
    if (e === 0x75) {
      for (let k = 2; k < 6; k++) {
        if (!isHex(at(i + k))) {
          failed = true;
          return 0;
        }
      }
      i += 6;
    } else if (
      e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e ||
      e === 0x72 || e === 0x74
    ) {
      i += 2;
    } else {
      failed = true;
      return 0;
    }
  }
  p = i + 1;
  return i;
}

@inline function isHex(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** A string value; recorded (copied to TEXT) when `slot` >= 0 and it has no escape. */
function stringValue(slot: i32): void {
  const start = p + 1;
  const stop = skipString();
  if (failed || slot < 0) return;
  // A stored value with escapes (a viewer's quote or line break) is unescaped by the caller.
  copyText(slot, start, stop, lastEscaped ? ESCAPED : STRING);
}

/** Copies input bytes [start, stop) to TEXT as `slot`'s text, checking they are UTF-8. */
function copyText(slot: i32, start: i32, stop: i32, kind: i32): void {
  if (text + <usize>(stop - start) > TEXT_END) {
    failed = true;
    return;
  }
  const from = text16;
  let i = start;
  while (i < stop) {
    // ASCII, sixteen bytes at a time.
    if (i + 16 <= stop && i8x16.bitmask(v128.load(INPUT + <usize>i)) === 0) {
      text16 += 16;
      i += 16;
      continue;
    }
    const c = at(i);
    let n = 0;
    if (c < 0x80) n = 1;
    else if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) n = 3;
    else if (c >= 0xf0 && c <= 0xf4) n = 4;
    else {
      failed = true; // not UTF-8: the text path decodes it with replacement characters
      return;
    }
    if (i + n > stop) {
      failed = true;
      return;
    }
    if (n > 1) {
      for (let k = 1; k < n; k++) {
        if ((at(i + k) & 0xc0) !== 0x80) {
          failed = true;
          return;
        }
      }
      const c1 = at(i + 1);
      // Overlong, surrogate and out-of-range forms.
      if (
        (c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) ||
        (c === 0xf4 && c1 > 0x8f)
      ) {
        failed = true;
        return;
      }
    }
    text16 += n === 4 ? 2 : 1;
    i += n;
  }
  memory.copy(text, INPUT + <usize>start, <usize>(stop - start));
  text += <usize>(stop - start);
  setSlot(slot, kind, from, text16);
}

/** A number at p, checked as JSON; a recorded one must be an integer of at most 18 digits. */
function number(slot: i32): void {
  const start = p;
  let i = p;
  if (at(i) === 0x2d) i++;
  const first = i;
  let n: i64 = 0;
  while (at(i) >= 0x30 && at(i) <= 0x39) {
    n = n * 10 + <i64>(at(i) - 0x30);
    i++;
  }
  const digits = i - first;
  if (digits === 0 || (digits > 1 && at(first) === 0x30)) {
    failed = true;
    return;
  }
  let plain = digits <= 18;
  if (at(i) === 0x2e) {
    plain = false;
    i++;
    const fraction = i;
    while (at(i) >= 0x30 && at(i) <= 0x39) i++;
    if (i === fraction) {
      failed = true;
      return;
    }
  }
  if (at(i) === 0x65 || at(i) === 0x45) {
    plain = false;
    i++;
    if (at(i) === 0x2b || at(i) === 0x2d) i++;
    const exponent = i;
    while (at(i) >= 0x30 && at(i) <= 0x39) i++;
    if (i === exponent) {
      failed = true;
      return;
    }
  }
  p = i;
  if (slot < 0) return;
  // Fractions, exponents and longer integers: JSON.parse rounds those itself.
  if (!plain) {
    failed = true;
    return;
  }
  // i64 → f64 rounds to nearest as JSON.parse does for an integer literal.
  const value = <f64>n;
  store<f64>(NUMBERS + (<usize>slot) * 8, at(start) === 0x2d ? -value : value);
  setSlot(slot, NUMBER, 0, 0);
}

/**
 * The `extra` string at p (a JSON text escaped into a string): its `id_str`, `reply_mid` and
 * `reply_uname` read from the escaped text as src/normalize/extra_fields.ts reads them (the
 * last match of `\"key\":`). In the wire layout, `…"extra":"<E>","user":{"uid":…}},
 * {"activity_identity"…` (docs/protocol.md §4.2), E and `user` are passed over by their ends
 * without being read, as the text path's cut passes over them (message_body.ts says why those
 * ends cannot be imitated by a viewer's text); p is then at `info[0][15]`'s closing brace.
 */
function extra(): void {
  const start = p + 1;
  setSlot(S_MODE_INFO, OBJECT, 1, 0); // start 1: an object holding an `extra` string
  const close = find(start, 0x7b, '","user":{"uid":', 9);
  const userEnd = close < 0 ? -1 : find(close + 16, 0x7b, '}},{"activity_identity"', 3);
  let stop: i32;
  if (userEnd >= 0) {
    stop = close;
    p = userEnd + 1;
  } else {
    stop = skipString();
    if (failed) return;
  }
  findKeys(start, stop);
  if (idStr >= 0) escapedString(S_ID_STR, idStr, stop);
  if (failed) return;
  if (replyMid >= 0) escapedNumber(S_REPLY_MID, replyMid, stop);
  if (failed) return;
  if (replyUname >= 0) escapedString(S_REPLY_UNAME, replyUname, stop);
}

// Where the last `\"id_str\":`, `\"reply_mid\":` and `\"reply_uname\":` of `extra` end, or -1.
let idStr: i32 = -1;
let replyMid: i32 = -1;
let replyUname: i32 = -1;

/**
 * Finds the last match of each key in escaped `extra` text [from, to), from the end (they sit
 * near it), stopping once all three are found: each `\"` is found sixteen bytes at a time.
 */
function findKeys(from: i32, to: i32): void {
  idStr = -1;
  replyMid = -1;
  replyUname = -1;
  const backslash = i8x16.splat(0x5c);
  let chunk = to - 16;
  while (chunk > from - 16) {
    const base = chunk < from ? from : chunk;
    let mask = i8x16.bitmask(i8x16.eq(v128.load(INPUT + <usize>base), backslash));
    if (chunk < from) mask &= 0xffff >>> (from - chunk); // bytes already looked at
    while (mask !== 0) {
      const k = 31 - <i32>clz(mask);
      const i = base + k;
      mask &= ~(1 << k);
      if (at(i + 1) !== 0x22) continue;
      if (idStr < 0) idStr = keyEnd(i, "id_str", to);
      if (replyMid < 0) replyMid = keyEnd(i, "reply_mid", to);
      if (replyUname < 0) replyUname = keyEnd(i, "reply_uname", to);
      if (idStr >= 0 && replyMid >= 0 && replyUname >= 0) return;
    }
    chunk -= 16;
  }
}

/** Where the value starts when `\"key\":` starts at `i` and ends before `to`, else -1. */
function keyEnd(i: i32, key: string, to: i32): i32 {
  const n = key.length;
  if (i + n + 5 > to) return -1;
  for (let k = 0; k < n; k++) {
    if (at(i + 2 + k) !== key.charCodeAt(k)) return -1;
  }
  return at(i + 2 + n) === 0x5c && at(i + 3 + n) === 0x22 && at(i + 4 + n) === 0x3a
    ? i + 5 + n
    : -1;
}

/**
 * Where `pattern` first starts at or after `from` in the body, or -1: candidates are the
 * places of its byte `rare` (at `offset` in it), found sixteen bytes at a time.
 */
function find(from: i32, rare: i32, pattern: string, offset: i32): i32 {
  const needle = i8x16.splat(<i8>rare);
  const n = pattern.length;
  let i = from + offset;
  while (i < end) {
    let mask = i8x16.bitmask(i8x16.eq(v128.load(INPUT + <usize>i), needle));
    while (mask !== 0) {
      const q = i + <i32>ctz(mask);
      if (q >= end) return -1;
      const start = q - offset;
      if (start + n <= end) {
        let same = true;
        for (let k = 0; k < n; k++) {
          if (at(start + k) !== pattern.charCodeAt(k)) {
            same = false;
            break;
          }
        }
        if (same) return start;
      }
      mask &= mask - 1;
    }
    i += 16;
  }
  return -1;
}

/** The string value at `i` of escaped `extra` text ending at `to` (extra_fields.ts). */
function escapedString(slot: i32, value: i32, to: i32): void {
  let i = value;
  while (i < to && at(i) === 0x20) i++;
  if (i + 1 >= to || at(i) !== 0x5c || at(i + 1) !== 0x22) return; // not a string
  i += 2;
  const start = i;
  while (i < to && at(i) !== 0x5c) i++;
  // The value ends at its `\"`; another backslash is an escape inside it.
  if (i + 1 >= to || at(i + 1) !== 0x22) {
    failed = true;
    return;
  }
  if (i === start) return; // empty: null
  copyText(slot, start, i, STRING);
}

/** The number value at `i` of escaped `extra` text ending at `to` (extra_fields.ts). */
function escapedNumber(slot: i32, value: i32, to: i32): void {
  let i = value;
  while (i < to && at(i) === 0x20) i++;
  const start = i;
  let n: i64 = 0;
  while (i < to && at(i) >= 0x30 && at(i) <= 0x39) {
    n = n * 10 + <i64>(at(i) - 0x30);
    i++;
  }
  const c = i < to ? at(i) : 0;
  // Signs, fractions and exponents are read by Number() on the text path.
  if (c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45 || i - start > 18) {
    failed = true;
    return;
  }
  if (i === start) return; // not a number: null
  store<f64>(NUMBERS + (<usize>slot) * 8, <f64>n);
  setSlot(slot, NUMBER, 0, 0);
}

/** The 6-bit value of a base64 character (standard alphabet), or -1. */
@inline function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x47;
  if (c >= 0x30 && c <= 0x39) return c + 4;
  if (c === 0x2b) return 62;
  if (c === 0x2f) return 63;
  return -1;
}

/**
 * Decodes the base64 at input [from, to) in place (the bytes land from `from` on, never ahead of
 * what is still to be read) and returns where they end, or -1. Reads what
 * `Uint8Array.fromBase64` reads the same way (its default, "loose" last chunk: padding optional,
 * spare bits ignored); anything else — whitespace, a misplaced `=`, another alphabet, a lone last
 * character — is left to it (-1), which accepts some of that and rejects the rest.
 */
function base64(from: i32, to: i32): i32 {
  let stop = to;
  if (stop > from && at(stop - 1) === 0x3d) {
    stop--;
    if (stop > from && at(stop - 1) === 0x3d) stop--;
  }
  const rest = (stop - from) & 3;
  if (rest === 1 || (stop !== to && ((to - from) & 3) !== 0)) return -1;
  let out = from;
  let i = from;
  const whole = stop - rest;
  while (i < whole) {
    const a = sextet(at(i));
    const b = sextet(at(i + 1));
    const c = sextet(at(i + 2));
    const d = sextet(at(i + 3));
    if ((a | b | c | d) < 0) return -1;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(INPUT + <usize>out, <u8>(n >>> 16));
    store<u8>(INPUT + <usize>out + 1, <u8>(n >>> 8));
    store<u8>(INPUT + <usize>out + 2, <u8>n);
    out += 3;
    i += 4;
  }
  if (rest > 0) {
    const a = sextet(at(i));
    const b = sextet(at(i + 1));
    const c = rest === 3 ? sextet(at(i + 2)) : 0;
    if ((a | b | c) < 0) return -1;
    const n = (a << 18) | (b << 12) | (c << 6);
    store<u8>(INPUT + <usize>out, <u8>(n >>> 16));
    out++;
    if (rest === 3) {
      store<u8>(INPUT + <usize>out, <u8>(n >>> 8));
      out++;
    }
  }
  return out;
}

// Protobuf (src/protocol/protobuf.ts reads the same): per field number up to MAX_FIELD, where the
// last occurrence of the message indexed last is: wire type (-1: absent), start and end of a
// length-delimited value, and a number's value.
const MAX_FIELD: u64 = 16;
/** Per field 0…16: wire (i32), start (i32), end (i32), padding, value (u64). */
const FIELDS: usize = 17664;
const FIELD_BYTES: usize = 24;
/** Most fields a message may hold, as src/protocol/protobuf.ts's MAX_PROTO_FIELDS. */
const MAX_PROTO_FIELDS: i32 = 10000;

let q: i32 = 0; // protobuf cursor, from INPUT
let varintBytes: i32 = 0; // bytes of the varint read last

/** A varint at q, ending by `to`; sets `failed` when it runs past `to` or beyond 10 bytes. */
function varint(to: i32): u64 {
  let value: u64 = 0;
  for (let k = 0; k < 10; k++) {
    if (q >= to) break;
    const byte = at(q++);
    value |= (<u64>(byte & 0x7f)) << (<u64>(7 * k));
    if ((byte & 0x80) === 0) {
      varintBytes = k + 1;
      return value;
    }
  }
  failed = true;
  return 0;
}

/**
 * Indexes the fields of the message at input [from, to) as src/protocol/protobuf.ts does,
 * checking all of it; false when it would throw there (the caller then leaves the body to it).
 */
function indexMessage(from: i32, to: i32): bool {
  for (let f = 0; f <= <i32>MAX_FIELD; f++) store<i32>(fieldAt(f), -1);
  failed = false;
  q = from;
  let count = 0;
  while (q < to) {
    if (++count > MAX_PROTO_FIELDS) return false;
    const key = varint(to);
    if (failed) return false;
    const field = key >> 3;
    const wire = <i32>(key & 7);
    if (field === 0) return false;
    let start = 0;
    let stop = 0;
    let value: u64 = 0;
    if (wire === 0) {
      value = varint(to);
      if (failed) return false;
    } else if (wire === 1) {
      if (q + 8 > to) return false;
      value = load<u64>(INPUT + <usize>q);
      q += 8;
    } else if (wire === 2) {
      const length = varint(to);
      // Longer than 7 bytes, the length is a BigInt there, which it refuses.
      if (failed || varintBytes > 7 || length > <u64>(to - q)) return false;
      start = q;
      stop = q + <i32>length;
      q = stop;
    } else if (wire === 5) {
      if (q + 4 > to) return false;
      value = <u64>load<u32>(INPUT + <usize>q);
      q += 4;
    } else {
      return false;
    }
    if (field <= MAX_FIELD) {
      const base = fieldAt(<i32>field);
      store<i32>(base, wire);
      store<i32>(base + 4, start);
      store<i32>(base + 8, stop);
      store<u64>(base + 16, value);
    }
  }
  return true;
}

/** Where the record of field `field` (0…MAX_FIELD) of the message indexed last is. */
@inline function fieldAt(field: i32): usize {
  return FIELDS + (<usize>field) * FIELD_BYTES;
}

@inline function wireOf(field: i32): i32 {
  return load<i32>(fieldAt(field));
}

/** Records field `field` of the message indexed last as a number (ProtoMessage.number). */
function pbNumber(slot: i32, field: i32): void {
  const wire = wireOf(field);
  // Absent or length-delimited: 0; varint and fixed64 round to nearest as Number(bigint).
  const value = wire < 0 || wire === 2
    ? 0.0
    : <f64>load<u64>(fieldAt(field) + 16);
  store<f64>(NUMBERS + (<usize>slot) * 8, value);
  setSlot(slot, NUMBER, 0, 0);
}

/**
 * Records field `field` of the message indexed last as text (ProtoMessage.string): absent unless
 * length-delimited. Its decoder drops a leading U+FEFF, ours keeps it: such a string is left to
 * it (false), as is one that is not UTF-8.
 */
function pbString(slot: i32, field: i32): bool {
  if (wireOf(field) !== 2) return true;
  const start = load<i32>(fieldAt(field) + 4);
  const stop = load<i32>(fieldAt(field) + 8);
  if (stop - start >= 3 && at(start) === 0xef && at(start + 1) === 0xbb && at(start + 2) === 0xbf) {
    return false;
  }
  copyText(slot, start, stop, STRING);
  return !failed;
}

/**
 * Reads the decoded `pb` at input [from, to): uid, uname, msg_type, timestamp, privilege and the
 * medal message (src/normalize/interact_word.ts); false to leave it to the text path.
 */
function interaction(from: i32, to: i32): bool {
  if (!indexMessage(from, to)) return false;
  pbNumber(I_UID, 1);
  if (!pbString(I_UNAME, 2)) return false;
  pbNumber(I_MSG_TYPE, 5);
  pbNumber(I_TIMESTAMP, 7);
  pbNumber(I_PRIVILEGE, 16);
  if (wireOf(9) !== 2) return true;
  setSlot(I_MEDAL, OBJECT, 0, 0);
  const start = load<i32>(fieldAt(9) + 4);
  const stop = load<i32>(fieldAt(9) + 8);
  if (!indexMessage(start, stop)) return false;
  pbNumber(I_MEDAL_ANCHOR_UID, 1);
  pbNumber(I_MEDAL_LEVEL, 2);
  if (!pbString(I_MEDAL_NAME, 3)) return false;
  pbNumber(I_MEDAL_GUARD, 9);
  pbNumber(I_MEDAL_ROOM, 12);
  return true;
}
