/**
 * `deno task bench [--quick] [--json FILE] [--suite NAME,…]` (scripts/bench/command.ts): runs
 * the benchmark suites against fixtures and the project's own simulator on loopback, side by side with the peer
 * (bilibili-live-ws in Node, installed by the bench under `.bench/peer`), prints a table,
 * optionally writes JSON with the machine it ran on. Benchmarks live here, never in tests.
 */
import { BENCH_COMMAND, type SuiteName } from "./bench/command.ts";
import { PEER_PACKAGE, preparePeer } from "./bench/peer.ts";
import { collectSuite, idleSuite } from "./bench/collect_suite.ts";
import { decodeSuite, type SuiteOptions } from "./bench/decode_suite.ts";
import { exportSuite } from "./bench/export_suite.ts";
import { postgresSuite } from "./bench/postgres_suite.ts";
import { simulatorSuite } from "./bench/simulator_suite.ts";
import { scriptArgs } from "./script_args.ts";

type Suite = (options: SuiteOptions) => Promise<Record<string, number>>;

const SUITES: Record<SuiteName, Suite> = {
  decode: decodeSuite,
  simulator: simulatorSuite,
  collect: collectSuite,
  idle: idleSuite,
  export: exportSuite,
  postgres: postgresSuite,
};

const values = scriptArgs(BENCH_COMMAND, Deno.args);
const names = values.suites;

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
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const peer = await preparePeer(log);
  const report = {
    date: new Date().toISOString(),
    quick: values.quick,
    machine: {
      cores: navigator.hardwareConcurrency,
      cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
      os: `${Deno.build.os} ${Deno.osRelease()}`,
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      node: peer?.nodeVersion ?? null,
    },
    peer: peer ? PEER_PACKAGE : null,
    suites: names,
    results,
  };
  await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2) + "\n");
}
