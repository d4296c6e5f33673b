import assert from "node:assert/strict";
import { nextSent, received, type Sent, truthLine } from "./support/sent_messages.ts";
import { DatabaseSync } from "node:sqlite";
import type { CollectedEvent } from "../src/normalize/events.ts";
import { MessageFactory } from "../src/simulator/message_factory.ts";
import { World } from "../src/simulator/world.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { parseStoppedLine } from "../scripts/soak/collector_process.ts";
import {
  messageId,
  Reconciler,
  type Reconciliation,
  STOP_MARK,
  type TableResult,
} from "../scripts/soak/reconcile.ts";
import { tableLines } from "../scripts/soak/report.ts";
import { leastSquaresSlope, summarizeRss } from "../scripts/soak/rss.ts";

Deno.test("leastSquaresSlope() fits the slope of a line, noise or not", () => {
  const line = [0, 1, 2, 3, 4].map((x) => ({ x, y: 2 * x + 1 }));
  assert.equal(leastSquaresSlope(line), 2);
  const noisy = [{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: 1 }, { x: 3, y: 2 }];
  assert.ok(Math.abs(leastSquaresSlope(noisy) - 0.2) < 1e-12);
  assert.equal(leastSquaresSlope([{ x: 1, y: 5 }]), 0);
  assert.equal(leastSquaresSlope([{ x: 1, y: 5 }, { x: 1, y: 7 }]), 0);
});

Deno.test("summarizeRss() reports the whole run and fits the slope to its second half only", () => {
  // Ten minutes, one sample a second: RSS climbs for five minutes, then stays flat.
  const samples = Array.from({ length: 601 }, (_, s) => ({
    atS: s,
    rssMb: 50 + Math.min(s, 300) / 10,
  }));
  const summary = summarizeRss(samples, 600);
  assert.deepEqual(
    { min: summary.minMb, median: summary.medianMb, max: summary.maxMb },
    { min: 50, median: 80, max: 80 },
  );
  assert.equal(summary.slopeSamples, 301);
  assert.equal(summary.slopeMbPerMin, 0);
  assert.deepEqual(summary.firstHalf, { medianMb: 65, maxMb: 79.9 });
  assert.deepEqual(summary.secondHalf, { medianMb: 80, maxMb: 80 });
  // Growing by 1 MB a minute in the second half shows as +1 MB/min.
  const leaking = samples.map((s) => ({ atS: s.atS, rssMb: 50 + Math.max(0, s.atS - 300) / 60 }));
  assert.ok(Math.abs(summarizeRss(leaking, 600).slopeMbPerMin - 1) < 1e-9);
});

Deno.test("parseStoppedLine() reads the collector's final counts", () => {
  assert.deepEqual(
    parseStoppedLine('level=info msg="stopped" messages=12 written=30 dropped=0 sessions=4'),
    { messages: 12, written: 30, dropped: 0, sessions: 4 },
  );
  assert.equal(parseStoppedLine("level=info msg=status messages=12 written=30"), undefined);
});

/** One simulated message as the collector would receive it (anonymous: masked bodies). */

/** The first `count` messages of room 0 of a small world, bodies rendered. */
function messages(count: number): Sent[] {
  const world = new World({ seed: "soak-test", rooms: 40, rate: 5, now: 0 });
  // A live room (gifts, super chats) that also sends SEND_GIFT_V2 twins.
  const room = world.rooms.find((r) => r.live && r.giftV2);
  assert.ok(room, "the seed has a live room with gift twins");
  const factory = new MessageFactory(world);
  const out: Sent[] = [];
  for (let now = 1_700_000_000_000; out.length < count; now += 37) {
    out.push(...nextSent(factory, room, now));
  }
  return out;
}

/** Reconciles `truth` against what a real store holds after `events` were written. */
function reconcile(
  dir: string,
  truth: string[],
  events: CollectedEvent[],
  collectorMessages: number,
): Reconciliation {
  const path = `${dir}/${crypto.randomUUID()}.db`;
  {
    using store = SqliteStore.open(path);
    store.write(events);
  }
  const reconciler = new Reconciler();
  for (const line of truth) reconciler.addTruthLine(line);
  using db = new DatabaseSync(path, { readOnly: true });
  reconciler.addDatabase(db);
  return reconciler.result(collectorMessages);
}

const byTable = (r: Reconciliation) =>
  Object.fromEntries(r.tables.map((t) => [t.table, t])) as Record<string, TableResult>;

Deno.test("messageId() finds the id the truth log gives danmaku and other messages", () => {
  const all = messages(200);
  const danmaku = all.find((s) => s.message.cmd.startsWith("DANMU_MSG"))!;
  const gift = all.find((s) => s.message.cmd === "SEND_GIFT")!;
  assert.equal(messageId(danmaku.message.cmd, danmaku.text), danmaku.message.id);
  assert.equal(messageId(gift.message.cmd, gift.text), gift.message.id);
  assert.equal(messageId("NOTICE_MSG", '{"cmd":"NOTICE_MSG"}'), undefined);
});

