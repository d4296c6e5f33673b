/**
 * The `--faults` switches: probabilities of misbehaving, and shares of rooms whose raw TCP
 * misbehaves; all 0 unless asked for.
 */
import { ConfigError } from "../errors.ts";
import { Random } from "./random.ts";

/** Fault probabilities. */
export interface Faults {
  /** Per authenticated connection per second: close it (after flushing what was written). */
  disconnect: number;
  /** Per authenticated connection per second: go silent for good (no messages, no heartbeat replies). */
  stall: number;
  /**
   * Per authenticated connection per second: from then on it gets only {@linkcode THROTTLE_SHARE}
   * of its room's messages while the room goes on as before, as Bilibili does to some
   * connections over long runs (acgnhiki/blrec#225); a new connection gets them all.
   */
  throttle: number;
  /** Per authenticated connection per second: send one corrupt frame, then close. */
  corrupt: number;
  /** Per auth attempt with a valid token: refuse it (close without a reply). */
  authfail: number;
  /** Per live room per second: block the room (ROOM_BLOCK_MSG, then refuse connections). */
  block: number;
  /**
   * Share of rooms whose raw TCP is refused: getDanmuInfo hands them a TCP port nobody listens
   * on, and an auth for them on the TCP port is closed without a reply. WebSocket works.
   */
  tcprefuse: number;
  /** Share of rooms whose raw TCP connections are closed right after the auth reply. */
  tcpclose: number;
  /**
   * Share of rooms whose raw TCP connections go silent after the auth reply: no messages, no
   * heartbeat replies, until the client gives up.
   */
  tcpsilent: number;
}

/** How a room's raw TCP misbehaves. */
export type TcpFault = "refuse" | "close" | "silent";

/** No faults. */
export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  disconnect: 0,
  stall: 0,
  throttle: 0,
  corrupt: 0,
  authfail: 0,
  block: 0,
  tcprefuse: 0,
  tcpclose: 0,
  tcpsilent: 0,
});

/**
 * Which rooms' raw TCP misbehaves: the shares of {@linkcode Faults} pick rooms by a hash of the
 * seed and the room id (disjoint sets, the same for a seed), and `set()` names rooms outright.
 */
export class TcpFaultRooms {
  readonly #seed: string;
  readonly #faults: Readonly<Faults>;
  readonly #named = new Map<number, TcpFault | undefined>();

  constructor(seed: string, faults: Readonly<Faults>) {
    this.#seed = seed;
    this.#faults = faults;
  }

  /** The fault of a real room id's TCP connections, if any. */
  of(roomId: number): TcpFault | undefined {
    if (this.#named.has(roomId)) return this.#named.get(roomId);
    const { tcprefuse, tcpclose, tcpsilent } = this.#faults;
    if (tcprefuse + tcpclose + tcpsilent === 0) return undefined;
    const u = new Random(`tcp:${this.#seed}:${roomId}`).next();
    if (u < tcprefuse) return "refuse";
    if (u < tcprefuse + tcpclose) return "close";
    if (u < tcprefuse + tcpclose + tcpsilent) return "silent";
    return undefined;
  }

  /** Gives a room a TCP fault, or none (undefined), overriding the shares. */
  set(roomId: number, fault: TcpFault | undefined): void {
    this.#named.set(roomId, fault);
  }
}

/** Share of its room's messages a throttled connection still gets. */
export const THROTTLE_SHARE = 0.05;

/** Parses `disconnect=0.01,stall=0.001,…`; errors name the flag and the bad part. */
export function parseFaults(text: string, flag = "--faults"): Faults {
  const faults: Faults = { ...NO_FAULTS };
  if (text.trim() === "") return faults;
  for (const part of text.split(",")) {
    const [name, value, extra] = part.split("=");
    if (!(name in faults) || value === undefined || extra !== undefined) {
      throw new ConfigError(
        `Cannot parse ${flag} "${text}": "${part}" is not one of ${
          Object.keys(NO_FAULTS).map((k) => `${k}=P`).join(", ")
        }`,
      );
    }
    const p = Number(value);
    if (value.trim() === "" || !Number.isFinite(p) || p < 0 || p > 1) {
      throw new ConfigError(
        `Cannot parse ${flag} "${text}": ${name} must be a ${
          name.startsWith("tcp") ? "share" : "probability"
        } from 0 to 1, got "${value}"`,
      );
    }
    faults[name as keyof Faults] = p;
  }
  if (faults.tcprefuse + faults.tcpclose + faults.tcpsilent > 1) {
    throw new ConfigError(
      `Cannot parse ${flag} "${text}": tcprefuse, tcpclose and tcpsilent are shares of the rooms and add up to more than 1`,
    );
  }
  return faults;
}
