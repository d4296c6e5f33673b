import assert from "node:assert/strict";
import { ConfigError } from "../src/errors.ts";
import { csvField, csvRecord } from "../src/export/csv.ts";
import { escapeXml } from "../src/export/xml_escape.ts";
import { parseRoomList, parseTimeFlag, parseTimeRange } from "../src/export/time_flag.ts";
import { UidHasher } from "../src/export/uid_hasher.ts";
import { relativeSeconds } from "../src/export/recorder_xml.ts";
import { normalizePhrase } from "../src/analysis/phrases.ts";
import { densitySummary, median } from "../src/analysis/density.ts";
import { coverageGaps, coveredMs, sessionCoverage } from "../src/analysis/coverage.ts";
import { detectThrottling, knownOffline, type RateWindow } from "../src/analysis/throttling.ts";

Deno.test("csvField() quotes only fields with quotes, commas, CR, LF, tabs or edge spaces", () => {
  assert.equal(csvField("plain 中文 🎉"), "plain 中文 🎉");
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField("a\r\nb"), '"a\r\nb"');
  assert.equal(csvField("a\tb"), '"a\tb"');
  assert.equal(csvField(" pad"), '" pad"');
  assert.equal(csvField(""), '""');
  assert.equal(csvField(null), "");
  assert.equal(csvField(0.5), "0.5");
  assert.equal(csvRecord(["a", null, 3]), "a,,3\r\n");
});

