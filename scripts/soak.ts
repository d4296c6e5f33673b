/**
 * `deno task soak [--minutes N] [--rooms N] [--rate R] [--faults K=P,…] [--json FILE]`
 * (flags: scripts/soak/command.ts): runs the simulator with faults against `main.ts collect`,
 * stops the collector with SIGINT while traffic flows, and reconciles what it stored against the
 * simulator's truth file (docs/soak.md). Exits 1 when a row is duplicated, a received message was
 * not stored, or the collector did not exit 0; 2 on bad flags.
 */
import { SOAK_COMMAND } from "./soak/command.ts";
import { formatReport } from "./soak/report.ts";
import { runSoak } from "./soak/run.ts";
import { scriptArgs } from "./script_args.ts";

const values = scriptArgs(SOAK_COMMAND, Deno.args);

const interrupted = new AbortController();
const onSignal = () => {
  console.error("soak: interrupted, stopping the collector and reporting what was collected");
  interrupted.abort();
};
Deno.addSignalListener("SIGINT", onSignal);
const report = await runSoak({
  minutes: values.minutes,
  rooms: values.rooms,
  rate: values.rate,
  faults: values.faults,
  seed: values.seed,
  watchdog: values.watchdog,
  keep: values.keep,
  log: (line) => console.error(line),
  signal: interrupted.signal,
});
Deno.removeSignalListener("SIGINT", onSignal);
console.log(formatReport(report));
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2) + "\n");
Deno.exit(report.failures.length === 0 ? 0 : 1);
