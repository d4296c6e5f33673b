import assert from "node:assert/strict";
import { estimateEventBytes, EventQueue, RESUME_FRACTION } from "../src/collector/event_queue.ts";
import type {
  AudienceEvent,
  CollectedEvent,
  DanmakuEvent,
  RawEvent,
  RoomEvent,
  SessionEvent,
} from "../src/normalize/events.ts";
import { danmaku as danmakuEvent } from "./support/export_fixture.ts";

function audience(value: number): AudienceEvent {
  return { type: "audience", roomId: 1, receivedAtMs: value, kind: "watched", value };
}

/** What one audience event costs in the budget (they all cost the same). */
const AUDIENCE = estimateEventBytes(audience(0));

function raw(n: number, text = "{}"): RawEvent {
  return { type: "raw", roomId: 1, receivedAtMs: n, cmd: "X", reason: "unknown_cmd", text };
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

function danmaku(text: string): DanmakuEvent {
  return danmakuEvent({
    roomId: 1,
    receivedAtMs: 0,
    tsMs: 0,
    uid: 0,
    uname: "提***",
    text,
    msgId: "343a52f34489799508c91605ae6625ef14",
    userHash: "98095d8b",
    userLevel: null,
  });
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
  assert.equal(queue.bytes, 5 * AUDIENCE);
  assert.deepEqual(ids(queue.take()), [1, 2, 3, 4, 5]);
  assert.equal(queue.size, 0);
  assert.equal(queue.bytes, 0);
  assert.deepEqual(queue.take(), []);
});

Deno.test("EventQueue.take(max) returns only the oldest max events and keeps the rest", () => {
  const queue = new EventQueue();
  for (let i = 1; i <= 5; i++) queue.push(audience(i));
  assert.deepEqual(ids(queue.take(2)), [1, 2]);
  assert.equal(queue.size, 3);
  assert.equal(queue.bytes, 3 * AUDIENCE);
  assert.deepEqual(ids(queue.take(0)), []);
  assert.deepEqual(ids(queue.take(10)), [3, 4, 5]);
});

Deno.test("EventQueue.peek() leaves events queued until release() removes them once written", () => {
  const queue = new EventQueue();
  for (let i = 1; i <= 5; i++) queue.push(audience(i));
  const batch = queue.peek(3);
  assert.deepEqual(ids(batch), [1, 2, 3]);
  assert.equal(queue.size, 5, "a failed write needs no undo: the events never left");
  queue.push(audience(6)); // arrives while the batch is being written
  queue.release(batch);
  assert.equal(queue.size, 3);
  assert.equal(queue.bytes, 3 * AUDIENCE);
  assert.deepEqual(ids(queue.take()), [4, 5, 6]);
  assert.equal(queue.accepted, 6);
});

Deno.test("EventQueue.release() removes nothing a take() in between already removed", () => {
  const queue = new EventQueue();
  for (let i = 1; i <= 3; i++) queue.push(audience(i));
  const batch = queue.peek();
  assert.deepEqual(ids(queue.take()), [1, 2, 3]); // a forced exit saves everything
  queue.push(audience(4));
  queue.release(batch);
  assert.deepEqual(ids(queue.take()), [4], "an event pushed after the take() is kept");
});

Deno.test("EventQueue bounds memory, not count: one big event takes the room of many small", () => {
  const big = raw(1, "x".repeat(10_000));
  assert.ok(estimateEventBytes(big) > 20_000, "text counts two bytes a character");
  const queue = new EventQueue({ maxBytes: estimateEventBytes(big) + AUDIENCE });
  assert.equal(queue.push(big), true);
  assert.equal(queue.push(audience(2)), true);
  assert.equal(queue.push(audience(3)), false);
  assert.equal(queue.size, 2);
  assert.equal(queue.bytes, queue.maxBytes);
});

