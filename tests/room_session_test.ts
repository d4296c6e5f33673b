import assert from "node:assert/strict";
import { ProtocolError } from "../src/errors.ts";
import { type AuthBody, encodePacket, Op, Ver } from "../src/protocol/packet.ts";
import {
  decodePacket,
  type MessageSink,
  type ServerMessage,
} from "../src/protocol/packet_decoder.ts";
import { DRAIN_QUIET_MS, RoomSession, type SessionOutcome } from "../src/room/room_session.ts";
import type { DanmakuTransport } from "../src/room/transport.ts";
import { TimerQueue } from "../src/room/timer_queue.ts";
import { ManualClock, settle } from "./support/manual_clock.ts";

const AUTH: AuthBody = {
  uid: 0,
  roomid: 21_452_505,
  protover: 3,
  platform: "web",
  type: 2,
  key: "token-abc",
  buvid: "B1C2-infoc",
};

/** A scripted danmaku server on the other end of a transport. */
class FakeTransport implements DanmakuTransport {
  readonly address = "fake.example:2243";
  readonly sent: Uint8Array[] = [];
  closeCalls = 0;
  finishCalls = 0;
  /** When set, send() rejects with it. */
  sendError?: Error;
  /** When set, send() rejects with it from this call on (1-based). */
  sendErrorFromCall = 1;
  #sends = 0;
  #ended = Promise.withResolvers<void>();
  #onMessage?: MessageSink;
  #onBytes?: (count: number) => void;
  #beforeRead?: () => Promise<void> | undefined;

  receive(
    onMessage: MessageSink,
    onBytes: (count: number) => void,
    beforeRead?: () => Promise<void> | undefined,
  ): Promise<void> {
    this.#onMessage = onMessage;
    this.#onBytes = onBytes;
    this.#beforeRead = beforeRead;
    return this.#ended.promise;
  }

  /** The reader is about to read: asks the session's gate, as a real transport does. */
  askToRead(): Promise<void> | undefined {
    return this.#beforeRead?.();
  }

  send(packet: Uint8Array): Promise<void> {
    this.#sends++;
    if (this.sendError && this.#sends >= this.sendErrorFromCall) {
      return Promise.reject(this.sendError);
    }
    this.sent.push(packet.slice());
    return Promise.resolve();
  }

  finish(): void {
    this.finishCalls++;
  }

  close(): void {
    this.closeCalls++;
    this.#ended.resolve();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The server sends `packet`. */
  deliver(packet: Uint8Array): void {
    assert.ok(this.#onMessage && this.#onBytes, "the session is not reading");
    this.#onBytes(packet.length);
    decodePacket(packet, this.#onMessage);
  }

  /** The server closes the connection. */
  peerClose(): void {
    this.#ended.resolve();
  }

  /** The read fails. */
  fail(error: Error): void {
    this.#ended.reject(error);
  }

  /** The sent packets' ops, decoded with the project's decoder. */
  sentOps(): number[] {
    return this.sent.map((packet) => decodeSent(packet).op);
  }
}

function decodeSent(packet: Uint8Array): { op: number; ver: number; body: Uint8Array } {
  const out: ServerMessage[] = [];
  decodePacket(packet, (m) => out.push(m));
  assert.equal(out.length, 1);
  const message = out[0];
  assert.equal(message.kind, "other");
  return message;
}

const authReply = (code: number) => encodePacket(Op.authReply, JSON.stringify({ code }));
const business = (cmd: string) =>
  encodePacket(Op.message, JSON.stringify({ cmd, data: {} }), { ver: Ver.json });
const heartbeatReply = (popularity: number) => {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, popularity);
  return encodePacket(Op.heartbeatReply, body);
};

function start(
  options: {
    heartbeatIntervalMs?: number;
    authTimeoutMs?: number;
    drainMs?: number;
    beforeRead?: () => Promise<void> | undefined;
    signal?: AbortSignal;
  } = {},
) {
  const clock = new ManualClock();
  const transport = new FakeTransport();
  const received: ServerMessage[] = [];
  let authenticatedCalls = 0;
  const session = new RoomSession({
    transport,
    auth: AUTH,
    clock,
    onMessage: (m) => received.push(m),
    onAuthenticated: () => authenticatedCalls++,
    ...options,
  });
  const outcome: Promise<SessionOutcome> = session.run();
  return {
    clock,
    transport,
    received,
    session,
    outcome,
    authenticatedCalls: () => authenticatedCalls,
  };
}

Deno.test("RoomSession sends the auth packet first: op 7, ver 1, the auth body as JSON", async () => {
  const { transport, session, outcome } = start();
  await settle();
  assert.equal(transport.sent.length, 1, "nothing but the auth packet before the reply");
  const auth = decodeSent(transport.sent[0]);
  assert.equal(auth.op, Op.auth);
  assert.equal(auth.ver, Ver.raw);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(auth.body)), AUTH);
  session.stop("stopped", "test over");
  assert.equal((await outcome).reason, "stopped");
});

