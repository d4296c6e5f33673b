import assert from "node:assert/strict";
import { EventQueue } from "../src/collector/event_queue.ts";
import { Flusher } from "../src/collector/flusher.ts";
import { StorageError } from "../src/errors.ts";
import type { AudienceEvent, CollectedEvent } from "../src/normalize/events.ts";
import { ManualClock, settle } from "./support/manual_clock.ts";

function audience(value: number): AudienceEvent {
  return { type: "audience", roomId: 7, receivedAtMs: value, kind: "watched", value };
}

/** A sink that records every batch it accepted and throws `failWith` while it is set. */
class FakeSink {
  batches: number[][] = [];
  calls = 0;
  failWith: unknown;
  /** Fail only from this call on (1-based), e.g. to break in the middle of a backlog. */
  failFromCall = 1;

  write(events: readonly CollectedEvent[]): void {
    this.calls++;
    if (this.failWith !== undefined && this.calls >= this.failFromCall) throw this.failWith;
    this.batches.push(events.map((e) => e.receivedAtMs));
  }

  get written(): number[] {
    return this.batches.flat();
  }
}

function setup(options: { chunkSize?: number; intervalMs?: number } = {}) {
  const clock = new ManualClock();
  const queue = new EventQueue();
  const sink = new FakeSink();
  const logs: string[] = [];
  const flusher = new Flusher({
    queue,
    sink,
    clock,
    log: (line) => logs.push(line),
    ...options,
  });
  const push = (...values: number[]) => values.forEach((v) => queue.push(audience(v)));
  return { clock, queue, sink, logs, flusher, push };
}

Deno.test("Flusher.flush() writes everything queued and empties the queue", async () => {
  const { queue, sink, logs, flusher, push } = setup();
  push(1, 2, 3);
  assert.equal(await flusher.flush(), true);
  assert.deepEqual(sink.batches, [[1, 2, 3]]);
  assert.equal(queue.size, 0);
  assert.equal(flusher.written, 3);
  assert.equal(flusher.failures, 0);
  assert.deepEqual(logs, []);
});

Deno.test("Flusher.flush() with an empty queue does not call the sink", async () => {
  const { sink, flusher } = setup();
  assert.equal(await flusher.flush(), true);
  assert.equal(sink.calls, 0);
});

Deno.test("Flusher.flush() writes a backlog in chunks of chunkSize, in order", async () => {
  const { sink, queue, flusher, push } = setup({ chunkSize: 2 });
  push(1, 2, 3, 4, 5);
  assert.equal(await flusher.flush(), true);
  assert.deepEqual(sink.batches, [[1, 2], [3, 4], [5]]);
  assert.equal(queue.size, 0);
  assert.equal(flusher.written, 5);
});

Deno.test("Flusher.flush() keeps a failed batch queued and writes it on the next flush, once", async () => {
  const { queue, sink, flusher, push } = setup();
  push(1, 2, 3);
  sink.failWith = new StorageError("Cannot write events: database is locked", "locked");
  assert.equal(await flusher.flush(), false);
  assert.deepEqual(sink.written, []);
  assert.equal(queue.size, 3);
  assert.equal(flusher.failures, 1);
  assert.equal(flusher.written, 0);

  push(4); // arrives while storage is failing
  assert.equal(await flusher.flush(), false);
  assert.equal(queue.size, 4);
  assert.equal(flusher.failures, 2);

  sink.failWith = undefined;
  assert.equal(await flusher.flush(), true);
  assert.deepEqual(sink.written, [1, 2, 3, 4]);
  assert.equal(queue.size, 0);
  assert.equal(flusher.written, 4);
});

