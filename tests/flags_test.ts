import assert from "node:assert/strict";
import { COMMANDS } from "../src/cli/commands.ts";
import { parseCollectArgs } from "../src/collector/config.ts";
import { COLLECT_DEFAULTS } from "../src/defaults.ts";
import { ConfigError } from "../src/errors.ts";
import { formatDuration } from "../src/util/duration.ts";
import {
  type CommandSpec,
  displayWidth,
  flag,
  parseCommandArgs,
  USAGE_WIDTH,
  usageText,
  wantsHelp,
  wrapProse,
} from "../src/util/flags.ts";
import { BENCH_COMMAND } from "../scripts/bench/command.ts";
import { FLAGS_DOC_PATH, flagsMarkdown } from "../scripts/flags_doc.ts";
import { SOAK_COMMAND } from "../scripts/soak/command.ts";

const ALL: readonly CommandSpec[] = [...COMMANDS, BENCH_COMMAND, SOAK_COMMAND];

const TOY = {
  name: "toy",
  usage: ["main.ts toy [flags] FILE"],
  summary: "a command for tests",
  description: "Does nothing.",
  flags: {
    level: flag.number({ name: "level", default: 3, help: "how much", min: 0, max: 9 }),
    color: flag.boolean({ name: "color", negatable: true, default: undefined, help: "paint" }),
    out: flag.string({ name: "out", arg: "FILE", help: "where" }),
  },
  operands: { name: "one FILE", min: 1, max: 1 },
} satisfies CommandSpec;

/** Asserts that `fn` throws a ConfigError whose message matches `message`. */
function assertConfigError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseCommandArgs() fills defaults and reads each flag with its parser", () => {
  const plain = parseCommandArgs(TOY, ["a.bin"]);
  assert.deepEqual({ ...plain.values }, { level: 3, color: undefined, out: undefined });
  assert.deepEqual(plain.operands, ["a.bin"]);
  assert.ok(Object.isFrozen(plain.values));
  const given = parseCommandArgs(TOY, ["--level", "7", "--no-color", "--out=x", "b.bin"]);
  assert.deepEqual({ ...given.values }, { level: 7, color: false, out: "x" });
  assert.equal(parseCommandArgs(TOY, ["--color", "c"]).values.color, true);
});

Deno.test("parseCommandArgs() skips one leading -- (deno task passes it through)", () => {
  assert.deepEqual(parseCommandArgs(TOY, ["--", "--level", "1", "f"]).values.level, 1);
  assert.equal(parseCollectArgs(["--", "--db", "x.db"]).dbPath, "x.db");
  assertConfigError(
    () => parseCollectArgs(["--", "--", "--db", "x.db"]),
    /^Cannot parse collect flags: unexpected argument '--db': collect takes no arguments/,
  );
});

Deno.test("parseCommandArgs() explains unknown flags, missing values and stray operands", () => {
  assertConfigError(
    () => parseCommandArgs(TOY, ["--levle", "1", "f"]),
    /^Cannot parse toy flags: Unknown option '--levle'; run "main\.ts toy --help" for the flags$/,
  );
  assertConfigError(
    () => parseCommandArgs(TOY, ["f", "--out"]),
    /^Cannot parse toy flags: '--out' needs a value: --out FILE$/,
  );
  assertConfigError(
    () => parseCommandArgs(TOY, ["--color=yes", "f"]),
    /^Cannot parse toy flags: '--color' takes no value; run "main\.ts toy --help"/,
  );
  assertConfigError(
    () => parseCommandArgs(TOY, ["f", "g"]),
    /^Cannot parse toy arguments: expected one FILE, got 'f' 'g'; run "main\.ts toy --help"$/,
  );
  assertConfigError(
    () => parseCommandArgs(TOY, ["--color", "--no-color", "f"]),
    /^Cannot use --color and --no-color together$/,
  );
  assertConfigError(
    () => parseCommandArgs(TOY, ["--level", "10", "f"]),
    /^Cannot parse --level "10": expected a number from 0 to 9$/,
  );
});

Deno.test("wantsHelp() finds --help or -h before a -- that ends the flags", () => {
  assert.ok(wantsHelp(["--help"]));
  assert.ok(wantsHelp(["--", "-h"]));
  assert.ok(!wantsHelp(["--out", "x", "--", "--help"]));
  assert.ok(!wantsHelp(["--helpful"]));
});

Deno.test("usageText() lists every declared flag with its default, within 80 columns", () => {
  for (const spec of ALL) {
    const text = usageText(spec);
    for (const line of text.split("\n")) {
      assert.ok(displayWidth(line) <= 80, `${spec.name}: too wide: ${line}`);
    }
    assert.match(text, /^Usage: /);
    assert.match(text, /^ {2}-h, --help /m);
    for (const declared of Object.values(spec.flags)) {
      assert.match(text, new RegExp(`^ {2}--${declared.name}[ ,]`, "m"), `${spec.name}`);
    }
  }
  const toy = usageText(TOY);
  assert.match(toy, /^ {2}--level N {17}how much \(default: 3\)$/m);
  assert.match(toy, /^ {2}--color, --no-color {7}paint$/m);
});

Deno.test("the collect flags take their defaults from src/defaults.ts", () => {
  const config = parseCollectArgs([]);
  const expected = { ...COLLECT_DEFAULTS } as Record<string, unknown>;
  expected.queueLimit = expected.queueLimitBytes;
  for (const [key, value] of Object.entries(config)) {
    if (key in expected) assert.equal(value, expected[key], key);
  }
  assert.match(
    usageText(COMMANDS[0]),
    new RegExp(
      `--flush-interval DUR .*\\(default: ${formatDuration(COLLECT_DEFAULTS.flushIntervalMs)}\\)`,
    ),
  );
});

Deno.test("formatDuration() writes the largest unit that divides exactly", () => {
  assert.deepEqual(
    [10_000, 120_000, 70_000, 1500, 86_400_000, 0].map(formatDuration),
    ["10s", "2m", "70s", "1500ms", "1d", "0ms"],
  );
});

Deno.test("wrapProse() joins and wraps paragraphs but keeps indented lines", () => {
  const text = wrapProse(`${"word ".repeat(30).trim()}\n  {"kept": "as is"}\nend`);
  const lines = text.split("\n");
  assert.ok(lines.every((line) => line.length <= USAGE_WIDTH));
  assert.ok(lines.includes('  {"kept": "as is"}'));
  assert.equal(lines[lines.length - 1], "end");
});

Deno.test("docs/flags.md is what deno task docs generates from the declarations", async () => {
  const written = await Deno.readTextFile(new URL(`../${FLAGS_DOC_PATH}`, import.meta.url));
  assert.equal(
    written,
    flagsMarkdown(),
    "docs/flags.md is out of date: run `deno task docs` and commit it",
  );
});
