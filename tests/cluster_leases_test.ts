/**
 * Room leases against a real PostgreSQL: in-process lease managers with fake room sets (a
 * short ttl), waiting on conditions.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { fairShare } from "../src/cluster/fair_share.ts";
import { LeaseManager, type LeaseManagerOptions } from "../src/cluster/lease_manager.ts";
import type { WantedRooms } from "../src/cluster/wanted_rooms.ts";
import { ConfigError } from "../src/errors.ts";
import { systemClock } from "../src/util/clock.ts";
import { waitFor } from "./support/collect_helpers.ts";
import { privateCluster, testDatabase, withoutPostgres } from "./support/postgres.ts";

const TTL_MS = 1500;

/** The rooms a node runs, as its supervisor would. */
class FakeRooms {
  readonly running = new Set<number>();
  adds = 0;
  removes = 0;
  add(roomId: number): boolean {
    if (this.running.has(roomId)) return false;
    this.adds++;
    this.running.add(roomId);
    return true;
  }
  remove(roomId: number): Promise<boolean> {
    this.removes++;
    return Promise.resolve(this.running.delete(roomId));
  }
}

/** A running node: its manager, rooms and log. */
interface TestNode extends AsyncDisposable {
  manager: LeaseManager;
  rooms: FakeRooms;
  log: string[];
  /** Ends `run` (releasing the leases unless opened with releaseOnStop false) and closes. */
  stop(): Promise<void>;
}

/** Opens a lease manager for a test node (not yet running), with a log it keeps. */
async function openNode(
  url: string,
  nodeId: string,
  options: Partial<LeaseManagerOptions>,
): Promise<{ manager: LeaseManager; rooms: FakeRooms; log: string[] }> {
  const rooms = new FakeRooms();
  const log: string[] = [];
  const manager = await LeaseManager.open({
    url,
    nodeId,
    ttlMs: TTL_MS,
    capacity: 100,
    rooms,
    clock: systemClock,
    log: (line) => log.push(line),
    settleMs: 0,
    ...options,
  });
  return { manager, rooms, log };
}

async function startNode(
  url: string,
  nodeId: string,
  options: Partial<LeaseManagerOptions> = {},
): Promise<TestNode> {
  const { manager, rooms, log } = await openNode(url, nodeId, options);
  return runNode(manager, rooms, log);
}

function runNode(manager: LeaseManager, rooms: FakeRooms, log: string[]): TestNode {
  const controller = new AbortController();
  const running = manager.run(controller.signal);
  const stop = async () => {
    controller.abort();
    await running;
    await manager.close();
  };
  return { manager, rooms, log, stop, [Symbol.asyncDispose]: stop };
}

/** Opens every manager first, then runs them: nodes that start together. */
async function startTogether(
  url: string,
  ids: readonly string[],
  options: Partial<LeaseManagerOptions> = {},
): Promise<TestNode[]> {
  const opened = [];
  for (const nodeId of ids) opened.push(await openNode(url, nodeId, options));
  return opened.map(({ manager, rooms, log }) => runNode(manager, rooms, log));
}

async function stopAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
}

/** Which nodes run each room. */
function holders(nodes: readonly TestNode[]): Map<number, string[]> {
  const map = new Map<number, string[]>();
  for (const node of nodes) {
    for (const room of node.rooms.running) {
      map.set(room, [...(map.get(room) ?? []), node.manager.nodeId]);
    }
  }
  return map;
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** Lease rows as the server has them. */
async function leaseRows(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql<{ room_id: string; slot: number; node_id: string | null; live: boolean }[]>`
      SELECT room_id::text, slot, node_id, expires_at > now() AS live FROM cluster_leases
      ORDER BY room_id, slot`).map((row) => ({ ...row, room_id: Number(row.room_id) }));
  } finally {
    await sql.end();
  }
}

async function execute(url: string, text: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(text);
  } finally {
    await sql.end();
  }
}

Deno.test("fairShare() spreads slots evenly within each node's capacity", () => {
  assert.equal(fairShare(12, [100, 100, 100]), 4);
  assert.equal(fairShare(10, [100, 100, 100]), 4);
  assert.equal(fairShare(10, [2, 100]), 8);
  assert.equal(fairShare(10, [3, 3]), 3);
  assert.equal(fairShare(0, [5]), 0);
  assert.equal(fairShare(5, []), 0);
});

