import assert from "node:assert/strict";
import {
  BilibiliApi,
  type BilibiliApiOptions,
  type DanmuInfo,
} from "../src/bilibili/api_client.ts";
import { type HttpGet, nodeHttpGet } from "../src/bilibili/http_get.ts";
import { ApiError } from "../src/errors.ts";
import { RoomSession } from "../src/room/room_session.ts";
import { connectTransport } from "../src/room/transport.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { systemClock } from "../src/util/clock.ts";
import { RateLimiter } from "../src/util/rate_limiter.ts";
import { ManualClock, settle } from "./support/manual_clock.ts";
import { waitFor } from "./support/collect_helpers.ts";

/** A simulator without the scheduler timer or the counters log. */
const quietSim = (options: Parameters<typeof startSimulator>[0] = {}) =>
  startSimulator({ seed: "api-client-test", rooms: 50, tickMs: 0, logEveryMs: 0, ...options });

/** A browser's device cookies, so a client needs no home page or spi request first. */
const DEVICE_COOKIE: ReadonlyMap<string, string> = new Map([
  ["buvid3", "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D12345infoc"],
  ["b_nut", "1767225600"],
  ["buvid4", "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D-026010100-AbCdEf=="],
]);

function client(apiBase: string, extra: Partial<BilibiliApiOptions> = {}) {
  const clock = extra.clock ?? systemClock;
  return new BilibiliApi({
    apiBase,
    clock,
    limiter: new RateLimiter({ perSecond: 0, clock }),
    ...extra,
  });
}

