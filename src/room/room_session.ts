/**
 * One connection to a room: the seed's task pair. The reader authenticates (op 7 → op 8) and
 * decodes everything synchronously into a callback; the heartbeat, an entry in a shared timer
 * queue rather than a sleeping loop, sends op 2 every 30 s.
 * When either ends, its twin is cancelled and the outcome says why. Asked to stop (the outer
 * signal), a session whose auth packet went out first drains: no more heartbeats, the write side
 * is shut so the server stops sending, and what the socket already holds is read before it is
 * closed.
 */
import { type AuthBody, encodeAuthPacket, encodeHeartbeatPacket } from "../protocol/packet.ts";
import type { BodyDecoding, ServerMessage } from "../protocol/packet_decoder.ts";
import type { Clock } from "../util/clock.ts";
import { asNumber, asObject } from "../util/json_guards.ts";
import type { DanmakuTransport } from "./transport.ts";
import { type TimerEntry, TimerQueue, type TimerTarget } from "./timer_queue.ts";
import { COLLECT_DEFAULTS } from "../defaults.ts";

/** Why a session ended. */
export type SessionEndReason =
  | "stopped" // we were asked to stop (shutdown, room removed)
  | "closed_by_server"
  | "auth_failed"
  | "auth_timeout"
  | "watchdog" // no bytes for too long
  | "silent_after_auth" // accepted, then neither a message nor a heartbeat reply
  | "protocol_error"
  | "socket_error"
  | "heartbeat_failed";

/** How a session ended. */
export interface SessionOutcome {
  reason: SessionEndReason;
  /** A sentence for logs and the sessions table. */
  detail: string;
  authenticated: boolean;
  /** Op-5 messages received. */
  messages: number;
  /** Op-3 heartbeat replies received. */
  heartbeatReplies: number;
  /** Whether the server answered the auth packet (accepting it or not). */
  authAnswered: boolean;
  error?: unknown;
}

/** Options of {@linkcode RoomSession}. */
export interface RoomSessionOptions {
  transport: DanmakuTransport;
  auth: AuthBody;
  clock: Clock;
  /** Heartbeat (op 2) period. @default {COLLECT_DEFAULTS.heartbeatIntervalMs} */
  heartbeatIntervalMs?: number;
  /** The op-8 reply must arrive within this. @default {COLLECT_DEFAULTS.authTimeoutMs} */
  authTimeoutMs?: number;
  /** Receives every decoded message after the auth reply (op 5 and op 3). */
  onMessage: (message: ServerMessage) => void;
  /** How op-5 bodies are decoded. @default {PLAIN_DECODING} */
  decoding?: BodyDecoding;
  /** Called once when the server accepted the auth packet. */
  onAuthenticated?: () => void;
  /**
   * Pauses reading while it returns a promise (backpressure from a full queue); asked only once
   * the server accepted the auth packet, so a new connection always reads its auth reply.
   */
  beforeRead?: () => Promise<void> | undefined;
  /**
   * Stopping drains: reading goes on until the server closes, no bytes came for
   * {@linkcode DRAIN_QUIET_MS}, or this long passed; 0 closes at once.
   * @default {COLLECT_DEFAULTS.drainMs}
   */
  drainMs?: number;
  /** Aborting stops the session (draining first, see `drainMs`). */
  signal?: AbortSignal;
  /**
   * The queue the heartbeat, auth deadline and drain checks wait in (one for every room of a
   * collector). @default {a queue of the session's own, on `clock`}
   */
  timers?: TimerQueue;
}

/**
 * A drain ends once the socket has been silent this long: the kernel's buffer is empty. Long
 * enough for a busy server (or this process) to stall between its last writes: at 200 ms a
 * loaded CI box cut drains while the server was still flushing, and lost what it sent after.
 */
export const DRAIN_QUIET_MS = 1000;

/** The op-2 packet, the same bytes for every session (transports never write into it). */
const HEARTBEAT_PACKET = encodeHeartbeatPacket();

/**
 * A connection's task pair; `run()` once, `stop()` from outside (watchdog, shutdown). The reader
 * is one pending read; the heartbeat, the auth deadline and the drain checks are entries in a
 * {@linkcode TimerQueue} (the one shared by every room, or the session's own).
 */
export class RoomSession implements TimerTarget {
  readonly #options: RoomSessionOptions;
  readonly #timers: TimerQueue;
  /** The next heartbeat, the auth deadline or the next drain check, while one is waiting. */
  #heartbeatTimer?: TimerEntry;
  #authTimer?: TimerEntry;
  #drainTimer?: TimerEntry;
  #draining = false;
  /** Reading waits for the queue to drain (backpressure). */
  #paused = false;
  /** Clock time the reader last went on after waiting at the gate. */
  resumedAt?: number;
  #end?: { reason: SessionEndReason; detail: string; error?: unknown };
  /** Settles when the session ends; made only for a reader paused at the gate. */
  #stopped?: PromiseWithResolvers<void>;
  /** Clock time of the last bytes received (connection start before any). */
  lastActivityAt: number;
  /** Op-5 messages received so far. */
  messages = 0;
  /** Bytes read from the transport so far. */
  bytes = 0;
  /** Op-3 heartbeat replies received so far. */
  heartbeatReplies = 0;
  /** Whether the server accepted our auth packet. */
  authenticated = false;
  /** Clock time the auth reply accepted us. */
  authenticatedAt?: number;
  #authAnswered = false;
  /** Whether the auth packet was handed to the transport: from then on the server may answer. */
  #authSent = false;

