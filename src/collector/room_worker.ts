/**
 * One room's life: resolve its real id, fetch a token, connect, run a session, and on its
 * end back off (exponential, jittered; reset once a connection delivered messages), rotate
 * hosts and refresh the token after an auth failure or repeated failures. Permanent failures
 * (no such room, locked room) end the worker.
 */
import { ApiError } from "../errors.ts";
import type {
  BilibiliApi,
  DanmakuHost,
  DanmuInfo,
  Identity,
  RoomInit,
} from "../bilibili/api_client.ts";
import { type AuthBody, webAuthBody } from "../protocol/packet.ts";
import type { CollectedEvent } from "../normalize/events.ts";
import {
  audienceFromHeartbeat,
  type NormalizeContext,
  normalizeMessage,
  parseMessageBody,
  readBodyBytes,
} from "../normalize/normalize_message.ts";
import type { BodyDecoding, ServerMessage } from "../protocol/packet_decoder.ts";
import { RoomSession, type RoomSessionOptions, type SessionOutcome } from "../room/room_session.ts";
import {
  type ConnectOptions,
  connectTransport,
  type DanmakuTransport,
  type TransportKind,
  type TransportMode,
} from "../room/transport.ts";
import type { TimerQueue } from "../room/timer_queue.ts";
import { backoffDelay, type BackoffOptions } from "../util/backoff.ts";
import type { Clock } from "../util/clock.ts";
import { fieldLogger, type Logger } from "../util/log.ts";
import type { RateLimiter } from "../util/rate_limiter.ts";
import type { ConnectionSlots } from "./connection_slots.ts";

/** Where a room is in its life. */
export type RoomState =
  | "resolving"
  | "waiting"
  | "connecting"
  | "live"
  | "backoff"
  | "failed"
  | "stopped";

/** What every worker shares. */
export interface RoomWorkerDeps {
  api: BilibiliApi;
  clock: Clock;
  random: () => number;
  /** `auto`: TCP first, moving a room to wss after {@linkcode TCP_TROUBLES_BEFORE_WSS}. */
  transport: TransportMode;
  /** PEM certificates wss trusts besides the system's roots (`--ca-file`). */
  caCerts?: readonly string[];
  /** Paces connection starts so many rooms do not connect at once. */
  startGate: RateLimiter;
  slots: ConnectionSlots;
  /** Receives every event, synchronously. */
  emit: (event: CollectedEvent) => void;
  keepRaw: boolean;
  heartbeatIntervalMs: number;
  authTimeoutMs: number;
  /** On stop, how long a connection may keep reading what is on its way. */
  drainMs: number;
  backoff: BackoffOptions;
  /** Headers for WebSocket upgrades. */
  wsHeaders?: Record<string, string>;
  onUnknownCmd?: (cmd: string) => void;
  log: (line: string) => void;
  /** Pauses every reader while it returns a promise (the queue is full and storage is writing). */
  beforeRead?: () => Promise<void> | undefined;
  /** Opens transports (tests inject faults here). */
  connect?: (options: ConnectOptions) => Promise<DanmakuTransport>;
  /**
   * How bodies are decoded (the collector adds libbrotlidec where it opens).
   * @default {leanDecoding(keepRaw)}
   */
  decoding?: BodyDecoding;
  /**
   * The timer queue every connection's heartbeat and deadlines wait in (the supervisor makes
   * one). @default {a queue per connection}
   */
  timers?: TimerQueue;
  /**
   * Bounds how many rooms set up at once: a room holds a slot from its first API call until
   * its connection is open (or the attempt ends), so a burst of thousands of rooms keeps only
   * a few requests alive at a time (their garbage dies young instead of growing the heap). The
   * auth reply is not waited for: a busy server answering slowly must not hold up the others.
   * @default {unbounded}
   */
  setup?: ConnectionSlots;
  /**
   * Asked once a worker knows its real id: false when another worker collects that room (the
   * worker then fails). @default {every id is the worker's}
   */
  claim?: (requestedId: number, realId: number) => boolean;
}

