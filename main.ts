/**
 * The one entrypoint: parses the subcommand, wires signals, maps errors to exit codes.
 * Everything it calls lives under src/ and never exits the process itself.
 */
import { ApiError, ConfigError, ProtocolError, StorageError } from "./src/errors.ts";
import { runCollect } from "./src/cli/collect_command.ts";
import { COLLECT_USAGE } from "./src/collector/config.ts";
import { DECODE_USAGE, runDecode } from "./src/cli/decode_command.ts";
import { LineWriter } from "./src/util/line_writer.ts";
import { runSimulate, SIMULATE_USAGE } from "./src/cli/simulate_command.ts";
import { DEMO_USAGE, runDemo } from "./src/cli/demo_command.ts";
import { ROOMS_USAGE, runRooms } from "./src/cli/rooms_command.ts";
import { EXPORT_USAGE, runExport } from "./src/cli/export_command.ts";
import { runStats, STATS_USAGE } from "./src/cli/stats_command.ts";

const USAGE = `Usage: deno run -A main.ts <command> [flags]

Commands:
  collect     collect danmaku from live rooms into SQLite (deno task start)
  rooms       list live rooms: the most popular or the newest started (deno task discover)
  decode      decode a packet capture to NDJSON
  simulate    run an offline Bilibili (HTTP API + danmaku servers) for tests and demos
  demo        collect from the simulator for a few seconds and show what was stored
  export      export rows to CSV, JSONL or 录播姬 XML (deno task export)
  stats       per-room counts, density, top senders, value, gaps, throttling

Run "main.ts <command> --help" for a command's flags.`;

let statusShown = false;

function log(line: string): void {
  if (statusShown) {
    Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
    statusShown = false;
  }
  console.error(line);
}

/** Redraws the one-line status on a terminal. */
function statusLine(line: string): void {
  const width = Deno.consoleSize().columns;
  Deno.stderr.writeSync(
    new TextEncoder().encode(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`),
  );
  statusShown = true;
}

/** A repeated signal within this long of the first is the same Ctrl+C arriving twice. */
const FORCE_GRACE_MS = 2000;

/** The stop signals of a long-running command. */
interface InterruptSignals extends Disposable {
  /** Aborted by the first SIGINT/SIGTERM: stop reading, flush, exit 0. */
  stop: AbortSignal;
  /**
   * Aborted by a signal that comes more than {@linkcode FORCE_GRACE_MS} after the first: its
   * listeners save what is queued synchronously, then the process exits 130.
   */
  forced: AbortSignal;
}

/**
 * SIGINT/SIGTERM abort `stop` so the command can stop reading, flush and exit 0. A terminal's
 * Ctrl+C reaches the whole process group, and `deno task` (or npx) forwards it as well, so the
 * collector sees it twice within milliseconds: only a signal after a grace period forces an exit.
 */
function interruptSignals(): InterruptSignals {
  const stop = new AbortController();
  const forced = new AbortController();
  let firstAt = 0;
  const onSignal = () => {
    if (!stop.signal.aborted) {
      firstAt = performance.now();
      log(
        'level=info msg="stopping: reading what the sockets hold, then flushing (signal again after 2 s to force)"',
      );
      stop.abort();
      return;
    }
    if (performance.now() - firstAt < FORCE_GRACE_MS) return;
    log('level=warn msg="second signal: forcing an exit; saving what is queued first"');
    forced.abort(); // listeners save synchronously before we exit
    Deno.exit(130);
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  return {
    stop: stop.signal,
    forced: forced.signal,
    [Symbol.dispose]() {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    },
  };
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const stdout = new LineWriter(Deno.stdout);
  switch (command) {
    case "decode":
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(DECODE_USAGE);
        return 0;
      }
      await runDecode(rest, { stdout, log });
      return 0;
    case "export":
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(EXPORT_USAGE);
        return 0;
      }
      await runExport(rest, { stdout: Deno.stdout, log });
      return 0;
    case "stats":
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(STATS_USAGE);
        return 0;
      }
      await runStats(rest, { stdout, log });
      return 0;
    case "simulate":
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(SIMULATE_USAGE);
        return 0;
      }
      return await runSimulate(rest, { stdout, log });
    case "collect": {
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(COLLECT_USAGE);
        return 0;
      }
      using interrupts = interruptSignals();
      await runCollect(rest, {
        log,
        env: (name) => Deno.env.get(name),
        statusLine: Deno.stderr.isTerminal() ? statusLine : undefined,
        signal: interrupts.stop,
        forced: interrupts.forced,
      });
      if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
      return 0;
    }
    case "rooms": {
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(ROOMS_USAGE);
        return 0;
      }
      using interrupts = interruptSignals();
      return await runRooms(rest, { stdout, log, signal: interrupts.stop });
    }
    case "demo": {
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(DEMO_USAGE);
        return 0;
      }
      using interrupts = interruptSignals();
      return await runDemo(rest, { stdout, log, signal: interrupts.stop });
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      log(`Unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

try {
  Deno.exit(await main(Deno.args));
} catch (error) {
  if (error instanceof ProtocolError) {
    log(`error: ${error.message}`);
    Deno.exit(1);
  }
  if (error instanceof ConfigError) {
    log(`error: ${error.message}`);
    Deno.exit(2);
  }
  if (error instanceof StorageError || error instanceof ApiError) {
    log(`error: ${error.message}`);
    Deno.exit(1);
  }
  throw error;
}
