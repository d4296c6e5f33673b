/**
 * The one entrypoint: parses the subcommand, wires signals, maps errors to exit codes.
 * Everything it calls lives under src/ and never exits the process itself.
 */
import { ApiError, AuthError, ConfigError, ProtocolError, StorageError } from "./src/errors.ts";
import { runCollect } from "./src/cli/collect_command.ts";
import { findCommand, mainUsage } from "./src/cli/commands.ts";
import { runDecode } from "./src/cli/decode_command.ts";
import { runDemo } from "./src/cli/demo_command.ts";
import { runExport } from "./src/cli/export_command.ts";
import { runRooms } from "./src/cli/rooms_command.ts";
import { runSimulate } from "./src/cli/simulate_command.ts";
import { runStats } from "./src/cli/stats_command.ts";
import { skipLeadingDashDash, usageText, wantsHelp } from "./src/util/flags.ts";
import { LineWriter } from "./src/util/line_writer.ts";
import { formatLogLine } from "./src/util/log.ts";

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
      log(formatLogLine(
        "info",
        "stopping: reading what the sockets hold, then flushing (signal again after 2 s to force)",
      ));
      stop.abort();
      return;
    }
    if (performance.now() - firstAt < FORCE_GRACE_MS) return;
    log(formatLogLine("warn", "second signal: forcing an exit; saving what is queued first"));
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

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = skipLeadingDashDash(args);
  if (command === undefined) {
    log(mainUsage());
    return 2;
  }
  if (command === "help" || command === "--help" || command === "-h") {
    const spec = rest[0] === undefined ? undefined : findCommand(rest[0]);
    console.log(spec ? usageText(spec) : mainUsage());
    return 0;
  }
  const spec = findCommand(command);
  if (spec === undefined) {
    log(`error: Unknown command "${command}"\n\n${mainUsage()}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    console.log(usageText(spec));
    return 0;
  }
  const stdout = new LineWriter(Deno.stdout);
  switch (spec.name) {
    case "decode":
      await runDecode(rest, { stdout, log });
      return 0;
    case "export":
      await runExport(rest, { stdout: Deno.stdout, log });
      return 0;
    case "stats":
      await runStats(rest, { stdout, log });
      return 0;
    case "simulate":
      return await runSimulate(rest, { stdout, log });
    case "collect": {
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
      using interrupts = interruptSignals();
      return await runRooms(rest, { stdout, log, signal: interrupts.stop });
    }
    case "demo": {
      using interrupts = interruptSignals();
      return await runDemo(rest, {
        stdout,
        log,
        signal: interrupts.stop,
        statusLine: Deno.stderr.isTerminal() ? statusLine : undefined,
      });
    }
    default:
      throw new Error(`main.ts has no runner for the declared command "${spec.name}"`);
  }
}

/** Exit code of an error a user can meet: 2 for their input, 1 for the run; undefined for a bug. */
function exitCodeOf(error: unknown): number | undefined {
  if (error instanceof ConfigError) return 2;
  if (
    error instanceof ProtocolError || error instanceof StorageError ||
    error instanceof ApiError || error instanceof AuthError
  ) {
    return 1;
  }
  return undefined;
}

try {
  Deno.exit(await main(Deno.args));
} catch (error) {
  const code = exitCodeOf(error);
  if (code === undefined) throw error; // a bug: keep the stack trace
  log(`error: ${(error as Error).message}`);
  Deno.exit(code);
}
