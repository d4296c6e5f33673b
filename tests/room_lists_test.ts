import assert from "node:assert/strict";
import { BilibiliApi, type DanmuInfo } from "../src/bilibili/api_client.ts";
import { type HttpGet, nodeHttpGet } from "../src/bilibili/http_get.ts";
import { LiveWebId } from "../src/bilibili/live_page.ts";
import { listLiveRooms, RoomLists } from "../src/discovery/room_lists.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { AREAS, type SimRoom } from "../src/simulator/world.ts";
import { systemClock } from "../src/util/clock.ts";
import { RateLimiter } from "../src/util/rate_limiter.ts";
import { waitFor } from "./support/collect_helpers.ts";
import { ManualClock } from "./support/manual_clock.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const V3 = "/room/v3/area/getRoomList";
const BY_AREA = "/room/v1/Area/getListByAreaID";
const SECOND = "/xlive/web-interface/v1/second/getList";

function fastApi(
  apiBase: string,
  extra: Partial<ConstructorParameters<typeof BilibiliApi>[0]> = {},
) {
  return new BilibiliApi({
    limiter: new RateLimiter({ perSecond: 1000, clock: systemClock }),
    clock: systemClock,
    apiBase,
    riskPauseMs: 10,
    ...extra,
  });
}

/** The live page's w_webid at the simulator, read as the collector reads it. */
function webIdOf(api: BilibiliApi): LiveWebId {
  return new LiveWebId({ api, clock: systemClock });
}

function order(rooms: readonly SimRoom[], sort: "online" | "live_time"): number[] {
  return rooms.filter((r) => r.live).sort((a, b) =>
    sort === "online"
      ? b.popularity - a.popularity || a.roomId - b.roomId
      : b.liveTime - a.liveTime || a.roomId - b.roomId
  ).map((r) => r.roomId);
}

/** An HttpGet answering -352 to getRoomList from page `from` on, as a risk-controlled list does. */
function v3RefusedFromPage(from: number, seen: string[] = []): HttpGet {
  return (url, options) => {
    const target = new URL(url);
    seen.push(`${target.pathname}?${target.search}`);
    const page = Number(target.searchParams.get("page"));
    if (target.pathname === V3 && page >= from) {
      return Promise.resolve({ status: 200, text: '{"code":-352,"message":"-352","ttl":1}' });
    }
    return nodeHttpGet(url, options);
  };
}

for (const sort of ["online", "live_time"] as const) {
  Deno.test(`listLiveRooms(${sort}) goes on with getListByAreaID from the page where getRoomList was refused`, async () => {
    await using sim = await startSimulator({ rooms: 400, seed: 51, log: () => {} });
    const seen: string[] = [];
    const api = fastApi(sim.api, { httpGet: v3RefusedFromPage(3, seen) });
    const rooms = await listLiveRooms(api, { sort, limit: 150, pageSize: 30 });
    assert.deepEqual(rooms.map((r) => r.roomId), order(sim.world.rooms, sort).slice(0, 150));
    assert.equal(api.requests.get(V3), 3, "pages 1 and 2, then the refused page 3");
    const fallback = seen.filter((s) => s.startsWith(BY_AREA));
    assert.deepEqual(
      fallback.map((s) => new URLSearchParams(s.slice(s.indexOf("?") + 1)).get("page")),
      ["3", "4", "5"],
    );
    const wanted = sort === "online" ? "online" : "livetime";
    assert.ok(fallback.every((s) => s.includes(`sort=${wanted}&`)), fallback.join("\n"));
  });
}

/** The newest live rooms of each parent area, taken in turns as second/getList's pages give them. */
function newestInTurns(rooms: readonly SimRoom[], limit: number): number[] {
  const parents = [...new Set(AREAS.map((a) => a.parentId))];
  const lists = parents.map((parent) =>
    order(rooms.filter((r) => r.area.parentId === parent), "live_time").slice(0, 30)
  );
  const merged: number[] = [];
  for (let i = 0; i < 30; i++) for (const list of lists) if (i < list.length) merged.push(list[i]);
  return merged.slice(0, limit);
}

