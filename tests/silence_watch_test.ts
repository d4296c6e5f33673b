import assert from "node:assert/strict";
import { SILENCE_RULE, SilenceWatch } from "../src/collector/silence_watch.ts";
import type { CollectedEvent } from "../src/normalize/events.ts";
import { normalizeMessage } from "../src/normalize/normalize_message.ts";

const T0 = 1_750_000_000_000;
const ROOM = 4242;
const W = SILENCE_RULE.windowMs;

/** The events Bilibili's message `body` turns into, as a worker emits them. */
function events(body: Record<string, unknown>, at: number): CollectedEvent[] {
  const out: CollectedEvent[] = [];
  const text = JSON.stringify(body);
  normalizeMessage(JSON.parse(text), text, { roomId: ROOM, receivedAtMs: at, keepRaw: false }, out);
  assert.ok(out.length > 0, `${body.cmd} gives events`);
  return out;
}

const onlineRankCount = (online: number, at: number) =>
  events({ cmd: "ONLINE_RANK_COUNT", data: { count: 100, online_count: online } }, at);
const preparing = (at: number) => events({ cmd: "PREPARING", roomid: String(ROOM) }, at);
const live = (at: number) => events({ cmd: "LIVE", roomid: ROOM, live_key: "k" }, at);

/** Feeds a room window by window: one reading per window boundary, as a slow sweep would. */
class Feed {
  readonly watch: SilenceWatch;
  now = T0;
  messages = 0;
  connection: number | undefined = 1;

  constructor(watch = new SilenceWatch()) {
    this.watch = watch;
    assert.equal(this.#read(), undefined, "the first reading only opens a window");
  }

  #read() {
    return this.watch.observe(
      ROOM,
      { messages: this.messages, connection: this.connection },
      this.now,
    );
  }

  /** One window of `count` messages, with an online_count reading halfway when given. */
  window(count: number, online?: number) {
    if (online !== undefined) {
      for (const event of onlineRankCount(online, this.now + W / 2)) this.watch.note(event);
    }
    this.messages += count;
    this.now += W;
    return this.#read();
  }

  note(make: (at: number) => CollectedEvent[]): void {
    for (const event of make(this.now + 1)) this.watch.note(event);
  }
}

Deno.test("SilenceWatch asks for a fresh connection when a window falls below 10 % of the room's median while its audience holds", () => {
  const feed = new Feed();
  for (const count of [100, 120, 90, 110]) assert.equal(feed.window(count, 5000), undefined);
  const verdict = feed.window(5, 5100);
  assert.deepEqual(verdict, {
    roomId: ROOM,
    windowMessages: 5,
    baseline: 105,
    audienceKind: "online_count",
    audience: 5100,
    audienceBaseline: 5000,
  });
});

Deno.test("SilenceWatch leaves a room alone when its audience fell with its messages", () => {
  const feed = new Feed();
  for (let i = 0; i < 4; i++) feed.window(100, 5000);
  assert.equal(feed.window(5, 2000), undefined, "2,000 online is below half of 5,000");
  // The same fall with the audience still there is a reconnect.
  const other = new Feed();
  for (let i = 0; i < 4; i++) other.window(100, 5000);
  assert.ok(other.window(5, 2600));
});

Deno.test("SilenceWatch judges on messages alone when no online count was ever seen", () => {
  const feed = new Feed();
  for (let i = 0; i < 3; i++) feed.window(100);
  assert.deepEqual(feed.window(0), { roomId: ROOM, windowMessages: 0, baseline: 100 });
});

Deno.test("SilenceWatch reconnects a room at most once per cooldown, and a chat that really died at most twice", () => {
  const feed = new Feed();
  for (let i = 0; i < 4; i++) feed.window(100, 5000);
  assert.ok(feed.window(5), "the first quiet window");
  assert.equal(feed.window(5), undefined, "10 min later: within the 30 min cooldown");
  assert.equal(feed.window(5), undefined, "20 min later: within the cooldown");
  const again = feed.window(5);
  assert.ok(again, "30 min later: the cooldown is over and the room is still quiet");
  assert.equal(again.baseline, 52.5, "half the baseline is quiet windows now");
  for (let i = 0; i < 6; i++) {
    assert.equal(feed.window(5), undefined, "the quiet windows have become the baseline");
  }
});

Deno.test("SilenceWatch ignores a room while it is offline and the windows a PREPARING touched", () => {
  const feed = new Feed();
  for (let i = 0; i < 4; i++) feed.window(100, 5000);
  feed.note(preparing);
  assert.equal(feed.window(5, 5000), undefined, "offline since this window");
  assert.equal(feed.window(5, 5000), undefined, "still offline");
  feed.note(live);
  assert.equal(feed.window(5, 5000), undefined, "live again, but the window began offline");
  assert.ok(feed.window(5, 5000), "a whole live window that is quiet");
});

Deno.test("SilenceWatch ignores a room that room_init says is not live", () => {
  const feed = new Feed();
  for (let i = 0; i < 4; i++) feed.window(100);
  feed.watch.note({
    type: "room",
    roomId: ROOM,
    receivedAtMs: feed.now,
    shortId: null,
    anchorUid: null,
    uname: null,
    title: null,
    areaId: null,
    areaName: null,
    parentAreaId: null,
    parentAreaName: null,
    liveStatus: 2, // rotating recordings
    seenAtMs: feed.now,
  });
  assert.equal(feed.window(0), undefined);
});

Deno.test("SilenceWatch needs three windows and a baseline of 10 messages before it judges", () => {
  const young = new Feed();
  young.window(100);
  young.window(100);
  assert.equal(young.window(0), undefined, "two windows are too few");
  assert.ok(young.window(0), "the third window made the baseline");

  const slow = new Feed();
  for (let i = 0; i < 4; i++) slow.window(9);
  assert.equal(slow.window(0), undefined, "9 messages per window is too little to judge");
});

Deno.test("SilenceWatch does not count a window in which the room reconnected or had no connection", () => {
  const feed = new Feed();
  for (let i = 0; i < 4; i++) feed.window(100);
  feed.connection = 2; // a reconnect: the window lost the seconds of backoff
  assert.equal(feed.window(5), undefined);
  feed.connection = undefined;
  assert.equal(feed.window(0), undefined);
  feed.connection = 3;
  assert.equal(feed.window(5), undefined, "the window began without a connection");
  assert.ok(feed.window(5), "a whole window on connection 3");
});

Deno.test("SilenceWatch does not judge the window in which a restarted worker counts from 0 again", () => {
  const feed = new Feed(new SilenceWatch({ cooldownMs: 0 }));
  for (let i = 0; i < 4; i++) feed.window(100);
  feed.messages = 0; // the supervisor restarted a crashed worker: same room, same connection number
  assert.equal(feed.window(5), undefined);
  assert.ok(feed.window(5), "the next whole window is judged");
});

Deno.test("SilenceWatch scales a window to its length and skips one stretched by a suspended process", () => {
  const watch = new SilenceWatch({ windowMs: 1000, minWindows: 1 });
  const read = (messages: number, at: number) =>
    watch.observe(ROOM, { messages, connection: 1 }, T0 + at);
  read(0, 0);
  assert.equal(read(100, 1000), undefined);
  assert.equal(read(100, 3500), undefined, "a 2.5 s window is not judged");
  const verdict = read(105, 5000);
  assert.deepEqual(verdict, { roomId: ROOM, windowMessages: 3.3, baseline: 100 });
  watch.forget(ROOM);
  assert.equal(watch.size, 0);
});
