import assert from "node:assert/strict";
import { signWbiQuery, wbiKeyFromUrl } from "../src/bilibili/wbi.ts";
import { parseSimulateArgs } from "../src/cli/simulate_command.ts";
import { ConfigError } from "../src/errors.ts";
import { readPackets } from "../src/protocol/frame_reader.ts";
import { decodeFrame, decodePacket, type ServerMessage } from "../src/protocol/packet_decoder.ts";
import {
  type AuthBody,
  encodeAuthPacket,
  encodeHeartbeatPacket,
  webAuthBody,
} from "../src/protocol/packet.ts";
import { ProtoMessage } from "../src/protocol/protobuf.ts";
import { Buffer } from "node:buffer";
import { ManualClock } from "./support/manual_clock.ts";
import {
  MAX_MESSAGES_PER_TICK,
  MAX_MESSAGES_PER_TICK_ALL,
  splitFrame,
} from "../src/simulator/broadcaster.ts";
import { TcpConnection, WsConnection } from "../src/simulator/connection.ts";
import { wholeFrame } from "../src/simulator/danmaku_server.ts";
import { NO_FAULTS, parseFaults, TcpFaultRooms } from "../src/simulator/faults.ts";
import { type Simulator, startSimulator } from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { type SimRoom, World } from "../src/simulator/world.ts";
import { BodyWriter } from "../src/simulator/body_writer.ts";
import { LOTTERY_DANMAKU_TYPE, MessageFactory } from "../src/simulator/message_factory.ts";

// ---- helpers ---------------------------------------------------------------------------------

async function getJson(url: string, cookie?: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { headers: cookie ? { cookie } : {} });
  return await response.json();
}

async function wbiKeys(sim: Simulator) {
  const nav = await getJson(`${sim.api}/x/web-interface/nav`);
  const img = (nav.data as { wbi_img: { img_url: string; sub_url: string } }).wbi_img;
  return { imgKey: wbiKeyFromUrl(img.img_url), subKey: wbiKeyFromUrl(img.sub_url) };
}

interface DanmuInfo {
  token: string;
  host_list: { host: string; port: number; ws_port: number; wss_port: number }[];
}

async function danmuInfo(sim: Simulator, roomId: number, cookie: string): Promise<DanmuInfo> {
  const query = signWbiQuery({ id: roomId, type: 0 }, await wbiKeys(sim), Date.now() / 1000);
  const body = await getJson(`${sim.api}/xlive/web-room/v1/index/getDanmuInfo?${query}`, cookie);
  assert.equal(body.code, 0);
  return body.data as DanmuInfo;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw TCP client built from the project's own codec. */
class RawClient {
  readonly received: ServerMessage[] = [];
  readonly done: Promise<void>;
  closed = false;
  #conn: Deno.Conn;
  error: unknown;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.done = readPackets(
      conn,
      (packet, offset) => decodePacket(packet, (m) => this.received.push(m), offset),
    ).catch((error) => {
      this.error = error;
    }).finally(() => this.closed = true);
  }

  static async connect(sim: Simulator, auth?: AuthBody): Promise<RawClient> {
    const [hostname, port] = sim.tcp.split(":");
    const client = new RawClient(await Deno.connect({ hostname, port: Number(port) }));
    if (auth) await client.send(encodeAuthPacket(auth));
    return client;
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.#conn.write(bytes);
  }

  ops(): ServerMessage["kind"][] {
    return this.received.map((m) => m.kind);
  }

  /** Bodies of op-5 messages. */
  bodies(): Record<string, unknown>[] {
    return this.received.flatMap((m) =>
      m.kind === "message" ? [m.body as Record<string, unknown>] : []
    );
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed by the server
    }
    await this.done;
  }
}

/** A WebSocket client built from the project's own codec; ends on the first bad frame. */
class WsClient {
  readonly received: ServerMessage[] = [];
  readonly done: Promise<void>;
  closed = false;
  error: unknown;
  #socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    const ended = Promise.withResolvers<void>();
    this.done = ended.promise;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event: MessageEvent) => {
      if (this.error !== undefined) return;
      try {
        decodeFrame(new Uint8Array(event.data as ArrayBuffer), (m) => this.received.push(m));
      } catch (error) {
        this.error = error;
        socket.close();
      }
    };
    socket.onclose = () => {
      this.closed = true;
      ended.resolve();
    };
  }

  static async connect(url: string, auth: AuthBody): Promise<WsClient> {
    const socket = new WebSocket(url);
    const client = new WsClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`Cannot open ${url}`));
    });
    socket.send(encodeAuthPacket(auth));
    return client;
  }

  bodies(): Record<string, unknown>[] {
    return this.received.flatMap((m) =>
      m.kind === "message" ? [m.body as Record<string, unknown>] : []
    );
  }

  async close(): Promise<void> {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close();
    await this.done;
  }
}

/** The truth id of a body: extra.id_str for DANMU_MSG, msg_id otherwise. */
function messageId(body: Record<string, unknown>): string {
  if (String(body.cmd).startsWith("DANMU_MSG")) {
    const info = body.info as unknown[][];
    const modeInfo = info[0][15] as { extra: string };
    return JSON.parse(modeInfo.extra).id_str;
  }
  return String(body.msg_id);
}

function manual(extra: Parameters<typeof startSimulator>[0] = {}) {
  const clock = new ManualClock();
  return { clock, options: { clock, tickMs: 0, rooms: 6, rate: 50, seed: "test", ...extra } };
}

