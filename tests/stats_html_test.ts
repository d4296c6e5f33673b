/**
 * `stats --html FILE`: the report's numbers are the JSON's, every text from the database stays
 * text, nothing is fetched, and headless Chromium draws every chart from the file offline.
 * `UPDATE_SCREENSHOTS=1` also writes docs/img/stats_report.png from the fixture database.
 */
import assert from "node:assert/strict";
import { runStats, statsReport } from "../src/cli/stats_command.ts";
import { ConfigError } from "../src/errors.ts";
import { axisTop, escapeHtml, MAX_BINS, statsHtml, timeAxis } from "../src/analysis/html_report.ts";
import type { RoomStats } from "../src/analysis/room_stats.ts";
import { LineWriter } from "../src/util/line_writer.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { danmaku, ROOM_A, ROOM_B, T0, withFixtureDb } from "./support/export_fixture.ts";
import { chromiumDumpDom, chromiumScreenshot } from "./support/chromium.ts";

const MIN = 60_000;
const SCREENSHOT = new URL("../docs/img/stats_report.png", import.meta.url).pathname;

/** Stdout that keeps what is written. */
function captured(): { stdout: LineWriter; text: () => string } {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  return {
    stdout: new LineWriter({
      writeSync(bytes) {
        chunks.push(decoder.decode(bytes));
        return bytes.length;
      },
    }),
    text: () => chunks.join(""),
  };
}

/** The report `--format json` prints. */
async function jsonReport(db: string, extra: string[] = []) {
  const out = captured();
  await runStats(["--db", db, "--format", "json", ...extra], {
    stdout: out.stdout,
    log: () => {},
  });
  return JSON.parse(out.text());
}

/** Writes `--html` next to the database; returns its path, its text, stdout and the log. */
async function htmlReport(db: string, dir: string, extra: string[] = []) {
  const file = `${dir}/report.html`;
  const out = captured();
  const log: string[] = [];
  await runStats(["--db", db, "--html", file, ...extra], {
    stdout: out.stdout,
    log: (line) => log.push(line),
    nowMs: () => T0 + 1000 * MIN,
  });
  return { file, html: await Deno.readTextFile(file), stdout: out.text(), log };
}

/** The attributes of an opening tag. */
function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/\s([\w-]+)="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

/** The HTML of each room's section, by room id. */
function roomSections(html: string): Map<number, string> {
  const out = new Map<number, string>();
  for (
    const m of html.matchAll(
      /<section class="room"[^>]*data-room="(\d+)"[^>]*>([\s\S]*?)<\/section>/g,
    )
  ) {
    out.set(Number(m[1]), m[2]);
  }
  return out;
}

/** `data-key` → [`data-value`, shown text] of the figures in `html`. */
function figures(html: string): Map<string, [number, string]> {
  const out = new Map<string, [number, string]>();
  for (
    const m of html.matchAll(/<span class="n" data-key="([^"]+)" data-value="([^"]+)">([^<]*)</g)
  ) {
    out.set(m[1], [Number(m[2]), m[3]]);
  }
  return out;
}

/** The value at a dotted path (`topSenders.0.count`) of a JSON room. */
function lookup(room: unknown, path: string): unknown {
  let at: unknown = room;
  for (const part of path.split(".")) {
    at = typeof at === "object" && at !== null ? (at as Record<string, unknown>)[part] : undefined;
  }
  return at;
}

