/**
 * Renders a stats report as plain text for people (`stats --format table`). Every line fits
 * {@linkcode TABLE_WIDTH} terminal columns: lists wrap between items, and names, titles and
 * phrases too long for their line are cut with "…". The JSON report has everything.
 */
import type { RoomStats, StatsReport } from "./room_stats.ts";
import { EXPORT_KINDS } from "../export/export_tables.ts";
import { displayWidth } from "../util/flags.ts";

/** Widest line of the table, in terminal columns. */
export const TABLE_WIDTH = 80;
/** Where a field's value starts: two spaces and a 13-column label. */
const VALUE_COLUMN = 15;

const int = (n: number) => n.toLocaleString("en-US");
const time = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/** A duration such as `1h 2m 3s`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts: string[] = [];
  if (s >= 86_400) parts.push(`${Math.floor(s / 86_400)}d`);
  if (s >= 3600) parts.push(`${Math.floor(s % 86_400 / 3600)}h`);
  if (s >= 60) parts.push(`${Math.floor(s % 3600 / 60)}m`);
  parts.push(`${s % 60}s`);
  return parts.join(" ");
}

/** `text` cut to at most `width` columns, ending in "…" when cut. */
export function clip(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const char of text) {
    const w = displayWidth(char);
    if (used + w > width - 1) break;
    out += char;
    used += w;
  }
  return `${out}…`;
}

/**
 * `items` joined by `separator` after `head`, wrapped between items to lines starting with
 * `indent` (the separator's trailing space is dropped at a line end); an item wider than a
 * line is cut.
 */
export function wrapItems(
  head: string,
  items: readonly string[],
  separator: string,
  indent: string,
): string[] {
  const lines: string[] = [];
  let line = head;
  let empty = true;
  for (const item of items) {
    const joined = empty ? line + item : line + separator + item;
    if (!empty && displayWidth(joined) > TABLE_WIDTH) {
      lines.push(line + separator.trimEnd());
      line = indent + item;
    } else {
      line = joined;
    }
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => clip(l, TABLE_WIDTH));
}

/** A labelled field: `  label        items…`, continued under the value column. */
function field(label: string, items: readonly string[], separator = "  "): string[] {
  return wrapItems(
    `  ${label.padEnd(VALUE_COLUMN - 2)}`,
    items,
    separator,
    " ".repeat(VALUE_COLUMN),
  );
}

/** The report as lines of text (times in UTC), none wider than {@linkcode TABLE_WIDTH}. */
export function statsTable(report: StatsReport): string[] {
  const lines: string[] = [];
  const range = `${report.sinceMs === null ? "start" : time(report.sinceMs)} → ${
    report.untilMs === null ? "end" : time(report.untilMs)
  }`;
  lines.push(`${report.rooms.length} room(s), ${range} (times in UTC)`);
  if (report.rooms.length === 0) lines.push("no rows match");
  for (const room of report.rooms) lines.push("", ...roomLines(room, report));
  return lines;
}

/** A ranked line `    NN. COUNT  name suffix`, the name cut by `fit` so the line fits. */
function ranked(
  i: number,
  count: number,
  name: string,
  suffix = "",
  fit: (text: string, width: number) => string = clip,
): string {
  const head = `    ${String(i + 1).padStart(2)}. ${int(count).padStart(7)}  `;
  return head + fit(name, TABLE_WIDTH - displayWidth(head) - displayWidth(suffix)) + suffix;
}

/** A phrase in quotes (JSON escapes), cut inside the quotes when too long. */
function quoted(phrase: string, width: number): string {
  const text = JSON.stringify(phrase);
  return displayWidth(text) <= width ? text : `${clip(text.slice(0, -1), width - 1)}"`;
}

