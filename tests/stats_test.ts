import assert from "node:assert/strict";
import { runStats, statsReport } from "../src/cli/stats_command.ts";
import { LineWriter } from "../src/util/line_writer.ts";
import { ConfigError, StorageError } from "../src/errors.ts";
import { DatabaseSync } from "node:sqlite";
import { displayWidth } from "../src/util/flags.ts";
import { buildV1Database } from "./fixtures/v1_database/build.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { compareCodePoints, PhraseCounter } from "../src/analysis/phrases.ts";
import { danmaku, ROOM_A, ROOM_B, T0, withFixtureDb } from "./support/export_fixture.ts";

const MIN = 60_000;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

function captured(): { stdout: LineWriter; text: () => string } {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  return {
    stdout: new LineWriter({
      writeSync(bytes) {
        chunks.push(decoder.decode(bytes));
        return bytes.length;
      },
    }),
    text: () => chunks.join(""),
  };
}

Deno.test("stats counts every kind per room and sums value in CNY", async () => {
  await withFixtureDb(async (db) => {
    const { report } = await statsReport(["--db", db]);
    assert.deepEqual(report.rooms.map((r) => r.roomId), [ROOM_A, ROOM_B]);
    const [a, b] = report.rooms;
    // Raw table counts: the 6 lottery danmaku and the deleted super chat count here.
    assert.deepEqual(a.counts, {
      danmaku: 207,
      gifts: 3,
      super_chats: 2,
      super_chat_deletions: 1,
      guard_buys: 1,
      interactions: 2,
      entries: 0,
      lotteries: 0,
      rank_changes: 0,
      online_ranks: 0,
      audience: 1,
      room_events: 1,
    });
    assert.equal(a.anchor, "主播A");
    assert.equal(a.maskedDanmaku, 8);
    // The 8 masked danmaku are i = 12..19 of the first window; i % 3 === 0 (12, 15, 18) is "aa11bb22".
    assert.deepEqual(a.topMaskedSenders, [
      { userHash: "cc33dd44", uname: "提***", count: 5 },
      { userHash: "aa11bb22", uname: "提***", count: 3 },
    ]);
    assert.deepEqual(b.topMaskedSenders, []);
    assert.equal(a.lotteryDanmaku, 6);
    // Super chat 2 (50 CNY) was deleted: 30 of the 80 CNY count.
    assert.deepEqual(a.valueCny, { gifts: 53, superChats: 30, guardBuys: 198, total: 281 });
    assert.deepEqual(a.deletedSuperChats, { count: 1, valueCny: 50 });
    assert.equal(a.firstMs, T0 - MIN);
    assert.equal(a.lastMs, T0 + 110 * MIN + 475_000);
    assert.equal(b.counts.danmaku, 2);
    assert.equal(b.lotteryDanmaku, 0);
    assert.deepEqual(b.valueCny, { gifts: 0, superChats: 0, guardBuys: 0, total: 0 });
    // Room B's deletion names a super chat it never stored.
    assert.equal(b.counts.super_chat_deletions, 1);
    assert.deepEqual(b.deletedSuperChats, { count: 0, valueCny: 0 });
  });
});

Deno.test("stats measures danmaku density per minute", async () => {
  await withFixtureDb(async (db) => {
    const a = (await statsReport(["--db", db, "--room", String(ROOM_A)])).report.rooms[0];
    // 20 danmaku 25 s apart fill minutes with 3, 2, 3, 2, … ; 201 danmaku over minutes 0–117.
    assert.equal(a.density.minutes, 118);
    assert.equal(a.density.meanPerMinute, 201 / 118);
    assert.equal(a.density.peakPerMinute, 3);
    assert.equal(a.density.peakMinuteMs, T0);
    assert.equal(a.density.perMinute.reduce((sum, [, n]) => sum + n, 0), 201);
    assert.deepEqual(a.density.perMinute.slice(0, 3), [[T0, 3], [T0 + MIN, 2], [T0 + 2 * MIN, 3]]);
    assert.equal(a.density.activeMinutes, a.density.perMinute.length);
  });
});

