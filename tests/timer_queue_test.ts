import assert from "node:assert/strict";
import { type TimerEntry, TimerQueue, type TimerTarget } from "../src/room/timer_queue.ts";
import { ManualClock } from "./support/manual_clock.ts";

Deno.test("TimerQueue fires every entry at its time, earliest first, on one sleep at a time", async () => {
  const clock = new ManualClock();
  using queue = new TimerQueue(clock);
  const t0 = clock.now();
  const fired: string[] = [];
  for (const [name, delay] of [["c", 300], ["a", 100], ["d", 300], ["b", 200]] as const) {
    queue.at(t0 + delay, () => fired.push(`${name}@${clock.now() - t0}`));
  }
  assert.equal(clock.sleepers, 1, "four deadlines, one timer");
  await clock.advance(99);
  assert.deepEqual(fired, []);
  await clock.advance(1);
  assert.deepEqual(fired, ["a@100"]);
  await clock.advance(200);
  assert.deepEqual(fired.slice(1, 2), ["b@200"]);
  assert.deepEqual(fired.slice(2).sort(), ["c@300", "d@300"]);
  assert.equal(queue.size, 0);
  assert.equal(clock.sleepers, 0, "nothing left to wait for: no timer");
});

Deno.test("TimerQueue drops a cancelled entry and lets go of its timer once empty", async () => {
  const clock = new ManualClock();
  using queue = new TimerQueue(clock);
  const fired: number[] = [];
  const first = queue.at(clock.now() + 100, () => fired.push(1));
  const second = queue.at(clock.now() + 200, () => fired.push(2));
  first.cancel();
  first.cancel(); // twice is harmless
  await clock.advance(150);
  assert.deepEqual(fired, [], "the cancelled entry never fires");
  second.cancel();
  assert.equal(queue.size, 0);
  assert.equal(clock.sleepers, 0);
  await clock.advance(1000);
  assert.deepEqual(fired, []);
});

Deno.test("TimerQueue wakes earlier for an entry added before the one it sleeps on", async () => {
  const clock = new ManualClock();
  using queue = new TimerQueue(clock);
  const fired: number[] = [];
  queue.at(clock.now() + 30_000, () => fired.push(30_000));
  queue.at(clock.now() + 10, () => fired.push(10));
  assert.equal(clock.sleepers, 1, "the later sleep was replaced");
  await clock.advance(10);
  assert.deepEqual(fired, [10]);
  await clock.advance(29_990);
  assert.deepEqual(fired, [10, 30_000]);
});

Deno.test("TimerQueue keeps a heap order through many adds and cancels (1,000 entries)", async () => {
  const clock = new ManualClock();
  using queue = new TimerQueue(clock);
  const t0 = clock.now();
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const fired: number[] = [];
  const expected: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const delay = 1 + Math.floor(random() * 5000);
    const entry = queue.at(t0 + delay, () => fired.push(delay));
    if (random() < 0.3) entry.cancel();
    else expected.push(delay);
  }
  assert.equal(queue.size, expected.length);
  await clock.advance(5000);
  assert.deepEqual(fired, expected.sort((a, b) => a - b));
});

Deno.test("TimerQueue calls a target's onTimer with the entry that fired, as a method", async () => {
  const clock = new ManualClock();
  using queue = new TimerQueue(clock);
  class Owner implements TimerTarget {
    fired: TimerEntry[] = [];
    onTimer(entry: TimerEntry): void {
      this.fired.push(entry);
    }
  }
  const owner = new Owner();
  const late = queue.at(clock.now() + 200, owner);
  const early = queue.at(clock.now() + 100, owner);
  await clock.advance(100);
  assert.deepEqual(owner.fired, [early]);
  await clock.advance(100);
  assert.deepEqual(owner.fired, [early, late]);
  assert.equal(queue.size, 0);
});
