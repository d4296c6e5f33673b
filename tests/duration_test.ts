import assert from "node:assert/strict";
import { parseDuration } from "../src/util/duration.ts";

Deno.test("parseDuration() reads every unit: ms, s, m, h and d", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("10s"), 10_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("1d"), 86_400_000);
});

Deno.test("parseDuration() reads a bare number as seconds", () => {
  assert.equal(parseDuration("30"), 30_000);
  assert.equal(parseDuration("0"), 0);
});

Deno.test("parseDuration() accepts fractions and rounds to whole milliseconds", () => {
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("0.25m"), 15_000);
  assert.equal(parseDuration("2.5"), 2500);
  assert.equal(parseDuration("0.4ms"), 0);
  assert.equal(parseDuration("1.6ms"), 2);
});

Deno.test("parseDuration() ignores surrounding whitespace", () => {
  assert.equal(parseDuration("  10s\n"), 10_000);
});

Deno.test("parseDuration() returns undefined for text that is not a duration", () => {
  for (
    const text of [
      "",
      " ",
      "s",
      "-5s",
      "+5s",
      "10 s",
      "10S",
      "10sec",
      "5w",
      "1e3",
      ".5s",
      "5.s",
      "1h30m",
      "ten",
      "0x10",
      "Infinity",
      "NaN",
    ]
  ) {
    assert.equal(parseDuration(text), undefined, `"${text}" should not parse`);
  }
});
