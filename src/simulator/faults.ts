/** The `--faults` switches: probabilities of misbehaving, all 0 unless asked for. */
import { ConfigError } from "../errors.ts";

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
}

/** No faults. */
export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  disconnect: 0,
  stall: 0,
  throttle: 0,
  corrupt: 0,
  authfail: 0,
  block: 0,
});

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
        `Cannot parse ${flag} "${text}": ${name} must be a probability from 0 to 1, got "${value}"`,
      );
    }
    faults[name as keyof Faults] = p;
  }
  return faults;
}
