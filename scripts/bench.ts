/**
 * `deno task bench [--quick] [--json FILE] [--suite NAME,…]`: runs the benchmark suites against
 * fixtures and the project's own simulator on loopback, prints a table, optionally writes JSON.
 * Benchmarks live here, never in tests.
 */
import { parseArgs } from "node:util";
import { collectSuite } from "./bench/collect_suite.ts";
import { decodeSuite, type SuiteOptions } from "./bench/decode_suite.ts";
import { exportSuite } from "./bench/export_suite.ts";
import { simulatorSuite } from "./bench/simulator_suite.ts";

type Suite = (options: SuiteOptions) => Promise<Record<string, number>>;

const SUITES: Record<string, Suite> = {
  decode: decodeSuite,
  simulator: simulatorSuite,
  collect: collectSuite,
  export: exportSuite,
};

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    suite: { type: "string" },
  },
});

const names = values.suite ? values.suite.split(",") : Object.keys(SUITES);
for (const name of names) {
  if (!SUITES[name]) {
    console.error(`error: Unknown suite "${name}": choose from ${Object.keys(SUITES).join(", ")}`);
    Deno.exit(2);
  }
}

const log = (line: string) => console.error(line);
const results: Record<string, number> = {};
for (const name of names) {
  log(`== ${name}`);
  Object.assign(results, await SUITES[name]({ quick: values.quick, log }));
}

const width = Math.max(...Object.keys(results).map((key) => key.length));
for (const [key, value] of Object.entries(results)) {
  console.log(`${key.padEnd(width)}  ${value.toLocaleString("en-US")}`);
}
if (values.json) {
  const report = {
    date: new Date().toISOString(),
    quick: values.quick,
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    results,
  };
  await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2) + "\n");
}
