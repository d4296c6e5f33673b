/**
 * Renders a stats report as one self-contained HTML page (`stats --html FILE`): inline CSS,
 * charts drawn here as inline SVG (no script, no chart library, nothing fetched), so the file
 * opens offline. The numbers are the report's, the same `stats --format json` prints; each shown
 * figure carries its report path and exact value (`data-key`, `data-value`), each chart mark its
 * time and amount (`data-t`, `data-n`, `data-cny`). Every text from the database is escaped.
 */
import type { RoomStats, StatsReport } from "./room_stats.ts";
import { EXPORT_KINDS } from "../export/export_tables.ts";
import { formatDuration } from "./stats_table.ts";

/** What the page says about itself. */
export interface HtmlReportOptions {
  /** When the report was made, unix ms; left out when absent. */
  generatedAtMs?: number;
  /** Name of the database it was read from (a file name, not a path). */
  source?: string;
}

/** Most bars in one chart: minutes are merged into longer bins above this. */
export const MAX_BINS = 180;

/** Bin lengths a chart may use, in minutes (whole days beyond the last). */
const BIN_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
const MIN = 60_000;

/** Chart geometry in SVG user units (the SVG scales to the page width). */
const W = 960;
const H = 220;
const PAD = { left: 56, right: 28, top: 12, bottom: 30 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * `text` safe inside an element or a quoted attribute: `& < > " '` become references, and
 * control characters (which HTML does not show) become a visible `\xNN`.
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c])
    .replace(
      // deno-lint-ignore no-control-regex
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g,
      (c) => `<span class="ctl">\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}</span>`,
    );
}

/** An attribute value (report keys, numbers): quoted and escaped. */
const attr = (value: string | number): string =>
  `"${String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c])}"`;

const int = (n: number) => n.toLocaleString("en-US");
const cny = (n: number) =>
  n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const time = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;

/** A figure shown as `text`, tagged with its report path and exact value. */
function figure(key: string, value: number, text: string): string {
  return `<span class="n" data-key=${attr(key)} data-value=${attr(value)}>${text}</span>`;
}

/** The report as an HTML document (UTF-8, times in UTC). */
export function statsHtml(report: StatsReport, options: HtmlReportOptions = {}): string {
  const rooms = report.rooms;
  const out: string[] = [];
  out.push(
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Danmaku stats: ${rooms.length} room(s)</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    `<body data-rooms=${attr(rooms.length)}>`,
    summary(report, options),
  );
  for (const room of rooms) out.push(roomSection(room, report));
  out.push(footer(report), "</body>", "</html>", "");
  return out.join("\n");
}

