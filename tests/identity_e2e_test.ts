/**
 * The device identity, the user's cookie and the login re-check in whole collect runs against
 * the simulator: what every HTTP request and WebSocket upgrade carries, an expiring SESSDATA,
 * and the cookie never reaching an output.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCollector } from "../src/collector/collector.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { systemClock } from "../src/util/clock.ts";
import { seededRandom } from "./support/samples.ts";
import {
  FAST_COLLECT_FLAGS,
  fastCollectConfig,
  liveRooms,
  waitFor,
} from "./support/collect_helpers.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/151.0.0.0 E2E";
const SESSDATA = "e2e5e55d%2C1790000000%2Cabcde*e2";

/** Rows of `sql` (a count as `n`) in the database, 0 while it cannot be read yet. */
function count(dbPath: string, sql: string): number {
  try {
    using db = new DatabaseSync(dbPath, { readOnly: true });
    return Number(db.prepare(sql).get()?.n ?? 0);
  } catch {
    return 0;
  }
}

const TLS = new URL("./fixtures/tls/", import.meta.url);

/**
 * Collects 3 rooms over `transport` (wss: the simulator serves TLS with the fixture certificate)
 * and checks what every HTTP request and upgrade the simulator saw carried.
 */
async function everyRequestCarriesTheIdentity(transport: "ws" | "wss"): Promise<void> {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/identity.db`;
  const read = (name: string) => Deno.readTextFileSync(new URL(name, TLS));
  const tls = transport === "wss"
    ? { tls: { cert: read("server.pem"), key: read("server.key") } }
    : {};
  const caFile = transport === "wss" ? ["--ca-file", new URL("ca.pem", TLS).pathname] : [];
  try {
    await using sim = await startSimulator({
      rooms: 3,
      seed: 171,
      rate: 100,
      log: () => {},
      ...tls,
    });
    const rooms = liveRooms(sim);
    const stop = new AbortController();
    const run = runCollector(
      fastCollectConfig(dbPath, sim.api, ["--transport", transport, "--user-agent", UA, ...caFile]),
      {
        clock: systemClock,
        random: seededRandom(3),
        log: () => {},
        rooms,
        cookie: new Map([["SESSDATA", SESSDATA], ["bili_jct", "0f0f0f0f"]]),
      },
      stop.signal,
    );
    const upgrades = () => sim.requests.filter((r) => r.kind === "upgrade");
    await waitFor(() => upgrades().length >= rooms.length, "an upgrade per room");
    await waitFor(() => count(dbPath, "SELECT count(*) AS n FROM danmaku") > 20, "rows stored");
    stop.abort();
    await run;

    const [home, spi] = sim.requests;
    assert.deepEqual([home.path, spi.path], ["/", "/x/frontend/finger/spi"]);
    const rest = sim.requests.slice(2);
    const first = rest[0].cookies;
    const device = {
      buvid3: first.get("buvid3"),
      b_nut: first.get("b_nut"),
      buvid4: first.get("buvid4"),
    };
    assert.match(device.buvid3 ?? "", /infoc$/);
    assert.match(device.b_nut ?? "", /^\d{10}$/);
    assert.ok((device.buvid4 ?? "").length > 20);
    assert.ok(rest.some((r) => r.path === "/xlive/web-room/v1/index/getDanmuInfo"));
    for (const request of sim.requests) assert.equal(request.userAgent, UA, request.path);
    for (const request of rest) {
      const where = `${request.kind} ${request.path}`;
      for (const [name, value] of Object.entries(device)) {
        assert.equal(request.cookies.get(name), value, `${name} of ${where}`);
      }
      assert.equal(request.cookies.get("SESSDATA"), SESSDATA, where);
      assert.equal(request.origin, "https://live.bilibili.com", where);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("collect over ws sends the device cookies and the configured User-Agent on every HTTP request and WebSocket upgrade", async () => {
  await everyRequestCarriesTheIdentity("ws");
});

Deno.test("collect over wss sends the device cookies and the configured User-Agent on every HTTP request and WebSocket upgrade", async () => {
  await everyRequestCarriesTheIdentity("wss");
});

Deno.test("collect: an expired SESSDATA turns into uid 0 with one warning and the rooms keep collecting", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/expiry.db`;
  const logs: string[] = [];
  try {
    await using sim = await startSimulator({ rooms: 3, seed: 172, rate: 150, log: () => {} });
    const rooms = liveRooms(sim);
    const stop = new AbortController();
    const run = runCollector(
      // The default --transport auto: the failed auths of an expired login must not move the
      // rooms to wss (this simulator has no TLS listener, so a moved room would stay down).
      fastCollectConfig(dbPath, sim.api),
      {
        clock: systemClock,
        random: seededRandom(4),
        log: (line) => logs.push(line),
        rooms,
        cookie: new Map([["SESSDATA", SESSDATA]]),
      },
      stop.signal,
    );
    const real = () => count(dbPath, "SELECT count(*) AS n FROM danmaku WHERE uid > 0");
    const masked = () => count(dbPath, "SELECT count(*) AS n FROM danmaku WHERE uid = 0");
    await waitFor(() => real() > 30, "danmaku of a logged-in run");
    assert.equal(masked(), 0, "logged in, nobody is masked");

    // The cookie expires: tokens issued for the account stop working and the servers restart.
    sim.expireSessions();
    sim.expireTokens();
    sim.disconnectAll();
    try {
      await waitFor(() => masked() > 30, "danmaku collected as uid 0 after the expiry");
      await waitFor(() => sim.connectionCount() === rooms.length, "every room connected again");
    } catch (error) {
      console.error(logs.join("\n"));
      throw error;
    }
    stop.abort();
    await run;

    const warnings = logs.filter((line) => line.includes("no longer accepted"));
    assert.deepEqual(warnings, [
      'level=warn msg="The SESSDATA cookie is no longer accepted (expired or logged out): going on anonymously as uid 0, names will be masked"',
    ]);
    assert.ok(logs.every((line) => !line.includes(SESSDATA) && !line.includes("abcde*e2")));
    assert.deepEqual(logs.filter((line) => line.includes("moves to wss")), []);
    assert.equal(
      count(dbPath, "SELECT count(*) AS n FROM danmaku WHERE uid = 0 AND uname NOT LIKE '%***'"),
      0,
      "uid 0 rows have masked names",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `main.ts collect` for a few seconds; its exit code, stdout and stderr. */
async function collectFor(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "collect", ...args, ...FAST_COLLECT_FLAGS, "--duration", "5s"],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("the whole cookie (file or BILIBILI_COOKIE) never reaches a spawned collector's stderr, stdout or database", async () => {
  const dir = await Deno.makeTempDir();
  const secrets = {
    SESSDATA: "5ec7e7a1%2C1790000000%2Cf00d*91",
    bili_jct: "b11a7c7ba5e1fe0123456789abcdef01",
    DedeUserID: "987654321",
    buvid3: "C0FFEE00-1111-2222-3333-444455556666778899infoc",
    buvid4: "DEC0DE00-1111-2222-3333-444455556666-026010100-U2VjcmV0QnV2aWQ0",
    b_nut: "1699999999",
  };
  const cookiesTxt = Object.entries(secrets).map(([name, value]) =>
    `.bilibili.com\tTRUE\t/\tFALSE\t1798761600\t${name}\t${value}`
  ).join("\n");
  try {
    await using sim = await startSimulator({ rooms: 2, seed: 173, rate: 200, log: () => {} });
    const rooms = liveRooms(sim);
    await Deno.writeTextFile(`${dir}/cookies.txt`, `# Netscape HTTP Cookie File\n${cookiesTxt}\n`);
    const base = (
      db: string,
    ) => ["--db", `${dir}/${db}`, "--api-base", sim.api, "--rooms", rooms.join(","), "--keep-raw"];
    const fromFile = await collectFor([...base("file.db"), "--cookie-file", `${dir}/cookies.txt`]);
    const header = Object.entries(secrets).map(([name, value]) => `${name}=${value}`).join("; ");
    const fromEnv = await collectFor(base("env.db"), { BILIBILI_COOKIE: header });
    for (const run of [fromFile, fromEnv]) {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /logged_in=true/);
      assert.match(run.stderr, /buvid3_from=cookie/, "the cookie's own buvid3 is used");
    }
    // Both runs connected with the cookie's own device identity.
    const upgradesOrGets = sim.requests.filter((r) => r.path !== "/");
    assert.ok(upgradesOrGets.every((r) => r.cookies.get("buvid3") === secrets.buvid3));
    assert.ok(!sim.requests.some((r) => r.path === "/x/frontend/finger/spi"));

    const places: [string, string][] = [
      ["stderr, file run", fromFile.stderr],
      ["stdout, file run", fromFile.stdout],
      ["stderr, env run", fromEnv.stderr],
      ["stdout, env run", fromEnv.stdout],
    ];
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name.includes(".db")) {
        const bytes = await Deno.readFile(`${dir}/${entry.name}`);
        places.push([entry.name, new TextDecoder("latin1").decode(bytes)]);
      }
    }
    assert.ok(count(`${dir}/file.db`, "SELECT count(*) AS n FROM raw_messages") > 0);
    for (const [where, text] of places) {
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!text.includes(value), `${name} is in ${where}`);
      }
      assert.ok(!text.includes(decodeURIComponent(secrets.SESSDATA)), `SESSDATA is in ${where}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
