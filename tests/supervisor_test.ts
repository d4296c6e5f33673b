import assert from "node:assert/strict";
import { BilibiliApi, type DanmuInfo, type RoomInit } from "../src/bilibili/api_client.ts";
import { fullGc } from "../src/collector/ramp_gc.ts";
import { Supervisor } from "../src/collector/supervisor.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { systemClock } from "../src/util/clock.ts";
import { liveRooms, sleep, waitFor } from "./support/collect_helpers.ts";
import { simulatorWorkerDeps, unlimited } from "./support/worker_deps.ts";

/** The real client, each room call held 30 ms and counted while in flight. */
class CountingApi extends BilibiliApi {
  inFlight = 0;
  mostInFlight = 0;

  async #counted<T>(call: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      await sleep(30);
      return await call();
    } finally {
      this.inFlight--;
    }
  }

  override roomInit(id: number, options?: { signal?: AbortSignal }): Promise<RoomInit> {
    return this.#counted(() => super.roomInit(id, options));
  }

  override getDanmuInfo(roomId: number, options?: { signal?: AbortSignal }): Promise<DanmuInfo> {
    return this.#counted(() => super.getDanmuInfo(roomId, options));
  }
}

Deno.test("Supervisor sets up at most setupConcurrency rooms at once, each giving its slot back once connected", async () => {
  await using sim = await startSimulator({ seed: "ramp", rooms: 12, rate: 1, log: () => {} });
  const rooms = liveRooms(sim);
  assert.ok(rooms.length >= 8, `${rooms.length} live rooms`);
  const clock = systemClock;
  const api = new CountingApi({ apiBase: sim.api, clock, limiter: unlimited() });
  const supervisor = new Supervisor({
    clock,
    log: () => {},
    silence: false,
    setupConcurrency: 3,
    deps: simulatorWorkerDeps(sim.api, { api }),
  });
  const stop = new AbortController();
  for (const room of rooms) supervisor.add(room);
  const running = supervisor.run(stop.signal);
  try {
    await waitFor(
      () => supervisor.status().byState.live === rooms.length,
      "every room live (slots are given back once connected)",
    );
  } finally {
    stop.abort();
    await running;
  }
  assert.ok(api.mostInFlight >= 2, `the rooms overlapped at all: ${api.mostInFlight}`);
  assert.ok(api.mostInFlight <= 3, `${api.mostInFlight} room calls in flight at once`);
});

Deno.test("Supervisor brings rooms live while busy rooms hold the read gate closed: a reader waits at the gate only once its auth reply came", async () => {
  await using sim = await startSimulator({ seed: "busy-ramp", rooms: 6, rate: 50, log: () => {} });
  const rooms = liveRooms(sim);
  const clock = systemClock;
  // The read gate of a full queue: it closes at the first message (the busy rooms filled the
  // queue) and stays closed until the end, as it did through the collect suite's 32-wide ramp.
  // Every room after the first asks for its token only then: it connects behind a closed gate.
  let full = false;
  const closed = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  let tokens = 0;
  class LateApi extends BilibiliApi {
    override async getDanmuInfo(
      roomId: number,
      options?: { signal?: AbortSignal },
    ): Promise<DanmuInfo> {
      if (tokens++ > 0) await closed.promise;
      return await super.getDanmuInfo(roomId, options);
    }
  }
  const supervisor = new Supervisor({
    clock,
    log: () => {},
    silence: false,
    setupConcurrency: 2,
    deps: simulatorWorkerDeps(sim.api, {
      api: new LateApi({ apiBase: sim.api, clock, limiter: unlimited() }),
      emit: (event) => {
        if (event.type === "room" || event.type === "session" || full) return;
        full = true;
        closed.resolve();
      },
      authTimeoutMs: 60_000,
      beforeRead: () => full ? gate.promise : undefined,
    }),
  });
  const stop = new AbortController();
  for (const room of rooms) supervisor.add(room);
  const running = supervisor.run(stop.signal);
  const heldBeforeAuth = () =>
    supervisor.workers().filter((w) => w.session?.paused && !w.session.authenticated).length;
  try {
    await waitFor(
      () => supervisor.status().byState.live === rooms.length || heldBeforeAuth() > 0,
      "every room live, or a reader held at the gate before its auth reply",
    );
    assert.ok(full, "the gate closed during the ramp");
    assert.equal(heldBeforeAuth(), 0, "readers held at the gate before their auth reply");
    assert.equal(supervisor.status().byState.live, rooms.length);
    await waitFor(
      () => supervisor.workers().every((w) => w.session?.paused),
      "every reader waiting at the closed gate once authenticated",
    );
  } finally {
    stop.abort();
    closed.resolve();
    await running;
    gate.resolve();
  }
});

