/**
 * The pieces the cluster demo, its end-to-end test and the postgres bench share: the simulator
 * (`main.ts simulate --messages N --truth FILE`) and collector nodes (`main.ts collect --db
 * postgres://… --node-id …`) as subprocesses, the leases as PostgreSQL sees them, and the
 * simulator's truth file read back.
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import postgres from "postgres";
import { roomIds, ROOT } from "../bench/processes.ts";

/** Most output kept per subprocess (the rest is counted, not kept). */
const MAX_OUTPUT_CHARS = 4 << 20;

/** A subprocess whose stdout and stderr are read as they come. */
export interface Subprocess {
  readonly process: Deno.ChildProcess;
  readonly pid: number;
  /** Resolves when it exited and its output was read to the end. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Everything it printed so far (stdout and stderr, interleaved by arrival), up to a bound. */
  output(): string;
  /** Sends a signal; does nothing once it exited. */
  kill(signal: Deno.Signal): void;
}

/** When set, each subprocess's output is also appended to `<dir>/<name>.log` (debugging). */
const LOG_DIR = Deno.env.get("DANMAKU_HARNESS_LOG_DIR");

function spawn(
  name: string,
  args: string[],
  onLine?: (line: string) => void,
  env?: Record<string, string>,
  cwd: string | URL = ROOT,
): Subprocess {
  const logFile = LOG_DIR === undefined
    ? undefined
    : Deno.openSync(`${LOG_DIR}/${name}.log`, { append: true, create: true });
  const process = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const parts: string[] = [];
  let size = 0;
  let done = false;
  const keep = (text: string) => {
    logFile?.writeSync(new TextEncoder().encode(text));
    if (size + text.length > MAX_OUTPUT_CHARS) return;
    parts.push(text);
    size += text.length;
  };
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      keep(text);
      if (!onLine) continue;
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) onLine(line);
    }
    if (onLine && pending !== "") onLine(pending);
  };
  const reading = Promise.all([drain(process.stdout), drain(process.stderr)]);
  const exited = (async () => {
    const status = await process.status;
    await reading;
    logFile?.close();
    done = true;
    return status;
  })();
  return {
    process,
    pid: process.pid,
    exited,
    output: () => parts.join(""),
    kill(signal) {
      if (done) return;
      try {
        process.kill(signal);
      } catch {
        // Exited in between.
      }
    },
  };
}

/**
 * SIGINT (the node writes what it holds and releases its leases), then SIGKILL if it has not
 * exited within `timeoutMs`. Returns its exit status and whether it had to be killed.
 */
export async function stopGracefully(
  child: Subprocess,
  timeoutMs = 30_000,
): Promise<{ status: Deno.CommandStatus; killed: boolean }> {
  child.kill("SIGINT");
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const status = await child.exited;
  clearTimeout(timer);
  return { status, killed };
}

