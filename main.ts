/**
 * The one entrypoint: parses the subcommand, wires signals, maps errors to exit codes.
 * Everything it calls lives under src/ and never exits the process itself.
 */
import { ConfigError, ProtocolError } from "./src/errors.ts";
import { DECODE_USAGE, runDecode } from "./src/cli/decode_command.ts";
import { LineWriter } from "./src/cli/line_writer.ts";
import { runSimulate, SIMULATE_USAGE } from "./src/cli/simulate_command.ts";

const USAGE = `Usage: deno run -A main.ts <command> [flags]

Commands:
  collect     collect danmaku from live rooms into SQLite (deno task start)
  decode      decode a packet capture to NDJSON
  simulate    run an offline Bilibili (HTTP API + danmaku servers) for tests and demos

Run "main.ts <command> --help" for a command's flags.`;

function log(line: string): void {
  console.error(line);
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
    case "simulate":
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(SIMULATE_USAGE);
        return 0;
      }
      return await runSimulate(rest, { stdout, log });
    case "collect":
      log("The collector is not built yet (see the issue tracker); use `main.ts decode` for now.");
      return 1;
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
  throw error;
}