Deno.test("Flusher.flush() failing mid-backlog keeps only the unwritten chunks, nothing lost or duplicated", async () => {
  const { queue, sink, flusher, push } = setup({ chunkSize: 2 });
  push(1, 2, 3, 4, 5, 6, 7);
  sink.failWith = new Error("disk I/O error");
  sink.failFromCall = 2; // the first chunk goes through, the second fails
  assert.equal(await flusher.flush(), false);
  assert.deepEqual(sink.written, [1, 2]);
  assert.equal(flusher.written, 2);
  assert.equal(queue.size, 5);

  sink.failWith = undefined;
  assert.equal(await flusher.flush(), true);
  assert.deepEqual(sink.written, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(flusher.written, 7);
});

Deno.test("Flusher logs one line when writes start failing and one when they succeed again", async () => {
  const { clock, logs, sink, flusher, push } = setup();
  push(1);
  // The message carries a count that changes at every flush: still one line.
  for (let i = 1; i <= 3; i++) {
    sink.failWith = new StorageError(
      `Cannot write ${i} events to "data.db": the disk is full`,
      "diskFull",
    );
    push(1 + i);
    await flusher.flush();
    await clock.advance(1000);
  }
  sink.failWith = new TypeError("boom"); // another cause, same failure: the status line shows it
  await flusher.flush();
  assert.deepEqual(logs, [
    'level=error msg="Writes are failing: events stay queued in memory and are retried every flush" error="Cannot write 1 events to \\"data.db\\": the disk is full" queued=2 queue_mb=0.0 limit_mb=256.0',
  ]);
  assert.equal(flusher.currentError, "Cannot write events: boom");
  assert.equal(flusher.failures, 4);

  sink.failWith = undefined;
  assert.equal(await flusher.flush(), true);
  assert.deepEqual(logs.slice(1), [
    'level=info msg="Writes succeed again" failed_for_ms=3000 failed_flushes=4 written=4 queued=0',
  ]);
  assert.equal(flusher.currentError, undefined);

  push(5);
  assert.equal(await flusher.flush(), true);
  assert.equal(logs.length, 2, "a healthy flush logs nothing");
});

Deno.test("Flusher logs a failure again when writes fail again after a recovery", async () => {
  const { logs, sink, flusher, push } = setup();
  const error = new StorageError("Cannot write to data.db: database is locked", "locked");
  push(1);
  sink.failWith = error;
  await flusher.flush();
  sink.failWith = undefined;
  await flusher.flush();
  push(2);
  sink.failWith = error;
  await flusher.flush();
  await flusher.flush();
  assert.deepEqual(logs.map((line) => line.split(" ")[0]), [
    "level=error",
    "level=info",
    "level=error",
  ]);
});

Deno.test("Flusher.flush() called while a flush runs waits for it: nothing is written twice", async () => {
  const queue = new EventQueue();
  const batches: number[][] = [];
  const slowSink = {
    async write(events: readonly CollectedEvent[]) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      batches.push(events.map((e) => e.receivedAtMs));
    },
  };
  const flusher = new Flusher({
    queue,
    sink: slowSink,
    clock: new ManualClock(),
    chunkSize: 2,
    log: () => {},
  });
  for (let i = 1; i <= 3; i++) queue.push(audience(i));
  const results = await Promise.all([flusher.flush(), flusher.flush(), flusher.flush()]);
  assert.deepEqual(results, [true, true, true]);
  assert.deepEqual(batches, [[1, 2], [3]]);
  assert.equal(flusher.written, 3);
  assert.equal(queue.size, 0);
});

Deno.test("Flusher.run() flushes every intervalMs and stops when aborted", async () => {
  const { clock, sink, flusher, push } = setup({ intervalMs: 1000 });
  const controller = new AbortController();
  const running = flusher.run(controller.signal);
  push(1);
  await clock.advance(999);
  assert.deepEqual(sink.batches, []);
  await clock.advance(1);
  assert.deepEqual(sink.batches, [[1]]);
  push(2);
  await clock.advance(1000);
  assert.deepEqual(sink.batches, [[1], [2]]);

  push(3);
  controller.abort();
  await running;
  assert.deepEqual(sink.batches, [[1], [2]], "run() leaves the final flush to its caller");
  assert.equal(clock.sleepers, 0);
});