Deno.test("Reconciler counts a clean run as all stored, twins and second deliveries once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sent = messages(600);
    const gifts = sent.filter((s) => s.message.cmd === "SEND_GIFT");
    assert.ok(gifts.length > 0 && sent.some((s) => s.message.cmd === "SEND_GIFT_V2"));
    // Every message delivered on connection 1; the first 50 again on connection 2 (same room).
    const truth = [
      ...sent.map((s) => truthLine(s, 1)),
      ...sent.slice(0, 50).map((s) => truthLine(s, 2)),
    ];
    const events = sent.flatMap(received);
    const result = reconcile(dir, truth, events, sent.length);
    for (const table of [...result.tables, result.all]) {
      assert.deepEqual(
        {
          missing: table.missing,
          inFlight: table.inFlight,
          receivedNotStored: table.receivedNotStored,
          duplicated: table.duplicated,
          unexpected: table.unexpected,
        },
        { missing: 0, inFlight: 0, receivedNotStored: 0, duplicated: 0, unexpected: 0 },
        table.table,
      );
    }
    const tables = byTable(result);
    assert.equal(tables.gifts.delivered, gifts.length);
    assert.equal(tables.gifts.stored, gifts.length, "SEND_GIFT_V2 twins share the row");
    assert.equal(
      tables.danmaku.delivered,
      sent.filter((s) => s.message.cmd.startsWith("DANMU_MSG")).length,
    );
    assert.equal(result.all.delivered, sent.length);
    assert.equal(result.all.stored, sent.length);
    assert.equal(result.truthLines, sent.length + 50);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Reconciler tells missing, in flight at stop, received but not stored and duplicated apart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sent = messages(600);
    const danmaku = sent.filter((s) => s.message.cmd.startsWith("DANMU_MSG"));
    const interaction = sent.find((s) => s.message.cmd === "INTERACT_WORD_V2")!;
    const [lost, late, dropped] = danmaku;
    // `late` was written after the stop mark; the rest before it. `interaction` went out on two
    // connections of its room, and the collector stored both copies.
    const truth = [
      ...sent.filter((s) => s !== late).map((s) => truthLine(s, 1)),
      truthLine(interaction, 2),
      STOP_MARK,
      truthLine(late, 1),
    ];
    const events: CollectedEvent[] = [];
    for (const s of sent) {
      if (s === lost || s === late) continue; // never received
      const rows = received(s);
      // `dropped` was received (its raw row is there) but its danmaku row never written.
      events.push(...(s === dropped ? rows.filter((e) => e.type === "raw") : rows));
      if (s === interaction) events.push(...rows);
    }
    // The collector says it received one more message than raw_messages holds.
    const rawRows = sent.length - 2 + 1;
    const result = reconcile(dir, truth, events, rawRows + 1);
    const tables = byTable(result);
    assert.deepEqual(
      {
        delivered: tables.danmaku.delivered,
        stored: tables.danmaku.stored,
        missing: tables.danmaku.missing,
        inFlight: tables.danmaku.inFlight,
        receivedNotStored: tables.danmaku.receivedNotStored,
        duplicated: tables.danmaku.duplicated,
      },
      {
        delivered: danmaku.length,
        stored: danmaku.length - 3,
        missing: 2,
        inFlight: 1,
        receivedNotStored: 1,
        duplicated: 0,
      },
    );
    assert.equal(tables.interactions.duplicated, 1, "the interaction received and stored twice");
    assert.equal(tables.interactions.receivedNotStored, 0);
    assert.deepEqual(
      {
        delivered: result.all.delivered,
        stored: result.all.stored,
        missing: result.all.missing,
        inFlight: result.all.inFlight,
        receivedNotStored: result.all.receivedNotStored,
      },
      {
        delivered: sent.length,
        stored: rawRows,
        missing: 2,
        inFlight: 1,
        receivedNotStored: 1,
      },
    );
    assert.equal(result.afterStopLines, 1);
    // The report can show which messages went missing: never received first.
    const lineOf = (s: Sent) => truth.indexOf(truthLine(s, 1));
    assert.deepEqual(tables.danmaku.examples, [lineOf(lost), lineOf(dropped)]);
    assert.deepEqual(result.all.examples, [lineOf(lost)]);
    // The printed table fits 80 columns.
    for (const line of tableLines(result.tables, result.all)) assert.ok(line.length <= 80, line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Reconciler without a stop mark counts every unreceived message as missing", () => {
  const sent = messages(50);
  const reconciler = new Reconciler();
  for (const s of sent) reconciler.addTruthLine(truthLine(s, 1));
  const result = reconciler.result(0);
  assert.equal(result.all.missing, sent.length);
  assert.equal(result.all.inFlight, 0);
});
