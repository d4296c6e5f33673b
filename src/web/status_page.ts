/**
 * The live status page served at `/` by `collect --http`: one self-contained HTML document
 * (inline CSS and script, nothing fetched but the same-origin `/api/status`). It polls that
 * document every 2 s and redraws the totals, a hand-drawn SVG chart of msg/s and a sortable
 * table of rooms without reloading. Every value from the server reaches the DOM through
 * `textContent` or a numeric attribute, never as markup: room titles come from Bilibili.
 *
 * Hooks for tests: `<body data-updates="N">` counts the status documents applied,
 * `data-failures` the failed polls in a row, and each room row carries `data-room="ID"`.
 */

const STYLE = `
:root { --fg: #1d2530; --muted: #637080; --line: #d8dee6; --bg: #f6f8fa; --card: #fff;
  --bad: #b42318; --bad-bg: #fde8e6; --warn: #8a5a00; --warn-bg: #fff4d6; --ok: #17663a;
  --accent: #1f6feb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline;
  padding: 10px 16px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 17px; margin: 0; }
h2 { font-size: 14px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
#updated { color: var(--muted); font-size: 13px; }
#safety { font-weight: 600; font-size: 13px; }
#safety.ok { color: var(--ok); }
#safety.bad { color: var(--bad); }
main { padding: 12px 16px; display: grid; gap: 12px; max-width: 1400px; }
#banner { display: none; padding: 8px 12px; border-radius: 6px; background: var(--bad-bg);
  color: var(--bad); border: 1px solid var(--bad); font-weight: 600; }
#banner.shown { display: block; }
#totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(110px, 1fr)); gap: 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 5px 9px; min-width: 0; }
.card .label { color: var(--muted); font-size: 12px; white-space: nowrap; }
.card .value { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card .sub { color: var(--muted); font-size: 11.5px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.card.bad { background: var(--bad-bg); border-color: var(--bad); }
.card.bad .value, .card.bad .label { color: var(--bad); }
section.panel { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 10px; min-width: 0; }
#chart svg { display: block; width: 100%; height: 160px; }
#chart .axis { stroke: #8c959f; stroke-width: 1; }
#chart .grid { stroke: #eaeef2; stroke-width: 1; }
#chart .tick { fill: var(--muted); font-size: 11px; }
#chart .area { fill: rgba(31, 111, 235, 0.12); stroke: none; }
#chart .line { fill: none; stroke: var(--accent); stroke-width: 1.8; }
#chart .dot { fill: var(--accent); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
td.num, th.num { text-align: right; }
td.title { white-space: normal; min-width: 140px; max-width: 360px; overflow-wrap: anywhere; }
th { position: sticky; top: 0; background: var(--card); font-size: 12px; color: var(--muted); }
th button { all: unset; cursor: pointer; }
th button:hover, th button:focus-visible { color: var(--accent); text-decoration: underline; }
th[aria-sort] button { color: var(--fg); }
tr.quiet td { background: var(--warn-bg); }
tr.failed td { background: var(--bad-bg); }
tr.down td { color: var(--muted); }
.badge { display: inline-block; padding: 0 6px; margin-left: 4px; border-radius: 9px;
  font-size: 11px; font-weight: 600; background: var(--warn); color: #fff; }
.anchor { color: var(--muted); font-size: 12px; margin-left: 6px; }
#empty { color: var(--muted); }
@media (max-width: 560px) {
  main { padding: 8px; }
  .card .value { font-size: 18px; }
  th, td { padding: 3px 5px; }
  .wide { display: none; }
}
`;

/**
 * The page script. Plain ES2020 in a string: no template literals inside, so it can sit in this
 * TypeScript template unchanged.
 */
