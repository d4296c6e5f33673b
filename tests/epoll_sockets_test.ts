import assert from "node:assert/strict";
import { ConfigError, ProtocolError } from "../src/errors.ts";
import { encodePacket, Op, Ver } from "../src/protocol/packet.ts";
import type { ServerMessage } from "../src/protocol/packet_decoder.ts";
import {
  type EpollConnection,
  EpollSockets,
  openSockets,
  SHARED_READ_BUFFER_SIZE,
} from "../src/room/epoll_sockets.ts";
import { connectTransport } from "../src/room/transport.ts";
import { DatabaseSync } from "node:sqlite";
import { runCollector } from "../src/collector/collector.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { MemoryTruth } from "../src/simulator/truth_log.ts";
import { systemClock } from "../src/util/clock.ts";
import { fastCollectConfig, liveRooms, sleep, waitFor } from "./support/collect_helpers.ts";
import { seededRandom } from "./support/samples.ts";

/** A JSON message packet whose body carries `n` (and `pad` bytes of padding). */
function message(n: number, pad = 0): Uint8Array {
  return encodePacket(Op.message, JSON.stringify({ cmd: "TEST", n, pad: "x".repeat(pad) }), {
    ver: Ver.json,
  });
}

/** The `n` of every business message. */
function numbers(messages: ServerMessage[]): number[] {
  return messages.map((m) => m.kind === "message" ? (m.body as { n: number }).n : -1);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Writes all of `bytes` to a Deno connection. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Reads a Deno connection to its end. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) return concat(parts);
    parts.push(buffer.slice(0, n));
  }
}

/** A loopback listener and an epoll client connected to it, with the server's end. */
async function connected(sockets: EpollSockets, listener: Deno.TcpListener) {
  const [client, server] = await Promise.all([
    sockets.connect("127.0.0.1", listener.addr.port),
    listener.accept(),
  ]);
  return { client, server };
}

/** Starts reading `client`; the messages land in the returned array. */
function receiveInto(client: EpollConnection, gate?: () => Promise<void> | undefined) {
  const messages: ServerMessage[] = [];
  let bytes = 0;
  const done = client.receive((m) => messages.push(m), (n) => bytes += n, gate);
  return { messages, done, bytes: () => bytes };
}

/** Descriptors this process holds now. */
/** What descriptor `fd` of this process is (`socket:[4711]`, `anon_inode:[eventpoll]`), if open. */
function descriptorTarget(fd: number): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** A descriptor and what it was while held. */
type HeldDescriptor = [fd: number, target: string];

/**
 * The descriptors `sockets` holds now, each with what it is: other test files running in this
 * process open and close descriptors meanwhile, so only these, not a count, say ours were closed.
 */
function heldDescriptors(sockets: EpollSockets): HeldDescriptor[] {
  return sockets.descriptors.map((fd) => {
    const target = descriptorTarget(fd);
    assert.ok(target !== undefined, `descriptor ${fd} is not open`);
    return [fd, target];
  });
}

/** Those of `held` still open as the same thing (a number reused for another file is closed). */
function stillOpen(held: readonly HeldDescriptor[]): HeldDescriptor[] {
  return held.filter(([fd, target]) => descriptorTarget(fd) === target);
}

/** A port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

const LIBC_LISTEN = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  accept: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** A blocking libc listener on 127.0.0.1 (backlog 0); `accept()` only once a client connected. */
function libcListener() {
  const libc = Deno.dlopen("libc.so.6", LIBC_LISTEN);
  const fd = libc.symbols.socket(2, 1, 0);
  const address = new Uint8Array(16);
  address.set([2, 0, 0, 0, 127, 0, 0, 1]);
  const length = new Uint8Array([16, 0, 0, 0]);
  assert.equal(libc.symbols.bind(fd, address, 16), 0);
  assert.equal(libc.symbols.listen(fd, 0), 0);
  assert.equal(libc.symbols.getsockname(fd, address, length), 0);
  return {
    port: (address[2] << 8) | address[3],
    /** Accepts the waiting client and closes it with SO_LINGER 0: a reset. */
    acceptAndReset() {
      const conn = libc.symbols.accept(fd, null, null);
      assert.ok(conn >= 0);
      // struct linger { int l_onoff = 1; int l_linger = 0; }, SOL_SOCKET, SO_LINGER
      assert.equal(
        libc.symbols.setsockopt(conn, 1, 13, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8),
        0,
      );
      libc.symbols.close(conn);
    },
    [Symbol.dispose]() {
      libc.symbols.close(fd);
      libc.close();
    },
  };
}