Deno.test("stats lists top senders without masked uid 0 and top normalized phrases", async () => {
  await withFixtureDb(async (db) => {
    const a =
      (await statsReport(["--db", db, "--room", String(ROOM_A), "--top", "3"])).report.rooms[0];
    assert.deepEqual(a.topSenders, [
      { uid: 8, uname: "Bob", count: 135 },
      { uid: 7, uname: "小明", count: 46 },
      { uid: 42, uname: 'Alice, "A"', count: 12 },
    ]);
    assert.deepEqual(a.topPhrases.slice(0, 2), [
      { phrase: "哈哈哈", count: 98 },
      { phrase: "hello world", count: 91 },
    ]);
    assert.equal(a.topPhrases.length, 3);
  });
});

Deno.test("stats leaves lottery danmaku out of density, senders, phrases and masked counts and counts them apart", async () => {
  await withFixtureDb(async (db) => {
    const { report } = await statsReport(["--db", db, "--room", String(ROOM_A), "--top", "20"]);
    assert.equal(report.includeLottery, false);
    const a = report.rooms[0];
    assert.equal(a.lotteryDanmaku, 6);
    assert.equal(a.counts.danmaku, 207);
    // Only the 201 typed danmaku: minute 65 (all 6 lottery danmaku) has none.
    assert.equal(a.density.perMinute.reduce((sum, [, n]) => sum + n, 0), 201);
    assert.equal(a.density.perMinute.some(([m]) => m === T0 + 65 * MIN), false);
    assert.equal(a.density.meanPerMinute, 201 / 118);
    assert.equal(a.density.peakPerMinute, 3);
    assert.equal(a.maskedDanmaku, 8);
    assert.deepEqual(a.topSenders.find((s) => s.uid === 42), {
      uid: 42,
      uname: 'Alice, "A"',
      count: 12,
    });
    assert.equal(a.topMaskedSenders.some((s) => s.userHash === "ee55ff66"), false);
    assert.equal(a.topPhrases.some((p) => p.phrase === "冲冲冲"), false);
  });
});

Deno.test("stats --include-lottery keeps lottery danmaku in density, senders, phrases and masked counts", async () => {
  await withFixtureDb(async (db) => {
    const args = ["--db", db, "--room", String(ROOM_A), "--top", "3"];
    const { report } = await statsReport([...args, "--include-lottery"]);
    assert.equal(report.includeLottery, true);
    const a = report.rooms[0];
    assert.equal(a.lotteryDanmaku, 6);
    assert.equal(a.counts.danmaku, 207);
    assert.equal(a.density.perMinute.reduce((sum, [, n]) => sum + n, 0), 207);
    assert.equal(a.density.meanPerMinute, 207 / 118);
    assert.equal(a.density.peakPerMinute, 6);
    assert.equal(a.density.peakMinuteMs, T0 + 65 * MIN);
    assert.equal(a.maskedDanmaku, 10);
    assert.deepEqual(a.topSenders, [
      { uid: 8, uname: "Bob", count: 135 },
      { uid: 7, uname: "小明", count: 46 },
      { uid: 42, uname: 'Alice, "A"', count: 16 },
    ]);
    assert.deepEqual(a.topMaskedSenders[2], { userHash: "ee55ff66", uname: "提***", count: 2 });
    assert.deepEqual(a.topPhrases, [
      { phrase: "哈哈哈", count: 98 },
      { phrase: "hello world", count: 91 },
      { phrase: "冲冲冲", count: 6 },
    ]);
    // Throttling judges delivery: it counts every danmaku received either way.
    assert.deepEqual(a.throttling, (await statsReport(args)).report.rooms[0].throttling);
  });
});