/** Advances the fake clock in ticks until `condition` holds. */
async function drive(sim: Simulator, clock: ManualClock, condition: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out driving the simulator until ${what}`);
    await clock.advance(100);
    sim.step();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const BUVID = "buvid3=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE12345infoc";

/** The auth body of an anonymous web client (protover 3) with the test's buvid3. */
function anonymousAuth(roomid: number, key: string): AuthBody {
  return webAuthBody(0, roomid, key, BUVID.slice("buvid3=".length));
}

/** One anonymous protover-3 client per room, each past its LOG_IN_NOTICE. */
async function anonymousListeners(sim: Simulator, rooms: readonly SimRoom[]): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (const room of rooms) {
    const info = await danmuInfo(sim, room.roomId, BUVID);
    clients.push(await RawClient.connect(sim, anonymousAuth(room.roomId, info.token)));
  }
  await until(() => clients.every((c) => c.bodies().length === 1), "LOG_IN_NOTICE");
  return clients;
}

// ---- world and config ------------------------------------------------------------------------

Deno.test("World is the same for the same seed and has short ids and Zipf rates", () => {
  const a = new World({ seed: 7, rooms: 200, rate: 5, now: 0 });
  const b = new World({ seed: 7, rooms: 200, rate: 5, now: 0 });
  assert.deepEqual(a.rooms, b.rooms);
  assert.notDeepEqual(
    new World({ seed: 8, rooms: 200, now: 0 }).rooms[0].roomId,
    a.rooms[0].roomId,
  );
  assert.ok(a.rooms.some((r) => r.shortId > 0));
  assert.ok(a.rooms[0].rate > a.rooms[199].rate * 50);
  const mean = a.rooms.reduce((sum, r) => sum + r.rate, 0) / a.rooms.length;
  assert.ok(Math.abs(mean - 5) < 1e-9);
  const shortRoom = a.rooms.find((r) => r.shortId > 0)!;
  assert.equal(a.resolve(shortRoom.shortId), shortRoom);
});

Deno.test("World.advance() switches rooms live and offline over time", () => {
  const world = new World({ seed: 1, rooms: 100, meanLiveMs: 1000, meanOfflineMs: 1000, now: 0 });
  const changes = world.advance(60_000);
  assert.ok(changes.length > 10);
  assert.ok(changes.some((c) => c.live) && changes.some((c) => !c.live));
  const newest = world.liveRooms("live_time");
  for (let i = 1; i < newest.length; i++) assert.ok(newest[i - 1].liveTime >= newest[i].liveTime);
});

Deno.test("parseSimulateArgs() names the flag and the bad value", () => {
  assert.throws(() => parseSimulateArgs(["--rooms", "0"]), {
    name: "ConfigError",
    message: 'Cannot parse --rooms "0": expected an integer from 1 to 100000',
  });
  assert.throws(() => parseSimulateArgs(["--rate", "fast"]), ConfigError);
  assert.throws(() => parseSimulateArgs(["--bogus"]), ConfigError);
  const { options, durationMs } = parseSimulateArgs(["--messages", "10", "--duration", "2"]);
  assert.equal(options.messagesPerRoom, 10);
  assert.equal(durationMs, 2000);
  assert.throws(() => parseSimulateArgs(["--tls-cert", "cert.pem"]), {
    name: "ConfigError",
    message: 'Cannot use --tls-cert "cert.pem" and --tls-key "": give both files',
  });
  assert.deepEqual(
    parseSimulateArgs(["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-port", "8443"]).tlsFiles,
    { cert: "c.pem", key: "k.pem" },
  );
});

Deno.test("parseFaults() reads probabilities and shares of rooms, and rejects unknown names and bad values", () => {
  assert.deepEqual(parseFaults("disconnect=0.1,corrupt=0.01,tcprefuse=0.25,tcpsilent=0.5"), {
    disconnect: 0.1,
    stall: 0,
    throttle: 0,
    corrupt: 0.01,
    authfail: 0,
    block: 0,
    tcprefuse: 0.25,
    tcpclose: 0,
    tcpsilent: 0.5,
  });
  assert.throws(() => parseFaults("explode=1"), {
    name: "ConfigError",
    message:
      'Cannot parse --faults "explode=1": "explode=1" is not one of disconnect=P, stall=P, throttle=P, corrupt=P, authfail=P, block=P, tcprefuse=P, tcpclose=P, tcpsilent=P',
  });
  assert.throws(() => parseFaults("stall=2"), /stall must be a probability from 0 to 1, got "2"/);
  assert.throws(() => parseFaults("tcpclose=-1"), /tcpclose must be a share from 0 to 1/);
  assert.throws(
    () => parseFaults("tcprefuse=0.6,tcpclose=0.6"),
    /tcprefuse, tcpclose and tcpsilent are shares of the rooms and add up to more than 1/,
  );
});

Deno.test("TcpFaultRooms picks disjoint shares of rooms from the seed, and set() names rooms outright", () => {
  const faults = { ...NO_FAULTS, tcprefuse: 0.2, tcpclose: 0.2, tcpsilent: 0.2 };
  const rooms = Array.from({ length: 2000 }, (_, i) => 1000 + i);
  const picked = new TcpFaultRooms("seed", faults);
  const counts = new Map<string, number>();
  for (const id of rooms) {
    const fault = String(picked.of(id));
    counts.set(fault, (counts.get(fault) ?? 0) + 1);
  }
  for (const fault of ["refuse", "close", "silent", "undefined"]) {
    const share = (counts.get(fault) ?? 0) / rooms.length;
    assert.ok(
      share > (fault === "undefined" ? 0.33 : 0.15) &&
        share < (fault === "undefined" ? 0.47 : 0.25),
      `${fault}: ${share}`,
    );
  }
  const again = new TcpFaultRooms("seed", faults);
  assert.ok(rooms.every((id) => again.of(id) === picked.of(id)), "the same rooms for a seed");
  const none = new TcpFaultRooms("seed", NO_FAULTS);
  assert.ok(rooms.every((id) => none.of(id) === undefined));
  none.set(1000, "silent");
  assert.equal(none.of(1000), "silent");
  picked.set(1001, undefined);
  assert.equal(picked.of(1001), undefined);
});

// ---- HTTP ------------------------------------------------------------------------------------

Deno.test("getDanmuInfo answers -352 when unsigned, badly signed, or without buvid3", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 3 });
  const room = sim.world.rooms[0].roomId;
  const base = `${sim.api}/xlive/web-room/v1/index/getDanmuInfo`;
  const unsigned = await getJson(`${base}?id=${room}&type=0`, BUVID);
  assert.deepEqual(unsigned, { code: -352, message: "-352", ttl: 1 });
  const signed = signWbiQuery({ id: room, type: 0 }, await wbiKeys(sim), Date.now() / 1000);
  const tampered = signed.replace(/w_rid=[0-9a-f]{32}/, `w_rid=${"0".repeat(32)}`);
  assert.equal((await getJson(`${base}?${tampered}`, BUVID)).code, -352);
  const wrongKeys = signWbiQuery({ id: room, type: 0 }, {
    imgKey: "7cd084941338484aae1ad9425b84077c",
    subKey: "4932caff0ff746eab6f01bf08b70ac45",
  }, Date.now() / 1000);
  assert.equal((await getJson(`${base}?${wrongKeys}`, BUVID)).code, -352);
  assert.equal((await getJson(`${base}?${signed}`)).code, -352);
  assert.equal((await getJson(`${base}?${signed}`, BUVID)).code, 0);
  assert.equal(sim.counters.http352, 4);
});

Deno.test("getDanmuInfo hands out a token and a host_list pointing at this simulator", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 3 });
  const info = await danmuInfo(sim, sim.world.rooms[1].roomId, BUVID);
  assert.ok(info.token.length >= 150);
  assert.ok(/^[A-Za-z0-9_-]+$/.test(info.token));
  const [host, port] = sim.tcp.split(":");
  assert.equal(info.host_list[0].host, host);
  assert.equal(info.host_list[0].port, Number(port));
  assert.equal(`ws://${host}:${info.host_list[0].ws_port}/sub`, sim.ws);
});

Deno.test("room_init and get_info resolve short ids and reject unknown rooms", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 100 });
  const room = sim.world.rooms.find((r) => r.shortId > 0)!;
  const init = await getJson(`${sim.api}/room/v1/Room/room_init?id=${room.shortId}`);
  assert.equal(init.code, 0);
  assert.equal(init.msg, "ok");
  const data = init.data as Record<string, unknown>;
  assert.equal(data.room_id, room.roomId);
  assert.equal(data.short_id, room.shortId);
  assert.equal(data.live_status, room.live ? 1 : 0);
  const unknown = await getJson(`${sim.api}/room/v1/Room/room_init?id=99999999`);
  assert.equal(unknown.code, 60004);
  const info = await getJson(`${sim.api}/room/v1/Room/get_info?room_id=${room.shortId}`);
  assert.equal((info.data as { room_id: number }).room_id, room.roomId);
  assert.equal((await getJson(`${sim.api}/room/v1/Room/get_info?room_id=99999999`)).code, 1);
});

