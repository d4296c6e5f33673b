/**
 * End to end: a real collect against the simulator stores the cmds real rooms send besides chat
 * (entries, super chat deletions, lotteries, rankings, notices), the lottery danmaku flagged, and
 * the danmaku of older layouts with their time in ms. Each truth line finds its raw message by
 * id; the rows each table must hold are read from those bodies and compared with what it holds.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { DatabaseSync } from "node:sqlite";
import { runCollector } from "../src/collector/collector.ts";
import { ProtoMessage } from "../src/protocol/protobuf.ts";
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

type Json = Record<string, unknown>;

/** A received message: its body, its text, and the truth line that says it was sent. */
interface Received {
  truth: TruthLine;
  body: Json;
  text: string;
}

const MESSAGES_PER_ROOM = 2000;

/**
 * The truth id of a stored raw message: `extra.id_str` for danmaku (`info[0][5]` in the older
 * layouts without `extra`), else the top-level `msg_id`.
 */
function deliveryId(body: Json): string {
  if (String(body.cmd).startsWith("DANMU_MSG")) {
    const meta = (body.info as unknown[][])[0];
    const modeInfo = meta[15] as { extra: string } | undefined;
    return modeInfo ? JSON.parse(modeInfo.extra).id_str : String(meta[5]);
  }
  return String(body.msg_id);
}

/** Rows (or expected rows) as sorted JSON lines, so two multisets compare with deepEqual. */
function sorted(rows: unknown[][]): string[] {
  return rows.map((row) => JSON.stringify(row)).sort();
}

/** Whether unix ms `ts` lies within a day of the test run (not 1970, not 2514). */
function plausible(ts: unknown): boolean {
  return typeof ts === "number" && Math.abs(ts - Date.now()) < 86_400_000;
}

/** `<%name%>` of a copy_writing. */
const markedName = (text: string) => /<%(.*?)%>/u.exec(text)?.[1];

