/**
 * The tables the nodes of a cluster coordinate through, beside the event tables of the same
 * PostgreSQL database: `cluster_nodes` (who is alive), `cluster_rooms` (the wanted set),
 * `cluster_leases` (one row per wanted room and replica slot, naming its holder) and
 * `cluster_singletons` (the discovery lease). Created idempotently, in one transaction under
 * the same advisory lock as the event schema, and marked by `('cluster_version','1')` in
 * `danmaku_meta`. Every lease time is the server's clock (`now()`), never a node's.
 */
import type postgres from "postgres";
import { StorageError } from "../errors.ts";

/** The version of the cluster tables this code writes. */
export const CLUSTER_VERSION = 1;

/** Key of the advisory lock every schema change of the database runs under ("BDMK"). */
export const SCHEMA_LOCK_KEY = 0x42444d4b;

/** The cluster tables, each statement idempotent. */
export const CLUSTER_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS danmaku_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
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
 * Creates the cluster tables if missing and records their version. Refuses (a StorageError of
 * reason "schema") a database whose `danmaku_meta` names another application or a newer
 * cluster version. `description` is the database as it may be shown (describeDatabase).
 */
export async function ensureClusterSchema(sql: postgres.Sql, description: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY})`;
    for (const statement of CLUSTER_DDL) await tx.unsafe(statement);
    const meta = await tx<{ key: string; value: string }[]>`
      SELECT key, value FROM danmaku_meta WHERE key IN ('application', 'cluster_version')`;
    const value = (key: string) => meta.find((row) => row.key === key)?.value;
    const application = value("application");
    if (application !== undefined && application !== "BDMK") {
      throw new StorageError(
        `Cannot open database "${description}": it is not a danmaku database (danmaku_meta names application "${application}"); refusing to write into it`,
        "schema",
      );
    }
    const version = Number(value("cluster_version") ?? CLUSTER_VERSION);
    if (version > CLUSTER_VERSION) {
      throw new StorageError(
        `Cannot open database "${description}": its cluster tables are version ${version}, newer than this collector's ${CLUSTER_VERSION}; update the collector`,
        "schema",
      );
    }
    await tx`INSERT INTO danmaku_meta (key, value) VALUES ('cluster_version', ${
      String(CLUSTER_VERSION)
    }) ON CONFLICT (key) DO NOTHING`;
  });
}
