import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BilibiliApi } from "../src/bilibili/api_client.ts";
import { type HttpGet, nodeHttpGet } from "../src/bilibili/http_get.ts";
import { LiveWebId } from "../src/bilibili/live_page.ts";
import { runCollector } from "../src/collector/collector.ts";
import { RoomDiscovery } from "../src/discovery/room_discovery.ts";
import { listLiveRooms } from "../src/discovery/room_lists.ts";
import type { RoomSet } from "../src/discovery/room_set.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import type { SimRoom } from "../src/simulator/world.ts";
import { systemClock } from "../src/util/clock.ts";
import { RateLimiter } from "../src/util/rate_limiter.ts";
import { seededRandom } from "./support/samples.ts";
import { fastCollectConfig, waitFor } from "./support/collect_helpers.ts";
import { ManualClock } from "./support/manual_clock.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

function fastApi(
  apiBase: string,
  extra: Partial<ConstructorParameters<typeof BilibiliApi>[0]> = {},
) {
  return new BilibiliApi({
    limiter: new RateLimiter({ perSecond: 1000, clock: systemClock }),
    clock: systemClock,
    apiBase,
    ...extra,
  });
}

/** Rows in `table` of the database at `path` so far; 0 while the file or table does not exist. */
function storedRows(path: string, table: string): number {
  try {
    using db = new DatabaseSync(path, { readOnly: true });
    return Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? 0);
  } catch {
    return 0;
  }
}

/** A RoomSet over a plain Set, as the supervisor would keep it. */
function roomSet(initial: number[] = []): RoomSet & { ids: Set<number> } {
  const ids = new Set(initial);
  return {
    ids,
    has: (roomId) => ids.has(roomId),
    add: (roomId) => !ids.has(roomId) && Boolean(ids.add(roomId)),
    remove: (roomId) => Promise.resolve(ids.delete(roomId)),
    status: () => ({ rooms: ids.size }),
  };
}

/** An HttpGet that fails like a machine without a route to Bilibili while `down()` says so. */
function unreachableWhile(down: () => boolean): HttpGet {
  return (url, options) =>
    down()
      ? Promise.reject(new Error("getaddrinfo ENOTFOUND api.live.bilibili.com"))
      : nodeHttpGet(url, options);
}

function byPopularity(rooms: readonly SimRoom[]): number[] {
  return rooms.filter((r) => r.live).sort((a, b) =>
    b.popularity - a.popularity || a.roomId - b.roomId
  )
    .map((r) => r.roomId);
}

Deno.test("listLiveRooms() pages through the popularity list in ranking order", async () => {
  await using sim = await startSimulator({ rooms: 400, seed: 31, log: () => {} });
  const api = fastApi(sim.api);
  const rooms = await listLiveRooms(api, { sort: "online", limit: 120, pageSize: 30 });
  assert.deepEqual(rooms.map((r) => r.roomId), byPopularity(sim.world.rooms).slice(0, 120));
  assert.equal(api.requests.get("/room/v3/area/getRoomList"), 4, "four pages of 30");
  assert.ok(rooms.every((r, i) => i === 0 || rooms[i - 1].online >= r.online));
});

Deno.test("listLiveRooms() lists the newest started rooms first", async () => {
  await using sim = await startSimulator({ rooms: 200, seed: 32, log: () => {} });
  const rooms = await listLiveRooms(fastApi(sim.api), { sort: "live_time", limit: 40 });
  const newest = sim.world.rooms.filter((r) => r.live)
    .sort((a, b) => b.liveTime - a.liveTime || a.roomId - b.roomId).map((r) => r.roomId);
  assert.deepEqual(rooms.map((r) => r.roomId), newest.slice(0, 40));
});

Deno.test("listLiveRooms() stops at the end of the list", async () => {
  await using sim = await startSimulator({ rooms: 50, seed: 33, log: () => {} });
  const live = sim.world.rooms.filter((r) => r.live).length;
  const api = fastApi(sim.api);
  const rooms = await listLiveRooms(api, { sort: "online", limit: 1000, pageSize: 30 });
  assert.equal(rooms.length, live);
  assert.ok((api.requests.get("/room/v3/area/getRoomList") ?? 0) <= Math.ceil(live / 30) + 1);
});

