/**
 * `deno run -A scripts/bench/conn_probe.ts [--variants a,b] [--counts 200,1000,5000,10000]
 * [--repeat N] [--settle DUR] [--server node|deno] [--snapshot] [--json FILE]`: what the runtime
 * itself spends per open TCP client connection (issue 14: the floor under an idle room). Starts a
 * quiet loopback server in its own process (scripts/bench/conn_probe_net.mjs, under Node when it
 * is on PATH; its memory is not counted), then for each variant a fresh client process that opens
 * connections up to each count, settles, collects garbage and reads its own memory. Prints RSS
 * per connection, (RSS at N − RSS at the first count) / ΔN, and the same difference for anonymous
 * and file-backed RSS, V8's heap spaces and glibc malloc (mallinfo2 through FFI). A measuring tool, not a test: run it under
 * `flock /work/notes/bench.lock` on a shared box, with `ulimit -n` above the largest count.
 *
 * `conn_probe.ts client CONFIG` (internal) is the measured Deno client.
 */
import { ConfigError } from "../../src/errors.ts";
import { type CommandSpec, flag, orList } from "../../src/util/flags.ts";
import { scriptArgs } from "../script_args.ts";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

/** The clients a variant can run. */
const BASES = {
  "deno-idle": "Deno.connect, nothing else",
  "deno-buf-256": "Deno.connect and a 256-byte Uint8Array kept beside it, no read",
  "deno-read-256": "Deno.connect and one pending conn.read() into its own 256-byte buffer",
  "deno-read-512": "the same with a 512-byte buffer",
  "deno-read-4096": "the same with a 4,096-byte buffer",
  "deno-read-shared":
    "one pending 256-byte read per connection, all into ONE buffer (the op alone)",
  "deno-net": "node:net in Deno: net.connect and a data listener",
  "deno-ws": "Deno's WebSocket client (the server answers the handshake, then stays quiet)",
  "node-net": "the same node:net client under Node (node on PATH)",
  "deno-ffi-epoll": "no Deno socket: libc socket() and connect() through FFI, every fd in one " +
    "epoll set, one epoll_wait() pending for all of them (Linux x86-64)",
} as const;

/** One client's name. */
type Base = keyof typeof BASES;

/** What a variant adds to its client. */
const MODIFIERS = {
  trim: "glibc malloc_trim(0) (Deno FFI) before each reading",
  arena1: "MALLOC_ARENA_MAX=1 in the client's environment",
  arena2: "MALLOC_ARENA_MAX=2 in the client's environment",
  semi2: "V8 --max-semi-space-size=2 (the collector's flag until 2026-12-02)",
} as const;

/** One modifier's name. */
type Modifier = keyof typeof MODIFIERS;

/** The variants run when `--variants` is not given. */
const DEFAULT_VARIANTS = [
  "deno-idle",
  "deno-buf-256",
  "deno-read-256",
  "deno-read-512",
  "deno-read-4096",
  "deno-read-shared",
  "deno-net",
  "deno-ws",
  "node-net",
  "deno-ffi-epoll",
  "deno-idle+trim",
  "deno-read-256+trim",
  "deno-read-4096+trim",
  "deno-net+trim",
  "deno-read-256+arena1",
  "deno-read-256+arena2",
] as const;

/** A client and its modifiers: `deno-read-256+trim+arena2`. */
interface Variant {
  name: string;
  base: Base;
  modifiers: readonly Modifier[];
}

