/**
 * 录播姬 (BililiveRecorder) danmaku XML, as its BasicDanmakuWriter writes it: a Bilibili video
 * danmaku file (`<i>`, `<d p="…">`) plus `<gift>`, `<sc>` and `<guard>`, and the
 * `<BililiveRecorder>` marker that makes DanmakuFactory read super-chat prices as yuan (it
 * looks for it in the first 1024 bytes). Times (`p[0]`, `ts`) are seconds since the range start.
 */
import { escapeXml } from "./xml_escape.ts";

/** `version` written in the `<BililiveRecorder>` marker. */
export const RECORDER_MARKER_VERSION = "danmaku-collector-export";

/** What `<BililiveRecorderRecordInfo>` says about the room and range. */
export interface RecordInfo {
  roomId: number;
  shortId: number | null;
  /** Anchor name. */
  name: string | null;
  title: string | null;
  parentAreaName: string | null;
  areaName: string | null;
  /** Range start (second 0 of every `p` and `ts`), unix ms. */
  startMs: number;
}

/** XML declaration, `<i>`, the fixed video-danmaku header, the marker and the record info. */
export function recorderXmlHeader(info: RecordInfo): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<i>
  <chatserver>chat.bilibili.com</chatserver>
  <chatid>0</chatid>
  <mission>0</mission>
  <maxlimit>1000</maxlimit>
  <state>0</state>
  <real_name>0</real_name>
  <source>0</source>
  <BililiveRecorder version="${RECORDER_MARKER_VERSION}" />
  <BililiveRecorderRecordInfo roomid="${info.roomId}" shortid="${info.shortId ?? 0}" name="${
    escapeXml(info.name ?? "")
  }" title="${escapeXml(info.title ?? "")}" areanameparent="${
    escapeXml(info.parentAreaName ?? "")
  }" areanamechild="${escapeXml(info.areaName ?? "")}" start_time="${
    new Date(info.startMs).toISOString()
  }" />
`;
}

/** Closes the document. */
export const RECORDER_XML_FOOTER = "</i>\n";

/** Seconds since `startMs`, 3 decimals, never negative. */
export function relativeSeconds(timeMs: number, startMs: number): string {
  return (Math.max(0, timeMs - startMs) / 1000).toFixed(3);
}

/** A danmaku as `<d>`. */
export interface XmlDanmaku {
  timeMs: number;
  mode: number | null;
  fontSize: number | null;
  color: number | null;
  /** Sender (already hashed under `--hash-uids`). */
  uid: string;
  uname: string;
  text: string;
}

/** `<d p="seconds,mode,size,color,ts_ms,0,uid,0" user="…">text</d>` */
export function danmakuElement(d: XmlDanmaku, startMs: number): string {
  return `  <d p="${relativeSeconds(d.timeMs, startMs)},${d.mode ?? 1},${d.fontSize ?? 25},${
    d.color ?? 16777215
  },${d.timeMs},0,${escapeXml(d.uid)},0" user="${escapeXml(d.uname)}">${escapeXml(d.text)}</d>\n`;
}

/** A gift as `<gift>`. */
export interface XmlGift {
  timeMs: number;
  uid: string;
  uname: string;
  giftName: string;
  count: number;
}

/** `<gift ts="…" user="…" uid="…" giftname="…" giftcount="…" />` */
export function giftElement(g: XmlGift, startMs: number): string {
  return `  <gift ts="${relativeSeconds(g.timeMs, startMs)}" user="${escapeXml(g.uname)}" uid="${
    escapeXml(g.uid)
  }" giftname="${escapeXml(g.giftName)}" giftcount="${g.count}" />\n`;
}

/** A super chat as `<sc>`. */
export interface XmlSuperChat {
  timeMs: number;
  uid: string;
  uname: string;
  /** Yuan. */
  price: number;
  /** Seconds pinned. */
  durationS: number | null;
  message: string;
}

/** `<sc ts="…" user="…" uid="…" price="yuan" time="seconds">message</sc>` */
export function superChatElement(s: XmlSuperChat, startMs: number): string {
  return `  <sc ts="${relativeSeconds(s.timeMs, startMs)}" user="${escapeXml(s.uname)}" uid="${
    escapeXml(s.uid)
  }" price="${s.price}" time="${s.durationS ?? 0}">${escapeXml(s.message)}</sc>\n`;
}

/** A guard purchase as `<guard>`. */
export interface XmlGuard {
  timeMs: number;
  uid: string;
  uname: string;
  level: number;
  count: number;
}

/** `<guard ts="…" user="…" uid="…" level="1-3" count="…" />` */
export function guardElement(g: XmlGuard, startMs: number): string {
  return `  <guard ts="${relativeSeconds(g.timeMs, startMs)}" user="${escapeXml(g.uname)}" uid="${
    escapeXml(g.uid)
  }" level="${g.level}" count="${g.count}" />\n`;
}
