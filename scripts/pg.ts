/**
 * `deno task pg [--data DIR] [--port N]`: a PostgreSQL for a person to try the collector's
 * `--db postgres://…` on, started like the tests' throwaway cluster
 * (scripts/postgres/throwaway_cluster.ts). Prints the URL to pass as `--db` and keeps running;
 * Ctrl+C (or SIGTERM) stops the server and removes its data, unless `--data DIR` keeps it there
 * for the next `deno task pg --data DIR`.
 */
import { join } from "node:path";
import { PG_COMMAND } from "./postgres/pg_command.ts";
import { startThrowawayCluster, type ThrowawayCluster } from "./postgres/throwaway_cluster.ts";
import { scriptArgs } from "./script_args.ts";

/** The file beside the cluster's own files that remembers its password for the next start. */
const PASSWORD_FILE = "danmaku_password";

if (import.meta.main) {
  const values = scriptArgs(PG_COMMAND, Deno.args);
  Deno.exit(await main(values.data, values.port, values.database, values.urlOnly));
}

async function main(
  dataDir: string | undefined,
  port: number,
  database: string,
  urlOnly: boolean,
): Promise<number> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) {
    console.error(`error: Cannot use --database "${database}": expected lower-case letters, _`);
    return 2;
  }
  const stopped = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => stopped.resolve(name);
  const onInt = onSignal("SIGINT");
  const onTerm = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  let cluster: ThrowawayCluster | undefined;
  try {
    const keep = dataDir !== undefined;
    const passwordFile = keep ? join(dataDir, PASSWORD_FILE) : undefined;
    const remembered = passwordFile === undefined ? undefined : readPassword(passwordFile);
    const password = remembered ?? randomPassword();
    try {
      cluster = await startThrowawayCluster({
        dataDir,
        port: port === 0 ? undefined : port,
        password,
        keep,
      });
    } finally {
      // Remember the password of a new kept cluster, even when its first start failed.
      if (passwordFile !== undefined && remembered === undefined && hasCluster(dataDir!)) {
        Deno.writeTextFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
      }
    }
    const url = await ensureDatabase(cluster, database);
    console.log(urlOnly ? url : banner(cluster, url, keep));
    // Ctrl+C reaches the whole process group: the first signal stops, later ones do nothing.
    const signal = await stopped.promise;
    console.error(`level=info msg="stopping PostgreSQL" signal=${signal}`);
    await cluster.stop();
    console.error(
      keep
        ? `level=info msg="PostgreSQL stopped; data kept" dir=${cluster.dataDir}`
        : `level=info msg="PostgreSQL stopped; data removed"`,
    );
    return 0;
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    await cluster?.stop().catch(() => {});
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
}

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function hasCluster(dataDir: string): boolean {
  try {
    Deno.statSync(join(dataDir, "PG_VERSION"));
    return true;
  } catch {
    return false;
  }
}

function readPassword(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim() || undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Creates `name` unless it exists (a kept cluster started again); returns its URL. */
async function ensureDatabase(cluster: ThrowawayCluster, name: string): Promise<string> {
  try {
    return await cluster.createDatabase(name);
  } catch (error) {
    if (error instanceof Error && error.message.includes("already exists")) {
      return cluster.urlOf(name);
    }
    throw error;
  }
}

/**
 * What to do with the cluster, within 80 columns. The examples pass the password in
 * PGPASSWORD, not in the URL: `deno task` echoes its command line to stderr, so a URL with a
 * password would end up in every captured log.
 */
function banner(cluster: ThrowawayCluster, url: string, keep: boolean): string {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = "";
  return [
    `PostgreSQL is running on 127.0.0.1:${cluster.port}.`,
    `Data: ${cluster.dataDir}`,
    keep ? "(kept on stop; start it again with the same --data)" : "(removed on stop)",
    "",
    "For --db of every collector, export and stats (the password in PGPASSWORD,",
    "so that it never shows in a command line or a log):",
    "",
    `  export PGPASSWORD=${password}`,
    `  DB=${parsed}`,
    "",
    "For example, two nodes sharing the rooms:",
    "",
    '  npx -y deno@2.9.6 task start --rooms 76,21452505 --node-id a --db "$DB"',
    '  npx -y deno@2.9.6 task start --rooms 76,21452505 --node-id b --db "$DB"',
    '  npx -y deno@2.9.6 task stats --db "$DB"',
    "",
    `Ctrl+C stops the server${keep ? "" : " and removes its data"}.`,
  ].join("\n");
}