Deno.test("nav is anonymous (-101) without SESSDATA and logged in with a stable mid with it", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 1 });
  const anonymous = await getJson(`${sim.api}/x/web-interface/nav`);
  assert.equal(anonymous.code, -101);
  const a = await getJson(`${sim.api}/x/web-interface/nav`, "SESSDATA=abc%2C123");
  const b = await getJson(`${sim.api}/x/web-interface/nav`, "SESSDATA=abc%2C123");
  assert.equal(a.code, 0);
  const mid = (a.data as { mid: number }).mid;
  assert.ok(Number.isSafeInteger(mid) && mid > 0);
  assert.equal((b.data as { mid: number }).mid, mid);
  const spi = await getJson(`${sim.api}/x/frontend/finger/spi`);
  assert.match((spi.data as { b_3: string }).b_3, /^[0-9A-F-]{36}\d{5}infoc$/);
});

Deno.test("getRoomList sorts by popularity or newest start, pages, and counts live rooms", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 60 });
  const live = sim.world.rooms.filter((r) => r.live);
  const url = `${sim.api}/room/v3/area/getRoomList?parent_area_id=0&area_id=0&page_size=10`;
  const first = await getJson(`${url}&sort_type=online&page=1`);
  const data = first.data as { count: number; list: { roomid: number; online: number }[] };
  assert.equal(data.count, live.length);
  assert.equal(data.list.length, Math.min(10, live.length));
  for (let i = 1; i < data.list.length; i++) {
    assert.ok(data.list[i - 1].online >= data.list[i].online);
  }
  const all: number[] = [];
  for (let page = 1; page <= Math.ceil(live.length / 10); page++) {
    const p = await getJson(`${url}&sort_type=live_time&page=${page}`);
    all.push(...(p.data as { list: { roomid: number }[] }).list.map((r) => r.roomid));
  }
  const times = all.map((id) => sim.world.resolve(id)!.liveTime);
  assert.deepEqual(times, [...times].sort((x, y) => y - x));
  assert.equal(new Set(all).size, live.length);
  const byArea = await getJson(`${sim.api}/room/v1/Area/getListByAreaID?areaId=0&pageSize=5`);
  assert.ok(Array.isArray(byArea.data));
  const areas = await getJson(`${sim.api}/room/v1/Area/getList`);
  assert.ok((areas.data as { list: unknown[] }[])[0].list.length > 0);
});

Deno.test("the HTTP rate limit answers 412 beyond N requests per second", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 1, httpRateLimit: 3 });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const response = await fetch(`${sim.api}/x/web-interface/nav`);
    statuses.push(response.status);
    await response.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 200, 412, 412]);
  assert.equal(sim.counters.http412, 2);
});

// ---- danmaku server --------------------------------------------------------------------------

Deno.test("--messages N: a listener from the start receives exactly N per room, all in the truth log", async () => {
  const truth = new MemoryTruth();
  const { clock, options } = manual({ messagesPerRoom: 40, truth });
  await using sim = await startSimulator(options);
  const rooms = sim.world.rooms.slice(0, 2);
  const clients = await anonymousListeners(sim, rooms);
  await drive(sim, clock, () => clients.every((c) => c.bodies().length === 41), "41 messages");
  for (let i = 0; i < 20; i++) {
    await clock.advance(100);
    sim.step();
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const lines = truth.lines.map((l) => JSON.parse(l));
  for (const [i, client] of clients.entries()) {
    const bodies = client.bodies();
    assert.equal(bodies.length, 41, "40 room messages and one LOG_IN_NOTICE");
    assert.equal(bodies[0].cmd, "LOG_IN_NOTICE");
    assert.equal(client.ops()[0], "authReply");
    const ids = bodies.map(messageId);
    assert.equal(new Set(ids).size, ids.length);
    const recorded = lines.filter((l) => l.room_id === rooms[i].roomId);
    assert.deepEqual(recorded.map((l) => l.id), ids);
    assert.deepEqual(recorded.map((l) => l.cmd), bodies.map((b) => b.cmd));
    assert.equal(sim.remaining(rooms[i].roomId), 0);
  }
  assert.equal(sim.counters.roomMessages, 80);
  for (const c of clients) await c.close();
});

Deno.test("a tick makes at most MAX_MESSAGES_PER_TICK_ALL messages over all rooms, every room its share", async () => {
  // Four rooms at ≈ 20,000 msg/s and a second's tick: each room is owed its per-room cap, twice
  // what all may make together, so each makes about half of it and the simulator stays free to
  // answer its API between ticks.
  const rooms = 4;
  const { clock, options } = manual({ rooms, rate: 20_000 });
  await using sim = await startSimulator(options);
  const clients = await anonymousListeners(sim, sim.world.rooms);
  sim.step(); // the first tick only starts the clock
  await clock.advance(1000);
  sim.step();
  const roomMessages = () => clients.map((c) => c.bodies().length - 1);
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  await until(
    () => sim.counters.roomMessages > 0 && sum(roomMessages()) === sim.counters.roomMessages,
    "the tick's messages",
  );
  const owed = sim.world.rooms.map((room) =>
    Math.min(room.live ? room.rate : room.rate * 0.05, MAX_MESSAGES_PER_TICK)
  );
  assert.ok(sum(owed) > MAX_MESSAGES_PER_TICK_ALL, `owed ${sum(owed)}`);
  // An event may make two messages (twins), so a room may go one over its share.
  const made = roomMessages();
  assert.ok(sum(made) <= MAX_MESSAGES_PER_TICK_ALL + rooms, `made ${made}`);
  assert.ok(sum(made) >= MAX_MESSAGES_PER_TICK_ALL - rooms, `made ${made}`);
  const share = MAX_MESSAGES_PER_TICK_ALL / sum(owed);
  for (const [i, count] of made.entries()) {
    assert.ok(Math.abs(count - owed[i] * share) <= 2, `room ${i}: ${count} of ${owed[i]} owed`);
  }
  for (const c of clients) await c.close();
});

Deno.test("anonymous connections see masked names and uid 0; SESSDATA ones see real uids", async () => {
  const { clock, options } = manual({ rooms: 1, rate: 200 });
  await using sim = await startSimulator(options);
  const room = sim.world.rooms[0];
  const anon = await danmuInfo(sim, room.roomId, BUVID);
  const cookie = `${BUVID}; SESSDATA=secret`;
  const logged = await danmuInfo(sim, room.roomId, cookie);
  const nav = await getJson(`${sim.api}/x/web-interface/nav`, cookie);
  const mid = (nav.data as { mid: number }).mid;
  const auth = { roomid: room.roomId, protover: 2, platform: "web", type: 2 } as const;
  const a = await RawClient.connect(sim, { ...auth, uid: 0, key: anon.token });
  const b = await RawClient.connect(sim, { ...auth, uid: mid, key: logged.token });
  await until(() => a.ops().includes("authReply") && b.ops().includes("authReply"), "auth");
  const danmu = (c: RawClient) => c.bodies().filter((x) => String(x.cmd).startsWith("DANMU_MSG"));
  await drive(sim, clock, () => danmu(a).length >= 5 && danmu(b).length >= 5, "danmaku");
  for (const body of danmu(a)) {
    const sender = (body.info as unknown[][])[2];
    assert.equal(sender[0], 0);
    assert.match(String(sender[1]), /^.\*\*\*$/u);
  }
  assert.ok(danmu(b).every((body) => ((body.info as unknown[][])[2][0] as number) > 0));
  assert.equal(a.bodies()[0].cmd, "LOG_IN_NOTICE");
  assert.ok(b.bodies().every((x) => x.cmd !== "LOG_IN_NOTICE"));
  const info = danmu(b)[0].info as unknown[];
  assert.equal(info.length, 18);
  const interact = b.bodies().find((x) => x.cmd === "INTERACT_WORD_V2");
  if (interact) {
    const pb = (interact.data as { pb: string }).pb;
    const m = new ProtoMessage(new Uint8Array(Buffer.from(pb, "base64")));
    assert.equal(m.number(6), room.roomId);
    assert.ok(m.number(1) > 0);
  }
  await a.close();
  await b.close();
});

Deno.test("a wrong token, or a uid other than the token's, gets closed without an auth reply", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 2 });
  const room = sim.world.rooms[0].roomId;
  const info = await danmuInfo(sim, room, BUVID);
  const auth = { roomid: room, protover: 3, platform: "web", type: 2 } as const;
  const flipped = info.token[40] === "A" ? "B" : "A";
  const wrongKey = `${info.token.slice(0, 40)}${flipped}${info.token.slice(41)}`;
  const wrong = await RawClient.connect(sim, { ...auth, uid: 0, key: wrongKey });
  const mismatch = await RawClient.connect(sim, { ...auth, uid: 42, key: info.token });
  const other = await danmuInfo(sim, sim.world.rooms[1].roomId, BUVID);
  const otherRoom = await RawClient.connect(sim, { ...auth, uid: 0, key: other.token });
  await until(() => wrong.closed && mismatch.closed && otherRoom.closed, "the server to close");
  assert.deepEqual([wrong.received, mismatch.received, otherRoom.received], [[], [], []]);
  assert.equal(sim.counters.authRejected, 3);
  for (const c of [wrong, mismatch, otherRoom]) await c.close();
});