function roomLines(r: RoomStats, report: StatsReport): string[] {
  const lines: string[] = [];
  const who = [r.anchor, r.title].filter((x) => x !== null).join(" · ");
  lines.push(clip(`room ${r.roomId}${who ? `  ${who}` : ""}`, TABLE_WIDTH));
  if (r.firstMs !== null && r.lastMs !== null) {
    lines.push(...field("rows from", [`${time(r.firstMs)} to ${time(r.lastMs)}`]));
  }
  const kinds = EXPORT_KINDS.filter((k) => r.counts[k] > 0);
  lines.push(
    ...field(
      "counts",
      kinds.length === 0 ? ["no rows"] : kinds.map((k) => `${k} ${int(r.counts[k])}`),
    ),
  );
  if (r.lotteryDanmaku > 0) {
    lines.push(
      ...field("lottery", [
        `${int(r.lotteryDanmaku)} lottery danmaku,`,
        report.includeLottery
          ? "kept (--include-lottery)"
          : "left out (--include-lottery keeps them)",
      ], " "),
    );
  }
  const d = r.density;
  lines.push(
    ...field("density", [
      `mean ${d.meanPerMinute.toFixed(2)}/min over ${int(d.minutes)} min`,
      `peak ${int(d.peakPerMinute)}/min${
        d.peakMinuteMs === null ? "" : ` at ${time(d.peakMinuteMs)}`
      }`,
      `${int(d.activeMinutes)} active min`,
      `${int(r.maskedDanmaku)} from masked senders (uid 0)`,
    ], ", "),
  );
  const v = r.valueCny;
  const del = r.deletedSuperChats;
  lines.push(
    ...field("value CNY", [
      `gifts ${v.gifts.toFixed(2)}`,
      `super chats ${v.superChats.toFixed(2)}`,
      `guards ${v.guardBuys.toFixed(2)}`,
      `total ${v.total.toFixed(2)}`,
    ]),
  );
  if (del.count > 0) {
    lines.push(
      ...field("", [
        `left out: ${int(del.count)} deleted super chat${del.count === 1 ? "" : "s"}`,
        `(${del.valueCny.toFixed(2)})`,
      ], " "),
    );
  }
  lines.push(`  top senders${r.topSenders.length === 0 ? "  -" : ""}`);
  r.topSenders.forEach((s, i) => lines.push(ranked(i, s.count, s.uname, ` (uid ${s.uid})`)));
  if (r.topMaskedSenders.length > 0) {
    lines.push("  top masked senders (uid 0, told apart by user hash)");
    r.topMaskedSenders.forEach((s, i) =>
      lines.push(ranked(i, s.count, s.uname, ` (hash ${s.userHash})`))
    );
  }
  lines.push(`  top phrases${r.topPhrases.length === 0 ? "  -" : ""}`);
  r.topPhrases.forEach((p, i) => lines.push(ranked(i, p.count, p.phrase, "", quoted)));
  const s = r.sessions;
  lines.push(
    ...field("sessions", [
      `${int(s.count)} (${s.unterminated} without end)`,
      `covered ${formatDuration(s.coveredMs)} of ${formatDuration(s.spanMs)} (${
        (s.coverage * 100).toFixed(1)
      } %)`,
      `${s.gaps.length} gap(s) ≥ ${formatDuration(report.minGapMs)}`,
    ], ", "),
  );
  for (const g of s.gaps) {
    lines.push(`    gap ${time(g.fromMs)} → ${time(g.toMs)} (${formatDuration(g.durationMs)})`);
  }
  const t = r.throttling;
  lines.push(
    ...field("throttling", [
      `${t.suspected ? "SUSPECTED" : "not suspected"}:`,
      `median ${t.medianPerWindow} danmaku per ${formatDuration(report.throttleRule.windowMs)}`,
      `over ${t.windows} connected window(s)`,
    ], " "),
  );
  for (const f of t.flagged) {
    lines.push(
      ...wrapItems(
        "    ",
        [
          `low rate ${time(f.fromMs)} → ${time(f.toMs)}:`,
          `${int(f.count)} danmaku, ${int(f.expected)} expected`,
        ],
        " ",
        "      ",
      ),
    );
  }
  return lines;
}
