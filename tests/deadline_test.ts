import assert from "node:assert/strict";
import { Deadline } from "../src/util/deadline.ts";

Deno.test("Deadline aborts its signal after the time and says it timed out", async () => {
  using deadline = new Deadline(10);
  assert.equal(deadline.signal.aborted, false);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(deadline.signal.aborted, true);
  assert.equal(deadline.timedOut, true);
});

Deno.test("Deadline follows its parent signal, and an already aborted parent aborts it at once", () => {
  const parent = new AbortController();
  {
    using deadline = new Deadline(60_000, parent.signal);
    parent.abort();
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.timedOut, false);
  }
  using late = new Deadline(60_000, parent.signal);
  assert.equal(late.signal.aborted, true);
});

Deno.test("Deadline leaves no timer behind once disposed (the leak sanitizer checks)", () => {
  const parent = new AbortController();
  {
    using deadline = new Deadline(60_000, parent.signal);
    assert.equal(deadline.signal.aborted, false);
  }
  parent.abort(); // the listener was removed: nothing to abort
});