const SCRIPT = `
"use strict";
(function () {
  var POLL_MS = 2000;
  var MAX_ROOMS = 5000;
  var MAX_POINTS = 5000;
  var STATE_RANK = { live: 0, connecting: 1, resolving: 2, waiting: 3, backoff: 4, failed: 5,
    stopped: 6 };
  var body = document.body;
  var updates = 0;
  var failures = 0;
  var lastDoc = null;
  var lastOkAt = null;
  var sort = { key: "msgPerS", dir: -1 };

  function $(id) { return document.getElementById(id); }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function str(v, max) { return typeof v === "string" ? v.slice(0, max || 200) : null; }
  function int(v) {
    var n = num(v);
    return n === null ? "\\u2013" : Math.round(n).toLocaleString("en-US");
  }
  /** Card numbers: exact up to 10 million, then "12.3 M" (the exact value is the tooltip). */
  function big(v) {
    var n = num(v);
    return n !== null && n >= 1e7 ? (n / 1e6).toFixed(1) + " M" : int(v);
  }
  function rate(v) {
    var n = num(v);
    if (n === null) return "\\u2013";
    return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
  }
  function age(v) {
    var s = num(v);
    if (s === null) return "\\u2013";
    if (s < 60) return Math.floor(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  }
  function bytes(v) {
    var n = num(v);
    if (n === null) return "";
    if (n < 1024) return Math.round(n) + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }
  function clock(ms) {
    var d = new Date(ms);
    function two(x) { return (x < 10 ? "0" : "") + x; }
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  /* ---- narrowing: unknown fields are ignored, wrong types become null ---- */
  function readRoom(r) {
    if (!r || typeof r !== "object") return null;
    var id = num(r.roomId);
    if (id === null) return null;
    return {
      roomId: id,
      state: str(r.state, 40) || "unknown",
      transport: str(r.transport, 20),
      messages: num(r.messages),
      msgPerS: num(r.msgPerS),
      lastMessageAgeS: num(r.lastMessageAgeS),
      reconnects: num(r.reconnects),
      quiet: r.quiet === true,
      title: str(r.title, 300),
      anchor: str(r.anchor, 100),
    };
  }
  function readDoc(d) {
    if (!d || typeof d !== "object" || !d.totals || typeof d.totals !== "object") {
      throw new Error("unexpected response (no totals)");
    }
    var t = d.totals;
    var totals = {};
    ["messages", "msgPerS", "written", "dropped", "writeErrors", "queue", "queueBytes", "rooms",
      "live", "failed"].forEach(function (k) { totals[k] = num(t[k]); });
    var history = [];
    if (Array.isArray(d.history)) {
      d.history.slice(-MAX_POINTS).forEach(function (p) {
        if (Array.isArray(p) && num(p[0]) !== null && num(p[1]) !== null) {
          history.push([p[0], p[1]]);
        }
      });
    }
    var rooms = [];
    if (Array.isArray(d.rooms)) {
      d.rooms.slice(0, MAX_ROOMS).forEach(function (r) {
        var room = readRoom(r);
        if (room) rooms.push(room);
      });
    }
    return { nowMs: num(d.nowMs), startedAtMs: num(d.startedAtMs), totals: totals,
      history: history, rooms: rooms };
  }

  /* ---- totals ---- */
  function setCard(key, value, sub, bad, exact) {
    var card = document.querySelector('[data-total="' + key + '"]');
    if (!card) return;
    card.querySelector(".value").textContent = value;
    card.querySelector(".sub").textContent = sub || "";
    card.title = (exact || value) + (sub ? " " + sub : "");
    card.classList.toggle("bad", !!bad);
  }
  function renderTotals(doc) {
    var t = doc.totals;
    setCard("msgPerS", rate(t.msgPerS), big(t.messages) + " total");
    setCard("written", big(t.written), "rows stored", false, int(t.written));
    setCard("dropped", big(t.dropped), "events lost", (t.dropped || 0) > 0, int(t.dropped));
    setCard("writeErrors", big(t.writeErrors), "failed writes", (t.writeErrors || 0) > 0,
      int(t.writeErrors));
    setCard("queue", int(t.queue), bytes(t.queueBytes));
    setCard("rooms", int(t.live) + " / " + int(t.rooms), "live / total");
    setCard("failed", int(t.failed), "rooms given up", (t.failed || 0) > 0);
    var up = doc.nowMs !== null && doc.startedAtMs !== null
      ? (doc.nowMs - doc.startedAtMs) / 1000 : null;
    setCard("uptime", age(up), doc.startedAtMs !== null ? "since " + clock(doc.startedAtMs) : "");
    var safety = $("safety");
    var lost = (t.dropped || 0) + (t.writeErrors || 0);
    safety.className = lost > 0 ? "bad" : "ok";
    safety.textContent = lost > 0
      ? "Data at risk: " + int(t.dropped) + " dropped, " + int(t.writeErrors) + " write errors"
      : "Data safe: nothing dropped, no write errors";
  }

  /* ---- chart: hand-written SVG of msg/s over the history ---- */
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function niceStep(span, count) {
    var raw = span / count;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  }
  function renderChart(doc) {
    var box = $("chart");
    var pts = doc.history;
    var W = Math.max(260, Math.round(box.clientWidth || 600));
    var H = 160;
    var L = 46, R = 12, T = 10, B = 34;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "messages per second over the last minutes" });
    root.setAttribute("data-points", String(pts.length));
    var now = doc.nowMs !== null ? doc.nowMs : (pts.length ? pts[pts.length - 1][0] : 0);
    var start = pts.length ? Math.max(pts[0][0], now - 600000) : now - 60000;
    if (now - start < 60000) start = now - 60000;
    var maxV = 0;
    pts.forEach(function (p) { if (p[1] > maxV) maxV = p[1]; });
    var yStep = niceStep(maxV > 0 ? maxV : 1, 4);
    var yMax = Math.max(yStep, Math.ceil(maxV / yStep) * yStep);
    function x(t) { return L + (W - L - R) * (t - start) / (now - start); }
    function y(v) { return T + (H - T - B) * (1 - v / yMax); }
    for (var v = 0; v <= yMax + yStep / 2; v += yStep) {
      root.appendChild(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      root.appendChild(svg("text", { class: "tick", x: L - 6, y: y(v) + 4, "text-anchor": "end" },
        yStep < 1 ? v.toFixed(1) : Math.round(v)));
    }
    var spanMin = (now - start) / 60000;
    var xStepMin = spanMin <= 2 ? 0.5 : spanMin <= 5 ? 1 : 2;
    for (var m = 0; m <= spanMin + 1e-9; m += xStepMin) {
      var tx = x(now - m * 60000);
      root.appendChild(svg("line", { class: "axis", x1: tx, x2: tx, y1: H - B, y2: H - B + 4 }));
      root.appendChild(svg("text", { class: "tick", x: tx, y: H - B + 15,
        "text-anchor": m === 0 ? "end" : "middle" }, m === 0 ? "now" : "\\u2212" + m + " min"));
    }
    root.appendChild(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    root.appendChild(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
    root.appendChild(svg("text", { class: "tick", x: 4, y: T + 2,
      transform: "rotate(90 4 " + (T + 2) + ")" }, "msg/s"));
    root.appendChild(svg("text", { class: "tick", x: (L + W - R) / 2, y: H - 3,
      "text-anchor": "middle" }, "time (minutes before the last update)"));
    var shown = pts.filter(function (p) { return p[0] >= start && p[0] <= now; });
    if (shown.length) {
      var line = shown.map(function (p) { return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1); });
      var area = x(shown[0][0]).toFixed(1) + "," + y(0) + " " + line.join(" ") + " " +
        x(shown[shown.length - 1][0]).toFixed(1) + "," + y(0);
      root.appendChild(svg("polygon", { class: "area", points: area }));
      root.appendChild(svg("polyline", { class: "line", points: line.join(" ") }));
      if (shown.length < 40) {
        shown.forEach(function (p) {
          root.appendChild(svg("circle", { class: "dot", cx: x(p[0]).toFixed(1),
            cy: y(p[1]).toFixed(1), r: 2.5 }));
        });
      }
    } else {
      root.appendChild(svg("text", { class: "tick", x: (L + W - R) / 2, y: (T + H - B) / 2,
        "text-anchor": "middle" }, "no data yet"));
    }
    box.replaceChildren(root);
  }

  /* ---- rooms table ---- */
  function silent(r) {
    return r.quiet || (r.state === "live" && r.lastMessageAgeS !== null && r.lastMessageAgeS > 60);
  }
  function sortValue(r, key) {
    if (key === "state") return r.state in STATE_RANK ? STATE_RANK[r.state] : 99;
    if (key === "transport" || key === "title") return r[key] || "";
    return r[key];
  }
  function compare(a, b) {
    var va = sortValue(a, sort.key), vb = sortValue(b, sort.key);
    if (va === null && vb !== null) return 1;
    if (vb === null && va !== null) return -1;
    if (va !== vb && va !== null) {
      if (typeof va === "string") return sort.dir * va.localeCompare(vb);
      return sort.dir * (va < vb ? -1 : 1);
    }
    return a.roomId - b.roomId;
  }
  function renderRooms(doc) {
    var rooms = doc.rooms.slice().sort(compare);
    var rows = rooms.map(function (r) {
      var tr = el("tr");
      tr.setAttribute("data-room", String(r.roomId));
      if (r.state === "failed") tr.className = "failed";
      else if (silent(r)) tr.className = "quiet";
      else if (r.state !== "live") tr.className = "down";
      var room = el("td", "num", r.roomId);
      var title = el("td", "title wide");
      title.appendChild(el("span", "", r.title || ""));
      if (r.anchor) title.appendChild(el("span", "anchor", r.anchor));
      var state = el("td", "", r.state);
      if (r.state !== "failed" && silent(r)) {
        state.appendChild(el("span", "badge", r.quiet ? "quiet" : "silent"));
      }
      tr.append(room, title, state, el("td", "wide", r.transport || "\\u2013"),
        el("td", "num", rate(r.msgPerS)), el("td", "num", age(r.lastMessageAgeS)),
        el("td", "num", int(r.reconnects)), el("td", "num wide", int(r.messages)));
      return tr;
    });
    $("rows").replaceChildren.apply($("rows"), rows);
    $("empty").textContent = rooms.length ? "" : "No rooms yet.";
    var quiet = rooms.filter(silent).length;
    $("roomsummary").textContent = "(" + rooms.length +
      (quiet ? ", " + quiet + " quiet or silent" : "") + ")";
    document.querySelectorAll("th[data-key]").forEach(function (th) {
      var on = th.getAttribute("data-key") === sort.key;
      if (on) th.setAttribute("aria-sort", sort.dir < 0 ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
      th.querySelector(".dir").textContent = on ? (sort.dir < 0 ? " \\u25BC" : " \\u25B2") : "";
    });
  }
  document.querySelectorAll("th[data-key]").forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      if (sort.key === key) sort.dir = -sort.dir;
      else {
        var up = key === "roomId" || key === "title" || key === "state" || key === "transport";
        sort = { key: key, dir: up ? 1 : -1 };
      }
      if (lastDoc) renderRooms(lastDoc);
    });
  });

  /* ---- polling ---- */
  function showError(message) {
    failures += 1;
    body.setAttribute("data-failures", String(failures));
    var banner = $("banner");
    banner.textContent = "Cannot update: " + message + ". " +
      (lastOkAt !== null ? "Showing data from " + clock(lastOkAt) + "; " : "") +
      "retrying every " + POLL_MS / 1000 + " s.";
    banner.classList.add("shown");
  }
  function apply(doc) {
    lastDoc = doc;
    lastOkAt = Date.now();
    renderTotals(doc);
    renderChart(doc);
    renderRooms(doc);
    failures = 0;
    updates += 1;
    body.setAttribute("data-failures", "0");
    body.setAttribute("data-updates", String(updates));
    $("banner").classList.remove("shown");
    $("updated").textContent = "Last update " + clock(lastOkAt);
  }
  function poll() {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 5000);
    fetch("api/status", { cache: "no-store", signal: ctl.signal })
      .then(function (res) {
        if (!res.ok) throw new Error("/api/status answered HTTP " + res.status);
        return res.json();
      })
      .then(function (json) { apply(readDoc(json)); })
      .catch(function (err) {
        showError(err && err.name === "AbortError" ? "/api/status timed out"
          : String(err && err.message ? err.message : err).slice(0, 200));
      })
      .finally(function () {
        clearTimeout(timer);
        setTimeout(poll, POLL_MS);
      });
  }
  window.addEventListener("resize", function () { if (lastDoc) renderChart(lastDoc); });
  poll();
})();
`;