function summary(report: StatsReport, options: HtmlReportOptions): string {
  const rooms = report.rooms;
  const sum = (f: (r: RoomStats) => number) => rooms.reduce((s, r) => s + f(r), 0);
  const first = rooms.map((r) => r.firstMs).filter((t) => t !== null);
  const last = rooms.map((r) => r.lastMs).filter((t) => t !== null);
  const range = `${report.sinceMs === null ? "start" : time(report.sinceMs)} → ${
    report.untilMs === null ? "end" : time(report.untilMs)
  }`;
  const span = sum((r) => r.sessions.spanMs);
  const coverage = span === 0 ? 1 : sum((r) => r.sessions.coveredMs) / span;
  const value = round3(sum((r) => r.valueCny.total));
  const tile = (label: string, key: string, n: number, text = int(n)): [string, string] => [
    label,
    figure(key, n, text),
  ];
  const tiles = [
    tile("rooms", "rooms", rooms.length),
    tile("danmaku", "total.danmaku", sum((r) => r.counts.danmaku)),
    tile("gifts", "total.gifts", sum((r) => r.counts.gifts)),
    tile("super chats", "total.super_chats", sum((r) => r.counts.super_chats)),
    tile("guard buys", "total.guard_buys", sum((r) => r.counts.guard_buys)),
    tile("value CNY", "total.valueCny", value, cny(value)),
    tile("coverage", "total.coverage", coverage, percent(coverage)),
    tile("gaps", "total.gaps", sum((r) => r.sessions.gaps.length)),
    tile(
      "suspected throttling",
      "total.throttled",
      rooms.filter((r) => r.throttling.suspected).length,
    ),
  ];
  const lines = [
    '<header class="summary">',
    "<h1>Danmaku statistics</h1>",
    `<p class="meta">${rooms.length} room(s), range ${range}${
      first.length > 0 && last.length > 0
        ? `; rows from ${time(Math.min(...first))} to ${time(Math.max(...last))}`
        : ""
    } (times in UTC)${options.source === undefined ? "" : ` · ${escapeHtml(options.source)}`}${
      options.generatedAtMs === undefined ? "" : ` · made ${time(options.generatedAtMs)}`
    }</p>`,
    '<dl class="tiles">',
    ...tiles.map(([label, value]) => `<div><dt>${label}</dt><dd>${value}</dd></div>`),
    "</dl>",
  ];
  if (rooms.length === 0) {
    lines.push('<p class="empty">no rows match</p>');
  } else {
    lines.push(
      '<table class="overview">',
      "<thead><tr><th>room</th><th>anchor</th><th>title</th><th>danmaku</th><th>peak/min</th>" +
        "<th>value CNY</th><th>coverage</th><th>gaps</th><th>throttling</th></tr></thead>",
      "<tbody>",
      ...rooms.map((r) =>
        `<tr data-room=${attr(r.roomId)}><td><a href="#room-${r.roomId}">${r.roomId}</a></td>` +
        `<td>${escapeHtml(r.anchor ?? "")}</td><td class="title">${
          escapeHtml(r.title ?? "")
        }</td>` +
        `<td class="num">${int(r.counts.danmaku)}</td>` +
        `<td class="num">${int(r.density.peakPerMinute)}</td>` +
        `<td class="num">${cny(r.valueCny.total)}</td>` +
        `<td class="num">${percent(r.sessions.coverage)}</td>` +
        `<td class="num">${r.sessions.gaps.length}</td>` +
        `<td>${r.throttling.suspected ? '<b class="warn">suspected</b>' : "-"}</td></tr>`
      ),
      "</tbody>",
      "</table>",
    );
  }
  lines.push("</header>");
  return lines.join("\n");
}

function roomSection(r: RoomStats, report: StatsReport): string {
  const who = [r.anchor, r.title].filter((x) => x !== null).map((x) => escapeHtml(x));
  const lines = [
    `<section class="room" id="room-${r.roomId}" data-room=${attr(r.roomId)}>`,
    `<h2>room ${r.roomId}${
      who.length > 0 ? ` <span class="who">${who.join(" · ")}</span>` : ""
    }</h2>`,
  ];
  if (r.firstMs !== null && r.lastMs !== null) {
    lines.push(`<p class="meta">rows from ${time(r.firstMs)} to ${time(r.lastMs)}</p>`);
  }
  lines.push('<dl class="facts">', ...facts(r, report), "</dl>");
  lines.push(densityChart(r), valueChart(r));
  lines.push('<div class="lists">');
  lines.push(
    rankTable(
      "top senders",
      ["count", "name", "uid"],
      r.topSenders.map((s, i) => [
        figure(`topSenders.${i}.count`, s.count, int(s.count)),
        escapeHtml(s.uname),
        figure(`topSenders.${i}.uid`, s.uid, String(s.uid)),
      ]),
    ),
  );
  if (r.topMaskedSenders.length > 0) {
    lines.push(
      rankTable(
        "top masked senders (uid 0, told apart by user hash)",
        ["count", "name", "hash"],
        r.topMaskedSenders.map((s, i) => [
          figure(`topMaskedSenders.${i}.count`, s.count, int(s.count)),
          escapeHtml(s.uname),
          `<code>${escapeHtml(s.userHash)}</code>`,
        ]),
      ),
    );
  }
  lines.push(
    rankTable(
      "top phrases",
      ["count", "phrase"],
      r.topPhrases.map((p, i) => [
        figure(`topPhrases.${i}.count`, p.count, int(p.count)),
        `<span class="phrase">${escapeHtml(p.phrase)}</span>`,
      ]),
    ),
  );
  lines.push("</div>", "</section>");
  return lines.join("\n");
}

