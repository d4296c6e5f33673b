/**
 * A node collecting 50 streaming rooms into its own throwaway PostgreSQL while the server is
 * restarted (`pg_ctl restart`), then stopped until a write fails and started again: the
 * flusher keeps the batches and retries them, and every message ends up stored once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import {
  readTruth,
  similarRooms,
  startNode,
  startSimulatorProcess,
  stopGracefully,
  storedDanmaku,
  truthDanmaku,
  truthMessageCount,
  waitUntil,
} from "../scripts/cluster_demo/harness.ts";
import { privateCluster, withoutPostgres } from "./support/postgres.ts";

const ROOMS = 50;
const MESSAGES = 300;

Deno.test({
  name:
    "a node writing 50 streaming rooms through PostgreSQL restarts keeps every message and stores each once",
  ignore: withoutPostgres,
}, async () => {
  await using cluster = await privateCluster();
  const url = await cluster.createDatabase("restart");
  const dir = await Deno.makeTempDir({ prefix: "pg-restart-" });
  const truthPath = join(dir, "truth.jsonl");
  const sim = await startSimulatorProcess({
    rooms: 400,
    rate: 16,
    messages: MESSAGES,
    truth: truthPath,
    seed: "restart",
  });
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  let node: ReturnType<typeof startNode> | undefined;
  try {
    const rooms = await similarRooms(sim.api, ROOMS, 50);
    node = startNode({
      id: "solo",
      db: url,
      api: sim.api,
      rooms,
      maxConnections: 100,
      cwd: dir,
      leaseTtlMs: 30_000,
      flushIntervalMs: 200,
    });
    const running = node;
    const alive = () => {
      if (exited) throw new Error(`the node exited early:\n${running.output().slice(-3000)}`);
    };
    let exited = false;
    node.exited.then(() => exited = true);
    const total = ROOMS * MESSAGES;
    const sent = async () => truthMessageCount(await readTruth(truthPath));
    const storedCount = async () => {
      try {
        const [row] = await sql<{ n: string }[]>`SELECT count(*)::text AS n FROM danmaku`;
        return Number(row.n);
      } catch {
        return 0; // the schema is not there yet, or the server is restarting
      }
    };

    // Under load: rows are being written, a fifth of the messages sent.
    await waitUntil(
      async () => {
        alive();
        return await storedCount() > 0 && await sent() >= total / 5;
      },
      "rows to be written",
      { timeoutMs: 120_000 },
    );
    await cluster.restart();

    // Then a longer outage: stopped until a write fails, then started again.
    await waitUntil(
      async () => {
        alive();
        return await sent() >= total / 2;
      },
      "half of the messages to be sent",
      { timeoutMs: 120_000 },
    );
    await cluster.stopServer();
    await waitUntil(
      () => {
        alive();
        return node!.output().includes("Writes are failing");
      },
      "a write to fail while the server is down",
      { timeoutMs: 60_000 },
    );
    await cluster.startServer();

    await waitUntil(
      async () => {
        alive();
        return await sent() >= total;
      },
      "every message to be sent",
      { timeoutMs: 180_000 },
    );
    const truth = await readTruth(truthPath);
    const expected = truthDanmaku(truth);
    await waitUntil(
      async () => {
        alive();
        return await storedCount() >= expected.size;
      },
      "every danmaku to be written",
      { timeoutMs: 60_000 },
    ).catch(() => {}); // what is missing then is reported below

    const { status, killed } = await stopGracefully(node);
    const output = node.output();
    assert.ok(!killed, `the node stops within 30 s of SIGINT:\n${output.slice(-3000)}`);
    assert.equal(status.code, 0, `the node stops cleanly:\n${output.slice(-3000)}`);
    assert.match(output, /Writes succeed again/, "the failed writes were retried");
    assert.doesNotMatch(output, /^\s+at /m, "no stack trace");
    assert.ok(!output.includes(cluster.password), "the password is in no log line");

    // Every danmaku once; every gift, super chat, guard buy and interaction once.
    const stored = await storedDanmaku(sql);
    const missing = [...expected.keys()].filter((key) => !stored.has(key));
    assert.deepEqual(
      missing,
      [],
      `no danmaku missing (${missing.length} of ${expected.size}); the node said:\n${
        output.slice(-4000)
      }`,
    );
    assert.deepEqual([...stored].filter(([, n]) => n > 1), [], "no danmaku twice");
    assert.equal(stored.size, expected.size);
    const sentOf = (cmd: string) =>
      new Set(truth.filter((r) => r.cmd === cmd).map((r) => `${r.room_id}:${r.id}`)).size;
    for (
      const [table, cmd] of [
        ["gifts", "SEND_GIFT"],
        ["super_chats", "SUPER_CHAT_MESSAGE"],
        ["guard_buys", "GUARD_BUY"],
        ["interactions", "INTERACT_WORD_V2"],
      ]
    ) {
      const [row] = await sql<{ n: string }[]>`SELECT count(*)::text AS n FROM ${sql(table)}`;
      assert.equal(Number(row.n), sentOf(cmd), `${table}: one row per ${cmd}`);
    }
  } finally {
    node?.kill("SIGKILL");
    await node?.exited;
    await sim.stop();
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