Deno.test("Supervisor runs one full GC once a ramp of rampGc.minSetups room setups has been idle for delayMs, and none for fewer", async () => {
  await using sim = await startSimulator({ seed: "ramp-gc", rooms: 8, rate: 1, log: () => {} });
  const rooms = liveRooms(sim);
  const clock = systemClock;
  const gcs: number[] = [];
  const supervisor = new Supervisor({
    clock,
    log: () => {},
    silence: false,
    setupConcurrency: 2,
    rampGc: {
      minSetups: rooms.length,
      delayMs: 100,
      followUpMs: 0,
      collect: () => gcs.push(Date.now()),
    },
    deps: simulatorWorkerDeps(sim.api),
  });
  const stop = new AbortController();
  for (const room of rooms.slice(0, -1)) supervisor.add(room);
  const running = supervisor.run(stop.signal);
  try {
    await waitFor(() => supervisor.status().byState.live === rooms.length - 1, "7 rooms live");
    await sleep(300);
    assert.deepEqual(gcs, [], "7 setups are below minSetups: no GC");
    const lastAddedAt = Date.now();
    supervisor.add(rooms.at(-1)!);
    await waitFor(() => supervisor.rampGcs === 1, "one GC after the 8th setup");
    await sleep(300);
    assert.equal(gcs.length, 1, "one GC per ramp");
    assert.ok(gcs[0] - lastAddedAt >= 100, "not before the setups were idle for delayMs");
    assert.equal(supervisor.status().byState.live, rooms.length);
  } finally {
    stop.abort();
    await running;
  }
});

Deno.test("fullGc() runs a full collection in this runtime", () => {
  assert.equal(fullGc(), true);
});

Deno.test("Supervisor's sweep starts a room whose worker crashed again, and remove() stops a live room's worker", async () => {
  await using sim = await startSimulator({ seed: "crash", rooms: 3, rate: 1, log: () => {} });
  const [room] = liveRooms(sim);
  const lines: string[] = [];
  let crashes = 0;
  const supervisor = new Supervisor({
    clock: systemClock,
    log: (line) => lines.push(line),
    silence: false,
    sweepIntervalMs: 50,
    deps: simulatorWorkerDeps(sim.api, {
      log: (line) => lines.push(line),
      emit: (event) => {
        // The first room event throws out of the worker: a crash, not a failure of the room.
        if (event.type === "room" && crashes++ === 0) throw new Error("emit broke");
      },
    }),
  });
  const stop = new AbortController();
  supervisor.add(room);
  const running = supervisor.run(stop.signal);
  try {
    await waitFor(() => supervisor.status().byState.live === 1, "the room live after a restart");
    assert.equal(supervisor.restarts, 1);
    assert.ok(
      lines.some((line) => line.includes("room worker crashed") && line.includes("emit broke")),
      lines.join("\n"),
    );
    const [worker] = supervisor.workers();
    assert.ok(await supervisor.remove(room), "removed");
    assert.equal(worker.state, "stopped");
    assert.equal(worker.session, undefined);
    assert.equal(supervisor.status().rooms, 0);
  } finally {
    stop.abort();
    await running;
  }
});