Deno.test("a short room id authenticates, receives nothing, and gets heartbeat replies of 1", async () => {
  const { clock, options } = manual({ rooms: 100, rate: 100 });
  await using sim = await startSimulator(options);
  const room = sim.world.rooms.find((r) => r.shortId > 0)!;
  const info = await danmuInfo(sim, room.shortId, BUVID);
  const client = await RawClient.connect(sim, {
    uid: 0,
    roomid: room.shortId,
    protover: 3,
    platform: "web",
    type: 2,
    key: info.token,
  });
  await until(() => client.ops().includes("authReply"), "auth reply");
  await client.send(encodeHeartbeatPacket());
  await until(() => client.ops().includes("heartbeatReply"), "heartbeat reply");
  for (let i = 0; i < 20; i++) {
    await clock.advance(100);
    sim.step();
  }
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(client.ops(), ["authReply", "heartbeatReply"]);
  const reply = client.received[1];
  assert.equal(reply.kind === "heartbeatReply" && reply.popularity, 1);
  await client.close();
});

Deno.test("connections are closed 5 s without auth and 70 s without heartbeat", async () => {
  const { clock, options } = manual({ rooms: 1, rate: 0 });
  await using sim = await startSimulator(options);
  const room = sim.world.rooms[0].roomId;
  const info = await danmuInfo(sim, room, BUVID);
  const silent = await RawClient.connect(sim);
  const authed = await RawClient.connect(sim, {
    uid: 0,
    roomid: room,
    protover: 1,
    platform: "web",
    type: 2,
    key: info.token,
  });
  await until(() => authed.ops().includes("authReply") && sim.connectionCount() === 2, "auth");
  await clock.advance(5001);
  sim.step();
  await until(() => silent.closed, "the unauthenticated connection to close");
  assert.equal(authed.closed, false);
  await clock.advance(60_000);
  sim.step();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(authed.closed, false, "still within 70 s of the auth");
  await clock.advance(10_000);
  sim.step();
  await until(() => authed.closed, "the silent connection to close");
  assert.equal(authed.error, undefined, "closed cleanly");
  await silent.close();
  await authed.close();
});

Deno.test("simulate --auth-timeout sets how long a connection may stay unauthenticated", async () => {
  const { options: parsed } = parseSimulateArgs(["--auth-timeout", "30"]);
  assert.equal(parsed.authTimeoutMs, 30_000);
  assert.equal(parseSimulateArgs([]).options.authTimeoutMs, 5000);
  assert.throws(() => parseSimulateArgs(["--auth-timeout", "0"]), ConfigError);
  const { clock, options } = manual({ rooms: 1, rate: 0, authTimeoutMs: parsed.authTimeoutMs });
  await using sim = await startSimulator(options);
  const silent = await RawClient.connect(sim);
  await until(() => sim.connectionCount() === 1, "the connection to be accepted");
  await clock.advance(5001);
  sim.step();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(silent.closed, false, "open past the default 5 s");
  await clock.advance(25_000);
  sim.step();
  await until(() => silent.closed, "the unauthenticated connection to close after 30 s");
  await silent.close();
});

Deno.test("the per-IP cap closes connections beyond it", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 1, maxConnectionsPerIp: 2 });
  const clients = [
    await RawClient.connect(sim),
    await RawClient.connect(sim),
    await RawClient.connect(sim),
  ];
  await until(() => clients[2].closed, "the third connection to close");
  assert.equal(sim.counters.connectionsRefused, 1);
  assert.equal(sim.connectionCount(), 2);
  for (const c of clients) await c.close();
});

Deno.test("blocking a room sends ROOM_BLOCK_MSG, closes its listeners and refuses new auths", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 1, rate: 0 });
  const room = sim.world.rooms[0].roomId;
  const info = await danmuInfo(sim, room, BUVID);
  const auth = { uid: 0, roomid: room, protover: 3, platform: "web", type: 2, key: info.token };
  const client = await RawClient.connect(sim, auth as AuthBody);
  await until(() => client.bodies().length === 1, "LOG_IN_NOTICE");
  sim.blockRoom(room);
  await until(() => client.closed, "the blocked room to close");
  assert.equal(client.bodies().at(-1)?.cmd, "ROOM_BLOCK_MSG");
  const again = await RawClient.connect(sim, auth as AuthBody);
  await until(() => again.closed, "the auth to be refused");
  assert.deepEqual(again.received, []);
  await client.close();
  await again.close();
});