  constructor(options: RoomSessionOptions) {
    this.#options = options;
    this.#timers = options.timers ?? new TimerQueue(options.clock);
    this.lastActivityAt = options.clock.now();
  }

  /** Whether the reader waits at the gate (the queue is full): the socket is not being read. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Ends the session with `reason` (first reason wins) and closes the transport. */
  stop(reason: SessionEndReason, detail: string, error?: unknown): void {
    this.#end ??= { reason, detail, error };
    this.#heartbeatTimer?.cancel();
    this.#authTimer?.cancel();
    this.#drainTimer?.cancel();
    this.#heartbeatTimer = this.#authTimer = this.#drainTimer = undefined;
    this.#stopped?.resolve();
    this.#options.transport.close();
  }

  /**
   * Stops the session without leaving bytes behind: heartbeats end, the write side is shut (the
   * server flushes and closes), and reading goes on until the server closes, the socket is
   * quiet for {@linkcode DRAIN_QUIET_MS}, or `drainMs` passes. Once the auth packet is out, the
   * auth reply and what follows it may already be in the kernel: that drains too (an auth reply
   * read meanwhile sends no heartbeat). Before the auth packet it stops at once.
   */
  drain(): void {
    if (this.#draining || this.#end) return;
    const drainMs = this.#options.drainMs ?? COLLECT_DEFAULTS.drainMs;
    if (!this.#authSent || drainMs <= 0) {
      this.stop("stopped", "stopped by the collector");
      return;
    }
    this.#draining = true;
    this.#heartbeatTimer?.cancel();
    this.#heartbeatTimer = undefined;
    this.#options.transport.finish();
    const started = this.#options.clock.now();
    this.#checkDrain(started, started + drainMs, drainMs);
  }

  /** One look at a drain: ends it when it ran out or the socket is quiet, else looks again. */
  #checkDrain(started: number, deadline: number, drainMs: number): void {
    this.#drainTimer = undefined;
    if (this.#end) return;
    const now = this.#options.clock.now();
    if (now >= deadline) {
      this.stop("stopped", `stopped by the collector: the ${drainMs} ms drain ran out`);
      return;
    }
    // Quiet since the drain began: a process that was suspended has bytes it has not asked for.
    if (!this.#paused && now - Math.max(this.lastActivityAt, started) >= DRAIN_QUIET_MS) {
      this.stop("stopped", "stopped by the collector after reading what the socket held");
      return;
    }
    this.#drainTimer = this.#timers.at(
      now + Math.min(DRAIN_QUIET_MS, deadline - now),
      () => this.#checkDrain(started, deadline, drainMs),
    );
  }

  /**
   * Runs reader and heartbeat until one ends; never rejects. Not an async function: a suspended
   * one per room would hold a generator, its register file and a context for as long as the
   * connection lives. The promise settles when the reader ends (every end closes the transport,
   * so the reader always finishes; a drain keeps it going).
   */
  run(): Promise<SessionOutcome> {
    return this.start().then(() => this.readEnded(), (error) => this.readFailed(error));
  }

  /**
   * What `run()` does, for a caller that awaits the reader itself (a room's reconnect loop, so
   * the connection holds no closures for it): starts reader and heartbeat and returns the
   * reader's promise, which never settles before the session ends; then the caller must call
   * {@linkcode readEnded} once it resolves, or {@linkcode readFailed} with its error.
   */
  start(): Promise<void> {
    const outer = this.#options.signal;
    // The session is its own abort listener (`handleEvent`): no closure per connection.
    if (outer?.aborted) this.drain();
    else outer?.addEventListener("abort", this, { once: true });
    const reader = this.#read();
    this.#sendAuth();
    return reader;
  }

  /** The outer signal's abort: drains (see {@linkcode drain}). */
  handleEvent(): void {
    this.drain();
  }

