/**
 * The supervisor: a map room id → worker (each running the reader + heartbeat task pair of
 * its current connection; every heartbeat is an entry in the supervisor's one timer queue).
 * Every sweep it ends connections that went silent (watchdog) and
 * restarts workers that died unexpectedly. Rooms can be added and removed while running.
 */
import type { Clock } from "../util/clock.ts";
import type { RoomSession } from "../room/room_session.ts";
import { type TimerEntry, TimerQueue } from "../room/timer_queue.ts";
import { rampCollect } from "./ramp_gc.ts";
import { ConnectionSlots, SETUP_CONCURRENCY } from "./connection_slots.ts";
import { type KnownRoom, type RoomState, RoomWorker, type RoomWorkerDeps } from "./room_worker.ts";
import { fieldLogger } from "../util/log.ts";
import { COLLECT_DEFAULTS } from "../defaults.ts";
import { type SilenceRule, SilenceWatch } from "./silence_watch.ts";

/** Options of {@linkcode Supervisor}. */
export interface SupervisorOptions {
  deps: RoomWorkerDeps;
  clock: Clock;
  /** How often every connection is checked. @default {COLLECT_DEFAULTS.sweepIntervalMs} */
  sweepIntervalMs?: number;
  /**
   * A connection with no bytes for this long is dead (heartbeat replies arrive every 30 s).
   * @default {COLLECT_DEFAULTS.watchdogMs}
   */
  watchdogMs?: number;
  /**
   * An accepted connection that has had neither a message nor a heartbeat reply for this long
   * is ended as silent after auth (the first heartbeat goes out with the auth reply, its answer
   * takes a second); the watchdog's time when that is shorter.
   * @default {SILENT_AFTER_AUTH_MS}
   */
  silentAfterAuthMs?: number;
  /**
   * The silence watch's rule (src/collector/silence_watch.ts), checked on every sweep; false
   * turns it off. @default {SILENCE_RULE}
   */
  silence?: Partial<SilenceRule> | false;
  log: (line: string) => void;
  /**
   * Rooms setting up at once, from the first API call until the connection is open (see
   * {@linkcode RoomWorkerDeps.setup}). @default {SETUP_CONCURRENCY}
   */
  setupConcurrency?: number;
  /**
   * One full GC once a ramp of at least `minSetups` room setups has been idle for `delayMs`
   * (src/collector/ramp_gc.ts); false turns it off. `collect` replaces the GC (tests).
   * @default {RAMP_GC}
   */
  rampGc?: Partial<RampGcRule> | false;
}

/** When the supervisor runs a full GC after a connection ramp (src/collector/ramp_gc.ts). */
export interface RampGcRule {
  /** Rooms set up since the last collection that make a ramp worth one. */
  minSetups: number;
  /** How long the setups must have stayed idle, ms. */
  delayMs: number;
  /**
   * A second collection this long after the first, ms (0: none): what the ramp still held at
   * the first one (connections waiting for their auth reply, events waiting for a flush) has died
   * by then, and its half-empty pages are compacted.
   */
  followUpMs: number;
  /** Runs the collection. @default {rampCollect} */
  collect: () => void;
}

/** Defaults of {@linkcode SupervisorOptions.rampGc}. */
export const RAMP_GC: Readonly<Omit<RampGcRule, "collect">> = Object.freeze({
  minSetups: 200,
  delayMs: 500,
  followUpMs: 2000,
});

/** Default of {@linkcode SupervisorOptions.silentAfterAuthMs}. */
export const SILENT_AFTER_AUTH_MS = 15_000;

/** Counts for the status line. */
export interface SupervisorStatus {
  rooms: number;
  byState: Record<RoomState, number>;
  messages: number;
  sessions: number;
  /** Rooms whose next connection is wss (with `auto`: those that moved from TCP). */
  wss: number;
  /** Connections replaced because their room went quiet while its audience did not. */
  quietReconnects?: number;
}

