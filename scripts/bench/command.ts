/** The flags of `deno task bench`, declared once (usage text, parsing, docs/flags.md). */
import { ConfigError } from "../../src/errors.ts";
import { type CommandSpec, flag, orList } from "../../src/util/flags.ts";

/** The benchmark suites, in the order they run. */
export const SUITE_NAMES = [
  "decode",
  "simulator",
  "collect",
  "idle",
  "export",
  "postgres",
] as const;

/** One suite's name. */
export type SuiteName = typeof SUITE_NAMES[number];

/** Reads `--suite a,b`: known names only. */
function parseSuites(text: string): readonly SuiteName[] {
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!(SUITE_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        `Cannot parse --suite "${text}": unknown suite "${name}"; choose from ${
          orList(SUITE_NAMES)
        }`,
      );
    }
  }
  return names as SuiteName[];
}

const BENCH_FLAGS = {
  quick: flag.boolean({ name: "quick", help: "shorter runs, for a quick look" }),
  json: flag.string({
    name: "json",
    arg: "FILE",
    help: "also write the results as JSON, with the machine they ran on",
  }),
  suites: flag.custom({
    name: "suite",
    arg: "NAME,…",
    default: SUITE_NAMES,
    defaultText: "all",
    help: `run only these suites: ${orList(SUITE_NAMES)}`,
    parse: parseSuites,
  }),
};

/** `deno task bench`: usage, help and flags. */
export const BENCH_COMMAND: CommandSpec<typeof BENCH_FLAGS> = {
  name: "bench",
  usage: ["deno task bench [flags]"],
  summary: "benchmarks against fixtures and the simulator, beside the peer library",
  description: `Runs the benchmark suites against fixtures and the project's own simulator on
loopback, side by side with the peer (bilibili-live-ws in Node, installed under
.bench/peer), and prints a table. Timing lives here, never in tests.`,
  flags: BENCH_FLAGS,
};
