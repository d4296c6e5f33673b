/**
 * A node of a cluster: registers itself (refusing a live node of the same --node-id), and every
 * ttl/3 heartbeats, renews its room leases, claims free or expired slots up to its share of the
 * cluster and its free capacity, and holds the discovery lease while it can. The rooms it holds
 * are started and stopped on the RoomHolder it is given (the collector's supervisor). It uses
 * its own small connection pool, so a renewal never waits behind a large batch of writes.
 *
 * Time: every expiry is PostgreSQL's `now()`. Only when the server cannot be reached does the
 * node count locally: it keeps its rooms until `ttl` after the start of its last successful
 * renewal (when the server would have let them expire), then stops them.
 */
import postgres from "postgres";
import { ConfigError, StorageError } from "../errors.ts";
import { describeDatabase } from "../storage/database_url.ts";
import { pgConnect } from "../storage/pg_connect.ts";
import { describePgFailure, withoutPassword } from "../storage/pg_errors.ts";
import type { Clock } from "../util/clock.ts";
import { fieldLogger, type Logger, type LogSink } from "../util/log.ts";
import { ensureClusterSchema } from "./cluster_schema.ts";
import { fairShare } from "./fair_share.ts";
import { upsertWantedRooms, type WantedRoom, WantedRooms } from "./wanted_rooms.ts";

/** What the lease manager starts and stops rooms on (the collector's supervisor). */
export interface RoomHolder {
  add(roomId: number): unknown;
  remove(roomId: number): Promise<unknown>;
}

/** Options of {@linkcode LeaseManager}. */
export interface LeaseManagerOptions {
  /** The `postgres://` URL (never logged: describeDatabase is). */
  url: string;
  /** This node's name, unique among live nodes. */
  nodeId: string;
  /** How long a lease lasts without renewal; renewals run every ttl/3. */
  ttlMs: number;
  /** Slots this node may hold at most (--max-connections). */
  capacity: number;
  /** Slots per room of the rooms this node puts into the wanted set. @default {1} */
  replicas?: number;
  /** Where held rooms run; or given later with {@linkcode LeaseManager.drive}. */
  rooms?: RoomHolder;
  clock: Clock;
  log: LogSink;
  /**
   * Runs room discovery until the signal aborts, writing into `wanted`; given only to nodes
   * that discover (--top, --follow-new). Runs while this node holds the discovery lease.
   */
  discover?: (signal: AbortSignal, wanted: WantedRooms) => Promise<void>;
  /**
   * Wait after registering before the first claim, so nodes started together see each other.
   * @default {min(1 s, ttl/3)}
   */
  settleMs?: number;
  /**
   * Release every lease when `run` ends (false only in tests that play a killed node).
   * @default {true}
   */
  releaseOnStop?: boolean;
  /** Shown in cluster_nodes. @default {Deno.hostname() and Deno.pid} */
  host?: string;
  pid?: number;
}

/** A lease row as the manager reads it. */
interface SlotRow {
  room_id: string;
  slot: number;
}

/** What one claim transaction did. */
interface ClaimResult {
  /** Offers of this node nobody took, withdrawn. */
  withdrawn: readonly SlotRow[];
  /** Live nodes seen. */
  live: number;
  claimed: readonly SlotRow[];
  offered: readonly SlotRow[];
}

/** Registrations expired this long ago are deleted when a node registers. */
const FORGET_NODES_S = 86_400;

/** Least time a handed-over room keeps running after its new holder claimed it. */
const HANDOVER_OVERLAP_MS = 2000;

/** Name of the discovery lease in cluster_singletons. */
const DISCOVERY = "discovery";

/** Candidates locked per claim at most (a bound on one transaction). */
const MAX_CLAIM = 5000;