Deno.test("RoomSession sends a heartbeat right after the auth reply and every heartbeatIntervalMs", async () => {
  const { clock, transport, session, outcome, authenticatedCalls } = start({
    heartbeatIntervalMs: 30_000,
  });
  await settle();
  transport.deliver(authReply(0));
  await settle();
  assert.equal(session.authenticated, true);
  assert.equal(authenticatedCalls(), 1);
  assert.deepEqual(transport.sentOps(), [Op.auth, Op.heartbeat]);
  assert.equal(decodeSent(transport.sent[1]).body.length, 0, "the heartbeat body is empty");

  await clock.advance(29_999);
  assert.equal(transport.sent.length, 2);
  await clock.advance(1);
  assert.deepEqual(transport.sentOps(), [Op.auth, Op.heartbeat, Op.heartbeat]);
  await clock.advance(30_000);
  await clock.advance(30_000);
  assert.deepEqual(transport.sentOps(), [
    Op.auth,
    Op.heartbeat,
    Op.heartbeat,
    Op.heartbeat,
    Op.heartbeat,
  ]);

  session.stop("stopped", "test over");
  await outcome;
});

Deno.test("RoomSession accepts a second op 8 {code:0} without calling onAuthenticated again", async () => {
  const { transport, session, outcome, authenticatedCalls } = start();
  await settle();
  transport.deliver(authReply(0));
  transport.deliver(authReply(0));
  await settle();
  assert.equal(authenticatedCalls(), 1);
  assert.deepEqual(transport.sentOps(), [Op.auth, Op.heartbeat]);
  session.stop("stopped", "test over");
  await outcome;
});

Deno.test("RoomSession ends with auth_failed when the server refuses the auth packet (code -101)", async () => {
  const { clock, transport, received, outcome, authenticatedCalls } = start();
  await settle();
  transport.deliver(authReply(-101));
  const result = await outcome;
  assert.deepEqual(result, {
    reason: "auth_failed",
    detail: "the server refused the auth packet: code -101",
    error: undefined,
    authenticated: false,
    messages: 0,
    heartbeatReplies: 0,
    authAnswered: true,
  });
  assert.equal(authenticatedCalls(), 0);
  assert.deepEqual(received, [], "the auth reply is not a message");
  assert.deepEqual(transport.sentOps(), [Op.auth], "no heartbeat after a refused auth");
  assert.ok(transport.closeCalls >= 1, "the transport is closed");
  assert.equal(clock.sleepers, 0, "the auth timer is cancelled");
});

