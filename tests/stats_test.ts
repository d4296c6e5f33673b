import assert from "node:assert/strict";
import { runStats, statsReport } from "../src/cli/stats_command.ts";
import { LineWriter } from "../src/util/line_writer.ts";
import { ConfigError, StorageError } from "../src/errors.ts";
import { ROOM_A, ROOM_B, T0, withFixtureDb } from "./support/export_fixture.ts";

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
  await withFixtureDb((db) => {
    const { report } = statsReport(["--db", db]);
    assert.deepEqual(report.rooms.map((r) => r.roomId), [ROOM_A, ROOM_B]);
    const [a, b] = report.rooms;
    assert.deepEqual(a.counts, {
      danmaku: 201,
      gifts: 3,
      super_chats: 2,
      super_chat_deletions: 0,
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
    assert.deepEqual(a.valueCny, { gifts: 53, superChats: 80, guardBuys: 198, total: 331 });
    assert.equal(a.firstMs, T0 - MIN);
    assert.equal(a.lastMs, T0 + 110 * MIN + 475_000);
    assert.equal(b.counts.danmaku, 2);
    assert.deepEqual(b.valueCny, { gifts: 0, superChats: 0, guardBuys: 0, total: 0 });
  });
});

Deno.test("stats measures danmaku density per minute", async () => {
  await withFixtureDb((db) => {
    const a = statsReport(["--db", db, "--room", String(ROOM_A)]).report.rooms[0];
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
  await withFixtureDb((db) => {
    const a = statsReport(["--db", db, "--room", String(ROOM_A), "--top", "3"]).report.rooms[0];
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

Deno.test("stats finds collection gaps and suspected throttling from sessions", async () => {
  await withFixtureDb((db) => {
    const [a, b] = statsReport(["--db", db]).report.rooms;
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
      statsReport(["--db", db, "--min-gap", "3m"]).report.rooms[0].sessions.gaps,
      [],
    );
    const clipped = statsReport([
      "--db",
      db,
      "--room",
      String(ROOM_A),
      "--since",
      String(T0 + 30 * MIN),
      "--until",
      String(T0 + 90 * MIN),
    ]).report.rooms[0];
    assert.equal(clipped.sessions.spanMs, 60 * MIN);
    assert.equal(clipped.sessions.coveredMs, 58 * MIN);
    assert.equal(clipped.counts.danmaku, 3 * 20 + 2 * 20);
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
      /counts {7}danmaku 201 {2}gifts 3 {2}super_chats 2 {2}super_chat_deletions 0 {2}guard_buys 1/,
    );
    assert.match(
      text,
      /value CNY {4}gifts 53\.00 {2}super chats 80\.00 {2}guards 198\.00 {2}total 331\.00/,
    );
    assert.match(text, /gap 2024-05-01T13:00:00Z → 2024-05-01T13:02:00Z \(2m 0s\)/);
    assert.match(
      text,
      /throttling {3}SUSPECTED: median 20 danmaku per 10m 0s over 11 connected window/,
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
    assert.throws(() => statsReport(["--db", path]), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.message, `Cannot open database "${path}": no such file`);
      return true;
    });
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await withFixtureDb((db) => {
    const cases: [string[], RegExp][] = [
      [["--format", "csv"], /^Cannot parse --format "csv": expected table or json$/],
      [["--since", "noon"], /^Cannot parse --since "noon"/],
      [["--min-gap", "soon"], /^Cannot parse --min-gap "soon": expected a duration/],
      [["--top", "2000"], /^Cannot parse --top "2000": expected an integer from 0 to 1000$/],
    ];
    for (const [args, message] of cases) {
      assert.throws(() => statsReport(["--db", db, ...args]), (e: unknown) => {
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
