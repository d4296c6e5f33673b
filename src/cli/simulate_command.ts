/**
 * `main.ts simulate [flags]`: runs the offline Bilibili (HTTP API + TCP/WebSocket danmaku
 * servers) until SIGINT/SIGTERM or `--duration`. Prints one JSON line with its addresses.
 */
import { SIMULATOR_DEFAULTS as D } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { AUTH_TIMEOUT_MS, CLOSE_GRACE_MS } from "../simulator/danmaku_server.ts";
import { parseFaults } from "../simulator/faults.ts";
import { type SimulatorOptions, startSimulator, type TlsPem } from "../simulator/simulator.ts";
import { MAX_ROOMS } from "../simulator/world.ts";
import { type CommandSpec, flag, parseCommandArgs } from "../util/flags.ts";
import type { LineWriter } from "../util/line_writer.ts";

const port = { min: 0, max: 65535, integer: true };
const big = 1e9;

/** The flags of simulate, keyed by the value each one sets. */
const SIMULATE_FLAGS = {
  host: flag.string({ name: "host", arg: "HOST", default: D.host, help: "interface to bind" }),
  port: flag.number({
    name: "port",
    default: 0,
    defaultText: "0 = any free port",
    help: "HTTP + WebSocket port",
    ...port,
  }),
  tcpPort: flag.number({
    name: "tcp-port",
    default: 0,
    defaultText: "0 = any free port",
    help: "raw TCP danmaku port",
    ...port,
  }),
  tlsCert: flag.string({
    name: "tls-cert",
    arg: "FILE",
    help:
      "with --tls-key FILE, also serve wss:// (and https://) with this PEM certificate and key; getDanmuInfo's wss_port points there (tests/fixtures/tls has a test CA and a 127.0.0.1 cert)",
  }),
  tlsKey: flag.string({ name: "tls-key", arg: "FILE", help: "the PEM key of --tls-cert" }),
  tlsPort: flag.number({
    name: "tls-port",
    default: 0,
    defaultText: "0 = any free port",
    help: "TLS port",
    ...port,
  }),
  seed: flag.string({
    name: "seed",
    arg: "S",
    default: D.seed,
    help: "seed of the world, messages, tokens and faults",
  }),
  rooms: flag.number({
    name: "rooms",
    default: D.rooms,
    help: "number of rooms",
    min: 1,
    max: MAX_ROOMS,
    integer: true,
  }),
  rate: flag.number({
    name: "rate",
    arg: "R",
    default: D.rate,
    help: "mean op-5 messages/s per live room, Zipf-spread",
    min: 0,
    max: 1e6,
  }),
  eraShare: flag.number({
    name: "era-share",
    arg: "F",
    default: 0,
    help:
      "share of rooms (0 to 1) sending danmaku in an older layout: half 2018 (times in seconds), half 2021",
    min: 0,
    max: 1,
  }),
  messages: flag.number({
    name: "messages",
    default: undefined,
    help: "each room sends exactly N op-5 messages, then goes quiet",
    min: 0,
    max: big,
    integer: true,
  }),
  truth: flag.custom({
    name: "truth",
    arg: "FILE",
    default: undefined,
    help:
      'append one JSONL line per op-5 message written: {"room_id":…,"cmd":"…","id":"…","conn":…}',
    parse: (text) => {
      if (text === "") throw new ConfigError(`Cannot use --truth "": expected a file path`);
      return text;
    },
  }),
  faults: flag.custom({
    name: "faults",
    arg: "K=P,…",
    default: undefined,
    help:
      "disconnect, stall, throttle (to 5 % of the room's messages), corrupt (per connection per second), authfail (per auth), block (per live room per second); tcprefuse, tcpclose, tcpsilent: share of rooms whose raw TCP is refused, closed right after auth or silent after it",
    parse: parseFaults,
  }),
  maxConnectionsPerIp: flag.number({
    name: "max-connections-per-ip",
    default: 0,
    defaultText: "0 = off",
    help: "close danmaku connections beyond N per IP",
    min: 0,
    max: big,
    integer: true,
  }),
  httpRateLimit: flag.number({
    name: "http-rate-limit",
    default: 0,
    defaultText: "0 = off",
    help: "answer 412 beyond N HTTP requests/s per IP",
    min: 0,
    max: big,
    integer: true,
  }),
  httpBanSeconds: flag.number({
    name: "http-ban-seconds",
    arg: "S",
    default: D.httpBanMs / 1000,
    help: "how long an IP gets 412 after exceeding it",
    min: 0,
    max: big,
  }),
  liveMinutes: flag.number({
    name: "live-minutes",
    arg: "M",
    default: D.meanLiveMs / 60_000,
    help: "mean live session length",
    min: 0.01,
    max: big,
  }),
  offlineMinutes: flag.number({
    name: "offline-minutes",
    arg: "M",
    default: D.meanOfflineMs / 60_000,
    help: "mean offline gap between sessions",
    min: 0.01,
    max: big,
  }),
  tickMs: flag.number({
    name: "tick-ms",
    default: D.tickMs,
    help: "scheduler period",
    min: 5,
    max: 10_000,
    integer: true,
  }),
  durationSeconds: flag.number({
    name: "duration",
    arg: "S",
    default: undefined,
    defaultText: "run until SIGINT/SIGTERM",
    help: "stop after S seconds",
    min: 0,
    max: big,
  }),
  authTimeoutSeconds: flag.number({
    name: "auth-timeout",
    arg: "S",
    default: AUTH_TIMEOUT_MS / 1000,
    help: "close a connection not authenticated within S seconds",
    min: 0.05,
    max: big,
  }),
  closeGraceSeconds: flag.number({
    name: "close-grace",
    arg: "S",
    default: CLOSE_GRACE_MS / 1000,
    help: "at stop, how long clients get to read what was sent and close before being cut",
    min: 0,
    max: big,
  }),
  logEverySeconds: flag.number({
    name: "log-every",
    arg: "S",
    default: D.logEveryMs / 1000,
    help: "counters log period in seconds, 0 = off",
    min: 0,
    max: big,
  }),
};