/** Holds this node's leases and drives its rooms. */
export class LeaseManager implements AsyncDisposable {
  readonly #options: LeaseManagerOptions;
  readonly #sql: postgres.Sql;
  readonly #log: Logger;
  readonly #session = crypto.randomUUID();
  readonly #ttlMs: number;
  /** The ttl in seconds, as SQL intervals take it. */
  readonly #ttlS: number;
  /** `now() + ttl` as an SQL fragment. */
  #until() {
    return this.#sql`now() + make_interval(secs => ${this.#ttlS}::float8)`;
  }
  readonly #replicas: number;
  /** Held rooms → slot. */
  readonly #held = new Map<number, number>();
  /** Rooms held at slot 0 and not being handed over, plus the real ids they resolved to. */
  readonly #primary = new Set<number>();
  /** Held room → the real id it resolved to (a short id in --rooms). */
  readonly #aliases = new Map<number, number>();
  /** Rooms this node offered to a node below its share (handed over once that node claims). */
  readonly #yielding = new Set<number>();
  /** Live nodes at the last claim (this one included). */
  #liveNodes = 1;
  readonly #removals = new Set<Promise<unknown>>();
  /** Clock time the last successful renewal was sent. */
  #renewedAt: number;
  /** Why renewals fail, while they do. */
  #failing: string | undefined;
  #failingSince = 0;
  #discovery: { stop: AbortController; done: Promise<void> } | undefined;
  #rooms: RoomHolder | undefined;
  #discover: LeaseManagerOptions["discover"];
  #closed = false;
  /** Aborted when `run` ends (delayed removals end with it: the supervisor stops every room). */
  readonly #stopping = new AbortController();
  /** Renewals done, for status and tests. */
  renewals = 0;
  /** Leases lost to another node or a hand edit. */
  lost = 0;
  /** Leases handed over to a node below its share. */
  handedOver = 0;
  /** Description of the database, safe to show. */
  readonly description: string;

  private constructor(options: LeaseManagerOptions, sql: postgres.Sql, registeredAt: number) {
    this.#options = options;
    this.#sql = sql;
    this.#log = fieldLogger(options.log);
    this.#ttlMs = options.ttlMs;
    this.#ttlS = options.ttlMs / 1000;
    this.#replicas = options.replicas ?? 1;
    this.#renewedAt = registeredAt;
    this.description = describeDatabase(options.url);
    this.#rooms = options.rooms;
    this.#discover = options.discover;
  }

  /**
   * Sets where held rooms run and, for a node that discovers, how discovery runs (when they
   * were not known at `open`: the collector builds its supervisor after joining). Call before
   * `run`.
   */
  drive(rooms: RoomHolder, discover?: LeaseManagerOptions["discover"]): void {
    this.#rooms = rooms;
    this.#discover = discover;
  }

  #holder(): RoomHolder {
    if (!this.#rooms) throw new Error("LeaseManager.run() before drive(): no RoomHolder");
    return this.#rooms;
  }

  /**
   * Connects, creates the cluster tables if needed and registers the node. Throws a
   * StorageError (one line, the database described without its password) when the server cannot
   * be reached or refuses the login or the database is not ours; a ConfigError when a live node
   * has this id.
   */
  static async open(options: LeaseManagerOptions): Promise<LeaseManager> {
    const description = describeDatabase(options.url);
    const sql = pgConnect(options.url, {
      max: 2,
      connectTimeoutS: Math.max(2, Math.ceil(options.ttlMs / 3000)),
      applicationName: `danmaku-leases ${options.nodeId}`,
    });
    try {
      await ensureClusterSchema(sql, options.url);
      const startedAt = options.clock.now();
      const manager = new LeaseManager(options, sql, startedAt);
      await manager.#register();
      return manager;
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      if (error instanceof ConfigError || error instanceof StorageError) throw error;
      throw new StorageError(
        `Cannot register node "${options.nodeId}" in "${description}": ${
          pgMessage(error, options.url)
        }`,
        describePgFailure(error).reason,
        { cause: error },
      );
    }
  }

  /** This node's id. */
  get nodeId(): string {
    return this.#options.nodeId;
  }

  /** Rooms held → slot (0 is the primary). */
  get held(): ReadonlyMap<number, number> {
    return this.#held;
  }

  /** Whether discovery runs on this node now. */
  get holdsDiscovery(): boolean {
    return this.#discovery !== undefined;
  }

  /**
   * True when this node holds slot 0 of `roomId` (the wanted id, or a real id noted with
   * {@linkcode noteRealId}): only then are the `primary` tables of the room stored here.
   */
  holdsPrimary(roomId: number): boolean {
    return this.#primary.has(roomId);
  }

  /** Records that held room `wantedId` resolved to `realId` (a short id in --rooms). */
  noteRealId(wantedId: number, realId: number): void {
    if (wantedId === realId || !this.#held.has(wantedId)) return;
    this.#aliases.set(wantedId, realId);
    if (this.#primary.has(wantedId)) this.#primary.add(realId);
  }

  /** Puts rooms into the wanted set with this node's --replicas. */
  async want(rooms: readonly WantedRoom[], source: "rooms" | "discovery" = "rooms"): Promise<void> {
    try {
      await upsertWantedRooms(this.#sql, rooms, { replicas: this.#replicas, source });
    } catch (error) {
      throw new StorageError(
        `Cannot add rooms to the wanted set in "${this.description}": ${
          pgMessage(error, this.#options.url)
        }`,
        describePgFailure(error).reason,
        { cause: error },
      );
    }
  }

  /**
   * Renews, claims and runs discovery every ttl/3 until `signal` aborts; then releases every
   * lease (unless `releaseOnStop` is false) and waits for the rooms it stopped.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    this.#holder();
    const interval = Math.max(1, Math.floor(this.#ttlMs / 3));
    await clock.sleep(this.#options.settleMs ?? Math.min(1000, interval), signal);
    let pending: Promise<void> | undefined;
    try {
      while (!signal.aborted) {
        const started = clock.now();
        pending ??= this.#tick().catch((error) => this.#failed(error)).finally(() => {
          pending = undefined;
        });
        const waited = new AbortController();
        const onAbort = () => waited.abort();
        signal.addEventListener("abort", onAbort, { once: true });
        await Promise.race([pending, clock.sleep(interval, waited.signal)]);
        waited.abort();
        signal.removeEventListener("abort", onAbort);
        this.#expireIfUnrenewed();
        const left = started + interval - clock.now();
        if (left > 0) await clock.sleep(left, signal);
      }
    } finally {
      this.#stopping.abort();
      await this.#stopDiscovery();
      // A renewal stuck on a dead server must not hold up the stop for long.
      if (pending) {
        const timeout = new AbortController();
        await Promise.race([pending, clock.sleep(2000, timeout.signal)]);
        timeout.abort();
      }
      if (this.#options.releaseOnStop ?? true) {
        // Bounded too: with the server gone the leases expire by themselves.
        const timeout = new AbortController();
        await Promise.race([this.#release(), clock.sleep(3000, timeout.signal)]);
        timeout.abort();
      }
      await Promise.all(this.#removals);
    }
  }

  /** Closes the connection (after `run` returned). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 2 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #register(): Promise<void> {
    const { nodeId, capacity } = this.#options;
    const host = this.#options.host ?? hostName();
    const pid = this.#options.pid ?? Deno.pid;
    const rows = await this.#sql`
      INSERT INTO cluster_nodes (node_id, session, host, pid, capacity, expires_at)
      VALUES (${nodeId}, ${this.#session}, ${host}, ${pid}, ${capacity}, ${this.#until()})
      ON CONFLICT (node_id) DO UPDATE SET session = excluded.session, host = excluded.host,
        pid = excluded.pid, capacity = excluded.capacity, started_at = now(),
        heartbeat_at = now(), expires_at = excluded.expires_at
      WHERE cluster_nodes.expires_at < now()
      RETURNING 1`;
    if (rows.length > 0) {
      // Nodes gone for a day (killed, or default ids with a pid that will not come back).
      await this.#sql`
        DELETE FROM cluster_nodes WHERE expires_at < now() - make_interval(secs => ${FORGET_NODES_S})`;
      return;
    }
    const [other] = await this.#sql<{ host: string; pid: string; left_s: number }[]>`
      SELECT host, pid::text, ceil(extract(epoch FROM expires_at - now()))::float8 AS left_s
      FROM cluster_nodes WHERE node_id = ${nodeId}`;
    const where = `host ${other?.host ?? "?"}, pid ${other?.pid ?? "?"}, expires in ${
      other?.left_s ?? "?"
    } s unless it renews`;
    throw new ConfigError(
      `Cannot start node "${nodeId}": a live node with this --node-id is registered in "${this.description}" (${where}); give each collector its own --node-id`,
    );
  }

  async #tick(): Promise<void> {
    const sentAt = this.#options.clock.now();
    const { nodeId, capacity } = this.#options;
    const session = this.#session;
    const node = await this.#sql`
      UPDATE cluster_nodes SET heartbeat_at = now(), expires_at = ${this.#until()},
        capacity = ${capacity}
      WHERE node_id = ${nodeId} AND session = ${session} RETURNING 1`;
    if (node.length === 0) {
      // Our registration expired and was deleted, or another process took the id over.
      const again = await this.#sql`
        INSERT INTO cluster_nodes (node_id, session, host, pid, capacity, expires_at)
        VALUES (${nodeId}, ${session}, ${this.#options.host ?? hostName()},
          ${this.#options.pid ?? Deno.pid}, ${capacity}, ${this.#until()})
        ON CONFLICT (node_id) DO UPDATE SET session = excluded.session,
          heartbeat_at = now(), expires_at = excluded.expires_at
        WHERE cluster_nodes.expires_at < now() RETURNING 1`;
      if (again.length === 0) {
        this.#log.error("Another live node took over this --node-id: stopping every room here", {
          node: nodeId,
        });
      }
    }
    const renewed = await this.#sql<SlotRow[]>`
      UPDATE cluster_leases SET expires_at = ${this.#until()}
      WHERE node_id = ${nodeId} AND session = ${session}
      RETURNING room_id::text, slot`;
    this.#renewedAt = sentAt;
    this.renewals++;
    if (this.#failing !== undefined) {
      this.#log.info("lease renewals succeed again", {
        failed_for_ms: this.#options.clock.now() - this.#failingSince,
        rooms: renewed.length,
      });
      this.#failing = undefined;
    }
    this.#reconcile(renewed);
    await this.#promote();
    await this.#claim();
    await this.#holdDiscovery();
  }

  /** Makes the held rooms what the server says this node holds. */
  #reconcile(rows: readonly SlotRow[]): void {
    const now = new Map(rows.map((row) => [Number(row.room_id), row.slot]));
    for (const [roomId, slot] of this.#held) {
      if (now.has(roomId)) continue;
      if (this.#yielding.has(roomId)) {
        this.handedOver++;
        this.#log.info("handed the room over to a node below its share", { room: roomId, slot });
        // Its new holder is connecting now: keep reading until it surely is (no gap).
        this.#drop(roomId, Math.max(HANDOVER_OVERLAP_MS, this.#ttlMs / 3));
      } else {
        this.lost++;
        this.#log.warn("lease lost: the room stops on this node", { room: roomId, slot });
        this.#drop(roomId);
      }
    }
    this.#hold(now);
  }

  /** Starts the rooms of `slots` not running yet and records every slot. */
  #hold(slots: ReadonlyMap<number, number>): void {
    for (const [roomId, slot] of slots) {
      const had = this.#held.has(roomId);
      this.#held.set(roomId, slot);
      this.#setPrimary(roomId, slot === 0 && !this.#yielding.has(roomId));
      if (!had) this.#holder().add(roomId);
    }
  }

  /** Whether the primary tables of `roomId` (and its real id) are stored here. */
  #setPrimary(roomId: number, primary: boolean): void {
    const alias = this.#aliases.get(roomId);
    for (const id of alias === undefined ? [roomId] : [roomId, alias]) {
      if (primary) this.#primary.add(id);
      else this.#primary.delete(id);
    }
  }

  /** Forgets a held room and stops it, after `afterMs` unless it is held again by then. */
  #drop(roomId: number, afterMs = 0): void {
    this.#held.delete(roomId);
    this.#setPrimary(roomId, false);
    this.#aliases.delete(roomId);
    this.#yielding.delete(roomId);
    const holder = this.#holder();
    if (afterMs <= 0) {
      this.#track(holder.remove(roomId));
      return;
    }
    this.#track(
      this.#options.clock.sleep(afterMs, this.#stopping.signal).then(() => {
        if (!this.#held.has(roomId) && !this.#stopping.signal.aborted) {
          return holder.remove(roomId);
        }
      }),
    );
  }

  /** Keeps `work` until it settles, so `run` waits for it before returning. */
  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => {}).finally(() => this.#removals.delete(tracked));
    this.#removals.add(tracked);
  }

  /** A holder of slot k > 0 whose slot 0 is free moves there (keeping its connection). */
  async #promote(): Promise<void> {
    if (![...this.#held.values()].some((slot) => slot > 0)) return;
    const { nodeId } = this.#options;
    const session = this.#session;
    const moved: readonly SlotRow[] = await this.#sql.begin(async (tx): Promise<SlotRow[]> => {
      const rows = await tx<SlotRow[]>`
        SELECT mine.room_id::text, mine.slot FROM cluster_leases mine
        JOIN cluster_leases first ON first.room_id = mine.room_id AND first.slot = 0
        WHERE mine.node_id = ${nodeId} AND mine.session = ${session} AND mine.slot > 0
          AND (first.node_id IS NULL OR first.expires_at < now())
        FOR UPDATE OF mine, first SKIP LOCKED`;
      if (rows.length === 0) return [];
      const ids = rows.map((row) => row.room_id);
      await tx`
        UPDATE cluster_leases SET node_id = NULL, session = NULL, acquired_at = NULL,
          expires_at = now(), yielding = false
        WHERE node_id = ${nodeId} AND session = ${session} AND room_id = ANY(${ids}::bigint[])`;
      return [
        ...await tx<SlotRow[]>`
        UPDATE cluster_leases SET node_id = ${nodeId}, session = ${session},
          acquired_at = now(), expires_at = ${this.#until()}
        WHERE slot = 0 AND room_id = ANY(${ids}::bigint[]) RETURNING room_id::text, slot`,
      ];
    });
    for (const row of moved) {
      this.#yielding.delete(Number(row.room_id));
      this.#log.info("moved to slot 0 of a room whose first holder left", {
        room: Number(row.room_id),
      });
    }
    this.#hold(new Map(moved.map((row) => [Number(row.room_id), 0])));
  }

  /**
   * Claims free, expired or offered slots, up to this node's fair share and free capacity; a
   * node above its share while others are below it offers them the difference (they claim it
   * at their next renewal, and this node stops those rooms at its own: the rooms overlap
   * instead of pausing). Offers not taken by then are withdrawn.
   */
  async #claim(): Promise<void> {
    const { nodeId, capacity } = this.#options;
    const session = this.#session;
    const result = await this.#sql.begin(async (tx): Promise<ClaimResult> => {
      const withdrawn = await tx<SlotRow[]>`
        UPDATE cluster_leases SET yielding = false
        WHERE node_id = ${nodeId} AND session = ${session} AND yielding
        RETURNING room_id::text, slot`;
      const nodes = await tx<{ node_id: string; capacity: number; held: number }[]>`
        SELECT n.node_id, n.capacity::float8 AS capacity, (SELECT count(*) FROM cluster_leases l
          WHERE l.node_id = n.node_id AND l.expires_at > now())::float8 AS held
        FROM cluster_nodes n WHERE n.expires_at > now()`;
      if (!nodes.some((node) => node.node_id === nodeId)) {
        nodes.push({ node_id: nodeId, capacity, held: this.#held.size });
      }
      const [wanted] = await tx<{ rooms: number; slots: number; free: number }[]>`
        SELECT count(DISTINCT r.room_id)::float8 AS rooms,
          (SELECT coalesce(sum(least(replicas, ${nodes.length})), 0) FROM cluster_rooms)::float8
            AS slots,
          count(l.room_id) FILTER (WHERE (l.node_id IS NULL OR l.expires_at < now())
            AND l.slot < least(r.replicas, ${nodes.length}))::float8 AS free
        FROM cluster_rooms r LEFT JOIN cluster_leases l ON l.room_id = r.room_id`;
      const share = fairShare(
        wanted.slots,
        nodes.map((node) => Math.min(node.capacity, wanted.rooms)),
      );
      const targetOf = (node: { capacity: number }) => Math.min(node.capacity, share);
      const want = Math.min(capacity, share) - this.#held.size;
      if (want < 0) {
        const deficit = nodes.reduce(
          (sum, node) =>
            node.node_id === nodeId ? sum : sum + Math.max(0, targetOf(node) - node.held),
          0,
        );
        const offer = Math.min(-want, deficit - wanted.free);
        if (offer <= 0) return { withdrawn, live: nodes.length, claimed: [], offered: [] };
        const offered = await tx<SlotRow[]>`
          UPDATE cluster_leases l SET yielding = true
          FROM (SELECT m.room_id, m.slot FROM cluster_leases m
            JOIN cluster_rooms r ON r.room_id = m.room_id
            WHERE m.node_id = ${nodeId} AND m.session = ${session}
              -- Only rooms no other node holds a slot of: any node below its share can take it.
              AND NOT EXISTS (SELECT 1 FROM cluster_leases o
                WHERE o.room_id = m.room_id AND o.slot <> m.slot AND o.node_id <> ${nodeId}
                  AND o.expires_at > now())
            ORDER BY m.slot DESC, (r.source = 'rooms'), r.popularity, m.room_id DESC
            LIMIT ${offer}) AS o
          WHERE l.room_id = o.room_id AND l.slot = o.slot
          RETURNING l.room_id::text, l.slot`;
        return { withdrawn, live: nodes.length, claimed: [], offered: [...offered] };
      }
      // Up to the share: any free or offered slot. Beyond it, up to the capacity: slots left
      // free for a whole renewal interval, which the nodes below their share did not take (a
      // room they already hold a slot of, say).
      const fair = await this.#candidates(tx, want, false, []);
      const rest = capacity - this.#held.size - fair.length;
      const stale = rest <= 0 ? [] : await this.#candidates(
        tx,
        rest,
        true,
        fair.map((row) => row.room_id),
      );
      const candidates = [...fair, ...stale];
      if (candidates.length === 0) {
        return { withdrawn, live: nodes.length, claimed: [], offered: [] };
      }
      const claimed = await tx<SlotRow[]>`
        UPDATE cluster_leases l SET node_id = ${nodeId}, session = ${session}, yielding = false,
          acquired_at = now(), expires_at = ${this.#until()}
        FROM unnest(${candidates.map((row) => row.room_id)}::bigint[],
          ${candidates.map((row) => row.slot)}::int[]) AS c(room_id, slot)
        WHERE l.room_id = c.room_id AND l.slot = c.slot
        RETURNING l.room_id::text, l.slot`;
      return { withdrawn, live: nodes.length, claimed: [...claimed], offered: [] };
    });
    this.#liveNodes = result.live;
    for (const row of result.withdrawn) {
      const roomId = Number(row.room_id);
      this.#yielding.delete(roomId);
      if (this.#held.get(roomId) === row.slot) this.#setPrimary(roomId, row.slot === 0);
    }
    if (result.offered.length > 0) {
      this.#log.info("offering room leases to nodes below their share", {
        node: nodeId,
        offered: result.offered.length,
        held: this.#held.size,
      });
    }
    for (const row of result.offered) {
      // Its next holder stores the room's primary tables from its claim on: not both at once.
      this.#yielding.add(Number(row.room_id));
      this.#setPrimary(Number(row.room_id), false);
    }
    if (result.claimed.length > 0) {
      this.#log.info("claimed room leases", {
        node: nodeId,
        claimed: result.claimed.length,
        held: this.#held.size + result.claimed.length,
      });
    }
    this.#hold(new Map(result.claimed.map((row) => [Number(row.room_id), row.slot])));
  }

  /**
   * Locks up to `limit` slots this node may claim, the lowest free slot of each room it holds
   * nothing of (slot 0 of every room first, explicit rooms, then the most popular): any free or
   * offered slot, or (`stale`) only slots free for a whole renewal interval; never a room in
   * `except`. Only the rows returned are locked (LIMIT above the lock); rows another claimer
   * holds are skipped.
   */
  async #candidates(
    tx: postgres.TransactionSql,
    limit: number,
    stale: boolean,
    except: readonly string[],
  ): Promise<SlotRow[]> {
    if (limit <= 0) return [];
    const { nodeId } = this.#options;
    const session = this.#session;
    const staleAfter = this.#ttlS / 3;
    return [
      ...await tx<SlotRow[]>`
      SELECT l.room_id::text, l.slot FROM cluster_leases l
      JOIN cluster_rooms r ON r.room_id = l.room_id
      WHERE (l.room_id, l.slot) IN (
          SELECT DISTINCT ON (f.room_id) f.room_id, f.slot FROM cluster_leases f
          JOIN cluster_rooms fr ON fr.room_id = f.room_id
          WHERE (f.node_id IS NULL OR f.expires_at < now() OR f.yielding)
            AND f.slot < fr.replicas
            AND NOT EXISTS (SELECT 1 FROM cluster_leases m WHERE m.room_id = f.room_id
              AND m.node_id = ${nodeId} AND m.session = ${session})
          ORDER BY f.room_id, f.slot)
        AND (l.node_id IS NULL OR l.expires_at < now() OR l.yielding)
        AND (${stale}::boolean IS FALSE OR (NOT l.yielding
          AND l.expires_at < now() - make_interval(secs => ${staleAfter}::float8)))
        AND NOT (l.room_id = ANY(${except as string[]}::bigint[]))
      ORDER BY l.yielding, l.slot, (r.source = 'rooms') DESC, r.popularity DESC, l.room_id
      LIMIT ${Math.min(MAX_CLAIM, limit)}
      FOR UPDATE OF l SKIP LOCKED`,
    ];
  }

  /** Takes or renews the discovery lease (nodes that discover), starting or stopping discovery. */
  async #holdDiscovery(): Promise<void> {
    const { nodeId } = this.#options;
    const discover = this.#discover;
    if (!discover || this.#stopping.signal.aborted) return;
    const rows = await this.#sql`
      INSERT INTO cluster_singletons (name, node_id, session, expires_at)
      VALUES (${DISCOVERY}, ${nodeId}, ${this.#session}, ${this.#until()})
      ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id, session = excluded.session,
        expires_at = excluded.expires_at
      WHERE cluster_singletons.expires_at < now()
        OR (cluster_singletons.node_id = excluded.node_id
          AND cluster_singletons.session = excluded.session)
      RETURNING 1`;
    // A stop that came while the lease was being taken: the release that follows frees it.
    if (this.#stopping.signal.aborted) return;
    if (rows.length > 0 && this.#discovery === undefined) {
      this.#log.info("holding the discovery lease: discovery runs on this node", { node: nodeId });
      const stop = new AbortController();
      const done = (async () => {
        const wanted = await WantedRooms.load({
          sql: this.#sql,
          replicas: this.#replicas,
          log: this.#options.log,
        });
        try {
          await discover(stop.signal, wanted);
        } finally {
          await wanted.close();
        }
      })().catch((error) => {
        this.#log.error("discovery stopped on an error", {
          detail: error instanceof Error ? error.message : String(error),
        });
      });
      this.#discovery = { stop, done };
    } else if (rows.length === 0 && this.#discovery !== undefined) {
      this.#log.warn("discovery lease lost: discovery stops on this node", { node: nodeId });
      await this.#stopDiscovery();
    }
  }

  async #stopDiscovery(): Promise<void> {
    const discovery = this.#discovery;
    this.#discovery = undefined;
    if (!discovery) return;
    discovery.stop.abort();
    await discovery.done;
  }

  /**
   * Stops every room (and discovery) once the leases would have expired on the server: `ttl`
   * after the last successful renewal was sent, however the renewals since failed or hung.
   */
  #expireIfUnrenewed(): void {
    const unrenewed = this.#options.clock.now() - this.#renewedAt;
    if (unrenewed < this.#ttlMs) return;
    if (this.#held.size > 0) {
      this.#log.error("Leases expired unrenewed: stopping the rooms held here", {
        rooms: this.#held.size,
        unrenewed_ms: unrenewed,
        detail: this.#failing ?? "renewal still waiting for the server",
      });
      for (const roomId of [...this.#held.keys()]) this.#drop(roomId);
    }
    if (this.#discovery) this.#track(this.#stopDiscovery());
  }

  #failed(error: unknown): void {
    if (this.#failing !== undefined) return;
    this.#failing = pgMessage(error, this.#options.url);
    this.#failingSince = this.#options.clock.now();
    const left = this.#renewedAt + this.#ttlMs - this.#options.clock.now();
    this.#log.error(
      "Cannot renew leases: keeping the rooms held until the leases would expire, retrying",
      {
        db: this.description,
        rooms: this.#held.size,
        expires_in_ms: Math.max(0, left),
        detail: this.#failing,
      },
    );
  }

  /**
   * Frees every lease of this node and deregisters it (one try; they expire anyway). With other
   * nodes alive, the draining rooms stop storing their primary tables here.
   */
  async #release(): Promise<void> {
    const { nodeId } = this.#options;
    const session = this.#session;
    try {
      await this.#sql.begin(async (tx) => {
        await tx`
          UPDATE cluster_leases SET node_id = NULL, session = NULL, acquired_at = NULL,
            expires_at = now(), yielding = false
          WHERE node_id = ${nodeId} AND session = ${session}`;
        await tx`DELETE FROM cluster_singletons WHERE node_id = ${nodeId} AND session = ${session}`;
        await tx`DELETE FROM cluster_nodes WHERE node_id = ${nodeId} AND session = ${session}`;
      });
      // Other nodes may take the rooms while these connections drain: from now on they store
      // the primary tables, and this node only what every holder stores (merged by its key).
      if (this.#liveNodes > 1) {
        for (const roomId of this.#held.keys()) this.#setPrimary(roomId, false);
      }
      this.#log.info("released every lease", { node: nodeId, rooms: this.#held.size });
    } catch (error) {
      this.#log.warn("Cannot release the leases: they expire by themselves", {
        node: nodeId,
        detail: pgMessage(error, this.#options.url),
      });
    }
  }
}

/** Why a PostgreSQL call failed, in words for one line (never the password). */
function pgMessage(error: unknown, url: string): string {
  return withoutPassword(describePgFailure(error).words, url);
}

/** This machine's name, or "unknown" without the permission. */
function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}