  /** Sends the auth packet; once it is written, the auth reply's deadline starts. */
  #sendAuth(): void {
    let sent: Promise<void>;
    this.#authSent = true;
    try {
      sent = this.#options.transport.send(encodeAuthPacket(this.#options.auth));
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(() => {
      if (this.#end || this.authenticated) return;
      const ms = this.#options.authTimeoutMs ?? COLLECT_DEFAULTS.authTimeoutMs;
      this.#authTimer = this.#timers.at(this.#options.clock.now() + ms, () => {
        this.#authTimer = undefined;
        if (!this.authenticated) this.stop("auth_timeout", `no auth reply within ${ms} ms`);
      });
    }, (error) => {
      this.stop("socket_error", `cannot send the auth packet: ${(error as Error).message}`, error);
    });
  }

  /** The reader has ended: the session ends too, and its outcome is read. */
  #finish(): SessionOutcome {
    this.stop("stopped", "stopped");
    this.#options.signal?.removeEventListener("abort", this);
    if (!this.#options.timers) this.#timers[Symbol.dispose]();
    const end = this.#end!;
    return {
      ...end,
      authenticated: this.authenticated,
      messages: this.messages,
      heartbeatReplies: this.heartbeatReplies,
      authAnswered: this.#authAnswered,
    };
  }

  /** The heartbeat's entry fired (the timer queue calls this): the next heartbeat. */
  onTimer(entry: TimerEntry): void {
    if (entry === this.#heartbeatTimer) this.#beat();
  }

  /** Sends a heartbeat now and schedules the next one once it is written. */
  #beat(): void {
    this.#heartbeatTimer = undefined;
    if (this.#end || this.#draining) return;
    this.#options.transport.send(HEARTBEAT_PACKET).then(() => {
      if (this.#end || this.#draining) return;
      const ms = this.#options.heartbeatIntervalMs ?? COLLECT_DEFAULTS.heartbeatIntervalMs;
      // The session is the entry's target (`onTimer`): no closure per heartbeat.
      this.#heartbeatTimer = this.#timers.at(this.#options.clock.now() + Math.max(1, ms), this);
    }, (error) => {
      if (this.#end || this.#draining) return;
      this.stop("heartbeat_failed", `cannot send a heartbeat: ${(error as Error).message}`, error);
    });
  }

  /**
   * The reader: one pending read at a time, decoding into `#onMessage`; settles at its end (the
   * caller turns that into the session's outcome: {@linkcode readEnded}, {@linkcode readFailed}).
   */
  #read(): Promise<void> {
    const { transport, clock } = this.#options;
    const gate = this.#options.beforeRead;
    let receiving: Promise<void>;
    try {
      receiving = transport.receive(
        (message) => this.#onMessage(message),
        (count) => {
          this.bytes += count;
          this.lastActivityAt = clock.now();
        },
        // A pause is ours, not the server's silence: it must not look dead to the watchdog, nor
        // quiet to a drain (the bytes wait in the kernel).
        gate && (() => {
          // Until the server accepted us, the only bytes due are its auth reply: a reader held
          // at a gate that busy rooms keep closed would never see it, and the auth deadline
          // would end the connection again and again while the busy rooms go on.
          if (!this.authenticated) return undefined;
          const pause = gate();
          if (!pause) return undefined;
          this.#paused = true;
          // A session that ends while paused must not wait for the shared gate to open.
          this.#stopped ??= Promise.withResolvers<void>();
          if (this.#end) this.#stopped.resolve();
          return Promise.race([pause, this.#stopped.promise]).then(() => {
            this.#paused = false;
            this.lastActivityAt = this.resumedAt = clock.now();
          });
        }),
        this.#options.decoding,
      );
    } catch (error) {
      receiving = Promise.reject(error);
    }
    return receiving;
  }

  /** The reader's promise resolved (the server closed): ends the session; its outcome. */
  readEnded(): SessionOutcome {
    if (this.#draining) {
      this.stop("stopped", "stopped by the collector after the server closed the connection");
    } else if (!this.authenticated) {
      this.stop("auth_failed", "the server closed the connection before accepting the auth packet");
    } else this.stop("closed_by_server", "the server closed the connection");
    return this.#finish();
  }

  /** The reader's promise rejected with `error`: ends the session; its outcome. */
  readFailed(error: unknown): SessionOutcome {
    const message = (error as Error).message;
    // While draining, the server may close mid-packet: every whole packet was already handed on.
    if (this.#draining) {
      this.stop("stopped", `stopped by the collector; the drain ended with: ${message}`);
    } else {
      const name = (error as Error).name;
      this.stop(name === "ProtocolError" ? "protocol_error" : "socket_error", message, error);
    }
    return this.#finish();
  }

  #onMessage(message: ServerMessage): void {
    if (message.kind === "authReply") {
      this.#authAnswered = true;
      const code = asNumber(asObject(message.body)?.code);
      if (code === 0) {
        if (!this.authenticated) {
          this.authenticated = true;
          this.authenticatedAt = this.#options.clock.now();
          this.#authTimer?.cancel();
          this.#authTimer = undefined;
          this.#options.onAuthenticated?.();
          this.#beat(); // the first heartbeat goes out with the auth reply
        }
      } else {
        this.stop(
          "auth_failed",
          `the server refused the auth packet: code ${code ?? message.text}`,
        );
      }
      return;
    }
    if (message.kind === "message") this.messages++;
    else if (message.kind === "heartbeatReply") this.heartbeatReplies++;
    this.#options.onMessage(message);
  }
}