Deno.test("stats leaves a deleted super chat out of the value, also when the deletion came after the range", async () => {
  await withFixtureDb(async (db) => {
    const all = (await statsReport(["--db", db, "--room", String(ROOM_A)])).report.rooms[0];
    assert.deepEqual(all.valueCny, { gifts: 53, superChats: 30, guardBuys: 198, total: 281 });
    assert.deepEqual(all.deletedSuperChats, { count: 1, valueCny: 50 });
    // Super chat 2 started at +45 min; its deletion was received at +46 min, after --until.
    const range = (await statsReport([
      "--db",
      db,
      "--room",
      String(ROOM_A),
      "--since",
      String(T0 + 44 * MIN),
      "--until",
      String(T0 + 46 * MIN),
    ])).report.rooms[0];
    assert.equal(range.counts.super_chats, 1);
    assert.deepEqual(range.valueCny, { gifts: 0, superChats: 0, guardBuys: 0, total: 0 });
    assert.deepEqual(range.deletedSuperChats, { count: 1, valueCny: 50 });
    // Per minute too: the deleted super chat's minute (+45) has no value.
    assert.deepEqual(all.valuePerMinute, [
      [T0 + 30 * MIN, 53, 0, 0],
      [T0 + 40 * MIN, 0, 30, 0],
      [T0 + 50 * MIN, 0, 0, 198],
    ]);
    assert.deepEqual(range.valuePerMinute, []);
  });
});

Deno.test("stats table fits 80 columns: counts wrap and skip empty kinds, long names and phrases are cut", async () => {
  await withFixtureDb(async (db) => {
    {
      using store = SqliteStore.open(db);
      store.write([
        {
          type: "room",
          roomId: ROOM_B,
          receivedAtMs: T0,
          shortId: null,
          anchorUid: 1,
          uname: "一个名字很长很长的主播".repeat(2),
          title: "【直播】今天也要开开心心地唱歌聊天打游戏".repeat(3),
          areaId: 1,
          areaName: "聊天",
          parentAreaId: 2,
          parentAreaName: "娱乐",
          liveStatus: 1,
          seenAtMs: T0,
        },
        danmaku({
          roomId: ROOM_B,
          tsMs: T0 + 7000,
          receivedAtMs: T0 + 7200,
          msgId: "long",
          uid: 123_456_789_012,
          uname: "超长用户名".repeat(6),
          text: "这是一条非常非常长的弹幕，用来测试表格会不会超出终端宽度".repeat(4),
        }),
      ]);
    }
    for (const extra of [[], ["--include-lottery"]]) {
      const table = captured();
      await runStats(["--db", db, ...extra], { stdout: table.stdout, log: () => {} });
      const lines = table.text().split("\n");
      const wide = lines.filter((line) => displayWidth(line) > 80);
      assert.deepEqual(wide, [], "lines wider than 80 columns");
      assert.ok(lines.some((l) => l.startsWith("room 2002  一个名字很长") && l.endsWith("…")));
      assert.ok(lines.some((l) => /^ {4} 2\. {7}1 {2}"这是一条非常.*…"$/.test(l)));
      assert.ok(lines.some((l) => /^ {4} 2\. {7}1 {2}超长用户名.*… \(uid 123456789012\)$/.test(l)));
      // Kinds without rows are left out of room B's counts.
      const counts = lines.findLastIndex((l) => l.startsWith("  counts"));
      assert.deepEqual(lines.slice(counts, counts + 2), [
        "  counts       danmaku 3  super_chat_deletions 1  entries 1  lotteries 1",
        "               rank_changes 1  online_ranks 1",
      ]);
    }
    // JSON keeps the texts whole.
    const json = captured();
    await runStats(["--db", db, "--format", "json", "--room", String(ROOM_B)], {
      stdout: json.stdout,
      log: () => {},
    });
    const room = JSON.parse(json.text()).rooms[0];
    assert.equal(room.topSenders[1].uname, "超长用户名".repeat(6));
    assert.equal(room.counts.gifts, 0);
  });
});