/** The marks (opening tags) of one chart of a room section. */
function chartMarks(section: string, chart: string): Record<string, string>[] {
  const svg = section.match(new RegExp(`<svg[^>]*data-chart="${chart}"[\\s\\S]*?</svg>`));
  if (svg === null) return [];
  return [...svg[0].matchAll(/<rect class="mark[^>]*>/g)].map((m) => attributes(m[0]));
}

/** Figures every room shows, whatever its data. */
const ALWAYS_SHOWN = [
  "counts.danmaku",
  "density.meanPerMinute",
  "density.minutes",
  "density.peakPerMinute",
  "density.activeMinutes",
  "maskedDanmaku",
  "valueCny.gifts",
  "valueCny.superChats",
  "valueCny.guardBuys",
  "valueCny.total",
  "sessions.count",
  "sessions.unterminated",
  "sessions.spanMs",
  "sessions.coveredMs",
  "sessions.coverage",
  "throttling.medianPerWindow",
  "throttling.windows",
];

Deno.test("stats --html shows the numbers of stats --format json for the fixture database", async () => {
  await withFixtureDb(async (db, dir) => {
    const json = await jsonReport(db);
    const { file, html, stdout, log } = await htmlReport(db, dir);
    assert.equal(stdout, "", "the report goes to the file, not stdout");
    await assert.rejects(Deno.stat(`${file}.partial`), Deno.errors.NotFound);
    assert.match(
      log.join("\n"),
      /^level=info msg="wrote stats report" file=\S+report.html rooms=2 bytes=\d+$/,
    );

    const sections = roomSections(html);
    assert.deepEqual([...sections.keys()], json.rooms.map((r: RoomStats) => r.roomId));
    for (const room of json.rooms as RoomStats[]) {
      const section = sections.get(room.roomId)!;
      const shown = figures(section);
      for (const key of ALWAYS_SHOWN) assert.ok(shown.has(key), `room ${room.roomId} shows ${key}`);
      for (const [key, [value, text]] of shown) {
        assert.equal(value, lookup(room, key), `room ${room.roomId} ${key}`);
        // What is shown is that value: counts whole, CNY and means to 2 decimals.
        if (/^[\d,.]+$/.test(text)) {
          assert.ok(
            Math.abs(Number(text.replaceAll(",", "")) - value) <= 0.005,
            `room ${room.roomId} ${key} shows ${text} for ${value}`,
          );
        }
      }
      // Density bars: one per minute here (2 hours fit), the counts of density.perMinute.
      const bars = chartMarks(section, "density").map((
        a,
      ) => [Number(a["data-t"]), Number(a["data-n"])]);
      assert.deepEqual(bars, room.density.perMinute);
      // Value bars: each kind's segments sum to the minute's value and to valueCny.
      const segments = chartMarks(section, "value");
      const sum = (kind: string) =>
        segments.filter((a) => a["data-kind"] === kind).reduce(
          (s, a) => s + Number(a["data-cny"]),
          0,
        );
      assert.ok(Math.abs(sum("gifts") - room.valueCny.gifts) < 1e-6, `room ${room.roomId} gifts`);
      assert.ok(Math.abs(sum("superChats") - room.valueCny.superChats) < 1e-6);
      assert.ok(Math.abs(sum("guardBuys") - room.valueCny.guardBuys) < 1e-6);
      // Bands: the gaps and the suspected throttling runs of the JSON.
      const bands = [...section.matchAll(/<rect class="band (\w+)"[^>]*>/g)].map((m) => {
        const a = attributes(m[0]);
        return [m[1], Number(a["data-from"]), Number(a["data-to"])];
      });
      assert.deepEqual(
        bands.filter(([k]) => k === "throttle").map(([, from, to]) => ({ from, to })),
        room.throttling.flagged.map((f) => ({ from: f.fromMs, to: f.toMs })),
      );
      const charts = (section.match(/<svg class="chart"/g) ?? []).length;
      assert.equal(bands.filter(([k]) => k === "gap").length, room.sessions.gaps.length * charts);
    }
    const [a] = json.rooms as RoomStats[];
    assert.deepEqual(a.valuePerMinute, [
      [T0 + 30 * MIN, 53, 0, 0],
      [T0 + 40 * MIN, 0, 30, 0],
      [T0 + 50 * MIN, 0, 0, 198],
    ]);
    // The lottery and deleted super chat notes read as the table writes them.
    assert.match(
      sections.get(ROOM_A)!,
      /6<\/span> lottery danmaku, left out \(--include-lottery keeps them\)/,
    );
    assert.match(
      sections.get(ROOM_A)!,
      /left out: <span[^>]*>1<\/span> deleted super chat \(<span[^>]*>50\.00<\/span>\)/,
    );
    assert.match(sections.get(ROOM_A)!, /<b class="warn">SUSPECTED<\/b>/);
    // The summary adds up the rooms.
    const total = figures(html.slice(0, html.indexOf('<section class="room"')));
    const rooms = json.rooms as RoomStats[];
    assert.deepEqual(total.get("rooms")?.[0], 2);
    assert.equal(total.get("total.danmaku")?.[0], rooms.reduce((s, r) => s + r.counts.danmaku, 0));
    assert.equal(total.get("total.valueCny")?.[0], 281);
    assert.equal(total.get("total.gaps")?.[0], 1);
    assert.equal(total.get("total.throttled")?.[0], 1);
    // Room B has no value: no value chart, a note instead.
    assert.equal(chartMarks(sections.get(ROOM_B)!, "value").length, 0);
    assert.match(sections.get(ROOM_B)!, /no gift, super chat or guard value to chart/);
  });
});

Deno.test("stats --html with --include-lottery and a range shows that report's numbers", async () => {
  await withFixtureDb(async (db, dir) => {
    const extra = ["--include-lottery", "--room", String(ROOM_A), "--since", String(T0 + 30 * MIN)];
    const json = await jsonReport(db, extra);
    const { html } = await htmlReport(db, dir, extra);
    const room = json.rooms[0] as RoomStats;
    const shown = figures(roomSections(html).get(ROOM_A)!);
    assert.equal(shown.get("density.peakPerMinute")?.[0], 6);
    for (const [key, [value]] of shown) assert.equal(value, lookup(room, key), key);
    assert.match(html, /lottery danmaku, kept \(--include-lottery\)/);
    assert.match(html, /range 2024-05-01T12:30:00Z → end/);
  });
});

/** Adds room 3003 whose name, title and danmaku are HTML. */
function addHostileRoom(db: string): void {
  using store = SqliteStore.open(db);
  store.write([
    {
      type: "room",
      roomId: 3003,
      receivedAtMs: T0,
      shortId: null,
      anchorUid: 3,
      uname: `<img src=x onerror="document.body.dataset.pwned='anchor'">`,
      title: `</title><script>document.body.dataset.pwned="title"</script>`,
      areaId: 1,
      areaName: "聊天",
      parentAreaId: 2,
      parentAreaName: "娱乐",
      liveStatus: 1,
      seenAtMs: T0,
    },
    ...Array.from({ length: 5 }, (_, i) =>
      danmaku({
        roomId: 3003,
        tsMs: T0 + i * MIN,
        receivedAtMs: T0 + i * MIN + 100,
        msgId: `h${i}`,
        uid: 66,
        uname: `</style><b class="pwned">bold</b>`,
        text: `<svg onload="document.body.dataset.pwned='phrase'"> &amp; "q" 'a' \u0007`,
      })),
  ]);
}

Deno.test("stats --html keeps every text from the database as text", async () => {
  await withFixtureDb(async (db, dir) => {
    addHostileRoom(db);
    const { html } = await htmlReport(db, dir);
    assert.doesNotMatch(html, /<script|<img|<b class="pwned"|<svg onload|<\/title><script/i);
    const room = roomSections(html).get(3003)!;
    assert.ok(
      room.includes(
        "&lt;img src=x onerror=&quot;document.body.dataset.pwned=&#39;anchor&#39;&quot;&gt; · " +
          "&lt;/title&gt;&lt;script&gt;document.body.dataset.pwned=&quot;title&quot;&lt;/script&gt;",
      ),
    );
    assert.ok(room.includes("&lt;/style&gt;&lt;b class=&quot;pwned&quot;&gt;bold&lt;/b&gt;"));
    // The phrase: its control character shown as \x07, "&amp;" shown as typed.
    assert.ok(
      room.includes(
        `&lt;svg onload=&quot;document.body.dataset.pwned=&#39;phrase&#39;&quot;&gt; &amp;amp; ` +
          `&quot;q&quot; &#39;a&#39; <span class="ctl">\\x07</span>`,
      ),
    );
    assert.ok(html.includes("标题 &lt;test&gt; &amp; &quot;x&quot;"));
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });
});

Deno.test("stats --html writes a page that fetches nothing: inline CSS and SVG, no script, no external link", async () => {
  await withFixtureDb(async (db, dir) => {
    const { html } = await htmlReport(db, dir);
    assert.match(html, /^<!doctype html>\n/);
    assert.match(html, /<meta charset="utf-8">/);
    assert.match(html, /<style>[\s\S]+<\/style>/);
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|<object|<embed|@import|url\(|\bsrc=/i);
    assert.doesNotMatch(html, /https?:|\/\/[a-z]/i);
    const hrefs = [...html.matchAll(/\bhref="([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(hrefs, [`#room-${ROOM_A}`, `#room-${ROOM_B}`]);
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 3);
  });
});

Deno.test("stats --html refuses - and an unwritable file, naming the flag", async () => {
  await withFixtureDb(async (db, dir) => {
    for (const bad of ["-", ""]) {
      await assert.rejects(() => statsReport(["--db", db, "--html", bad]), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^Cannot parse --html "-?": expected a file name/);
        return true;
      });
    }
    const file = `${dir}/missing/report.html`;
    await assert.rejects(
      async () =>
        await runStats(["--db", db, "--html", file], { stdout: captured().stdout, log: () => {} }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^Cannot write --html ".*missing\/report.html": /);
        return true;
      },
    );
    await assert.rejects(Deno.stat(`${file}.partial`), Deno.errors.NotFound);
  });
});

