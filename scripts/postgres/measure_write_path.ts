/**
 * Measures PgStore's two write paths (binary COPY, straight in or through a staging table, and
 * multi-row INSERT … VALUES) and SqliteStore on the same batches: events of the simulator's
 * mix, normalized as the collector does, written in flushes of `--batch` events into a fresh
 * database each. Prints rows/s per method. docs/postgres.md "Write path" holds the figures.
 *
 *     deno run -A scripts/postgres/measure_write_path.ts [--events 200000] [--batch 20000]
 *       [--rounds 3] [--durable] [--url postgres://…]
 *
 * Without --url it starts a throwaway cluster of its own (fsync off, as for tests; --durable:
 * fsync, synchronous_commit and full_page_writes on, as a real server has them).
 */
import { parseArgs } from "node:util";
import type { CollectedEvent } from "../../src/normalize/events.ts";
import { normalizeMessage } from "../../src/normalize/normalize_message.ts";
import { BodyWriter } from "../../src/simulator/body_writer.ts";
import { MessageFactory } from "../../src/simulator/message_factory.ts";
import { World } from "../../src/simulator/world.ts";
import { PgStore, type PgWriteMethod } from "../../src/storage/pg_store.ts";
import { SqliteStore } from "../../src/storage/sqlite_store.ts";
import { pgConnect } from "../../src/storage/pg_connect.ts";
import { startThrowawayCluster } from "./throwaway_cluster.ts";

/** `count` events of the simulator's mix over 20 live rooms, as the collector normalizes them. */
export function simulatedEvents(count: number, seed = "write-path"): CollectedEvent[] {
  const world = new World({ seed, rooms: 20, rate: 5, now: 0 });
  const factory = new MessageFactory(world);
  const body = new BodyWriter();
  const decoder = new TextDecoder();
  const out: CollectedEvent[] = [];
  for (const room of world.rooms) room.live = true;
  let now = 1_765_000_000_000;
  while (out.length < count) {
    for (const room of world.rooms) {
      for (const message of factory.next(room, now)) {
        body.length = 0;
        message.write(body, true);
        const text = decoder.decode(body.bytes.subarray(0, body.length));
        normalizeMessage(JSON.parse(text), text, {
          roomId: room.roomId,
          receivedAtMs: now,
          keepRaw: false,
        }, out);
      }
      now += 3;
    }
  }
  return out.slice(0, count);
}

/** Rows a write stored (inserted or updated), from its counts. */
function storedRows(counts: Record<string, number>): number {
  return Object.entries(counts).reduce((sum, [k, v]) => k === "unchanged" ? sum : sum + v, 0);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      events: { type: "string", default: "200000" },
      batch: { type: "string", default: "20000" },
      rounds: { type: "string", default: "3" },
      url: { type: "string" },
      durable: { type: "boolean", default: false },
    },
  });
  const events = simulatedEvents(Number(values.events));
  const batch = Number(values.batch);
  const mix = new Map<string, number>();
  for (const e of events) mix.set(e.type, (mix.get(e.type) ?? 0) + 1);
  console.log(
    `events=${events.length} batch=${batch} mix=${JSON.stringify(Object.fromEntries(mix))}`,
  );
  // The throwaway cluster turns fsync, synchronous_commit and full_page_writes off (tests);
  // --durable measures with PostgreSQL's defaults for them.
  const cluster = values.url ? undefined : await startThrowawayCluster({
    settings: values.durable
      ? { fsync: "on", synchronous_commit: "on", full_page_writes: "on" }
      : {},
  });
  const server = values.url ?? cluster!.url;
  const best = new Map<string, number>();
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const method of ["copy", "insert", "sqlite"] as const) {
        let rows = 0;
        let ms = 0;
        if (method === "sqlite") {
          const dir = Deno.makeTempDirSync({ prefix: "write_path_" });
          try {
            using store = SqliteStore.open(`${dir}/w.db`);
            const t0 = performance.now();
            for (let i = 0; i < events.length; i += batch) {
              rows += storedRows(store.write(events.slice(i, i + batch)));
            }
            ms = performance.now() - t0;
          } finally {
            Deno.removeSync(dir, { recursive: true });
          }
        } else {
          const name = `write_path_${round}_${method}`;
          const admin = pgConnect(server, { max: 1 });
          await admin.unsafe(`DROP DATABASE IF EXISTS ${name}`);
          await admin.unsafe(`CREATE DATABASE ${name}`);
          const url = new URL(server);
          url.pathname = `/${name}`;
          try {
            await using store = await PgStore.open(url.toString(), {
              method: method as PgWriteMethod,
            });
            const t0 = performance.now();
            for (let i = 0; i < events.length; i += batch) {
              rows += storedRows(await store.write(events.slice(i, i + batch)));
            }
            ms = performance.now() - t0;
          } finally {
            await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await admin.end();
          }
        }
        const perS = Math.round(rows / ms * 1000);
        best.set(method, Math.max(best.get(method) ?? 0, perS));
        console.log(
          `round=${round} method=${method} rows=${rows} ms=${ms.toFixed(0)} rows_per_s=${perS}`,
        );
      }
    }
    console.log(`best ${[...best].map(([m, r]) => `${m}=${r}`).join(" ")} rows/s`);
  } finally {
    await cluster?.stop();
  }
}