/** Reads `--variants a,b+trim`: known clients and modifiers only. */
function parseVariants(text: string): readonly Variant[] {
  return text.split(",").map((name) => name.trim()).map((name) => {
    const [base, ...modifiers] = name.split("+");
    if (!(base in BASES)) {
      throw new ConfigError(
        `Cannot parse --variants "${text}": unknown client "${base}"; choose from ${
          orList(Object.keys(BASES))
        }`,
      );
    }
    for (const modifier of modifiers) {
      if (!(modifier in MODIFIERS)) {
        throw new ConfigError(
          `Cannot parse --variants "${text}": unknown modifier "+${modifier}"; choose from ${
            orList(Object.keys(MODIFIERS).map((key) => `+${key}`))
          }`,
        );
      }
    }
    if (base === "node-net" && modifiers.includes("trim")) {
      throw new ConfigError(
        `Cannot parse --variants "${text}": node-net cannot trim (no FFI under Node)`,
      );
    }
    return { name, base: base as Base, modifiers: modifiers as Modifier[] };
  });
}

/** Reads `--counts 200,1000`: at least two rising whole numbers. */
function parseCounts(text: string): readonly number[] {
  const counts = text.split(",").map(Number);
  const rising = counts.every((n, i) =>
    Number.isInteger(n) && n >= 0 && (i === 0 || n > counts[i - 1])
  );
  if (counts.length < 2 || !rising) {
    throw new ConfigError(
      `Cannot parse --counts "${text}": expected at least two rising whole numbers, the first the baseline`,
    );
  }
  return counts;
}

const PROBE_FLAGS = {
  variants: flag.custom({
    name: "variants",
    arg: "NAME,…",
    default: parseVariants(DEFAULT_VARIANTS.join(",")),
    defaultText: "every client, then +trim on four of them and +arena1/+arena2 on deno-read-256",
    help: "clients to measure, each optionally with +trim, +arena1 or +arena2 (see below)",
    parse: parseVariants,
  }),
  counts: flag.custom({
    name: "counts",
    arg: "N,…",
    default: [200, 1000, 5000, 10000] as readonly number[],
    defaultText: "200,1000,5000,10000",
    help: "open connections at each reading; the first is the baseline",
    parse: parseCounts,
  }),
  repeat: flag.number({
    name: "repeat",
    default: 1,
    min: 1,
    max: 9,
    integer: true,
    help: "runs of each variant (fresh processes); the median is printed",
  }),
  settleMs: flag.duration({
    name: "settle",
    default: 1500,
    help: "wait at each count before collecting garbage and reading memory",
  }),
  server: flag.choice({
    name: "server",
    choices: ["auto", "node", "deno"] as const,
    default: "auto",
    help: "runtime of the quiet server: node when on PATH, else deno",
  }),
  snapshot: flag.boolean({
    name: "snapshot",
    help: "also write heap snapshots at the first and last count and print their per-connection " +
      "difference by constructor (the RSS of such a run is disturbed: use it for the breakdown)",
  }),
  json: flag.string({
    name: "json",
    arg: "FILE",
    help: "also write every reading as JSON",
  }),
};

/** `conn_probe.ts`: usage, help and flags. */
const PROBE_COMMAND: CommandSpec<typeof PROBE_FLAGS> = {
  name: "conn_probe",
  usage: ["deno run -A scripts/bench/conn_probe.ts [flags]"],
  summary: "memory per open TCP client connection in Deno (and Node for reference)",
  description: `Measures what the runtime spends per open loopback TCP connection:
a quiet server runs in its own process; each variant runs in a fresh client process that opens
connections up to each count, waits, runs V8's GC twice and reads its memory. Per connection =
(reading at N - reading at the first count) / (N - first count). Needs ulimit -n above the
largest count; run under flock /work/notes/bench.lock on a shared machine.`,
  flags: PROBE_FLAGS,
  notes: [
    "Clients:",
    ...Object.entries(BASES).map(([name, text]) => `  ${name}: ${text}`),
    "Modifiers:",
    ...Object.entries(MODIFIERS).map(([name, text]) => `  +${name}: ${text}`),
  ].join("\n"),
};