Deno.test("EventQueue.push() drops events of every kind beyond the budget and counts them per type", () => {
  const queue = new EventQueue({ maxBytes: 3 * AUDIENCE });
  assert.equal(queue.push(audience(1)), true);
  assert.equal(queue.push(audience(2)), true);
  assert.equal(queue.push(audience(3)), true);
  assert.equal(queue.push(audience(4)), false);
  assert.equal(queue.push(raw(5)), false);
  assert.equal(queue.push(session("s1")), false, "session events count too");
  assert.equal(queue.push(room(42)), false, "room events count too");
  assert.equal(queue.size, 3);
  assert.equal(queue.accepted, 3);
  assert.deepEqual([...queue.dropped].sort(), [
    ["audience", 1],
    ["raw", 1],
    ["room", 1],
    ["session", 1],
  ]);
  assert.equal(queue.droppedTotal, 4);
  assert.ok(queue.peakBytes <= queue.maxBytes);
  assert.deepEqual(ids(queue.take()), [1, 2, 3], "the oldest events are the ones kept");
});

Deno.test("EventQueue keeps dropping until it drained to RESUME_FRACTION, reporting start and end once", () => {
  const calls: [boolean, number][] = [];
  const queue = new EventQueue({
    maxBytes: 10 * AUDIENCE,
    onDropping: (dropping, dropped) => calls.push([dropping, dropped]),
  });
  for (let i = 0; i < 10; i++) queue.push(audience(i));
  assert.equal(queue.push(audience(10)), false);
  assert.deepEqual(calls, [[true, 1]]);
  assert.equal(queue.dropping, true);
  queue.take(1); // room for one again, but above RESUME_FRACTION of the budget
  assert.ok(queue.bytes + AUDIENCE > queue.maxBytes * RESUME_FRACTION);
  for (let i = 11; i < 15; i++) assert.equal(queue.push(audience(i)), false);
  assert.deepEqual(calls, [[true, 1]], "no flapping while nearly full");
  queue.take(1);
  assert.equal(queue.push(audience(15)), true);
  assert.deepEqual(calls, [[true, 1], [false, 5]]);
  assert.equal(queue.dropping, false);
  assert.equal(queue.droppedTotal, 5);
});

Deno.test("EventQueue accepts events again once take() made room", () => {
  const queue = new EventQueue({ maxBytes: 2 * AUDIENCE });
  queue.push(audience(1));
  queue.push(audience(2));
  assert.equal(queue.push(audience(3)), false);
  queue.take(2);
  assert.equal(queue.push(audience(4)), true);
  assert.deepEqual(ids(queue.take()), [4]);
  assert.equal(queue.droppedTotal, 1);
});

Deno.test("EventQueue has no drops before it is full", () => {
  const queue = new EventQueue({ maxBytes: 10 * AUDIENCE });
  for (let i = 0; i < 10; i++) queue.push(audience(i));
  assert.equal(queue.droppedTotal, 0);
  assert.equal(queue.dropped.size, 0);
  assert.equal(queue.dropping, false);
});

Deno.test("EventQueue remembers its high-water size and bytes after draining", () => {
  const queue = new EventQueue();
  for (let i = 0; i < 7; i++) queue.push(audience(i));
  queue.take(5);
  queue.push(audience(7));
  assert.deepEqual([queue.size, queue.peakSize, queue.peakBytes], [3, 7, 7 * AUDIENCE]);
});

Deno.test("estimateEventBytes() counts each text field at two bytes a character", () => {
  const short = estimateEventBytes(danmaku(""));
  assert.equal(estimateEventBytes(danmaku("弹幕".repeat(50))), short + 200);
  for (
    const event of [audience(1), raw(1), session("s"), room(1), danmaku("x")] as CollectedEvent[]
  ) {
    assert.ok(estimateEventBytes(event) >= 96, `${event.type} has a fixed overhead`);
  }
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

Deno.test("EventQueue: a failed write (peek without release) is not a new high-water crossing", () => {
  // A failed flush leaves the backlog queued: the next push must not fire the callback again,
  // or a failing store is retried on every message instead of every flush.
  let calls = 0;
  const queue = new EventQueue({ highWaterMark: 3, onHighWater: () => calls++ });
  for (let i = 0; i < 4; i++) queue.push(audience(i));
  assert.equal(calls, 1);
  queue.peek();
  queue.push(audience(4));
  assert.equal(calls, 1);
  assert.equal(queue.size, 5);
});
