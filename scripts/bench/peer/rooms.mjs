// Peer rooms for `deno task bench` (collect and idle suites): one bilibili-live-ws LiveTCP per
// room against the simulator, counting what it receives; no storage.
// Usage: PEER_DIR=.bench/peer node rooms.mjs PLAN_FILE
// PLAN_FILE: {"host","port","buvid","protover","rooms":[[roomid, key], …]}.
// Prints {"live":N,"failed":N} once every room has authenticated or failed; then each stdin
// line prints {"messages":N,"heartbeats":N,"live":N,"closed":N}; end of input closes and exits.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import { createInterface } from "node:readline";

const require = createRequire(`${process.env.PEER_DIR}/package.json`);
const { LiveTCP } = require("bilibili-live-ws");

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const counts = { messages: 0, heartbeats: 0, live: 0, closed: 0 };
let failed = 0;
const clients = [];

// Connect in batches of 200, each batch waiting for its auth replies (or failures).
for (let i = 0; i < plan.rooms.length; i += 200) {
  await Promise.all(
    plan.rooms.slice(i, i + 200).map(([roomid, key]) =>
      new Promise((resolve) => {
        const live = new LiveTCP(roomid, {
          host: plan.host,
          port: plan.port,
          key,
          uid: 0,
          buvid: plan.buvid,
          protover: plan.protover,
        });
        clients.push(live);
        live.on("live", () => {
          counts.live++;
          resolve();
        });
        live.on("msg", () => counts.messages++);
        live.on("heartbeat", () => counts.heartbeats++);
        live.on("error", () => {
          failed++;
          resolve();
        });
        live.on("close", () => {
          counts.closed++;
          resolve();
        });
      })
    ),
  );
}
process.stdout.write(`${JSON.stringify({ live: counts.live, failed })}\n`);

for await (const _line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}
for (const live of clients) live.close();
