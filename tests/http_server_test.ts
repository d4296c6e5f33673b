/**
 * `collect --http` against the simulator, as a user runs it (spawned main.ts): /metrics read by
 * the real Prometheus text parser (Debian's python3-prometheus-client) agrees with the database
 * and with /api/status; bad --http input is one line and exit 2 before anything collects; a
 * logged-in run's cookie appears in no endpoint.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { startSimulator } from "../src/simulator/simulator.ts";
import type { StatusDocument } from "../src/web/status_json.ts";
import { liveRooms, spawnedCollectFlags, waitFor } from "./support/collect_helpers.ts";
import { parsePrometheus } from "./support/prometheus_parser.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
interface Sample {
  family: string;
  type: string;
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of `text` as the real parser reads them; fails the test if it refuses. */
async function parseMetrics(text: string): Promise<Sample[]> {
  const { code, families, error } = await parsePrometheus(text);
  assert.equal(code, 0, `the Prometheus parser refused /metrics:\n${error}\n---\n${text}`);
  return families.flatMap((family) =>
    family.samples.map(([name, labels, value]) => ({
      family: family.name,
      type: family.type,
      name,
      labels,
      value,
    }))
  );
}

/** A spawned `main.ts collect`, its stderr collected as it comes. */
function spawnCollect(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "collect", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  let stdout = "";
  const decoder = new TextDecoder();
  const drained = Promise.all([
    child.stderr.pipeTo(
      new WritableStream({ write: (chunk) => void (stderr += decoder.decode(chunk)) }),
    ),
    child.stdout.pipeTo(
      new WritableStream({ write: (chunk) => void (stdout += decoder.decode(chunk)) }),
    ),
  ]);
  return {
    stderr: () => stderr,
    /** The URL logged by `http listening`, once it is. */
    url: () => stderr.match(/msg="http listening" url=(http:\/\/\S+)/)?.[1],
    async stop() {
      try {
        child.kill("SIGINT");
      } catch {
        // already exited
      }
      return await this.exit();
    },
    async exit() {
      const status = await child.status;
      await drained;
      return { code: status.code, stderr, stdout };
    },
  };
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    body: await response.text(),
  };
}

/** The value of one sample (0 when absent, as Prometheus reads an absent counter). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  return found?.value ?? 0;
}

function count(dbPath: string, sql: string): number {
  try {
    using db = new DatabaseSync(dbPath, { readOnly: true });
    return Number(db.prepare(sql).get()?.n);
  } catch {
    return -1; // not created yet, or its schema not yet written
  }
}

/** Tables whose rows a later event can update (upserts): written ≥ rows. */
const UPSERT_TABLES = new Set(["rooms", "sessions", "gifts", "super_chats", "guard_buys"]);

const MESSAGES_PER_ROOM = 60;

