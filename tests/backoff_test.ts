import assert from "node:assert/strict";
import { backoffDelay } from "../src/util/backoff.ts";

Deno.test("backoffDelay() doubles from the base delay with each attempt", () => {
  const noJitter = { baseMs: 1000, maxMs: 1_000_000, jitter: 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, 0.5, noJitter)),
    [1000, 2000, 4000, 8000, 16000],
  );
});

Deno.test("backoffDelay() defaults to a 1 s base, a 2 min cap and 50 % jitter", () => {
  assert.equal(backoffDelay(0, 1), 1000);
  assert.equal(backoffDelay(0, 0), 500);
  assert.equal(backoffDelay(6, 1), 64_000);
  assert.equal(backoffDelay(7, 1), 120_000);
  assert.equal(backoffDelay(7, 0), 60_000);
});

Deno.test("backoffDelay() never exceeds maxMs, even for huge attempt numbers", () => {
  const options = { baseMs: 250, maxMs: 5000, jitter: 0 };
  assert.equal(backoffDelay(4, 0, options), 4000);
  assert.equal(backoffDelay(5, 0, options), 5000);
  assert.equal(backoffDelay(50, 0, options), 5000);
  assert.equal(backoffDelay(10_000, 0, options), 5000);
  assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, 1, { maxMs: 5000 }), 5000);
  assert.equal(backoffDelay(Infinity, 0, { maxMs: 5000 }), 2500);
});

Deno.test("backoffDelay() keeps the jittered delay within [ceiling·(1−jitter), ceiling]", () => {
  const options = { baseMs: 1000, maxMs: 60_000, jitter: 0.3 };
  for (let attempt = 0; attempt < 10; attempt++) {
    const ceiling = Math.min(60_000, 1000 * 2 ** attempt);
    for (const random of [0, 0.001, 0.25, 0.5, 0.75, 0.999999]) {
      const delay = backoffDelay(attempt, random, options);
      assert.ok(
        delay >= Math.round(ceiling * 0.7) && delay <= ceiling,
        `attempt ${attempt}, random ${random}: ${delay} is outside [${ceiling * 0.7}, ${ceiling}]`,
      );
    }
    assert.equal(backoffDelay(attempt, 0, options), Math.round(ceiling * 0.7));
  }
});

Deno.test("backoffDelay() spreads the delay linearly with the random input", () => {
  const options = { baseMs: 1000, maxMs: 60_000, jitter: 1 };
  assert.equal(backoffDelay(2, 0, options), 0);
  assert.equal(backoffDelay(2, 0.25, options), 1000);
  assert.equal(backoffDelay(2, 0.5, options), 2000);
  assert.equal(backoffDelay(2, 1, options), 4000);
});

Deno.test("backoffDelay() without jitter ignores the random input", () => {
  const options = { baseMs: 300, jitter: 0 };
  assert.equal(backoffDelay(3, 0, options), 2400);
  assert.equal(backoffDelay(3, 0.9, options), 2400);
});

Deno.test("backoffDelay() returns whole milliseconds", () => {
  const delay = backoffDelay(0, 1 / 3, { baseMs: 1000, jitter: 0.5 });
  assert.equal(delay, 667);
  assert.ok(Number.isInteger(delay));
});
