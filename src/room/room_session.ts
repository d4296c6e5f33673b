/**
 * One connection to a room: the seed's task pair. The reader authenticates (op 7 → op 8) and
 * decodes everything synchronously into a callback; the heartbeat task sends op 2 every 30 s.
 * When either ends, its twin is cancelled and the outcome says why.
 */
import { AuthError } from "../errors.ts";
import { type AuthBody, encodeAuthPacket, encodeHeartbeatPacket } from "../protocol/packet.ts";
import type { ServerMessage } from "../protocol/packet_decoder.ts";
import type { Clock } from "../util/clock.ts";
import { asNumber, asObject } from "../util/json_guards.ts";
import type { DanmakuTransport } from "./transport.ts";

/** Why a session ended. */
export type SessionEndReason =
  | "stopped" // we were asked to stop (shutdown, room removed)
  | "closed_by_server"
  | "auth_failed"
  | "auth_timeout"
  | "watchdog" // no bytes for too long
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
  error?: unknown;
}

/** Options of {@linkcode RoomSession}. */
export interface RoomSessionOptions {
  transport: DanmakuTransport;
  auth: AuthBody;
  clock: Clock;
  /** @default {30000} */
  heartbeatIntervalMs?: number;
  /** The op-8 reply must arrive within this. @default {10000} */
  authTimeoutMs?: number;
  /** Receives every decoded message after the auth reply (op 5 and op 3). */
  onMessage: (message: ServerMessage) => void;
  /** Called once when the server accepted the auth packet. */
  onAuthenticated?: () => void;
  /** Pauses reading while it returns a promise (backpressure from a full queue). */
  beforeRead?: () => Promise<void> | undefined;
  signal?: AbortSignal;
}

/** A connection's task pair; `run()` once, `stop()` from outside (watchdog, shutdown). */
export class RoomSession {
  readonly #options: RoomSessionOptions;
  readonly #controller = new AbortController();
  #end?: { reason: SessionEndReason; detail: string; error?: unknown };
  #authenticated = Promise.withResolvers<void>();
  /** Clock time of the last bytes received (connection start before any). */
  lastActivityAt: number;
  /** Op-5 messages received so far. */
  messages = 0;
  /** Whether the server accepted our auth packet. */
  authenticated = false;

  constructor(options: RoomSessionOptions) {
    this.#options = options;
    this.lastActivityAt = options.clock.now();
    this.#authenticated.promise.catch(() => {});
  }

  /** Ends the session with `reason` (first reason wins) and closes the transport. */
  stop(reason: SessionEndReason, detail: string, error?: unknown): void {
    this.#end ??= { reason, detail, error };
    this.#authenticated.reject(new AuthError(detail));
    this.#controller.abort();
    this.#options.transport.close();
  }

  /** Runs reader and heartbeat until one ends; never rejects. */
  async run(): Promise<SessionOutcome> {
    const { transport } = this.#options;
    const outer = this.#options.signal;
    const onOuterAbort = () => this.stop("stopped", "stopped by the collector");
    if (outer?.aborted) onOuterAbort();
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    try {
      const reader = this.#read();
      await transport.send(encodeAuthPacket(this.#options.auth)).catch((error) =>
        this.stop("socket_error", `cannot send the auth packet: ${(error as Error).message}`, error)
      );
      const authTimer = this.#authTimeout();
      const heartbeat = this.#heartbeat();
      await Promise.race([reader, heartbeat]);
      this.stop("stopped", "stopped");
      await Promise.all([reader, heartbeat, authTimer]);
    } finally {
      outer?.removeEventListener("abort", onOuterAbort);
    }
    const end = this.#end!;
    return { ...end, authenticated: this.authenticated, messages: this.messages };
  }

  async #read(): Promise<void> {
    const { transport, clock } = this.#options;
    try {
      const gate = this.#options.beforeRead;
      await transport.receive(
        (message) => this.#onMessage(message),
        () => {
          this.lastActivityAt = clock.now();
        },
        // A pause is ours, not the server's silence: it must not look dead to the watchdog.
        gate && (() =>
          gate()?.then(() => {
            this.lastActivityAt = clock.now();
          })),
      );
      if (!this.authenticated) {
        this.stop(
          "auth_failed",
          "the server closed the connection before accepting the auth packet",
        );
      } else this.stop("closed_by_server", "the server closed the connection");
    } catch (error) {
      const name = (error as Error).name;
      this.stop(
        name === "ProtocolError" ? "protocol_error" : "socket_error",
        (error as Error).message,
        error,
      );
    }
  }

  #onMessage(message: ServerMessage): void {
    if (message.kind === "authReply") {
      const code = asNumber(asObject(message.body)?.code);
      if (code === 0) {
        if (!this.authenticated) {
          this.authenticated = true;
          this.#authenticated.resolve();
          this.#options.onAuthenticated?.();
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
    this.#options.onMessage(message);
  }

  async #authTimeout(): Promise<void> {
    const ms = this.#options.authTimeoutMs ?? 10_000;
    await this.#options.clock.sleep(ms, this.#controller.signal);
    if (!this.authenticated && !this.#controller.signal.aborted) {
      this.stop("auth_timeout", `no auth reply within ${ms} ms`);
    }
  }

  async #heartbeat(): Promise<void> {
    const { transport, clock } = this.#options;
    const signal = this.#controller.signal;
    try {
      await this.#authenticated.promise;
    } catch {
      return; // the session ended before auth
    }
    const packet = encodeHeartbeatPacket();
    while (!signal.aborted) {
      try {
        await transport.send(packet);
      } catch (error) {
        if (!signal.aborted) {
          this.stop(
            "heartbeat_failed",
            `cannot send a heartbeat: ${(error as Error).message}`,
            error,
          );
        }
        return;
      }
      await clock.sleep(this.#options.heartbeatIntervalMs ?? 30_000, signal);
    }
  }
}