Deno.test("RoomSession ends with auth_timeout when no auth reply comes within authTimeoutMs", async () => {
  const { clock, transport, outcome } = start({ authTimeoutMs: 5000 });
  let done = false;
  outcome.then(() => done = true);
  await clock.advance(4999);
  assert.equal(done, false);
  await clock.advance(1);
  const result = await outcome;
  assert.equal(result.reason, "auth_timeout");
  assert.equal(result.detail, "no auth reply within 5000 ms");
  assert.equal(result.authenticated, false);
  assert.deepEqual(transport.sentOps(), [Op.auth]);
  assert.ok(transport.closeCalls >= 1);
});

Deno.test("RoomSession does not time out once the auth reply came", async () => {
  const { clock, transport, session, outcome } = start({
    authTimeoutMs: 5000,
    heartbeatIntervalMs: 60_000,
  });
  let done = false;
  outcome.then(() => done = true);
  await settle();
  transport.deliver(authReply(0));
  await clock.advance(20_000);
  assert.equal(done, false);
  session.stop("stopped", "test over");
  assert.equal((await outcome).reason, "stopped");
});

Deno.test("RoomSession ends with closed_by_server when the peer closes after auth", async () => {
  const { transport, outcome } = start();
  await settle();
  transport.deliver(authReply(0));
  transport.deliver(business("DANMU_MSG"));
  transport.peerClose();
  const result = await outcome;
  assert.equal(result.reason, "closed_by_server");
  assert.equal(result.detail, "the server closed the connection");
  assert.equal(result.authenticated, true);
  assert.equal(result.messages, 1);
});

Deno.test("RoomSession ends with auth_failed when the peer closes before the auth reply", async () => {
  const { transport, outcome } = start();
  await settle();
  transport.peerClose();
  const result = await outcome;
  assert.equal(result.reason, "auth_failed");
  assert.equal(
    result.detail,
    "the server closed the connection before accepting the auth packet",
  );
  assert.equal(result.authenticated, false);
});

Deno.test('RoomSession.stop("watchdog", …) ends the session with that reason and closes the transport', async () => {
  const { clock, transport, session, outcome } = start();
  await settle();
  transport.deliver(authReply(0));
  await clock.advance(1000);
  session.stop("watchdog", "no bytes for 70000 ms");
  const result = await outcome;
  assert.equal(result.reason, "watchdog");
  assert.equal(result.detail, "no bytes for 70000 ms");
  assert.equal(result.authenticated, true);
  assert.ok(transport.closeCalls >= 1);
  assert.equal(clock.sleepers, 0, "the heartbeat timer is cancelled");
});

Deno.test("RoomSession keeps the first end reason when several happen", async () => {
  const { transport, session, outcome } = start();
  await settle();
  transport.deliver(authReply(0));
  session.stop("watchdog", "no bytes for 70000 ms");
  session.stop("stopped", "later");
  transport.peerClose();
  assert.equal((await outcome).reason, "watchdog");
});

Deno.test("RoomSession counts op-5 messages and hands every message after auth to onMessage", async () => {
  const { transport, session, received, outcome } = start();
  await settle();
  transport.deliver(authReply(0));
  transport.deliver(business("DANMU_MSG"));
  transport.deliver(heartbeatReply(1234));
  transport.deliver(business("SEND_GIFT"));
  transport.deliver(business("INTERACT_WORD"));
  assert.equal(session.messages, 3);
  assert.deepEqual(received.map((m) => m.kind), [
    "message",
    "heartbeatReply",
    "message",
    "message",
  ]);
  assert.deepEqual(
    received.flatMap((m) => m.kind === "message" ? [(m.body as { cmd: string }).cmd] : []),
    ["DANMU_MSG", "SEND_GIFT", "INTERACT_WORD"],
  );
  assert.equal(received[1].kind === "heartbeatReply" && received[1].popularity, 1234);
  session.stop("stopped", "test over");
  const result = await outcome;
  assert.equal(result.messages, 3);
});

Deno.test("RoomSession.lastActivityAt moves to the clock time of the last bytes received", async () => {
  const { clock, transport, session, outcome } = start();
  const startedAt = clock.now();
  assert.equal(session.lastActivityAt, startedAt);
  await clock.advance(2500);
  assert.equal(session.lastActivityAt, startedAt, "no bytes, no activity");
  transport.deliver(authReply(0));
  assert.equal(session.lastActivityAt, startedAt + 2500);
  session.stop("stopped", "test over");
  await outcome;
});