Deno.test("a corrupt frame ends the connection and its messages are not in the truth log", async () => {
  const truth = new MemoryTruth();
  const { clock, options } = manual({ rooms: 1, rate: 100, truth, faults: { corrupt: 1 } });
  await using sim = await startSimulator(options);
  const room = sim.world.rooms[0].roomId;
  const info = await danmuInfo(sim, room, BUVID);
  const client = await RawClient.connect(sim, {
    uid: 0,
    roomid: room,
    protover: 3,
    platform: "web",
    type: 2,
    key: info.token,
  });
  await until(() => client.bodies().length === 1, "LOG_IN_NOTICE");
  await clock.advance(1000);
  sim.step(); // rolls the fault (and sends this tick's frame corrupt)
  await drive(sim, clock, () => client.closed, "the connection to end");
  assert.ok(client.error instanceof Error && client.error.name === "ProtocolError");
  assert.deepEqual(truth.lines.map((l) => JSON.parse(l).cmd), ["LOG_IN_NOTICE"]);
  assert.equal(sim.counters.faultCorrupt, 1);
  await client.close();
});

Deno.test("setLive() pushes LIVE twice (first with live_time) and PREPARING when it stops", async () => {
  const { clock, options } = manual({ rooms: 1, rate: 0 });
  await using sim = await startSimulator(options);
  const room = sim.world.rooms[0];
  sim.setLive(room.roomId, false);
  const info = await danmuInfo(sim, room.roomId, BUVID);
  const client = await RawClient.connect(sim, {
    uid: 0,
    roomid: room.roomId,
    protover: 2,
    platform: "web",
    type: 2,
    key: info.token,
  });
  await until(() => client.bodies().length === 1, "LOG_IN_NOTICE");
  await clock.advance(1000);
  sim.setLive(room.roomId, true);
  sim.setLive(room.roomId, false);
  await until(() => client.bodies().length === 4, "state messages");
  const [, live1, live2, preparing] = client.bodies();
  assert.equal(live1.cmd, "LIVE");
  assert.equal(live1.live_time, Math.floor(clock.now() / 1000));
  assert.equal(live2.cmd, "LIVE");
  assert.equal("live_time" in live2, false);
  assert.equal(preparing.cmd, "PREPARING");
  assert.equal(preparing.roomid, String(room.roomId));
  await client.close();
});

// ---- what the truth log may count ------------------------------------------------------------

Deno.test("splitFrame() orders the cut points by value, so 5e-7 and 0.3 still rebuild the frame", () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  for (const [u, v] of [[0.3, 5e-7], [5e-7, 0.3], [0.3, 0.3], [0.999, 0]]) {
    const pieces = splitFrame(bytes, u, v);
    assert.ok(pieces.every((piece) => piece.length > 0), `no empty piece for ${u}, ${v}`);
    const joined = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0));
    let offset = 0;
    for (const piece of pieces) {
      joined.set(piece, offset);
      offset += piece.length;
    }
    assert.deepEqual(joined, bytes, `the pieces of ${u}, ${v} are the frame, in order`);
  }
  assert.deepEqual(splitFrame(bytes, 0.3, 5e-7).map((piece) => piece.length), [300, 700]);
});

/** A stand-in for Deno's server WebSocket whose `bufferedAmount` the test moves by hand. */
class FakeWebSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  closeCalls = 0;
  send(bytes: Uint8Array): void {
    this.bufferedAmount += bytes.length;
  }
  close(): void {
    this.closeCalls++;
    this.readyState = WebSocket.CLOSING;
  }
}

Deno.test("a WebSocket frame counts as written only once Deno's buffer let go of all its bytes", async () => {
  const socket = new FakeWebSocket();
  const connection = new WsConnection(1, "127.0.0.1", socket as unknown as WebSocket, 0);
  const results: string[] = [];
  connection.send(wholeFrame(new Uint8Array(100)), (ok) => results.push(`a:${ok}`));
  socket.bufferedAmount = 40; // 60 of a's 100 bytes written
  connection.send(wholeFrame(new Uint8Array(50)), (ok) => results.push(`b:${ok}`));
  assert.deepEqual(results, [], "nothing is confirmed while part of it is buffered");
  socket.bufferedAmount = 50;
  await until(() => results.length === 1, "a to be confirmed");
  assert.deepEqual(results, ["a:true"]);
  connection.end();
  assert.equal(socket.closeCalls, 0, "a graceful end waits for the buffer to empty");
  socket.bufferedAmount = 0;
  await until(() => socket.closeCalls === 1, "the close once b is written");
  assert.deepEqual(results, ["a:true", "b:true"]);
  connection.socketClosed();
  await connection.closed;

  const cut = new FakeWebSocket();
  const other = new WsConnection(2, "127.0.0.1", cut as unknown as WebSocket, 0);
  const late: string[] = [];
  other.send(wholeFrame(new Uint8Array(10)), (ok) => late.push(`c:${ok}`));
  other.socketClosed(); // the peer went away with c still buffered
  assert.equal(other.send(wholeFrame(new Uint8Array(1)), (ok) => late.push(`d:${ok}`)), false);
  assert.deepEqual(late, ["c:false", "d:false"]);
});

Deno.test("a TCP frame whose write fails halfway is reported not written, and so is the next", async () => {
  let writes = 0;
  let closed = false;
  const conn = {
    remoteAddr: { hostname: "127.0.0.1", port: 1, transport: "tcp" },
    setNoDelay() {},
    write(bytes: Uint8Array): Promise<number> {
      return ++writes === 1
        ? Promise.resolve(Math.min(bytes.length, 10))
        : Promise.reject(new Deno.errors.ConnectionReset("reset by peer"));
    },
    close() {
      closed = true;
    },
  };
  const connection = new TcpConnection(1, conn as unknown as Deno.TcpConn, 0);
  const results: string[] = [];
  const bytes = new Uint8Array(40);
  connection.send(
    { bytes, pieces: [bytes.subarray(0, 20), bytes.subarray(20)] },
    (ok) => results.push(`a:${ok}`),
  );
  connection.send(wholeFrame(new Uint8Array(5)), (ok) => results.push(`b:${ok}`));
  await until(() => results.length === 2, "both frames to settle");
  assert.deepEqual(results.sort(), ["a:false", "b:false"]);
  assert.equal(closed, true);
  connection.readerStopped();
  await connection.closed;
});

Deno.test("under disconnect and corrupt faults each connection's truth lines are exactly what it decoded", async () => {
  const truth = new MemoryTruth();
  const { clock, options } = manual({
    rooms: 6,
    rate: 200,
    truth,
    seed: "faults",
    faults: { disconnect: 0.25, corrupt: 0.25 },
  });
  await using sim = await startSimulator(options);
  const rooms = sim.world.rooms;
  for (const room of rooms) sim.setLive(room.roomId, true);
  const clients: (RawClient | WsClient)[] = [];
  for (const [i, room] of rooms.entries()) {
    const info = await danmuInfo(sim, room.roomId, BUVID);
    const auth: AuthBody = {
      uid: 0,
      roomid: room.roomId,
      protover: ([1, 2, 3] as const)[i % 3],
      platform: "web",
      type: 2,
      key: info.token,
      buvid: BUVID.slice("buvid3=".length),
    };
    clients.push(
      i % 2 === 0 ? await RawClient.connect(sim, auth) : await WsClient.connect(sim.ws, auth),
    );
  }
  await until(() => clients.every((c) => c.bodies().length >= 1), "every LOG_IN_NOTICE");
  await drive(sim, clock, () => clients.every((c) => c.closed), "every connection to end");
  assert.ok(sim.counters.faultCorrupt > 0, "some connection got a corrupt frame");
  assert.ok(sim.counters.faultDisconnects > 0, "some connection was disconnected");
  const lines = truth.lines.map((line) => JSON.parse(line));
  for (const [i, client] of clients.entries()) {
    const recorded = lines.filter((l) => l.room_id === rooms[i].roomId);
    assert.equal(new Set(recorded.map((l) => l.conn)).size, 1, "one connection per room");
    assert.ok(recorded.length > 1, "the room sent messages before its fault");
    assert.deepEqual(recorded.map((l) => l.id), client.bodies().map(messageId));
    if (client.error !== undefined) assert.equal((client.error as Error).name, "ProtocolError");
  }
  for (const client of clients) await client.close();
});

