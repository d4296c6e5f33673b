/**
 * Room worker deps for supervisor tests against the simulator: the real API client and
 * transports, no rate limits, quiet logs, short backoff. Tests override what they exercise.
 */
import { BilibiliApi } from "../../src/bilibili/api_client.ts";
import { ConnectionSlots } from "../../src/collector/connection_slots.ts";
import type { RoomWorkerDeps } from "../../src/collector/room_worker.ts";
import { systemClock } from "../../src/util/clock.ts";
import { RateLimiter } from "../../src/util/rate_limiter.ts";
import { seededRandom } from "./samples.ts";

/** The unlimited rate limiter of these tests. */
export function unlimited(): RateLimiter {
  return new RateLimiter({ perSecond: 0, clock: systemClock });
}

/** Deps of workers talking to the simulator at `apiBase`, with `overrides` applied. */
export function simulatorWorkerDeps(
  apiBase: string,
  overrides: Partial<RoomWorkerDeps> = {},
): RoomWorkerDeps {
  return {
    api: new BilibiliApi({ apiBase, clock: systemClock, limiter: unlimited() }),
    clock: systemClock,
    random: seededRandom(3),
    transport: "tcp",
    startGate: unlimited(),
    slots: new ConnectionSlots(100),
    emit: () => {},
    keepRaw: false,
    heartbeatIntervalMs: 30_000,
    authTimeoutMs: 5000,
    drainMs: 0,
    backoff: { baseMs: 50, maxMs: 100 },
    log: () => {},
    ...overrides,
  };
}
