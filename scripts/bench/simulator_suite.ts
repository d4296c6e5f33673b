/**
 * Simulator benchmark: starts `main.ts simulate` in a subprocess (so its CPU is measured apart
 * from the clients) and measures (a) concurrent raw-TCP connections held and (b) aggregate op-5
 * messages per second delivered to clients. Called by scripts/bench.ts.
 */
import { signWbiQuery, wbiKeyFromUrl } from "../../src/bilibili/wbi.ts";
import { decodePacket } from "../../src/protocol/packet_decoder.ts";
import { type Child, roomIds, startChild, usage } from "./processes.ts";
import {
  encodeAuthPacket,
  encodeHeartbeatPacket,
  Op,
  readHeader,
} from "../../src/protocol/packet.ts";

const BUVID = "BENCH000-0000-0000-0000-00000000000000000infoc";

async function tokens(api: string, roomIds: number[]): Promise<Map<number, string>> {
  const nav = await (await fetch(`${api}/x/web-interface/nav`)).json();
  const keys = {
    imgKey: wbiKeyFromUrl(nav.data.wbi_img.img_url),
    subKey: wbiKeyFromUrl(nav.data.wbi_img.sub_url),
  };
  const out = new Map<number, string>();
  for (const id of roomIds) {
    const query = signWbiQuery({ id, type: 0 }, keys, Date.now() / 1000);
    const body = await (await fetch(`${api}/xlive/web-room/v1/index/getDanmuInfo?${query}`, {
      headers: { cookie: `buvid3=${BUVID}` },
    })).json();
    out.set(id, body.data.token);
  }
  return out;
}

/**
 * A lightweight client: authenticates, heartbeats, and counts op-5 messages. With `decode` it
 * decompresses bundles (exact count); without, it counts top-level op-5 packets (protover 1).
 */
class BenchClient {
  authed = false;
  closed = false;
  messages = 0;
  bytes = 0;
  #conn: Deno.Conn;
  readonly done: Promise<void>;

  constructor(conn: Deno.Conn, bufferSize: number, decode: boolean) {
    this.#conn = conn;
    this.done = this.#read(bufferSize, decode).catch(() => {}).finally(() => this.closed = true);
  }