// ---- WBI keys, tokens, TLS -------------------------------------------------------------------

Deno.test("rotateWbiKeys(): nav serves the new keys and getDanmuInfo signed with the old ones answers -352", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 1 });
  const room = sim.world.rooms[0].roomId;
  const base = `${sim.api}/xlive/web-room/v1/index/getDanmuInfo`;
  const old = await wbiKeys(sim);
  assert.deepEqual(old, sim.wbiKeys);
  const rotated = sim.rotateWbiKeys();
  assert.notDeepEqual(rotated, old);
  assert.deepEqual(await wbiKeys(sim), rotated, "nav serves the new keys");
  assert.deepEqual(sim.wbiKeys, rotated);
  const stale = signWbiQuery({ id: room, type: 0 }, old, Date.now() / 1000);
  assert.deepEqual(await getJson(`${base}?${stale}`, BUVID), {
    code: -352,
    message: "-352",
    ttl: 1,
  });
  const fresh = signWbiQuery({ id: room, type: 0 }, rotated, Date.now() / 1000);
  assert.equal((await getJson(`${base}?${fresh}`, BUVID)).code, 0);
  assert.equal(sim.counters.http352, 1);
});

Deno.test("expireTokens() refuses auths with earlier tokens; disconnectAll() ends open connections", async () => {
  await using sim = await startSimulator({ tickMs: 0, rooms: 1, rate: 0 });
  const room = sim.world.rooms[0].roomId;
  const auth = (key: string): AuthBody => ({
    uid: 0,
    roomid: room,
    protover: 3,
    platform: "web",
    type: 2,
    key,
  });
  const before = await danmuInfo(sim, room, BUVID);
  const open = await RawClient.connect(sim, auth(before.token));
  await until(() => open.ops().includes("authReply"), "the first auth");
  sim.expireTokens();
  const stale = await RawClient.connect(sim, auth(before.token));
  await until(() => stale.closed, "the stale token to be refused");
  assert.deepEqual(stale.received, []);
  assert.equal(open.closed, false, "an open connection stays open");
  const after = await danmuInfo(sim, room, BUVID);
  const fresh = await RawClient.connect(sim, auth(after.token));
  await until(() => fresh.ops().includes("authReply"), "a new token to authenticate");
  sim.disconnectAll();
  await until(() => open.closed && fresh.closed, "every connection to end");
  assert.equal(open.error, undefined, "ended cleanly");
  assert.equal(sim.counters.authRejected, 1);
  for (const c of [open, stale, fresh]) await c.close();
});

const TLS_FIXTURES = new URL("./fixtures/tls/", import.meta.url);

