import assert from "node:assert/strict";
import { findSessdata, loadSessdata } from "../src/bilibili/cookies.ts";
import { parseCollectArgs, parseRoomIds } from "../src/collector/config.ts";
import { ConfigError } from "../src/errors.ts";

/** Asserts that `fn` throws a ConfigError with exactly `message`. */
function assertConfigError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.name, "ConfigError");
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

// ---- parseCollectArgs ------------------------------------------------------------------------

Deno.test("parseCollectArgs() with no flags returns the documented defaults", () => {
  const config = parseCollectArgs([]);
  assert.deepEqual({ ...config }, {
    dbPath: "danmaku.db",
    rooms: [],
    roomsFile: undefined,
    top: 100,
    followNew: true,
    newPollIntervalMs: 60_000,
    newScan: 30,
    maxRooms: 150,
    dropOfflineMs: undefined,
    areaId: 0,
    parentAreaId: 0,
    apiBase: undefined,
    transport: "auto",
    sockets: "auto",
    brotli: "auto",
    caFile: undefined,
    cookieFile: undefined,
    userAgent: undefined,
    identityMaxAgeMs: 21_600_000,
    keepRaw: false,
    flushIntervalMs: 10_000,
    flushHighWater: 10_000,
    queueLimit: 256_000_000,
    sweepIntervalMs: 10_000,
    heartbeatIntervalMs: 30_000,
    watchdogMs: 70_000,
    silenceWatch: true,
    silenceWindowMs: 600_000,
    silenceCooldownMs: 1_800_000,
    authTimeoutMs: 10_000,
    drainMs: 2000,
    apiRatePerSecond: 1,
    connectRatePerSecond: 5,
    maxConnections: 150,
    setupConcurrency: 256,
    maxBackoffMs: 120_000,
    durationMs: undefined,
    statusIntervalMs: 60_000,
    http: undefined,
    httpPublic: false,
  });
});

Deno.test("parseCollectArgs() collects only the named rooms when --rooms is given without --top", () => {
  const only = parseCollectArgs(["--rooms", "1"]);
  assert.deepEqual([only.top, only.followNew], [0, false]);
  const both = parseCollectArgs(["--rooms", "1", "--top", "10"]);
  assert.deepEqual([both.top, both.followNew], [10, true]);
  const fromFile = parseCollectArgs(["--rooms-file", "x.txt"]);
  assert.deepEqual([fromFile.top, fromFile.followNew], [0, false]);
  assert.equal(parseCollectArgs(["--max-connections", "40"]).maxRooms, 40);
  assert.throws(() => parseCollectArgs(["--follow-new", "--no-follow-new"]), {
    name: "ConfigError",
    message: "Cannot use --follow-new and --no-follow-new together",
  });
});

Deno.test("parseCollectArgs() returns a frozen config with a frozen room list", () => {
  const config = parseCollectArgs(["--rooms", "1,2"]);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.rooms));
  assert.throws(() => (config.rooms as number[]).push(3), TypeError);
});

