/** Shared pieces of the tests that run the collector against the simulator. */
import { parseCollectArgs } from "../../src/collector/config.ts";
import type { Simulator } from "../../src/simulator/simulator.ts";

/** Fast timings so a test run takes seconds; the code paths are the production ones. */
export const FAST_COLLECT_FLAGS = [
  "--api-rate",
  "2000",
  "--connect-rate",
  "2000",
  "--flush-interval",
  "200ms",
  "--sweep-interval",
  "200ms",
  "--max-backoff",
  "300ms",
  "--status-interval",
  "1h",
];

/** A collect config for `dbPath` against the simulator at `apiBase`, with fast timings. */
export function fastCollectConfig(dbPath: string, apiBase: string, extra: string[] = []) {
  return parseCollectArgs(["--db", dbPath, "--api-base", apiBase, ...FAST_COLLECT_FLAGS, ...extra]);
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 50 ms; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The simulator's rooms, every one set live (and pinned there). */
export function liveRooms(sim: Simulator): number[] {
  const rooms = sim.world.rooms.map((room) => room.roomId);
  for (const id of rooms) sim.setLive(id, true);
  return rooms;
}

/** Flags of a spawned collector that collects `rooms` of `sim` into `dbPath`, with fast timings. */
export function spawnedCollectFlags(dbPath: string, sim: Simulator, rooms: number[]): string[] {
  return ["--db", dbPath, "--api-base", sim.api, "--rooms", rooms.join(","), ...FAST_COLLECT_FLAGS];
}