/**
 * A listener that never accepts: once its accept queue (backlog 0) is full the kernel drops
 * further SYNs, so a connect to it hangs until the client gives up.
 */
const blackHoleListener = libcListener;

Deno.test("EpollSockets connects, sends and receives packets split and coalesced, then ends cleanly at EOF", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { client, server } = await connected(sockets, listener);
  assert.equal(client.address, `127.0.0.1:${listener.addr.port}`);
  const reading = receiveInto(client);
  await client.send(encodePacket(Op.auth, "{}"));
  const got = new Uint8Array(16 + 2);
  assert.equal(await server.read(got), 18);
  assert.equal(new DataView(got.buffer).getUint32(8), Op.auth);
  // Three packets in one write, then one cut in three writes.
  await writeAll(server, concat([message(1), message(2), message(3)]));
  const cut = message(4, 100);
  await writeAll(server, cut.subarray(0, 7));
  await waitFor(() => reading.bytes() >= 7, "the first bytes");
  await writeAll(server, cut.subarray(7, 50));
  await sleep(20);
  await writeAll(server, cut.subarray(50));
  server.close();
  await reading.done;
  assert.deepEqual(numbers(reading.messages), [1, 2, 3, 4]);
  assert.equal(client.pendingBytes, 0);
  client.close();
  client.close(); // idempotent
  await assert.rejects(client.send(message(5)), Deno.errors.BadResource);
});

Deno.test("EpollSockets hands over a packet larger than the shared 64 KB buffer whole", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { client, server } = await connected(sockets, listener);
  using _ = client;
  const big = message(7, 3 * SHARED_READ_BUFFER_SIZE);
  const reading = receiveInto(client);
  await writeAll(server, concat([message(6), big, message(8)]));
  server.close();
  await reading.done;
  assert.deepEqual(numbers(reading.messages), [6, 7, 8]);
  const body = (reading.messages[1] as { body: { pad: string } }).body;
  assert.equal(body.pad.length, 3 * SHARED_READ_BUFFER_SIZE);
});

Deno.test("EpollSockets rejects a stream that ends inside a packet with the frame reader's ProtocolError", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { client, server } = await connected(sockets, listener);
  using _ = client;
  const reading = receiveInto(client);
  const second = message(2);
  await writeAll(server, concat([message(1), second.subarray(0, 20)]));
  server.close();
  await assert.rejects(reading.done, (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.match(error.message, /the stream ended 20 bytes into a \d+-byte packet$/);
    return true;
  });
  assert.deepEqual(numbers(reading.messages), [1]);
});

Deno.test("EpollSockets rejects a refused connect with Deno.errors.ConnectionRefused, as Deno.connect does", async () => {
  await using sockets = EpollSockets.open();
  const port = closedPort();
  const denoError = await Deno.connect({ hostname: "127.0.0.1", port }).catch((e) => e);
  await assert.rejects(sockets.connect("127.0.0.1", port), (error: unknown) => {
    assert.ok(error instanceof Deno.errors.ConnectionRefused, `got ${error}`);
    assert.equal(error.message, (denoError as Error).message);
    return true;
  });
  // Through the transport, as the rooms connect.
  await assert.rejects(
    connectTransport({
      kind: "tcp",
      host: { host: "127.0.0.1", port, wsPort: 0, wssPort: 0 },
      sockets,
    }),
    Deno.errors.ConnectionRefused,
  );
  assert.equal(sockets.open, 0);
  assert.equal(sockets.registered, 0);
});

