import assert from "node:assert/strict";
import { EventQueue } from "../src/collector/event_queue.ts";
import { ReadGate } from "../src/collector/read_gate.ts";
import type { AudienceEvent } from "../src/normalize/events.ts";

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