/** What the orchestrator tells a client process (JSON, one argument). */
interface ClientConfig {
  base: Base;
  port: number;
  wsPort: number;
  counts: readonly number[];
  settleMs: number;
  trim: boolean;
  /** When set, heap snapshots `<count>.heapsnapshot` at the first and last count go here. */
  snapshotDir?: string;
}

/** One reading of a client at one count (see conn_probe_net.mjs `memory()`). */
interface Reading {
  count: number;
  lost: number;
  rssKb: number;
  anonKb: number;
  fileKb: number;
  heapUsedKb: number;
  heapTotalKb: number;
  newSpaceKb: number;
  oldSpaceKb: number;
  mallocInUseKb?: number;
  mallocFreeKb?: number;
}

const LIBC_SYMBOLS = {
  malloc_trim: { parameters: ["usize"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  mallinfo2: {
    parameters: [],
    // struct mallinfo2: ten size_t fields.
    result: { struct: new Array<"usize">(10).fill("usize") },
  },
} as const;

/** One reading of this process (the Deno client): same fields as conn_probe_net.mjs. */
function readMemory(
  libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>,
  count: number,
  lost: number,
): Reading {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  const usage = Deno.memoryUsage();
  const space = (name: string) =>
    (getHeapSpaceStatistics().find((s) => s.space_name === name)?.physical_space_size ?? NaN) /
    1024;
  const info = new DataView(libc.symbols.mallinfo2().buffer);
  const field = (i: number) => Number(info.getBigUint64(i * 8, true)) / 1024;
  return {
    count,
    lost,
    rssKb: kb("VmRSS"),
    anonKb: kb("RssAnon"),
    fileKb: kb("RssFile"),
    heapUsedKb: usage.heapUsed / 1024,
    heapTotalKb: usage.heapTotal / 1024,
    newSpaceKb: space("new_space"),
    oldSpaceKb: space("old_space"),
    // mallinfo2: uordblks (7) + hblkhd (4) in use, fordblks (8) free in the arenas.
    mallocInUseKb: field(7) + field(4),
    mallocFreeKb: field(8),
  };
}

/**
 * Sockets without Deno's socket API: `socket()`/`connect()` through FFI (blocking connect, fine on
 * loopback), each fd added to one epoll set for EPOLLIN; `wait` keeps one `epoll_wait()` pending
 * on a blocking thread for all of them. Per connection, JS holds one number.
 */
function epollSockets(libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>, port: number) {
  const { socket, connect, epoll_create1, epoll_ctl, epoll_wait } = libc.symbols;
  const epfd = epoll_create1(0);
  if (epfd < 0) throw new Error("Cannot create an epoll instance: epoll_create1 failed");
  // struct sockaddr_in { sa_family_t AF_INET; in_port_t port (big-endian); 127.0.0.1; zero[8] }
  const address = new Uint8Array(16);
  address.set([2, 0, port >> 8, port & 255, 127, 0, 0, 1]);
  // struct epoll_event (packed on x86-64) { uint32 events; uint64 data }
  const event = new Uint8Array(12);
  const events = new Uint8Array(12 * 64);
  let waiting = false;
  return {
    open(): number {
      const fd = socket(2, 1, 0); // AF_INET, SOCK_STREAM
      if (fd < 0 || connect(fd, address, address.length) !== 0) {
        throw new Error(`Cannot connect to 127.0.0.1:${port} through FFI`);
      }
      const view = new DataView(event.buffer);
      view.setUint32(0, 0x001 | 0x2000, true); // EPOLLIN | EPOLLRDHUP
      view.setBigUint64(4, BigInt(fd), true);
      if (epoll_ctl(epfd, 1, fd, event) !== 0) throw new Error(`Cannot add fd ${fd} to epoll`);
      return fd;
    },
    wait(onReady: () => void): void {
      if (waiting) return;
      waiting = true;
      epoll_wait(epfd, events, 64, -1).then((ready) => {
        waiting = false;
        for (let i = 0; i < ready; i++) onReady();
      });
    },
  };
}

/** Resolves after `ms` milliseconds. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The measured Deno client: opens connections up to each count, prints one reading per count. */
async function runClient(config: ClientConfig): Promise<void> {
  const libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  const gc = (globalThis as { gc?: () => void }).gc;
  const held: unknown[] = [];
  let lost = 0;
  const onLost = () => lost++;
  const shared = new Uint8Array(256);
  const readSize = /^deno-read-(\d+)$/.exec(config.base)?.[1];
  const epoll = config.base === "deno-ffi-epoll" ? epollSockets(libc, config.port) : undefined;
  const openOne = async (): Promise<unknown> => {
    if (epoll) return epoll.open();
    if (config.base === "deno-ws") {
      const socket = new WebSocket(`ws://127.0.0.1:${config.wsPort}/`);
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = reject;
      });
      socket.onerror = onLost;
      socket.onclose = onLost;
      socket.onmessage = () => {};
      return socket;
    }
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: config.port });
    if (config.base === "deno-idle") return conn;
    if (config.base === "deno-buf-256") return { conn, buffer: new Uint8Array(256) };
    const buffer = config.base === "deno-read-shared" ? shared : new Uint8Array(Number(readSize));
    // The server never writes: this read stays pending until the connection is closed.
    conn.read(buffer).then(onLost, onLost);
    return { conn, buffer };
  };
  for (const count of config.counts) {
    while (held.length < count) {
      const batch = Math.min(100, count - held.length);
      held.push(...await Promise.all(Array.from({ length: batch }, openOne)));
    }
    epoll?.wait(onLost);
    await sleep(config.settleMs);
    gc?.();
    gc?.();
    await sleep(300);
    if (config.trim) libc.symbols.malloc_trim(0n);
    console.log(JSON.stringify(readMemory(libc, count, lost)));
    if (config.snapshotDir && (count === config.counts[0] || count === config.counts.at(-1))) {
      writeHeapSnapshot(`${config.snapshotDir}/${count}.heapsnapshot`);
    }
  }
  libc.close();
  // Exit without closing: a WebSocket's close waits for the quiet server's close frame.
  Deno.exit(0);
}

