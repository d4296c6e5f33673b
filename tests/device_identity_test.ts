import assert from "node:assert/strict";
import { BilibiliApi, type BilibiliApiOptions } from "../src/bilibili/api_client.ts";
import { findSessdata, loadUserCookie, parseCookieText } from "../src/bilibili/cookies.ts";
import {
  cookiesFromSetCookie,
  deviceCookies,
  mergeDeviceIdentity,
} from "../src/bilibili/device_identity.ts";
import { type HttpGet, nodeHttpGet } from "../src/bilibili/http_get.ts";
import { getRoomList } from "../src/bilibili/room_list_api.ts";
import { ConfigError } from "../src/errors.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { systemClock } from "../src/util/clock.ts";
import { RateLimiter } from "../src/util/rate_limiter.ts";
import { ManualClock } from "./support/manual_clock.ts";

const SESSDATA = "5a9e3b1c%2C1767225600%2C8f2e1*b1CjA-secret";
const BUVID3 = "9F8E7D6C-5B4A-3F2E-1D0C-BA9876543210123456infoc";
const BUVID4 = "11111111-2222-3333-4444-555555555555-026010112-QmFzZTY0PT0=";
const UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0 Test";

/** A browser's cookie for bilibili.com, in the two export formats users have. */
const COOKIES_TXT = [
  "# Netscape HTTP Cookie File",
  "# https://curl.se/docs/http-cookies.html",
  "",
  `.bilibili.com\tTRUE\t/\tFALSE\t1798761600\tbuvid3\t${BUVID3}`,
  ".bilibili.com\tTRUE\t/\tFALSE\t1798761600\tb_nut\t1700000000",
  `.bilibili.com\tTRUE\t/\tFALSE\t1798761600\tbuvid4\t${BUVID4}`,
  `#HttpOnly_.bilibili.com\tTRUE\t/\tTRUE\t1798761600\tSESSDATA\t${SESSDATA}`,
  ".bilibili.com\tTRUE\t/\tFALSE\t1798761600\tbili_jct\t0f0f0f0f0f0f0f0f",
  ".bilibili.com\tTRUE\t/\tFALSE\t1798761600\tDedeUserID\t12345",
  ".example.com\tTRUE\t/\tFALSE\t1798761600\tother\tnot-for-bilibili",
].join("\r\n");
const HEADER_LINE =
  `Cookie: buvid3=${BUVID3}; b_nut=1700000000; buvid4=${BUVID4}; SESSDATA=${SESSDATA}; bili_jct=0f0f0f0f0f0f0f0f; DedeUserID=12345`;
const EXPECTED = new Map([
  ["buvid3", BUVID3],
  ["b_nut", "1700000000"],
  ["buvid4", BUVID4],
  ["SESSDATA", SESSDATA],
  ["bili_jct", "0f0f0f0f0f0f0f0f"],
  ["DedeUserID", "12345"],
]);

/** A simulator without the scheduler timer or the counters log. */
const quietSim = (options: Parameters<typeof startSimulator>[0] = {}) =>
  startSimulator({ seed: "device-identity-test", rooms: 20, tickMs: 0, logEveryMs: 0, ...options });

function client(apiBase: string, extra: Partial<BilibiliApiOptions> = {}) {
  const clock = extra.clock ?? systemClock;
  return new BilibiliApi({
    apiBase,
    clock,
    limiter: new RateLimiter({ perSecond: 0, clock }),
    ...extra,
  });
}

// ---- parsing ---------------------------------------------------------------------------------

Deno.test("parseCookieText() keeps the whole bilibili.com cookie of a cookies.txt export", () => {
  assert.deepEqual(parseCookieText(COOKIES_TXT), EXPECTED);
});

Deno.test("parseCookieText() keeps the whole cookie of a Cookie header line or a = ; string", () => {
  assert.deepEqual(parseCookieText(HEADER_LINE), EXPECTED);
  assert.deepEqual(parseCookieText(`${HEADER_LINE.slice("Cookie: ".length)};\n`), EXPECTED);
  assert.deepEqual(
    parseCookieText(HEADER_LINE.replaceAll("; ", "\n")),
    EXPECTED,
    "one cookie per line",
  );
});