Deno.test("escapeXml() escapes markup, keeps CR/LF/tab as references and drops forbidden characters", () => {
  assert.equal(escapeXml("plain"), "plain");
  assert.equal(escapeXml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
  assert.equal(escapeXml("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
  assert.equal(escapeXml("x\u0000\u0007\u001f\uffffy"), "xy");
  assert.equal(escapeXml("lone \ud800 high, 🎉 pair"), "lone  high, 🎉 pair");
});

Deno.test("parseTimeFlag() reads unix ms and ISO 8601 with a zone", () => {
  assert.equal(parseTimeFlag("since", "1714564800000"), 1714564800000);
  assert.equal(parseTimeFlag("since", "2024-05-01"), Date.UTC(2024, 4, 1));
  assert.equal(parseTimeFlag("since", "2024-05-01T20:00:00+08:00"), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseTimeFlag("since", "2024-05-01T12:00Z"), Date.UTC(2024, 4, 1, 12));
  assert.equal(
    parseTimeFlag("since", "2024-05-01 12:00:01.5z"),
    Date.UTC(2024, 4, 1, 12, 0, 1, 500),
  );
  assert.equal(parseTimeFlag("until", "2024-05-01T07:00:00-0500"), Date.UTC(2024, 4, 1, 12));
});

Deno.test("parseTimeFlag() rejects unix seconds, missing zones and impossible dates, naming the flag", () => {
  const cases: [string, RegExp][] = [
    ["1714564800", /^Cannot parse --since "1714564800": .*unix seconds/],
    ["2024-05-01T12:00:00", /^Cannot parse --since "2024-05-01T12:00:00": add a zone/],
    ["2024-02-30", /^Cannot parse --since "2024-02-30": no such date/],
    ["yesterday", /^Cannot parse --since "yesterday": expected unix milliseconds or ISO 8601/],
    ["2024-05-01T25:00Z", /no such date or time/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseTimeFlag("since", value), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(
    () => parseTimeRange("2024-05-02", "2024-05-01"),
    /Cannot use --until "2024-05-01": it is not after --since "2024-05-02"/,
  );
});

Deno.test("parseRoomList() reads distinct positive ids and names a bad one", () => {
  assert.deepEqual(parseRoomList("1, 2,2,3"), [1, 2, 3]);
  assert.equal(parseRoomList(undefined), undefined);
  assert.throws(() => parseRoomList("1,x"), /Cannot parse --room "1,x": "x" is not a room id/);
  assert.throws(() => parseRoomList(","), /no room id/);
});

Deno.test("UidHasher hashes uids as 16 hex digits of HMAC-SHA256, keeps uid 0, refuses short salts", () => {
  const hasher = new UidHasher("s3cret-salt");
  // python3 -c "import hmac;print(hmac.new(b's3cret-salt',b'42','sha256').hexdigest()[:16])"
  assert.equal(hasher.hash(42), "54e4d7993f327a4e");
  assert.equal(hasher.hash(42), hasher.hash(42));
  assert.notEqual(hasher.hash(42), new UidHasher("other-salt").hash(42));
  assert.equal(hasher.hash(0), "0");
  assert.throws(() => new UidHasher("short"), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^Cannot use --hash-uids "short": the salt needs at least 8/);
    return true;
  });
});

Deno.test("relativeSeconds() gives seconds since the start with 3 decimals, never negative", () => {
  assert.equal(relativeSeconds(1500, 1000), "0.500");
  assert.equal(relativeSeconds(500, 1000), "0.000");
});

Deno.test("normalizePhrase() folds width, case, spaces and long character runs", () => {
  assert.equal(normalizePhrase("  ＨＥＬＬＯ \t World "), "hello world");
  assert.equal(normalizePhrase("哈哈哈哈哈哈"), "哈哈哈");
  assert.equal(normalizePhrase("2333333"), "2333");
  assert.equal(normalizePhrase("🎉🎉🎉🎉🎉"), "🎉🎉🎉");
});

Deno.test("densitySummary() counts quiet minutes between the first and last as zero", () => {
  assert.deepEqual(densitySummary([[0, 3], [120_000, 1], [180_000, 4]]), {
    minutes: 4,
    activeMinutes: 3,
    meanPerMinute: 2,
    peakPerMinute: 4,
    peakMinuteMs: 180_000,
  });
  assert.equal(densitySummary([]).peakMinuteMs, null);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("sessionCoverage() merges sessions and ends an unterminated one at the next start", () => {
  const covered = sessionCoverage([
    { startedAtMs: 0, endedAtMs: 100 },
    { startedAtMs: 50, endedAtMs: 150 },
    { startedAtMs: 300, endedAtMs: null },
    { startedAtMs: 400, endedAtMs: 500 },
    { startedAtMs: 700, endedAtMs: null },
  ], 900);
  assert.deepEqual(covered, [
    { fromMs: 0, toMs: 150 },
    { fromMs: 300, toMs: 500 },
    { fromMs: 700, toMs: 900 },
  ]);
  assert.deepEqual(coverageGaps(covered, 200), [{ fromMs: 500, toMs: 700 }]);
  assert.equal(coveredMs(covered, 100, 800), 50 + 200 + 100);
});

Deno.test("detectThrottling() flags connected windows below 10 % of the median and merges runs", () => {
  const w = (i: number, count: number, extra: Partial<RateWindow> = {}): RateWindow => ({
    startMs: i * 600_000,
    count,
    coverage: 1,
    offline: false,
    ...extra,
  });
  const verdict = detectThrottling([
    w(0, 50),
    w(1, 40),
    w(2, 3),
    w(3, 2),
    w(4, 0, { coverage: 0.5 }),
    w(5, 0, { offline: true }),
    w(6, 45),
    w(7, 60),
  ]);
  assert.equal(verdict.windows, 6);
  assert.equal(verdict.medianPerWindow, 42.5);
  assert.deepEqual(verdict.flagged, [
    { fromMs: 1_200_000, toMs: 2_400_000, count: 5, expected: 85 },
  ]);
  assert.equal(verdict.suspected, true);
  // A quiet room (median below 10 per window) is never judged.
  assert.equal(detectThrottling([w(0, 8), w(1, 0), w(2, 9)]).suspected, false);
});

Deno.test("knownOffline() is true after a PREPARING or when one falls inside the window", () => {
  const changes = [{ atMs: 100, live: true }, { atMs: 500, live: false }, {
    atMs: 900,
    live: true,
  }];
  assert.equal(knownOffline(changes, 200, 400), false);
  assert.equal(knownOffline(changes, 400, 600), true);
  assert.equal(knownOffline(changes, 600, 800), true);
  assert.equal(knownOffline(changes, 950, 1000), false);
  assert.equal(knownOffline([], 0, 10), false);
});