Deno.test("EpollSockets gives up a connect that hangs with TimedOut after timeoutMs, and with the signal's reason on abort", async () => {
  await using sockets = EpollSockets.open();
  using hole = blackHoleListener();
  const held: EpollConnection[] = [];
  try {
    let timedOut: unknown;
    // The first connects fill the accept queue (they complete in the kernel); then one hangs.
    for (let i = 0; i < 8 && !timedOut; i++) {
      try {
        held.push(await sockets.connect("127.0.0.1", hole.port, { timeoutMs: 300 }));
      } catch (error) {
        timedOut = error;
      }
    }
    assert.ok(timedOut instanceof Deno.errors.TimedOut, `got ${timedOut}`);
    assert.equal(timedOut.message, "Connection timed out after 300 ms");
    const controller = new AbortController();
    const connecting = sockets.connect("127.0.0.1", hole.port, {
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    await sleep(50);
    controller.abort();
    await assert.rejects(connecting, (error: unknown) => {
      assert.equal((error as Error).name, "AbortError");
      return true;
    });
    assert.equal(sockets.open, held.length, "the failed sockets are closed");
  } finally {
    for (const connection of held) connection.close();
  }
});

Deno.test("EpollSockets reports a reset connection as Deno.errors.ConnectionReset", async () => {
  await using sockets = EpollSockets.open();
  using server = libcListener();
  const client = await sockets.connect("127.0.0.1", server.port);
  using _ = client;
  const reading = receiveInto(client);
  server.acceptAndReset();
  await assert.rejects(reading.done, (error: unknown) => {
    assert.ok(error instanceof Deno.errors.ConnectionReset, `got ${error}`);
    assert.equal(error.message, "Connection reset by peer (os error 104)");
    return true;
  });
});

Deno.test("EpollSockets: a paused reader leaves the epoll set while its bytes wait (no wakeups), and reads them once resumed", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const quiet = await connected(sockets, listener);
  const busy = await connected(sockets, listener);
  using _quiet = quiet.client;
  using _busy = busy.client;
  const quietReading = receiveInto(quiet.client); // keeps an epoll_wait pending throughout
  let gate: PromiseWithResolvers<void> | undefined;
  let asked = 0;
  const reading = receiveInto(busy.client, () => {
    asked++;
    return gate?.promise;
  });
  await writeAll(busy.server, message(1));
  await waitFor(() => reading.messages.length === 1, "the first message");
  gate = Promise.withResolvers<void>();
  await writeAll(busy.server, concat([message(2), message(3)]));
  await waitFor(() => asked >= 2, "the reader to ask the gate again");
  assert.equal(sockets.registered, 1, "only the quiet reader is in the set");
  const wakeups = sockets.wakeups;
  await sleep(300); // bytes wait in the kernel: a reader still watching them would spin here
  assert.ok(sockets.wakeups - wakeups <= 1, `${sockets.wakeups - wakeups} wakeups while paused`);
  assert.deepEqual(numbers(reading.messages), [1]);
  const resolve = gate.resolve;
  gate = undefined;
  resolve();
  await waitFor(() => reading.messages.length === 3, "the bytes that waited");
  assert.deepEqual(numbers(reading.messages), [1, 2, 3]);
  quiet.server.close();
  busy.server.close();
  await Promise.all([quietReading.done, reading.done]);
});

Deno.test("EpollSockets: finish() half-closes, and the reader drains what the server sends after it", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { client, server } = await connected(sockets, listener);
  using _ = client;
  const reading = receiveInto(client);
  await client.send(message(1));
  client.finish();
  const received = await readAll(server); // ends once the client shut its write side
  assert.equal(received.length, message(1).length);
  await writeAll(server, concat(Array.from({ length: 50 }, (_, i) => message(i, 1000))));
  server.close();
  await reading.done;
  assert.equal(reading.messages.length, 50);
});

Deno.test("EpollSockets: a send larger than the socket buffer waits for EPOLLOUT and arrives whole, in order", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { client, server } = await connected(sockets, listener);
  using _ = client;
  const big = new Uint8Array(16 * 1024 * 1024).map((_, i) => i % 251);
  const tail = new Uint8Array([1, 2, 3]);
  const sending = Promise.all([client.send(big), client.send(tail)]);
  let sent = false;
  sending.then(() => sent = true);
  await sleep(50);
  assert.equal(sent, false, "nobody reads yet: the write waits");
  assert.equal(sockets.registered, 1, "watching for EPOLLOUT");
  client.finish(); // after the queued writes
  const received = await readAll(server);
  await sending;
  assert.equal(received.length, big.length + 3);
  assert.deepEqual(received.subarray(0, big.length), big);
  assert.deepEqual(received.subarray(big.length), tail);
  server.close();
});