Deno.test("main.ts rooms --top 120 prints the 120 most popular live rooms as JSONL", async () => {
  await using sim = await startSimulator({ rooms: 300, seed: 34, log: () => {} });
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "rooms",
      "--top",
      "120",
      "--format",
      "jsonl",
      "--api-base",
      sim.api,
      "--api-rate",
      "500",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const rows = new TextDecoder().decode(output.stdout).trim().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.equal(rows.length, 120);
  assert.deepEqual(rows.map((row) => row.room_id), byPopularity(sim.world.rooms).slice(0, 120));
  const first = sim.world.rooms.find((r) => r.roomId === rows[0].room_id)!;
  assert.deepEqual(
    [rows[0].uid, rows[0].uname, rows[0].title, rows[0].online],
    [first.uid, first.uname, first.title, first.popularity],
  );
  assert.ok("area" in rows[0] && "live_time" in rows[0]);
});

Deno.test("a burst of 412 answers makes discovery back off instead of retrying at full speed", async () => {
  await using sim = await startSimulator({
    rooms: 300,
    seed: 35,
    httpRateLimit: 5,
    httpBanMs: 2000,
    log: () => {},
  });
  const logs: string[] = [];
  const api = fastApi(sim.api, { bannedPauseMs: 1000, log: (line) => logs.push(line) });
  const started = Date.now();
  let failures = 0;
  while (Date.now() - started < 3000) {
    try {
      await listLiveRooms(api, { sort: "online", limit: 300, pageSize: 30 });
    } catch (error) {
      assert.equal((error as { code?: number }).code, -412);
      failures++;
    }
  }
  // At 1000 requests/s a client that ignored 412 would send thousands; the pause (1 s, then 2 s)
  // lets only a handful through.
  assert.ok(failures >= 1, "the simulator answered 412");
  assert.ok(sim.counters.http412 >= 1);
  assert.ok(sim.counters.httpRequests < 30, `${sim.counters.httpRequests} requests in 3 s`);
  assert.ok(
    logs.some((line) => /msg="API asked us to slow down" .*code=-412 .*pause_ms=1000/.test(line)),
  );
});

