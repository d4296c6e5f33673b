/**
 * The wanted set: the rooms the cluster should collect (`cluster_rooms`), each with one lease
 * row per replica slot in `cluster_leases` (free rows name no node; their `expires_at` says
 * since when they are free), so that nodes claim slots by locking existing rows
 * (`FOR UPDATE SKIP LOCKED`). `WantedRooms` is the RoomSet discovery
 * writes through on the node that holds the discovery lease.
 */
import type postgres from "postgres";
import type { RoomSet } from "../discovery/room_set.ts";
import { fieldLogger, type Logger, type LogSink } from "../util/log.ts";

/** Where a wanted room came from: a user's --rooms, or discovery. */
export type WantedSource = "rooms" | "discovery";

/** A room to put into the wanted set. */
export interface WantedRoom {
  roomId: number;
  /** Viewers when listed (claim order: most popular first). @default {0} */
  popularity?: number;
}

/** Advisory lock key serializing writes to the wanted set (one above the schema's). */
const WANTED_LOCK_KEY = 0x42444d4b + 1;

/**
 * Adds rooms to the wanted set with `replicas` slots each (an explicit room stays explicit;
 * a discovered room's popularity is refreshed), creating their free lease rows and deleting the
 * rows of slots beyond a lowered replica count.
 */
export async function upsertWantedRooms(
  sql: postgres.Sql,
  rooms: readonly WantedRoom[],
  options: { replicas: number; source: WantedSource },
): Promise<void> {
  if (rooms.length === 0) return;
  const byId = new Map(rooms.map((room) => [room.roomId, room.popularity ?? 0]));
  const ids = [...byId.keys()].sort((a, b) => a - b);
  const popularity = ids.map((id) => String(byId.get(id)));
  const idText = ids.map(String);
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${WANTED_LOCK_KEY})`;
    await tx`
      INSERT INTO cluster_rooms (room_id, popularity, replicas, source)
      SELECT id, popularity, ${options.replicas}, ${options.source}
      FROM unnest(${idText}::bigint[], ${popularity}::bigint[]) AS t(id, popularity)
      ON CONFLICT (room_id) DO UPDATE SET
        replicas = excluded.replicas,
        popularity = CASE WHEN excluded.source = 'discovery' THEN excluded.popularity
          ELSE cluster_rooms.popularity END,
        source = CASE WHEN excluded.source = 'rooms' THEN 'rooms' ELSE cluster_rooms.source END`;
    await tx`
      INSERT INTO cluster_leases (room_id, slot, expires_at)
      SELECT r.room_id, s.slot, now() FROM cluster_rooms r
      CROSS JOIN LATERAL generate_series(0, r.replicas - 1) AS s(slot)
      WHERE r.room_id = ANY(${idText}::bigint[])
      ON CONFLICT (room_id, slot) DO NOTHING`;
    await tx`
      DELETE FROM cluster_leases l USING cluster_rooms r
      WHERE l.room_id = r.room_id AND r.room_id = ANY(${idText}::bigint[])
        AND l.slot >= r.replicas`;
  });
}

/** Takes rooms out of the wanted set; their holders stop them at their next renewal. */
export async function removeWantedRooms(
  sql: postgres.Sql,
  roomIds: readonly number[],
): Promise<void> {
  if (roomIds.length === 0) return;
  const idText = roomIds.map(String);
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${WANTED_LOCK_KEY})`;
    await tx`DELETE FROM cluster_leases WHERE room_id = ANY(${idText}::bigint[])`;
    await tx`DELETE FROM cluster_rooms WHERE room_id = ANY(${idText}::bigint[])`;
  });
}

/** The wanted rooms' ids. */
export async function readWantedRoomIds(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ room_id: string }[]>`SELECT room_id::text FROM cluster_rooms`;
  return rows.map((row) => Number(row.room_id));
}

/** One pending change of the wanted set. */
type Change =
  | { kind: "add"; room: WantedRoom }
  | { kind: "remove"; roomId: number; done: () => void };