/** The simulator in a subprocess. */
export interface SimulatorProcess extends Subprocess {
  /** HTTP origin of its API, for `--api-base`. */
  readonly api: string;
  /** Stops it (SIGTERM) and waits. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startSimulatorProcess}. */
export interface SimulatorProcessOptions {
  /** Rooms of the world (the nodes collect some of them). */
  rooms: number;
  /** Mean op-5 messages/s per live room (Zipf-spread). */
  rate: number;
  /** Each collected room sends exactly this many op-5 messages. */
  messages: number;
  /** Truth file to append to. */
  truth: string;
  seed?: string;
}

/**
 * Starts `main.ts simulate` with every room live for good (`--live-minutes` long,
 * `--offline-minutes` short), and reads its addresses.
 */
export async function startSimulatorProcess(
  options: SimulatorProcessOptions,
): Promise<SimulatorProcess> {
  const first = Promise.withResolvers<string>();
  const child = spawn("simulator", [
    "run",
    "-A",
    "main.ts",
    "simulate",
    "--rooms",
    String(options.rooms),
    "--rate",
    String(options.rate),
    "--messages",
    String(options.messages),
    "--truth",
    options.truth,
    "--seed",
    options.seed ?? "cluster",
    "--live-minutes",
    "100000",
    "--offline-minutes",
    "0.01",
    "--log-every",
    "0",
  ], (line) => {
    if (line.startsWith("{")) first.resolve(line);
  });
  child.exited.then(() => first.reject(new Error(`the simulator exited: ${child.output()}`)));
  const line = JSON.parse(await first.promise) as { api: string };
  return {
    ...child,
    api: line.api,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/**
 * `count` live rooms of similar traffic: the simulator's popularity list from position `skip`
 * on (neighbours in a Zipf ranking have close rates), once that many rooms are live.
 */
export async function similarRooms(
  api: string,
  count: number,
  skip: number,
  timeoutMs = 30_000,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = await roomIds(api, skip + count);
    if (ids.length >= skip + count) return ids.slice(skip, skip + count);
    if (Date.now() > deadline) {
      throw new Error(`Only ${ids.length} rooms went live; wanted ${skip + count}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Options of {@linkcode startNode}. */
export interface NodeOptions {
  /** `--node-id`. */
  id: string;
  /** `--db postgres://…`. */
  db: string;
  /** The simulator's API origin. */
  api: string;
  rooms: readonly number[];
  /** `--max-connections`. */
  maxConnections: number;
  /** `--lease-ttl` in ms. */
  leaseTtlMs: number;
  /** `--replicas`. @default {1} */
  replicas?: number;
  /** `--flush-interval` in ms. */
  flushIntervalMs: number;
  /** More collect flags. */
  extra?: readonly string[];
  /** Environment of the node (e.g. PGPASSWORD). */
  env?: Record<string, string>;
  /**
   * Working folder of the node, where a node that cannot write its queue at stop saves it.
   * @default {the repository}
   */
  cwd?: string;
}

/** A collector node in a subprocess. */
export interface NodeProcess extends Subprocess {
  readonly id: string;
}

/** The flags of a node: fast API and connect pace, quiet status line. */
export function nodeArgs(options: NodeOptions): string[] {
  return [
    "run",
    "-A",
    "--config",
    fromFileUrl(new URL("deno.json", ROOT)),
    fromFileUrl(new URL("main.ts", ROOT)),
    "collect",
    "--db",
    options.db,
    "--api-base",
    options.api,
    "--rooms",
    options.rooms.join(","),
    "--node-id",
    options.id,
    "--lease-ttl",
    `${options.leaseTtlMs}ms`,
    "--replicas",
    String(options.replicas ?? 1),
    "--max-connections",
    String(options.maxConnections),
    "--flush-interval",
    `${options.flushIntervalMs}ms`,
    "--api-rate",
    "2000",
    "--connect-rate",
    "2000",
    "--sweep-interval",
    "200ms",
    "--max-backoff",
    "300ms",
    "--status-interval",
    "1h",
    ...options.extra ?? [],
  ];
}

/** Starts `main.ts collect` as one node of the cluster. */
export function startNode(options: NodeOptions): NodeProcess {
  return {
    ...spawn(`node-${options.id}`, nodeArgs(options), undefined, options.env, options.cwd),
    id: options.id,
  };
}

/** One live lease: a slot of a room held by a node, times on the server's clock (ms). */
export interface Lease {
  roomId: number;
  slot: number;
  nodeId: string;
  acquiredAtMs: number;
  expiresAtMs: number;
}

/** The leases PostgreSQL counts as held now (`expires_at > now()`); none before the first node. */
export async function liveLeases(sql: postgres.Sql): Promise<Lease[]> {
  if (!await hasTable(sql, "cluster_leases")) return [];
  const rows = await sql<
    { room_id: string; slot: number; node_id: string; acquired: string; expires: string }[]
  >`
    SELECT room_id::text, slot, node_id,
      (extract(epoch FROM acquired_at) * 1000)::bigint::text AS acquired,
      (extract(epoch FROM expires_at) * 1000)::bigint::text AS expires
    FROM cluster_leases
    WHERE node_id IS NOT NULL AND expires_at > now()
    ORDER BY room_id, slot`;
  return rows.map((row) => ({
    roomId: Number(row.room_id),
    slot: row.slot,
    nodeId: row.node_id,
    acquiredAtMs: Number(row.acquired),
    expiresAtMs: Number(row.expires),
  }));
}

/** Whether `table` exists (a node creates the tables when it starts). */
async function hasTable(sql: postgres.Sql, table: string): Promise<boolean> {
  const [row] = await sql<{ name: string | null }[]>`SELECT to_regclass(${table})::text AS name`;
  return row.name !== null;
}

/** The server's clock now, unix ms. */
export async function serverNow(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ now: string }[]>`
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS now`;
  return Number(row.now);
}

/** Rooms per node id, from `leases`. */
export function roomsByNode(leases: readonly Lease[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const lease of leases) {
    const rooms = out.get(lease.nodeId) ?? [];
    rooms.push(lease.roomId);
    out.set(lease.nodeId, rooms);
  }
  return out;
}

/**
 * Whether `leases` hold every room of `rooms` in exactly `replicas` slots, each by a different
 * node among `nodes`.
 */
export function everyRoomHeld(
  leases: readonly Lease[],
  rooms: readonly number[],
  replicas: number,
  nodes: readonly string[],
): boolean {
  const holders = new Map<number, Set<string>>();
  for (const lease of leases) {
    if (!nodes.includes(lease.nodeId)) continue;
    const set = holders.get(lease.roomId) ?? new Set();
    set.add(lease.nodeId);
    holders.set(lease.roomId, set);
  }
  return rooms.every((room) => holders.get(room)?.size === replicas);
}

/** One line of the simulator's truth file. */
export interface TruthRecord {
  room_id: number;
  cmd: string;
  id: string;
  conn: number;
  /** When the write completed (unix ms); absent in files of older simulators. */
  at?: number;
}

/** The truth file's complete lines (a line still being written is left out). */
export async function readTruth(path: string): Promise<TruthRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const end = text.lastIndexOf("\n");
  if (end === -1) return [];
  return text.slice(0, end).split("\n").filter((line) => line !== "").map((line) =>
    JSON.parse(line) as TruthRecord
  );
}

/** Danmaku of the truth, once per message (the first write of it), keyed `room:id`. */
export function truthDanmaku(records: readonly TruthRecord[]): Map<string, TruthRecord> {
  const out = new Map<string, TruthRecord>();
  for (const record of records) {
    if (!record.cmd.startsWith("DANMU_MSG")) continue;
    const key = `${record.room_id}:${record.id}`;
    if (!out.has(key)) out.set(key, record);
  }
  return out;
}

/** Messages of the truth (not the per-connection LOG_IN_NOTICE), once each. */
export function truthMessageCount(records: readonly TruthRecord[]): number {
  const seen = new Set<string>();
  for (const record of records) {
    if (record.cmd !== "LOG_IN_NOTICE") seen.add(`${record.room_id}:${record.id}`);
  }
  return seen.size;
}

/** Stored danmaku as `room:msg_id` with how many rows each has. */
export async function storedDanmaku(sql: postgres.Sql): Promise<Map<string, number>> {
  if (!await hasTable(sql, "danmaku")) return new Map();
  const rows = await sql<{ key: string; n: string }[]>`
    SELECT room_id::text || ':' || msg_id AS key, count(*)::text AS n
    FROM danmaku WHERE msg_id IS NOT NULL GROUP BY room_id, msg_id`;
  return new Map(rows.map((row) => [row.key, Number(row.n)]));
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Polls `condition` (async) every `everyMs` until true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await condition())) {
    if (options.signal?.aborted) throw new Error(`Stopped while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await pause(options.everyMs ?? 200, options.signal);
  }
}
