/**
 * Proof of fidelity: the independent npm client bilibili-live-ws drives the simulator over TCP
 * (protover 3, brotli) and WebSocket (protover 2, zlib) with a WBI-signed getDanmuInfo token.
 */
import assert from "node:assert/strict";
import { LiveTCP, LiveWS } from "bilibili-live-ws";
import { signWbiQuery, wbiKeyFromUrl } from "../src/bilibili/wbi.ts";
import { type Simulator, startSimulator } from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";

const BUVID = "8C3E8A2B-7F1D-4E0A-9B5C-2D6F1A3E4B5C98765infoc";
const MESSAGES = 30;

interface Token {
  token: string;
  host: string;
  port: number;
  wsPort: number;
}

async function signedDanmuInfo(sim: Simulator, roomId: number): Promise<Token> {
  const nav = await (await fetch(`${sim.api}/x/web-interface/nav`)).json();
  const keys = {
    imgKey: wbiKeyFromUrl(nav.data.wbi_img.img_url),
    subKey: wbiKeyFromUrl(nav.data.wbi_img.sub_url),
  };
  const query = signWbiQuery({ id: roomId, type: 0 }, keys, Date.now() / 1000);
  const response = await fetch(`${sim.api}/xlive/web-room/v1/index/getDanmuInfo?${query}`, {
    headers: { cookie: `buvid3=${BUVID}` },
  });
  const body = await response.json();
  assert.equal(body.code, 0);
  const host = body.data.host_list[0];
  return { token: body.data.token, host: host.host, port: host.port, wsPort: host.ws_port };
}

/** The id the truth log uses: extra.id_str for DANMU_MSG, msg_id for the rest. */
function messageId(data: { cmd: string; msg_id?: string; info?: unknown[][] }): string {
  if (data.cmd.startsWith("DANMU_MSG")) {
    return JSON.parse((data.info![0][15] as { extra: string }).extra).id_str;
  }
  return String(data.msg_id);
}

type Live = InstanceType<typeof LiveTCP> | InstanceType<typeof LiveWS>;

/** Records what a bilibili-live-ws client sees. */
function observe(live: Live) {
  const seen = { live: false, heartbeats: [] as number[], ids: [] as string[], closed: false };
  live.on("live", () => seen.live = true);
  live.on("heartbeat", (online: number) => seen.heartbeats.push(online));
  live.on("msg", (data: { cmd: string }) => seen.ids.push(messageId(data)));
  const closed = new Promise<void>((resolve) =>
    live.on("close", () => {
      seen.closed = true;
      resolve();
    })
  );
  live.on("error", () => {});
  return { seen, closed };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function receivesExactlyTheTruth(transport: "tcp" | "ws"): Promise<void> {
  const truth = new MemoryTruth();
  await using sim = await startSimulator({
    rooms: 4,
    rate: 40,
    seed: `fidelity-${transport}`,
    messagesPerRoom: MESSAGES,
    truth,
    tickMs: 20,
  });
  const room = sim.world.rooms[1].roomId;
  sim.setLive(room, true);
  const info = await signedDanmuInfo(sim, room);
  const live = transport === "tcp"
    ? new LiveTCP(room, {
      host: info.host,
      port: info.port,
      protover: 3,
      key: info.token,
      uid: 0,
      buvid: BUVID,
    })
    : new LiveWS(room, {
      address: `ws://${info.host}:${info.wsPort}/sub`,
      protover: 2,
      key: info.token,
      uid: 0,
      buvid: BUVID,
    });
  const { seen, closed } = observe(live);
  const recorded = () => truth.lines.map((l) => JSON.parse(l)).filter((l) => l.room_id === room);
  try {
    await until(() => seen.live && seen.heartbeats.length > 0, "live and a heartbeat reply");
    await until(() => sim.remaining(room) === 0, "the room to spend its budget");
    await until(() => seen.ids.length >= recorded().length, "every recorded message to arrive");
    await new Promise((resolve) => setTimeout(resolve, 100)); // nothing more may come
  } finally {
    live.close();
    await closed;
  }
  const lines = recorded();
  assert.equal(lines.length, MESSAGES + 1, "N room messages plus the LOG_IN_NOTICE");
  assert.equal(new Set(lines.map((l) => l.conn)).size, 1, "one connection");
  assert.equal(seen.heartbeats[0], 1);
  assert.deepEqual([...seen.ids].sort(), lines.map((l) => l.id).sort());
  assert.equal(new Set(seen.ids).size, seen.ids.length);
}

Deno.test("bilibili-live-ws over TCP with protover 3 receives exactly what the truth log records", async () => {
  await receivesExactlyTheTruth("tcp");
});

Deno.test("bilibili-live-ws over WebSocket with protover 2 receives exactly what the truth log records", async () => {
  await receivesExactlyTheTruth("ws");
});

Deno.test("bilibili-live-ws with a wrong token is closed and receives nothing", async () => {
  await using sim = await startSimulator({ rooms: 2, rate: 100, tickMs: 20 });
  const room = sim.world.rooms[0].roomId;
  sim.setLive(room, true);
  const info = await signedDanmuInfo(sim, room);
  const wrongKey = info.token.slice(0, 40) + (info.token[40] === "A" ? "B" : "A") +
    info.token.slice(41);
  const live = new LiveTCP(room, {
    host: info.host,
    port: info.port,
    protover: 3,
    key: wrongKey,
    uid: 0,
    buvid: BUVID,
  });
  const { seen, closed } = observe(live);
  await closed;
  live.close();
  assert.deepEqual(seen, { live: false, heartbeats: [], ids: [], closed: true });
  assert.equal(sim.counters.authRejected, 1);
});