Deno.test("RoomSession drains when the outer signal aborts: no more heartbeats, the write side shut, what arrives still read", async () => {
  const controller = new AbortController();
  const { clock, transport, received, outcome } = start({
    signal: controller.signal,
    heartbeatIntervalMs: 100,
  });
  await settle();
  transport.deliver(authReply(0));
  await settle();
  const sentBefore = transport.sent.length;
  controller.abort();
  assert.equal(transport.finishCalls, 1, "the write side is shut");
  assert.equal(transport.closeCalls, 0, "the socket stays open while it drains");
  await clock.advance(150);
  transport.deliver(business("DANMU_MSG")); // already on its way when we stopped
  await clock.advance(150);
  transport.deliver(business("SEND_GIFT"));
  await clock.advance(150);
  assert.equal(transport.sent.length, sentBefore, "no heartbeat after the stop");
  transport.peerClose(); // the server flushed and closed
  const result = await outcome;
  assert.equal(result.reason, "stopped");
  assert.equal(result.detail, "stopped by the collector after the server closed the connection");
  assert.deepEqual(
    received.map((m) => m.kind === "message" && (m.body as { cmd: string }).cmd),
    ["DANMU_MSG", "SEND_GIFT"],
  );
  assert.equal(result.messages, 2);
});

Deno.test("RoomSession ends a drain once the socket is quiet for DRAIN_QUIET_MS", async () => {
  const controller = new AbortController();
  const { clock, transport, received, outcome } = start({ signal: controller.signal });
  await settle();
  transport.deliver(authReply(0));
  controller.abort();
  transport.deliver(business("DANMU_MSG"));
  await clock.advance(DRAIN_QUIET_MS - 1);
  assert.equal(transport.closeCalls, 0, "not quiet long enough yet");
  await clock.advance(DRAIN_QUIET_MS);
  const result = await outcome;
  assert.equal(result.reason, "stopped");
  assert.equal(result.detail, "stopped by the collector after reading what the socket held");
  assert.ok(transport.closeCalls >= 1);
  assert.equal(received.length, 1);
});

Deno.test("RoomSession ends a drain at drainMs even while bytes keep coming", async () => {
  const controller = new AbortController();
  const { clock, transport, outcome } = start({ signal: controller.signal, drainMs: 1000 });
  await settle();
  transport.deliver(authReply(0));
  controller.abort();
  for (let i = 0; i < 12; i++) {
    await clock.advance(100);
    if (transport.closeCalls === 0) transport.deliver(business("DANMU_MSG"));
  }
  const result = await outcome;
  assert.equal(result.detail, "stopped by the collector: the 1000 ms drain ran out");
  assert.equal(result.messages, 9, "read at 100…900 ms, closed at the 1000 ms deadline");
});

Deno.test("RoomSession stopped after its auth packet went out drains: the auth reply and what follows it are read", async () => {
  const controller = new AbortController();
  const { clock, transport, received, outcome, authenticatedCalls } = start({
    signal: controller.signal,
    heartbeatIntervalMs: 100,
  });
  await settle();
  assert.deepEqual(transport.sentOps(), [Op.auth]);
  controller.abort(); // the server's answer is already in the kernel, not read yet
  assert.equal(transport.finishCalls, 1, "the write side is shut");
  assert.equal(transport.closeCalls, 0, "the socket stays open while it drains");
  transport.deliver(authReply(0));
  transport.deliver(business("LOG_IN_NOTICE"));
  await clock.advance(150);
  assert.equal(authenticatedCalls(), 1);
  assert.deepEqual(transport.sentOps(), [Op.auth], "no heartbeat while draining");
  transport.peerClose();
  const result = await outcome;
  assert.equal(result.reason, "stopped");
  assert.equal(result.authenticated, true);
  assert.deepEqual(
    received.map((m) => m.kind === "message" && (m.body as { cmd: string }).cmd),
    ["LOG_IN_NOTICE"],
  );
});