/** Options of {@linkcode WantedRooms}. */
export interface WantedRoomsOptions {
  sql: postgres.Sql;
  /** Slots of each room discovery adds. */
  replicas: number;
  log: LogSink;
  /** Wait between tries while writes fail. @default {1000} */
  retryMs?: number;
}

/**
 * The wanted set as discovery sees it (a RoomSet): a local copy answers `has` and `status` at
 * once; additions and removals are written in order, retried while the server is unreachable.
 */
export class WantedRooms implements RoomSet {
  readonly #options: WantedRoomsOptions;
  readonly #log: Logger;
  readonly #rooms: Set<number>;
  #pending: Change[] = [];
  #writing: Promise<void> | undefined;
  #failing = false;
  #closed = false;

  private constructor(options: WantedRoomsOptions, rooms: Iterable<number>) {
    this.#options = options;
    this.#log = fieldLogger(options.log);
    this.#rooms = new Set(rooms);
  }

  /** Reads the current wanted set. */
  static async load(options: WantedRoomsOptions): Promise<WantedRooms> {
    return new WantedRooms(options, await readWantedRoomIds(options.sql));
  }

  /** True when the room is wanted. */
  has(roomId: number): boolean {
    return this.#rooms.has(roomId);
  }

  /** Adds a room (with its viewers when discovery knows them); false if it is wanted already. */
  add(roomId: number, known?: { roomId: number; online?: number }): boolean {
    if (this.#closed || this.#rooms.has(roomId)) return false;
    this.#rooms.add(roomId);
    this.#queue({ kind: "add", room: { roomId, popularity: known?.online ?? 0 } });
    return true;
  }

  /** Takes a room out of the wanted set; resolves once that is written (or given up on close). */
  remove(roomId: number): Promise<boolean> {
    if (!this.#rooms.delete(roomId)) return Promise.resolve(false);
    const done = Promise.withResolvers<void>();
    this.#queue({ kind: "remove", roomId, done: done.resolve });
    return done.promise.then(() => true);
  }

  /** How many rooms are wanted. */
  status(): { rooms: number } {
    return { rooms: this.#rooms.size };
  }

  /** Writes what is pending (one try); stops retrying. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
    for (const change of this.#pending) if (change.kind === "remove") change.done();
    this.#pending = [];
  }

  #queue(change: Change): void {
    this.#pending.push(change);
    if (this.#writing === undefined) this.#writing = this.#writeAll();
  }

  async #writeAll(): Promise<void> {
    try {
      await this.#writePending();
    } finally {
      this.#writing = undefined; // in the same step as the last check of #pending
    }
  }

  async #writePending(): Promise<void> {
    const { sql, replicas } = this.#options;
    while (this.#pending.length > 0) {
      await Promise.resolve(); // let a burst of adds gather into one write
      const batch = this.#pending;
      this.#pending = [];
      try {
        // Runs of the same kind, in order, so an add and a later remove keep their order.
        while (batch.length > 0) {
          let end = 0;
          while (end < batch.length && batch[end].kind === batch[0].kind) end++;
          const run = batch.slice(0, end);
          if (batch[0].kind === "add") {
            await upsertWantedRooms(
              sql,
              run.flatMap((c) => c.kind === "add" ? [c.room] : []),
              { replicas, source: "discovery" },
            );
          } else {
            await removeWantedRooms(sql, run.flatMap((c) => c.kind === "remove" ? [c.roomId] : []));
            for (const change of run) if (change.kind === "remove") change.done();
          }
          batch.splice(0, end);
        }
        if (this.#failing) this.#log.info("wanted set writes succeed again");
        this.#failing = false;
      } catch (error) {
        this.#pending = [...batch, ...this.#pending];
        if (!this.#failing) {
          this.#log.warn("Cannot write the wanted set: retrying", {
            pending: this.#pending.length,
            detail: error instanceof Error ? error.message : String(error),
          });
        }
        this.#failing = true;
        if (this.#closed) return;
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryMs ?? 1000));
      }
    }
  }
}
