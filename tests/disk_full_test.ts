/**
 * A full disk on the real SqliteStore: `PRAGMA max_page_count` on the store's own connection
 * makes its real write path fail with SQLITE_FULL, and raising it gives the space back.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCollector } from "../src/collector/collector.ts";
import { EventQueue } from "../src/collector/event_queue.ts";
import { Flusher } from "../src/collector/flusher.ts";
import type { DanmakuEvent } from "../src/normalize/events.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { systemClock } from "../src/util/clock.ts";
import { fastCollectConfig, waitFor } from "./support/collect_helpers.ts";
import { ManualClock } from "./support/manual_clock.ts";
import { seededRandom } from "./support/samples.ts";
import { danmaku as danmakuEvent } from "./support/export_fixture.ts";

const FAILING = 'msg="Writes are failing';
const RECOVERED = 'msg="Writes succeed again"';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_full_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function danmaku(n: number): DanmakuEvent {
  return danmakuEvent({
    roomId: 6154037,
    receivedAtMs: 1_750_000_000_000 + n,
    tsMs: 1_750_000_000_000 + n,
    uid: 0,
    uname: "提***",
    text: `第${n}条弹幕，测试磁盘写满时不丢数据`,
    msgId: `msg-${n}`,
    userHash: "98095d8b",
  });
}

/** Danmaku msg_ids stored more than once, and how many rows there are. */
function storedDanmaku(path: string): { ids: string[]; duplicates: unknown[] } {
  using db = new DatabaseSync(path, { readOnly: true });
  return {
    ids: db.prepare("SELECT msg_id FROM danmaku ORDER BY msg_id").all().map((row) =>
      String(row.msg_id)
    ),
    duplicates: db.prepare(
      "SELECT msg_id, count(*) AS n FROM danmaku GROUP BY msg_id HAVING n > 1",
    ).all().map((row) => ({ ...row })),
  };
}

function count(lines: string[], needle: string): number {
  return lines.filter((line) => line.includes(needle)).length;
}

Deno.test("a full disk under the real store: one error line, events wait in the queue, writing resumes by itself, each stored once", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/full.db`;
    const logs: string[] = [];
    const clock = new ManualClock();
    const queue = new EventQueue();
    using store = SqliteStore.open(path);
    const flusher = new Flusher({
      queue,
      sink: store,
      clock,
      chunkSize: 100,
      log: (line) => logs.push(line),
    });
    let pushed = 0;
    const push = (n: number) => {
      for (let i = 0; i < n; i++) assert.equal(queue.push(danmaku(pushed++)), true);
    };

    push(300);
    assert.equal(await flusher.flush(), true);
    assert.equal(store.countRows().danmaku, 300);

    const cap = store.setMaxPageCount(1); // no bigger than now: the next new page is "disk full"
    assert.ok(cap > 1);
    for (let round = 0; round < 5; round++) {
      push(1000);
      assert.equal(await flusher.flush(), false, `round ${round} fails`);
      await clock.advance(10_000);
    }
    assert.match(flusher.currentError ?? "", /the disk is full/);
    const failing = logs.filter((line) => line.includes(FAILING));
    assert.equal(failing.length, 1, logs.join("\n"));
    assert.match(
      failing[0],
      new RegExp(
        `^level=error ${FAILING}.* error="Cannot write 100 events to \\\\"${path}\\\\": the disk is full \\(insert event \\d+ into danmaku: database or disk is full\\)" queued=\\d+`,
      ),
    );
    assert.equal(logs.length, 1, "nothing else was logged during five failed flushes");
    // Whole transactions only: what is stored is exactly what the flusher counted as written,
    // in whole chunks, and everything else still waits in the queue.
    const storedWhileFull = store.countRows().danmaku;
    assert.equal(storedWhileFull, flusher.written);
    assert.equal(storedWhileFull % 100, 0);
    assert.equal(storedWhileFull + queue.size, pushed);
    assert.equal(queue.droppedTotal, 0);
    assert.equal(flusher.failures, 5);

    store.setMaxPageCount(1_000_000); // space comes back
    push(10);
    assert.equal(await flusher.flush(), true);
    assert.equal(queue.size, 0);
    assert.equal(count(logs, RECOVERED), 1);
    assert.match(
      logs[1],
      /^level=info msg="Writes succeed again" failed_for_ms=50000 failed_flushes=5 /,
    );
    assert.equal(flusher.currentError, undefined);

    const { ids, duplicates } = storedDanmaku(path);
    assert.deepEqual(duplicates, []);
    assert.equal(ids.length, pushed);
    assert.deepEqual(
      new Set(ids),
      new Set(Array.from({ length: pushed }, (_, i) => `msg-${i}`)),
    );
  });
});

Deno.test("collect with the real store filling up mid-run keeps reading, then stores every danmaku of the truth log exactly once", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/collect_full.db`;
    const truth = new MemoryTruth();
    const logs: string[] = [];
    await using sim = await startSimulator({
      rooms: 5,
      seed: 31,
      rate: 200,
      messagesPerRoom: 300,
      truth,
      log: () => {},
    });
    const rooms = sim.world.rooms.map((room) => room.roomId);
    for (const id of rooms) sim.setLive(id, true);
    const store = SqliteStore.open(path);
    const truthDanmaku = () =>
      truth.lines.filter((line) => line.includes('"cmd":"DANMU_MSG')).map((line) =>
        JSON.parse(line).id as string
      );
    let acceptedWhileFull = 0;
    const stop = new AbortController();
    const summary = await runCollector(fastCollectConfig(path, sim.api, ["--top", "0"]), {
      clock: systemClock,
      random: seededRandom(31),
      log: (line) => logs.push(line),
      rooms,
      sink: store,
      onStarted: async ({ queue, flusher }) => {
        await waitFor(() => flusher.written > 50, "the first rows to be written");
        store.setMaxPageCount(1); // the disk is full from now on
        await waitFor(() => flusher.currentError !== undefined, "a write to fail");
        const acceptedAtFailure = queue.accepted;
        // Every danmaku the rooms sent is read while the disk is full: stored before it filled,
        // or waiting in the queue.
        const queuedDanmaku = () => queue.peek().filter((e) => e.type === "danmaku").length;
        await waitFor(
          () =>
            rooms.every((id) => sim.remaining(id) === 0) &&
            storedDanmaku(path).ids.length + queuedDanmaku() === truthDanmaku().length,
          "every danmaku to be read while the disk is full",
        );
        acceptedWhileFull = queue.accepted - acceptedAtFailure;
        assert.ok(flusher.currentError !== undefined, "still failing when the space returns");
        store.setMaxPageCount(1_000_000);
        await waitFor(
          () => flusher.currentError === undefined && queue.size === 0,
          "writes to resume and the queue to drain",
        );
        stop.abort();
      },
    }, stop.signal);

    assert.ok(acceptedWhileFull > 100, `${acceptedWhileFull} events read while the disk was full`);
    assert.equal(summary.dropped, 0);
    assert.equal(summary.savedTo, undefined);
    const failing = logs.filter((line) => line.includes(FAILING));
    assert.equal(failing.length, 1, logs.join("\n"));
    assert.ok(failing[0].includes("the disk is full") && failing[0].includes(path), failing[0]);
    assert.equal(count(logs, RECOVERED), 1, logs.join("\n"));
    assert.equal(count(logs, "the disk is full"), 1, "the error text is logged once");

    const { ids, duplicates } = storedDanmaku(path);
    assert.deepEqual(duplicates, []);
    const expected = truthDanmaku().sort();
    assert.ok(expected.length > 500, `${expected.length} danmaku sent`);
    assert.deepEqual(ids, expected);
  });
});