Deno.test("RoomSession stopped after its auth packet went out ends the drain once quiet when no reply comes", async () => {
  const controller = new AbortController();
  const { clock, transport, outcome } = start({ signal: controller.signal });
  await settle();
  controller.abort();
  await clock.advance(DRAIN_QUIET_MS - 1);
  assert.equal(transport.closeCalls, 0, "not quiet long enough yet");
  await clock.advance(1);
  const result = await outcome;
  assert.equal(result.detail, "stopped by the collector after reading what the socket held");
  assert.equal(result.authenticated, false);
});

Deno.test("RoomSession stops at once with drainMs 0", async () => {
  const controller = new AbortController();
  const { transport, outcome } = start({ signal: controller.signal, drainMs: 0 });
  await settle();
  transport.deliver(authReply(0));
  controller.abort();
  const result = await outcome;
  assert.equal(result.reason, "stopped");
  assert.equal(result.detail, "stopped by the collector");
  assert.equal(transport.finishCalls, 0);
  assert.ok(transport.closeCalls >= 1);
});

Deno.test("RoomSession does not end a drain as quiet while its reader waits at the gate", async () => {
  const gate = Promise.withResolvers<void>();
  const controller = new AbortController();
  const { clock, transport, outcome } = start({
    signal: controller.signal,
    beforeRead: () => gate.promise,
    drainMs: 10 * DRAIN_QUIET_MS, // the drain does not run out meanwhile
  });
  await settle();
  transport.deliver(authReply(0));
  const paused = transport.askToRead();
  controller.abort();
  await clock.advance(5 * DRAIN_QUIET_MS);
  assert.equal(transport.closeCalls, 0, "the bytes wait in the kernel: not quiet");
  gate.resolve();
  await paused;
  transport.deliver(business("DANMU_MSG"));
  await clock.advance(2 * DRAIN_QUIET_MS);
  const result = await outcome;
  assert.equal(result.detail, "stopped by the collector after reading what the socket held");
  assert.equal(result.messages, 1);
});

Deno.test("RoomSession stopped while its reader waits at the gate lets the reader go", async () => {
  const gate = Promise.withResolvers<void>(); // never opens
  const { transport, session, outcome } = start({ beforeRead: () => gate.promise });
  await settle();
  transport.deliver(authReply(0));
  const paused = transport.askToRead();
  session.stop("watchdog", "no bytes for 70 s");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const released = await Promise.race([
    paused?.then(() => true),
    new Promise((resolve) => timer = setTimeout(() => resolve(false), 1000)),
  ]);
  clearTimeout(timer);
  assert.equal(released, true, "the paused reader is released by the stop");
  assert.equal((await outcome).reason, "watchdog");
});

Deno.test("RoomSession.stop() during a drain closes at once", async () => {
  const controller = new AbortController();
  const { transport, session, outcome } = start({ signal: controller.signal });
  await settle();
  transport.deliver(authReply(0));
  controller.abort();
  session.stop("watchdog", "no bytes for 70 s");
  const result = await outcome;
  assert.equal(result.reason, "watchdog");
  assert.ok(transport.closeCalls >= 1);
});

Deno.test("RoomSession with an already aborted signal stops without waiting for anything", async () => {
  const { outcome } = start({ signal: AbortSignal.abort() });
  const result = await outcome;
  assert.equal(result.reason, "stopped");
  assert.equal(result.detail, "stopped by the collector");
});