Deno.test("the chart axis merges minutes into at most MAX_BINS bins and has round tops", () => {
  const base = {
    density: { perMinute: [[T0, 1], [T0 + 14 * 24 * 60 * MIN, 2]] },
    valuePerMinute: [],
    sessions: { gaps: [] },
    throttling: { flagged: [] },
  } as unknown as RoomStats;
  const axis = timeAxis(base)!;
  assert.ok((axis.toMs - axis.fromMs) / axis.binMs <= MAX_BINS);
  assert.equal(axis.binMs, 120 * MIN);
  assert.equal(timeAxis({ ...base, density: { ...base.density, perMinute: [] } }), null);
  assert.deepEqual([3, 5, 200, 201, 0.4].map((n) => axisTop(n, n >= 1)), [4, 8, 200, 240, 0.4]);
});

/**
 * Measures the charts in the browser: each `svg.chart` gets `data-marks` (bars), `data-drawn`
 * (bars with a non-empty box inside the chart's box on screen), `data-bands`/`data-bands-drawn`
 * and `data-box` (its size in CSS pixels).
 */
const PROBE = `<script>
addEventListener("load", () => {
  for (const svg of document.querySelectorAll("svg.chart")) {
    const box = svg.getBoundingClientRect();
    const drawn = (el) => {
      const b = el.getBBox();
      const r = el.getBoundingClientRect();
      return b.width > 0 && b.height > 0 && r.width > 0 && r.height > 0 &&
        r.left >= box.left - 1 && r.right <= box.right + 1 &&
        r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    };
    const marks = [...svg.querySelectorAll(".mark")];
    const bands = [...svg.querySelectorAll(".band")];
    svg.dataset.marks = marks.length;
    svg.dataset.drawn = marks.filter(drawn).length;
    svg.dataset.bands = bands.length;
    svg.dataset.bandsDrawn = bands.filter(drawn).length;
    svg.dataset.box = Math.round(box.width) + "x" + Math.round(box.height);
  }
  document.body.dataset.probed = "yes";
});
</script>`;

