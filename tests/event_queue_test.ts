import assert from "node:assert/strict";
import { EventQueue } from "../src/collector/event_queue.ts";
import type {
  AudienceEvent,
  CollectedEvent,
  RawEvent,
  RoomEvent,
  SessionEvent,
} from "../src/normalize/events.ts";

function audience(value: number): AudienceEvent {
  return { type: "audience", roomId: 1, receivedAtMs: value, kind: "watched", value };
}

function raw(n: number): RawEvent {
  return { type: "raw", roomId: 1, receivedAtMs: n, cmd: "X", reason: "unknown_cmd", text: "{}" };
}

function session(id: string): SessionEvent {
  return {
    type: "session",
    roomId: 1,
    receivedAtMs: 0,
    sessionId: id,
    host: "127.0.0.1",
    transport: "tcp",
    startedAtMs: 0,
    endedAtMs: null,
    reason: null,
    messages: 0,
  };
}

function room(roomId: number): RoomEvent {
  return {
    type: "room",
    roomId,
    receivedAtMs: 0,
    shortId: null,
    anchorUid: null,
    uname: null,
    title: null,
    areaId: null,
    areaName: null,
    parentAreaId: null,
    parentAreaName: null,
    liveStatus: null,
    seenAtMs: 0,
  };
}

/** The `value`/`receivedAtMs` of each event, to compare order. */
function ids(events: CollectedEvent[]): number[] {
  return events.map((e) => e.receivedAtMs);
}

Deno.test("EventQueue.take() returns events oldest first and empties the queue", () => {
  const queue = new EventQueue();
  for (let i = 1; i <= 5; i++) assert.equal(queue.push(audience(i)), true);
  assert.equal(queue.size, 5);
  assert.equal(queue.accepted, 5);
  assert.deepEqual(ids(queue.take()), [1, 2, 3, 4, 5]);
  assert.equal(queue.size, 0);
  assert.deepEqual(queue.take(), []);
});

Deno.test("EventQueue.take(max) returns only the oldest max events and keeps the rest", () => {
  const queue = new EventQueue();
  for (let i = 1; i <= 5; i++) queue.push(audience(i));
  assert.deepEqual(ids(queue.take(2)), [1, 2]);
  assert.equal(queue.size, 3);
  assert.deepEqual(ids(queue.take(0)), []);
  assert.deepEqual(ids(queue.take(10)), [3, 4, 5]);
});

Deno.test("EventQueue.requeue() puts a failed batch back in front, in its order", () => {
  const queue = new EventQueue();
  for (let i = 1; i <= 5; i++) queue.push(audience(i));
  const batch = queue.take(3);
  queue.push(audience(6));
  queue.requeue(batch);
  assert.equal(queue.size, 6);
  assert.deepEqual(ids(queue.take()), [1, 2, 3, 4, 5, 6]);
  assert.equal(queue.accepted, 6, "a requeued event is not counted as accepted twice");
});

Deno.test("EventQueue.push() drops message events beyond maxEvents and counts them per type", () => {
  const queue = new EventQueue({ maxEvents: 3 });
  assert.equal(queue.push(audience(1)), true);
  assert.equal(queue.push(audience(2)), true);
  assert.equal(queue.push(raw(3)), true);
  assert.equal(queue.push(audience(4)), false);
  assert.equal(queue.push(raw(5)), false);
  assert.equal(queue.push(audience(6)), false);
  assert.equal(queue.size, 3);
  assert.equal(queue.accepted, 3);
  assert.deepEqual([...queue.dropped].sort(), [["audience", 2], ["raw", 1]]);
  assert.equal(queue.droppedTotal, 3);
  assert.deepEqual(ids(queue.take()), [1, 2, 3], "the oldest events are the ones kept");
});

Deno.test("EventQueue.push() always keeps session and room events, even when full", () => {
  const queue = new EventQueue({ maxEvents: 2 });
  queue.push(audience(1));
  queue.push(audience(2));
  assert.equal(queue.push(session("s1")), true);
  assert.equal(queue.push(room(42)), true);
  assert.equal(queue.push(audience(3)), false);
  assert.equal(queue.size, 4);
  assert.equal(queue.droppedTotal, 1);
  assert.deepEqual(queue.take().map((e) => e.type), ["audience", "audience", "session", "room"]);
});

Deno.test("EventQueue accepts message events again once take() made room", () => {
  const queue = new EventQueue({ maxEvents: 2 });
  queue.push(audience(1));
  queue.push(audience(2));
  assert.equal(queue.push(audience(3)), false);
  queue.take(1);
  assert.equal(queue.push(audience(4)), true);
  assert.deepEqual(ids(queue.take()), [2, 4]);
  assert.equal(queue.droppedTotal, 1);
});

Deno.test("EventQueue has no drops before it is full", () => {
  const queue = new EventQueue({ maxEvents: 10 });
  for (let i = 0; i < 10; i++) queue.push(audience(i));
  assert.equal(queue.droppedTotal, 0);
  assert.equal(queue.dropped.size, 0);
});

Deno.test("EventQueue calls onHighWater once when the size reaches the mark", () => {
  let calls = 0;
  const queue = new EventQueue({ highWaterMark: 3, onHighWater: () => calls++ });
  queue.push(audience(1));
  queue.push(audience(2));
  assert.equal(calls, 0);
  queue.push(audience(3));
  assert.equal(calls, 1);
  for (let i = 4; i < 10; i++) queue.push(audience(i));
  assert.equal(calls, 1, "staying above the mark is the same crossing");
});

Deno.test("EventQueue calls onHighWater again only after the queue went below the mark", () => {
  let calls = 0;
  const queue = new EventQueue({ highWaterMark: 3, onHighWater: () => calls++ });
  for (let i = 0; i < 5; i++) queue.push(audience(i));
  assert.equal(calls, 1);
  queue.take(1); // 4 left: still above
  queue.push(audience(5));
  assert.equal(calls, 1);
  queue.take(4); // 1 left: below
  queue.push(audience(6));
  assert.equal(calls, 1);
  queue.push(audience(7));
  assert.equal(calls, 2);
});

Deno.test("EventQueue.requeue() of a failed batch does not count as a new high-water crossing", () => {
  // A failed flush takes the backlog and puts it back: the next push must not fire the
  // callback again, or a failing store is retried on every message instead of every flush.
  let calls = 0;
  const queue = new EventQueue({ highWaterMark: 3, onHighWater: () => calls++ });
  for (let i = 0; i < 4; i++) queue.push(audience(i));
  assert.equal(calls, 1);
  queue.requeue(queue.take());
  queue.push(audience(4));
  assert.equal(calls, 1);
  assert.equal(queue.size, 5);
});
