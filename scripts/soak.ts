/**
 * `deno task soak [--minutes N] [--rooms N] [--rate R] [--faults K=P,…] [--json FILE]`: runs the
 * simulator with faults against `main.ts collect`, stops the collector with SIGINT while traffic
 * flows, and reconciles what it stored against the simulator's truth file (docs/soak.md).
 * Exits 1 when a row is duplicated, a received message was not stored, or the collector did not
 * exit 0; 2 on bad flags.
 */
import { parseArgs } from "node:util";
import { parseFaults } from "../src/simulator/faults.ts";
import { formatReport } from "./soak/report.ts";
import { runSoak } from "./soak/run.ts";

/** The faults of the 10-minute soak. */
const DEFAULT_FAULTS = "disconnect=0.02,corrupt=0.01,stall=0.01,authfail=0.05";

const USAGE = `Usage: deno task soak [flags]

Runs the simulator with faults and the collector (a child process, --keep-raw) for a while,
samples the collector's RSS, stops it with SIGINT while traffic still flows, and reports per
table: delivered, stored, missing, in flight at stop, received but not stored, duplicated;
sessions by end reason; RSS min/median/max and its slope over the second half.

Flags:
  --minutes N     how long to collect before SIGINT (default 2)
  --rooms N       rooms, all collected (default 50)
  --rate R        mean op-5 messages/s per live room, Zipf-spread (default 10)
  --faults K=P,…  the simulator's faults (default ${DEFAULT_FAULTS})
  --seed S        simulator seed (default soak)
  --watchdog DUR  the collector's --watchdog (default 10s)
  --json FILE     also write the report as JSON
  --keep          keep the truth file and the database, and print where`;

function fail(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

function positive(flag: string, text: string | undefined, fallback: number, integer = false) {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(value) || value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    fail(`Cannot use --${flag} "${text}": expected a positive ${integer ? "integer" : "number"}`);
  }
  return value;
}

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    strict: true,
    allowPositionals: false,
    options: {
      minutes: { type: "string" },
      rooms: { type: "string" },
      rate: { type: "string" },
      faults: { type: "string" },
      seed: { type: "string" },
      watchdog: { type: "string" },
      json: { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail(`Cannot parse soak flags: ${(error as Error).message}`);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const faults = values.faults ?? DEFAULT_FAULTS;
try {
  parseFaults(faults);
} catch (error) {
  fail((error as Error).message);
}

const interrupted = new AbortController();
const onSignal = () => {
  console.error("soak: interrupted, stopping the collector and reporting what was collected");
  interrupted.abort();
};
Deno.addSignalListener("SIGINT", onSignal);
const report = await runSoak({
  minutes: positive("minutes", values.minutes, 2),
  rooms: positive("rooms", values.rooms, 50, true),
  rate: positive("rate", values.rate, 10),
  faults,
  seed: values.seed ?? "soak",
  watchdog: values.watchdog ?? "10s",
  keep: values.keep ?? false,
  log: (line) => console.error(line),
  signal: interrupted.signal,
});
Deno.removeSignalListener("SIGINT", onSignal);
console.log(formatReport(report));
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2) + "\n");
Deno.exit(report.failures.length === 0 ? 0 : 1);
