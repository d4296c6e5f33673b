import assert from "node:assert/strict";
import { ConnectionSlots } from "../src/collector/connection_slots.ts";

/** Lets pending promise continuations run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Starts an acquire() and records its result once it settles. */
function track(slots: ConnectionSlots, signal?: AbortSignal) {
  const state: { result?: boolean } = {};
  const done = slots.acquire(signal).then((result) => state.result = result);
  return { state, done };
}

Deno.test("ConnectionSlots.acquire() grants up to limit slots at once", async () => {
  const slots = new ConnectionSlots(3);
  assert.equal(slots.limit, 3);
  assert.equal(await slots.acquire(), true);
  assert.equal(await slots.acquire(), true);
  assert.equal(await slots.acquire(), true);
  assert.equal(slots.inUse, 3);
  assert.equal(slots.waiting, 0);
});

Deno.test("ConnectionSlots.acquire() waits when every slot is held, until one is released", async () => {
  const slots = new ConnectionSlots(1);
  await slots.acquire();
  const waiter = track(slots);
  await settle();
  assert.equal(waiter.state.result, undefined);
  assert.equal(slots.waiting, 1);
  assert.equal(slots.inUse, 1);

  slots.release();
  await waiter.done;
  assert.equal(waiter.state.result, true);
  assert.equal(slots.inUse, 1, "the released slot went straight to the waiter");
  assert.equal(slots.waiting, 0);
});

Deno.test("ConnectionSlots serves waiters in the order they asked", async () => {
  const slots = new ConnectionSlots(1);
  await slots.acquire();
  const order: string[] = [];
  const done = ["a", "b", "c"].map((name) => slots.acquire().then(() => order.push(name)));
  assert.equal(slots.waiting, 3);
  slots.release();
  await settle();
  assert.deepEqual(order, ["a"]);
  slots.release();
  slots.release();
  await Promise.all(done);
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.equal(slots.inUse, 1);
});

Deno.test("ConnectionSlots.release() with no waiters frees a slot for the next acquire()", async () => {
  const slots = new ConnectionSlots(2);
  await slots.acquire();
  await slots.acquire();
  slots.release();
  assert.equal(slots.inUse, 1);
  assert.equal(await slots.acquire(), true);
  assert.equal(slots.inUse, 2);
});

Deno.test("ConnectionSlots.release() never takes inUse below zero", async () => {
  const slots = new ConnectionSlots(1);
  slots.release();
  assert.equal(slots.inUse, 0);
  assert.equal(await slots.acquire(), true);
  assert.equal(slots.inUse, 1);
  const waiter = track(slots);
  await settle();
  assert.equal(waiter.state.result, undefined, "an extra release must not raise the limit");
  slots.release();
  await waiter.done;
});

Deno.test("ConnectionSlots.acquire() returns false at once when the signal is already aborted", async () => {
  const slots = new ConnectionSlots(5);
  assert.equal(await slots.acquire(AbortSignal.abort()), false);
  assert.equal(slots.inUse, 0);
});

Deno.test("ConnectionSlots.acquire() returns false when aborted while waiting, and leaves the queue", async () => {
  const slots = new ConnectionSlots(1);
  await slots.acquire();
  const controller = new AbortController();
  const cancelled = track(slots, controller.signal);
  const next = track(slots);
  await settle();
  assert.equal(slots.waiting, 2);

  controller.abort();
  await cancelled.done;
  assert.equal(cancelled.state.result, false);
  assert.equal(slots.waiting, 1);
  assert.equal(slots.inUse, 1);

  slots.release();
  await next.done;
  assert.equal(next.state.result, true, "the slot goes to the next waiter, not the cancelled one");
  assert.equal(slots.inUse, 1);
  assert.equal(slots.waiting, 0);
});

Deno.test("ConnectionSlots ignores an abort that comes after the slot was granted", async () => {
  const slots = new ConnectionSlots(1);
  await slots.acquire();
  const controller = new AbortController();
  const waiter = track(slots, controller.signal);
  slots.release();
  await waiter.done;
  controller.abort();
  await settle();
  assert.equal(waiter.state.result, true);
  assert.equal(slots.inUse, 1);
  assert.equal(slots.waiting, 0);
});

Deno.test("ConnectionSlots counts the slots granted and calls onIdle when the last one comes back with nobody waiting", async () => {
  const slots = new ConnectionSlots(1);
  let idle = 0;
  slots.onIdle = () => idle++;
  await slots.acquire();
  const waiter = track(slots);
  slots.release(); // handed to the waiter: not idle
  await waiter.done;
  assert.equal(idle, 0);
  assert.equal(slots.granted, 2);
  slots.release();
  assert.equal(idle, 1);
  assert.equal(slots.inUse, 0);
});
