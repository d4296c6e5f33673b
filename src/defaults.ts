/**
 * Defaults written once: the flag declarations (src/cli/, src/collector/config.ts) show and use
 * these, and the classes that take the same options fall back to them. This file imports
 * nothing, so every layer may import it.
 */

/** Defaults of the collector, its flags and the classes it wires together. */
export const COLLECT_DEFAULTS = Object.freeze({
  /** SQLite file `collect` writes when no --db is given. */
  dbPath: "danmaku.db",
  /** Most popular live rooms collected when no rooms are named. */
  top: 100,
  /** How often the newest-started room list is polled, ms. */
  newPollIntervalMs: 60_000,
  /** Newest rooms looked at per poll. */
  newScan: 30,
  /** How often queued events are written, ms. */
  flushIntervalMs: 10_000,
  /**
   * Queued events that trigger an early flush. 10,000 rather than 20,000: at 100 busy rooms the
   * queue's peak is 10–20 MB of RSS less, at no CPU cost the bench could show (docs/benchmarks.md,
   * sixth round).
   */
  flushHighWater: 10_000,
  /** Memory budget of the event queue, estimated bytes. */
  queueLimitBytes: 256_000_000,
  /** Supervisor sweep period, ms. */
  sweepIntervalMs: 10_000,
  /** Heartbeat (op 2) period, ms. */
  heartbeatIntervalMs: 30_000,
  /** Silence after which a connection is dead, ms (heartbeat replies arrive every 30 s). */
  watchdogMs: 70_000,
  /** The op-8 auth reply must arrive within this, ms. */
  authTimeoutMs: 10_000,
  /** On stop, how long a connection may keep reading what is on its way, ms. */
  drainMs: 2000,
  /** Bilibili API requests per second, all rooms together. */
  apiRatePerSecond: 1,
  /** Danmaku connection starts per second. */
  connectRatePerSecond: 5,
  /** Concurrent danmaku connections at most. */
  maxConnections: 150,
  /** First reconnect delay, ms. */
  minBackoffMs: 1000,
  /** Longest reconnect delay, ms. */
  maxBackoffMs: 120_000,
  /** Status log period when stderr is not a terminal, ms. */
  statusIntervalMs: 60_000,
});

/** Defaults of the offline simulator and its `simulate` flags. */
export const SIMULATOR_DEFAULTS = Object.freeze({
  /** Interface the simulator binds. */
  host: "127.0.0.1",
  /** Seed of the world, messages, tokens and faults. */
  seed: "1",
  /** Number of rooms. */
  rooms: 50,
  /** Mean op-5 messages per second per live room. */
  rate: 5,
  /** How long an IP gets HTTP 412 after exceeding the rate limit, ms. */
  httpBanMs: 10_000,
  /** Mean live session length, ms. */
  meanLiveMs: 30 * 60_000,
  /** Mean offline gap between sessions, ms. */
  meanOfflineMs: 30 * 60_000,
  /** Scheduler period, ms. */
  tickMs: 50,
  /** Counters log period, ms (0 = off). */
  logEveryMs: 10_000,
});

/** Defaults of `demo`. */
export const DEMO_DEFAULTS = Object.freeze({
  /** Simulated rooms, all collected. */
  rooms: 30,
  /** How long the demo collects, ms. */
  durationMs: 10_000,
  /** Where the demo's database is kept when no --db is given. */
  dbPath: "demo.db",
});

/** Defaults of `rooms` (deno task discover). */
export const ROOMS_DEFAULTS = Object.freeze({
  /** Rooms listed when neither --top nor --new is given. */
  limit: 100,
  /** Rooms per API page; 30 is what the web page asks for. */
  pageSize: 30,
});

/** Defaults of `stats` and the analysis behind it. */
export const STATS_DEFAULTS = Object.freeze({
  /** Senders and phrases listed per room. */
  top: 10,
  /** Shortest collection gap listed, ms. */
  minGapMs: 60_000,
});
