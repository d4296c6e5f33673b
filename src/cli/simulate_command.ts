/**
 * `main.ts simulate [flags]`: runs the offline Bilibili (HTTP API + TCP/WebSocket danmaku
 * servers) until SIGINT/SIGTERM or `--duration`. Prints one JSON line with its addresses.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../errors.ts";
import { parseFaults } from "../simulator/faults.ts";
import { type SimulatorOptions, startSimulator, type TlsPem } from "../simulator/simulator.ts";
import { MAX_ROOMS } from "../simulator/world.ts";
import type { LineWriter } from "../util/line_writer.ts";
import { numberFlag } from "./flags.ts";

/** Usage text of the simulate command. */
export const SIMULATE_USAGE = `Usage: main.ts simulate [flags]

Runs an offline stand-in for Bilibili live: the HTTP APIs (nav, finger/spi, room_init,
get_info, getDanmuInfo with WBI, room lists, area list) and the danmaku servers over raw TCP
and WebSocket (/sub), and over TLS WebSocket given a certificate. Prints
{"api":…,"tcp":…,"ws":…,"wss":…} on stdout, logs to stderr.

Flags:
  --host HOST                    interface to bind (default 127.0.0.1)
  --port N                       HTTP + WebSocket port, 0 = any free port (default 0)
  --tcp-port N                   raw TCP danmaku port, 0 = any free port (default 0)
  --tls-cert FILE --tls-key FILE also serve wss:// (and https://) with this PEM certificate
                                 and key; getDanmuInfo's wss_port points there
                                 (tests/fixtures/tls has a test CA and a 127.0.0.1 cert)
  --tls-port N                   TLS port, 0 = any free port (default 0)
  --seed S                       seed of the world, messages, tokens and faults (default 1)
  --rooms N                      number of rooms (default 50)
  --rate R                       mean op-5 messages/s per live room, Zipf-spread (default 5)
  --messages N                   each room sends exactly N op-5 messages, then goes quiet
  --truth FILE                   append one JSONL line per op-5 message written:
                                 {"room_id":…,"cmd":"…","id":"…","conn":…}
  --faults K=P,…                 disconnect, stall, corrupt (per connection per second),
                                 authfail (per auth), block (per live room per second)
  --max-connections-per-ip N     close danmaku connections beyond N per IP (default 0 = off)
  --http-rate-limit N            answer 412 beyond N HTTP requests/s per IP (default 0 = off)
  --http-ban-seconds S           how long an IP gets 412 after exceeding it (default 10)
  --live-minutes M               mean live session length (default 30)
  --offline-minutes M            mean offline gap between sessions (default 30)
  --tick-ms N                    scheduler period (default 50)
  --duration S                   stop after S seconds (default: run until SIGINT/SIGTERM)
  --log-every S                  counters log period in seconds, 0 = off (default 10)`;

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
export function parseSimulateArgs(args: string[]): SimulateArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "tcp-port": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-port": { type: "string" },
        seed: { type: "string" },
        rooms: { type: "string" },
        rate: { type: "string" },
        messages: { type: "string" },
        truth: { type: "string" },
        faults: { type: "string" },
        "max-connections-per-ip": { type: "string" },
        "http-rate-limit": { type: "string" },
        "http-ban-seconds": { type: "string" },
        "live-minutes": { type: "string" },
        "offline-minutes": { type: "string" },
        "tick-ms": { type: "string" },
        duration: { type: "string" },
        "log-every": { type: "string" },
      },
    }));
  } catch (error) {
    throw new ConfigError(`Cannot parse simulate flags: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const port = { min: 0, max: 65535, integer: true };
  const big = 1e9;
  const durationS = numberFlag("duration", values.duration, undefined, { min: 0, max: big });
  const options: SimulatorOptions = {
    host: values.host ?? "127.0.0.1",
    port: numberFlag("port", values.port, 0, port),
    tcpPort: numberFlag("tcp-port", values["tcp-port"], 0, port),
    tlsPort: numberFlag("tls-port", values["tls-port"], 0, port),
    seed: values.seed ?? "1",
    rooms: numberFlag("rooms", values.rooms, 50, { min: 1, max: MAX_ROOMS, integer: true }),
    rate: numberFlag("rate", values.rate, 5, { min: 0, max: 1e6 }),
    messagesPerRoom: numberFlag("messages", values.messages, undefined, {
      min: 0,
      max: big,
      integer: true,
    }),
    truth: values.truth,
    faults: values.faults === undefined ? undefined : parseFaults(values.faults),
    maxConnectionsPerIp: numberFlag(
      "max-connections-per-ip",
      values["max-connections-per-ip"],
      0,
      { min: 0, max: big, integer: true },
    ),
    httpRateLimit: numberFlag("http-rate-limit", values["http-rate-limit"], 0, {
      min: 0,
      max: big,
      integer: true,
    }),
    httpBanMs: 1000 *
      numberFlag("http-ban-seconds", values["http-ban-seconds"], 10, { min: 0, max: big })!,
    meanLiveMs: 60_000 *
      numberFlag("live-minutes", values["live-minutes"], 30, { min: 0.01, max: big })!,
    meanOfflineMs: 60_000 *
      numberFlag("offline-minutes", values["offline-minutes"], 30, { min: 0.01, max: big })!,
    tickMs: numberFlag("tick-ms", values["tick-ms"], 50, { min: 5, max: 10_000, integer: true }),
    logEveryMs: 1000 * numberFlag("log-every", values["log-every"], 10, { min: 0, max: big })!,
  };
  if (options.truth === "") throw new ConfigError(`Cannot use --truth "": expected a file path`);
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  if ((cert === undefined) !== (key === undefined) || cert === "" || key === "") {
    throw new ConfigError(
      `Cannot use --tls-cert "${cert ?? ""}" and --tls-key "${key ?? ""}": give both files`,
    );
  }
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