Deno.test("EpollSockets serves 200 connections at once, then keeps no epoll_wait pending and no descriptor open", async () => {
  let held: HeldDescriptor[] = [];
  {
    await using sockets = EpollSockets.open();
    assert.equal(sockets.waiting, false, "nothing registered: no wait");
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const pairs = [];
    for (let i = 0; i < 200; i++) pairs.push(await connected(sockets, listener));
    const readings = pairs.map((pair) => receiveInto(pair.client));
    assert.equal(sockets.registered, 200);
    assert.equal(sockets.waiting, true);
    await Promise.all(pairs.map((pair, i) => writeAll(pair.server, message(i))));
    await waitFor(() => readings.every((r) => r.messages.length === 1), "every message");
    assert.deepEqual(readings.map((r) => numbers(r.messages)[0]), pairs.map((_, i) => i));
    held = heldDescriptors(sockets);
    assert.equal(held.length, 202);
    // Closing from our side while the wait is pending: the readers end cleanly, the wait ends.
    for (const pair of pairs) pair.client.close();
    await Promise.all(readings.map((r) => r.done));
    assert.equal(sockets.registered, 0);
    await waitFor(() => !sockets.waiting, "the pending epoll_wait to return");
    for (const pair of pairs) pair.server.close();
    // A refused connect leaves nothing open either.
    await assert.rejects(sockets.connect("127.0.0.1", closedPort()));
    assert.equal(sockets.open, 0);
  }
  assert.deepEqual(stillOpen(held), [], "descriptors left open");
});

Deno.test("EpollSockets: a socket that reuses a closed one's fd gets a new token and only its own bytes", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const keep = await connected(sockets, listener); // keeps the wait pending across the reuse
  using _keep = keep.client;
  const keepReading = receiveInto(keep.client);
  const first = await connected(sockets, listener);
  const firstReading = receiveInto(first.client);
  await writeAll(first.server, message(1));
  first.client.close();
  await firstReading.done;
  const second = await connected(sockets, listener);
  using _second = second.client;
  assert.equal(second.client.fd, first.client.fd, "the kernel reused the fd");
  assert.notEqual(second.client.generation, first.client.generation);
  const secondReading = receiveInto(second.client);
  await writeAll(second.server, message(2));
  second.server.close();
  await secondReading.done;
  assert.deepEqual(numbers(secondReading.messages), [2]);
  assert.ok(numbers(firstReading.messages).every((n) => n === 1));
  first.server.close();
  keep.server.close();
  await keepReading.done;
});

Deno.test("EpollSockets.close() during a pending epoll_wait ends every reader and releases everything once the wait returns", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sockets = EpollSockets.open();
  const { client, server } = await connected(sockets, listener);
  const held = heldDescriptors(sockets);
  assert.equal(held.length, 3);
  const reading = receiveInto(client);
  assert.equal(sockets.waiting, true);
  await sockets[Symbol.asyncDispose]();
  await reading.done;
  assert.equal(sockets.waiting, false);
  await assert.rejects(sockets.connect("127.0.0.1", listener.addr.port), Deno.errors.BadResource);
  server.close();
  assert.deepEqual(stillOpen(held), [], "descriptors left open");
});

Deno.test("a process whose epoll connections all closed exits by itself (no epoll_wait left pending)", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/client.ts`;
    const module = new URL("../src/room/epoll_sockets.ts", import.meta.url).href;
    // The client closes from its side, from a timer, while the epoll_wait is pending.
    await Deno.writeTextFile(
      script,
      `import { EpollSockets } from ${JSON.stringify(module)};
const sockets = EpollSockets.open(); // never disposed: the process must end all the same
const client = await sockets.connect("127.0.0.1", ${listener.addr.port});
await client.receive(() => setTimeout(() => client.close(), 10), () => {});
console.log("closed while waiting:", sockets.waiting);
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = await listener.accept();
    await writeAll(server, message(1));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const output = await child.output();
    clearTimeout(timer);
    server.close();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(new TextDecoder().decode(output.stdout), "closed while waiting: true\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EpollSockets connects to a name through getaddrinfo (localhost)", async () => {
  await using sockets = EpollSockets.open();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connecting = sockets.connect("localhost", listener.addr.port).catch((error) => error);
  // localhost may resolve to ::1 first where IPv6 is up: then nothing listens there.
  const result = await connecting;
  if (result instanceof Deno.errors.ConnectionRefused) return;
  assert.ok(!(result instanceof Error), `got ${result}`);
  const server = await listener.accept();
  result.close();
  server.close();
});

/** Whether this machine has an IPv6 loopback. */
function hasIpv6(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "EpollSockets connects over IPv6 ([::1] and the full written form)",
  ignore: !hasIpv6(),
  async fn() {
    await using sockets = EpollSockets.open();
    using listener = Deno.listen({ hostname: "::1", port: 0 });
    for (const host of ["::1", "[::1]", "0:0:0:0:0:0:0:1"]) {
      const [client, server] = await Promise.all([
        sockets.connect(host, listener.addr.port),
        listener.accept(),
      ]);
      const reading = receiveInto(client);
      await writeAll(server, message(6));
      server.close();
      await reading.done;
      assert.deepEqual(numbers(reading.messages), [6], host);
      client.close();
    }
  },
});

