import assert from "node:assert/strict";
import { RateLimiter } from "../src/util/rate_limiter.ts";
import { ManualClock, settle } from "./support/manual_clock.ts";

const START = 1_750_000_000_000;

/** Starts a take() and records the clock time it was granted at (or false). */
function timedTake(limiter: RateLimiter, clock: ManualClock, signal?: AbortSignal) {
  const result: { at?: number; granted?: boolean } = {};
  const done = limiter.take(signal).then((granted) => {
    result.granted = granted;
    result.at = clock.now() - START;
  });
  return { result, done };
}

Deno.test("RateLimiter.take() lets the first call through at once", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 1, clock });
  assert.equal(await limiter.take(), true);
  assert.equal(clock.now(), START);
  assert.equal(limiter.granted, 1);
  assert.equal(clock.sleepers, 0);
});

Deno.test("RateLimiter.take() spaces calls 1/perSecond apart", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 4, clock });
  const calls = [0, 1, 2, 3].map(() => timedTake(limiter, clock));
  await settle();
  assert.equal(calls[0].result.at, 0);
  assert.equal(calls[1].result.at, undefined, "the second call must wait");
  assert.deepEqual(clock.deadlines.map((d) => d - START), [250, 500, 750]);

  await clock.advance(249);
  assert.equal(calls[1].result.at, undefined, "the second call is released only after 250 ms");
  await clock.advance(1000);
  await Promise.all(calls.map((c) => c.done));
  assert.deepEqual(calls.map((c) => c.result.at), [0, 250, 500, 750]);
  assert.equal(limiter.granted, 4);
});

Deno.test("RateLimiter.take() does not make a call wait once the interval has passed", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 2, clock });
  assert.equal(await limiter.take(), true);
  await clock.advance(500);
  assert.equal(await limiter.take(), true);
  assert.equal(clock.sleepers, 0);
  await clock.advance(100);
  const late = timedTake(limiter, clock);
  await settle();
  assert.deepEqual(clock.deadlines.map((d) => d - START), [1000]);
  await clock.advance(400);
  await late.done;
  assert.equal(late.result.at, 1000);
});

Deno.test("RateLimiter.take() serves waiters in arrival order", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 10, clock });
  const order: string[] = [];
  const names = ["a", "b", "c", "d", "e"];
  const done = names.map((name) => limiter.take().then(() => order.push(name)));
  await clock.advance(1000);
  await Promise.all(done);
  assert.deepEqual(order, names);
});

Deno.test("RateLimiter.take() with perSecond 0 does not limit at all", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 0, clock });
  for (let i = 0; i < 100; i++) assert.equal(await limiter.take(), true);
  assert.equal(clock.now(), START);
  assert.equal(limiter.granted, 100);
});

Deno.test("RateLimiter.pauseFor() holds back every caller until the pause ends", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 10, clock });
  assert.equal(limiter.pausedUntil, 0);
  assert.equal(await limiter.take(), true);
  limiter.pauseFor(5000);
  assert.equal(limiter.pausedUntil, START + 5000);

  const calls = [timedTake(limiter, clock), timedTake(limiter, clock)];
  await clock.advance(4999);
  assert.deepEqual(calls.map((c) => c.result.granted), [undefined, undefined]);
  assert.equal(limiter.granted, 1);
  await clock.advance(1000);
  await Promise.all(calls.map((c) => c.done));
  assert.deepEqual(calls.map((c) => c.result.at), [5000, 5100]);
  assert.equal(limiter.granted, 3);
});

Deno.test("RateLimiter.pauseFor() also holds a caller that was already waiting for its slot", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 1, clock });
  assert.equal(await limiter.take(), true);
  const waiting = timedTake(limiter, clock); // its slot is at 1000
  await clock.advance(200);
  limiter.pauseFor(3000); // until 3200
  await clock.advance(2999);
  assert.equal(waiting.result.granted, undefined, "the pause must hold the reserved slot back");
  await clock.advance(5000);
  await waiting.done;
  assert.equal(waiting.result.granted, true);
  assert.equal(waiting.result.at, 3200);
});

Deno.test("RateLimiter.pauseFor() never shortens a longer pause already in force", () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ clock });
  limiter.pauseFor(60_000);
  limiter.pauseFor(1000);
  assert.equal(limiter.pausedUntil, START + 60_000);
  limiter.pauseFor(120_000);
  assert.equal(limiter.pausedUntil, START + 120_000);
});

Deno.test("RateLimiter.take() returns false at once when the signal is already aborted", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ clock });
  assert.equal(await limiter.take(AbortSignal.abort()), false);
  assert.equal(limiter.granted, 0);
  assert.equal(await limiter.take(), true, "an aborted call must not use up the free slot");
});

Deno.test("RateLimiter.take() returns false when the signal aborts while waiting", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 1, clock });
  assert.equal(await limiter.take(), true);
  const controller = new AbortController();
  const waiting = timedTake(limiter, clock, controller.signal);
  await clock.advance(300);
  assert.equal(waiting.result.granted, undefined);
  controller.abort();
  await waiting.done;
  assert.equal(waiting.result.granted, false);
  assert.equal(waiting.result.at, 300, "an abort must end the wait without time passing");
  assert.equal(limiter.granted, 1);
  assert.equal(clock.sleepers, 0);
});

Deno.test("RateLimiter.take() returns false when the signal aborts during a pause", async () => {
  const clock = new ManualClock(START);
  const limiter = new RateLimiter({ perSecond: 1, clock });
  limiter.pauseFor(10_000);
  const controller = new AbortController();
  const waiting = timedTake(limiter, clock, controller.signal);
  await clock.advance(4000);
  controller.abort();
  await waiting.done;
  assert.deepEqual(waiting.result, { granted: false, at: 4000 });
  assert.equal(limiter.granted, 0);
});