Deno.test("headless Chromium opens the report offline and finds every chart drawn, and no text turned into markup", async () => {
  await withFixtureDb(async (db, dir) => {
    addHostileRoom(db);
    const { html } = await htmlReport(db, dir);
    // The report as written, plus the measuring script (the report itself has none).
    const probed = `${dir}/probed.html`;
    await Deno.writeTextFile(probed, html.replace("</body>", `${PROBE}\n</body>`));
    const dom = await chromiumDumpDom(new URL(`file://${probed}`).href, { waitMs: 2000 });
    assert.match(dom, /<body[^>]*data-probed="yes"/, "the page loaded and the probe ran");
    assert.doesNotMatch(dom, /data-pwned|<b class="pwned"|<img/, "no database text became markup");
    assert.equal((dom.match(/<script/g) ?? []).length, 1, "only the probe's script");
    assert.match(dom, /&lt;\/title&gt;&lt;script&gt;document\.body\.dataset\.pwned/);
    const charts = [...dom.matchAll(/<svg class="chart"[^>]*>/g)].map((m) => attributes(m[0]));
    // Rooms 1001 (density, value), 2002 (density) and 3003 (density).
    assert.deepEqual(charts.map((c) => c["data-chart"]), [
      "density",
      "value",
      "density",
      "density",
    ]);
    for (const c of charts) {
      const [w, h] = c["data-box"].split("x").map(Number);
      assert.ok(w >= 500 && h >= 100, `chart ${c["data-chart"]} laid out at ${c["data-box"]}`);
      assert.ok(Number(c["data-marks"]) > 0, `chart ${c["data-chart"]} has marks`);
      assert.equal(c["data-drawn"], c["data-marks"], `every mark of ${c["data-chart"]} drawn`);
      assert.equal(
        c["data-bands-drawn"],
        c["data-bands"],
        `every band of ${c["data-chart"]} drawn`,
      );
    }
    // Room 1001's density chart: a bar per active minute, the gap and the throttled run shaded.
    assert.equal(charts[0]["data-marks"], "81");
    assert.equal(charts[0]["data-bands"], "2");
  });
});