Deno.test("parseCollectArgs() reads every flag", () => {
  const config = parseCollectArgs([
    "--db",
    "/tmp/x.db",
    "--rooms",
    "21452505, 6",
    "--rooms-file",
    "rooms.txt",
    "--top",
    "50",
    "--no-follow-new",
    "--new-poll-interval",
    "30s",
    "--new-scan",
    "60",
    "--max-rooms",
    "400",
    "--drop-offline",
    "2h",
    "--area",
    "86",
    "--parent-area",
    "2",
    "--api-base",
    "http://127.0.0.1:8000",
    "--transport",
    "wss",
    "--sockets",
    "deno",
    "--brotli",
    "node",
    "--cookie-file",
    "cookie.txt",
    "--user-agent",
    " Mozilla/5.0 (test) ",
    "--identity-max-age",
    "3h",
    "--keep-raw",
    "--flush-interval",
    "500ms",
    "--flush-high-water",
    "100",
    "--queue-limit",
    "64MiB",
    "--sweep-interval",
    "2s",
    "--heartbeat-interval",
    "20s",
    "--watchdog",
    "1m",
    "--no-silence-watch",
    "--silence-window",
    "2m",
    "--silence-cooldown",
    "1h",
    "--auth-timeout",
    "3s",
    "--drain-timeout",
    "5s",
    "--api-rate",
    "2.5",
    "--connect-rate",
    "10",
    "--max-connections",
    "20",
    "--setup-concurrency",
    "16",
    "--max-backoff",
    "5m",
    "--duration",
    "2h",
    "--status-interval",
    "30",
    "--http",
    "0.0.0.0:9100",
    "--http-public",
  ]);
  assert.deepEqual({ ...config }, {
    dbPath: "/tmp/x.db",
    rooms: [21452505, 6],
    roomsFile: "rooms.txt",
    top: 50,
    followNew: false,
    newPollIntervalMs: 30_000,
    newScan: 60,
    maxRooms: 400,
    dropOfflineMs: 7_200_000,
    areaId: 86,
    parentAreaId: 2,
    apiBase: "http://127.0.0.1:8000",
    transport: "wss",
    sockets: "deno",
    brotli: "node",
    caFile: undefined,
    cookieFile: "cookie.txt",
    userAgent: "Mozilla/5.0 (test)",
    identityMaxAgeMs: 10_800_000,
    keepRaw: true,
    flushIntervalMs: 500,
    flushHighWater: 100,
    queueLimit: 64 * 1024 * 1024,
    sweepIntervalMs: 2000,
    heartbeatIntervalMs: 20_000,
    watchdogMs: 60_000,
    silenceWatch: false,
    silenceWindowMs: 120_000,
    silenceCooldownMs: 3_600_000,
    authTimeoutMs: 3000,
    drainMs: 5000,
    apiRatePerSecond: 2.5,
    connectRatePerSecond: 10,
    maxConnections: 20,
    setupConcurrency: 16,
    maxBackoffMs: 300_000,
    durationMs: 7_200_000,
    statusIntervalMs: 30_000,
    http: { hostname: "0.0.0.0", port: 9100 },
    httpPublic: true,
  });
});

Deno.test("parseCollectArgs() rejects each bad flag with a ConfigError naming the flag and value", () => {
  const duration = (flag: string, value: string) =>
    `Cannot parse --${flag} "${value}": expected a duration such as 500ms, 10s, 5m or 2h of at least 10 ms`;
  const cases: [string[], string][] = [
    [
      ["--transport", "udp"],
      'Cannot parse --transport "udp": expected auto, tcp, ws or wss',
    ],
    [
      ["--api-base", "ftp://example.com"],
      'Cannot parse --api-base "ftp://example.com": expected an http:// or https:// URL',
    ],
    [
      ["--api-base", "127.0.0.1:8000"],
      'Cannot parse --api-base "127.0.0.1:8000": expected an http:// or https:// URL',
    ],
    [["--flush-interval", "5ms"], duration("flush-interval", "5ms")],
    [["--flush-interval", "soon"], duration("flush-interval", "soon")],
    [["--sweep-interval=-1s"], duration("sweep-interval", "-1s")],
    [["--heartbeat-interval", "0"], duration("heartbeat-interval", "0")],
    [["--watchdog", "1w"], duration("watchdog", "1w")],
    [["--auth-timeout", "1ms"], duration("auth-timeout", "1ms")],
    [["--max-backoff", ""], duration("max-backoff", "")],
    [["--status-interval", "x"], duration("status-interval", "x")],
    [
      ["--user-agent", "two\nlines"],
      'Cannot parse --user-agent "two\nlines": expected a browser User-Agent of printable ASCII up to 512 characters',
    ],
    [
      ["--duration", "forever"],
      'Cannot parse --duration "forever": expected a duration such as 500ms, 10s, 5m or 2h',
    ],
    [
      ["--flush-high-water", "0"],
      'Cannot parse --flush-high-water "0": expected an integer from 1 to 1000000000000',
    ],
    ...["1.5", "512", "2TB", "64 MB s", "lots", ""].map((value): [string[], string] => [
      ["--queue-limit", value],
      `Cannot parse --queue-limit "${value}": expected a size such as 64MB, 1GB or 512MiB (plain digits are bytes) from 1MB to 1TB`,
    ]),
    [
      ["--api-rate", "0"],
      'Cannot parse --api-rate "0": expected a number from 0.001 to 1000000',
    ],
    [
      ["--connect-rate", "fast"],
      'Cannot parse --connect-rate "fast": expected a number from 0.001 to 1000000',
    ],
    [
      ["--max-connections", " "],
      'Cannot parse --max-connections " ": expected an integer from 1 to 1000000',
    ],
    [
      ["--max-connections", "1e7"],
      'Cannot parse --max-connections "1e7": expected an integer from 1 to 1000000',
    ],
    [
      ["--rooms", "1,abc"],
      'Cannot parse --rooms "1,abc": "abc" is not a room id (a positive integer)',
    ],
    [
      ["--rooms=-5"],
      'Cannot parse --rooms "-5": "-5" is not a room id (a positive integer)',
    ],
  ];
  for (const [args, message] of cases) assertConfigError(() => parseCollectArgs(args), message);
});

