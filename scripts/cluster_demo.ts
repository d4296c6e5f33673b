/**
 * `deno task cluster-demo`: the simulator (`main.ts simulate --messages N --truth FILE`), a
 * throwaway PostgreSQL and three `main.ts collect` nodes whose `--max-connections` make them
 * split the rooms. Half-way one node is killed with SIGKILL; the demo prints the rooms each node
 * held before and after (from `cluster_leases`) and what was stored against the simulator's
 * truth. Ctrl+C stops everything cleanly.
 */
import { join } from "node:path";
import postgres from "postgres";
import { formatDuration } from "../src/util/duration.ts";
import { CLUSTER_DEMO_COMMAND } from "./cluster_demo/command.ts";
import {
  everyRoomHeld,
  liveLeases,
  type NodeProcess,
  readTruth,
  roomsByNode,
  similarRooms,
  startNode,
  startSimulatorProcess,
  storedDanmaku,
  truthDanmaku,
  truthMessageCount,
  waitUntil,
} from "./cluster_demo/harness.ts";
import { startThrowawayCluster } from "./postgres/throwaway_cluster.ts";
import { scriptArgs } from "./script_args.ts";

const NODE_IDS = ["a", "b", "c"] as const;
const say = (line: string) => console.log(line);
const n = (value: number) => value.toLocaleString("en-US");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

if (import.meta.main) {
  const values = scriptArgs(CLUSTER_DEMO_COMMAND, Deno.args);
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) return;
    console.error("\nstopping: the nodes write what they hold, then everything is removed");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 0;
  try {
    await demo(values, stop.signal);
  } catch (error) {
    if (!stop.signal.aborted) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      code = 1;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  Deno.exit(code);
}

interface DemoOptions {
  rooms: number;
  messages: number;
  leaseTtl: number;
  flushInterval: number;
}

async function demo(options: DemoOptions, signal: AbortSignal): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cluster-demo-" });
  const truthPath = join(dir, "truth.jsonl");
  const nodes: NodeProcess[] = [];
  await using cleanup = new AsyncDisposableStack();
  cleanup.defer(() => Deno.remove(dir, { recursive: true }));

  const pg = await startThrowawayCluster();
  cleanup.defer(() => pg.stop());
  const url = await pg.createDatabase("danmaku");
  say(`PostgreSQL   throwaway cluster on 127.0.0.1:${pg.port}, database danmaku`);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  cleanup.defer(() => sql.end());

  const sim = await startSimulatorProcess({
    rooms: 200,
    rate: 12,
    messages: options.messages,
    truth: truthPath,
    seed: "cluster-demo",
  });
  cleanup.defer(() => sim.stop());
  const rooms = await similarRooms(sim.api, options.rooms, 20);
  say(`simulator    ${rooms.length} rooms, ${n(options.messages)} messages each`);

  const capacity = Math.ceil(options.rooms / 2);
  for (const id of NODE_IDS) {
    nodes.push(startNode({
      id,
      db: url,
      api: sim.api,
      rooms,
      maxConnections: capacity,
      cwd: dir,
      leaseTtlMs: options.leaseTtl,
      flushIntervalMs: options.flushInterval,
    }));
  }
  cleanup.defer(() => stopNodes(nodes));
  say(
    `nodes        a, b, c: --max-connections ${capacity} --lease-ttl ${
      formatDuration(options.leaseTtl)
    }`,
  );
  const exited = new Set<NodeProcess>();
  for (const node of nodes) node.exited.then(() => exited.add(node));
  /** Throws when a node other than `except` died. */
  const alive = (except = "") => {
    for (const node of exited) {
      if (node.id !== except) {
        throw new Error(`node ${node.id} exited:\n${node.output().slice(-2000)}`);
      }
    }
  };

  const ids = [...NODE_IDS];
  let leases = await liveLeases(sql).catch(() => []);
  await waitUntil(
    async () => {
      alive();
      leases = await liveLeases(sql).catch(() => []);
      return everyRoomHeld(leases, rooms, 1, ids);
    },
    "every room to be held",
    { timeoutMs: 120_000, signal },
  );
  const before = roomsByNode(leases);
  say(`held         ${heldLine(before)}`);

  const total = rooms.length * options.messages;
  await waitUntil(
    async () => {
      alive();
      return truthMessageCount(await readTruth(truthPath)) >= total / 2;
    },
    "half of the messages",
    { timeoutMs: 300_000, signal },
  );
  leases = await liveLeases(sql);
  const half = roomsByNode(leases);
  const victimId = [...half].sort((x, y) => y[1].length - x[1].length)[0][0];
  const victim = nodes.find((node) => node.id === victimId)!;
  const killAt = Date.now();
  victim.kill("SIGKILL");
  await victim.exited;
  say(
    `half-way     SIGKILL node ${victimId} (it held ${half.get(victimId)?.length ?? 0} rooms)`,
  );

  const survivors = ids.filter((id) => id !== victimId);
  await waitUntil(
    async () => {
      alive(victimId);
      leases = await liveLeases(sql);
      return everyRoomHeld(leases, rooms, 1, survivors);
    },
    "the others to take its rooms over",
    { timeoutMs: 120_000, signal },
  );
  const after = roomsByNode(leases);
  say(`taken over   after ${seconds(Date.now() - killAt)}: ${heldLine(after)}`);

  await waitUntil(
    async () => {
      alive(victimId);
      return truthMessageCount(await readTruth(truthPath)) >= total;
    },
    "every message",
    { timeoutMs: 600_000, signal },
  );
  say(`sent         all ${n(total)} messages; stopping ${survivors.join(" and ")} (SIGINT)`);
  await stopNodes(nodes);

  const truth = await readTruth(truthPath);
  const expected = truthDanmaku(truth);
  const stored = await storedDanmaku(sql);
  let missing = 0;
  let missingLate = 0;
  for (const [key, record] of expected) {
    if (stored.has(key)) continue;
    missing++;
    if ((record.at ?? 0) >= killAt - options.flushInterval - 1000) missingLate++;
  }
  const twice = [...stored.values()].filter((count) => count > 1).length;

  say("");
  say("node   rooms before   rooms after");
  for (const id of NODE_IDS) {
    const mark = id === victimId ? "   (killed)" : "";
    say(
      `${id.padEnd(6)} ${String(before.get(id)?.length ?? 0).padStart(12)}` +
        `   ${String(after.get(id)?.length ?? 0).padStart(11)}${mark}`,
    );
  }
  say("");
  say(`danmaku sent ${n(expected.size)}, stored ${n(stored.size)}, stored twice ${n(twice)}`);
  say(
    missing === 0
      ? "missing      none"
      : `missing      ${n(missing)}, ${
        missing === missingLate ? "all" : `${n(missingLate)} of them`
      } from node ${victimId}'s last flush before the kill`,
  );
}

/** `a 4, b 4, c 4`. */
function heldLine(held: Map<string, number[]>): string {
  return NODE_IDS.map((id) => `${id} ${held.get(id)?.length ?? 0}`).join(", ");
}

/** SIGINT to every node still running (they write what they hold), SIGKILL after 30 s. */
async function stopNodes(nodes: readonly NodeProcess[]): Promise<void> {
  for (const node of nodes) node.kill("SIGINT");
  const timer = setTimeout(() => {
    for (const node of nodes) node.kill("SIGKILL");
  }, 30_000);
  await Promise.all(nodes.map((node) => node.exited));
  clearTimeout(timer);
}