Deno.test("collect stores entries, super chat deletions, lotteries, rankings, notices, lottery danmaku and old-era danmaku as the simulator sent them", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/new_cmds.db`;
  const truth = new MemoryTruth();
  try {
    await using sim = await startSimulator({
      rooms: 6,
      seed: "new-cmds",
      rate: 500,
      messagesPerRoom: MESSAGES_PER_ROOM,
      eraShare: 0.5,
      truth,
      log: () => {},
    });
    const eras = sim.world.rooms.map((room) => room.era);
    assert.ok(eras.includes("2018") && eras.includes("2021") && eras.includes("current"));
    const rooms = sim.world.rooms.map((room) => room.roomId);
    for (const id of rooms) sim.setLive(id, true);
    const stop = new AbortController();
    const collecting = runCollector(fastCollectConfig(dbPath, sim.api, ["--keep-raw"]), {
      clock: systemClock,
      random: seededRandom(7),
      log: () => {},
      rooms,
    }, stop.signal);
    const rawRows = () => {
      try {
        using db = new DatabaseSync(dbPath, { readOnly: true });
        return Number((db.prepare("SELECT count(*) AS n FROM raw_messages").get() ?? {}).n ?? 0);
      } catch {
        return 0; // not created yet
      }
    };
    await waitFor(
      () => rooms.every((id) => sim.remaining(id) === 0),
      `every room to send its ${MESSAGES_PER_ROOM} messages`,
      120_000,
    );
    await waitFor(() => rawRows() >= truth.lines.length, "every message to be stored", 120_000);
    stop.abort();
    const summary = await collecting;
    assert.equal(summary.dropped, 0);

    using db = new DatabaseSync(dbPath, { readOnly: true });
    const all = (sql: string) => db.prepare(sql).all().map((row) => ({ ...row }) as Json);

    // Every truth line finds its message, once.
    const truthLines = truth.lines.map((line) => JSON.parse(line) as TruthLine);
    const byKey = new Map(truthLines.map((t) => [`${t.room_id} ${t.id}`, t]));
    assert.equal(byKey.size, truthLines.length, "one connection per room: each id once");
    const received: Received[] = [];
    for (const row of all("SELECT room_id, raw FROM raw_messages")) {
      const text = String(row.raw);
      const body = JSON.parse(text) as Json;
      const t = byKey.get(`${row.room_id} ${deliveryId(body)}`);
      assert.ok(t, `a truth line for ${text.slice(0, 120)}`);
      received.push({ truth: t, body, text });
    }
    assert.equal(received.length, truthLines.length);
    assert.equal(new Set(received.map((r) => r.truth)).size, truthLines.length);
    const of = (...cmds: string[]) => received.filter((r) => cmds.includes(r.truth.cmd));
    const data = (r: Received) => r.body.data as Json;

    // ENTRY_EFFECT(_MUST_RECEIVE): one row each; trigger_time (ns, beyond 2^53) truncated to ms.
    const entries = of("ENTRY_EFFECT", "ENTRY_EFFECT_MUST_RECEIVE");
    assert.ok(entries.length > 20, `${entries.length} entries`);
    assert.deepEqual(
      sorted(
        all(
          "SELECT room_id, cmd, ts_ms, uid, uname, guard_level, wealth_level, effect_id, copy_writing FROM entries",
        ).map(Object.values),
      ),
      sorted(entries.map((r) => {
        const d = data(r);
        const ns = BigInt(/"trigger_time":(\d+)/.exec(r.text)![1]);
        return [
          r.truth.room_id,
          r.truth.cmd,
          Number(ns / 1_000_000n),
          d.uid,
          markedName(String(d.copy_writing)),
          d.privilege_type,
          (d.wealthy_info as { level: number }).level,
          d.id,
          d.copy_writing,
        ];
      })),
    );
    assert.ok(all("SELECT guard_level FROM entries").some((row) => Number(row.guard_level) > 0));
    assert.ok(all("SELECT ts_ms FROM entries").every((row) => plausible(row.ts_ms)));

    // SUPER_CHAT_MESSAGE_DELETE: one row per deleted id, each a super chat of that room.
    const deletions = of("SUPER_CHAT_MESSAGE_DELETE");
    assert.ok(deletions.length > 0, "some super chats were deleted");
    assert.deepEqual(
      sorted(all("SELECT room_id, sc_id FROM super_chat_deletions").map(Object.values)),
      sorted(
        deletions.flatMap((r) => (data(r).ids as number[]).map((id) => [r.truth.room_id, id])),
      ),
    );
    const scs = new Set(
      all("SELECT room_id, sc_id FROM super_chats").map((row) => `${row.room_id} ${row.sc_id}`),
    );
    for (const row of all("SELECT room_id, sc_id FROM super_chat_deletions")) {
      assert.ok(
        scs.has(`${row.room_id} ${row.sc_id}`),
        `deleted super chat ${row.sc_id} is stored`,
      );
    }
    // 2025 super chats carry their translation in message_trans.
    const translated = of("SUPER_CHAT_MESSAGE").filter((r) => data(r).message_trans !== "");
    assert.ok(translated.length > 0);
    const jpn = new Map(
      all("SELECT room_id, sc_id, message_jpn FROM super_chats").map((
        row,
      ) => [`${row.room_id} ${row.sc_id}`, row.message_jpn]),
    );
    for (const r of translated) {
      assert.equal(jpn.get(`${r.truth.room_id} ${data(r).id}`), data(r).message_trans);
    }

    // ANCHOR_LOT_*: each phase of each lottery once, though ANCHOR_LOT_START may come twice.
    const lotMessages = of("ANCHOR_LOT_START", "ANCHOR_LOT_END", "ANCHOR_LOT_AWARD");
    const phase = (cmd: string) => cmd.slice("ANCHOR_LOT_".length).toLowerCase();
    const phases = new Set(
      lotMessages.map((r) => JSON.stringify([r.truth.room_id, data(r).id, phase(r.truth.cmd)])),
    );
    assert.ok(lotMessages.length > phases.size, "some ANCHOR_LOT_START came twice");
    const lotteries = all("SELECT room_id, lot_id, phase, danmu, winner_count FROM lotteries");
    assert.deepEqual(
      sorted(lotteries.map((row) => [row.room_id, row.lot_id, row.phase])),
      [...phases].sort(),
    );
    const byLot = Map.groupBy(lotteries, (row) => `${row.room_id} ${row.lot_id}`);
    const complete = [...byLot.values()].filter((rows) => rows.length === 3);
    assert.ok(complete.length > 0, "a lottery ran from start to award");
    for (const r of of("ANCHOR_LOT_AWARD")) {
      const award = lotteries.find((row) =>
        row.room_id === r.truth.room_id && row.lot_id === data(r).id && row.phase === "award"
      )!;
      assert.equal(award.winner_count, (data(r).award_users as unknown[]).length);
    }

    // Lottery danmaku (info[0][9] ≠ 0) are stored flagged, with their lottery's keyword.
    const danmaku = of("DANMU_MSG", "DANMU_MSG:4:0:2:2:2:0");
    const flagged = danmaku.filter((r) => ((r.body.info as unknown[][])[0][9] ?? 0) !== 0);
    assert.ok(flagged.length > 20, `${flagged.length} lottery danmaku`);
    const flaggedRows = all(
      "SELECT room_id, msg_id, text, lottery_type FROM danmaku WHERE lottery_type <> 0",
    );
    assert.equal(flaggedRows.length, flagged.length);
    assert.ok(flaggedRows.every((row) => row.lottery_type === 2));
    const keywords = new Set(
      lotteries.filter((row) => row.phase === "start").map((row) => `${row.room_id} ${row.danmu}`),
    );
    assert.ok(flaggedRows.every((row) => keywords.has(`${row.room_id} ${row.text}`)));
    assert.deepEqual(
      new Set(flaggedRows.flatMap((row) => row.msg_id === null ? [] : [row.msg_id])),
      new Set(flagged.flatMap((r) => r.text.includes('\\"id_str\\"') ? [r.truth.id] : [])),
    );

    // Danmaku of the 2018 layout (time in seconds) and the 2021 one: time in ms, a plausible date.
    const old = danmaku.filter((r) => (r.body.info as unknown[][])[0].length < 18);
    const old2018 = old.filter((r) => (r.body.info as unknown[][])[0].length === 9);
    assert.ok(
      old2018.length > 100 && old.length > old2018.length,
      `${old2018.length} of ${old.length}`,
    );
    const oldRows = all("SELECT room_id, ts_ms, user_hash, text FROM danmaku WHERE msg_id IS NULL");
    assert.deepEqual(
      sorted(oldRows.map(Object.values)),
      sorted(old.map((r) => {
        const info = r.body.info as unknown[][];
        const sent = info[0][4] as number;
        return [r.truth.room_id, info[0].length === 9 ? sent * 1000 : sent, info[0][7], info[1]];
      })),
    );
    for (const row of oldRows) assert.ok(plausible(row.ts_ms), `ts_ms ${row.ts_ms}`);

    // POPULAR_RANK_CHANGED: the room's position, its time from seconds.
    const ranks = of("POPULAR_RANK_CHANGED");
    assert.ok(ranks.length > 0);
    assert.deepEqual(
      sorted(
        all("SELECT room_id, cmd, ts_ms, rank_name, rank, countdown_s FROM rank_changes").map(
          Object.values,
        ),
      ),
      sorted(ranks.map((r) => {
        const d = data(r);
        return [
          r.truth.room_id,
          r.truth.cmd,
          (d.timestamp as number) * 1000,
          "popular",
          d.rank,
          d.countdown,
        ];
      })),
    );

    assert.ok(all("SELECT ts_ms FROM rank_changes").every((row) => plausible(row.ts_ms)));

    // ONLINE_RANK_V2 (JSON) and ONLINE_RANK_V3 (protobuf): one row per listed viewer.
    const v2 = of("ONLINE_RANK_V2");
    const v3 = of("ONLINE_RANK_V3");
    assert.ok(v2.length > 0 && v3.length > 0);
    const expectedRanks = [
      ...v2.flatMap((r) =>
        (data(r).list as Json[]).map((item) => [
          r.truth.room_id,
          "ONLINE_RANK_V2",
          data(r).rank_type,
          item.rank,
          item.uid,
          item.uname,
          Number(item.score),
          item.guard_level,
        ])
      ),
      ...v3.flatMap((r) => {
        const pb = new ProtoMessage(new Uint8Array(Buffer.from(String(data(r).pb), "base64")));
        return pb.messages(3).map((item) => [
          r.truth.room_id,
          "ONLINE_RANK_V3",
          pb.string(1),
          item.number(5),
          item.number(1),
          item.string(4),
          Number(item.string(3)),
          item.number(6),
        ]);
      }),
    ];
    assert.deepEqual(
      sorted(
        all(
          "SELECT room_id, cmd, rank_type, rank, uid, uname, score, guard_level FROM online_ranks",
        ).map(Object.values),
      ),
      sorted(expectedRanks),
    );

    // Notices, banners and lottery aggregations are room events, each kept whole.
    const kindOf: Record<string, string> = {
      NOTICE_MSG: "notice",
      COMMON_NOTICE_DANMAKU: "notice",
      WIDGET_BANNER: "widget_banner",
      DANMU_AGGREGATION: "danmaku_aggregation",
    };
    const notices = of(...Object.keys(kindOf));
    assert.ok(Object.keys(kindOf).every((cmd) => of(cmd).length > 0));
    const noticeRows = all(
      `SELECT room_id, kind, raw FROM room_events WHERE kind IN ('notice', 'widget_banner', 'danmaku_aggregation')`,
    );
    assert.deepEqual(
      sorted(
        noticeRows.map((row) => [row.room_id, row.kind, deliveryId(JSON.parse(String(row.raw)))]),
      ),
      sorted(notices.map((r) => [r.truth.room_id, kindOf[r.truth.cmd], r.truth.id])),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