Deno.test("collect --top follows a room that goes live by the first poll after it went live", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using sim = await startSimulator({ rooms: 60, seed: 36, rate: 20, log: () => {} });
    const offline = sim.world.rooms.find((r) => !r.live)!;
    const stop = new AbortController();
    // Polls logged since the room went live, and the first one after which it was collected.
    let collected: (() => boolean) | undefined;
    let polls = 0;
    let addedAtPoll = 0;
    await runCollector(
      fastCollectConfig(`${dir}/new.db`, sim.api, ["--top", "5", "--new-poll-interval", "1s"]),
      {
        clock: systemClock,
        random: seededRandom(3),
        log: (line) => {
          if (!collected || !line.includes('msg="discovery poll"')) return;
          polls++;
          if (addedAtPoll === 0 && collected()) addedAtPoll = polls;
        },
        rooms: [],
        onStarted: async ({ supervisor, discovery }) => {
          // Top rooms added and the baseline of the newest list taken.
          await waitFor(() => (discovery?.newestScans ?? 0) >= 1, "the baseline scan", 30_000);
          assert.equal(supervisor.status().rooms, 5);
          assert.ok(!supervisor.has(offline.roomId));
          sim.setLive(offline.roomId, true);
          collected = () => supervisor.has(offline.roomId);
          await waitFor(() => supervisor.has(offline.roomId), "the new room to be added", 30_000);
          const worker = () => supervisor.workers().find((w) => w.realId === offline.roomId);
          await waitFor(() => worker()?.state === "live", "the new room to connect", 30_000);
          stop.abort();
        },
      },
      stop.signal,
    );
    // The poll that started after the room went live adds it; one already under way may miss it.
    assert.ok(addedAtPoll === 1 || addedAtPoll === 2, `added at poll ${addedAtPoll}`);
    using db = new DatabaseSync(`${dir}/new.db`, { readOnly: true });
    const room = db.prepare("SELECT uname, title, live_status FROM rooms WHERE room_id = ?").get(
      offline.roomId,
    );
    assert.deepEqual({ ...room }, { uname: offline.uname, title: offline.title, live_status: 1 });
    const sessions = db.prepare("SELECT count(*) AS n FROM sessions WHERE room_id = ?").get(
      offline.roomId,
    );
    assert.ok(Number(sessions?.n) >= 1, "the new room was connected");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect --max-rooms keeps the most popular rooms: a more popular new room replaces the weakest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using sim = await startSimulator({ rooms: 80, seed: 37, rate: 5, log: () => {} });
    const offline = sim.world.rooms.filter((r) => !r.live).sort((a, b) =>
      b.popularity - a.popularity
    );
    const top = byPopularity(sim.world.rooms).slice(0, 4);
    const weakest = sim.world.rooms.find((r) => r.roomId === top[3])!;
    const strong = offline.find((r) => r.popularity > weakest.popularity)!;
    const weak = [...offline].reverse().find((r) => r.popularity < weakest.popularity)!;
    assert.ok(strong && weak, "the seed has both a stronger and a weaker offline room");
    const stop = new AbortController();
    let after: { strong: boolean; weak: boolean; weakest: boolean; rooms: number } | undefined;
    await runCollector(
      fastCollectConfig(`${dir}/cap.db`, sim.api, [
        "--top",
        "4",
        "--max-rooms",
        "4",
        "--new-poll-interval",
        "300ms",
      ]),
      {
        clock: systemClock,
        random: seededRandom(4),
        log: () => {},
        rooms: [],
        onStarted: async ({ supervisor, discovery }) => {
          const scans = () => discovery?.newestScans ?? 0;
          await waitFor(() => scans() >= 1, "the baseline scan", 30_000);
          sim.setLive(weak.roomId, true);
          sim.setLive(strong.roomId, true);
          await waitFor(() => supervisor.has(strong.roomId), "the stronger room", 30_000);
          // One more whole scan: the weaker room has been offered again and must still be out.
          const seen = scans();
          await waitFor(() => scans() >= seen + 1, "a later scan", 30_000);
          after = {
            strong: supervisor.has(strong.roomId),
            weak: supervisor.has(weak.roomId),
            weakest: supervisor.has(weakest.roomId),
            rooms: supervisor.status().rooms,
          };
          assert.ok((discovery?.skippedAtCap ?? 0) >= 1);
          stop.abort();
        },
      },
      stop.signal,
    );
    assert.deepEqual(after, { strong: true, weak: false, weakest: false, rooms: 4 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect resolves a short room id to its real id", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using sim = await startSimulator({ rooms: 60, seed: 38, rate: 50, log: () => {} });
    const room = sim.world.rooms.find((r) => r.shortId > 0)!;
    sim.setLive(room.roomId, true);
    const stop = new AbortController();
    await runCollector(
      fastCollectConfig(`${dir}/short.db`, sim.api, ["--rooms", String(room.shortId)]),
      {
        clock: systemClock,
        random: seededRandom(5),
        log: () => {},
        rooms: [room.shortId],
        onStarted: async ({ supervisor }) => {
          await waitFor(
            () => storedRows(`${dir}/short.db`, "danmaku") >= 1,
            "a stored danmaku",
            30_000,
          );
          assert.ok(supervisor.has(room.roomId), "known by its real id too");
          stop.abort();
        },
      },
      stop.signal,
    );
    using db = new DatabaseSync(`${dir}/short.db`, { readOnly: true });
    const rooms = db.prepare("SELECT room_id, short_id FROM rooms").all().map((r) => ({ ...r }));
    assert.deepEqual(rooms, [{ room_id: room.roomId, short_id: room.shortId }]);
    const danmaku = db.prepare("SELECT DISTINCT room_id FROM danmaku").all().map((r) => r.room_id);
    assert.deepEqual(danmaku, [room.roomId]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect stops retrying a room once Bilibili locks it, and reports it failed", async () => {
  const dir = await Deno.makeTempDir();
  const logs: string[] = [];
  try {
    await using sim = await startSimulator({ rooms: 20, seed: 39, rate: 50, log: () => {} });
    const room = sim.world.rooms[0];
    sim.setLive(room.roomId, true);
    const stop = new AbortController();
    let state = "";
    await runCollector(
      fastCollectConfig(`${dir}/blocked.db`, sim.api, [
        "--rooms",
        String(room.roomId),
        "--max-backoff",
        "200ms",
      ]),
      {
        clock: systemClock,
        random: seededRandom(6),
        log: (line) => logs.push(line),
        rooms: [room.roomId],
        onStarted: async ({ supervisor }) => {
          await waitFor(() => supervisor.status().byState.live >= 1, "the room to connect", 30_000);
          sim.blockRoom(room.roomId);
          await waitFor(() => supervisor.status().byState.failed >= 1, "the room to fail", 30_000);
          state = supervisor.workers()[0].state;
          stop.abort();
        },
      },
      stop.signal,
    );
    assert.equal(state, "failed");
    assert.ok(
      logs.some((line) =>
        line.includes('msg="room failed permanently, not retrying"') &&
        line.includes(` room=${room.roomId}`) &&
        line.includes("is locked")
      ),
    );
    using db = new DatabaseSync(`${dir}/blocked.db`, { readOnly: true });
    const blocks = db.prepare("SELECT count(*) AS n FROM room_events WHERE cmd = 'ROOM_BLOCK_MSG'")
      .get();
    assert.equal(Number(blocks?.n), 1, "the ROOM_BLOCK_MSG before the lock was stored");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collect --top retries the top list at the next poll when it failed at start", async () => {
  const dir = await Deno.makeTempDir();
  const logs: string[] = [];
  try {
    await using sim = await startSimulator({ rooms: 40, seed: 40, rate: 5, log: () => {} });
    let listCalls = 0;
    const flakyGet: HttpGet = (url, options) => {
      if (url.includes("/getRoomList") && ++listCalls <= 2) {
        return Promise.reject(new Error("getaddrinfo ENOTFOUND api.live.bilibili.com"));
      }
      return nodeHttpGet(url, options);
    };
    const stop = new AbortController();
    let rooms = 0;
    await runCollector(
      fastCollectConfig(`${dir}/retry.db`, sim.api, ["--top", "5", "--new-poll-interval", "300ms"]),
      {
        clock: systemClock,
        random: seededRandom(7),
        log: (line) => logs.push(line),
        rooms: [],
        httpGet: flakyGet,
        onStarted: async ({ supervisor }) => {
          await waitFor(() => supervisor.status().rooms >= 5, "the top rooms", 30_000);
          rooms = supervisor.status().rooms;
          stop.abort();
        },
      },
      stop.signal,
    );
    assert.equal(rooms, 5);
    assert.ok(
      logs.some((line) =>
        line.startsWith(
          'level=warn msg="room discovery failed: nothing is being collected" list=top,newest rooms=0 retry_in_s=1 ',
        )
      ),
      logs.join("\n"),
    );
    assert.ok(logs.some((line) => line.includes('msg="top rooms added" rooms=5')));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("while Bilibili cannot be reached, discovery says once per poll that nothing is collected and when it retries", async () => {
  await using sim = await startSimulator({ rooms: 40, seed: 41, log: () => {} });
  let down = true;
  const api = fastApi(sim.api, { httpGet: unreachableWhile(() => down) });
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const rooms = roomSet();
  const logs: string[] = [];
  const discovery = new RoomDiscovery({
    api,
    supervisor: rooms,
    clock,
    log: (line) => logs.push(line),
    emit: () => {},
    top: 5,
    followNew: true,
    newScan: 30,
    pollIntervalMs: 60_000,
    maxRooms: 100,
  });
  const stop = new AbortController();
  const running = discovery.run(stop.signal);
  const failureLines = () => logs.filter((line) => line.includes("room discovery failed"));
  try {
    await waitFor(() => failureLines().length === 1 && clock.sleepers === 1, "the first poll");
    await clock.advance(60_000);
    await waitFor(() => failureLines().length === 2 && clock.sleepers === 1, "the second poll");
    // The first request that fails is a list or, when the client fetches its device identity
    // first, finger/spi: the line names it either way.
    const detail = '"Cannot reach <path>: getaddrinfo ENOTFOUND api.live.bilibili.com"';
    const shown = failureLines().map((line) =>
      line.replace(/Cannot reach \/[^:"]+:/, "Cannot reach <path>:")
    );
    assert.ok(failureLines().every((line) => /detail="Cannot reach \/[\w/]+:/.test(line)));
    assert.deepEqual(shown, [
      `level=warn msg="room discovery failed: nothing is being collected" list=top,newest rooms=0 retry_in_s=60 retry_at=2026-01-01T12:01:00.000Z failed_polls=1 detail=${detail}`,
      `level=warn msg="room discovery failed: nothing is being collected" list=top,newest rooms=0 retry_in_s=60 retry_at=2026-01-01T12:02:00.000Z failed_polls=2 detail=${detail}`,
    ]);
    down = false;
    await clock.advance(60_000);
    await waitFor(() => rooms.ids.size === 5, "the top rooms once Bilibili answers");
    await waitFor(
      () =>
        logs.some((line) => line === 'level=info msg="room discovery works again" failed_polls=2'),
      "the recovery line",
    );
    assert.equal(failureLines().length, 2, "no failure line once the lists load");
  } finally {
    stop.abort();
    await running;
  }
});

Deno.test("a failed poll with rooms collected says no new rooms are added, retrying when the API pause ends", async () => {
  await using sim = await startSimulator({ rooms: 20, seed: 42, log: () => {} });
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const logs: string[] = [];
  const discovery = new RoomDiscovery({
    api: fastApi(sim.api, { httpGet: unreachableWhile(() => true) }),
    supervisor: roomSet([101, 102]),
    clock,
    log: (line) => logs.push(line),
    // A 412 earlier paused every API call for 10 minutes: the next poll waits for that.
    apiPausedUntil: () => Date.UTC(2026, 0, 1, 12, 10, 0),
    emit: () => {},
    top: 0,
    followNew: true,
    newScan: 30,
    pollIntervalMs: 60_000,
    maxRooms: 100,
  });
  const stop = new AbortController();
  const running = discovery.run(stop.signal);
  try {
    await waitFor(() => logs.length >= 1 && clock.sleepers === 1, "the first poll");
    assert.match(
      logs[0],
      /^level=warn msg="room discovery failed: no new rooms are added" list=newest rooms=2 retry_in_s=600 retry_at=2026-01-01T12:10:00\.000Z failed_polls=1 detail="Cannot reach /,
    );
  } finally {
    stop.abort();
    await running;
  }
});

Deno.test("with getRoomList and getListByAreaID refused, discovery finds a room that went live through second/getList", async () => {
  await using sim = await startSimulator({
    rooms: 80,
    seed: 43,
    log: () => {},
    lists: { refuse: { v3: -352, byArea: -352 } },
  });
  const api = fastApi(sim.api, { riskPauseMs: 10 });
  const webId = new LiveWebId({ api, clock: systemClock });
  const rooms = roomSet();
  const discovery = new RoomDiscovery({
    api,
    supervisor: rooms,
    clock: systemClock,
    log: () => {},
    emit: () => {},
    top: 0,
    followNew: true,
    newScan: 30,
    pollIntervalMs: 100,
    maxRooms: 100,
    webId,
  });
  const stop = new AbortController();
  const running = discovery.run(stop.signal);
  try {
    await waitFor(() => discovery.newestScans >= 1, "the baseline scan", 30_000);
    const offline = sim.world.rooms.find((r) => !r.live)!;
    sim.setLive(offline.roomId, true);
    await waitFor(() => rooms.has(offline.roomId), "the new room", 30_000);
    assert.equal(discovery.addedNew, 1);
    assert.equal(api.requests.get("/room/v3/area/getRoomList"), 1, "refused once, then left alone");
    assert.ok(discovery.lists.backingOffUntil("v3") > Date.now());
    assert.ok((api.requests.get("/xlive/web-interface/v1/second/getList") ?? 0) >= 2);
  } finally {
    stop.abort();
    await running;
  }
});

Deno.test("collect --top finds the most popular rooms through second/getList when the other lists refuse", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using sim = await startSimulator({
      rooms: 120,
      seed: 44,
      rate: 5,
      log: () => {},
      lists: { refuse: { v3: -404, byArea: -404 } },
    });
    const stop = new AbortController();
    let found: number[] = [];
    await runCollector(
      fastCollectConfig(`${dir}/second.db`, sim.api, ["--top", "5", "--new-poll-interval", "1s"]),
      {
        clock: systemClock,
        random: seededRandom(8),
        log: () => {},
        rooms: [],
        onStarted: async ({ supervisor, api }) => {
          await waitFor(() => supervisor.status().rooms >= 5, "the top rooms", 30_000);
          found = byPopularity(sim.world.rooms).slice(0, 5).filter((id) => supervisor.has(id));
          assert.ok((api.requests.get("/xlive/web-interface/v1/second/getList") ?? 0) >= 1);
          stop.abort();
        },
      },
      stop.signal,
    );
    assert.equal(found.length, 5, "the five most popular live rooms");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