Deno.test("openSockets() uses epoll where it can run, else Deno's sockets with the reason; --sockets epoll where it cannot is a ConfigError", async () => {
  const linux = { os: "linux", arch: Deno.build.arch, ffiGranted: () => true };
  const auto = openSockets("auto", linux);
  assert.equal(auto.kind, "epoll");
  await auto.sockets![Symbol.asyncDispose]();
  assert.deepEqual(openSockets("deno", linux), { kind: "deno", reason: "--sockets deno" });
  assert.deepEqual(openSockets("auto", { ...linux, os: "darwin" }), {
    kind: "deno",
    reason: "epoll needs Linux, not darwin",
  });
  assert.deepEqual(openSockets("auto", { ...linux, arch: "riscv64" }), {
    kind: "deno",
    reason: "no epoll layout for riscv64",
  });
  assert.deepEqual(openSockets("auto", { ...linux, ffiGranted: () => false }), {
    kind: "deno",
    reason: "no FFI permission (--allow-ffi)",
  });
  assert.throws(
    () => openSockets("epoll", { ...linux, os: "windows" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message === "Cannot use --sockets epoll: epoll needs Linux, not windows",
  );
});

Deno.test("collect --sockets epoll stores every message of the simulator's truth log exactly once despite disconnects and corrupt frames", async () => {
  const dir = await Deno.makeTempDir();
  const truth = new MemoryTruth();
  const logs: string[] = [];
  let throughEpoll = 0;
  let connects = 0;
  try {
    await using sim = await startSimulator({
      rooms: 20,
      seed: 3,
      rate: 150,
      messagesPerRoom: 60,
      truth,
      faults: { disconnect: 0.2, corrupt: 0.2 },
      log: () => {},
    });
    const rooms = liveRooms(sim);
    const stop = new AbortController();
    const collecting = runCollector(
      fastCollectConfig(`${dir}/e2e.db`, sim.api, ["--keep-raw", "--sockets", "epoll"]),
      {
        clock: systemClock,
        random: seededRandom(5),
        log: (line) => logs.push(line),
        rooms,
        connect: (options) => {
          connects++;
          if (options.sockets) throughEpoll++;
          return connectTransport(options);
        },
      },
      stop.signal,
    );
    await waitFor(() => rooms.every((id) => sim.remaining(id) === 0), "every room's messages");
    await sleep(500); // the last writes are in flight
    stop.abort();
    const summary = await collecting;
    assert.equal(summary.dropped, 0);
    assert.ok(sim.counters.faultDisconnects > 0 && sim.counters.faultCorrupt > 0, "faults");
    assert.ok(connects > rooms.length && throughEpoll === connects, `${throughEpoll}/${connects}`);
    assert.equal(logs.filter((line) => line.includes('msg="raw TCP sockets"')).length, 1);
    assert.ok(logs.includes('level=info msg="raw TCP sockets" sockets=epoll'), logs.join("\n"));
    const ids = truth.lines.map((line) => JSON.parse(line) as { cmd: string; id: string })
      .filter((t) => t.cmd !== "LOG_IN_NOTICE").map((t) => t.id);
    assert.equal(ids.length, rooms.length * 60);
    using db = new DatabaseSync(`${dir}/e2e.db`, { readOnly: true });
    const stored = db.prepare("SELECT raw FROM raw_messages").all().map((row) => {
      const body = JSON.parse(String(row.raw));
      return typeof body.cmd === "string" && body.cmd.startsWith("DANMU_MSG")
        ? JSON.parse(body.info[0][15].extra).id_str
        : String(body.msg_id);
    });
    assert.equal(stored.length, truth.lines.length, "each message once");
    assert.deepEqual(new Set(stored), new Set(truth.lines.map((line) => JSON.parse(line).id)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
