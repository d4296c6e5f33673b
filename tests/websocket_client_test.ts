/**
 * Our WebSocket client: the frame codec, the client against the simulator over ws and wss (the
 * test CA given as `caCerts`, no `--cert`), and against a scripted server for what the simulator
 * never sends (a message split over frames, pings, a close frame, a bad handshake).
 */
import assert from "node:assert/strict";
import { BilibiliApi } from "../src/bilibili/api_client.ts";
import { ProtocolError } from "../src/errors.ts";
import { readPackets } from "../src/protocol/frame_reader.ts";
import { encodePacket, Op, Ver } from "../src/protocol/packet.ts";
import { decodePacket, type ServerMessage } from "../src/protocol/packet_decoder.ts";
import {
  applyWsMask,
  encodeWsFrame,
  MAX_WS_MESSAGE_BYTES,
  parseWsFrameHeader,
  wsAcceptValue,
  wsHeaderLength,
  WsOpcode,
} from "../src/protocol/websocket_frame.ts";
import { RoomSession } from "../src/room/room_session.ts";
import { connectTransport, readCaFile, type TransportKind } from "../src/room/transport.ts";
import { openWebSocket } from "../src/room/websocket_client.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { systemClock } from "../src/util/clock.ts";
import { RateLimiter } from "../src/util/rate_limiter.ts";