function facts(r: RoomStats, report: StatsReport): string[] {
  const row = (label: string, html: string) => `<div><dt>${label}</dt><dd>${html}</dd></div>`;
  const kinds = EXPORT_KINDS.filter((k) => r.counts[k] > 0);
  const out = [
    row(
      "counts",
      kinds.length === 0
        ? "no rows"
        : kinds.map((k) => `${k} ${figure(`counts.${k}`, r.counts[k], int(r.counts[k]))}`)
          .join(", "),
    ),
  ];
  if (r.lotteryDanmaku > 0) {
    out.push(
      row(
        "lottery",
        `${figure("lotteryDanmaku", r.lotteryDanmaku, int(r.lotteryDanmaku))} lottery danmaku, ${
          report.includeLottery
            ? "kept (--include-lottery)"
            : "left out (--include-lottery keeps them)"
        }`,
      ),
    );
  }
  const d = r.density;
  out.push(
    row(
      "density",
      `mean ${
        figure("density.meanPerMinute", d.meanPerMinute, d.meanPerMinute.toFixed(2))
      }/min over ${figure("density.minutes", d.minutes, int(d.minutes))} min, peak ${
        figure("density.peakPerMinute", d.peakPerMinute, int(d.peakPerMinute))
      }/min${d.peakMinuteMs === null ? "" : ` at ${time(d.peakMinuteMs)}`}, ${
        figure("density.activeMinutes", d.activeMinutes, int(d.activeMinutes))
      } active min, ${
        figure("maskedDanmaku", r.maskedDanmaku, int(r.maskedDanmaku))
      } from masked senders (uid 0)`,
    ),
  );
  const v = r.valueCny;
  let value = `gifts ${figure("valueCny.gifts", v.gifts, cny(v.gifts))}, super chats ${
    figure("valueCny.superChats", v.superChats, cny(v.superChats))
  }, guards ${figure("valueCny.guardBuys", v.guardBuys, cny(v.guardBuys))}, total ${
    figure("valueCny.total", v.total, cny(v.total))
  }`;
  const del = r.deletedSuperChats;
  if (del.count > 0) {
    value += `<br>left out: ${figure("deletedSuperChats.count", del.count, int(del.count))} ` +
      `deleted super chat${del.count === 1 ? "" : "s"} (${
        figure("deletedSuperChats.valueCny", del.valueCny, cny(del.valueCny))
      })`;
  }
  out.push(row("value CNY", value));
  const s = r.sessions;
  let sessions = `${figure("sessions.count", s.count, int(s.count))} (${
    figure("sessions.unterminated", s.unterminated, int(s.unterminated))
  } without end), covered ${
    figure("sessions.coveredMs", s.coveredMs, formatDuration(s.coveredMs))
  } of ${figure("sessions.spanMs", s.spanMs, formatDuration(s.spanMs))} (${
    figure("sessions.coverage", s.coverage, percent(s.coverage))
  }), ${s.gaps.length} gap(s) ≥ ${formatDuration(report.minGapMs)}`;
  for (const [i, g] of s.gaps.entries()) {
    sessions += `<br><span class="gapnote">gap ${time(g.fromMs)} → ${time(g.toMs)} (${
      figure(`sessions.gaps.${i}.durationMs`, g.durationMs, formatDuration(g.durationMs))
    })</span>`;
  }
  out.push(row("sessions", sessions));
  const t = r.throttling;
  let throttling = `${t.suspected ? '<b class="warn">SUSPECTED</b>' : "not suspected"}: median ${
    figure("throttling.medianPerWindow", t.medianPerWindow, int(t.medianPerWindow))
  } danmaku per ${formatDuration(report.throttleRule.windowMs)} over ${
    figure("throttling.windows", t.windows, int(t.windows))
  } connected window(s)`;
  for (const [i, f] of t.flagged.entries()) {
    throttling += `<br><span class="lownote">low rate ${time(f.fromMs)} → ${time(f.toMs)}: ${
      figure(`throttling.flagged.${i}.count`, f.count, int(f.count))
    } danmaku, ${
      figure(`throttling.flagged.${i}.expected`, f.expected, int(f.expected))
    } expected</span>`;
  }
  out.push(row("throttling", throttling));
  return out;
}