Deno.test("parseCookieText() takes a bare value as SESSDATA and skips malformed pairs", () => {
  assert.deepEqual(parseCookieText(` ${SESSDATA}\n`), new Map([["SESSDATA", SESSDATA]]));
  assert.deepEqual(parseCookieText("two words"), new Map());
  assert.deepEqual(
    parseCookieText('a=1; =nameless; bad name=2; quoted="x"; b=2'),
    new Map([["a", "1"], ["b", "2"]]),
  );
  assert.equal(findSessdata(HEADER_LINE), SESSDATA);
});

Deno.test("parseCookieText() keeps at most 100 cookies", () => {
  const many = Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join("; ");
  assert.equal(parseCookieText(many).size, 100);
});

Deno.test("loadUserCookie() reads the whole cookie from --cookie-file, either format", async () => {
  const dir = await Deno.makeTempDir({ prefix: "device_identity_test_" });
  try {
    for (const text of [COOKIES_TXT, HEADER_LINE]) {
      await Deno.writeTextFile(`${dir}/cookie.txt`, text);
      assert.deepEqual(await loadUserCookie(`${dir}/cookie.txt`, () => undefined), EXPECTED);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadUserCookie() reads the whole cookie from BILIBILI_COOKIE and never echoes it", async () => {
  const env = (name: string) => name === "BILIBILI_COOKIE" ? HEADER_LINE : undefined;
  assert.deepEqual(await loadUserCookie(undefined, env), EXPECTED);
  const noLogin = (name: string) =>
    name === "BILIBILI_COOKIE" ? "buvid3=private-value; bili_jct=0f0f" : undefined;
  await assert.rejects(loadUserCookie(undefined, noLogin), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(!error.message.includes("private-value"), error.message);
    return true;
  });
});

Deno.test("mergeDeviceIdentity() prefers the user's cookie, then the home page, then spi", () => {
  const home = new Map([["buvid3", "HOME-infoc"], ["b_nut", "1750000000"]]);
  const spi = { b3: "SPI-infoc", b4: "SPI-B4" };
  assert.deepEqual(mergeDeviceIdentity({ user: EXPECTED, home, spi }, 1_760_000_000), {
    buvid3: BUVID3,
    buvid4: BUVID4,
    bNut: "1700000000",
    source: "cookie",
  });
  assert.deepEqual(mergeDeviceIdentity({ user: new Map(), home, spi }, 1_760_000_000), {
    buvid3: "HOME-infoc",
    buvid4: "SPI-B4",
    bNut: "1750000000",
    source: "home page",
  });
  assert.deepEqual(mergeDeviceIdentity({ spi }, 1_760_000_000.7), {
    buvid3: "SPI-infoc",
    buvid4: "SPI-B4",
    bNut: "1760000000",
    source: "spi",
  });
  assert.equal(mergeDeviceIdentity({ spi: {} }, 0), undefined);
});

Deno.test("cookiesFromSetCookie() reads name=value and drops the attributes", () => {
  const cookies = cookiesFromSetCookie([
    "buvid3=ABC-infoc; path=/; expires=Fri, 01 Jan 2100 00:00:00 GMT; domain=.bilibili.com",
    "b_nut=1750000000; path=/",
    "broken",
  ]);
  assert.deepEqual(cookies, new Map([["buvid3", "ABC-infoc"], ["b_nut", "1750000000"]]));
  assert.deepEqual(
    deviceCookies({ buvid3: "B3", buvid4: "", bNut: "1", source: "spi" }),
    [["buvid3", "B3"], ["b_nut", "1"]],
  );
});

// ---- against the simulator -------------------------------------------------------------------

Deno.test("BilibiliApi sends the device cookies and the configured User-Agent on every request", async () => {
  await using sim = await quietSim();
  const api = client(sim.api, { userAgent: UA });
  const room = sim.world.rooms[0].roomId;
  await api.roomInit(room);
  await api.getDanmuInfo(room);
  await getRoomList(api, { sortType: "online", page: 1, pageSize: 10 });
  const { device } = await api.identity();
  assert.equal(device.source, "home page");
  assert.match(device.buvid3, /infoc$/);
  assert.match(device.bNut, /^\d{10}$/);
  assert.ok(device.buvid4.length > 20, "buvid4 from spi");

  const [home, spi, ...rest] = sim.requests;
  assert.equal(home.path, "/");
  assert.equal(home.userAgent, UA);
  assert.equal(home.origin, null, "a page visit has no Origin");
  assert.equal(spi.path, "/x/frontend/finger/spi");
  assert.equal(spi.cookies.get("buvid3"), device.buvid3, "spi gets the home page's cookies");
  assert.equal(spi.cookies.get("b_nut"), device.bNut);
  assert.deepEqual(
    rest.map((r) => r.path),
    [
      "/room/v1/Room/room_init",
      "/x/web-interface/nav",
      "/xlive/web-room/v1/index/getDanmuInfo",
      "/room/v3/area/getRoomList",
    ],
  );
  for (const request of [spi, ...rest]) {
    assert.equal(request.userAgent, UA, request.path);
    assert.equal(request.origin, "https://live.bilibili.com", request.path);
    assert.equal(request.referer, "https://live.bilibili.com/", request.path);
  }
  for (const request of rest) {
    assert.equal(request.cookies.get("buvid3"), device.buvid3, request.path);
    assert.equal(request.cookies.get("buvid4"), device.buvid4, request.path);
    assert.equal(request.cookies.get("b_nut"), device.bNut, request.path);
  }
  assert.deepEqual(api.wsHeaders(), {
    "User-Agent": UA,
    "Origin": "https://live.bilibili.com",
    "Cookie": `buvid3=${device.buvid3}; b_nut=${device.bNut}; buvid4=${device.buvid4}`,
  });
});

Deno.test("BilibiliApi uses the cookie's own buvid3/buvid4/b_nut and sends the whole cookie", async () => {
  await using sim = await quietSim();
  const api = client(sim.api, { cookie: EXPECTED });
  const room = sim.world.rooms[1].roomId;
  const identity = await api.identity();
  await api.getDanmuInfo(room);
  assert.deepEqual(identity.device, {
    buvid3: BUVID3,
    buvid4: BUVID4,
    bNut: "1700000000",
    source: "cookie",
  });
  assert.equal(identity.buvid3, BUVID3, "the auth body's buvid is the cookie's buvid3");
  assert.equal(identity.loggedIn, true);
  assert.deepEqual(
    sim.requests.map((r) => r.path),
    ["/x/web-interface/nav", "/xlive/web-room/v1/index/getDanmuInfo"],
    "no home page or spi request",
  );
  for (const request of sim.requests) assert.deepEqual(request.cookies, EXPECTED, request.path);
  assert.equal(
    api.wsHeaders().Cookie,
    `buvid3=${BUVID3}; b_nut=1700000000; buvid4=${BUVID4}; SESSDATA=${SESSDATA}; bili_jct=0f0f0f0f0f0f0f0f; DedeUserID=12345`,
  );
});

Deno.test("simulate requireBuvid4: getDanmuInfo answers -352 to a client that sends no buvid4", async () => {
  await using sim = await quietSim({ requireBuvid4: true });
  const room = sim.world.rooms[2].roomId;
  const withoutBuvid4: HttpGet = (url, options) => {
    const cookie = (options.headers.Cookie ?? "").split("; ")
      .filter((pair) => !pair.startsWith("buvid4=")).join("; ");
    return nodeHttpGet(url, { ...options, headers: { ...options.headers, Cookie: cookie } });
  };
  await assert.rejects(
    client(sim.api, { httpGet: withoutBuvid4 }).getDanmuInfo(room),
    /getDanmuInfo: server replied code -352/,
  );
  assert.equal(sim.counters.http352, 1);
  const info = await client(sim.api).getDanmuInfo(room);
  assert.ok(info.token.length > 0);
  assert.equal(sim.counters.http352, 1);
});

Deno.test("BilibiliApi re-checks nav after invalidateIdentity(): an expired SESSDATA becomes uid 0 with one warning", async () => {
  const clock = new ManualClock();
  await using sim = await quietSim({ clock });
  const logs: string[] = [];
  const api = client(sim.api, {
    clock,
    cookie: EXPECTED,
    identityRecheckMs: 60_000,
    log: (line) => logs.push(line),
  });
  const before = await api.identity();
  assert.equal(before.loggedIn, true);
  assert.ok(before.uid > 0);
  const navs = () => sim.requests.filter((r) => r.path === "/x/web-interface/nav").length;
  assert.equal(navs(), 1);

  sim.expireSessions();
  api.invalidateIdentity(); // too soon after the last check: no re-check yet
  assert.equal(await api.identity(), before);
  assert.equal(navs(), 1);

  await clock.advance(60_000);
  api.invalidateIdentity();
  const after = await api.identity();
  assert.deepEqual([after.uid, after.loggedIn, after.device], [0, false, before.device]);
  assert.equal(navs(), 2);
  const warnings = () => logs.filter((line) => line.startsWith("level=warn"));
  assert.deepEqual(warnings(), [
    'level=warn msg="The SESSDATA cookie is no longer accepted (expired or logged out): going on anonymously as uid 0, names will be masked"',
  ]);

  // The login cookies are no longer sent: getDanmuInfo's token is for uid 0, as the auth body.
  await api.getDanmuInfo(sim.world.rooms[0].roomId);
  const last = sim.requests.at(-1)!;
  assert.equal(last.cookies.get("SESSDATA"), undefined);
  assert.equal(last.cookies.get("buvid3"), BUVID3);
  assert.ok(!(api.wsHeaders().Cookie ?? "").includes("SESSDATA"));

  await clock.advance(60_000);
  api.invalidateIdentity();
  assert.equal((await api.identity()).uid, 0);
  assert.equal(navs(), 3);
  assert.equal(warnings().length, 1, "warned once");
  assert.ok(logs.every((line) => !line.includes("secret") && !line.includes(BUVID3)));
});

Deno.test("BilibiliApi re-checks nav once the identity is identityMaxAgeMs old", async () => {
  const clock = new ManualClock();
  await using sim = await quietSim({ clock });
  const api = client(sim.api, { clock, cookie: EXPECTED, identityMaxAgeMs: 3_600_000 });
  assert.equal((await api.identity()).loggedIn, true);
  await clock.advance(3_599_999);
  assert.equal((await api.identity()).loggedIn, true);
  sim.expireSessions();
  await clock.advance(1);
  assert.deepEqual([(await api.identity()).uid, (await api.identity()).loggedIn], [0, false]);
  assert.equal(sim.requests.filter((r) => r.path === "/x/web-interface/nav").length, 2);
});

Deno.test("BilibiliApi takes buvid3 from spi, issued now, when the home page cannot be reached (one warning)", async () => {
  const clock = new ManualClock(1_767_225_600_500);
  await using sim = await quietSim({ clock });
  const logs: string[] = [];
  const homeDown: HttpGet = (url, options) =>
    new URL(url).pathname === "/"
      ? Promise.reject(new Error("connect ECONNREFUSED"))
      : nodeHttpGet(url, options);
  const api = client(sim.api, { clock, httpGet: homeDown, log: (line) => logs.push(line) });
  const { device } = await api.identity();
  assert.equal(device.source, "spi");
  assert.match(device.buvid3, /infoc$/);
  assert.equal(device.bNut, "1767225600");
  await api.roomInit(sim.world.rooms[0].roomId);
  const initRequest = sim.requests.at(-1)!;
  assert.equal(initRequest.cookies.get("buvid3"), device.buvid3);
  assert.equal(initRequest.cookies.get("b_nut"), "1767225600");
  assert.deepEqual(logs.filter((line) => line.startsWith("level=warn")), [
    'level=warn msg="Cannot read the home page\'s device cookies: using spi\'s" detail="Cannot reach /: connect ECONNREFUSED"',
  ]);
});