Deno.test("with tls, getDanmuInfo's wss_port is a TLS listener that upgrades /sub with the test certificate", async () => {
  const read = (name: string) => Deno.readTextFileSync(new URL(name, TLS_FIXTURES));
  await using sim = await startSimulator({
    tickMs: 0,
    rooms: 1,
    tls: { cert: read("server.pem"), key: read("server.key") },
  });
  const info = await danmuInfo(sim, sim.world.rooms[0].roomId, BUVID);
  const { host, wss_port: port } = info.host_list[0];
  assert.equal(sim.wss, `wss://${host}:${port}/sub`);
  assert.notEqual(`ws://${host}:${port}/sub`, sim.ws);
  using client = Deno.createHttpClient({ caCerts: [read("ca.pem")] });
  const nav = await fetch(`https://${host}:${port}/x/web-interface/nav`, { client });
  assert.equal((await nav.json()).code, -101, "the API answers over TLS too");
  const conn = await Deno.connectTls({ hostname: host, port, caCerts: [read("ca.pem")] });
  try {
    await conn.write(new TextEncoder().encode(
      `GET /sub HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    const buffer = new Uint8Array(512);
    const n = await conn.read(buffer);
    assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 101 /);
  } finally {
    conn.close();
  }
  await until(() => sim.connectionCount() === 0, "the server to see the upgrade end");
});

// ---- message bodies --------------------------------------------------------------------------

/** One generated message as a logged-in and as an anonymous connection get it. */
interface Rendered {
  cmd: string;
  id: string;
  /** Unix ms it was generated at. */
  now: number;
  text: string;
  maskedText: string;
  body: Record<string, unknown>;
  masked: Record<string, unknown>;
}

/** `events` events of every room of a live world, rendered both ways, per room. */
function renderWorld(seed: string, rooms: number, events: number, eraShare?: number) {
  const world = new World({ seed, rooms, rate: 10, now: 0, eraShare });
  const factory = new MessageFactory(world);
  const out = new BodyWriter();
  const decoder = new TextDecoder();
  const render = (m: { write(out: BodyWriter, masked: boolean): void }, masked: boolean) => {
    out.length = 0;
    m.write(out, masked);
    return decoder.decode(out.bytes.subarray(0, out.length));
  };
  const byRoom = new Map<SimRoom, Rendered[]>();
  for (const room of world.rooms) {
    room.live = true;
    const list: Rendered[] = [];
    for (let i = 0, now = 1_765_000_000_000; i < events; i++, now += 37) {
      for (const m of factory.next(room, now)) {
        const text = render(m, false);
        const maskedText = render(m, true);
        list.push({
          cmd: m.cmd,
          id: m.id,
          now,
          text,
          maskedText,
          body: JSON.parse(text),
          masked: JSON.parse(maskedText),
        });
      }
    }
    byRoom.set(room, list);
  }
  return { world, byRoom };
}

type Json = Record<string, unknown>;
const dataOf = (body: Json) => body.data as Json;
const infoOf = (body: Json) => body.info as unknown[][];

Deno.test("live rooms send entry effects, rankings, notices and banners in their real layouts, at low rates", () => {
  const { world, byRoom } = renderWorld("bodies", 4, 2500);
  const all = [...byRoom.values()].flat();
  const share = (cmd: string) => all.filter((m) => m.cmd === cmd).length / all.length;
  assert.ok(share("DANMU_MSG") + share("DANMU_MSG:4:0:2:2:2:0") > 0.4, "danmaku stay the bulk");
  for (
    const cmd of [
      "ENTRY_EFFECT",
      "ONLINE_RANK_V3",
      "ONLINE_RANK_V2",
      "POPULAR_RANK_CHANGED",
      "NOTICE_MSG",
      "COMMON_NOTICE_DANMAKU",
      "WIDGET_BANNER",
      "STOP_LIVE_ROOM_LIST",
    ]
  ) {
    assert.ok(share(cmd) > 0 && share(cmd) < 0.03, `${cmd}: ${share(cmd)}`);
  }
  for (const [room, messages] of byRoom) {
    assert.equal(new Set(messages.map((m) => m.id)).size, messages.length, "ids unique per room");
    for (const m of messages) {
      if (!m.cmd.startsWith("DANMU_MSG")) assert.equal(m.body.msg_id, m.id);
      const data = m.body.data as Json;
      if (m.cmd.startsWith("ENTRY_EFFECT")) {
        const uinfo = data.uinfo as { uid: number; base: { name: string } };
        assert.equal(uinfo.uid, data.uid);
        assert.ok((data.uid as number) > 0);
        assert.equal(data.target_id, room.uid);
        assert.ok([0, 1, 2, 3].includes(data.privilege_type as number));
        assert.equal(m.cmd === "ENTRY_EFFECT_MUST_RECEIVE", data.privilege_type === 1);
        assert.ok(String(data.copy_writing).includes(`<%${uinfo.base.name}%>`));
        // trigger_time is in ns, beyond 2^53: read it from the text.
        const ns = /"trigger_time":(\d+)/.exec(m.text)![1];
        assert.equal(ns.length, 19);
        assert.equal(Number(ns.slice(0, 13)), m.now);
        const masked = m.masked.data as Json;
        assert.equal(masked.uid, 0);
        assert.match(String(masked.copy_writing), /<%.\*\*\*%>/u);
        assert.equal((masked.uinfo as { uid: number }).uid, 0);
      } else if (m.cmd === "POPULAR_RANK_CHANGED") {
        assert.equal(data.uid, room.uid);
        assert.ok(Number.isInteger(data.rank) && (data.rank as number) >= 0);
        assert.equal(data.timestamp, Math.floor(m.now / 1000));
      } else if (m.cmd === "ONLINE_RANK_V2") {
        assert.equal(data.rank_type, "gold-rank");
        const list = data.list as { uid: number; rank: number; score: string; uname: string }[];
        assert.deepEqual(list.map((e) => e.rank), list.map((_, i) => i + 1));
        assert.ok(list.every((e) => e.uid > 0 && /^\d+$/.test(e.score)));
        const masked = (m.masked.data as { list: { uid: number; uname: string }[] }).list;
        assert.ok(masked.every((e) => e.uid === 0 && /^.\*\*\*$/u.test(e.uname)));
      } else if (m.cmd === "ONLINE_RANK_V3") {
        const pb = new ProtoMessage(new Uint8Array(Buffer.from(String(data.pb), "base64")));
        assert.equal(pb.string(1), "online_rank");
        assert.deepEqual(pb.messages(2), [], "the items are in online_list, as captured in 2025");
        const list = pb.messages(3);
        assert.ok(list.length >= 1 && list.length <= 7);
        assert.deepEqual(list.map((e) => e.number(5)), list.map((_, i) => i + 1));
        assert.ok(list.every((e) => e.number(1) > 0 && /^\d+$/.test(e.string(3))));
        assert.ok(list.every((e) => e.string(4) !== "" && e.string(2).startsWith("https://")));
        const masked = new ProtoMessage(
          new Uint8Array(Buffer.from(String((m.masked.data as Json).pb), "base64")),
        );
        assert.ok(masked.messages(3).every((e) => e.number(1) === 0));
      } else if (m.cmd === "NOTICE_MSG") {
        assert.equal(m.body.data, undefined, "NOTICE_MSG keeps its fields at the top level");
        assert.match(String(m.body.msg_common), /^<%.+%>投喂:<%.+%>1个.+，点击前往TA的房间吧！$/u);
        assert.ok(world.resolve(m.body.real_roomid as number));
      } else if (m.cmd === "COMMON_NOTICE_DANMAKU") {
        const segments = data.content_segments as { text: string; type: number }[];
        assert.ok(segments.length > 0 && segments.every((seg) => seg.text !== ""));
      } else if (m.cmd === "WIDGET_BANNER") {
        const widgets = Object.values(data.widget_list as Json) as { id: number; title: string }[];
        assert.equal(widgets.length, 1);
        assert.ok(widgets[0].title !== "");
      } else if (m.cmd === "STOP_LIVE_ROOM_LIST") {
        const ids = data.room_id_list as number[];
        assert.ok(ids.length > 0 && ids.every((id) => world.resolve(id)));
      }
    }
  }
});

Deno.test("a room deletes only super chats it sent earlier, each once; 2025 ones carry message_trans", () => {
  const { byRoom } = renderWorld("deletes", 4, 4000);
  let deletions = 0;
  let translated = 0;
  for (const messages of byRoom.values()) {
    const sent = new Set<number>();
    const deleted = new Set<number>();
    for (const [i, m] of messages.entries()) {
      if (m.cmd === "SUPER_CHAT_MESSAGE") {
        const data = dataOf(m.body);
        sent.add(data.id as number);
        if (data.message_trans !== "") {
          translated++;
          assert.notEqual(messages[i + 1]?.cmd, "SUPER_CHAT_MESSAGE_JPN", "no twin");
        } else assert.equal(messages[i + 1].cmd, "SUPER_CHAT_MESSAGE_JPN");
      } else if (m.cmd === "SUPER_CHAT_MESSAGE_DELETE") {
        deletions++;
        const ids = dataOf(m.body).ids as number[];
        assert.equal(ids.length, 1);
        assert.ok(sent.has(ids[0]), `super chat ${ids[0]} was sent earlier in this room`);
        assert.ok(!deleted.has(ids[0]), "deleted once");
        deleted.add(ids[0]);
      }
    }
  }
  assert.ok(deletions > 0 && translated > 0, `${deletions} deletions, ${translated} translated`);
});

Deno.test("a 天选时刻 lottery goes start, keyword danmaku flagged in info[0][9], aggregation, end, award", () => {
  const { byRoom } = renderWorld("lottery", 4, 4000);
  let complete = 0;
  let resent = 0;
  for (const messages of byRoom.values()) {
    /** Per lottery id: the phases in order, and its keyword. */
    const lots = new Map<number, { keyword: string; steps: string[] }>();
    let open: number | undefined;
    for (const m of messages) {
      const data = m.body.data as Json | undefined;
      if (m.cmd === "ANCHOR_LOT_START") {
        const id = data!.id as number;
        assert.ok(open === undefined || open === id, "one lottery at a time");
        open = id;
        const lot = lots.get(id) ?? { keyword: String(data!.danmu), steps: [] };
        assert.equal(lot.keyword, data!.danmu);
        assert.equal(data!.max_time, 600);
        lot.steps.push("start");
        lots.set(id, lot);
      } else if (m.cmd.startsWith("DANMU_MSG")) {
        const flag = infoOf(m.body)[0][9] ?? 0;
        if (flag !== 0) {
          assert.equal(flag, LOTTERY_DANMAKU_TYPE);
          assert.ok(open !== undefined, "lottery danmaku only while a lottery runs");
          assert.equal(infoOf(m.body)[1], lots.get(open)!.keyword);
          lots.get(open)!.steps.push("danmu");
        }
      } else if (m.cmd === "DANMU_AGGREGATION") {
        assert.equal(data!.activity_identity, String(open));
        assert.equal(data!.msg, lots.get(open!)!.keyword);
        assert.ok((data!.aggregation_num as number) > 0);
        lots.get(open!)!.steps.push("aggregation");
      } else if (m.cmd === "ANCHOR_LOT_END") {
        assert.equal(data!.id, open);
        lots.get(open!)!.steps.push("end");
      } else if (m.cmd === "ANCHOR_LOT_AWARD") {
        assert.equal(data!.id, open);
        const users = data!.award_users as { uid: number; uname: string }[];
        assert.ok(users.length > 0 && users.every((u) => u.uid > 0 && u.uname !== ""));
        const masked = (m.masked.data as { award_users: { uid: number }[] }).award_users;
        assert.ok(masked.every((u) => u.uid === 0));
        lots.get(open!)!.steps.push("award");
        open = undefined;
      }
    }
    for (const { steps } of lots.values()) {
      const phases = steps.filter((step) => step !== "danmu" && step !== "aggregation");
      if (phases.at(-1) !== "award") continue; // the last one may still be running
      complete++;
      if (phases.length === 4) resent++;
      assert.match(phases.join(","), /^start,(start,)?end,award$/);
      assert.ok(steps.filter((step) => step === "danmu").length >= 5, "many keyword danmaku");
      assert.ok(steps.indexOf("end") > steps.lastIndexOf("danmu"));
    }
  }
  assert.ok(complete >= 3, `${complete} lotteries ran to the award`);
  assert.ok(resent > 0, "ANCHOR_LOT_START is sometimes sent twice");
});

Deno.test("rooms of an older era send the 2018 layout (time in seconds) or the 2021 one, id in info[0][5]", () => {
  const { world, byRoom } = renderWorld("eras", 12, 400, 0.5);
  const eras = new Set(world.rooms.map((room) => room.era));
  assert.deepEqual([...eras].sort(), ["2018", "2021", "current"]);
  for (const [room, messages] of byRoom) {
    for (const m of messages.filter((x) => x.cmd.startsWith("DANMU_MSG"))) {
      const info = infoOf(m.body);
      const meta = info[0];
      if (meta.length === 18) {
        assert.ok(room.era === "current" || meta[9] === LOTTERY_DANMAKU_TYPE);
        assert.equal(JSON.parse((meta[15] as { extra: string }).extra).id_str, m.id);
        assert.equal(meta[4], m.now);
        continue;
      }
      assert.equal(m.id, String(meta[5]), "the truth id of a danmaku without extra is its rnd");
      assert.match(m.text, /^\{"cmd":"DANMU_MSG[^"]*","info":\[\[/);
      if (room.era === "2018") {
        assert.equal(meta.length, 9);
        assert.equal(info.length, 9);
        assert.equal(meta[4], Math.floor(m.now / 1000), "2018: unix seconds");
      } else {
        assert.equal(room.era, "2021");
        assert.equal(meta.length, 15);
        assert.equal(info.length, 16);
        assert.equal(meta[4], m.now, "2021: unix ms");
        assert.deepEqual(info[9], {
          ts: Math.floor(m.now / 1000),
          ct: String(meta[7]).toUpperCase(),
        });
      }
      assert.equal(infoOf(m.masked)[2][0], 0);
      assert.match(String(infoOf(m.masked)[2][1]), /^.\*\*\*$/u);
    }
    // Rows of these layouts have no id: (time, user hash) tells them apart within a second.
    const oldKeys = messages.filter((m) =>
      m.cmd.startsWith("DANMU_MSG") && infoOf(m.body)[0].length < 18
    ).map((m) => `${Math.floor(m.now / 1000)}:${infoOf(m.body)[0][7]}`);
    assert.equal(new Set(oldKeys).size, oldKeys.length);
    if (room.era !== "current") assert.ok(oldKeys.length > 50, `${room.era}: ${oldKeys.length}`);
  }
});

Deno.test("with the default eraShare every room sends today's layout", () => {
  const { world, byRoom } = renderWorld("eras", 12, 100);
  assert.ok(world.rooms.every((room) => room.era === "current"));
  const danmaku = [...byRoom.values()].flat().filter((m) => m.cmd.startsWith("DANMU_MSG"));
  assert.ok(danmaku.length > 100 && danmaku.every((m) => infoOf(m.body)[0].length === 18));
});

Deno.test("simulate --era-share makes that share of rooms send the 2018 and 2021 layouts", () => {
  const eras = (args: string[]) => {
    const { options } = parseSimulateArgs(["--rooms", "200", ...args]);
    return new World({ seed: 7, rooms: 200, rate: 5, now: 0, eraShare: options.eraShare }).rooms
      .map((room) => room.era);
  };
  assert.ok(eras([]).every((era) => era === "current"), "today's layout by default");
  const all = eras(["--era-share", "1"]);
  assert.ok(all.every((era) => era !== "current"));
  assert.ok(all.includes("2018") && all.includes("2021"));
  assert.throws(() => parseSimulateArgs(["--era-share", "2"]), /--era-share "2"/);
});

Deno.test("closing the simulator half-closes a TCP stream: a client reading late gets all of it and may still send until it closes", async () => {
  const truth = new MemoryTruth();
  const { clock, options } = manual({ rooms: 1, messagesPerRoom: 30, truth, closeGraceMs: 20_000 });
  const sim = await startSimulator(options);
  const room = sim.world.rooms[0];
  const info = await danmuInfo(sim, room.roomId, BUVID);
  const [hostname, port] = sim.tcp.split(":");
  // A client that reads nothing until the simulator is closing.
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(encodeAuthPacket(anonymousAuth(room.roomId, info.token)));
  await drive(sim, clock, () => sim.remaining(room.roomId) === 0, "the room's budget sent");
  await until(() => truth.lines.length === 31, "30 messages and LOG_IN_NOTICE written");
  let closed = false;
  const closing = sim.close().then(() => closed = true);
  // The listener closes before the connections end: once it refuses, the stream has been ended.
  for (let refused = false; !refused;) {
    try {
      (await Deno.connect({ hostname, port: Number(port) })).close();
    } catch {
      refused = true;
    }
  }
  await conn.write(encodeHeartbeatPacket()); // the server's socket is still open: no reset
  const received: ServerMessage[] = [];
  await readPackets(
    conn,
    (packet, offset) => decodePacket(packet, (m) => received.push(m), offset),
  );
  const ids = received.flatMap((m) =>
    m.kind === "message" ? [messageId(m.body as Record<string, unknown>)] : []
  );
  assert.deepEqual(
    ids,
    truth.lines.map((l) => JSON.parse(l).id),
    "every message written, in order",
  );
  // After the end of the stream the client may still send, and the server waits for it to close.
  await conn.write(encodeHeartbeatPacket());
  assert.equal(sim.connectionCount(), 1);
  assert.equal(closed, false);
  conn.close();
  await closing;
  assert.equal(sim.connectionCount(), 0);
});
