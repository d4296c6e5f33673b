/**
 * The live status page (`/` of `collect --http`): self-contained HTML, and in headless Chromium
 * it shows every room and follows `/api/status` without reloading.
 *
 * The Chromium tests serve the page and a fake `/api/status` (whose numbers grow on every
 * request) from a small `Deno.serve` here, so they do not depend on the collector's server.
 *
 * The end-to-end test runs `main.ts collect --http 127.0.0.1:0` against the simulator and loads
 * the real page through a small proxy that counts page loads and hands the page a status
 * document only once its numbers moved (virtual time runs the page's 2 s polls much faster than
 * real time, so without it several polls could see the same numbers).
 *
 * Screenshot: the screenshot test always writes a PNG to a temporary folder and checks it; with
 * `UPDATE_SCREENSHOTS=1` it also copies it to docs/img/status_page.png (the README's picture):
 *   UPDATE_SCREENSHOTS=1 npx -y deno@2.9.6 test -A tests/status_page_test.ts
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startSimulator } from "../src/simulator/simulator.ts";
import { statusPageHtml } from "../src/web/status_page.ts";
import { chromiumDumpDom, chromiumScreenshot } from "./support/chromium.ts";
import { liveRooms, sleep, spawnedCollectFlags, waitFor } from "./support/collect_helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** A room of the fake status document. */
interface FakeRoom {
  roomId: number;
  state: string;
  transport: string;
  /** msg/s this room runs at. */
  rate: number;
  reconnects: number;
  quiet: boolean;
  /** Seconds since its last message at request 0; null: never heard. */
  silentS: number | null;
  title: string;
  anchor: string;
}

/** Eight rooms of a realistic run (ids and names invented): busy, slow, throttled, backoff. */
const ROOMS: FakeRoom[] = [
  room(31845201, "live", "tcp", 41.3, 0, false, 0, "【原神】深渊满星挑战 今晚冲！", "夜航星Nova"),
  room(27403316, "live", "tcp", 27.8, 1, false, 0, "杂谈 + 歌回 晚上好~", "小鹿不吃草"),
  room(9051702, "live", "ws", 12.4, 3, false, 0, "英雄联盟 S赛 观赛直播", "阿杰解说"),
  room(6128845, "live", "tcp", 6.1, 0, false, 1, "【单机】艾尔登法环 DLC 全收集", "荒野行者"),
  room(14220917, "live", "tcp", 0.4, 7, true, 95, "深夜电台 | 聊天 · 点歌", "月下听风"),
  room(1017, "live", "ws", 2.2, 0, false, 3, "手工 · 木工 · 慢生活", "木匠老王"),
  room(23058, "backoff", "tcp", 0, 12, false, 420, "3D 建模教学 Blender 入门", "CG小白"),
  room(8392251, "live", "tcp", 3.6, 0, false, 0, "Minecraft 生存 第 214 天", "方块老李"),
];

function room(
  roomId: number,
  state: string,
  transport: string,
  rate: number,
  reconnects: number,
  quiet: boolean,
  silentS: number | null,
  title: string,
  anchor: string,
): FakeRoom {
  return { roomId, state, transport, rate, reconnects, quiet, silentS, title, anchor };
}

const START_MS = Date.UTC(2026, 11, 1, 20, 0, 0);
const TICK_MS = 2_000;

/** The `/api/status` document of request `n` (0-based): every counter grows with `n`. */
function fakeStatus(n: number, rooms: FakeRoom[]) {
  const nowMs = START_MS + 45 * 60_000 + n * TICK_MS;
  const total = rooms.reduce((sum, r) => sum + r.rate, 0);
  const history: [number, number][] = [];
  for (let t = nowMs - 600_000; t <= nowMs; t += TICK_MS) {
    const phase = (t - START_MS) / 60_000;
    history.push([
      t,
      Math.max(0, total * (1 + 0.25 * Math.sin(phase) + 0.08 * Math.sin(phase * 7))),
    ]);
  }
  const perRoom = rooms.map((r, i) => ({
    roomId: r.roomId,
    state: r.state,
    transport: r.transport,
    messages: Math.round(r.rate * 2700) + i * 37 + n * Math.round(r.rate * 2),
    msgPerS: r.rate,
    lastMessageAgeS: r.silentS === null ? null : r.silentS + (r.rate < 1 ? n * 2 : 0),
    reconnects: r.reconnects,
    quiet: r.quiet,
    title: r.title,
    anchor: r.anchor,
    futureField: { ignored: true },
  }));
  const messages = perRoom.reduce((sum, r) => sum + r.messages, 0);
  return {
    version: 1,
    nowMs,
    startedAtMs: START_MS,
    totals: {
      messages,
      msgPerS: total,
      written: messages + 1200 + n * 40,
      dropped: 0,
      writeErrors: 0,
      queue: 12 + (n % 5) * 7,
      queueBytes: 4096 + (n % 5) * 2048,
      rooms: rooms.length,
      live: rooms.filter((r) => r.state === "live").length,
      failed: 0,
    },
    history,
    rooms: perRoom,
  };
}