Deno.test("RoomSession ends with protocol_error when the reader meets bad bytes", async () => {
  const { transport, outcome } = start();
  await settle();
  const error = new ProtocolError("Cannot decode packet at byte 0: header length 3 is below 16", 0);
  transport.fail(error);
  const result = await outcome;
  assert.equal(result.reason, "protocol_error");
  assert.equal(result.detail, "Cannot decode packet at byte 0: header length 3 is below 16");
  assert.equal(result.error, error);
});

Deno.test("RoomSession ends with socket_error when the read fails otherwise", async () => {
  const { transport, outcome } = start();
  await settle();
  transport.fail(new Deno.errors.ConnectionReset("connection reset by peer"));
  const result = await outcome;
  assert.equal(result.reason, "socket_error");
  assert.equal(result.detail, "connection reset by peer");
  assert.ok(result.error instanceof Deno.errors.ConnectionReset);
});

Deno.test("RoomSession ends with socket_error when the auth packet cannot be sent", async () => {
  const clock = new ManualClock();
  const transport = new FakeTransport();
  transport.sendError = new Error("broken pipe");
  const session = new RoomSession({ transport, auth: AUTH, clock, onMessage: () => {} });
  const result = await session.run();
  assert.equal(result.reason, "socket_error");
  assert.equal(result.detail, "cannot send the auth packet: broken pipe");
  assert.equal(result.error, transport.sendError);
});

Deno.test("RoomSession ends with heartbeat_failed when a heartbeat cannot be sent", async () => {
  const { clock, transport, outcome } = start({ heartbeatIntervalMs: 1000 });
  transport.sendError = new Error("broken pipe");
  transport.sendErrorFromCall = 3; // auth and the first heartbeat go out
  await settle();
  transport.deliver(authReply(0));
  await clock.advance(1000);
  const result = await outcome;
  assert.equal(result.reason, "heartbeat_failed");
  assert.equal(result.detail, "cannot send a heartbeat: broken pipe");
  assert.deepEqual(transport.sentOps(), [Op.auth, Op.heartbeat]);
});

Deno.test("RoomSessions given one TimerQueue keep their heartbeats and auth deadlines on its one timer", async () => {
  const clock = new ManualClock();
  using timers = new TimerQueue(clock);
  const sessions = [0, 1, 2].map(() => {
    const transport = new FakeTransport();
    const session = new RoomSession({
      transport,
      auth: AUTH,
      clock,
      heartbeatIntervalMs: 30_000,
      onMessage: () => {},
      timers,
    });
    return { transport, session, outcome: session.run() };
  });
  await settle();
  assert.equal(timers.size, 3, "three auth deadlines");
  assert.equal(clock.sleepers, 1, "one timer for the three sessions");
  for (const { transport } of sessions) transport.deliver(authReply(0));
  await settle();
  assert.equal(timers.size, 3, "the auth deadlines gave way to three heartbeats");
  assert.equal(clock.sleepers, 1);
  await clock.advance(30_000);
  for (const { transport } of sessions) {
    assert.deepEqual(transport.sentOps(), [Op.auth, Op.heartbeat, Op.heartbeat]);
  }
  for (const { session } of sessions) session.stop("stopped", "test over");
  for (const { outcome } of sessions) assert.equal((await outcome).reason, "stopped");
  assert.equal(timers.size, 0, "a stopped session leaves nothing in the queue");
  assert.equal(clock.sleepers, 0);
});

Deno.test("RoomSession.paused is true while its reader waits at the gate, and resumedAt says when it went on", async () => {
  const gate = Promise.withResolvers<void>();
  const { clock, transport, session, outcome } = start({ beforeRead: () => gate.promise });
  await settle();
  transport.deliver(authReply(0));
  assert.equal(session.paused, false);
  assert.equal(session.resumedAt, undefined);
  const paused = transport.askToRead();
  assert.equal(session.paused, true, "the supervisor must not judge it silent meanwhile");
  await clock.advance(20_000);
  gate.resolve();
  await paused;
  assert.equal(session.paused, false);
  assert.equal(session.resumedAt, clock.now());
  session.stop("stopped", "test over");
  await outcome;
});
