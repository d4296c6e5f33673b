import assert from "node:assert/strict";
import { EventQueue } from "../src/collector/event_queue.ts";
import { PAUSE_FRACTION, ReadGate } from "../src/collector/read_gate.ts";
import type { AudienceEvent, RawEvent } from "../src/normalize/events.ts";

function fill(queue: EventQueue, count: number) {
  for (let i = 0; i < count; i++) {
    const event: AudienceEvent = {
      type: "audience",
      roomId: 1,
      receivedAtMs: i,
      kind: "watched",
      value: i,
    };
    queue.push(event);
  }
}

Deno.test("ReadGate lets readers read until the queue holds pauseAt events, then holds them until it drains", async () => {
  const queue = new EventQueue();
  const gate = new ReadGate(queue, 10, () => false);
  fill(queue, 9);
  assert.equal(gate.wait(), undefined);
  fill(queue, 1);
  const first = gate.wait();
  const second = gate.wait();
  assert.ok(first instanceof Promise);
  assert.equal(second, first, "every reader waits on the same promise");
  let released = false;
  first!.then(() => released = true);
  gate.update(); // storage made progress, but the queue is still full
  await Promise.resolve();
  assert.equal(released, false);
  queue.take(5);
  gate.update();
  await first;
  assert.equal(released, true);
  assert.equal(gate.wait(), undefined);
  assert.equal(gate.pauses, 1);
});

Deno.test("ReadGate never holds readers while writes fail: collection goes on into memory", async () => {
  const queue = new EventQueue();
  let failing = false;
  const gate = new ReadGate(queue, 5, () => failing);
  fill(queue, 5);
  const held = gate.wait();
  assert.ok(held);
  failing = true;
  gate.update(); // the flusher reports its failure
  await held;
  fill(queue, 100);
  assert.equal(gate.wait(), undefined);
});

Deno.test("ReadGate opens for good when disposed, so paused readers see their sockets close", async () => {
  const queue = new EventQueue();
  const gate = new ReadGate(queue, 1, () => false);
  fill(queue, 3);
  const held = gate.wait()!;
  gate[Symbol.dispose]();
  await held;
  assert.equal(gate.wait(), undefined, "still open although the queue is full");
});

Deno.test("ReadGate holds readers once the queue holds half its memory budget, however few events", async () => {
  const queue = new EventQueue({ maxBytes: 100_000 });
  const gate = new ReadGate(queue, 1_000_000, () => false);
  const big = (n: number): RawEvent => ({
    type: "raw",
    roomId: 1,
    receivedAtMs: n,
    cmd: "X",
    reason: "kept",
    text: "x".repeat(10_000), // about 20 KB each
  });
  queue.push(big(1));
  queue.push(big(2));
  assert.ok(queue.bytes < queue.maxBytes * PAUSE_FRACTION);
  assert.equal(gate.wait(), undefined);
  queue.push(big(3));
  assert.ok(queue.bytes >= queue.maxBytes * PAUSE_FRACTION);
  const held = gate.wait();
  assert.ok(held instanceof Promise, "three events, but half the budget: readers wait");
  queue.take(2);
  gate.update();
  await held;
  assert.equal(gate.wait(), undefined);
});

Deno.test("ReadGate lets readers on while writes fail and the queue is full: new events are dropped and counted", () => {
  const queue = new EventQueue({ maxBytes: 10_000 });
  const gate = new ReadGate(queue, 5, () => true);
  fill(queue, 1000);
  assert.equal(gate.wait(), undefined);
  assert.ok(queue.droppedTotal > 0);
  assert.ok(queue.peakBytes <= queue.maxBytes);
  assert.equal(gate.pauses, 0);
});