/** Asserts that `promise` rejects with an ApiError of `code` and `message`. */
async function rejectsApiError(
  promise: Promise<unknown>,
  code: number,
  message: string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${error}`);
    assert.equal(error.name, "ApiError");
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("BilibiliApi.roomInit() resolves a short id to the real room", async () => {
  await using sim = await quietSim();
  const room = sim.world.rooms.find((r) => r.shortId > 0);
  assert.ok(room, "the seeded world has a room with a short id");
  const api = client(sim.api);
  const init = await api.roomInit(room.shortId);
  assert.equal(init.roomId, room.roomId);
  assert.equal(init.shortId, room.shortId);
  assert.equal(init.uid, room.uid);
  assert.equal(init.liveStatus, room.live ? 1 : 0);
  assert.equal(init.liveTime, room.live ? room.liveTime : undefined);
  assert.equal(init.isLocked, false);
  assert.equal(api.requests.get("/room/v1/Room/room_init"), 1);
});

Deno.test("BilibiliApi.roomInit() of a real id returns the same room", async () => {
  await using sim = await quietSim();
  const room = sim.world.rooms.find((r) => r.shortId === 0);
  assert.ok(room);
  const init = await client(sim.api).roomInit(room.roomId);
  assert.equal(init.roomId, room.roomId);
  assert.equal(init.shortId, 0);
});

Deno.test("BilibiliApi.roomInit() of an unknown room throws ApiError 60004", async () => {
  await using sim = await quietSim();
  assert.equal(sim.world.resolve(999_999_999), undefined);
  await rejectsApiError(
    client(sim.api).roomInit(999_999_999),
    60004,
    "Cannot call /room/v1/Room/room_init: server replied code 60004 (直播间不存在)",
  );
});

Deno.test("BilibiliApi.getDanmuInfo() returns a token and hosts pointing at the simulator", async () => {
  await using sim = await quietSim();
  const room = sim.world.rooms[0];
  const api = client(sim.api);
  const info = await api.getDanmuInfo(room.roomId);
  assert.equal(typeof info.token, "string");
  assert.ok(info.token.length > 0);
  assert.ok(info.hosts.length > 0);
  const [tcpHost, tcpPort] = sim.tcp.split(":");
  const wsPort = Number(new URL(sim.ws).port);
  for (const host of info.hosts) {
    assert.deepEqual(host, { host: tcpHost, port: Number(tcpPort), wsPort, wssPort: wsPort });
  }
  // It signed the request (WBI) and sent buvid3, or the simulator would have answered -352.
  assert.equal(sim.counters.http352, 0);
  assert.equal(api.requests.get("/x/frontend/finger/spi"), 1);
  assert.equal(api.requests.get("/x/web-interface/nav"), 1);
});

Deno.test("BilibiliApi.getDanmuInfo() token authenticates on the simulator's danmaku server", async () => {
  await using sim = await quietSim();
  const room = sim.world.rooms[0];
  const api = client(sim.api, { sessdata: "abc%2C1767225600%2Cdef*b1" });
  const identity = await api.identity();
  const info = await api.getDanmuInfo(room.roomId);
  using transport = await connectTransport({ kind: "tcp", host: info.hosts[0] });
  const session: RoomSession = new RoomSession({
    transport,
    clock: systemClock,
    auth: {
      uid: identity.uid,
      roomid: room.roomId,
      protover: 3,
      platform: "web",
      type: 2,
      key: info.token,
      buvid: identity.buvid3,
    },
    onMessage: () => {},
    onAuthenticated: () => session.stop("stopped", "authenticated"),
  });
  const outcome = await session.run();
  assert.equal(outcome.authenticated, true);
  assert.deepEqual([outcome.reason, outcome.detail], ["stopped", "authenticated"]);
  assert.equal(sim.counters.authAccepted, 1);
  assert.equal(sim.counters.authRejected, 0);
});

Deno.test("BilibiliApi.identity() with a SESSDATA cookie is logged in with a non-zero uid", async () => {
  await using sim = await quietSim();
  const logs: string[] = [];
  const api = client(sim.api, { sessdata: "abc%2C1767225600%2Cdef*b1", log: (l) => logs.push(l) });
  const identity = await api.identity();
  assert.equal(identity.loggedIn, true);
  assert.ok(Number.isSafeInteger(identity.uid) && identity.uid > 0, `uid ${identity.uid}`);
  assert.match(identity.buvid3, /infoc$/);
  assert.deepEqual(logs.filter((line) => !line.startsWith("level=info")), []);
  assert.equal(await api.identity(), identity, "the identity is fetched once and shared");
  assert.equal(api.requests.get("/x/frontend/finger/spi"), 1);
});

Deno.test("BilibiliApi.identity() without a cookie is anonymous with uid 0", async () => {
  await using sim = await quietSim();
  const identity = await client(sim.api).identity();
  assert.equal(identity.loggedIn, false);
  assert.equal(identity.uid, 0);
  assert.ok(identity.buvid3.length > 0);
});

Deno.test("BilibiliApi never logs the SESSDATA cookie, even in its warnings", async () => {
  await using sim = await quietSim({ httpRateLimit: 1 });
  const sessdata = "secret%2C1767225600%2Cvalue*b1";
  const logs: string[] = [];
  const api = client(sim.api, { sessdata, cookie: DEVICE_COOKIE, log: (l) => logs.push(l) });
  await api.roomInit(sim.world.rooms[0].roomId);
  await assert.rejects(api.roomInit(sim.world.rooms[0].roomId), ApiError); // 412: logs a warning
  assert.equal(logs.filter((line) => line.startsWith("level=warn")).length, 1);
  assert.ok(logs.every((line) => !line.includes("secret")));
});

Deno.test("BilibiliApi pauses the room calls, and the lists with them, after a 412 answer", async () => {
  const clock = new ManualClock();
  await using sim = await quietSim({ httpRateLimit: 1, httpBanMs: 10_000, clock });
  const limiter = new RateLimiter({ perSecond: 0, clock });
  const logs: string[] = [];
  const api = new BilibiliApi({
    apiBase: sim.api,
    clock,
    limiter,
    cookie: DEVICE_COOKIE,
    bannedPauseMs: 60_000,
    log: (l) => logs.push(l),
  });
  const roomId = sim.world.rooms[0].roomId;
  await api.roomInit(roomId);
  assert.equal(api.pausedUntil("room"), 0);

  await rejectsApiError(
    api.roomInit(roomId),
    -412,
    "Cannot call /room/v1/Room/room_init: HTTP 412, the IP is being rate limited",
  );
  assert.equal(sim.counters.http412, 1);
  assert.equal(api.pausedUntil("room"), clock.now() + 60_000);
  // HTTP 412 bans the IP: the lists (same IP) wait too, the other way round they do not.
  assert.equal(api.pausedUntil("list"), clock.now() + 60_000, "the room lists wait too");
  assert.deepEqual(logs.filter((line) => line.startsWith("level=warn")), [
    'level=warn msg="API asked us to slow down" path=/room/v1/Room/room_init code=-412 pause_ms=60000 group=room',
  ]);

  // The next room call waits out the pause before sending.
  const sentBefore = sim.counters.httpRequests;
  let resolved = false;
  const next = api.roomInit(roomId).then((init) => {
    resolved = true;
    return init;
  });
  await clock.advance(59_999);
  assert.equal(resolved, false);
  assert.equal(sim.counters.httpRequests, sentBefore, "no request was sent during the pause");
  assert.equal(api.requests.get("/room/v1/Room/room_init"), 2);
  await clock.advance(1);
  assert.equal((await next).roomId, roomId);
  assert.equal(sim.counters.httpRequests, sentBefore + 1);
});

Deno.test("BilibiliApi doubles the pause on consecutive 412 answers", async () => {
  const clock = new ManualClock();
  await using sim = await quietSim({ httpRateLimit: 1, httpBanMs: 3_600_000, clock });
  const limiter = new RateLimiter({ perSecond: 0, clock });
  const api = new BilibiliApi({
    apiBase: sim.api,
    clock,
    limiter,
    cookie: DEVICE_COOKIE,
    bannedPauseMs: 1000,
  });
  const roomId = sim.world.rooms[0].roomId;
  await api.roomInit(roomId);
  await assert.rejects(api.roomInit(roomId), ApiError);
  assert.equal(api.pausedUntil() - clock.now(), 1000);

  const second = assert.rejects(
    api.roomInit(roomId),
    (e: unknown) => (e as ApiError).code === -412,
  );
  await clock.advance(1000);
  await second;
  assert.equal(api.pausedUntil() - clock.now(), 2000);

  const third = assert.rejects(api.roomInit(roomId), (e: unknown) => (e as ApiError).code === -412);
  await clock.advance(2000);
  await third;
  assert.equal(api.pausedUntil() - clock.now(), 4000);
});

Deno.test("BilibiliApi calls return ApiError 'cancelled' when aborted while the limiter waits", async () => {
  await using sim = await quietSim();
  const clock = new ManualClock();
  const limiter = new RateLimiter({ perSecond: 0, clock });
  limiter.pauseFor(60_000);
  const api = client(sim.api, { clock, limiter, cookie: DEVICE_COOKIE });
  const controller = new AbortController();
  const call = api.roomInit(sim.world.rooms[0].roomId, { signal: controller.signal });
  await settle();
  controller.abort();
  await rejectsApiError(call, 0, "Cannot call /room/v1/Room/room_init: cancelled");
  assert.equal(sim.counters.httpRequests, 0);
});

Deno.test("BilibiliApi: a -352 on a room list pauses only the list calls, not getDanmuInfo", async () => {
  const clock = new ManualClock();
  await using sim = await quietSim({ clock });
  const listPath = "/room/v3/area/getRoomList";
  let listRequests = 0;
  const httpGet: HttpGet = (url, options) => {
    if (new URL(url).pathname !== listPath) return nodeHttpGet(url, options);
    listRequests++;
    return Promise.resolve({ status: 200, text: '{"code":-352,"message":"-352","ttl":1}' });
  };
  const api = client(sim.api, { clock, httpGet, riskPauseMs: 5000 });
  const list = () => api.call("live", listPath, "page=1", { group: "list" });
  await rejectsApiError(list(), -352, `Cannot call ${listPath}: server replied code -352 (-352)`);
  assert.equal(api.pausedUntil("list"), clock.now() + 5000);
  assert.equal(api.pausedUntil("room"), 0);

  // The list stays paused (its next call waits on the clock), while room calls go ahead.
  const stop = new AbortController();
  const nextList = list().catch((error: unknown) => error);
  let info: DanmuInfo | undefined;
  const room = sim.world.rooms[0].roomId;
  const infoCall = api.getDanmuInfo(room, { signal: stop.signal }).then((value) => info = value);
  try {
    await waitFor(() => info !== undefined, "getDanmuInfo while the list is paused", 20_000);
  } finally {
    stop.abort();
    await infoCall.catch(() => {});
  }
  assert.equal(listRequests, 1, "the paused list call was not sent");
  await clock.advance(5000);
  assert.ok((await nextList) instanceof ApiError);
  assert.equal(listRequests, 2);
  assert.equal(api.pausedUntil("list"), clock.now() + 10_000, "the list pause doubles");
});