/** Owns every room worker. */
export class Supervisor implements AsyncDisposable {
  readonly #options: SupervisorOptions;
  /** Requested room id → its worker. */
  readonly #entries = new Map<number, RoomWorker>();
  readonly #realIds = new Map<number, number>(); // real id → requested id
  readonly #stop = new AbortController();
  /** Workers restarted by the sweep after an unexpected end. */
  restarts = 0;
  /** Connections ended by the watchdog. */
  watchdogKills = 0;
  /** Connections replaced because their room went quiet while its audience did not. */
  quietReconnects = 0;
  /** The silence watch, unless turned off. */
  readonly silence?: SilenceWatch;
  /** The workers' deps, with `emit` also feeding the silence watch. */
  readonly #deps: RoomWorkerDeps;
  /** One timer for every connection's heartbeat, auth deadline and drain checks. */
  readonly #timers: TimerQueue;
  /** Rooms setting up (first API call to auth reply), at most `setupConcurrency`. */
  readonly #setup: ConnectionSlots;
  #setupsAtGc = 0;
  #rampTimer?: TimerEntry;
  /** Full GCs run after connection ramps. */
  rampGcs = 0;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#timers = new TimerQueue(options.clock);
    this.#setup = new ConnectionSlots(options.setupConcurrency ?? SETUP_CONCURRENCY);
    const silence = options.silence === false ? undefined : new SilenceWatch(options.silence);
    this.silence = silence;
    const { emit } = options.deps;
    this.#deps = {
      ...options.deps,
      emit: silence
        ? (event) => {
          silence.note(event);
          emit(event);
        }
        : emit,
      timers: options.deps.timers ?? this.#timers,
      setup: options.deps.setup ?? this.#setup,
      // One function for every worker (not a closure per room).
      claim: (requestedId, realId) => {
        const owner = this.#realIds.get(realId);
        if (owner !== undefined && owner !== requestedId) return false;
        this.#realIds.set(realId, requestedId);
        return true;
      },
    };
    if (!options.deps.setup && options.rampGc !== false) {
      const rule: RampGcRule = { ...RAMP_GC, collect: rampCollect, ...options.rampGc };
      this.#setup.onIdle = () => this.#afterRamp(rule);
    }
  }

  /** Once setups have been idle for `delayMs` after a ramp, one full GC. */
  #afterRamp(rule: RampGcRule): void {
    if (this.#setup.granted - this.#setupsAtGc < rule.minSetups || this.#stop.signal.aborted) {
      return;
    }
    this.#rampTimer?.cancel();
    this.#rampTimer = this.#timers.at(this.#options.clock.now() + rule.delayMs, () => {
      this.#rampTimer = undefined;
      if (this.#setup.inUse > 0 || this.#stop.signal.aborted) return; // another ramp: wait for it
      this.#setupsAtGc = this.#setup.granted;
      this.rampGcs++;
      rule.collect();
      if (rule.followUpMs <= 0) return;
      this.#rampTimer = this.#timers.at(this.#options.clock.now() + rule.followUpMs, () => {
        this.#rampTimer = undefined;
        if (this.#setup.inUse === 0 && !this.#stop.signal.aborted) rule.collect();
      });
    });
  }

  /** Starts collecting `roomId` (short ids are resolved); false if it is already collected. */
  add(roomId: number, known?: KnownRoom): boolean {
    if (this.#stop.signal.aborted) return false;
    if (this.#entries.has(roomId) || this.#realIds.has(roomId)) return false;
    this.#start(roomId, known);
    return true;
  }

  #start(roomId: number, known?: KnownRoom): void {
    // No AbortController per room: remove() and stopAll() call the worker's stop().
    const worker = new RoomWorker(roomId, this.#deps, known);
    if (known) this.#realIds.set(known.roomId, roomId);
    worker.start(); // a crash is logged and ends the worker: the sweep starts the room again
    this.#entries.set(roomId, worker);
  }

  /** Stops collecting a room (by the id it was added with, or its real id). */
  async remove(roomId: number): Promise<boolean> {
    const key = this.#entries.has(roomId) ? roomId : this.#realIds.get(roomId);
    const worker = key === undefined ? undefined : this.#entries.get(key);
    if (!worker || key === undefined) return false;
    this.#entries.delete(key);
    if (worker.realId !== undefined) {
      this.#realIds.delete(worker.realId);
      this.silence?.forget(worker.realId);
    }
    worker.stop();
    await worker.done();
    return true;
  }

  /** True when the room (requested or real id) is collected. */
  has(roomId: number): boolean {
    return this.#entries.has(roomId) || this.#realIds.has(roomId);
  }

  /** Every worker, for status and discovery policies. */
  workers(): RoomWorker[] {
    return [...this.#entries.values()];
  }

  /** One sweep: watchdog, silence watch and restarts. Public so tests can drive it. */
  sweep(): void {
    const now = this.#options.clock.now();
    const watchdogMs = this.#options.watchdogMs ?? COLLECT_DEFAULTS.watchdogMs;
    for (const [roomId, worker] of this.#entries) {
      const session = worker.session;
      if (session && now - session.lastActivityAt > watchdogMs) {
        this.watchdogKills++;
        session.stop(
          "watchdog",
          `no bytes for ${Math.round((now - session.lastActivityAt) / 1000)} s`,
        );
      } else if (session?.authenticatedAt !== undefined && !this.#heardSinceAuth(session, now)) {
        session.stop(
          "silent_after_auth",
          `accepted, then neither a message nor a heartbeat reply for ${
            Math.round((now - session.authenticatedAt) / 1000)
          } s`,
        );
      } else this.#watchSilence(worker, now);
      if (
        worker.finished && worker.state !== "failed" && !worker.stopped &&
        !this.#stop.signal.aborted
      ) {
        // The worker ended without being asked to (a crash): start it again, like the seed did.
        this.restarts++;
        if (worker.realId !== undefined) this.#realIds.delete(worker.realId);
        this.#entries.delete(roomId);
        this.#start(roomId, worker.known);
      }
    }
  }

  /** False once an accepted session has stayed silent past the bound. */
  #heardSinceAuth(session: RoomSession, now: number): boolean {
    if (session.messages > 0 || session.heartbeatReplies > 0) return true;
    // A reader waiting at the gate (the queue is full) cannot hear anything: the silence counts
    // from when it went on reading, not from the auth reply.
    if (session.paused) return true;
    const bound = Math.min(
      this.#options.silentAfterAuthMs ?? SILENT_AFTER_AUTH_MS,
      this.#options.watchdogMs ?? COLLECT_DEFAULTS.watchdogMs,
    );
    return now - Math.max(session.authenticatedAt!, session.resumedAt ?? 0) <= bound;
  }

  /** Feeds the silence watch a worker's count and replaces its connection when it says so. */
  #watchSilence(worker: RoomWorker, now: number): void {
    if (!this.silence || worker.realId === undefined) return;
    const verdict = this.silence.observe(worker.realId, {
      messages: worker.messages,
      connection: worker.state === "live" ? worker.sessions : undefined,
    }, now);
    if (verdict) worker.quietAt = now;
    if (!verdict || !worker.reconnect("the room went quiet while its audience did not")) return;
    this.quietReconnects++;
    fieldLogger(this.#options.log).info(
      "room went quiet while its audience did not: reconnecting",
      {
        room: verdict.roomId,
        window_msgs: verdict.windowMessages,
        baseline: verdict.baseline,
        audience: verdict.audience,
        audience_baseline: verdict.audienceBaseline,
        audience_kind: verdict.audienceKind,
      },
    );
  }

  /** Sweeps every interval until `signal` aborts, then stops every room. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    while (!signal.aborted) {
      await clock.sleep(this.#options.sweepIntervalMs ?? COLLECT_DEFAULTS.sweepIntervalMs, signal);
      if (!signal.aborted) this.sweep();
    }
    await this.stopAll();
  }

  /** Stops every room and waits until all connections are closed. */
  async stopAll(): Promise<void> {
    this.#stop.abort();
    for (const worker of this.#entries.values()) worker.stop();
    await Promise.all([...this.#entries.values()].map((worker) => worker.done()));
    this.#rampTimer?.cancel();
    this.#timers[Symbol.dispose](); // empty by now: every session cancelled its entries
  }

  /** Rooms opening a connection or waiting for its auth reply (state `connecting`). */
  connecting(): number {
    let count = 0;
    for (const worker of this.#entries.values()) if (worker.state === "connecting") count++;
    return count;
  }

  /** Counts by state. */
  status(): SupervisorStatus {
    const byState: Record<RoomState, number> = {
      resolving: 0,
      waiting: 0,
      connecting: 0,
      live: 0,
      backoff: 0,
      failed: 0,
      stopped: 0,
    };
    let messages = 0;
    let sessions = 0;
    let wss = 0;
    for (const worker of this.#entries.values()) {
      if (worker.transport === "wss") wss++;
      byState[worker.state]++;
      messages += worker.messages;
      sessions += worker.sessions;
    }
    return {
      rooms: this.#entries.size,
      byState,
      messages,
      sessions,
      wss,
      quietReconnects: this.quietReconnects,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stopAll();
  }
}
