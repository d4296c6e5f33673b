/**
 * The two halves of scripts/bench/conn_probe.ts that must run under Node as well as Deno (plain
 * JavaScript, `node:` modules only):
 *
 * - `server CONFIG`: a loopback TCP server that accepts and stays quiet, plus a WebSocket server
 *   (the 101 handshake, then silence) on a second port; prints `{"tcp":PORT,"ws":PORT}` and runs
 *   until killed. Its memory is not measured.
 * - `client CONFIG`: the measured node:net client. Opens connections to the server with
 *   `net.connect` and a `data` listener on each, and at every count of `CONFIG.counts` settles,
 *   collects garbage and prints one JSON line of its memory (see `memory()`).
 *
 * CONFIG is one JSON argument: `{"port":P,"counts":[…],"settleMs":MS,"trim":BOOL,
 * "snapshotDir":DIR?}` (client; a heap snapshot is written at the first and last count) or
 * `{}` (server). Run by conn_probe.ts as `node --expose-gc conn_probe_net.mjs client CONFIG` or
 * `deno run -A --v8-flags=--expose-gc conn_probe_net.mjs client CONFIG`.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer } from "node:net";
import process from "node:process";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

const [role, configText = "{}"] = process.argv.slice(2);
const config = JSON.parse(configText);

/** The RFC 6455 GUID a server appends to the client's key. */
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Resolves after `ms` milliseconds. */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Listens on 127.0.0.1, port 0; resolves with the port. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
      resolve(server.address().port);
    });
  });
}

/** The quiet server: holds every socket, never writes (except the WebSocket handshake). */
async function serve() {
  const held = new Set();
  const hold = (socket) => {
    held.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => held.delete(socket));
  };
  const tcp = createServer(hold);
  const http = createHttpServer((_request, response) => response.writeHead(426).end());
  http.on("upgrade", (request, socket) => {
    const key = String(request.headers["sec-websocket-key"] ?? "");
    const accept = createHash("sha1").update(key + WS_GUID).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    hold(socket);
  });
  const ports = { tcp: await listen(tcp), ws: await listen(http) };
  process.stdout.write(JSON.stringify(ports) + "\n");
}

/** glibc's malloc_trim and mallinfo2 through Deno's FFI; absent under Node. */
function openLibc() {
  const deno = globalThis.Deno;
  if (deno === undefined) return undefined;
  return deno.dlopen("libc.so.6", {
    malloc_trim: { parameters: ["usize"], result: "i32" },
    mallinfo2: { parameters: [], result: { struct: Array(10).fill("usize") } },
  }).symbols;
}

/** One reading: RSS and anonymous RSS (kernel), V8 heap, and glibc malloc's view when known. */
function memory(libc) {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  const usage = process.memoryUsage();
  const space = (name) => getHeapSpaceStatistics().find((s) => s.space_name === name);
  const reading = {
    rssKb: kb("VmRSS"),
    anonKb: kb("RssAnon"),
    fileKb: kb("RssFile"),
    heapUsedKb: usage.heapUsed / 1024,
    heapTotalKb: usage.heapTotal / 1024,
    newSpaceKb: (space("new_space")?.physical_space_size ?? NaN) / 1024,
    oldSpaceKb: (space("old_space")?.physical_space_size ?? NaN) / 1024,
  };
  if (libc) {
    const info = new DataView(libc.mallinfo2().buffer);
    const field = (i) => Number(info.getBigUint64(i * 8, true)) / 1024;
    // arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost
    reading.mallocInUseKb = field(7) + field(4);
    reading.mallocFreeKb = field(8);
  }
  return reading;
}

/** Opens one node:net connection with a data listener; resolves once connected. */
function open(port, onLost) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", onLost);
      socket.on("close", onLost);
      resolve(socket);
    });
    socket.on("data", () => {});
  });
}

/** The measured client: connections up to each count, then one memory line per count. */
async function client() {
  const libc = openLibc();
  if (config.trim && libc === undefined) {
    throw new Error("Cannot call malloc_trim: the node:net client trims only under Deno (FFI)");
  }
  const sockets = [];
  let lost = 0;
  const onLost = () => lost++;
  for (const count of config.counts) {
    while (sockets.length < count) {
      const batch = Math.min(100, count - sockets.length);
      const opened = await Promise.all(
        Array.from({ length: batch }, () => open(config.port, onLost)),
      );
      sockets.push(...opened);
    }
    await sleep(config.settleMs);
    globalThis.gc?.();
    globalThis.gc?.();
    await sleep(300);
    if (config.trim) libc.malloc_trim(0);
    process.stdout.write(JSON.stringify({ count, lost, ...memory(libc) }) + "\n");
    if (config.snapshotDir && (count === config.counts[0] || count === config.counts.at(-1))) {
      writeHeapSnapshot(`${config.snapshotDir}/${count}.heapsnapshot`);
    }
  }
  process.exit(0);
}

if (role === "server") await serve();
else if (role === "client") await client();
else throw new Error(`Cannot run conn_probe_net.mjs as "${role}": expected server or client`);
