/**
 * The tables the nodes of a cluster coordinate through, beside the event tables of the same
 * PostgreSQL database: `cluster_nodes` (who is alive), `cluster_rooms` (the wanted set),
 * `cluster_leases` (one row per wanted room and replica slot, naming its holder) and
 * `cluster_singletons` (the discovery lease). Created idempotently, in one transaction under
 * the same advisory lock as the event schema (after it), and marked by `('cluster_version','1')` in
 * `danmaku_meta`. Every lease time is the server's clock (`now()`), never a node's.
 */
import type postgres from "postgres";
import { StorageError } from "../errors.ts";
import { describeDatabase } from "../storage/database_url.ts";
import { pgError } from "../storage/pg_errors.ts";
import { openPgSchema, PG_SCHEMA_LOCK } from "../storage/pg_schema.ts";

/** The version of the cluster tables this code writes. */
export const CLUSTER_VERSION = 1;

/** The cluster tables, each statement idempotent. */
export const CLUSTER_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS cluster_nodes (
    node_id TEXT PRIMARY KEY,
    session TEXT NOT NULL,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cluster_rooms (
    room_id BIGINT PRIMARY KEY,
    popularity BIGINT NOT NULL DEFAULT 0,
    replicas INTEGER NOT NULL DEFAULT 1 CHECK (replicas >= 1),
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    source TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cluster_leases (
    room_id BIGINT NOT NULL,
    slot INTEGER NOT NULL,
    node_id TEXT,
    session TEXT,
    acquired_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
    yielding BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (room_id, slot)
  )`,
  `CREATE INDEX IF NOT EXISTS cluster_leases_node ON cluster_leases (node_id)`,
  `CREATE TABLE IF NOT EXISTS cluster_singletons (
    name TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    session TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
  )`,
];

/**
 * Makes sure the database at `url` holds the event schema (created or upgraded, refusing a
 * foreign database: openPgSchema) and the cluster tables, recording their version. Throws a
 * one-line StorageError without the password; a newer cluster version is refused.
 */
export async function ensureClusterSchema(sql: postgres.Sql, url: string): Promise<void> {
  await openPgSchema(sql, url);
  const db = describeDatabase(url);
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${PG_SCHEMA_LOCK})`;
      for (const statement of CLUSTER_DDL) await tx.unsafe(statement);
      const [row] = await tx<{ value: string }[]>`
        SELECT value FROM danmaku_meta WHERE key = 'cluster_version'`;
      const version = Number(row?.value ?? CLUSTER_VERSION);
      if (!(version <= CLUSTER_VERSION)) {
        throw new StorageError(
          `Cannot open database "${db}": its cluster tables are version "${row?.value}", newer than this collector's ${CLUSTER_VERSION}; update the collector`,
          "schema",
        );
      }
      await tx`INSERT INTO danmaku_meta (key, value) VALUES ('cluster_version', ${
        String(CLUSTER_VERSION)
      }) ON CONFLICT (key) DO NOTHING`;
    });
  } catch (error) {
    throw pgError(`Cannot create the cluster tables in database "${db}"`, error, url);
  }
}
