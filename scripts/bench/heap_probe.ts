/**
 * `deno run -A scripts/bench/heap_probe.ts [--rooms N] [--base N] [--top N] [--api-rate R]
 * [--connect-rate R] [--settle S] [--timeline 5,10,20] [--closure-locations] [--strings]
 * [--sockets M]`: what an idle room costs the collector, by constructor. Runs `main.ts collect`
 * (the flags of `deno task start`, plus `--inspect`) against the simulator with `--base` idle
 * rooms, then with `--rooms`; in each, once every room is live and `--settle` seconds (2) passed,
 * reads RSS, asks V8 for a full GC over the inspector (Chrome DevTools Protocol over WebSocket),
 * reads RSS again and takes a heap snapshot. Prints RSS per room before and after the GC and the
 * per-room difference of the two snapshots, grouped by node type and constructor name (closures
 * also by where they are defined, strings by their start and length, when asked). A tool for
 * issue 14's measurements, not a test.
 */
import { parseArgs } from "node:util";
import { IDLE_SIMULATOR_ARGS } from "./collect_suite.ts";
import { roomIds, ROOT, sleep, startChild, taskV8Flags, usage } from "./processes.ts";

/** One row of a heap snapshot summary: node type + name, how many, bytes. */
interface Group {
  count: number;
  bytes: number;
}

/** A CDP client over the inspector's WebSocket, enough for HeapProfiler. */
class Inspector implements Disposable {
  readonly #socket: WebSocket;
  #next = 1;
  readonly #waiting = new Map<number, (result: unknown) => void>();
  readonly #chunks: string[] = [];

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        method?: string;
        params?: { chunk?: string };
        result?: unknown;
      };
      if (message.method === "HeapProfiler.addHeapSnapshotChunk") {
        this.#chunks.push(message.params?.chunk ?? "");
      } else if (message.id !== undefined) {
        this.#waiting.get(message.id)?.(message.result);
        this.#waiting.delete(message.id);
      }
    };
  }

  static async open(port: number): Promise<Inspector> {
    const deadline = performance.now() + 30_000;
    for (;;) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
          webSocketDebuggerUrl: string;
        }[];
        const socket = new WebSocket(list[0].webSocketDebuggerUrl);
        await new Promise((resolve, reject) => {
          socket.onopen = resolve;
          socket.onerror = reject;
        });
        return new Inspector(socket);
      } catch (error) {
        if (performance.now() > deadline) throw error;
        await sleep(200);
      }
    }
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    const { promise, resolve } = Promise.withResolvers<unknown>();
    this.#waiting.set(id, resolve);
    this.#socket.send(JSON.stringify({ id, method, params }));
    return promise;
  }

  /** Takes a heap snapshot and summarizes it by node type and name. */
  async snapshot(): Promise<Map<string, Group>> {
    this.#chunks.length = 0;
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    return summarize(this.#chunks.join(""));
  }

  [Symbol.dispose](): void {
    this.#socket.close();
  }
}