Deno.test("parseCollectArgs() rejects an unknown flag, naming the command and the flag", () => {
  assertConfigError(
    () => parseCollectArgs(["--romos", "1"]),
    /^Cannot parse collect flags: .*'--romos'/,
  );
});

Deno.test("parseCollectArgs() rejects a string flag given without its value", () => {
  assertConfigError(() => parseCollectArgs(["--db"]), /^Cannot parse collect flags: .*'--db/);
});

// ---- parseRoomIds ----------------------------------------------------------------------------

Deno.test("parseRoomIds() reads ids separated by commas, spaces and newlines, skipping # comments", () => {
  const text = [
    "# my rooms",
    "21452505, 6",
    "  7734200 # the big one, 999",
    "",
    "1,,2\t3\r",
    "# 4",
    "5",
  ].join("\n");
  assert.deepEqual(parseRoomIds(text, "rooms.txt"), [21452505, 6, 7734200, 1, 2, 3, 5]);
});

Deno.test("parseRoomIds() returns an empty list for blank or comment-only text", () => {
  assert.deepEqual(parseRoomIds("", "x"), []);
  assert.deepEqual(parseRoomIds("\n  \n# nothing here\n", "x"), []);
});

Deno.test("parseRoomIds() rejects a token that is not a positive integer, naming the source", () => {
  for (const token of ["0", "-1", "1.5", "abc", "12a", "0x10", "1e3", "9007199254740993"]) {
    assertConfigError(
      () => parseRoomIds(`1\n${token}\n2`, 'rooms file "r.txt"'),
      `Cannot parse rooms file "r.txt": "${token}" is not a room id (a positive integer)`,
    );
  }
});

// ---- findSessdata / loadSessdata -------------------------------------------------------------

const SESSDATA = "5a9e3b1c%2C1767225600%2C8f2e1*b1CjA-secret";

Deno.test("findSessdata() accepts the bare cookie value, trimmed", () => {
  assert.equal(findSessdata(SESSDATA), SESSDATA);
  assert.equal(findSessdata(`  ${SESSDATA}\n`), SESSDATA);
});

Deno.test("findSessdata() finds SESSDATA in a cookie string", () => {
  assert.equal(findSessdata(`buvid3=ABC-infoc; SESSDATA=${SESSDATA}; bili_jct=0f0f`), SESSDATA);
  assert.equal(findSessdata(`SESSDATA=${SESSDATA}`), SESSDATA);
  assert.equal(findSessdata(`Cookie: SESSDATA=${SESSDATA};`), SESSDATA);
});

Deno.test("findSessdata() finds SESSDATA in a Netscape cookies.txt export", () => {
  const text = [
    "# Netscape HTTP Cookie File",
    "# https://curl.se/docs/http-cookies.html",
    "",
    ".bilibili.com\tTRUE\t/\tFALSE\t1767225600\tbuvid3\tABC-infoc",
    `#HttpOnly_.bilibili.com\tTRUE\t/\tFALSE\t1767225600\tSESSDATA\t${SESSDATA}`,
    ".bilibili.com\tTRUE\t/\tFALSE\t1767225600\tbili_jct\t0f0f",
  ].join("\r\n");
  assert.equal(findSessdata(text), SESSDATA);
});

Deno.test("findSessdata() returns undefined when there is no SESSDATA", () => {
  assert.equal(findSessdata(""), undefined);
  assert.equal(findSessdata("   \n"), undefined);
  assert.equal(findSessdata("buvid3=ABC-infoc; bili_jct=0f0f"), undefined);
  assert.equal(findSessdata("XSESSDATA=nope; other=1"), undefined);
  assert.equal(findSessdata("two words"), undefined);
  assert.equal(
    findSessdata(".bilibili.com\tTRUE\t/\tFALSE\t1767225600\tSESSDATA\t  "),
    undefined,
    "an empty value in cookies.txt is no value",
  );
});

async function withTempFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cookies_test_" });
  try {
    const path = `${dir}/cookie.txt`;
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `promise` rejects with a ConfigError whose message matches `pattern`. */
async function rejectsConfigError(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  let message = "";
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    message = error.message;
    return true;
  });
  return message;
}

