/**
 * PostgreSQL suite: (1) rows/s written by the PostgreSQL store (src/storage/pg_store.ts, a
 * throwaway server on this machine) beside the SQLite store, the same events in the same
 * batches in the same run; (2) failover: three `main.ts collect` nodes share simulator rooms
 * through that server, one is killed with SIGKILL, and the time until its rooms are leased
 * again and until they receive messages again on the other nodes is measured.
 *
 * The events are what the collector makes of the simulator's messages (danmaku, gifts,
 * interactions, audience counts, …), normalized once up front; batches are the flusher's
 * chunk (20,000 events, one transaction each), after a warm-up of two batches into another
 * database of the same kind. SQLite runs as the collector opens it (WAL,
 * synchronous=NORMAL); PostgreSQL with fsync and full_page_writes on and
 * synchronous_commit=off, the same promise (a crash of the machine may lose the last commits,
 * never corrupts), and once more with synchronous_commit=on.
 */
import { join } from "node:path";
import postgres from "postgres";
import type { CollectedEvent } from "../../src/normalize/events.ts";
import { normalizeMessage } from "../../src/normalize/normalize_message.ts";
import { BodyWriter } from "../../src/simulator/body_writer.ts";
import { MessageFactory } from "../../src/simulator/message_factory.ts";
import { World } from "../../src/simulator/world.ts";
import { PgStore } from "../../src/storage/pg_store.ts";
import { SqliteStore, type WriteCounts } from "../../src/storage/sqlite_store.ts";
import {
  everyRoomHeld,
  liveLeases,
  type NodeProcess,
  pause,
  readTruth,
  serverNow,
  similarRooms,
  startNode,
  startSimulatorProcess,
  waitUntil,
} from "../cluster_demo/harness.ts";
import { findPostgresBin, startThrowawayCluster } from "../postgres/throwaway_cluster.ts";
import type { SuiteOptions } from "./decode_suite.ts";
import { median } from "./processes.ts";

/** Events per write, as the flusher's chunk. */
const BATCH = 20_000;

/** The goal for rows/s into PostgreSQL on this box, reported (never asserted). */
const GOAL_ROWS_PER_S = 150_000;

/** `count` events the collector would make of simulator traffic over 200 rooms. */
export function benchEvents(count: number): CollectedEvent[] {
  const world = new World({ seed: "bench-pg", rooms: 200, rate: 20, now: 0 });
  const rooms = world.rooms.filter((room) => room.live);
  const factory = new MessageFactory(world);
  const body = new BodyWriter();
  const decoder = new TextDecoder();
  const out: CollectedEvent[] = [];
  const start = 1_714_564_800_000;
  for (let i = 0; out.length < count; i++) {
    const now = start + i * 7;
    const room = rooms[i % rooms.length];
    for (const message of factory.next(room, now)) {
      body.length = 0;
      message.write(body, false);
      const text = decoder.decode(body.bytes.subarray(0, body.length));
      normalizeMessage(
        JSON.parse(text),
        text,
        { roomId: room.roomId, receivedAtMs: now + 120, keepRaw: false },
        out,
      );
    }
  }
  out.length = count;
  return out;
}

function rowsOf(counts: WriteCounts): number {
  let rows = 0;
  for (const [key, value] of Object.entries(counts)) if (key !== "unchanged") rows += value;
  return rows;
}

/** Writes `events` in batches; rows written (inserted or merged) per second. */
async function writeRate(
  write: (batch: CollectedEvent[]) => WriteCounts | Promise<WriteCounts>,
  events: CollectedEvent[],
): Promise<{ rowsPerS: number; rows: number; seconds: number }> {
  let rows = 0;
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    rows += rowsOf(await write(events.slice(i, i + BATCH)));
  }
  const seconds = (performance.now() - started) / 1000;
  return { rowsPerS: Math.round(rows / seconds), rows, seconds };
}