/** Groups a snapshot's nodes by `type:name` (objects by constructor, closures by function). */
function summarize(json: string): Map<string, Group> {
  const snapshot = JSON.parse(json) as {
    snapshot: {
      meta: {
        node_fields: string[];
        node_types: [string[]];
        edge_fields: string[];
        edge_types: [string[]];
      };
    };
    nodes: number[];
    edges: number[];
    strings: string[];
    /** Per closure (`object_index, script_id, line, column`): where its function is defined. */
    locations?: number[];
  };
  const edgeWidth = snapshot.snapshot.meta.edge_fields.length;
  const edgeTypes = snapshot.snapshot.meta.edge_types[0];
  const edgeCountAt = snapshot.snapshot.meta.node_fields.indexOf("edge_count");
  let edgeIndex = 0;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const groups = new Map<string, Group>();
  const { nodes, strings } = snapshot;
  // Closures are told apart by where they are defined (script id:line:column, 0-based), with
  // --closure-locations: most per-room closures are anonymous arrows.
  const where = new Map<number, string>();
  const locations = values["closure-locations"] ? snapshot.locations ?? [] : [];
  for (let i = 0; i + 3 < locations.length; i += 4) {
    where.set(locations[i], `${locations[i + 1]}:${locations[i + 2] + 1}:${locations[i + 3] + 1}`);
  }
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const isString = type === "string" || type === "concatenated string" ||
      type === "sliced string";
    let name = isString && !values.strings ? "(strings)" : strings[nodes[i + nameAt]];
    if (isString && values.strings) {
      // By their first characters (digits as #) and length in 16s: which strings a room holds.
      name = `${name.slice(0, 14).replace(/\d/g, "#")}… (${Math.ceil(name.length / 16) * 16})`;
    }
    if (type === "code") name = `(code) ${name}`;
    if (type === "closure" && where.has(i)) name = `${name}@${where.get(i)}`;
    if (type === "array" || type === "hidden") name = name.replace(/\d+/g, "#");
    const edgeCount = nodes[i + edgeCountAt];
    if (type === "object" && name === "Object") {
      // Plain objects by their property names, to tell which literal they are.
      const keys: string[] = [];
      for (let e = 0; e < edgeCount; e++) {
        const at = edgeIndex + e * edgeWidth;
        if (edgeTypes[snapshot.edges[at]] === "property") {
          keys.push(strings[snapshot.edges[at + 1]]);
        }
      }
      name = `{${keys.slice(0, 5).join(",")}}`;
    }
    edgeIndex += edgeCount * edgeWidth;
    const key = `${type}:${name.slice(0, 60)}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += nodes[i + sizeAt];
    groups.set(key, group);
  }
  return groups;
}

/** A node of V8's sampling heap profile. */
interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/**
 * Bytes allocated during the ramp (collected or not) per room, by allocating function, and by
 * the first frame of ours (src/) on the stack.
 */
function printAllocations(head: SamplingNode, rooms: number, top: number): void {
  const byFunction = new Map<string, number>();
  const byOurs = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode, ours: string | undefined) => {
    const frame = node.callFrame;
    const where = `${frame.functionName || "(anonymous)"} ${
      frame.url.replace(/^.*\/(src|ext|node|scripts)\//, "$1/")
    }:${frame.lineNumber + 1}`;
    const mine = frame.url.includes("/src/") ? where : ours;
    if (node.selfSize > 0) {
      total += node.selfSize;
      byFunction.set(where, (byFunction.get(where) ?? 0) + node.selfSize);
      const key = mine ?? "(no frame of ours)";
      byOurs.set(key, (byOurs.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, mine);
  };
  walk(head, undefined);
  console.log(
    `rooms ${rooms}: allocated during the ramp ${(total / 1024 / rooms).toFixed(1)} KB/room`,
  );
  for (
    const [title, map] of [["allocating function", byFunction], [
      "innermost frame of ours",
      byOurs,
    ]] as const
  ) {
    console.log(`  KB/room  by ${title}`);
    for (const [key, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${(bytes / 1024 / rooms).toFixed(2).padStart(7)}  ${key}`);
    }
  }
}

interface Measure {
  rooms: number;
  rssKb: number;
  rssAfterGcKb: number;
  heapUsedKb: number;
  groups: Map<string, Group>;
}

