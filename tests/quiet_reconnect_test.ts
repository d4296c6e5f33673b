import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type CollectorParts, runCollector } from "../src/collector/collector.ts";
import { StatusReporter } from "../src/collector/status_reporter.ts";
import type { SupervisorStatus } from "../src/collector/supervisor.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { systemClock } from "../src/util/clock.ts";
import { fastCollectConfig, liveRooms, waitFor } from "./support/collect_helpers.ts";
import { seededRandom } from "./support/samples.ts";

Deno.test("collect gives a throttled connection's room a fresh connection, which gets every message again, and counts it in the status", async () => {
  const dir = await Deno.makeTempDir();
  const logs: string[] = [];
  try {
    await using sim = await startSimulator({ rooms: 1, seed: 17, rate: 150, log: () => {} });
    const [room] = liveRooms(sim);
    const config = fastCollectConfig(`${dir}/quiet.db`, sim.api, [
      "--sweep-interval",
      "100ms",
      "--silence-window",
      "1s",
      "--silence-cooldown",
      "1h",
      "--drain-timeout",
      "500ms",
      "--status-interval",
      "200ms",
    ]);
    const stop = new AbortController();
    const started = Promise.withResolvers<CollectorParts>();
    const collecting = runCollector(config, {
      clock: systemClock,
      random: seededRandom(3),
      log: (line) => logs.push(line),
      rooms: [room],
      onStarted: (parts) => started.resolve(parts),
    }, stop.signal);
    try {
      const { supervisor } = await started.promise;
      const [worker] = supervisor.workers();
      const watch = supervisor.silence;
      assert.ok(watch, "the silence watch is on by default");
      await waitFor(() => watch.windows(room) >= 3, "three whole windows at the full rate");
      assert.equal(worker.sessions, 1);

      assert.equal(sim.throttle(room), 1, "the room's one connection is throttled");
      await waitFor(() => supervisor.quietReconnects >= 1, "the quiet room to be reconnected");
      const line = logs.find((l) => l.includes("room went quiet while its audience did not"));
      assert.match(
        line ?? "",
        new RegExp(
          `^level=info msg="room went quiet while its audience did not: reconnecting" room=${room} window_msgs=[\\d.]+ baseline=[\\d.]+ audience=\\d+ audience_baseline=[\\d.]+ audience_kind=online_count$`,
        ),
      );
      assert.ok(sim.counters.messagesWithheld > 0, "the throttled connection missed messages");

      // The fresh connection: the room's only one, live, and nothing is withheld from it.
      await waitFor(
        () => worker.sessions === 2 && worker.state === "live" && sim.connectionCount() === 1,
        "the fresh connection",
      );
      const withheld = sim.counters.messagesWithheld;
      const before = worker.messages;
      await waitFor(() => worker.messages >= before + 300, "300 messages on the fresh connection");
      assert.equal(sim.counters.messagesWithheld, withheld, "every message reached it");
      assert.equal(sim.counters.faultThrottles, 1);

      await waitFor(
        () =>
          logs.some((l) => l.startsWith("level=info msg=status ") && /quiet_reconnects=1 /.test(l)),
        "a status line with quiet_reconnects=1",
      );
    } finally {
      stop.abort();
      await collecting;
    }

    using db = new DatabaseSync(`${dir}/quiet.db`, { readOnly: true });
    const sessions = db.prepare("SELECT reason FROM sessions ORDER BY started_at_ms").all();
    assert.equal(sessions.length, 2);
    assert.equal(
      sessions[0].reason,
      "stopped: reconnecting: the room went quiet while its audience did not",
    );
    assert.ok(
      logs.some((l) =>
        l.includes('msg="connection ended"') && l.includes(`room=${room}`) &&
        l.includes("retry_in_ms=0")
      ),
      "the reconnect was at once",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StatusReporter.line() shows quiet_reconnects only when some happened, and the compact form leaves it out", () => {
  // Only the fields this line is about: other helpers add theirs to SupervisorStatus.
  const status: Pick<
    SupervisorStatus,
    "rooms" | "byState" | "messages" | "sessions" | "quietReconnects"
  > = {
    rooms: 100,
    byState: {
      resolving: 0,
      waiting: 0,
      connecting: 0,
      live: 100,
      backoff: 0,
      failed: 0,
      stopped: 0,
    },
    messages: 1_234_567,
    sessions: 120,
    quietReconnects: 0,
  };
  const reporter = new StatusReporter({
    supervisor: { status: () => status as SupervisorStatus },
    queue: { size: 8_765, bytes: 4_400_000, droppedTotal: 0 },
    flusher: { written: 1_222_222, failures: 0, currentError: undefined },
  }, 0);
  assert.doesNotMatch(reporter.line(1000), /quiet_reconnects/);
  status.quietReconnects = 3;
  assert.match(reporter.line(2000), / failed=0 quiet_reconnects=3 rss_mb=/);
  const compact = reporter.line(3000, { compact: true });
  assert.doesNotMatch(compact, /quiet/);
  assert.ok(compact.length <= 79, `${compact.length} columns`);
});

Deno.test("simulate's throttle fault leaves a connection open but sends it a twentieth of its room's messages", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using sim = await startSimulator({
      rooms: 1,
      seed: 5,
      rate: 150,
      faults: { throttle: 1 }, // every connection, within its first second
      log: () => {},
    });
    const [room] = liveRooms(sim);
    const stop = new AbortController();
    const started = Promise.withResolvers<CollectorParts>();
    const collecting = runCollector(
      fastCollectConfig(`${dir}/throttled.db`, sim.api, ["--no-silence-watch"]),
      {
        clock: systemClock,
        random: seededRandom(4),
        log: () => {},
        rooms: [room],
        onStarted: (parts) => started.resolve(parts),
      },
      stop.signal,
    );
    try {
      const { supervisor } = await started.promise;
      assert.equal(supervisor.silence, undefined, "--no-silence-watch turns the watch off");
      const [worker] = supervisor.workers();
      await waitFor(() => sim.counters.faultThrottles >= 1, "the fault to throttle the connection");
      const received = worker.messages;
      await waitFor(
        () => sim.counters.messagesWithheld >= 800 && worker.messages > received,
        "messages withheld while some still arrive",
      );
      assert.ok(
        worker.messages < sim.counters.messagesWithheld,
        `${worker.messages} received, ${sim.counters.messagesWithheld} withheld`,
      );
      assert.equal(worker.sessions, 1, "the connection stays open");
    } finally {
      stop.abort();
      await collecting;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
