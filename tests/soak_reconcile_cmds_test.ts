/**
 * The soak's reconciliation of the cmds beyond chat (entries, SC deletions, lotteries, rankings,
 * notices) and of danmaku in the older layouts, whose rows carry no message id.
 */
import assert from "node:assert/strict";
import { nextSent, received, type Sent, truthLine } from "./support/sent_messages.ts";
import { DatabaseSync } from "node:sqlite";
import type { CollectedEvent } from "../src/normalize/events.ts";
import { MessageFactory } from "../src/simulator/message_factory.ts";
import { World } from "../src/simulator/world.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import {
  messageId,
  Reconciler,
  type Reconciliation,
  type TableResult,
} from "../scripts/soak/reconcile.ts";

/** `events` events of every room of a live world with rooms of older eras, masked bodies. */
function messages(events: number): Sent[] {
  const world = new World({ seed: "new-cmds", rooms: 6, rate: 5, now: 0, eraShare: 0.5 });
  const factory = new MessageFactory(world);
  const out: Sent[] = [];
  for (const room of world.rooms) {
    room.live = true;
    for (let i = 0, now = 1_765_000_000_000; i < events; i++, now += 37) {
      out.push(...nextSent(factory, room, now));
    }
  }
  return out;
}

/** Reconciles `sent` (all delivered) against a real store holding `events`. */
function reconcile(path: string, sent: Sent[], events: CollectedEvent[]): Reconciliation {
  {
    using store = SqliteStore.open(path);
    store.write(events);
  }
  const reconciler = new Reconciler();
  for (const s of sent) reconciler.addTruthLine(truthLine(s));
  using db = new DatabaseSync(path, { readOnly: true });
  reconciler.addDatabase(db);
  return reconciler.result(sent.length);
}

const byTable = (r: Reconciliation) =>
  Object.fromEntries(r.tables.map((t) => [t.table, t])) as Record<string, TableResult>;

const isOld = (s: Sent) => s.message.cmd.startsWith("DANMU_MSG") && !s.text.includes("id_str");

Deno.test("messageId() gives an old-layout danmaku its rnd, the id the truth log has for it", () => {
  const old = messages(300).filter(isOld);
  assert.ok(old.length > 100);
  for (const s of old) assert.equal(messageId(s.message.cmd, s.text), s.message.id);
});

Deno.test("Reconciler finds every row of the new tables and of old-layout danmaku in a clean run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sent = messages(1500);
    const result = reconcile(`${dir}/clean.db`, sent, sent.flatMap(received));
    const tables = byTable(result);
    for (const table of [...result.tables, result.all]) {
      assert.deepEqual(
        [table.missing, table.receivedNotStored, table.duplicated, table.unexpected],
        [0, 0, 0, 0],
        table.table,
      );
    }
    const count = (...cmds: string[]) => sent.filter((s) => cmds.includes(s.message.cmd)).length;
    for (
      const [table, cmds] of [
        ["entries", ["ENTRY_EFFECT", "ENTRY_EFFECT_MUST_RECEIVE"]],
        ["super_chat_deletions", ["SUPER_CHAT_MESSAGE_DELETE"]],
        ["lotteries", ["ANCHOR_LOT_START", "ANCHOR_LOT_END", "ANCHOR_LOT_AWARD"]],
        ["rank_changes", ["POPULAR_RANK_CHANGED"]],
        ["online_ranks", ["ONLINE_RANK_V2", "ONLINE_RANK_V3"]],
      ] as const
    ) {
      assert.ok(count(...cmds) > 0, table);
      assert.equal(tables[table].delivered, count(...cmds), table);
    }
    // A lottery phase sent twice (ANCHOR_LOT_START) is one row, not a duplicate.
    assert.ok(tables.lotteries.stored < tables.lotteries.delivered);
    assert.ok(tables.online_ranks.stored > tables.online_ranks.delivered, "a row per viewer");
    const danmaku = sent.filter((s) => s.message.cmd.startsWith("DANMU_MSG"));
    assert.equal(tables.danmaku.delivered, danmaku.length);
    assert.equal(tables.danmaku.stored, danmaku.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Reconciler tells an old-layout danmaku received but not stored, and a lottery phase lost", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sent = messages(1500);
    const dropped = sent.find(isOld)!;
    const end = sent.find((s) => s.message.cmd === "ANCHOR_LOT_END")!;
    const events: CollectedEvent[] = [];
    for (const s of sent) {
      const rows = received(s);
      // `dropped` and `end` were received (their raw rows are there), their rows never written.
      events.push(...(s === dropped || s === end ? rows.filter((e) => e.type === "raw") : rows));
    }
    const tables = byTable(reconcile(`${dir}/lost.db`, sent, events));
    assert.deepEqual(
      [tables.danmaku.missing, tables.danmaku.receivedNotStored, tables.danmaku.unexpected],
      [1, 1, 0],
    );
    assert.deepEqual(
      [tables.lotteries.missing, tables.lotteries.receivedNotStored, tables.lotteries.unexpected],
      [1, 1, 0],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