  async #read(bufferSize: number, decode: boolean): Promise<void> {
    let buffer = new Uint8Array(bufferSize);
    let end = 0;
    for (;;) {
      if (end === buffer.length) {
        const bigger = new Uint8Array(buffer.length * 2);
        bigger.set(buffer);
        buffer = bigger;
      }
      const n = await this.#conn.read(buffer.subarray(end));
      if (n === null) return;
      this.bytes += n;
      end += n;
      let start = 0;
      while (end - start >= 16) {
        const header = readHeader(buffer, start);
        if (header.packetLength < 16) throw new Error("bad packet");
        if (end - start < header.packetLength) break;
        if (header.op === Op.authReply) this.authed = true;
        else if (header.op === Op.message) {
          if (decode) {
            decodePacket(buffer.subarray(start, start + header.packetLength), (m) => {
              if (m.kind === "message") this.messages++;
            });
          } else this.messages++;
        }
        start += header.packetLength;
      }
      buffer.copyWithin(0, start, end);
      end -= start;
    }
  }

  async send(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    while (rest.length > 0) rest = rest.subarray(await this.#conn.write(rest));
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

async function connectAll(
  child: Child,
  plan: { roomId: number; token: string }[],
  protover: 1 | 2 | 3,
  bufferSize: number,
  decode: (index: number) => boolean,
): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  const batch = 200;
  for (let i = 0; i < plan.length; i += batch) {
    const part = await Promise.all(
      plan.slice(i, i + batch).map(async ({ roomId, token }, j) => {
        const conn = await Deno.connect(child.tcp);
        const client = new BenchClient(conn, bufferSize, decode(i + j));
        await client.send(
          encodeAuthPacket({
            uid: 0,
            roomid: roomId,
            protover,
            platform: "web",
            type: 2,
            key: token,
            buvid: BUVID,
          }),
        );
        await client.send(encodeHeartbeatPacket()).catch(() => {}); // refused: counted as not held
        return client;
      }),
    );
    clients.push(...part);
  }
  return clients;
}

async function closeAll(clients: BenchClient[]): Promise<void> {
  for (const c of clients) c.close();
  await Promise.all(clients.map((c) => c.done));
}

/** Runs the simulator benchmarks; `quick` uses smaller sizes. */
export async function simulatorSuite(
  options: { quick: boolean; log: (line: string) => void },
): Promise<Record<string, number>> {
  const { quick, log } = options;
  const results: Record<string, number> = {};

  // (a) Concurrent connections: many quiet rooms, several connections each.
  {
    const target = quick ? 1000 : 5000;
    const rooms = quick ? 100 : 500;
    const child = await startChild(["--rooms", String(rooms), "--rate", "0.2", "--seed", "bench"]);
    try {
      const ids = await roomIds(child.api, rooms);
      const byRoom = await tokens(child.api, ids);
      const plan = Array.from({ length: target }, (_, i) => {
        const roomId = ids[i % ids.length];
        return { roomId, token: byRoom.get(roomId)! };
      });
      const before = await usage(child.process.pid);
      const started = performance.now();
      const clients = await connectAll(child, plan, 3, 4096, () => false);
      const connectSeconds = (performance.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const held = clients.filter((c) => c.authed && !c.closed).length;
      const after = await usage(child.process.pid);
      results["simulator.connections"] = held;
      results["simulator.connect_s"] = Number(connectSeconds.toFixed(2));
      results["simulator.rss_mb_connections"] = Math.round(after.rssMb);
      results["simulator.kb_per_connection"] = Math.round(after.rssMb * 1024 / Math.max(1, held));
      log(
        `suite=simulator case=connections target=${target} held=${held} connect_s=${
          connectSeconds.toFixed(2)
        } rss_mb=${after.rssMb.toFixed(0)} cpu_s=${(after.cpu - before.cpu).toFixed(2)}`,
      );
      await closeAll(clients);
    } finally {
      await child.stop();
    }
  }

  // (b) Throughput: one connection per room, busy rooms, plain packets (protover 1) counted by
  // header; then brotli bundles (protover 3) fanned out to several connections per room.
  for (const scenario of ["plain", "brotli"] as const) {
    const rooms = quick ? 50 : 200;
    const perRoom = scenario === "plain" ? 1 : 10;
    // Offer more than one core can make, so the figure is capacity, not the offer.
    const rate = scenario === "plain" ? (quick ? 3000 : 600) : (quick ? 300 : 60);
    const seconds = quick ? 3 : 8;
    const child = await startChild([
      "--rooms",
      String(rooms),
      "--rate",
      String(rate),
      "--seed",
      "bench",
      "--live-minutes",
      "100000",
      "--offline-minutes",
      "0.01",
    ]);
    try {
      // Pin every room live: with a tiny offline mean they all go live within the first tick.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const ids = await roomIds(child.api, rooms);
      const byRoom = await tokens(child.api, ids);
      const plan = ids.flatMap((roomId) =>
        Array.from({ length: perRoom }, () => ({ roomId, token: byRoom.get(roomId)! }))
      );
      const clients = await connectAll(
        child,
        plan,
        scenario === "plain" ? 1 : 3,
        64 * 1024,
        // Every listener of a room gets the same bytes: decode one per room and scale by the
        // number of its listeners still connected (the bench process cannot inflate them all).
        (index) => scenario === "brotli" && index % perRoom === 0,
      );
      const delivered = () => {
        if (scenario === "plain") return clients.reduce((sum, c) => sum + c.messages, 0);
        let sum = 0;
        for (let r = 0; r < clients.length; r += perRoom) {
          const alive = clients.slice(r, r + perRoom).filter((c) => c.authed && !c.closed).length;
          sum += clients[r].messages * alive;
        }
        return sum;
      };
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = await usage(child.process.pid);
      const count0 = delivered();
      const bytes0 = clients.reduce((s, c) => s + c.bytes, 0);
      const t0 = performance.now();
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const elapsed = (performance.now() - t0) / 1000;
      const count = delivered() - count0;
      const bytes = clients.reduce((s, c) => s + c.bytes, 0) - bytes0;
      const after = await usage(child.process.pid);
      const perSecond = Math.round(count / elapsed);
      const cpu = (after.cpu - before.cpu) / elapsed;
      const key = scenario === "plain" ? "simulator.msgs_per_s" : "simulator.msgs_per_s_brotli";
      results[key] = perSecond;
      results[scenario === "plain" ? "simulator.cpu_s" : "simulator.cpu_s_brotli"] = Number(
        cpu.toFixed(2),
      );
      log(
        `suite=simulator case=throughput mode=${scenario} rooms=${ids.length} connections=${clients.length} msgs_per_s=${perSecond} mb_per_s=${
          (bytes / elapsed / 1e6).toFixed(1)
        } sim_cpu_s_per_s=${cpu.toFixed(2)} rss_mb=${after.rssMb.toFixed(0)}`,
      );
      await closeAll(clients);
    } finally {
      await child.stop();
    }
  }
  return results;
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  console.log(JSON.stringify(await simulatorSuite({ quick, log: (l) => console.error(l) })));
}