/** The soft limit on open files of this process (children inherit it). */
function openFileLimit(): number {
  const limits = Deno.readTextFileSync("/proc/self/limits");
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1] ?? "unlimited";
  return soft === "unlimited" ? Infinity : Number(soft);
}

/** A client that has not finished by then is killed (and the run fails). */
const CLIENT_TIMEOUT_MS = 180_000;

const NET_SCRIPT = new URL("./conn_probe_net.mjs", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;

/** Whether `node` runs. */
async function hasNode(): Promise<boolean> {
  try {
    return (await new Deno.Command("node", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** Reads JSON lines from a child's stdout. */
async function* jsonLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n")) {
      yield JSON.parse(text.slice(0, end));
      text = text.slice(end + 1);
    }
  }
}

/** Starts the quiet server; returns its ports and a stop function. */
async function startServer(runtime: "node" | "deno") {
  const [command, args] = runtime === "node"
    ? ["node", [NET_SCRIPT, "server", "{}"]]
    : [Deno.execPath(), ["run", "-A", NET_SCRIPT, "server", "{}"]];
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = jsonLines(child.stdout);
  const first = await lines.next();
  if (first.done) throw new Error("Cannot start the quiet server: it exited before its ports");
  const ports = first.value as { tcp: number; ws: number };
  return {
    ...ports,
    async stop() {
      child.kill("SIGTERM");
      await lines.return(undefined);
      await child.status;
    },
  };
}

/** Runs one variant once in a fresh client process; returns its readings. */
async function runVariant(
  variant: Variant,
  options: {
    counts: readonly number[];
    settleMs: number;
    serverRuntime: "node" | "deno";
    snapshotDir?: string;
  },
): Promise<Reading[]> {
  const server = await startServer(options.serverRuntime);
  try {
    const config: ClientConfig = {
      base: variant.base,
      port: server.tcp,
      wsPort: server.ws,
      counts: options.counts,
      settleMs: options.settleMs,
      trim: variant.modifiers.includes("trim"),
      snapshotDir: options.snapshotDir,
    };
    const json = JSON.stringify(config);
    const v8Flags = ["--expose-gc"];
    if (variant.modifiers.includes("semi2")) v8Flags.push("--max-semi-space-size=2");
    const [command, args] = variant.base === "node-net"
      ? ["node", [...v8Flags, NET_SCRIPT, "client", json]]
      : [
        Deno.execPath(),
        [
          "run",
          "-A",
          `--v8-flags=${v8Flags.join(",")}`,
          variant.base === "deno-net" ? NET_SCRIPT : SELF,
          "client",
          json,
        ],
      ];
    const env: Record<string, string> = {};
    if (variant.modifiers.includes("arena1")) env.MALLOC_ARENA_MAX = "1";
    if (variant.modifiers.includes("arena2")) env.MALLOC_ARENA_MAX = "2";
    const child = new Deno.Command(command, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const readings: Reading[] = [];
    const deadline = setTimeout(() => child.kill("SIGKILL"), CLIENT_TIMEOUT_MS);
    try {
      for await (const line of jsonLines(child.stdout)) readings.push(line as Reading);
    } finally {
      clearTimeout(deadline);
    }
    const status = await child.status;
    if (!status.success || readings.length !== options.counts.length) {
      throw new Error(`Cannot measure ${variant.name}: the client exited with ${status.code}`);
    }
    return readings;
  } finally {
    await server.stop();
  }
}

/** How many objects of one `type:name` a heap snapshot holds, and their self size. */
interface Group {
  count: number;
  bytes: number;
}

/** Groups a heap snapshot's nodes by `type:name` (objects by constructor, code by function). */
async function summarizeSnapshot(path: string): Promise<Map<string, Group>> {
  const snapshot = JSON.parse(await Deno.readTextFile(path)) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const groups = new Map<string, Group>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]];
    const name = /string/.test(type)
      ? "(strings)"
      : snapshot.strings[snapshot.nodes[i + nameAt]].replace(/\d+/g, "#").slice(0, 60);
    const key = `${type}:${name}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += snapshot.nodes[i + sizeAt];
    groups.set(key, group);
  }
  return groups;
}

/** Prints the per-connection difference of the first and last heap snapshot of a run. */
async function printSnapshotDiff(dir: string, counts: readonly number[], top: number) {
  const first = counts[0];
  const last = counts[counts.length - 1];
  const before = await summarizeSnapshot(`${dir}/${first}.heapsnapshot`);
  const after = await summarizeSnapshot(`${dir}/${last}.heapsnapshot`);
  const n = last - first;
  const rows = [...after].map(([key, group]) => {
    const old = before.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (group.count - old.count) / n, bytes: (group.bytes - old.bytes) / n };
  }).sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  console.error(`    heap snapshot ${first} → ${last}: ${total.toFixed(0)} B per connection`);
  console.error("    bytes/conn  count/conn  type:name");
  for (const row of rows.slice(0, top)) {
    console.error(
      `    ${row.bytes.toFixed(0).padStart(10)}  ${row.count.toFixed(2).padStart(10)}  ${row.key}`,
    );
  }
}

/** The right-hand columns of the table: title and field. */
const COLUMNS: readonly (readonly [string, keyof Reading])[] = [
  ["anon", "anonKb"],
  ["file", "fileKb"],
  ["V8 used", "heapUsedKb"],
  ["V8 total", "heapTotalKb"],
  ["V8 new", "newSpaceKb"],
  ["V8 old", "oldSpaceKb"],
  ["malloc used", "mallocInUseKb"],
  ["malloc free", "mallocFreeKb"],
];

/** The median of `values` (the upper one of an even count). */
function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Per connection, from the baseline reading to `at`, of one field. */
function perConnection(readings: Reading[], at: number, field: keyof Reading): number {
  const base = readings[0];
  const reading = readings[at];
  return ((reading[field] ?? NaN) - (base[field] ?? NaN)) / (reading.count - base.count);
}

async function main(): Promise<void> {
  const values = scriptArgs(PROBE_COMMAND, Deno.args);
  const largest = values.counts[values.counts.length - 1];
  const limit = openFileLimit();
  if (limit < largest + 64) {
    console.error(
      `error: the open-file limit is ${limit}, below ${largest} connections; raise it first ` +
        `(ulimit -n ${largest + 1000}) or lower --counts`,
    );
    Deno.exit(2);
  }
  const node = await hasNode();
  if (!node && (values.server === "node" || values.variants.some((v) => v.base === "node-net"))) {
    console.error("error: node is not on PATH: use --server deno and leave out node-net");
    Deno.exit(2);
  }
  const serverRuntime = values.server === "auto" ? (node ? "node" : "deno") : values.server;
  console.error(
    `conn_probe: Deno ${Deno.version.deno}, server ${serverRuntime}, counts ${
      values.counts.join(",")
    }, settle ${values.settleMs} ms, open-file limit ${limit}`,
  );
  const results: { variant: string; runs: Reading[][] }[] = [];
  for (const variant of values.variants) {
    const runs: Reading[][] = [];
    for (let run = 0; run < values.repeat; run++) {
      const snapshotDir = values.snapshot && run === 0
        ? await Deno.makeTempDir({ prefix: "conn-probe-" })
        : undefined;
      const readings = await runVariant(variant, {
        counts: values.counts,
        settleMs: values.settleMs,
        serverRuntime,
        snapshotDir,
      });
      runs.push(readings);
      const last = readings.length - 1;
      console.error(
        `  ${variant.name} run ${run + 1}: ${
          readings.map((_, i) => i === 0 ? "" : perConnection(readings, i, "rssKb").toFixed(2))
            .filter(Boolean).join(" / ")
        } KB per connection (RSS ${readings[0].rssKb} → ${readings[last].rssKb} KB, lost ${
          readings[last].lost
        })`,
      );
      if (snapshotDir) {
        await printSnapshotDiff(snapshotDir, values.counts, 30);
        await Deno.remove(snapshotDir, { recursive: true });
      }
    }
    results.push({ variant: variant.name, runs });
  }
  const counts = values.counts.slice(1);
  const last = values.counts.length - 1;
  const header = [
    "variant".padEnd(22),
    ...counts.map((n) => `RSS@${n}`.padStart(10)),
    ...COLUMNS.map(([title]) => title.padStart(12)),
  ].join("");
  console.log(
    `KB per connection, (reading at N − reading at ${values.counts[0]}) / ΔN; ` +
      `the right-hand columns at N = ${largest}; median of ${values.repeat} run(s)`,
  );
  console.log(header);
  for (const { variant, runs } of results) {
    const cell = (at: number, field: keyof Reading) => {
      const value = median(runs.map((readings) => perConnection(readings, at, field)));
      return (Number.isNaN(value) ? "—" : value.toFixed(2)).padStart(field === "rssKb" ? 10 : 12);
    };
    console.log([
      variant.padEnd(22),
      ...counts.map((_, i) => cell(i + 1, "rssKb")),
      ...COLUMNS.map(([, field]) => cell(last, field)),
    ].join(""));
  }
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          deno: Deno.version,
          server: serverRuntime,
          openFileLimit: limit,
          settleMs: values.settleMs,
          results,
        },
        null,
        2,
      ) + "\n",
    );
  }
}

if (Deno.args[0] === "client") await runClient(JSON.parse(Deno.args[1]) as ClientConfig);
else await main();