Deno.test("Flusher.wake() flushes before the interval is up", async () => {
  const { clock, sink, flusher, push } = setup({ intervalMs: 10_000 });
  const controller = new AbortController();
  const running = flusher.run(controller.signal);
  push(1, 2);
  await settle();
  flusher.wake();
  await settle();
  assert.deepEqual(sink.batches, [[1, 2]]);
  assert.equal(clock.now(), new ManualClock().now(), "no time had to pass");

  // The next timed flush counts from the early one.
  push(3);
  await clock.advance(10_000);
  assert.deepEqual(sink.batches, [[1, 2], [3]]);
  controller.abort();
  await running;
});

Deno.test("Flusher with a failing sink retries on its timer, not on every push above the high-water mark", async () => {
  const clock = new ManualClock();
  const sink = new FakeSink();
  const queue: EventQueue = new EventQueue({
    highWaterMark: 3,
    onHighWater: () => flusher.wake(),
  });
  const flusher: Flusher = new Flusher({
    queue,
    sink,
    clock,
    intervalMs: 10_000,
    log: () => {},
  });
  const controller = new AbortController();
  const running = flusher.run(controller.signal);
  sink.failWith = new StorageError("Cannot write to data.db: disk is full", "diskFull");
  for (let i = 1; i <= 3; i++) queue.push(audience(i));
  await settle();
  assert.equal(sink.calls, 1, "reaching the high-water mark flushes early");
  for (let i = 4; i <= 6; i++) {
    queue.push(audience(i));
    await settle();
  }
  assert.equal(sink.calls, 1, "a failed flush must not be retried by each new event");

  await clock.advance(10_000);
  assert.equal(sink.calls, 2);
  sink.failWith = undefined;
  await clock.advance(10_000);
  assert.deepEqual(sink.written, [1, 2, 3, 4, 5, 6]);
  controller.abort();
  await running;
});

Deno.test("Flusher.flush() writes a backlog of whole chunks without letting readers in, then yields", async () => {
  const { flusher, sink, push } = setup({ chunkSize: 10 });
  push(...Array.from({ length: 35 }, (_, i) => i));
  let writtenWhenReadersRan = -1;
  setTimeout(() => writtenWhenReadersRan = sink.written.length, 0); // a reader's turn
  assert.equal(await flusher.flush(), true);
  assert.deepEqual(sink.batches.map((b) => b.length), [10, 10, 10, 5]);
  assert.equal(writtenWhenReadersRan, 30, "readers ran only once less than a chunk was left");
});

Deno.test("Flusher.flush() lets readers in after every chunk while yieldBetweenChunks() says a connection is setting up", async () => {
  const queue = new EventQueue();
  const sink = new FakeSink();
  let settingUp = true;
  const flusher = new Flusher({
    queue,
    sink,
    clock: new ManualClock(),
    log: () => {},
    chunkSize: 10,
    yieldBetweenChunks: () => settingUp,
  });
  for (let i = 0; i < 45; i++) queue.push(audience(i));
  const writtenWhenReadersRan: number[] = [];
  // A reader's turn (e.g. the auth reply of a connection setting up); the second one finds the
  // connection live, so the flusher goes back to writing whole chunks without a break.
  setTimeout(() => {
    writtenWhenReadersRan.push(sink.written.length);
    setTimeout(() => {
      writtenWhenReadersRan.push(sink.written.length);
      settingUp = false;
      setTimeout(() => writtenWhenReadersRan.push(sink.written.length), 0);
    }, 0);
  }, 0);
  assert.equal(await flusher.flush(), true);
  assert.deepEqual(sink.batches.map((b) => b.length), [10, 10, 10, 10, 5]);
  assert.deepEqual(
    writtenWhenReadersRan,
    [10, 20, 40],
    "readers ran after chunks 1 and 2, then at the end",
  );
  assert.equal(sink.written.length, 45);
});
