/**
 * A real PostgreSQL for tests (never a mock). `.ci/run` starts one throwaway cluster and passes
 * its URL in `DANMAKU_TEST_PG_URL`; without it, a test file starts its own throwaway cluster
 * (scripts/postgres/throwaway_cluster.ts) the first time it asks for a database. Each call to
 * `testDatabase()` gets a new empty database, dropped again on dispose.
 *
 * Where PostgreSQL is not installed, the tests that need it are ignored with one line saying
 * so, unless `DANMAKU_REQUIRE_PG=1` (set by `.ci/run`), which turns that into a failure.
 */
import postgres from "postgres";
import {
  findPostgresBin,
  startThrowawayCluster,
  type ThrowawayCluster,
} from "../../scripts/postgres/throwaway_cluster.ts";

const SERVER_URL_ENV = "DANMAKU_TEST_PG_URL";

/** Whether tests can get a PostgreSQL (a server from the environment, or installed binaries). */
export const postgresAvailable: boolean = Deno.env.get(SERVER_URL_ENV) !== undefined ||
  findPostgresBin() !== undefined;

if (!postgresAvailable) {
  if (Deno.env.get("DANMAKU_REQUIRE_PG") === "1") {
    throw new Error(`PostgreSQL is required (DANMAKU_REQUIRE_PG=1) but not installed`);
  }
  console.error("PostgreSQL is not installed: tests that need it are ignored");
}

/** `ignore` for Deno.test: true (with the note above) where PostgreSQL is missing. */
export const withoutPostgres = !postgresAvailable;

let ownCluster: Promise<ThrowawayCluster> | undefined;
let clusterUsers = 0;

/** The server URL (maintenance database `postgres`), starting this file's cluster if needed. */
async function serverUrl(): Promise<string> {
  const fromEnv = Deno.env.get(SERVER_URL_ENV);
  if (fromEnv !== undefined) return fromEnv;
  ownCluster ??= startThrowawayCluster();
  return (await ownCluster).url;
}

/** URL of database `name` on the server at `url`. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** A fresh database for one test. */
export interface TestDatabase extends AsyncDisposable {
  /** `postgres://user:password@host:port/<fresh database>`. */
  readonly url: string;
  /** The database name. */
  readonly name: string;
  /** The server's password (for tests that grep outputs for it). */
  readonly password: string;
}

/** Creates a new empty database; dispose drops it (and stops this file's own cluster last). */
export async function testDatabase(): Promise<TestDatabase> {
  clusterUsers++;
  const server = await serverUrl();
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(server, name),
    name,
    password: decodeURIComponent(new URL(server).password),
    async [Symbol.asyncDispose]() {
      const admin = postgres(server, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
        if (--clusterUsers === 0 && ownCluster !== undefined) {
          const cluster = ownCluster;
          ownCluster = undefined;
          await (await cluster).stop();
        }
      }
    },
  };
}

/**
 * A private throwaway cluster, for tests that restart or stop the server (which a shared one
 * cannot allow). Ignored like the others where PostgreSQL is missing.
 */
export function privateCluster(): Promise<ThrowawayCluster> {
  return startThrowawayCluster();
}