Deno.test({
  name: "nodes that start together split the wanted rooms evenly and no room is held twice",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const nodes = await startTogether(db.url, ["a", "b", "c"]);
  try {
    await nodes[0].manager.want(range(1, 12).map((roomId) => ({ roomId })));
    // On a loaded box a node may renew late, and a slot free for a whole interval is claimed
    // beyond the share (rooms are never left unheld); the offers then even the split out.
    const even = () =>
      holders(nodes).size === 12 && nodes.every((node) => node.rooms.running.size === 4);
    await waitFor(even, "the 12 rooms held 4, 4 and 4");
    for (const [room, by] of holders(nodes)) assert.equal(by.length, 1, `room ${room}: ${by}`);
    const rows = await leaseRows(db.url);
    assert.equal(rows.length, 12);
    for (const row of rows) {
      const node = nodes.find((n) => n.manager.nodeId === row.node_id);
      assert.ok(node?.rooms.running.has(row.room_id), `room ${row.room_id} runs on its holder`);
    }
  } finally {
    await stopAll(nodes);
  }
});

Deno.test({
  name: "the rooms of a node that stops renewing are held by the others within ttl + one renewal",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const [dead] = await startTogether(db.url, ["dead"], { releaseOnStop: false });
  const alive = await startTogether(db.url, ["b", "c"]);
  const nodes = [dead, ...alive];
  try {
    await dead.manager.want(range(1, 9).map((roomId) => ({ roomId })));
    await waitFor(() => holders(nodes).size === 9, "all 9 rooms to be held");
    const orphans = [...dead.rooms.running];
    assert.ok(orphans.length > 0, "the node to kill holds rooms");
    await dead.stop(); // no release: its leases run out on the server's clock
    const killedAt = Date.now();
    await waitFor(
      () => holders(alive).size === 9,
      "the other nodes to hold every room",
      TTL_MS + TTL_MS / 3 + 3000,
    );
    // Not taken while the dead node's leases were still valid.
    assert.ok(Date.now() - killedAt >= TTL_MS - 600, "waited for the leases to expire");
    // A node that claimed beyond its share on a loaded box hands rooms over to the other, and
    // both run a handed-over room for a while (overlap instead of a gap): wait for that to end.
    const once = () => [...holders(alive).values()].every((by) => by.length === 1);
    await waitFor(once, "every room to run on one node once handovers end");
    const rows = await leaseRows(db.url);
    assert.equal(rows.length, 9);
    for (const row of rows) {
      const node = alive.find((n) => n.manager.nodeId === row.node_id);
      assert.ok(
        row.live && node?.rooms.running.has(row.room_id),
        `room ${row.room_id} runs on its holder`,
      );
    }
  } finally {
    await stopAll(alive);
  }
});

Deno.test({
  name: "a clean stop releases every lease at once and the others take the rooms",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const nodes = await startTogether(db.url, ["a", "b"]);
  try {
    await nodes[0].manager.want(range(1, 6).map((roomId) => ({ roomId })));
    await waitFor(() => holders(nodes).size === 6, "all 6 rooms to be held");
    await nodes[0].stop();
    const rows = await leaseRows(db.url);
    assert.deepEqual(
      rows.filter((row) => row.node_id === "a"),
      [],
      "nothing names the stopped node",
    );
    assert.equal(
      nodes[0].rooms.running.size,
      3,
      "its rooms stop with the supervisor, not one by one",
    );
    await waitFor(() => nodes[1].rooms.running.size === 6, "b to hold every room", 2 * TTL_MS);
  } finally {
    await stopAll(nodes.slice(1));
  }
});

Deno.test({
  name:
    "--replicas 2 gives each room two different nodes, and never two slots to one node, also after one leaves",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const nodes = await startTogether(db.url, ["a", "b", "c"], { replicas: 2 });
  try {
    await nodes[0].manager.want(range(1, 6).map((roomId) => ({ roomId })));
    await waitFor(
      () => [...holders(nodes).values()].filter((by) => by.length === 2).length === 6,
      "every room on two nodes",
    );
    const rows = await leaseRows(db.url);
    assert.equal(rows.length, 12);
    for (const room of range(1, 6)) {
      const of = rows.filter((row) => row.room_id === room);
      assert.deepEqual(of.map((row) => row.slot), [0, 1]);
      assert.notEqual(of[0].node_id, of[1].node_id, `room ${room} on two different nodes`);
      assert.ok(of.every((row) => row.node_id !== null && row.live));
      assert.ok(nodes.find((n) => n.manager.nodeId === of[0].node_id)?.manager.holdsPrimary(room));
      assert.ok(!nodes.find((n) => n.manager.nodeId === of[1].node_id)?.manager.holdsPrimary(room));
    }
    // One node leaves: the two others take its slots, still never both slots of one room.
    await nodes[2].stop();
    await waitFor(
      () => nodes.slice(0, 2).every((node) => node.rooms.running.size === 6),
      "both remaining nodes on every room",
    );
    const after = await leaseRows(db.url);
    for (const room of range(1, 6)) {
      const of = after.filter((row) => row.room_id === room);
      assert.deepEqual(new Set(of.map((row) => row.node_id)), new Set(["a", "b"]), `room ${room}`);
    }
  } finally {
    await stopAll(nodes.slice(0, 2));
  }
});