async function measure(rooms: number, port: number, rates: string[]): Promise<Measure> {
  const sim = await startChild(["--rooms", String(rooms), ...IDLE_SIMULATOR_ARGS]);
  const dir = await Deno.makeTempDir({ prefix: "heap-probe-" });
  try {
    await sleep(500);
    const ids = await roomIds(sim.api, rooms);
    await Deno.writeTextFile(`${dir}/rooms.txt`, ids.join("\n"));
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        values.sample ? `--inspect-wait=127.0.0.1:${port}` : `--inspect=127.0.0.1:${port}`,
        ...taskV8Flags("start"),
        "main.ts",
        "collect",
        "--db",
        `${dir}/idle.db`,
        "--api-base",
        sim.api,
        "--rooms-file",
        `${dir}/rooms.txt`,
        ...rates,
        ...(values.sockets ? ["--sockets", values.sockets] : []),
        "--max-connections",
        "100000",
        "--status-interval",
        "250ms",
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let live = 0;
    const reading = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        for (const match of chunk.matchAll(/msg=status.*?\blive=(\d+)/g)) live = Number(match[1]);
      }
    })();
    let sampler: Inspector | undefined;
    try {
      if (values.sample) {
        sampler = await Inspector.open(port);
        await sampler.call("HeapProfiler.enable");
        await sampler.call("HeapProfiler.startSampling", {
          samplingInterval: 1024,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
        await sampler.call("Runtime.runIfWaitingForDebugger");
      }
      const startedAt = performance.now();
      const deadline = startedAt + 120_000;
      while (live < rooms && performance.now() < deadline) await sleep(100);
      const rampMs = Math.round(performance.now() - startedAt);
      if (live < rooms) throw new Error(`only ${live} of ${rooms} rooms live`);
      const liveAt = performance.now();
      await sleep(Number(values.settle) * 1000);
      if (sampler) {
        const { profile } = await sampler.call("HeapProfiler.stopSampling") as {
          profile: { head: SamplingNode };
        };
        sampler[Symbol.dispose]();
        sampler = undefined;
        printAllocations(profile.head, rooms, Number(values.top));
      }
      const before = await usage(child.pid);
      const timeline = [`${before.rssMb.toFixed(0)} MB at ${values.settle} s`];
      for (const at of (values.timeline ?? "").split(",").filter(Boolean).map(Number)) {
        await sleep(Math.max(0, liveAt + at * 1000 - performance.now()));
        timeline.push(`${(await usage(child.pid)).rssMb.toFixed(0)} MB at ${at} s`);
      }
      console.log(`rooms ${rooms}: live after ${rampMs} ms; RSS ${timeline.join(", ")}`);
      using inspector = await Inspector.open(port);
      const heapBefore = await inspector.call("Runtime.getHeapUsage") as {
        usedSize: number;
        totalSize: number;
      };
      console.log(
        `rooms ${rooms}: before GC heap used ${(heapBefore.usedSize / 2 ** 20).toFixed(1)} MB of ${
          (heapBefore.totalSize / 2 ** 20).toFixed(1)
        } MB`,
      );
      await inspector.call("HeapProfiler.enable");
      await inspector.call("HeapProfiler.collectGarbage");
      await sleep(500);
      const after = await usage(child.pid);
      const heap = await inspector.call("Runtime.getHeapUsage") as {
        usedSize: number;
        totalSize: number;
      };
      console.log(
        `rooms ${rooms}: after GC heap used ${(heap.usedSize / 2 ** 20).toFixed(1)} MB of ${
          (heap.totalSize / 2 ** 20).toFixed(1)
        } MB`,
      );
      const groups = await inspector.snapshot();
      return {
        rooms,
        rssKb: before.rssMb * 1024,
        rssAfterGcKb: after.rssMb * 1024,
        heapUsedKb: heap.usedSize / 1024,
        groups,
      };
    } finally {
      sampler?.[Symbol.dispose]();
      child.kill("SIGINT");
      await child.status;
      await reading;
    }
  } finally {
    await sim.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rooms: { type: "string", default: "1000" },
    base: { type: "string", default: "10" },
    top: { type: "string", default: "40" },
    port: { type: "string", default: "9339" },
    "api-rate": { type: "string", default: "2000" },
    "connect-rate": { type: "string", default: "1000" },
    /** Also profile allocations (V8's sampling heap profiler) from start until 2 s after live. */
    sample: { type: "boolean", default: false },
    /** Groups strings by their first characters and length instead of all together. */
    strings: { type: "boolean", default: false },
    /**
     * Seconds after every room is live before the readings, GC and snapshot. Past collect's
     * 10 s flush (12), the queue no longer holds the rooms' first events (≈ 1.2 KB per room).
     */
    settle: { type: "string", default: "2" },
    /** Passed to `collect --sockets` (epoll, deno, auto) when given. */
    sockets: { type: "string" },
    /** Names closures by where they are defined (script id:line:column) as well. */
    "closure-locations": { type: "boolean", default: false },
    /** Extra RSS samples, seconds after every room is live: `5,10,20`. */
    timeline: { type: "string" },
  },
});
const rates = ["--api-rate", values["api-rate"], "--connect-rate", values["connect-rate"]];
const port = Number(values.port);
const base = await measure(Number(values.base), port, rates);
const at = await measure(Number(values.rooms), port, rates);
const n = at.rooms - base.rooms;
const per = (a: number, b: number) => ((a - b) / n).toFixed(2);
console.log(`rooms ${base.rooms} → ${at.rooms}`);
console.log(
  `RSS KB/room as the bench measures: ${per(at.rssKb, base.rssKb)}; after a full GC: ${
    per(at.rssAfterGcKb, base.rssAfterGcKb)
  }; live JS heap: ${per(at.heapUsedKb, base.heapUsedKb)}`,
);
console.log(
  `RSS MB ${(base.rssKb / 1024).toFixed(1)} / ${(at.rssKb / 1024).toFixed(1)}; after GC ${
    (base.rssAfterGcKb / 1024).toFixed(1)
  } / ${(at.rssAfterGcKb / 1024).toFixed(1)}; heap used MB ${
    (base.heapUsedKb / 1024).toFixed(1)
  } / ${(at.heapUsedKb / 1024).toFixed(1)}`,
);
const rows = [...at.groups].map(([key, group]) => {
  const before = base.groups.get(key) ?? { count: 0, bytes: 0 };
  return {
    key,
    perRoom: (group.count - before.count) / n,
    bytesPerRoom: (group.bytes - before.bytes) / n,
  };
}).sort((a, b) => b.bytesPerRoom - a.bytesPerRoom);
let total = 0;
for (const row of rows) total += row.bytesPerRoom;
console.log(`snapshot self size per room: ${(total / 1024).toFixed(2)} KB`);
console.log("bytes/room  count/room  type:name");
for (const row of rows.slice(0, Number(values.top))) {
  console.log(
    `${row.bytesPerRoom.toFixed(0).padStart(10)}  ${
      row.perRoom.toFixed(2).padStart(10)
    }  ${row.key}`,
  );
}
