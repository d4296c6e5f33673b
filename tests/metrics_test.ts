/**
 * The Prometheus text writer read back by the real parser (Debian's python3-prometheus-client),
 * the --http address rules, and the /api/status rates and history.
 */
import assert from "node:assert/strict";
import { isLoopback, parseCollectArgs, parseHttpAddress } from "../src/collector/config.ts";
import { ConfigError } from "../src/errors.ts";
import type { CollectorReading, RoomReading } from "../src/web/collector_reading.ts";
import { escapeLabelValue, MetricsWriter, renderMetrics } from "../src/web/metrics.ts";
import { HISTORY_MS, StatusTracker } from "../src/web/status_json.ts";
import { parsePrometheus } from "./support/prometheus_parser.ts";

Deno.test("label values with quotes, backslashes and line feeds come back intact through the real parser", async () => {
  const tricky = 'a "quoted" title \\ with C:\\path\nand a second line, 弹幕 }{,=';
  const text = new MetricsWriter()
    .family("danmaku_test_info", "gauge", "Help with a \\ backslash\nand a line feed", [
      [{ title: tricky, room: 7 }, 1],
    ])
    .family("danmaku_test_total", "counter", "A counter", [[{}, 3]])
    .text();
  assert.equal(text.split("\n").length, 7, "one line per HELP, TYPE and sample:\n" + text);
  const { code, families, error } = await parsePrometheus(text);
  assert.equal(code, 0, error);
  assert.deepEqual(families[0].samples, [["danmaku_test_info", { title: tricky, room: "7" }, 1]]);
  assert.equal(families[0].help, "Help with a \\ backslash\nand a line feed");
  assert.deepEqual(families[1], {
    name: "danmaku_test",
    type: "counter",
    help: "A counter",
    samples: [["danmaku_test_total", {}, 3]],
  });
});

Deno.test("escapeLabelValue() escapes backslash, double quote and line feed only", () => {
  assert.equal(escapeLabelValue('x\\y"z\nw\t'), 'x\\\\y\\"z\\nw\t');
});

Deno.test("MetricsWriter refuses a counter without _total and a family written twice", () => {
  assert.throws(() => new MetricsWriter().single("danmaku_x", "counter", "h", 1), /_total/);
  const writer = new MetricsWriter().single("danmaku_y", "gauge", "h", 1);
  assert.throws(() => writer.single("danmaku_y", "gauge", "h", 2), /twice/);
});

function room(roomId: number, messages: number, extra: Partial<RoomReading> = {}): RoomReading {
  return {
    roomId,
    state: "live",
    transport: "tcp",
    messages,
    bytes: messages * 100,
    reconnects: 0,
    lastMessageAgeS: 1,
    quiet: false,
    title: null,
    anchor: null,
    ...extra,
  };
}

function reading(nowMs: number, rooms: RoomReading[]): CollectorReading {
  return {
    nowMs,
    startedAtMs: 0,
    rooms,
    messages: rooms.reduce((sum, r) => sum + r.messages, 0),
    queue: { events: 0, bytes: 0, limitBytes: 1e6 },
    written: 10,
    rows: [["danmaku", 10]],
    writeErrors: 0,
    writesFailing: false,
    dropped: 0,
    api: [{ endpoint: "/room/v1/Room/room_init", result: "412", count: 2 }],
    discovery: undefined,
    restarts: 0,
    watchdogKills: 0,
    quietReconnects: 0,
    memory: { rss: 5e7, heapUsed: 1e7, heapTotal: 2e7 },
    build: { deno: "2.9.6", v8: "1", typescript: "5", schema: 2 },
  };
}

Deno.test("renderMetrics() of a reading with a room without messages and a failing state is read by the real parser", async () => {
  const text = renderMetrics(
    reading(5_000, [room(1, 0, { state: "failed", lastMessageAgeS: null }), room(2, 4)]),
  );
  const { code, families, error } = await parsePrometheus(text);
  assert.equal(code, 0, error);
  const samples = (name: string) => families.find((f) => f.name === name)?.samples ?? [];
  assert.deepEqual(samples("danmaku_room_last_message_age_seconds"), [
    ["danmaku_room_last_message_age_seconds", { room: "2" }, 1],
  ]);
  assert.deepEqual(
    samples("danmaku_room_state").filter(([, , v]) => v === 1).map(([, l]) => l),
    [{ room: "1", state: "failed" }, { room: "2", state: "live" }],
  );
  assert.deepEqual(samples("danmaku_api_requests"), [
    ["danmaku_api_requests_total", { endpoint: "/room/v1/Room/room_init", result: "412" }, 2],
  ]);
});

Deno.test("StatusTracker gives msg/s from the change between samples and keeps 10 minutes of history", () => {
  const tracker = new StatusTracker();
  tracker.sample(reading(0, [room(1, 0), room(2, 0)]));
  tracker.sample(reading(2_000, [room(1, 10), room(2, 4)]));
  const doc = tracker.document(reading(2_000, [room(1, 10), room(2, 4)]));
  assert.equal(doc.totals.msgPerS, 7);
  assert.deepEqual(doc.rooms.map((r) => r.msgPerS), [5, 2]);
  assert.deepEqual(doc.history, [[2_000, 7]]);
  for (let t = 4_000; t <= HISTORY_MS + 10_000; t += 2_000) {
    tracker.sample(reading(t, [room(1, 10), room(2, 4)]));
  }
  const later = tracker.document(reading(HISTORY_MS + 10_000, [room(1, 10), room(2, 4)]));
  assert.ok(later.history[0][0] >= 10_000, "points older than 10 min are gone");
  assert.equal(later.totals.msgPerS, 0);
});

Deno.test("parseHttpAddress() reads PORT, :PORT, ADDR:PORT and [IPv6]:PORT and names the flag on bad input", () => {
  assert.deepEqual(parseHttpAddress("9100"), { hostname: "127.0.0.1", port: 9100 });
  assert.deepEqual(parseHttpAddress(":0"), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseHttpAddress("0.0.0.0:80"), { hostname: "0.0.0.0", port: 80 });
  assert.deepEqual(parseHttpAddress("[::1]:9"), { hostname: "::1", port: 9 });
  assert.deepEqual(parseHttpAddress("localhost:1"), { hostname: "localhost", port: 1 });
  for (const bad of ["", "x", "1.2.3:80", "256.1.1.1:80", "65536", "host.example:80", "::1:80"]) {
    assert.throws(() => parseHttpAddress(bad), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`^Cannot parse --http "${bad.replace(".", "\\.")}`));
      return true;
    });
  }
  assert.ok(isLoopback("127.0.0.1") && isLoopback("127.8.9.10") && isLoopback("::1"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("::") && !isLoopback("192.168.1.2"));
});

Deno.test("parseCollectArgs() refuses a non-loopback --http without --http-public and says why", () => {
  assert.throws(
    () => parseCollectArgs(["--rooms", "1", "--http", "[::]:9100"]),
    /^ConfigError: Cannot serve --http on "::": it is not a loopback address.*add --http-public/,
  );
  assert.deepEqual(
    parseCollectArgs(["--rooms", "1", "--http", "0.0.0.0:9100", "--http-public"]).http,
    { hostname: "0.0.0.0", port: 9100 },
  );
  assert.equal(parseCollectArgs(["--rooms", "1"]).http, undefined);
});