function rankTable(caption: string, heads: string[], rows: string[][]): string {
  const body = rows.length === 0
    ? `<tr><td colspan="${heads.length + 1}" class="empty">-</td></tr>`
    : rows.map((cells, i) =>
      `<tr><td class="num">${i + 1}.</td>${
        cells.map((c, j) => `<td${j === 0 ? ' class="num"' : ""}>${c}</td>`).join("")
      }</tr>`
    ).join("\n");
  return `<table class="rank"><caption>${caption}</caption>\n<thead><tr><th></th>${
    heads.map((h) => `<th>${h}</th>`).join("")
  }</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** Time axis of a room's charts: whole bins covering every series and band. */
export interface TimeAxis {
  fromMs: number;
  toMs: number;
  binMs: number;
}

/** The axis of a room, or null when it has nothing to draw. */
export function timeAxis(r: RoomStats): TimeAxis | null {
  // Series are ascending; a loop, not Math.min(...), for a year of minutes.
  const spans: [number, number][] = [];
  for (const series of [r.density.perMinute, r.valuePerMinute]) {
    if (series.length > 0) spans.push([series[0][0], series[series.length - 1][0] + MIN]);
  }
  if (spans.length === 0) return null;
  for (const g of r.sessions.gaps) spans.push([g.fromMs, g.toMs]);
  for (const f of r.throttling.flagged) spans.push([f.fromMs, f.toMs]);
  let lo = Infinity;
  let hi = -Infinity;
  for (const [from, to] of spans) {
    lo = Math.min(lo, from);
    hi = Math.max(hi, to);
  }
  const minutes = Math.max(1, Math.ceil((hi - lo) / MIN));
  const binMin = BIN_MINUTES.find((b) => minutes / b <= MAX_BINS - 1) ??
    Math.ceil(minutes / (MAX_BINS - 1) / 1440) * 1440;
  const binMs = binMin * MIN;
  const fromMs = Math.floor(lo / binMs) * binMs;
  const toMs = Math.max(fromMs + binMs, Math.ceil(hi / binMs) * binMs);
  return { fromMs, toMs, binMs };
}

/** Sums `[t, …values]` into the axis' bins: bin start → summed values. */
function binned(
  axis: TimeAxis,
  series: readonly (readonly number[])[],
  width: number,
): Map<number, number[]> {
  const bins = new Map<number, number[]>();
  for (const [t, ...values] of series) {
    const start = axis.fromMs + Math.floor((t - axis.fromMs) / axis.binMs) * axis.binMs;
    const sums = bins.get(start) ?? new Array<number>(width).fill(0);
    values.forEach((v, i) => sums[i] += v);
    bins.set(start, sums);
  }
  return bins;
}

/**
 * Top of a y axis with 4 grid steps: 4 × a round step (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k)
 * at least `max`; with `integer`, whole steps only (counts).
 */
export function axisTop(max: number, integer: boolean): number {
  const raw = Math.max(max, integer ? 4 : 0) / 4;
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    const step = m * power;
    if (step >= raw && (!integer || Number.isInteger(step))) return 4 * step;
  }
  return 40 * power;
}

const x = (axis: TimeAxis, t: number) =>
  round2(PAD.left + (t - axis.fromMs) / (axis.toMs - axis.fromMs) * PLOT_W);
const y = (top: number, v: number) => round2(PAD.top + PLOT_H - v / top * PLOT_H);
const round2 = (n: number) => Math.round(n * 100) / 100;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Axes, grid and labels of a chart. */
function frame(axis: TimeAxis, top: number, format: (v: number) => string): string {
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = top * i / 4;
    const yy = y(top, v);
    out.push(
      `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}"/>`,
      `<text class="ylabel" x="${PAD.left - 6}" y="${yy + 4}">${format(v)}</text>`,
    );
  }
  const span = axis.toMs - axis.fromMs;
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080]
    .map((m) => m * MIN);
  const step = steps.find((s) => span / s <= 8) ?? Math.ceil(span / 8 / 86_400_000) * 86_400_000;
  let lastDay = "";
  for (let t = Math.ceil(axis.fromMs / step) * step; t <= axis.toMs; t += step) {
    const iso = new Date(t).toISOString();
    const day = iso.slice(5, 10);
    const label = day === lastDay ? iso.slice(11, 16) : `${day} ${iso.slice(11, 16)}`;
    lastDay = day;
    const xx = x(axis, t);
    out.push(
      `<line class="tick" x1="${xx}" x2="${xx}" y1="${PAD.top + PLOT_H}" y2="${
        PAD.top + PLOT_H + 4
      }"/>`,
      `<text class="xlabel" x="${xx}" y="${H - 8}">${label}</text>`,
    );
  }
  out.push(
    `<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + PLOT_H}" y2="${
      PAD.top + PLOT_H
    }"/>`,
  );
  return out.join("");
}