Deno.test({
  name: "capacity caps each node; slot 0 of every room comes before any slot 1, most popular first",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const nodes = await startTogether(db.url, ["a", "b"], { capacity: 4, replicas: 2 });
  try {
    // Five rooms, popularity 10..50; 8 slots of capacity for 10 wanted slots.
    await nodes[0].manager.want(
      range(1, 5).map((roomId) => ({ roomId, popularity: roomId * 10 })),
      "discovery",
    );
    await waitFor(
      () => nodes.every((node) => node.rooms.running.size === 4),
      "both nodes at capacity",
    );
    // A few more renewals: nothing beyond capacity is claimed.
    const renewals = nodes[0].manager.renewals;
    await waitFor(() => nodes[0].manager.renewals >= renewals + 3, "three more renewals");
    assert.deepEqual(nodes.map((node) => node.rooms.running.size), [4, 4]);
    const held = (await leaseRows(db.url)).filter((row) => row.node_id !== null);
    assert.deepEqual(held.filter((row) => row.slot === 0).map((row) => row.room_id), [
      1,
      2,
      3,
      4,
      5,
    ]);
    // The 3 replica slots left go to the most popular rooms.
    assert.deepEqual(held.filter((row) => row.slot === 1).map((row) => row.room_id), [3, 4, 5]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test({
  name:
    "a node that joins later gets its share: rooms are handed over, started there before they stop here, never primary on both",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const [first] = await startTogether(db.url, ["first"]);
  await first.manager.want(range(1, 8).map((roomId) => ({ roomId })));
  await waitFor(() => first.rooms.running.size === 8, "the first node to hold every room");
  const events: string[] = [];
  const track = (node: TestNode) => {
    const { add, remove } = node.rooms;
    node.rooms.add = (roomId) => {
      events.push(`${node.manager.nodeId} add ${roomId}`);
      return add.call(node.rooms, roomId);
    };
    node.rooms.remove = (roomId) => {
      events.push(`${node.manager.nodeId} remove ${roomId}`);
      return remove.call(node.rooms, roomId);
    };
  };
  track(first);
  const [later] = await startTogether(db.url, ["later"]);
  track(later);
  const nodes = [first, later];
  let bothPrimary = 0;
  try {
    await waitFor(
      () => {
        for (const room of range(1, 8)) {
          if (nodes.every((node) => node.manager.holdsPrimary(room))) bothPrimary++;
        }
        return nodes.every((node) => node.rooms.running.size === 4) &&
          holders(nodes).size === 8;
      },
      "an even split after the handover",
      10 * TTL_MS,
    );
    assert.equal(bothPrimary, 0, "no room stored its primary tables on both nodes");
    const moved = [...later.rooms.running];
    for (const room of moved) {
      const added = events.indexOf(`later add ${room}`);
      const removed = events.indexOf(`first remove ${room}`);
      assert.ok(added >= 0 && removed > added, `room ${room}: ${events.join(", ")}`);
    }
    assert.equal(first.manager.handedOver, 4);
    assert.equal(first.manager.lost, 0);
    assert.ok(moved.every((room) => later.manager.holdsPrimary(room)));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test({
  name:
    "a slot only nodes at their share can take (the node below it holds the room) is taken after one renewal interval",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const options = { replicas: 2 };
  const [a] = await startTogether(db.url, ["a"], options);
  await a.manager.want(range(1, 4).map((roomId) => ({ roomId })));
  await waitFor(() => a.rooms.running.size === 4, "a on slot 0 of rooms 1-4");
  const [c] = await startTogether(db.url, ["c"], options);
  await waitFor(() => c.rooms.running.size === 4, "c on slot 1 of rooms 1-4");
  const [b] = await startTogether(db.url, ["b"], options);
  const nodes = [a, b, c];
  try {
    await b.manager.want([{ roomId: 5 }, { roomId: 6 }]);
    // b (share 4) takes slot 0 of rooms 5 and 6 but cannot take their slot 1; a and c are at
    // their share of 4 and take those slots once they stayed free for a whole interval.
    await waitFor(
      () => [...holders(nodes).values()].filter((by) => by.length === 2).length === 6,
      "every room on two nodes",
      10 * TTL_MS,
    );
    const rows = await leaseRows(db.url);
    assert.ok(rows.every((row) => row.node_id !== null), "every slot held");
    for (const room of range(1, 6)) {
      const of = rows.filter((row) => row.room_id === room);
      assert.notEqual(of[0].node_id, of[1].node_id, `room ${room} on two different nodes`);
    }
  } finally {
    await stopAll(nodes);
  }
});

Deno.test({
  name: "a second live node with the same --node-id is refused with one line",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  await using _first = await startNode(db.url, "twin");
  await assert.rejects(() => startNode(db.url, "twin"), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(
      error.message,
      /^Cannot start node "twin": a live node with this --node-id is registered in "postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_\w+" \(host .+, pid \d+, expires in \d+ s unless it renews\); give each collector its own --node-id$/,
    );
    assert.ok(!error.message.includes(db.password), "no password in the message");
    return true;
  });
});

Deno.test({
  name: "registering forgets nodes whose registration expired a day ago, and only those",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  await using _first = await startNode(db.url, "first");
  await execute(
    db.url,
    `INSERT INTO cluster_nodes (node_id, session, host, pid, capacity, expires_at) VALUES
      ('gone', 's', 'h', 1, 1, now() - interval '25 hours'),
      ('recent', 's', 'h', 2, 1, now() - interval '1 hour')`,
  );
  await using _second = await startNode(db.url, "second");
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const ids = (await sql<{ node_id: string }[]>`SELECT node_id FROM cluster_nodes ORDER BY 1`)
      .map((row) => row.node_id);
    assert.deepEqual(ids, ["first", "recent", "second"]);
  } finally {
    await sql.end();
  }
});

Deno.test({
  name: "a lease row edited by hand to another node makes the room stop on this one",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  await using node = await startNode(db.url, "a");
  await node.manager.want(range(1, 3).map((roomId) => ({ roomId })));
  await waitFor(() => node.rooms.running.size === 3, "3 rooms held");
  await execute(
    db.url,
    "UPDATE cluster_leases SET node_id = 'elsewhere', expires_at = now() + interval '1 hour' WHERE room_id = 2",
  );
  await waitFor(() => !node.rooms.running.has(2), "room 2 to stop here", 4 * TTL_MS);
  assert.deepEqual([...node.rooms.running].sort(), [1, 3]);
  assert.equal(node.manager.lost, 1);
  assert.ok(node.log.some((line) => line.includes('msg="lease lost') && line.includes("room=2")));
});

Deno.test({
  name: "only one node runs discovery at a time, and another takes over when it dies",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const running = new Set<string>();
  let overlaps = 0;
  const discover =
    (nodeId: string, room: number) => async (signal: AbortSignal, wanted: WantedRooms) => {
      if (running.size > 0) overlaps++;
      running.add(nodeId);
      wanted.add(room, { roomId: room, online: room });
      await systemClock.sleep(1e9, signal);
      running.delete(nodeId);
    };
  const [first] = await startTogether(db.url, ["first"], {
    discover: discover("first", 101),
    releaseOnStop: false,
  });
  const [second] = await startTogether(db.url, ["second"], { discover: discover("second", 102) });
  try {
    await waitFor(() => running.size === 1, "one node to discover");
    const holder = running.has("first") ? first : second;
    const other = holder === first ? second : first;
    const renewals = other.manager.renewals;
    await waitFor(() => other.manager.renewals >= renewals + 3, "three renewals of the other");
    assert.equal(running.size, 1, "still one discoverer");
    assert.ok(holder.manager.holdsDiscovery && !other.manager.holdsDiscovery);
    // What discovery adds becomes wanted and gets held.
    await waitFor(() => holders([first, second]).size === 1, "the discovered room to be held");
    if (holder === second) {
      await second.stop(); // a clean stop: the lease is released at once
    } else {
      await first.stop(); // killed: the lease expires
    }
    await waitFor(
      () => running.has(other.manager.nodeId),
      "the other node to take over",
      4 * TTL_MS,
    );
    assert.equal(overlaps, 0, "never two discoverers at once");
    await waitFor(
      () => other.rooms.running.size === 2,
      "both discovered rooms held by the survivor",
    );
  } finally {
    await stopAll([first, second]);
  }
});

Deno.test({
  name: "a node stopped while it waits to take the discovery lease does not start discovery",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  let starts = 0;
  const opened = await openNode(db.url, "late", {
    discover: async (signal) => {
      starts++;
      await systemClock.sleep(1e9, signal);
    },
  });
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  await sql`INSERT INTO cluster_singletons (name, node_id, session, expires_at)
    VALUES ('discovery', 'ghost', 'ghost', now() + interval '1 hour')`;
  const node = runNode(opened.manager, opened.rooms, opened.log);
  let stopped: Promise<void> | undefined;
  try {
    const renewals = node.manager.renewals;
    await waitFor(() => node.manager.renewals >= renewals + 2, "two renewals under the ghost");
    assert.equal(starts, 0, "the ghost holds the lease");
    // The ghost's lease expires in a transaction that holds its row, so the node's next try for
    // the lease waits on the row; the node is stopped while it waits, then the row is let go.
    await sql.begin(async (tx) => {
      await tx`UPDATE cluster_singletons SET expires_at = now() - interval '1 hour'`;
      const deadline = Date.now() + 10_000;
      while (
        (await sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
          AND query LIKE '%INSERT INTO cluster_singletons%'`).length === 0
      ) {
        if (Date.now() > deadline) throw new Error("Timed out waiting for the lease's row");
        await systemClock.sleep(20);
      }
      stopped = node.stop();
    });
    await stopped;
    assert.equal(starts, 0, "no discovery started by a stopping node");
    assert.equal(node.manager.holdsDiscovery, false);
  } finally {
    await (stopped ?? node.stop());
    await sql.end();
  }
});

Deno.test({
  name: "a replica whose slot-0 holder dies moves to slot 0 without reconnecting",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  const [dead] = await startTogether(db.url, ["dead"], { releaseOnStop: false, replicas: 2 });
  await dead.manager.want(range(1, 4).map((roomId) => ({ roomId })));
  await waitFor(() => dead.rooms.running.size === 4, "the first node to hold every slot 0");
  const [survivor] = await startTogether(db.url, ["survivor"], { replicas: 2 });
  try {
    await waitFor(() => survivor.rooms.running.size === 4, "the second node to hold every slot 1");
    assert.ok(range(1, 4).every((room) => !survivor.manager.holdsPrimary(room)));
    await dead.stop();
    await waitFor(
      () => range(1, 4).every((room) => survivor.manager.holdsPrimary(room)),
      "the survivor to hold slot 0 of every room",
      4 * TTL_MS,
    );
    assert.equal(survivor.rooms.adds, 4, "no room was started again");
    assert.equal(survivor.rooms.removes, 0);
  } finally {
    await stopAll([survivor]);
  }
});

Deno.test({
  name:
    "while PostgreSQL is down a node keeps its rooms until its leases would expire, then gets them back",
  ignore: withoutPostgres,
}, async () => {
  await using cluster = await privateCluster();
  const url = await cluster.createDatabase("leases");
  const node = await startNode(url, "a", { ttlMs: 3000 });
  try {
    await node.manager.want(range(1, 3).map((roomId) => ({ roomId })));
    await waitFor(() => node.rooms.running.size === 3, "3 rooms held");
    await cluster.stopServer();
    await waitFor(
      () => node.log.some((line) => line.includes('msg="Cannot renew leases')),
      "the renewal failure to be logged",
    );
    assert.equal(node.rooms.running.size, 3, "rooms kept while the leases may still be valid");
    assert.equal(node.log.filter((line) => line.includes("Cannot renew leases")).length, 1);
    await waitFor(() => node.rooms.running.size === 0, "the rooms to stop once expired", 20_000);
    assert.ok(node.log.some((line) => line.includes("Leases expired unrenewed")));
    await cluster.startServer();
    await waitFor(() => node.rooms.running.size === 3, "the rooms back after the restart", 30_000);
    assert.ok(node.log.some((line) => line.includes("lease renewals succeed again")));
    assert.ok(!node.log.join("\n").includes(cluster.password), "no password in the log");
  } finally {
    await node.stop();
  }
});
