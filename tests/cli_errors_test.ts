/**
 * The errors a newcomer meets first, through the real entrypoints: one line on stderr, no stack
 * trace, exit 2 for a usage error and 1 for a failed run.
 */
import assert from "node:assert/strict";
import { SAMPLES_DIR } from "./support/samples.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno <args>` in `cwd` with stdin closed. */
async function deno(args: string[], cwd = ROOT): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Runs `deno run -A main.ts <args>`. */
function main(args: string[], cwd = ROOT): Promise<Run> {
  return deno(["run", "-A", MAIN, ...args], cwd);
}

/** Asserts that stderr is exactly one `error: …` line matching `pattern`, with no stack trace. */
function assertOneErrorLine(run: Run, pattern: RegExp): void {
  const lines = run.stderr.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "cli-errors-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("main.ts decode --bogus is a usage error: one line naming the flag, exit 2", async () => {
  const run = await main(["decode", "--bogus"]);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, "");
  assertOneErrorLine(
    run,
    /^error: Cannot parse decode flags: Unknown option '--bogus'; run "main.ts decode --help" for the flags$/,
  );
});

Deno.test("main.ts decode of a directory says it is a directory, exit 2", async () => {
  await withTempDir(async (dir) => {
    const run = await main(["decode", dir]);
    assert.equal(run.code, 2);
    assertOneErrorLine(
      run,
      new RegExp(`^error: Cannot read capture "${dir}": it is a directory, not a file$`),
    );
  });
});

Deno.test("main.ts decode of an empty file or empty stdin says so and exits 0", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/empty.bin`;
    await Deno.writeFile(path, new Uint8Array());
    const file = await main(["decode", path]);
    assert.equal(file.code, 0);
    assert.equal(file.stdout, "");
    assert.equal(file.stderr, `warning: "${path}" is empty: no packets to decode\n`);
  });
  const stdin = await main(["decode", "-"]); // stdin is /dev/null
  assert.equal(stdin.code, 0);
  assert.equal(stdin.stderr, "warning: stdin is empty: no packets to decode\n");
});

Deno.test("main.ts decode without a file names what is missing in one line, exit 2", async () => {
  const run = await main(["decode"]);
  assert.equal(run.code, 2);
  assertOneErrorLine(
    run,
    /^error: Cannot parse decode arguments: expected one FILE \(or - for stdin\), got nothing; run "main.ts decode --help"$/,
  );
});

Deno.test("main.ts accepts one leading -- before the flags, as deno task passes it", async () => {
  const capture = new URL("bin/zlib_multi_8msgs.bin", SAMPLES_DIR).pathname;
  const decode = await main(["decode", "--", capture]);
  assert.equal(decode.code, 0, decode.stderr);
  assert.equal(decode.stdout.trim().split("\n").length, 8);
  const help = await main(["--", "stats", "--", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: main\.ts stats --db FILE\|URL \[flags\]/);
});

Deno.test("deno task export -- --db FILE reads --db as a flag", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/none.db`;
    const run = await deno(["task", "export", "--", "--db", path]);
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /Unexpected argument|positional/);
    assert.match(run.stderr, new RegExp(`^error: Cannot open database "${path}"`, "m"));
    assert.doesNotMatch(run.stderr, /^\s+at /m);
  });
});

Deno.test("every usage error of main.ts is one line ending in exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["collect", "--db"],
      /^error: Cannot parse collect flags: '--db' needs a value: --db FILE\|URL$/,
    ],
    [
      ["collect", "--keep-raw=yes"],
      /^error: Cannot parse collect flags: '--keep-raw' takes no value; run "main\.ts collect --help"/,
    ],
    [
      ["rooms", "popular"],
      /^error: Cannot parse rooms flags: unexpected argument 'popular': rooms takes no arguments besides flags/,
    ],
    [["simulate", "--rooms", "0"], /^error: Cannot parse --rooms "0": expected an integer/],
    [["demo", "--duration", "soon"], /^error: Cannot parse --duration "soon": expected a duration/],
  ];
  for (const [args, pattern] of cases) {
    const run = await main(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assertOneErrorLine(run, pattern);
  }
});

Deno.test("main.ts with an unknown command or none prints the usage to stderr, exit 2", async () => {
  const unknown = await main(["collcet"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, "");
  assert.match(unknown.stderr, /^error: Unknown command "collcet"\n\nUsage: main\.ts <command>/);
  assert.match(unknown.stderr, /^ {2}collect +collect danmaku/m);

  const none = await main([]);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, "");
  assert.match(none.stderr, /^Usage: main\.ts <command>/);

  const help = await main(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: main\.ts <command>/);
});

Deno.test("deno task bench --help prints the usage and exits 0; a bad bench flag is one line, exit 2", async () => {
  const help = await deno(["task", "bench", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: deno task bench \[flags\]/);
  assert.match(help.stdout, /--suite NAME,… +run only these suites/);
  assert.doesNotMatch(help.stderr, /^\s+at /m);

  const bench = new URL("../scripts/bench.ts", import.meta.url).pathname;
  const bogus = await deno(["run", "-A", bench, "--bogus"]);
  assert.equal(bogus.code, 2);
  assertOneErrorLine(
    bogus,
    /^error: Cannot parse bench flags: Unknown option '--bogus'; run "deno task bench --help"/,
  );
  const suite = await deno(["run", "-A", bench, "--suite", "decode,nope"]);
  assert.equal(suite.code, 2);
  assertOneErrorLine(suite, /^error: Cannot parse --suite "decode,nope": unknown suite "nope"/);
});

Deno.test("deno task soak --help prints the usage; a bad soak flag is one line, exit 2", async () => {
  const soak = new URL("../scripts/soak.ts", import.meta.url).pathname;
  const help = await deno(["run", "-A", soak, "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: deno task soak \[flags\]/);
  const bad = await deno(["run", "-A", soak, "--minutes", "0"]);
  assert.equal(bad.code, 2);
  assertOneErrorLine(bad, /^error: Cannot use --minutes "0": expected a positive number$/);
});

Deno.test("main.ts demo logs the rooms it really collects and keeps ./demo.db with the next commands", async () => {
  await withTempDir(async (dir) => {
    const run = await main(["demo", "--rooms", "2", "--duration", "1s"], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /msg="?collecting"? rooms=2 top=0 follow_new=false db=demo\.db /);
    assert.doesNotMatch(run.stderr, /top=100|follow_new=true/);
    const kept = await Deno.realPath(`${dir}/demo.db`);
    assert.ok((await Deno.stat(kept)).size > 0);
    assert.match(run.stdout, new RegExp(`^Kept in ${kept}\\. Look at it with:$`, "m"));
    assert.match(run.stdout, /^ {2}sqlite3 demo\.db "SELECT /m);
    assert.match(run.stdout, /^ {2}deno task stats --db demo\.db$/m);
    assert.match(run.stdout, /^ {2}deno task export --db demo\.db /m);
    const left = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
    assert.deepEqual(left, ["demo.db"]);
  });
});