/** Shaded bands: collection gaps and, when asked, suspected throttling. */
function bands(axis: TimeAxis, r: RoomStats, throttling: boolean): string {
  const band = (cls: string, from: number, to: number, label: string) => {
    const a = x(axis, Math.max(from, axis.fromMs));
    const b = x(axis, Math.min(to, axis.toMs));
    return `<rect class="band ${cls}" x="${a}" y="${PAD.top}" width="${
      round2(Math.max(b - a, 1))
    }" height="${PLOT_H}" data-from="${from}" data-to="${to}"><title>${label}</title></rect>`;
  };
  const out = r.sessions.gaps.map((g) =>
    band("gap", g.fromMs, g.toMs, `collection gap ${time(g.fromMs)} → ${time(g.toMs)}`)
  );
  if (throttling) {
    for (const f of r.throttling.flagged) {
      out.push(
        band(
          "throttle",
          f.fromMs,
          f.toMs,
          `suspected throttling ${time(f.fromMs)} → ${
            time(f.toMs)
          }: ${f.count} danmaku, ${f.expected} expected`,
        ),
      );
    }
  }
  return out.join("");
}

/** A bin's length in words: `minute`, `5 min`, `2 h`, `1 day`. */
function binLabel(axis: TimeAxis): string {
  const minutes = axis.binMs / MIN;
  if (minutes === 1) return "minute";
  if (minutes % 1440 === 0) return minutes === 1440 ? "day" : `${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "hour" : `${minutes / 60} h`;
  return `${minutes} min`;
}

/** Danmaku per bin, with gap and throttling bands. */
function densityChart(r: RoomStats): string {
  const axis = timeAxis(r);
  if (axis === null || r.density.perMinute.length === 0) {
    return '<p class="empty">no danmaku to chart</p>';
  }
  const bins = binned(axis, r.density.perMinute, 1);
  const top = axisTop(Math.max(...[...bins.values()].map(([n]) => n)), true);
  const barW = axis.binMs / (axis.toMs - axis.fromMs) * PLOT_W;
  const bars = [...bins].map(([t, [n]]) => {
    const yy = y(top, n);
    return `<rect class="mark bar" x="${round2(x(axis, t) + barW * 0.1)}" y="${yy}" width="${
      round2(Math.max(barW * 0.8, 0.5))
    }" height="${round2(PAD.top + PLOT_H - yy)}" data-t="${t}" data-n="${n}"><title>${
      time(t)
    }: ${n} danmaku</title></rect>`;
  });
  return `<figure class="chart density">
<figcaption>danmaku per ${binLabel(axis)} <span class="legend"><i class="sw bar"></i>danmaku` +
    ` <i class="sw gap"></i>collection gap <i class="sw throttle"></i>suspected throttling</span></figcaption>
<svg class="chart" data-chart="density" viewBox="0 0 ${W} ${H}" role="img" aria-label="danmaku per ${
      binLabel(axis)
    }, room ${r.roomId}">${bands(axis, r, true)}${frame(axis, top, (v) => int(v))}${
      bars.join("")
    }</svg>
</figure>`;
}

/** Gift, super chat and guard value per bin, stacked, with gap bands. */
function valueChart(r: RoomStats): string {
  const axis = timeAxis(r);
  if (axis === null || r.valuePerMinute.length === 0) {
    return '<p class="empty">no gift, super chat or guard value to chart</p>';
  }
  const bins = binned(axis, r.valuePerMinute, 3);
  const top = axisTop(Math.max(...[...bins.values()].map((v) => v[0] + v[1] + v[2])), false);
  const barW = axis.binMs / (axis.toMs - axis.fromMs) * PLOT_W;
  const kinds = ["gifts", "superChats", "guardBuys"] as const;
  const bars: string[] = [];
  for (const [t, values] of bins) {
    let base = 0;
    values.forEach((v, i) => {
      if (v <= 0) return;
      const y0 = y(top, base);
      const y1 = y(top, base + v);
      base += v;
      bars.push(
        `<rect class="mark bar ${kinds[i]}" x="${
          round2(x(axis, t) + barW * 0.1)
        }" y="${y1}" width="${round2(Math.max(barW * 0.8, 0.5))}" height="${
          round2(Math.max(y0 - y1, 0.5))
        }" data-t="${t}" data-kind="${kinds[i]}" data-cny="${round3(v)}"><title>${time(t)}: ${
          kinds[i]
        } ${cny(v)} CNY</title></rect>`,
      );
    });
  }
  return `<figure class="chart value">