Deno.test("the newest-started list comes from second/getList (WBI, w_webid) when getRoomList and getListByAreaID are refused", async () => {
  await using sim = await startSimulator({
    rooms: 300,
    seed: 52,
    log: () => {},
    lists: { refuse: { v3: -352, byArea: -352 } },
  });
  const api = fastApi(sim.api);
  const webId = webIdOf(api);
  const logs: string[] = [];
  const rooms = await listLiveRooms(api, {
    sort: "live_time",
    limit: 40,
    webId,
    log: (line) => logs.push(line),
  });
  assert.deepEqual(rooms.map((r) => r.roomId), newestInTurns(sim.world.rooms, 40));
  assert.equal(webId.fetches, 1, "the live page was read once");
  assert.ok((api.requests.get(SECOND) ?? 0) >= 1);
  assert.ok(
    logs.some((line) =>
      line.startsWith('level=warn msg="room list refused, leaving it alone for a while"') &&
      line.includes(`list=${V3} code=-352 backoff_s=60`)
    ),
    logs.join("\n"),
  );
});

Deno.test("second/getList reads the live page again once the server calls its w_webid stale", async () => {
  const simClock = new ManualClock(Date.now());
  await using sim = await startSimulator({
    rooms: 200,
    seed: 53,
    log: () => {},
    clock: simClock,
    tickMs: 0,
    lists: { refuse: { v3: -352, byArea: -352 }, webIdTtlMs: 60_000 },
  });
  const api = fastApi(sim.api);
  const webId = webIdOf(api);
  const lists = new RoomLists(api, { webId, backoffMs: 1 });
  const first = await lists.list({ sort: "live_time", limit: 20 });
  assert.equal(first.length, 20);
  assert.equal(webId.fetches, 1);
  // The simulator's ids expire after a minute; ours is cached for an hour.
  await simClock.advance(61_000);
  const second = await lists.list({ sort: "live_time", limit: 20 });
  assert.deepEqual(second.map((r) => r.roomId), first.map((r) => r.roomId));
  assert.equal(webId.fetches, 2, "the stale id was replaced");
});

Deno.test("a -352 to guests on every room list does not hold back getDanmuInfo", async () => {
  await using sim = await startSimulator({
    rooms: 40,
    seed: 54,
    log: () => {},
    lists: { guests352: true },
  });
  // A -352 pauses the group of the call for 10 minutes here: only the lists may wait that long.
  const api = fastApi(sim.api, { riskPauseMs: 600_000 });
  const stop = new AbortController();
  const listing = listLiveRooms(api, { sort: "live_time", limit: 20, signal: stop.signal })
    .catch((error: unknown) => error);
  await waitFor(() => api.pausedUntil("list") > Date.now(), "the list to be refused", 20_000);
  let info: DanmuInfo | undefined;
  const room = sim.world.rooms.find((r) => r.live)!.roomId;
  const infoCall = api.getDanmuInfo(room, { signal: stop.signal }).then((value) => info = value);
  try {
    await waitFor(() => info !== undefined, "getDanmuInfo while the lists back off", 20_000);
  } finally {
    stop.abort();
    await infoCall.catch(() => {});
  }
  assert.ok(info!.token.length > 0);
  assert.equal(api.pausedUntil("room"), 0, "the room calls never paused");
  const error = await listing;
  assert.ok(error instanceof Error, "the listing gave up once stopped");
});

Deno.test("main.ts rooms --new lists the newest rooms through second/getList when the other lists refuse, with the given User-Agent and the device cookies", async () => {
  await using sim = await startSimulator({
    rooms: 300,
    seed: 55,
    log: () => {},
    lists: { refuse: { v3: -404, byArea: -404 } },
  });
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "rooms",
      "--new",
      "25",
      "--format",
      "jsonl",
      "--api-base",
      sim.api,
      "--api-rate",
      "500",
      "--user-agent",
      "TestBrowser/1.0 (rooms)",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const rows = new TextDecoder().decode(output.stdout).trim().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.deepEqual(rows.map((row) => row.room_id), newestInTurns(sim.world.rooms, 25));
  assert.ok(stderr.includes(`msg="room list failed, trying the next list" list=${V3}`), stderr);
  const page = sim.requests.filter((r) => r.path === "/lol");
  assert.equal(page.length, 1, "the live page was read once");
  const lists = sim.requests.filter((r) => r.path === SECOND || r.path === "/lol");
  assert.ok(lists.every((r) => r.userAgent === "TestBrowser/1.0 (rooms)"));
  assert.ok(lists.every((r) => r.cookies.has("buvid3") && r.cookies.has("buvid4")));
});