Deno.test("collect with the disk full and the queue at its memory limit drops new events, counts them, and says so once", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/collect_drop.db`;
    const truth = new MemoryTruth();
    const logs: string[] = [];
    await using sim = await startSimulator({
      rooms: 5,
      seed: 32,
      rate: 400,
      messagesPerRoom: 1000,
      truth,
      log: () => {},
    });
    const rooms = sim.world.rooms.map((room) => room.roomId);
    for (const id of rooms) sim.setLive(id, true);
    const store = SqliteStore.open(path, { maxPageCount: 1 }); // full from the start
    const truthDanmaku = () =>
      truth.lines.filter((line) => line.includes('"cmd":"DANMU_MSG')).map((line) =>
        JSON.parse(line).id as string
      );
    let peakBytes = 0;
    let droppedDanmaku = 0;
    const stop = new AbortController();
    const summary = await runCollector(
      fastCollectConfig(path, sim.api, ["--top", "0", "--queue-limit", "1MB"]),
      {
        clock: systemClock,
        random: seededRandom(32),
        log: (line) => logs.push(line),
        rooms,
        sink: store,
        onStarted: async ({ queue, flusher }) => {
          const queuedDanmaku = () => queue.peek().filter((e) => e.type === "danmaku").length;
          await waitFor(
            () =>
              rooms.every((id) => sim.remaining(id) === 0) &&
              queuedDanmaku() + (queue.dropped.get("danmaku") ?? 0) === truthDanmaku().length,
            "every danmaku to be read: queued or dropped",
          );
          assert.ok(flusher.currentError !== undefined);
          store.setMaxPageCount(1_000_000);
          await waitFor(
            () => flusher.currentError === undefined && queue.size === 0,
            "writes to resume and the queue to drain",
          );
          peakBytes = queue.peakBytes;
          droppedDanmaku = queue.dropped.get("danmaku") ?? 0;
          stop.abort();
        },
      },
      stop.signal,
    );

    assert.ok(peakBytes <= 1_000_000, `peak ${peakBytes} bytes within the 1 MB budget`);
    assert.ok(droppedDanmaku > 0, "the budget was reached");
    assert.ok(summary.dropped >= droppedDanmaku);
    assert.equal(count(logs, 'msg="Queue is full: dropping new events'), 1, logs.join("\n"));
    assert.ok(count(logs, 'msg="Queue has room again') <= 1);
    assert.equal(count(logs, FAILING), 1);
    assert.equal(count(logs, RECOVERED), 1);
    assert.match(
      logs.find((line) => line.includes('msg="stopped"')) ?? "",
      new RegExp(`dropped=${summary.dropped} `),
    );

    // What was kept is stored once; what was dropped is exactly what is missing.
    const { ids, duplicates } = storedDanmaku(path);
    assert.deepEqual(duplicates, []);
    const sent = new Set(truthDanmaku());
    assert.ok(ids.every((id) => sent.has(id)));
    assert.equal(ids.length + droppedDanmaku, sent.size);
  });
});
