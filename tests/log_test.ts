import assert from "node:assert/strict";
import { fieldLogger, formatLogLine, formatLogValue } from "../src/util/log.ts";

Deno.test("formatLogValue() leaves plain words and numbers bare and quotes anything else as JSON", () => {
  assert.equal(formatLogValue("tcp"), "tcp");
  assert.equal(formatLogValue("127.0.0.1:2243"), "127.0.0.1:2243");
  assert.equal(formatLogValue("/tmp/a.db"), "/tmp/a.db");
  assert.equal(formatLogValue(42), "42");
  assert.equal(formatLogValue(false), "false");
  assert.equal(formatLogValue(null), "null");
  assert.equal(formatLogValue("two words"), '"two words"');
  assert.equal(formatLogValue(""), '""');
  assert.equal(formatLogValue('say "hi"'), '"say \\"hi\\""');
  assert.equal(formatLogValue("a=b"), '"a=b"');
  assert.equal(formatLogValue("line\nbreak"), '"line\\nbreak"');
  assert.equal(formatLogValue("中文"), '"中文"');
});

Deno.test("formatLogLine() writes level, msg, then the fields in order, leaving out undefined ones", () => {
  assert.equal(
    formatLogLine("warn", "API call failed", { room: 7, retry_in_ms: 500, detail: undefined }),
    'level=warn msg="API call failed" room=7 retry_in_ms=500',
  );
  assert.equal(formatLogLine("info", "stopped"), 'level=info msg="stopped"');
});

Deno.test("fieldLogger() sends one finished line per call to its sink", () => {
  const lines: string[] = [];
  const log = fieldLogger((line) => lines.push(line));
  log.info("collecting", { rooms: 3 });
  log.error("Cannot write", { file: "x y.db" });
  assert.deepEqual(lines, [
    'level=info msg="collecting" rooms=3',
    'level=error msg="Cannot write" file="x y.db"',
  ]);
});