/** Options of the fake server. */
interface FakeServerOptions {
  rooms?: FakeRoom[];
  /** `/api/status` answers 503 from this request on (0-based). */
  failFrom?: number;
  /** Script appended to the page, to drive it like a user would. */
  extraScript?: string;
}

/** Serves the page at `/` and a growing fake `/api/status`; records what it answered. */
function fakeServer(options: FakeServerOptions = {}) {
  const rooms = options.rooms ?? ROOMS;
  const served: ReturnType<typeof fakeStatus>[] = [];
  let pageLoads = 0;
  const html = options.extraScript
    ? statusPageHtml().replace("</body>", `<script>${options.extraScript}</script></body>`)
    : statusPageHtml();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/") {
      pageLoads++;
      return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (path === "/api/status") {
      if (options.failFrom !== undefined && served.length >= options.failFrom) {
        return new Response("unavailable", { status: 503 });
      }
      const doc = fakeStatus(served.length, rooms);
      served.push(doc);
      return Response.json(doc, { headers: { "cache-control": "no-store" } });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    served,
    pageLoads: () => pageLoads,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** The `data-…` attribute `name` of the dumped `<body>`, as a number (NaN when absent). */
function bodyAttr(dom: string, name: string): number {
  const match = dom.match(new RegExp(`<body[^>]*\\s${name}="(\\d+)"`));
  return match ? Number(match[1]) : NaN;
}

/** The value text of the totals card `key` in the dumped DOM. */
function cardText(dom: string, key: string): { value: string; sub: string } {
  const match = dom.match(
    new RegExp(
      `data-total="${key}"[^>]*>.*?<div class="value">([^<]*)</div><div class="sub">([^<]*)</div>`,
      "s",
    ),
  );
  assert.ok(match, `the ${key} card is in the page`);
  return { value: match[1], sub: match[2] };
}

/** Room ids of the table rows, in display order. */
function roomRows(dom: string): number[] {
  return [...dom.matchAll(/<tr[^>]*data-room="(\d+)"/g)].map((m) => Number(m[1]));
}

Deno.test("statusPageHtml() is one self-contained document: no external script, stylesheet, image or link", () => {
  const html = statusPageHtml();
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<style>[^]+<\/style>/, "the CSS is inline");
  assert.match(html, /<script>[^]+<\/script>/, "the script is inline");
  assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i, "no <script src>");
  assert.doesNotMatch(html, /<link\b[^>]*>/i, "no <link> (stylesheet, icon, preload)");
  assert.doesNotMatch(html, /@import|url\(/i, "the CSS pulls nothing in");
  const external = [...html.matchAll(/\b(?:src|href|action)\s*=\s*["']?([^"'\s>]+)/gi)]
    .map((m) => m[1])
    .filter((target) => /^(?:[a-z]+:)?\/\//i.test(target));
  assert.deepEqual(external, [], "no src/href/action to another host");
  const fetched = [...html.matchAll(/fetch\(\s*["']([^"']+)["']/g)].map((m) => m[1]);
  assert.deepEqual(fetched, ["api/status"], "the only request is the same-origin status document");
  const markupSinks = html.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/g);
  assert.equal(markupSinks, null, "data reaches the DOM as text only");
});

Deno.test("in Chromium the page shows every room and follows /api/status without reloading", async () => {
  const hostile = room(
    4242,
    "live",
    "tcp",
    1.5,
    0,
    false,
    2,
    '<img src=x onerror="document.body.dataset.pwned=1">标题',
    "<b>主播</b>",
  );
  await using server = fakeServer({ rooms: [...ROOMS, hostile] });
  const dom = await chromiumDumpDom(server.url, { waitMs: 9_000, timeoutMs: 90_000 });

  assert.equal(server.pageLoads(), 1, "the page was loaded once, never reloaded");
  const updates = bodyAttr(dom, "data-updates");
  assert.ok(updates >= 3, `several status documents were applied (data-updates=${updates})`);
  assert.ok(server.served.length >= updates, "each applied update was a request");
  assert.deepEqual(
    roomRows(dom).toSorted((a, b) => a - b),
    [...ROOMS, hostile].map((r) => r.roomId).toSorted((a, b) => a - b),
    "every room has a row",
  );

  // The totals on screen are those of a later document than the first: they changed in place.
  const first = server.served[0].totals;
  const shownMessages = Number(cardText(dom, "msgPerS").sub.replace(/\D/g, ""));
  const shownWritten = Number(cardText(dom, "written").value.replace(/\D/g, ""));
  assert.ok(
    shownMessages > first.messages,
    `messages grew past ${first.messages}: ${shownMessages}`,
  );
  assert.ok(shownWritten > first.written, `written grew past ${first.written}: ${shownWritten}`);
  assert.ok(
    server.served.slice(1).some((doc) => doc.totals.written === shownWritten),
    "the written total shown is one the server sent after the first",
  );
  assert.equal(cardText(dom, "rooms").value, `${ROOMS.length} / ${ROOMS.length + 1}`);

  // The chart is drawn from history; the safety line says nothing was lost.
  assert.match(dom, /<svg[^>]*data-points="30\d"/, "the chart holds the history points");
  assert.match(dom, /<polyline class="line" points="[\d.,\s]{200,}"/, "the msg/s line is drawn");
  assert.match(dom, /Data safe: nothing dropped, no write errors/);
  assert.doesNotMatch(dom, /id="banner"[^>]*class="[^"]*shown/, "no error banner");

  // The throttled room and the room in backoff are marked; titles are text, not markup.
  assert.match(dom, /<tr data-room="14220917" class="quiet">/);
  assert.match(dom, /<tr data-room="23058" class="down">/);
  assert.match(dom, /&lt;img src=x onerror="document\.body\.dataset\.pwned=1"&gt;标题/);
  assert.match(dom, /&lt;b&gt;主播&lt;\/b&gt;/);
  assert.doesNotMatch(dom, /data-pwned|<img\b|<b>主播/, "the hostile title stayed text");
});

Deno.test("in Chromium a failing /api/status raises the error banner and the last data stays", async () => {
  await using server = fakeServer({ failFrom: 2 });
  const dom = await chromiumDumpDom(server.url, { waitMs: 9_000, timeoutMs: 90_000 });

  assert.equal(bodyAttr(dom, "data-updates"), 2, "the two good documents were applied");
  assert.ok(bodyAttr(dom, "data-failures") >= 1, "failed polls are counted");
  const banner = dom.match(/<div id="banner" role="alert" class="shown">([^<]*)<\/div>/);
  assert.ok(banner, "the banner is shown");
  assert.match(banner[1], /Cannot update: \/api\/status answered HTTP 503\. Showing data from/);
  assert.equal(roomRows(dom).length, ROOMS.length, "the rooms of the last good update stay");
  assert.equal(
    Number(cardText(dom, "written").value.replace(/\D/g, "")),
    server.served[1].totals.written,
  );
});

Deno.test("in Chromium clicking a column header sorts the rooms by it, a second click reverses", async () => {
  // After the first update, click "reconnects" (descending); after the second, "last msg"
  // twice (descending, then ascending).
  const clicks = `
    new MutationObserver(function () {
      var n = document.body.getAttribute("data-updates");
      function click(key) {
        document.querySelector('th[data-key="' + key + '"] button').click();
      }
      if (n === "1" && !window.clicked1) { window.clicked1 = true; click("reconnects"); }
      if (n === "2" && !window.clicked2) {
        window.clicked2 = true;
        document.body.setAttribute("data-by-reconnects", Array.from(
          document.querySelectorAll("tr[data-room]")).map(function (tr) {
            return tr.getAttribute("data-room");
          }).join(","));
        click("lastMessageAgeS");
        click("lastMessageAgeS");
      }
    }).observe(document.body, { attributes: true, attributeFilter: ["data-updates"] });`;
  await using server = fakeServer({ extraScript: clicks });
  const dom = await chromiumDumpDom(server.url, { waitMs: 7_000, timeoutMs: 90_000 });
  assert.ok(bodyAttr(dom, "data-updates") >= 3, "the page kept updating after the clicks");

  const byReconnects = dom.match(/data-by-reconnects="([\d,]+)"/);
  assert.ok(byReconnects, "the order after the first click was recorded");
  const expectReconnects = ROOMS.toSorted((a, b) =>
    b.reconnects - a.reconnects || a.roomId - b.roomId
  )
    .map((r) => r.roomId).join(",");
  assert.equal(byReconnects[1], expectReconnects);

  const last = server.served.at(-1)!;
  const byAge = last.rooms.toSorted((a, b) =>
    (a.lastMessageAgeS ?? Infinity) - (b.lastMessageAgeS ?? Infinity) || a.roomId - b.roomId
  ).map((r) => r.roomId);
  assert.deepEqual(roomRows(dom), byAge, "the second click sorts by last message age ascending");
  assert.match(dom, /<th data-key="lastMessageAgeS" class="num" aria-sort="ascending">/);
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, "a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

Deno.test("the status page screenshot (1000×700) is drawn from a realistic run of eight rooms", async () => {
  await using server = fakeServer();
  const dir = await Deno.makeTempDir({ prefix: "status_page_" });
  try {
    const file = `${dir}/status_page.png`;
    await chromiumScreenshot(server.url, file, {
      width: 1000,
      height: 700,
      waitMs: 5_000,
      timeoutMs: 90_000,
    });
    assert.ok(server.served.length >= 2, "the page polled before the picture was taken");
    const png = await Deno.readFile(file);
    assert.deepEqual(pngSize(png), { width: 1000, height: 700 });
    assert.ok(png.length > 20_000, `the picture has content (${png.length} bytes)`);
    if (Deno.env.get("UPDATE_SCREENSHOTS") === "1") {
      await Deno.mkdir(`${ROOT}docs/img`, { recursive: true });
      await Deno.copyFile(file, `${ROOT}docs/img/status_page.png`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Status documents as the page's proxy saw them (only the fields the test reads). */
interface SeenStatus {
  totals: { messages: number; written: number; rooms: number };
  rooms: { roomId: number }[];
}

Deno.test("in Chromium the page of a real collect --http run shows every room and its totals change without a reload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "status_page_e2e_" });
  try {
    await using sim = await startSimulator({ rooms: 6, seed: 15, rate: 40, log: () => {} });
    const rooms = liveRooms(sim);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "collect",
        ...spawnedCollectFlags(`${dir}/e2e.db`, sim, rooms),
        "--http",
        "127.0.0.1:0",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
    })();
    try {
      await waitFor(() => /msg="http listening" url=/.test(stderr), "the http server", 90_000);
      const upstream = stderr.match(/msg="http listening" url="?(http:\/\/[^\s"]+)/)![1];
      /** The collector's status document; undefined while it answers 503 (starting). */
      const status = async (): Promise<SeenStatus | undefined> => {
        const res = await fetch(new URL("api/status", upstream));
        if (res.ok) return await res.json();
        await res.body?.cancel();
      };
      const deadline = Date.now() + 90_000;
      for (
        let doc = await status();
        !(doc?.rooms.length === rooms.length && doc.totals.messages > 0);
      ) {
        if (Date.now() > deadline) throw new Error("Timed out waiting for every room's messages");
        await sleep(100);
        doc = await status();
      }

      // The proxy: the page at `/`, counted; each /api/status once its message count moved.
      const served: SeenStatus[] = [];
      let pageLoads = 0;
      const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/") pageLoads++;
        if (path !== "/api/status") return fetch(new URL(path, upstream));
        const before = served.at(-1)?.totals.messages ?? -1;
        let next = await status();
        for (let i = 0; i < 100 && (next?.totals.messages ?? before) === before; i++) {
          await sleep(100);
          next = await status();
        }
        if (!next) return new Response("collector not answering", { status: 502 });
        served.push(next);
        return Response.json(next);
      });
      try {
        const url = `http://127.0.0.1:${proxy.addr.port}/`;
        const dom = await chromiumDumpDom(url, { waitMs: 9_000, timeoutMs: 120_000 });
        assert.equal(pageLoads, 1, "the page was loaded once, never reloaded");
        const updates = bodyAttr(dom, "data-updates");
        assert.ok(updates >= 3, `several status documents were applied (data-updates=${updates})`);
        assert.deepEqual(
          roomRows(dom).toSorted((a, b) => a - b),
          rooms.toSorted((a, b) => a - b),
          "every room of the run has a row",
        );
        const shown = Number(cardText(dom, "msgPerS").sub.replace(/\D/g, ""));
        assert.ok(
          shown > served[0].totals.messages,
          `the messages total moved past the first update's ${served[0].totals.messages}: ${shown}`,
        );
        assert.ok(
          served.slice(1).some((d) => d.totals.messages === shown),
          "the total shown is one a later update carried",
        );
        assert.equal(cardText(dom, "rooms").value.split(" / ")[1], String(rooms.length));
        assert.doesNotMatch(dom, /id="banner"[^>]*class="[^"]*shown/, "no error banner");
      } finally {
        await proxy.shutdown();
      }
    } finally {
      child.kill("SIGINT");
      await child.status;
      await reading;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
