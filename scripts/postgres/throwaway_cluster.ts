/**
 * A throwaway PostgreSQL cluster for tests, `deno task pg`, the bench and the cluster demo:
 * `initdb` in a fresh temporary folder, `pg_ctl start` on a free loopback port, password
 * authentication over TCP (so a wrong password is a real failure), removed again by `stop()`.
 * As root the server programs run as the `postgres` user (initdb refuses root), which needs
 * to enter the folder's parent. Debian's binaries are found under /usr/lib/postgresql/<v>/bin
 * when they are not on PATH.
 */
import { join } from "node:path";

/** Options of {@linkcode startThrowawayCluster}. */
export interface ThrowawayClusterOptions {
  /** TCP port on 127.0.0.1. @default {a free port} */
  port?: number;
  /** Folder to create the cluster in (must not exist or be empty). @default {a new temp folder} */
  dataDir?: string;
  /** Superuser password. @default {random} */
  password?: string;
  /** Extra `-c name=value` server settings. @default {fsync=off and a few test-friendly ones} */
  settings?: Record<string, string>;
  /** Where the server's own log goes. @default {`<dataDir>/server.log`} */
  logFile?: string;
  /**
   * Keep the data folder: `stop()` stops the server and leaves it, and a `dataDir` that
   * already holds a cluster is started as it is (`password` must then be its password).
   * @default {false}
   */
  keep?: boolean;
}

/** A running throwaway cluster. */
export interface ThrowawayCluster extends AsyncDisposable {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  readonly dataDir: string;
  /** `postgres://…/<name>` for a database of this cluster. */
  urlOf(database: string): string;
  /** Creates a new empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl restart -m fast` (drops every connection, as a real restart does). */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`, leaving the folder (for a later `start`). */
  stopServer(): Promise<void>;
  /** `pg_ctl start` after `stopServer`. */
  startServer(): Promise<void>;
  /** Stops the server and removes the folder; later calls do nothing. */
  stop(): Promise<void>;
}

const BIN_SEARCH = ["/usr/lib/postgresql"];

/** The folder holding `initdb` and `pg_ctl`, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  for (const root of BIN_SEARCH) {
    let versions: string[] = [];
    try {
      versions = [...Deno.readDirSync(root)].map((e) => e.name)
        .sort((a, b) => Number(b) - Number(a));
    } catch {
      continue;
    }
    for (const version of versions) {
      const dir = join(root, version, "bin");
      if (exists(join(dir, "initdb")) && exists(join(dir, "createdb"))) return dir;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && ["initdb", "pg_ctl", "createdb"].every((p) => exists(join(dir, p)))) return dir;
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const isRoot = Deno.uid?.() === 0;

/** Runs a server program, as `postgres` when we are root; throws with its output on failure. */
async function run(bin: string, args: string[], what: string): Promise<void> {
  const command = isRoot
    ? new Deno.Command("su", {
      args: ["postgres", "-s", "/bin/sh", "-c", [bin, ...args].map(shellQuote).join(" ")],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    })
    : new Deno.Command(bin, { args, stdout: "piped", stderr: "piped", stdin: "null" });
  const output = await command.output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim() ||
      new TextDecoder().decode(output.stdout).trim();
    throw new Error(
      `${what} failed (exit ${output.code}): ${text.split("\n").slice(-3).join(" ")}`,
    );
  }
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Creates and starts a cluster. Throws when PostgreSQL is not installed (say so: "apt-get
 * install postgresql") or a program fails.
 */
export async function startThrowawayCluster(
  options: ThrowawayClusterOptions = {},
): Promise<ThrowawayCluster> {
  const bin = findPostgresBin();
  if (bin === undefined) {
    throw new Error(
      "PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql); on Debian: apt-get install postgresql",
    );
  }
  const parent = options.dataDir === undefined
    ? Deno.makeTempDirSync({ prefix: "danmaku-pg-" })
    : undefined;
  const dataDir = options.dataDir ?? join(parent!, "data");
  const reuse = options.keep === true && exists(join(dataDir, "PG_VERSION"));
  if (reuse && options.password === undefined) {
    throw new Error(`Cannot start the cluster in ${dataDir}: its password is needed`);
  }
  Deno.mkdirSync(dataDir, { recursive: true });
  const password = options.password ?? randomPassword();
  const port = options.port ?? freePort();
  const logFile = options.logFile ?? join(parent ?? dataDir, "server.log");
  if (isRoot && parent !== undefined) {
    // The postgres user must enter the parent, own the data folder and write the log.
    Deno.chmodSync(parent, 0o755);
    Deno.writeTextFileSync(logFile, "");
    await chown(logFile);
  }
  if (!reuse) await initdb(bin, dataDir, password);
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: dataDir,
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    max_connections: "200",
    ...options.settings,
  };
  const serverOptions = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(" ");
  const pgCtl = join(bin, "pg_ctl");
  const startServer = () =>
    run(
      pgCtl,
      ["-D", dataDir, "-l", logFile, "-o", serverOptions, "-w", "-t", "60", "start"],
      "pg_ctl start",
    );
  const stopServer = () => run(pgCtl, ["-D", dataDir, "-m", "fast", "-w", "stop"], "pg_ctl stop");
  await startServer();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const urlOf = (database: string) =>
    `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
  const cluster: ThrowawayCluster = {
    url,
    port,
    password,
    dataDir,
    urlOf,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name "${name}"`);
      await run(
        join(bin, "createdb"),
        ["-h", dataDir, "-p", String(port), "-U", "postgres", name],
        "createdb",
      );
      return urlOf(name);
    },
    async restart() {
      await run(pgCtl, [
        "-D",
        dataDir,
        "-l",
        logFile,
        "-o",
        serverOptions,
        "-m",
        "fast",
        "-w",
        "-t",
        "60",
        "restart",
      ], "pg_ctl restart");
    },
    stopServer,
    startServer,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await stopServer();
      } catch {
        // Already stopped (a test stopped it); the folder goes anyway.
      }
      if (!options.keep) Deno.removeSync(parent ?? dataDir, { recursive: true });
    },
    [Symbol.asyncDispose]() {
      return cluster.stop();
    },
  };
  return cluster;
}

/** `initdb` into `dataDir` (made the postgres user's when root), with `password`. */
async function initdb(bin: string, dataDir: string, password: string): Promise<void> {
  // initdb wants an empty data folder: the password file goes into a folder of its own.
  const pwDir = Deno.makeTempDirSync({ prefix: "danmaku-pg-pw-" });
  const pwFile = join(pwDir, "pwfile");
  try {
    Deno.writeTextFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (isRoot) {
      Deno.chmodSync(pwDir, 0o755);
      await chown(dataDir);
      await chown(pwFile);
    }
    await run(join(bin, "initdb"), [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      `--pwfile=${pwFile}`,
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ], "initdb");
  } finally {
    Deno.removeSync(pwDir, { recursive: true });
  }
}

async function chown(path: string): Promise<void> {
  const output = await new Deno.Command("chown", { args: ["-R", "postgres:postgres", path] })
    .output();
  if (!output.success) throw new Error(`chown postgres ${path} failed`);
}