/** Runs the suite; `{}` (and a log line) where PostgreSQL is not installed. */
export async function postgresSuite(options: SuiteOptions): Promise<Record<string, number>> {
  const { log, quick } = options;
  if (findPostgresBin() === undefined) {
    log("PostgreSQL is not installed (apt-get install postgresql): postgres suite skipped");
    return {};
  }
  const results: Record<string, number> = {};
  await using pg = await startThrowawayCluster({
    settings: { fsync: "on", full_page_writes: "on", synchronous_commit: "off" },
  });
  Object.assign(results, await writeSuite(pg, quick, log));
  Object.assign(results, await failoverSuite(pg, quick, log));
  return results;
}

async function writeSuite(
  pg: Awaited<ReturnType<typeof startThrowawayCluster>>,
  quick: boolean,
  log: (line: string) => void,
): Promise<Record<string, number>> {
  const count = quick ? 100_000 : 400_000;
  const events = benchEvents(count);
  log(
    `write: ${count.toLocaleString("en-US")} events, batches of ${BATCH.toLocaleString("en-US")}`,
  );
  const results: Record<string, number> = {};
  const dir = await Deno.makeTempDir({ prefix: "bench-pg-" });
  try {
    const warmUp = events.slice(0, 2 * BATCH);
    {
      using warm = SqliteStore.open(join(dir, "warm.db"));
      await writeRate((batch) => warm.write(batch), warmUp);
      using store = SqliteStore.open(join(dir, "bench.db"));
      const r = await writeRate((batch) => store.write(batch), events);
      log(`sqlite: ${r.rows} rows in ${r.seconds.toFixed(2)} s`);
      results["postgres.sqlite_rows_per_s"] = r.rowsPerS;
    }
    const runs: [string, "copy" | "insert", string][] = [
      ["copy", "copy", "off"],
      ["insert", "insert", "off"],
      ["copy_sync_commit", "copy", "on"],
    ];
    for (const [name, method, syncCommit] of runs) {
      const warm = await PgStore.open(await pg.createDatabase(`warm_${name}`), { method });
      await writeRate((batch) => warm.write(batch), warmUp).finally(() => warm.close());
      const url = await pg.createDatabase(`bench_${name}`);
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      await admin.unsafe(`ALTER DATABASE bench_${name} SET synchronous_commit = ${syncCommit}`);
      await admin.end();
      const store = await PgStore.open(url, { method });
      try {
        const r = await writeRate((batch) => store.write(batch), events);
        log(
          `postgres ${method} (synchronous_commit=${syncCommit}): ${r.rows} rows in ${
            r.seconds.toFixed(2)
          } s`,
        );
        results[`postgres.${name}_rows_per_s`] = r.rowsPerS;
        if (name === "copy") {
          // A second node writing the same events (replicas, handover overlap): all merge.
          const again = await writeRate((batch) => store.write(batch), events);
          log(`postgres copy, the same events again: ${again.seconds.toFixed(2)} s`);
          results["postgres.copy_replay_events_per_s"] = Math.round(count / again.seconds);
        }
      } finally {
        await store.close();
      }
    }
    log(`goal: ≥ ${GOAL_ROWS_PER_S.toLocaleString("en-US")} rows/s into PostgreSQL`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}

/**
 * Three nodes, all able to hold every room; SIGKILL of the one holding most. Measured from the
 * kill: the last of its rooms leased again (server clock), and the last of its rooms receiving
 * messages on a new connection (the simulator's truth times).
 */
async function failoverSuite(
  pg: Awaited<ReturnType<typeof startThrowawayCluster>>,
  quick: boolean,
  log: (line: string) => void,
): Promise<Record<string, number>> {
  const ttlMs = quick ? 4000 : 10_000;
  const rounds = quick ? 1 : 3;
  const leaseMs: number[] = [];
  const liveMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const url = await pg.createDatabase(`failover_${round}`);
    const r = await failoverOnce(url, ttlMs, log);
    log(
      `failover ${round + 1}/${rounds} (--lease-ttl ${
        ttlMs / 1000
      }s): leased again after ${r.leaseMs} ms, receiving again after ${r.liveMs} ms`,
    );
    leaseMs.push(r.leaseMs);
    liveMs.push(r.liveMs);
  }
  const ttl = `ttl_${ttlMs / 1000}s`;
  return {
    [`postgres.failover_${ttl}_leased_ms`]: median(leaseMs),
    [`postgres.failover_${ttl}_live_ms`]: median(liveMs),
  };
}

async function failoverOnce(
  url: string,
  ttlMs: number,
  log: (line: string) => void,
): Promise<{ leaseMs: number; liveMs: number }> {
  const dir = await Deno.makeTempDir({ prefix: "bench-failover-" });
  const truthPath = join(dir, "truth.jsonl");
  const sim = await startSimulatorProcess({
    rooms: 200,
    rate: 5,
    messages: 1_000_000,
    truth: truthPath,
    seed: "bench-failover",
  });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const nodes: NodeProcess[] = [];
  try {
    const rooms = await similarRooms(sim.api, 12, 20);
    for (const id of ["f1", "f2", "f3"]) {
      nodes.push(startNode({
        id,
        db: url,
        api: sim.api,
        rooms,
        maxConnections: rooms.length,
        cwd: dir,
        leaseTtlMs: ttlMs,
        flushIntervalMs: 1000,
      }));
    }
    const ids = nodes.map((node) => node.id);
    await waitUntil(
      async () => everyRoomHeld(await liveLeases(sql), rooms, 1, ids),
      "every room to be held",
      { timeoutMs: 120_000 },
    );
    await pause(2000); // connected and receiving
    const leases = await liveLeases(sql);
    const count = new Map<string, number>();
    for (const lease of leases) count.set(lease.nodeId, (count.get(lease.nodeId) ?? 0) + 1);
    const victimId = [...count].sort((a, b) => b[1] - a[1])[0][0];
    const victimRooms = new Set(leases.filter((l) => l.nodeId === victimId).map((l) => l.roomId));
    const oldConns = new Set(
      (await readTruth(truthPath)).filter((r) => victimRooms.has(r.room_id)).map((r) => r.conn),
    );
    const victim = nodes.find((node) => node.id === victimId)!;
    const killServer = await serverNow(sql);
    const killAt = Date.now();
    victim.kill("SIGKILL");
    await victim.exited;
    const survivors = ids.filter((id) => id !== victimId);
    let after = leases;
    await waitUntil(
      async () => {
        after = await liveLeases(sql);
        return everyRoomHeld(after, rooms, 1, survivors);
      },
      "the victim's rooms to be leased again",
      { timeoutMs: 120_000, everyMs: 50 },
    );
    const leaseMs = Math.max(
      ...after.filter((l) => victimRooms.has(l.roomId)).map((l) => l.acquiredAtMs - killServer),
    );
    // Receiving again: the first message of each of its rooms on a connection of another node.
    const firstNew = new Map<number, number>();
    await waitUntil(
      async () => {
        for (const record of await readTruth(truthPath)) {
          if (!victimRooms.has(record.room_id) || oldConns.has(record.conn)) continue;
          if (record.at !== undefined && !firstNew.has(record.room_id)) {
            firstNew.set(record.room_id, record.at);
          }
        }
        return firstNew.size === victimRooms.size;
      },
      "the victim's rooms to receive messages again",
      { timeoutMs: 60_000 },
    );
    const liveMs = Math.max(...firstNew.values()) - killAt;
    log(`failover: node ${victimId} held ${victimRooms.size} of ${rooms.length} rooms`);
    return { leaseMs, liveMs };
  } finally {
    for (const node of nodes) node.kill("SIGINT");
    const timer = setTimeout(() => nodes.forEach((node) => node.kill("SIGKILL")), 30_000);
    await Promise.all(nodes.map((node) => node.exited));
    clearTimeout(timer);
    await sim.stop();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
}