Deno.test("headless Chromium takes a screenshot of the fixture's report (docs/img/stats_report.png with UPDATE_SCREENSHOTS=1)", async () => {
  await withFixtureDb(async (db, dir) => {
    const { file } = await htmlReport(db, dir);
    const png = `${dir}/stats_report.png`;
    await chromiumScreenshot(new URL(`file://${file}`).href, png, {
      width: 1000,
      height: 1200,
      waitMs: 2000,
    });
    const bytes = await Deno.readFile(png);
    // PNG signature, then the IHDR chunk: width and height, big-endian.
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.deepEqual([view.getUint32(16), view.getUint32(20)], [1000, 1200]);
    if (Deno.env.get("UPDATE_SCREENSHOTS") === "1") {
      await Deno.mkdir(new URL(".", `file://${SCREENSHOT}`).pathname, { recursive: true });
      await Deno.copyFile(png, SCREENSHOT);
    }
  });
});

Deno.test("main.ts stats --html writes the file and logs it; --html - exits 2 with one line", async () => {
  await withFixtureDb(async (db, dir) => {
    const main = new URL("../main.ts", import.meta.url).pathname;
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "stats", "--db", db, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const decoder = new TextDecoder();
    const file = `${dir}/out.html`;
    const ok = await run(["--html", file]);
    assert.equal(ok.code, 0, decoder.decode(ok.stderr));
    assert.equal(decoder.decode(ok.stdout), "");
    assert.match(decoder.decode(ok.stderr), /level=info msg="wrote stats report" .*rooms=2/);
    assert.match(await Deno.readTextFile(file), /data-key="counts\.danmaku" data-value="207"/);
    const bad = await run(["--html", "-"]);
    assert.equal(bad.code, 2);
    assert.equal(decoder.decode(bad.stdout), "");
    assert.match(
      decoder.decode(bad.stderr),
      /^error: Cannot parse --html "-": expected a file name[^\n]*\n$/,
    );
  });
});

Deno.test("statsHtml() merges two weeks of minutes into at most MAX_BINS bars with the same total", () => {
  const perMinute: [number, number][] = [];
  for (let m = 0; m < 14 * 24 * 60; m += 7) perMinute.push([T0 + m * MIN, 1 + m % 5]);
  const room = {
    roomId: 1,
    anchor: null,
    title: null,
    firstMs: T0,
    lastMs: T0 + 14 * 24 * 60 * MIN,
    counts: { danmaku: 0 },
    lotteryDanmaku: 0,
    maskedDanmaku: 0,
    density: {
      minutes: 0,
      activeMinutes: perMinute.length,
      meanPerMinute: 0,
      peakPerMinute: 5,
      peakMinuteMs: T0,
      perMinute,
    },
    topSenders: [],
    topMaskedSenders: [],
    topPhrases: [],
    valueCny: { gifts: 0, superChats: 0, guardBuys: 0, total: 0 },
    valuePerMinute: [],
    deletedSuperChats: { count: 0, valueCny: 0 },
    sessions: { count: 0, unterminated: 0, spanMs: 0, coveredMs: 0, coverage: 1, gaps: [] },
    throttling: { suspected: false, windows: 0, medianPerWindow: 0, flagged: [] },
  } as unknown as RoomStats;
  const html = statsHtml({
    sinceMs: null,
    untilMs: null,
    minGapMs: MIN,
    includeLottery: false,
    throttleRule: { windowMs: 10 * MIN, ratio: 0.1, minMedian: 10, minCoverage: 0.9 },
    rooms: [room],
  });
  const bars = chartMarks(roomSections(html).get(1)!, "density");
  assert.ok(bars.length > 100 && bars.length <= MAX_BINS, `${bars.length} bars`);
  assert.equal(
    bars.reduce((s, a) => s + Number(a["data-n"]), 0),
    perMinute.reduce((s, [, n]) => s + n, 0),
  );
  assert.match(html, /danmaku per 2 h/);
});