const TLS = new URL("./fixtures/tls/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, TLS));
const CA = read("ca.pem");

Deno.test("encodeWsFrame() and parseWsFrameHeader() agree on short, 16-bit and 64-bit lengths, masked or not", () => {
  for (const length of [0, 5, 125, 126, 65535, 65536, 70_000]) {
    const payload = new Uint8Array(length).map((_, i) => i & 0xff);
    for (const mask of [undefined, new Uint8Array([1, 2, 3, 4])]) {
      const frame = encodeWsFrame(WsOpcode.binary, payload, { mask, fin: length !== 5 });
      const headerLength = wsHeaderLength(frame[1]);
      const header = parseWsFrameHeader(frame.subarray(0, headerLength));
      assert.equal(header.payloadLength, length);
      assert.equal(header.headerLength, headerLength);
      assert.equal(header.fin, length !== 5);
      assert.equal(header.opcode, WsOpcode.binary);
      assert.deepEqual(header.mask, mask);
      const body = frame.slice(headerLength);
      if (mask) applyWsMask(body, mask);
      assert.deepEqual(body, payload);
    }
  }
});

Deno.test("parseWsFrameHeader() refuses reserved bits, unknown opcodes, big or fragmented control frames and oversized frames", () => {
  const problems: [Uint8Array, RegExp][] = [
    [new Uint8Array([0xc2, 0]), /reserved bits/],
    [new Uint8Array([0x83, 0]), /unknown opcode 3/],
    [new Uint8Array([0x89, 126, 0, 126]), /126-byte control frame/],
    [new Uint8Array([0x09, 0]), /fragmented control frame/],
  ];
  const huge = new Uint8Array(10);
  huge[0] = 0x82;
  huge[1] = 127;
  new DataView(huge.buffer).setUint32(6, MAX_WS_MESSAGE_BYTES + 1);
  problems.push([huge, new RegExp(`${MAX_WS_MESSAGE_BYTES + 1}-byte frame`)]);
  const beyond2to53 = huge.slice();
  beyond2to53[2] = 0xff;
  problems.push([beyond2to53, /beyond 2\^53/]);
  for (const [bytes, message] of problems) {
    assert.throws(() => parseWsFrameHeader(bytes, 7), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.match(error.message, /^Cannot decode WebSocket frame at byte 7: /);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("wsAcceptValue() computes the RFC 6455 example", async () => {
  assert.equal(await wsAcceptValue("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

/** Connects a room of a TLS simulator over `kind` and runs a session until messages arrive. */
async function sessionOver(kind: TransportKind): Promise<void> {
  await using sim = await startSimulator({
    seed: `ws-client-${kind}`,
    rooms: 2,
    rate: 200,
    logEveryMs: 0,
    tls: { cert: read("server.pem"), key: read("server.key") },
  });
  const room = sim.world.rooms[0];
  sim.setLive(room.roomId, true);
  const api = new BilibiliApi({
    apiBase: sim.api,
    clock: systemClock,
    limiter: new RateLimiter({ perSecond: 0, clock: systemClock }),
  });
  const identity = await api.identity();
  const info = await api.getDanmuInfo(room.roomId);
  const transport = await connectTransport({
    kind,
    host: info.hosts[0],
    caCerts: [CA],
    headers: { "User-Agent": "test-agent/1.0", Origin: "https://live.bilibili.com" },
  });
  assert.equal(transport.address, kind === "wss" ? sim.wss : sim.ws);
  const received: ServerMessage[] = [];
  let gateAsked = 0;
  const session: RoomSession = new RoomSession({
    transport,
    clock: systemClock,
    heartbeatIntervalMs: 50,
    auth: {
      uid: identity.uid,
      roomid: room.roomId,
      protover: 3,
      platform: "web",
      type: 2,
      key: info.token,
      buvid: identity.buvid3,
    },
    onMessage: (message) => {
      received.push(message);
      const heartbeats = received.filter((m) => m.kind === "heartbeatReply").length;
      if (session.messages >= 20 && heartbeats >= 2) session.stop("stopped", "enough");
    },
    beforeRead: () => {
      gateAsked++;
      return undefined;
    },
  });
  const outcome = await session.run();
  assert.deepEqual([outcome.reason, outcome.authenticated], ["stopped", true], outcome.detail);
  assert.ok(outcome.messages >= 20, `${outcome.messages} messages`);
  assert.ok(received.some((m) => m.kind === "heartbeatReply"), "a heartbeat reply");
  assert.ok(gateAsked > 0, "the reader asks the read gate before reading, as over TCP");
  assert.equal(sim.counters.authAccepted, 1);
}

Deno.test("connectTransport({ kind: 'ws' }) authenticates on the simulator and receives messages and heartbeat replies", async () => {
  await sessionOver("ws");
});

Deno.test("connectTransport({ kind: 'wss' }) trusts the test CA given as caCerts and receives messages", async () => {
  await sessionOver("wss");
});

Deno.test("openWebSocket() over TLS refuses a server whose CA is not trusted", async () => {
  await using sim = await startSimulator({
    seed: "ws-untrusted",
    rooms: 1,
    tickMs: 0,
    logEveryMs: 0,
    tls: { cert: read("server.pem"), key: read("server.key") },
  });
  const url = new URL(sim.wss!);
  await assert.rejects(
    openWebSocket({ secure: true, hostname: url.hostname, port: Number(url.port) }),
    (error: unknown) => {
      assert.match(
        (error as Error).message,
        new RegExp(`^Cannot open ${sim.wss}: .*certificate`, "i"),
      );
      return true;
    },
  );
});

/** What the scripted server saw and does. */
interface ScriptedServer extends AsyncDisposable {
  port: number;
  /** The upgrade request head. */
  request: Promise<string>;
  /** Frames the client sent, unmasked, once the script ended. */
  clientFrames: Promise<{ opcode: number; masked: boolean; payload: Uint8Array }[]>;
}

/**
 * A one-connection WebSocket server on loopback: it answers the upgrade (with `accept` replaced
 * when given), writes `frames` after the first client frame, then reads the client's frames
 * until the client closes.
 */
function scriptedServer(frames: Uint8Array[], options: { accept?: string } = {}): ScriptedServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const request = Promise.withResolvers<string>();
  const served = (async () => {
    const conn = await listener.accept();
    const seen: { opcode: number; masked: boolean; payload: Uint8Array }[] = [];
    try {
      const buffer = new Uint8Array(1 << 20);
      let have = 0;
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buffer.subarray(have));
        if (n === null) return seen;
        have += n;
        head = new TextDecoder().decode(buffer.subarray(0, have));
      }
      request.resolve(head);
      const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(head)![1];
      const accept = options.accept ?? await wsAcceptValue(key);
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
        ),
      );
      have = 0;
      let wrote = false;
      for (;;) {
        // Parse whole client frames from the buffer.
        let at = 0;
        while (have - at >= 2 && have - at >= wsHeaderLength(buffer[at + 1])) {
          const header = parseWsFrameHeader(
            buffer.subarray(at, at + wsHeaderLength(buffer[at + 1])),
          );
          if (have - at < header.headerLength + header.payloadLength) break;
          const payload = buffer.slice(
            at + header.headerLength,
            at + header.headerLength + header.payloadLength,
          );
          if (header.mask) applyWsMask(payload, header.mask);
          seen.push({ opcode: header.opcode, masked: header.mask !== undefined, payload });
          at += header.headerLength + header.payloadLength;
        }
        buffer.copyWithin(0, at, have);
        have -= at;
        if (seen.length > 0 && !wrote) {
          wrote = true;
          for (const frame of frames) await conn.write(frame);
        }
        const n = await conn.read(buffer.subarray(have)).catch(() => null);
        if (n === null) return seen;
        have += n;
      }
    } finally {
      request.resolve("");
      conn.close();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    request: request.promise,
    clientFrames: served,
    async [Symbol.asyncDispose]() {
      listener.close();
      await served.catch(() => {});
    },
  };
}

/** A business packet of `size` bytes or more. */
function bigPacket(size: number): Uint8Array {
  const text = JSON.stringify({ cmd: "DANMU_MSG", info: ["x".repeat(size)] });
  return encodePacket(Op.message, text, { ver: Ver.json, seq: 0 });
}

Deno.test("WebSocketConnection reassembles a message split over three frames with a ping between, and answers the ping with its payload, masked", async () => {
  const packet = bigPacket(100_000);
  const third = Math.floor(packet.length / 3);
  const ping = new TextEncoder().encode("are you there");
  await using server = scriptedServer([
    encodeWsFrame(WsOpcode.binary, packet.subarray(0, third), { fin: false }),
    encodeWsFrame(WsOpcode.ping, ping),
    encodeWsFrame(WsOpcode.continuation, packet.subarray(third, 2 * third), { fin: false }),
    encodeWsFrame(WsOpcode.continuation, packet.subarray(2 * third)),
    encodeWsFrame(WsOpcode.binary, encodePacket(Op.heartbeatReply, new Uint8Array([0, 0, 0, 1]))),
    encodeWsFrame(WsOpcode.close, new Uint8Array([0x03, 0xe8])),
  ]);
  const socket = await openWebSocket({
    secure: false,
    hostname: "127.0.0.1",
    port: server.port,
    headers: { "User-Agent": "agent/2", Origin: "https://live.bilibili.com", Cookie: "a=b" },
  });
  const request = await server.request;
  assert.match(request, /^GET \/sub HTTP\/1\.1\r\n/);
  assert.match(request, /\r\nUser-Agent: agent\/2\r\n/);
  assert.match(request, /\r\nOrigin: https:\/\/live\.bilibili\.com\r\n/);
  assert.match(request, /\r\nCookie: a=b\r\n/);
  assert.match(request, /\r\nSec-WebSocket-Version: 13\r\n/);
  await socket.send(new Uint8Array([1, 2, 3]));
  const messages: ServerMessage[] = [];
  await readPackets(socket, (p, offset) => decodePacket(p, (m) => messages.push(m), offset));
  socket.close();
  assert.deepEqual(messages.map((m) => m.kind), ["message", "heartbeatReply"]);
  assert.equal((messages[0] as { text: string }).text.length, packet.length - 16);
  assert.equal(socket.closeCode, 1000);
  const frames = await server.clientFrames;
  assert.ok(frames.every((f) => f.masked), "every client frame is masked");
  assert.deepEqual(frames.map((f) => f.opcode), [WsOpcode.binary, WsOpcode.pong, WsOpcode.close]);
  assert.deepEqual(frames[0].payload, new Uint8Array([1, 2, 3]));
  assert.deepEqual(frames[1].payload, ping);
  assert.deepEqual(frames[2].payload, new Uint8Array([0x03, 0xe8]));
});

Deno.test("WebSocketConnection refuses a masked server frame and a continuation outside a message", async () => {
  for (
    const [frame, problem] of [
      [encodeWsFrame(WsOpcode.binary, new Uint8Array(4), { mask: new Uint8Array(4) }), /masked/],
      [encodeWsFrame(WsOpcode.continuation, new Uint8Array(4)), /continuation frame outside/],
    ] as const
  ) {
    await using server = scriptedServer([frame]);
    using socket = await openWebSocket({ secure: false, hostname: "127.0.0.1", port: server.port });
    await socket.send(new Uint8Array(1));
    await assert.rejects(readPackets(socket, () => {}), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.match(error.message, problem);
      return true;
    });
  }
});

Deno.test("openWebSocket() refuses an upgrade answer with a wrong Sec-WebSocket-Accept", async () => {
  await using server = scriptedServer([], { accept: "bm90IHRoZSByaWdodCB2YWx1ZQ==" });
  await assert.rejects(
    openWebSocket({ secure: false, hostname: "127.0.0.1", port: server.port }),
    new RegExp(
      `^Error: Cannot open ws://127\\.0\\.0\\.1:${server.port}/sub: .*Sec-WebSocket-Accept`,
    ),
  );
});

Deno.test("openWebSocket() refuses a header value with a line break, without echoing the value", async () => {
  await assert.rejects(
    openWebSocket({
      secure: false,
      hostname: "127.0.0.1",
      port: 9,
      headers: { Cookie: "SESSDATA=secret\r\nX-Evil: 1" },
    }),
    (error: unknown) => {
      assert.match((error as Error).message, /Cookie/);
      assert.doesNotMatch((error as Error).message, /secret/);
      return true;
    },
  );
});

Deno.test("readCaFile() returns each PEM certificate of --ca-file and names the flag when it cannot", async () => {
  assert.deepEqual(readCaFile(new URL("ca.pem", TLS).pathname), [CA.trim() + "\n"]);
  const dir = await Deno.makeTempDir();
  try {
    const empty = `${dir}/empty.pem`;
    await Deno.writeTextFile(empty, "not a certificate\n");
    assert.throws(() => readCaFile(empty), {
      name: "ConfigError",
      message:
        `Cannot use --ca-file "${empty}": expected PEM certificates (-----BEGIN CERTIFICATE-----)`,
    });
    assert.throws(() => readCaFile(`${dir}/missing.pem`), (error: unknown) => {
      assert.equal((error as Error).name, "ConfigError");
      assert.match((error as Error).message, /^Cannot read --ca-file ".*missing\.pem": /);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