const TOTALS: ReadonlyArray<readonly [string, string]> = [
  ["msgPerS", "msg/s"],
  ["written", "written"],
  ["dropped", "dropped"],
  ["writeErrors", "write errors"],
  ["queue", "queue"],
  ["rooms", "rooms live"],
  ["failed", "failed rooms"],
  ["uptime", "uptime"],
];

/** Sortable columns: key in the room object, header text, extra classes. */
const COLUMNS: ReadonlyArray<readonly [string, string, string]> = [
  ["roomId", "room", "num"],
  ["title", "title", "wide"],
  ["state", "state", ""],
  ["transport", "transport", "wide"],
  ["msgPerS", "msg/s", "num"],
  ["lastMessageAgeS", "last msg", "num"],
  ["reconnects", "reconnects", "num"],
  ["messages", "messages", "num wide"],
];

const cards = TOTALS.map(([key, label]) =>
  `<div class="card" data-total="${key}"><div class="label">${label}</div>` +
  `<div class="value">–</div><div class="sub"></div></div>`
).join("\n      ");

const headers = COLUMNS.map(([key, label, cls]) =>
  `<th data-key="${key}" class="${cls}"><button type="button">${label}<span class="dir">` +
  `</span></button></th>`
).join("");

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Danmaku collector – status</title>
<style>${STYLE}</style>
</head>
<body data-updates="0" data-failures="0">
<header>
  <h1>Danmaku collector</h1>
  <span id="safety"></span>
  <span id="updated">Waiting for the first update…</span>
</header>
<main>
  <div id="banner" role="alert"></div>
  <section id="totals" aria-label="totals">
      ${cards}
  </section>
  <section class="panel">
    <h2>Messages per second</h2>
    <div id="chart"></div>
  </section>
  <section class="panel">
    <h2>Rooms <span id="roomsummary"></span></h2>
    <div class="scroll">
      <table>
        <thead><tr>${headers}</tr></thead>
        <tbody id="rows"></tbody>
      </table>
    </div>
    <p id="empty"></p>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** The HTML document of the live status page (served at `/`; polls `/api/status`). */
export function statusPageHtml(): string {
  return PAGE;
}
