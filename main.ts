/**
 * The one entrypoint: parses the subcommand, wires signals, maps errors to exit codes.
 * Everything it calls lives under src/ and never exits the process itself.
 */
import { ApiError, ConfigError, ProtocolError, StorageError } from "./src/errors.ts";
import { runCollect } from "./src/cli/collect_command.ts";
import { COLLECT_USAGE } from "./src/collector/config.ts";
import { DECODE_USAGE, runDecode } from "./src/cli/decode_command.ts";
import { LineWriter } from "./src/cli/line_writer.ts";
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

/**
 * SIGINT/SIGTERM abort the returned signal so the command can stop reading, flush and exit 0;
 * a second signal exits at once (code 130).
 */
function interruptSignal(): AbortController & Disposable {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      log('level=warn msg="second signal: exiting without waiting for the final flush"');
      Deno.exit(130);
    }
    log('level=info msg="stopping: closing connections and flushing (signal again to force)"');
    controller.abort();
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  return Object.assign(controller, {
    [Symbol.dispose]() {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    },
  });
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
      using stop = interruptSignal();
      await runCollect(rest, {
        log,
        env: (name) => Deno.env.get(name),
        statusLine: Deno.stderr.isTerminal() ? statusLine : undefined,
        signal: stop.signal,
      });
      if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
      return 0;
    }
    case "rooms": {
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(ROOMS_USAGE);
        return 0;
      }
      using stop = interruptSignal();
      return await runRooms(rest, { stdout, log, signal: stop.signal });
    }
    case "demo": {
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(DEMO_USAGE);
        return 0;
      }
      using stop = interruptSignal();
      return await runDemo(rest, { stdout, log, signal: stop.signal });
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