Deno.test("stats reads a schema-version-1 database: every danmaku typed by a viewer, no deletion", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/v1.db`;
    buildV1Database(db);
    const expected = new Map<number, { danmaku: number; cny: number }>();
    {
      using raw = new DatabaseSync(db, { readOnly: true });
      for (
        const row of raw.prepare("SELECT room_id, count(*) AS n FROM danmaku GROUP BY room_id")
          .all()
      ) {
        expected.set(Number(row.room_id), { danmaku: Number(row.n), cny: 0 });
      }
      for (
        const row of raw.prepare(
          "SELECT room_id, sum(price_cny) AS cny FROM super_chats GROUP BY room_id",
        ).all()
      ) {
        const e = expected.get(Number(row.room_id)) ?? { danmaku: 0, cny: 0 };
        expected.set(Number(row.room_id), { ...e, cny: Number(row.cny) });
      }
    }
    const { report } = await statsReport(["--db", db, "--include-lottery"]);
    const rooms = report.rooms.filter((r) => expected.has(r.roomId));
    assert.equal(rooms.length, expected.size);
    assert.ok(rooms.some((r) => r.counts.danmaku > 0 && r.valueCny.superChats > 0));
    const plain = (await statsReport(["--db", db])).report.rooms;
    for (const r of rooms) {
      const e = expected.get(r.roomId)!;
      assert.equal(r.counts.danmaku, e.danmaku);
      assert.equal(r.lotteryDanmaku, 0);
      assert.equal(r.valueCny.superChats, e.cny);
      assert.deepEqual(r.deletedSuperChats, { count: 0, valueCny: 0 });
      // With no lottery danmaku, --include-lottery changes nothing.
      assert.deepEqual(plain.find((p) => p.roomId === r.roomId)!.density, r.density);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stats finds collection gaps and suspected throttling from sessions", async () => {
  await withFixtureDb(async (db) => {
    const [a, b] = (await statsReport(["--db", db])).report.rooms;
    assert.deepEqual(a.sessions, {
      count: 2,
      unterminated: 0,
      spanMs: 120 * MIN,
      coveredMs: 118 * MIN,
      coverage: 118 / 120,
      gaps: [{ fromMs: T0 + 60 * MIN, toMs: T0 + 62 * MIN, durationMs: 2 * MIN }],
    });
    // Windows 0–5 and 7–11 are connected (window 6 is 80 % covered); window 9 has 1 danmaku.
    assert.deepEqual(a.throttling, {
      suspected: true,
      windows: 11,
      medianPerWindow: 20,
      flagged: [{ fromMs: T0 + 90 * MIN, toMs: T0 + 100 * MIN, count: 1, expected: 20 }],
    });
    // Room B's session never ended: it counts until the room's last received row.
    assert.equal(b.sessions.unterminated, 1);
    assert.equal(b.sessions.spanMs, 10_200);
    assert.equal(b.throttling.suspected, false);
    // A longer --min-gap hides the 2-minute gap; a range clips the span.
    assert.deepEqual(
      (await statsReport(["--db", db, "--min-gap", "3m"])).report.rooms[0].sessions.gaps,
      [],
    );
    const clipped = (await statsReport([
      "--db",
      db,
      "--room",
      String(ROOM_A),
      "--since",
      String(T0 + 30 * MIN),
      "--until",
      String(T0 + 90 * MIN),
    ])).report.rooms[0];
    assert.equal(clipped.sessions.spanMs, 60 * MIN);
    assert.equal(clipped.sessions.coveredMs, 58 * MIN);
    // Windows 3–5 and 7–8, plus the 6 lottery danmaku of window 6 (counts are raw).
    assert.equal(clipped.counts.danmaku, 3 * 20 + 2 * 20 + 6);
    assert.equal(clipped.throttling.suspected, false);
  });
});

Deno.test("stats --format json prints the report; table prints a summary for people", async () => {
  await withFixtureDb(async (db) => {
    const json = captured();
    await runStats(["--db", db, "--format", "json"], { stdout: json.stdout, log: () => {} });
    const parsed = JSON.parse(json.text());
    assert.equal(parsed.rooms.length, 2);
    assert.equal(parsed.throttleRule.windowMs, 600_000);
    assert.deepEqual(parsed.rooms[0].density.perMinute[0], [T0, 3]);
    const table = captured();
    await runStats(["--db", db], { stdout: table.stdout, log: () => {} });
    const text = table.text();
    assert.match(text, /^2 room\(s\), start → end \(times in UTC\)\n/);
    assert.match(text, /room 1001 {2}主播A · 标题 <test> & "x"/);
    assert.match(
      text,
      /\n {2}counts {7}danmaku 207 {2}gifts 3 {2}super_chats 2 {2}super_chat_deletions 1\n {15}guard_buys 1 {2}interactions 2 {2}audience 1 {2}room_events 1\n/,
    );
    assert.match(
      text,
      /\n {2}lottery {6}6 lottery danmaku, left out \(--include-lottery keeps them\)\n/,
    );
    assert.match(
      text,
      /value CNY {4}gifts 53\.00 {2}super chats 30\.00 {2}guards 198\.00 {2}total 281\.00\n {15}left out: 1 deleted super chat \(50\.00\)\n/,
    );
    assert.match(text, /gap 2024-05-01T13:00:00Z → 2024-05-01T13:02:00Z \(2m 0s\)/);
    assert.match(
      text,
      /throttling {3}SUSPECTED: median 20 danmaku per 10m 0s\n {15}over 11 connected window/,
    );
    assert.match(
      text,
      /low rate 2024-05-01T13:30:00Z → 2024-05-01T13:40:00Z: 1 danmaku, 20 expected/,
    );
    assert.match(text, / 1\. {5}135 {2}Bob \(uid 8\)/);
  });
});

Deno.test("stats rejects a missing database without creating it, and bad flags by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/none.db`;
    await assert.rejects(() => statsReport(["--db", path]), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.message, `Cannot open database "${path}": no such file`);
      return true;
    });
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await withFixtureDb(async (db) => {
    const cases: [string[], RegExp][] = [
      [["--format", "csv"], /^Cannot parse --format "csv": expected table or json$/],
      [["--since", "noon"], /^Cannot parse --since "noon"/],
      [["--min-gap", "soon"], /^Cannot parse --min-gap "soon": expected a duration/],
      [["--top", "2000"], /^Cannot parse --top "2000": expected an integer from 0 to 1000$/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(() => statsReport(["--db", db, ...args]), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, message);
        return true;
      });
    }
  });
});