/** The simulate command: usage, help and flags. */
export const SIMULATE_COMMAND: CommandSpec<typeof SIMULATE_FLAGS> = {
  name: "simulate",
  usage: ["main.ts simulate [flags]", "deno task simulate [flags]"],
  summary: "run an offline Bilibili (HTTP API + danmaku servers) for tests and demos",
  description: `Runs an offline stand-in for Bilibili live: the HTTP APIs (nav, finger/spi,
room_init, get_info, getDanmuInfo with WBI, room lists, area list) and the
danmaku servers over raw TCP and WebSocket (/sub), and over TLS WebSocket given
a certificate. Prints {"api":…,"tcp":…,"ws":…,"wss":…} on stdout, logs to
stderr.`,
  flags: SIMULATE_FLAGS,
};

/** What the command needs from `main.ts`. */
export interface SimulateContext {
  stdout: LineWriter;
  log: (line: string) => void;
}

/** What the simulate flags ask for; the TLS files are read when the simulator starts. */
export interface SimulateArgs {
  options: SimulatorOptions;
  durationMs: number | undefined;
  /** PEM files of `--tls-cert` and `--tls-key`, given together. */
  tlsFiles?: { cert: string; key: string };
}

/** Turns the flags into simulator options and a duration; errors name the flag and value. */
export function parseSimulateArgs(args: readonly string[]): SimulateArgs {
  const { values } = parseCommandArgs(SIMULATE_COMMAND, args);
  const options: SimulatorOptions = {
    host: values.host,
    port: values.port,
    tcpPort: values.tcpPort,
    tlsPort: values.tlsPort,
    seed: values.seed,
    rooms: values.rooms,
    rate: values.rate,
    eraShare: values.eraShare,
    messagesPerRoom: values.messages,
    truth: values.truth,
    faults: values.faults,
    maxConnectionsPerIp: values.maxConnectionsPerIp,
    httpRateLimit: values.httpRateLimit,
    httpBanMs: 1000 * values.httpBanSeconds,
    meanLiveMs: 60_000 * values.liveMinutes,
    meanOfflineMs: 60_000 * values.offlineMinutes,
    tickMs: values.tickMs,
    authTimeoutMs: 1000 * values.authTimeoutSeconds,
    closeGraceMs: 1000 * values.closeGraceSeconds,
    logEveryMs: 1000 * values.logEverySeconds,
  };
  const cert = values.tlsCert;
  const key = values.tlsKey;
  if ((cert === undefined) !== (key === undefined) || cert === "" || key === "") {
    throw new ConfigError(
      `Cannot use --tls-cert "${cert ?? ""}" and --tls-key "${key ?? ""}": give both files`,
    );
  }
  const durationS = values.durationSeconds;
  return {
    options: Object.freeze(options),
    durationMs: durationS && durationS * 1000,
    tlsFiles: cert !== undefined && key !== undefined ? { cert, key } : undefined,
  };
}

/** Reads the `--tls-cert` and `--tls-key` files; errors name the flag and the file. */
async function readTls(files: { cert: string; key: string }): Promise<TlsPem> {
  const read = async (flag: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new ConfigError(`Cannot read --${flag} "${path}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  return { cert: await read("tls-cert", files.cert), key: await read("tls-key", files.key) };
}

/** Runs the simulator until SIGINT, SIGTERM or `--duration`; returns the exit code. */
export async function runSimulate(args: string[], context: SimulateContext): Promise<number> {
  const { options, durationMs, tlsFiles } = parseSimulateArgs(args);
  const tls = tlsFiles && await readTls(tlsFiles);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const timer = durationMs === undefined ? undefined : setTimeout(onSignal, durationMs);
  try {
    let simulator;
    try {
      simulator = await startSimulator({ ...options, tls, log: context.log });
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.PermissionDenied) {
        throw new ConfigError(
          `Cannot listen on ${options.host} (--port ${options.port}, --tcp-port ${options.tcpPort}): ${
            ((error.cause ?? error) as Error).message
          }`,
          { cause: error },
        );
      }
      if (tls && error instanceof ConfigError) {
        throw new ConfigError(
          `Cannot serve TLS with --tls-cert "${tlsFiles?.cert}" and --tls-key "${tlsFiles?.key}": ${
            ((error.cause ?? error) as Error).message
          }`,
          { cause: error },
        );
      }
      throw error;
    }
    await using sim = simulator;
    context.stdout.writeLine(
      JSON.stringify({ api: sim.api, tcp: sim.tcp, ws: sim.ws, wss: sim.wss }),
    );
    context.stdout.flush();
    const live = sim.world.rooms.filter((r) => r.live).length;
    context.log(
      `event=started api=${sim.api} tcp=${sim.tcp} ws=${sim.ws} wss=${
        sim.wss ?? "off"
      } rooms=${sim.world.rooms.length} live=${live} seed=${options.seed}`,
    );
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    context.log("event=stopping");
    return 0;
  } finally {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}