<figcaption>value in CNY per ${binLabel(axis)} <span class="legend"><i class="sw gifts"></i>gifts` +
    ` <i class="sw superChats"></i>super chats <i class="sw guardBuys"></i>guards` +
    ` <i class="sw gap"></i>collection gap</span></figcaption>
<svg class="chart" data-chart="value" viewBox="0 0 ${W} ${H}" role="img" aria-label="value in CNY per ${
      binLabel(axis)
    }, room ${r.roomId}">${bands(axis, r, false)}${
      frame(axis, top, (v) => cny(v).replace(/\.00$/, ""))
    }${bars.join("")}</svg>
</figure>`;
}

function footer(report: StatsReport): string {
  const rule = report.throttleRule;
  return `<footer>Suspected throttling: a ${formatDuration(rule.windowMs)} window covered ≥ ${
    rule.minCoverage * 100
  } % by sessions, with fewer than ${
    rule.ratio * 100
  } % of the room's median (when the median is ≥ ${rule.minMedian}). Lottery danmaku ${
    report.includeLottery ? "are kept" : "are left out of density, senders and phrases"
  }; deleted super chats are no revenue. Rules: docs/export.md.</footer>`;
}

const CSS = `
:root { color-scheme: light; --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb;
  --bar: #3b82f6; --gap: #6b7280; --throttle: #ef4444;
  --gifts: #ec4899; --superChats: #f59e0b; --guardBuys: #6366f1; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 16px 20px 40px; color: var(--fg);
  font: 14px/1.45 system-ui, "Segoe UI", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 2px; }
h2 .who { font-weight: normal; color: var(--muted); }
.meta { color: var(--muted); margin: 0 0 10px; }
.tiles { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.tiles div { flex: 1 1 auto; border: 1px solid var(--line); border-radius: 6px;
  padding: 6px 10px; }
.tiles dt { color: var(--muted); font-size: 12px; white-space: nowrap; }
.tiles dd { margin: 0; font-size: 17px; font-weight: 600; white-space: nowrap; }
table { border-collapse: collapse; }
th, td { padding: 2px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.overview { width: 100%; margin-bottom: 8px; }
.overview td.title { max-width: 320px; overflow-wrap: anywhere; }
.room { border-top: 2px solid var(--line); margin-top: 20px; padding-top: 12px; }
.facts { display: grid; grid-template-columns: 110px 1fr; gap: 2px 10px; margin: 0 0 8px; }
.facts div { display: contents; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.warn { color: var(--throttle); }
.chart { margin: 8px 0; }
figcaption { font-size: 12px; color: var(--muted); }
.legend { margin-left: 12px; }
.sw { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px;
  vertical-align: -1px; }
.sw.bar { background: var(--bar); }
.sw.gap { background: var(--gap); opacity: .3; }
.sw.throttle { background: var(--throttle); opacity: .25; }
.sw.gifts { background: var(--gifts); }
.sw.superChats { background: var(--superChats); }
.sw.guardBuys { background: var(--guardBuys); }
svg.chart { display: block; width: 100%; height: auto; }
svg .bar { fill: var(--bar); }
svg .bar.gifts { fill: var(--gifts); }
svg .bar.superChats { fill: var(--superChats); }
svg .bar.guardBuys { fill: var(--guardBuys); }
svg .band.gap { fill: var(--gap); opacity: .25; }
svg .band.throttle { fill: var(--throttle); opacity: .2; }
svg .grid { stroke: var(--line); }
svg .axis, svg .tick { stroke: var(--muted); }
svg text { fill: var(--muted); font-size: 11px; }
svg .ylabel { text-anchor: end; }
svg .xlabel { text-anchor: middle; }
.lists { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 12px 28px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
.phrase { white-space: pre-wrap; overflow-wrap: anywhere; }
.ctl { color: var(--muted); font-family: monospace; }
.empty { color: var(--muted); }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
`;