const noEnv = () => undefined;

Deno.test("loadSessdata() reads the value from --cookie-file", async () => {
  await withTempFile(`buvid3=ABC; SESSDATA=${SESSDATA}\n`, async (path) => {
    assert.equal(await loadSessdata(path, noEnv), SESSDATA);
  });
});

Deno.test("loadSessdata() prefers --cookie-file over the environment", async () => {
  await withTempFile(SESSDATA, async (path) => {
    const env = (name: string) => name === "BILIBILI_SESSDATA" ? "from-env" : undefined;
    assert.equal(await loadSessdata(path, env), SESSDATA);
  });
});

Deno.test("loadSessdata() names a cookie file it cannot read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cookies_test_" });
  try {
    const path = `${dir}/missing.txt`;
    const message = await rejectsConfigError(
      loadSessdata(path, noEnv),
      /^Cannot read --cookie-file "/,
    );
    assert.ok(message.startsWith(`Cannot read --cookie-file "${path}": `), message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadSessdata() names a cookie file without SESSDATA but never echoes its contents", async () => {
  const secret = "bili_jct=0f0f0f0f0f0f-private; DedeUserID=12345";
  await withTempFile(secret, async (path) => {
    const message = await rejectsConfigError(loadSessdata(path, noEnv), /^Cannot find SESSDATA/);
    assert.equal(
      message,
      `Cannot find SESSDATA in --cookie-file "${path}": expected the bare value, a "SESSDATA=…" cookie string or a cookies.txt export`,
    );
    assert.ok(!message.includes("0f0f0f0f0f0f-private"));
    assert.ok(!message.includes("12345"));
  });
});

Deno.test("loadSessdata() takes BILIBILI_SESSDATA, then BILIBILI_COOKIE", async () => {
  const both = (name: string) =>
    ({ BILIBILI_SESSDATA: ` ${SESSDATA} `, BILIBILI_COOKIE: "SESSDATA=other" })[name];
  assert.equal(await loadSessdata(undefined, both), SESSDATA);
  const cookieOnly = (name: string) =>
    name === "BILIBILI_COOKIE" ? `buvid3=ABC; SESSDATA=${SESSDATA}` : undefined;
  assert.equal(await loadSessdata(undefined, cookieOnly), SESSDATA);
  const bareCookie = (name: string) => name === "BILIBILI_COOKIE" ? SESSDATA : undefined;
  assert.equal(await loadSessdata(undefined, bareCookie), SESSDATA);
});

Deno.test("loadSessdata() returns undefined when no source is set", async () => {
  assert.equal(await loadSessdata(undefined, noEnv), undefined);
  const blank = (name: string) => name === "BILIBILI_SESSDATA" ? "   " : undefined;
  assert.equal(await loadSessdata(undefined, blank), undefined);
});

Deno.test("loadSessdata() rejects a BILIBILI_COOKIE without SESSDATA and never echoes it", async () => {
  const env = (name: string) =>
    name === "BILIBILI_COOKIE" ? "bili_jct=0f0f0f-private; DedeUserID=12345" : undefined;
  const message = await rejectsConfigError(loadSessdata(undefined, env), /BILIBILI_COOKIE/);
  assert.equal(
    message,
    "Cannot find SESSDATA in BILIBILI_COOKIE: expected a cookie string with SESSDATA=…",
  );
  assert.ok(!message.includes("0f0f0f-private"));
});