/**
 * Bodies read without what is never stored: DANMU_MSG, SEND_GIFT, INTERACT_WORD_V2 and the cmds
 * not stored from their bytes (normalize/body_scan.ts), else a lean parse
 * (normalize/message_body.ts); `node:zlib`. With `keepRaw` every message's text is stored, so none is read from its bytes.
 */
export function leanDecoding(keepRaw: boolean): BodyDecoding {
  return keepRaw ? KEEP_RAW_DECODING : LEAN_DECODING;
}

const LEAN_DECODING: BodyDecoding = { readBody: readBodyBytes, parseBody: parseMessageBody };
const KEEP_RAW_DECODING: BodyDecoding = { parseBody: parseMessageBody };

/** TCP sessions in a row that were refused, closed right after auth or silent after it. */
export const TCP_TROUBLES_BEFORE_WSS = 3;

/** How a TCP session failed in a way that wss may not: see {@linkcode tcpTrouble}. */
export type TcpTrouble = "refused" | "closed_after_auth" | "silent_after_auth";

/** Connect errors that say the TCP port is refused or unreachable for us (not DNS). */
function isRefusal(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.TimedOut ||
    (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError"));
}

/**
 * Classifies a TCP session for `--transport auto`: refused (the connection could not be made),
 * closed right after auth (closed or reset before the auth reply, or after it with nothing
 * else), silent after auth (no auth reply in time, or accepted and then neither a message nor a
 * heartbeat reply); undefined when it worked or failed for another reason (a refusal with a
 * code, a bad packet, our own stop).
 */
export function tcpTrouble(outcome: SessionOutcome, connected: boolean): TcpTrouble | undefined {
  if (outcome.reason === "stopped" || outcome.messages > 0 || outcome.heartbeatReplies > 0) {
    return undefined;
  }
  if (!connected) return isRefusal(outcome.error) ? "refused" : undefined;
  if (outcome.authAnswered && !outcome.authenticated) return undefined; // refused with a code
  switch (outcome.reason) {
    case "auth_failed":
    case "closed_by_server":
    case "socket_error":
      return "closed_after_auth";
    case "auth_timeout":
    case "watchdog":
    case "silent_after_auth":
      return "silent_after_auth";
    default:
      return undefined;
  }
}

/** Facts known about a room before its worker starts (from a room list). */
export interface KnownRoom {
  roomId: number;
  shortId?: number;
}

/** Danmaku hosts lists seen so far, one array per distinct list (every room gets the same). */
const HOST_LISTS = new Map<string, DanmakuHost[]>();

/** Bound on {@linkcode HOST_LISTS}: beyond it a list is kept per room, as it came. */
const MAX_HOST_LISTS = 64;

/**
 * The token and a hosts list shared by every room that got the same hosts (getDanmuInfo hands
 * every room the same few servers): a room keeps its token, not three host objects and their
 * strings (≈ 0.3 KB per room).
 */
function compactDanmuInfo(info: DanmuInfo): DanmuInfo {
  const key = JSON.stringify(info.hosts);
  let hosts = HOST_LISTS.get(key);
  if (!hosts) {
    if (HOST_LISTS.size >= MAX_HOST_LISTS) return info;
    hosts = info.hosts;
    HOST_LISTS.set(key, hosts);
  }
  return { token: info.token, hosts };
}

/**
 * One connection of a worker, and the options of its {@linkcode RoomSession}: the message and
 * auth callbacks are its methods, the normalize context and the session row's facts its fields,
 * the shared settings getters over the worker's deps. One object per live room instead of an
 * options object, an auth body, a normalize context and four closures.
 */
class Connection implements RoomSessionOptions, NormalizeContext {
  readonly #worker: RoomWorker;
  readonly #deps: RoomWorkerDeps;
  readonly transport: DanmakuTransport;
  readonly #identity: Identity;
  readonly #token: string;
  readonly #kind: TransportKind;
  readonly #sessionId = crypto.randomUUID();
  readonly #startedAtMs: number;
  /** Real room id (the normalize context's). */
  readonly roomId: number;
  /** Receive time of the message being normalized. */
  receivedAtMs = 0;
  /** The connection's session, run on these options. */
  readonly session: RoomSession;
  /** The session's reader (`RoomSession.start()`), whose end resumes the worker's loop. */
  reading?: Promise<void>;

  constructor(
    worker: RoomWorker,
    deps: RoomWorkerDeps,
    transport: DanmakuTransport,
    kind: TransportKind,
    identity: Identity,
    token: string,
    startedAtMs: number,
  ) {
    this.#worker = worker;
    this.#deps = deps;
    this.transport = transport;
    this.#kind = kind;
    this.#identity = identity;
    this.#token = token;
    this.roomId = worker.realId!;
    this.#startedAtMs = startedAtMs;
    this.session = new RoomSession(this);
  }

  /** The auth body, made when the session sends it (it is not kept). */
  get auth(): AuthBody {
    return webAuthBody(this.#identity.uid, this.roomId, this.#token, this.#identity.buvid3);
  }
  get clock(): Clock {
    return this.#deps.clock;
  }
  get heartbeatIntervalMs(): number {
    return this.#deps.heartbeatIntervalMs;
  }
  get authTimeoutMs(): number {
    return this.#deps.authTimeoutMs;
  }
  get drainMs(): number {
    return this.#deps.drainMs;
  }
  get beforeRead(): (() => Promise<void> | undefined) | undefined {
    return this.#deps.beforeRead;
  }
  get timers(): TimerQueue | undefined {
    return this.#deps.timers;
  }
  get decoding(): BodyDecoding {
    return this.#deps.decoding ?? leanDecoding(this.#deps.keepRaw);
  }
  get keepRaw(): boolean {
    return this.#deps.keepRaw;
  }
  get onUnknownCmd(): ((cmd: string) => void) | undefined {
    return this.#deps.onUnknownCmd;
  }

  /** Normalizes op-5 messages into events and turns heartbeat replies into audience events. */
  onMessage(message: ServerMessage): void {
    const deps = this.#deps;
    const now = deps.clock.now();
    if (message.kind === "message") {
      const worker = this.#worker;
      worker.messages++;
      worker.lastMessageAt = now;
      this.receivedAtMs = now;
      // One array for every room: normalizing and emitting are synchronous.
      const out = EVENTS;
      try {
        normalizeMessage(message.body, message.text, this, out);
        for (const event of out) deps.emit(event);
      } finally {
        out.length = 0;
      }
    } else if (message.kind === "heartbeatReply") {
      deps.emit(audienceFromHeartbeat(this.roomId, now, message.popularity));
    }
  }

  onAuthenticated(): void {
    this.#worker.state = "live";
  }

  /** Emits the session row: open (no outcome yet) or closed. */
  row(outcome: SessionOutcome | undefined): void {
    emitSessionRow(
      this.#deps,
      this.roomId,
      this.#sessionId,
      this.#kind,
      this.#startedAtMs,
      this.transport.address,
      outcome,
    );
  }
}

/** Emits a connection's row in the sessions table: open (no outcome yet) or closed. */
function emitSessionRow(
  deps: RoomWorkerDeps,
  roomId: number,
  sessionId: string,
  kind: TransportKind,
  startedAtMs: number,
  address: string,
  outcome: SessionOutcome | undefined,
): void {
  deps.emit({
    type: "session",
    roomId,
    receivedAtMs: deps.clock.now(),
    sessionId,
    host: address,
    transport: kind,
    startedAtMs,
    endedAtMs: outcome ? deps.clock.now() : null,
    reason: outcome ? `${outcome.reason}: ${outcome.detail}` : null,
    messages: outcome?.messages ?? 0,
  });
}

/** The events of one message, between normalizing and emitting (see `Connection.onMessage`). */
const EVENTS: CollectedEvent[] = [];

/**
 * A room's reconnect loop: `start()` once, `stop()` from outside (room removed, shutdown),
 * `done()` to wait for its end. A live connection is a {@linkcode RoomSession} (its task pair:
 * reader and heartbeat); while it lives, no async function of the room is suspended: the
 * session's reader resumes the loop when it ends.
 */
export class RoomWorker implements Disposable {
  readonly requestedId: number;
  readonly #deps: RoomWorkerDeps;
  /** What the room list said (a restarted worker starts from it again). */
  readonly known?: KnownRoom;
  /** Real room id, once resolved. */
  realId?: number;
  state: RoomState = "resolving";
  /** Why the room failed or last disconnected. */
  lastProblem?: string;
  /** The current connection, while there is one. */
  session?: RoomSession;
  /** Connections made. */
  sessions = 0;
  /** Op-5 messages received over all sessions. */
  messages = 0;
  /** Clock time of the last op-5 message, if any came. */
  lastMessageAt?: number;
  /** Connections that ended and were followed by another attempt (our own stop excluded). */
  reconnects = 0;
  /** When the silence watch last judged the room quiet (set by the supervisor). */
  quietAt?: number;
  /** Whether the worker has ended (stopped, failed or crashed). */
  finished = false;
  /** Bytes read by the sessions that ended. */
  #bytesEnded = 0;
  /** Failed attempts in a row (reset by a connection that delivered messages). */
  attempt = 0;
  /** The transport of the next connection (with `auto`, TCP until the room moves to wss). */
  transport: TransportKind;
  /** With `auto`: TCP troubles in a row. */
  #tcpTroubles = 0;
  /** The uid the last connection authenticated as (see {@linkcode #moveToWssIfTcpFails}). */
  #authUid: number | undefined;
  /** Whether that uid was a login (which can expire) rather than anonymous. */
  #authLoggedIn = false;
  /** `api.identityChecks` when the current run of TCP troubles began. */
  #checksAtFirstTrouble = 0;
  /** Whether the last connection attempt got a connection (for {@linkcode tcpTrouble}). */
  #connected = false;
  /** Why the current connection is being replaced by `reconnect()`, until it has ended. */
  #reconnectReason?: string;
  /** Whether this worker holds one of `deps.setup`'s slots. */
  #settingUp = false;
  /** The token and hosts of the next connections, until they must be fetched again. */
  #info?: DanmuInfo;
  /** Which of `#info.hosts` the next connection uses (modulo their number). */
  #hostIndex = 0;
  /** Failed attempts since the token was fetched. */
  #failuresSinceToken = 0;
  /** Ask room_init again before the next attempt (the auth was refused). */
  #checkRoom = false;
  /** Set by `stop()`. */
  #stopped = false;
  /** Whether `start()` was called. */
  #started = false;
  /** Settled by the end of the worker, made when `done()` is asked first. */
  #whenDone?: PromiseWithResolvers<void>;
  /**
   * Aborted by `stop()`: ends the waits of a setup (API calls, slots, connect, backoff). Made
   * when a wait needs it and dropped once a connection is open: a live room holds none.
   */
  #abort?: AbortController;

  constructor(requestedId: number, deps: RoomWorkerDeps, known?: KnownRoom) {
    this.requestedId = requestedId;
    this.#deps = deps;
    if (known) {
      this.known = known;
      this.realId = known.roomId;
    }
    this.transport = deps.transport === "auto" ? "tcp" : deps.transport;
  }

  /** A logger made when a line is logged: kept per room, its closures cost ≈ 0.4 KB per room. */
  get #log(): Logger {
    return fieldLogger(this.#deps.log);
  }

  /** The signal the current wait passes on (see {@linkcode #abort}). */
  get #signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController();
      if (this.#stopped) this.#abort.abort();
    }
    return this.#abort.signal;
  }

  /** Whether `stop()` was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Bytes read from the room's connections, the current one included. */
  get bytes(): number {
    return this.#bytesEnded + (this.session?.bytes ?? 0);
  }

  /**
   * Stops the worker: a live connection drains (reads what the socket holds, then closes), a
   * wait ends; `done()` then settles.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort?.abort();
    this.session?.drain();
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  /**
   * Ends the live connection gracefully (reading what the socket holds) and connects again at
   * once, without backoff; false when there is no live connection or one is already ending.
   */
  reconnect(reason: string): boolean {
    if (!this.session || this.state !== "live" || this.#reconnectReason !== undefined) return false;
    this.#reconnectReason = reason;
    this.session.drain();
    return true;
  }

  /** Takes a setup slot unless one is held; false when stopped first. */
  async #beginSetup(): Promise<boolean> {
    const setup = this.#deps.setup;
    if (this.#settingUp || !setup) return true;
    if (!(await setup.acquire(this.#signal))) return false;
    this.#settingUp = true;
    return true;
  }

  /** Gives the setup slot back (connected, waiting out a backoff, or ending). */
  #endSetup(): void {
    if (!this.#settingUp) return;
    this.#settingUp = false;
    this.#deps.setup?.release();
  }

  /**
   * Starts the worker (once): it runs until `stop()` or the room fails permanently. A crash (an
   * unexpected error) is logged and ends the worker with `lastProblem` saying so: the
   * supervisor's sweep starts the room again. `deps.claim` says whether the real id is this
   * worker's. {@linkcode done} settles once it has ended.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#loop();
  }

  /** Settles once the worker has ended (stopped, failed or crashed); never rejects. */
  done(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return (this.#whenDone ??= Promise.withResolvers<void>()).promise;
  }

  /**
   * The reconnect loop, from the start (no `ended`) or from the end of a live connection, until
   * a connection is live, the worker ends or it crashed. While a connection is live, no frame of
   * it waits: the session's reader resumes it (a suspended async function per room would hold a
   * generator, its register file and a context as long as the connection lives). Its state is
   * in fields and its steps in other methods. Never rejects.
   */
  async #loop(ended?: SessionOutcome): Promise<void> {
    let live = false;
    try {
      if (ended === undefined) {
        if (this.realId === undefined && !(await this.#roomInit(this.requestedId))) return;
        if (this.#deps.claim && !this.#deps.claim(this.requestedId, this.realId!)) {
          return this.#fail(
            `room ${this.requestedId} is room ${this.realId}, which is already collected`,
          );
        }
      }
      for (;;) {
        if (ended !== undefined) {
          const delay = this.#afterConnection(ended);
          if (delay === undefined) return;
          ended = undefined;
          await this.#deps.clock.sleep(delay, this.#signal);
        }
        if (this.#stopped || !(await this.#prepare())) return;
        const attempt = await this.#connectOnce();
        if (attempt === undefined) return; // stopped
        if (attempt instanceof Connection) {
          // Live: this frame ends here; the session's reader resumes the loop when it settles.
          attempt.reading!.then(
            () => this.#liveEnded(attempt, false, undefined),
            (error) => this.#liveEnded(attempt, true, error),
          );
          live = true;
          return;
        }
        ended = attempt;
      }
    } catch (error) {
      this.#crashed(error);
    } finally {
      if (!live) this.#finish();
    }
  }

  /** A live connection's reader settled: the session ends and the loop goes on. */
  #liveEnded(connection: Connection, failed: boolean, error: unknown): void {
    let outcome: SessionOutcome;
    try {
      const session = connection.session;
      outcome = this.#sessionEnded(
        connection,
        failed ? session.readFailed(error) : session.readEnded(),
      );
    } catch (error) {
      this.#crashed(error);
      this.#finish();
      return;
    }
    void this.#loop(outcome);
  }

  #crashed(error: unknown): void {
    this.lastProblem = `crashed: ${(error as Error).message}`;
    this.#log.error("room worker crashed", {
      room: this.realId ?? this.requestedId,
      detail: this.lastProblem,
    });
  }

  /** The worker has ended: slots given back, `done()` settled. */
  #finish(): void {
    this.#endSetup();
    this.#abort = undefined;
    this.finished = true;
    if (this.state !== "failed") this.state = "stopped";
    this.#whenDone?.resolve();
  }

  /**
   * Before a connection attempt: a setup slot, room_init again after a refused auth, a token
   * when there is none; false when stopped or failed.
   */
  async #prepare(): Promise<boolean> {
    if (!(await this.#beginSetup())) return false;
    if (this.#checkRoom) {
      // Refused auth may mean the room was locked since: ask room_init before retrying.
      this.#checkRoom = false;
      if (!(await this.#roomInit(this.realId!, false))) return false;
    }
    if (!this.#info) {
      this.state = "resolving";
      const info = await this.#retrying(
        (signal) => this.#deps.api.getDanmuInfo(this.realId!, { signal }),
      );
      if (!info) return false;
      this.#info = compactDanmuInfo(info);
      this.#failuresSinceToken = 0;
    }
    return true;
  }

  /**
   * After a connection attempt: counts, host rotation, token refresh, the wss move and the
   * log line; the backoff delay before the next attempt, or undefined to stop.
   */
  #afterConnection(outcome: SessionOutcome): number | undefined {
    const reconnecting = this.#reconnectReason !== undefined;
    this.#reconnectReason = undefined;
    if (this.#stopped || (outcome.reason === "stopped" && !reconnecting)) {
      return undefined;
    }
    this.reconnects++;
    this.lastProblem = outcome.detail;
    const moved = this.#moveToWssIfTcpFails(outcome);
    if (outcome.messages > 0 || reconnecting || moved) this.attempt = 0;
    else {
      this.attempt++;
      this.#failuresSinceToken++;
      this.#hostIndex++;
    }
    if (outcome.reason === "auth_failed" || (outcome.authenticated && outcome.messages === 0)) {
      this.#deps.api.invalidateIdentity(); // the login may have expired: nav again (≤ 1/10 s)
    }
    if (
      outcome.reason === "auth_failed" || outcome.reason === "auth_timeout" ||
      this.#failuresSinceToken >= Math.max(3, this.#info?.hosts.length ?? 0)
    ) {
      this.#info = undefined; // refresh the token (it may be stale or bound to another identity)
      this.#checkRoom = outcome.reason === "auth_failed";
    }
    const delay = reconnecting
      ? 0
      : backoffDelay(this.attempt, this.#deps.random(), this.#deps.backoff);
    this.#log.info("connection ended", {
      room: this.realId,
      reason: outcome.reason,
      messages: outcome.messages,
      retry_in_ms: delay,
      detail: outcome.detail,
    });
    this.state = "backoff";
    this.#endSetup();
    return delay;
  }

  /**
   * Asks room_init about `id`: false when stopped, or when the room is locked (the worker
   * failed). The first time it resolves the real id and emits the room. Its answer stays in
   * this frame, not in the loop's.
   */
  async #roomInit(id: number, first = true): Promise<boolean> {
    const init = await this.#retrying((signal) => this.#deps.api.roomInit(id, { signal }));
    if (!init) return false;
    if (init.isLocked) {
      this.#fail(`room ${init.roomId} is locked (blocked by Bilibili)`);
      return false;
    }
    if (first) {
      this.realId = init.roomId;
      this.#emitRoom(init);
    }
    return true;
  }

  /** With `auto`, counts TCP troubles and moves the room to wss at the limit; true if it moved. */
  #moveToWssIfTcpFails(outcome: SessionOutcome): boolean {
    if (this.#deps.transport !== "auto" || this.transport !== "tcp") return false;
    const trouble = tcpTrouble(outcome, this.#connected);
    this.#tcpTroubles = trouble ? this.#tcpTroubles + 1 : 0;
    if (this.#tcpTroubles === 1) this.#checksAtFirstTrouble = this.#deps.api.identityChecks;
    if (!trouble || this.#tcpTroubles < TCP_TROUBLES_BEFORE_WSS) return false;
    // An expired login fails TCP and WSS alike: a logged-in room moves only once nav has
    // confirmed the login since its failures began (a changed uid starts the count again).
    if (this.#authLoggedIn && this.#deps.api.identityChecks === this.#checksAtFirstTrouble) {
      return false;
    }
    this.transport = "wss";
    this.#log.info("room moves to wss", {
      room: this.realId,
      reason: trouble,
      tcp_sessions: this.#tcpTroubles,
      detail: outcome.detail,
    });
    return true;
  }

  #fail(problem: string): void {
    this.state = "failed";
    this.lastProblem = problem;
    this.#log.warn("room failed permanently, not retrying", {
      room: this.realId ?? this.requestedId,
      detail: problem,
    });
  }

  /** Calls the API until it answers, backing off on transient errors; undefined when stopped or failed. */
  async #retrying<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      if (!(await this.#beginSetup())) return undefined;
      try {
        return await call(this.#signal);
      } catch (error) {
        if (this.#stopped) return undefined;
        if (error instanceof ApiError && error.code === 60004) {
          this.#fail(`room ${this.requestedId} does not exist (room_init code 60004)`);
          return undefined;
        }
        this.lastProblem = (error as Error).message;
        const delay = backoffDelay(attempt, this.#deps.random(), this.#deps.backoff);
        this.#log.warn("API call failed", {
          room: this.realId ?? this.requestedId,
          retry_in_ms: delay,
          detail: this.lastProblem,
        });
        this.state = "backoff";
        this.#endSetup();
        await this.#deps.clock.sleep(delay, this.#signal);
        this.state = "resolving";
      }
    }
    return undefined;
  }

  #emitRoom(init: RoomInit): void {
    this.#deps.emit({
      type: "room",
      roomId: init.roomId,
      receivedAtMs: this.#deps.clock.now(),
      shortId: init.shortId > 0 ? init.shortId : null,
      anchorUid: init.uid > 0 ? init.uid : null,
      uname: null,
      title: null,
      areaId: null,
      areaName: null,
      parentAreaId: null,
      parentAreaName: null,
      liveStatus: init.liveStatus,
      seenAtMs: this.#deps.clock.now(),
    });
  }

  /**
   * Waits for a connection slot and the start gate, opens a transport and starts a session on
   * it: the connection is returned once open (its reader not awaited), or the attempt's outcome,
   * or undefined when stopped. The slot is given back when the session ends.
   */
  async #connectOnce(): Promise<SessionOutcome | Connection | undefined> {
    const deps = this.#deps;
    const info = this.#info!;
    this.state = "waiting";
    if (!(await deps.slots.acquire(this.#signal))) return undefined;
    let live: Connection | undefined;
    try {
      if (!(await deps.startGate.take(this.#signal))) return undefined;
      this.state = "connecting";
      const host = info.hosts[this.#hostIndex % info.hosts.length];
      const kind = this.transport;
      this.#connected = false;
      const identity = await deps.api.identity({ signal: this.#signal });
      // A login that expired fails every auth on TCP and WSS alike: failures under the old
      // identity say nothing about TCP, so a changed uid starts the count again.
      if (identity.uid !== this.#authUid) this.#tcpTroubles = 0;
      this.#authUid = identity.uid;
      this.#authLoggedIn = identity.loggedIn;
      const startedAtMs = deps.clock.now();
      let transport: DanmakuTransport;
      try {
        transport = await (deps.connect ?? connectTransport)({
          kind,
          host,
          headers: deps.wsHeaders,
          caCerts: deps.caCerts,
          signal: this.#signal,
        });
      } catch (error) {
        if (this.#stopped) return undefined;
        const outcome: SessionOutcome = {
          reason: "socket_error",
          detail: `cannot connect to ${host.host}: ${(error as Error).message}`,
          authenticated: false,
          messages: 0,
          heartbeatReplies: 0,
          authAnswered: false,
          error,
        };
        emitSessionRow(
          deps,
          this.realId!,
          crypto.randomUUID(),
          kind,
          startedAtMs,
          host.host,
          outcome,
        );
        return outcome;
      }
      this.#connected = true;
      this.#endSetup();
      this.sessions++;
      const connection = new Connection(
        this,
        deps,
        transport,
        kind,
        identity,
        info.token,
        startedAtMs,
      );
      connection.row(undefined);
      this.session = connection.session;
      this.#abort = undefined; // a live connection is stopped through its session (stop())
      connection.reading = connection.session.start();
      live = connection;
      if (this.#stopped) connection.session.drain();
      return live;
    } catch (error) {
      if (this.#stopped) return undefined;
      return {
        reason: "socket_error",
        detail: (error as Error).message,
        authenticated: false,
        messages: 0,
        heartbeatReplies: 0,
        authAnswered: false,
        error,
      };
    } finally {
      if (!live) deps.slots.release();
    }
  }

  /** A session has ended: its counts are kept, the session row closed, the slot given back. */
  #sessionEnded(connection: Connection, outcome: SessionOutcome): SessionOutcome {
    try {
      this.session = undefined;
      this.#bytesEnded += connection.session.bytes;
      if (this.#reconnectReason !== undefined && outcome.reason === "stopped") {
        outcome.detail = `reconnecting: ${this.#reconnectReason}`;
      }
      connection.row(outcome);
      return outcome;
    } finally {
      this.#deps.slots.release();
    }
  }
}
