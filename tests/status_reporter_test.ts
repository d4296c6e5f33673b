import assert from "node:assert/strict";
import { StatusReporter, type StatusSources } from "../src/collector/status_reporter.ts";
import type { SupervisorStatus } from "../src/collector/supervisor.ts";

const T0 = 1_750_000_000_000;

/** Sources for a busy, healthy collector: 98 of 100 rooms live, 1.2 M rows written. */
function sources(): StatusSources & { status: SupervisorStatus } {
  const status: SupervisorStatus = {
    rooms: 100,
    byState: {
      resolving: 0,
      waiting: 0,
      connecting: 1,
      live: 98,
      backoff: 1,
      failed: 0,
      stopped: 0,
    },
    messages: 1_234_567,
    sessions: 120,
    wss: 0,
  };
  return {
    status,
    supervisor: { status: () => status },
    queue: { size: 12_345, bytes: 6_200_000, droppedTotal: 0 },
    flusher: { written: 1_222_222, failures: 0, currentError: undefined },
  };
}

/** `key=value` fields of a line, as the soak and bench scripts read them. */
function fields(line: string): Map<string, string> {
  return new Map(line.split(" ").map((part) => part.split("=") as [string, string]));
}

Deno.test("StatusReporter.line() leads with written, dropped, write_errors and the queue", () => {
  const reporter = new StatusReporter(sources(), T0);
  const line = reporter.line(T0 + 1000);
  assert.match(
    line,
    /^written=1222222 dropped=0 write_errors=0 queue=12345 queue_mb=6\.2 live=98 rooms=100 msg_per_s=1234567 messages=1234567 connecting=1 backoff=1 failed=0 rss_mb=\d+ heap_mb=\d+$/,
  );
});

Deno.test("StatusReporter.line({ compact: true }) fits an 80-column terminal for a busy collector", () => {
  const s = sources();
  s.queue = { size: 8_765, bytes: 4_400_000, droppedTotal: 0 }; // a few seconds of 1,000 msg/s
  const reporter = new StatusReporter(s, T0);
  reporter.line(T0 + 1000);
  s.status.messages += 850;
  const line = reporter.line(T0 + 2000, { compact: true });
  assert.equal(
    line,
    "written=1222222 dropped=0 write_errors=0 queue=8765/4.4MB live=98/100 msg/s=850",
  );
  assert.ok(line.length <= 79, `${line.length} columns`); // main.ts cuts at the width - 1
});

Deno.test("StatusReporter.line() adds failed rooms and the write error while writes fail", () => {
  const s = sources();
  s.status.byState.failed = 2;
  s.flusher = {
    written: 10,
    failures: 3,
    currentError: 'Cannot write 5 events to "d.db": the disk is full',
  };
  s.queue = { size: 5, bytes: 2_500, droppedTotal: 7 };
  const reporter = new StatusReporter(s, T0);
  const compact = reporter.line(T0 + 1000, { compact: true });
  assert.match(
    compact,
    /^written=10 dropped=7 write_errors=3 queue=5\/0\.0MB live=98\/100 msg\/s=\d+ failed=2 error="Cannot write 5 events to \\"d\.db\\": the disk is full"$/,
  );
  const full = fields(reporter.line(T0 + 2000));
  assert.equal(full.get("dropped"), "7");
  assert.equal(full.get("write_errors"), "3");
  assert.equal(full.get("failed"), "2");
  assert.ok(full.has("error"));
});

Deno.test("StatusReporter.line() counts the rooms on wss when there are some; the compact form only where 80 columns hold it", () => {
  const s = sources();
  s.status.wss = 3;
  s.status.rooms = 10;
  s.status.byState.live = 9;
  s.queue = { size: 876, bytes: 400_000, droppedTotal: 0 };
  s.flusher = { written: 22_222, failures: 0, currentError: undefined };
  const reporter = new StatusReporter(s, T0);
  reporter.line(T0 + 1000);
  s.status.messages += 85;
  assert.equal(
    reporter.line(T0 + 2000, { compact: true }),
    "written=22222 dropped=0 write_errors=0 queue=876/0.4MB live=9/10 msg/s=85 wss=3",
  );
  assert.equal(fields(reporter.line(T0 + 3000)).get("wss"), "3");
  s.status.wss = 100;
  s.status.rooms = 100;
  s.status.byState.live = 98;
  s.queue = { size: 8_765, bytes: 4_400_000, droppedTotal: 0 };
  s.flusher = { written: 1_222_222, failures: 0, currentError: undefined };
  const busy = reporter.line(T0 + 4000, { compact: true });
  assert.ok(busy.length <= 79, `${busy.length} columns: ${busy}`);
  assert.ok(!busy.includes("wss="), "left out where it would not fit");
  assert.equal(fields(reporter.line(T0 + 5000)).get("wss"), "100");
  s.status.wss = 0;
  assert.ok(!fields(reporter.line(T0 + 6000)).has("wss"), "no wss= while every room is on TCP");
});
