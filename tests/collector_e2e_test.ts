import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCollector } from "../src/collector/collector.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { systemClock } from "../src/util/clock.ts";
import { seededRandom } from "./support/samples.ts";
import { fastCollectConfig, waitFor } from "./support/collect_helpers.ts";

interface TruthLine {
  room_id: number;
  cmd: string;
  id: string;
  conn: number;
}

/** The delivery id of a stored raw message: `extra.id_str` for danmaku, else top-level `msg_id`. */
function deliveryId(raw: string): string {
  const body = JSON.parse(raw);
  if (typeof body.cmd === "string" && body.cmd.startsWith("DANMU_MSG")) {
    return JSON.parse(body.info[0][15].extra).id_str;
  }
  return String(body.msg_id);
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

Deno.test("collect stores every message of the truth log exactly once despite disconnects and corrupt frames", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/e2e.db`;
  const truth = new MemoryTruth();
  const logs: string[] = [];
  try {
    await using sim = await startSimulator({
      rooms: 50,
      seed: 11,
      rate: 150,
      messagesPerRoom: 80,
      truth,
      faults: { disconnect: 0.1, corrupt: 0.05 },
      log: () => {},
    });
    const rooms = sim.world.rooms.map((room) => room.roomId);
    for (const id of rooms) sim.setLive(id, true); // offline rooms chat slowly: keep the test short
    const stop = new AbortController();
    const collecting = runCollector(fastCollectConfig(dbPath, sim.api, ["--keep-raw"]), {
      clock: systemClock,
      random: seededRandom(5),
      log: (line) => logs.push(line),
      rooms,
    }, stop.signal);
    await waitFor(
      () => rooms.every((id) => sim.remaining(id) === 0),
      "every room to send its 80 messages",
    );
    // No grace before the stop: it reads what the sockets hold, even on a connection whose auth
    // reply (and the LOG_IN_NOTICE behind it) is not read yet.
    stop.abort(); // what SIGINT does in main.ts
    const summary = await collecting;
    assert.equal(summary.dropped, 0);
    assert.equal(summary.savedTo, undefined);
    assert.ok(
      sim.counters.faultDisconnects > 0 && sim.counters.faultCorrupt > 0,
      "faults happened",
    );

    const truthLines = truth.lines.map((line) => JSON.parse(line) as TruthLine);
    assert.equal(truthLines.filter((t) => t.cmd !== "LOG_IN_NOTICE").length, rooms.length * 80);
    using db = new DatabaseSync(dbPath, { readOnly: true });
    const all = (sql: string) => db.prepare(sql).all() as Record<string, unknown>[];
    const count = (sql: string) => Number(all(sql)[0].n);

    // --keep-raw keeps every message verbatim: each truth id is there exactly once.
    const rawIds = all("SELECT raw FROM raw_messages").map((row) => deliveryId(String(row.raw)));
    assert.deepEqual(
      [...countBy(rawIds, (id) => id)].filter(([, n]) => n > 1),
      [],
      "no message stored twice",
    );
    assert.deepEqual(new Set(rawIds), new Set(truthLines.map((t) => t.id)));
    assert.equal(rawIds.length, truthLines.length);

    // Each table holds exactly its messages; Bilibili's twins collapse into one row.
    const byCmd = countBy(truthLines, (t) => t.cmd);
    const n = (cmd: string) => byCmd.get(cmd) ?? 0;
    const danmakuTruth = truthLines.filter((t) => t.cmd.startsWith("DANMU_MSG")).map((t) => t.id);
    const danmakuIds = all("SELECT msg_id FROM danmaku").map((row) => String(row.msg_id));
    assert.equal(danmakuIds.length, danmakuTruth.length);
    assert.deepEqual(new Set(danmakuIds), new Set(danmakuTruth));
    assert.equal(count("SELECT count(*) AS n FROM gifts"), n("SEND_GIFT"));
    assert.equal(count("SELECT count(*) AS n FROM super_chats"), n("SUPER_CHAT_MESSAGE"));
    assert.equal(count("SELECT count(*) AS n FROM guard_buys"), n("GUARD_BUY"));
    assert.equal(count("SELECT count(*) AS n FROM interactions"), n("INTERACT_WORD_V2"));
    assert.equal(
      count("SELECT count(*) AS n FROM audience WHERE kind = 'watched'"),
      n("WATCHED_CHANGE"),
    );
    assert.equal(
      count("SELECT count(*) AS n FROM audience WHERE kind = 'online_rank_count'"),
      n("ONLINE_RANK_COUNT"),
    );
    assert.equal(
      count("SELECT count(*) AS n FROM audience WHERE kind = 'like_count'"),
      n("LIKE_INFO_V3_UPDATE"),
    );
    // Room state changes and the notices (NOTICE_MSG, COMMON_NOTICE_DANMAKU, WIDGET_BANNER; a
    // DANMU_AGGREGATION only comes with a lottery).
    assert.equal(
      count("SELECT count(*) AS n FROM room_events"),
      n("LIVE") + n("PREPARING") + n("ROOM_CHANGE") + n("ROOM_BLOCK_MSG") + n("NOTICE_MSG") +
        n("COMMON_NOTICE_DANMAKU") + n("WIDGET_BANNER") + n("DANMU_AGGREGATION"),
    );
    assert.ok(n("DANMU_MSG") > 1000 && n("SEND_GIFT") > 0 && n("INTERACT_WORD_V2") > 0);

    // Reconnects are visible in sessions: more sessions than rooms, every one closed with a reason.
    const sessions = all("SELECT room_id, reason, messages, ended_at_ms FROM sessions");
    assert.ok(
      sessions.length > rooms.length,
      `${sessions.length} sessions for ${rooms.length} rooms`,
    );
    assert.ok(sessions.every((s) => s.ended_at_ms !== null && typeof s.reason === "string"));
    assert.ok(sessions.some((s) => /^(closed_by_server|protocol_error)/.test(String(s.reason))));
    const perSession = sessions.reduce((sum, s) => sum + Number(s.messages), 0);
    assert.equal(perSession, truthLines.length, "session message counts add up to the truth");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