Deno.test("main.ts stats prints json and exits 1 for a missing database", async () => {
  await withFixtureDb(async (db, dir) => {
    const ok = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "stats", "--db", db, "--format", "json", "--room", String(ROOM_B)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    assert.equal(JSON.parse(new TextDecoder().decode(ok.stdout)).rooms[0].counts.danmaku, 2);
    const missing = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "stats", "--db", `${dir}/nope.db`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(missing.code, 1);
    assert.match(
      new TextDecoder().decode(missing.stderr),
      /error: Cannot open database ".*nope.db": no such file/,
    );
  });
});

Deno.test("PhraseCounter merges variants of a phrase and orders ties by code point, as SQLite's BINARY does", () => {
  const phrases = new PhraseCounter();
  for (
    const [text, n] of [
      ["😀", 2],
      ["\uE000", 2],
      ["Ｈｅｌｌｏ  World", 1],
      [" hello world ", 2],
      ["哈哈哈哈哈", 3],
      ["   ", 9],
      ["b", 2],
    ] as const
  ) phrases.add(text, n);
  assert.deepEqual(phrases.top(10), [
    { phrase: "hello world", count: 3 },
    { phrase: "哈哈哈", count: 3 },
    { phrase: "b", count: 2 },
    { phrase: "\uE000", count: 2 },
    { phrase: "😀", count: 2 },
  ]);
  assert.deepEqual(phrases.top(2).map((p) => p.phrase), ["hello world", "哈哈哈"]);
  assert.deepEqual(phrases.top(0), []);
  // The order of UTF-8 bytes, which is what SQLite compares.
  const words = ["\uE000", "😀", "\uFFFD", "z", "", "ä", "𝟘", "\uD7FF"];
  const bytes = (s: string) => [...new TextEncoder().encode(s)];
  const byBytes = words.toSorted((a, b) => {
    const [x, y] = [bytes(a), bytes(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  });
  assert.deepEqual(words.toSorted(compareCodePoints), byBytes);
});