Deno.test("collect --http 127.0.0.1:0 serves /metrics that the real Prometheus parser accepts and whose numbers agree with the database and /api/status", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/metrics.db`;
  try {
    await using sim = await startSimulator({
      rooms: 4,
      seed: 41,
      rate: 100,
      messagesPerRoom: MESSAGES_PER_ROOM,
      log: () => {},
    });
    const rooms = liveRooms(sim);
    const run = spawnCollect([
      ...spawnedCollectFlags(dbPath, sim, rooms),
      "--keep-raw",
      "--http",
      "127.0.0.1:0",
    ]);
    try {
      await waitFor(() => run.url() !== undefined, "the http listening line");
      const base = run.url()!;
      assert.match(base, /^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
      await waitFor(() => rooms.every((id) => sim.remaining(id) === 0), "every room's messages");

      // Once everything received is written, /metrics and the database say the same.
      let samples: Sample[] = [];
      let metricsText = "";
      const settled = async () => {
        const metrics = await get(`${base}metrics`);
        assert.equal(metrics.status, 200);
        assert.equal(metrics.type, "text/plain; version=0.0.4; charset=utf-8");
        metricsText = metrics.body;
        samples = await parseMetrics(metrics.body);
        const raw = value(samples, "danmaku_rows_written_total", { table: "raw_messages" });
        return value(samples, "danmaku_queue_events") === 0 &&
          value(samples, "danmaku_messages_total") >= rooms.length * MESSAGES_PER_ROOM &&
          raw === value(samples, "danmaku_messages_total") &&
          raw === count(dbPath, "SELECT count(*) AS n FROM raw_messages");
      };
      assert.ok(
        await eventually(settled, 90_000),
        `/metrics never matched the database:\n${metricsText}`,
      );

      // Every family is HELPed and TYPEd, counters end in _total, names are danmaku_*.
      assert.ok(samples.every((s) => s.name.startsWith("danmaku_")));
      assert.ok(
        samples.filter((s) => s.type === "counter").every((s) => s.name.endsWith("_total")),
      );
      for (const family of new Set(samples.map((s) => s.family))) {
        assert.match(metricsText, new RegExp(`^# HELP ${family}`, "m"));
      }

      // Per table: rows written = rows in the database (upserting tables: at least).
      using db = new DatabaseSync(dbPath, { readOnly: true });
      const tables = samples.filter((s) => s.name === "danmaku_rows_written_total");
      assert.ok(tables.some((s) => s.labels.table === "danmaku" && s.value > 0));
      for (const { labels, value: written } of tables) {
        const rows = Number(
          db.prepare(`SELECT count(*) AS n FROM ${labels.table}`).get()?.n,
        );
        if (UPSERT_TABLES.has(labels.table)) {
          assert.ok(written >= rows, `${labels.table}: ${written} written, ${rows} rows`);
        } else assert.equal(written, rows, `rows written to ${labels.table}`);
      }

      // Per room: messages = its raw messages (every op-5 message), state live, bytes counted.
      for (const room of rooms) {
        const labels = { room: String(room) };
        const raw = Number(
          db.prepare("SELECT count(*) AS n FROM raw_messages WHERE room_id = ?").get(room)?.n,
        );
        assert.equal(value(samples, "danmaku_room_messages_total", labels), raw, `room ${room}`);
        assert.ok(raw >= MESSAGES_PER_ROOM);
        assert.equal(value(samples, "danmaku_room_state", { ...labels, state: "live" }), 1);
        assert.ok(value(samples, "danmaku_room_bytes_total", labels) > raw * 20);
        assert.ok(value(samples, "danmaku_room_last_message_age_seconds", labels) >= 0);
      }
      assert.equal(value(samples, "danmaku_dropped_events_total"), 0);
      assert.equal(value(samples, "danmaku_write_errors_total"), 0);
      assert.ok(
        value(samples, "danmaku_api_requests_total", {
          endpoint: "/xlive/web-room/v1/index/getDanmuInfo",
          result: "ok",
        }) >= rooms.length,
      );
      assert.ok(value(samples, "danmaku_process_resident_memory_bytes") > 1e6);
      const build = samples.find((s) => s.name === "danmaku_build_info");
      assert.equal(build?.labels.deno_version, "2.9.6");
      assert.match(build?.labels.schema_version ?? "", /^\d+$/);

      // /api/status says the same numbers (read until a pair is taken between two writes).
      const sameNumbers = async () => {
        const status: StatusDocument = JSON.parse((await get(`${base}api/status`)).body);
        const s = await parseMetrics((await get(`${base}metrics`)).body);
        const perRoom = status.rooms.map((r) => [r.roomId, r.messages, r.reconnects, r.state]);
        const fromMetrics = rooms.toSorted((a, b) => a - b).map((room) => {
          const labels = { room: String(room) };
          const state = s.find((x) =>
            x.name === "danmaku_room_state" && x.labels.room === String(room) && x.value === 1
          )?.labels.state;
          return [
            room,
            value(s, "danmaku_room_messages_total", labels),
            value(s, "danmaku_room_reconnects_total", labels),
            state,
          ];
        });
        lastPair = JSON.stringify({ status, fromMetrics });
        return status.version === 1 &&
          status.totals.messages === value(s, "danmaku_messages_total") &&
          status.totals.written === value(s, "danmaku_events_written_total") &&
          status.totals.dropped === value(s, "danmaku_dropped_events_total") &&
          status.totals.writeErrors === value(s, "danmaku_write_errors_total") &&
          status.totals.queue === value(s, "danmaku_queue_events") &&
          status.totals.rooms === rooms.length && status.totals.live === rooms.length &&
          JSON.stringify(perRoom) === JSON.stringify(fromMetrics);
      };
      let lastPair = "";
      assert.ok(
        await eventually(sameNumbers, 30_000),
        `/api/status and /metrics disagree: ${lastPair}`,
      );

      // Only GET/HEAD; unknown paths 404.
      const head = await fetch(`${base}metrics`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      assert.equal(await head.text(), "");
      const page = await get(base);
      assert.equal(page.type, "text/html; charset=utf-8");
      assert.match(page.body, /^<!DOCTYPE html>/i);
      assert.equal((await get(`${base}nope`)).status, 404);
      const post = await fetch(`${base}metrics`, { method: "POST" });
      await post.body?.cancel();
      assert.equal(post.status, 405);
    } finally {
      const { code, stderr } = await run.stop();
      assert.equal(code, 0, stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a logged-in collect --http shows the cookie in none of /metrics, /api/status and /", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/secret.db`;
  const secret = "c0ffee%2C1790000000%2Cbeef*77";
  const cookieFile = `${dir}/cookie.txt`;
  await Deno.writeTextFile(cookieFile, `SESSDATA=${secret}; bili_jct=0badc0de0badc0de`);
  try {
    await using sim = await startSimulator({ rooms: 2, seed: 42, rate: 100, log: () => {} });
    const rooms = liveRooms(sim);
    const run = spawnCollect([
      ...spawnedCollectFlags(dbPath, sim, rooms),
      "--cookie-file",
      cookieFile,
      "--http",
      ":0",
    ]);
    try {
      await waitFor(() => run.url() !== undefined, "the http listening line");
      const base = run.url()!;
      assert.match(base, /^http:\/\/127\.0\.0\.1:/, "a bare :PORT listens on loopback");
      await waitFor(() => count(dbPath, "SELECT count(*) AS n FROM danmaku") > 20, "rows stored");
      assert.match(run.stderr(), /logged_in=true/);
      const forms = [secret, decodeURIComponent(secret), "beef*77", "0badc0de0badc0de"];
      for (const path of ["metrics", "api/status", ""]) {
        const { status, body } = await get(`${base}${path}`);
        assert.equal(status, 200, path);
        assert.ok(body.length > 100, `/${path} is empty`);
        for (const form of forms) assert.ok(!body.includes(form), `the cookie is in /${path}`);
      }
      const metrics = (await get(`${base}metrics`)).body;
      assert.ok(
        /danmaku_room_messages_total\{room="\d+"\} [1-9]/.test(metrics),
        "the run collected",
      );
      // A client that never finishes its request does not hold the stop up.
      const url = new URL(base);
      using stuck = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
      await stuck.write(new TextEncoder().encode("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
      const { code, stderr } = await run.stop();
      assert.equal(code, 0, stderr);
      assert.match(stderr, /msg="stopped"/);
    } finally {
      await run.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad --http input is one line `error: …` and exit 2 before anything collects", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/never.db`;
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const cases: [string[], RegExp][] = [
    [["--http", `127.0.0.1:${busy.addr.port}`], /^error: Cannot listen on --http 127\.0\.0\.1:/],
    [["--http", "0.0.0.0:0"], /not a loopback address.*--http-public/],
    [["--http", "10.1.2.3:9100"], /not a loopback address.*--http-public/],
    [["--http", "localhost:http"], /^error: Cannot parse --http "localhost:http": expected/],
    [["--http", "65536"], /^error: Cannot parse --http "65536"/],
    [["--http", "300.1.1.1:80", "--http-public"], /^error: Cannot parse --http/],
  ];
  try {
    for (const [flags, pattern] of cases) {
      const { code, stderr } = await spawnCollect([
        "--db",
        dbPath,
        "--api-base",
        "http://127.0.0.1:9",
        "--rooms",
        "1",
        "--duration", // if the input were accepted, the run still ends
        "20s",
        ...flags,
      ]).exit();
      const lines = stderr.trimEnd().split("\n");
      assert.equal(code, 2, `${flags.join(" ")}: ${stderr}`);
      assert.equal(lines.length, 1, `${flags.join(" ")}: one line, got:\n${stderr}`);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], pattern);
      assert.ok(!(await exists(dbPath)), `${flags.join(" ")}: nothing started (no database)`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--http-public lets --http listen on a non-loopback address", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using sim = await startSimulator({ rooms: 1, seed: 43, rate: 50, log: () => {} });
    const run = spawnCollect([
      ...spawnedCollectFlags(`${dir}/public.db`, sim, liveRooms(sim)),
      "--http",
      "0.0.0.0:0",
      "--http-public",
    ]);
    try {
      await waitFor(() => run.url() !== undefined, "the http listening line");
      const port = new URL(run.url()!).port;
      assert.match(run.url()!, /^http:\/\/0\.0\.0\.0:\d+\/$/);
      const reply = await get(`http://127.0.0.1:${port}/api/status`);
      assert.ok(reply.status === 200 || reply.status === 503, String(reply.status));
    } finally {
      const { code, stderr } = await run.stop();
      assert.equal(code, 0, stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Polls an async condition every 200 ms until it holds (true) or `timeoutMs` passes (false). */
async function eventually(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
