/**
 * Salted uid hashing for shared datasets: the first 16 hex digits of HMAC-SHA256(salt, uid as
 * decimal). uid 0 (masked or unknown sender) stays "0" so anonymous rows are not mistaken for
 * one prolific user.
 */
import { createHmac } from "node:crypto";
import { ConfigError } from "../errors.ts";

/** Shortest salt accepted by `--hash-uids`. */
export const MIN_SALT_LENGTH = 8;

const CACHE_LIMIT = 65_536;

/** Hashes uids with one salt; remembers recent uids (bounded) since senders repeat. */
export class UidHasher {
  #salt: string;
  #cache = new Map<number | bigint, string>();

  /** Throws a ConfigError when `salt` is shorter than MIN_SALT_LENGTH. */
  constructor(salt: string) {
    if (salt.length < MIN_SALT_LENGTH) {
      throw new ConfigError(
        `Cannot use --hash-uids "${salt}": the salt needs at least ${MIN_SALT_LENGTH} characters (keep it secret: uids are few enough to guess by brute force)`,
      );
    }
    this.#salt = salt;
  }

  /** The hash of `uid` (bigint beyond 2^53): 16 lowercase hex digits, or "0" for uid 0. */
  hash(uid: number | bigint): string {
    if (uid === 0 || uid === 0n) return "0";
    let hashed = this.#cache.get(uid);
    if (hashed === undefined) {
      hashed = createHmac("sha256", this.#salt).update(String(uid)).digest("hex").slice(0, 16);
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(uid, hashed);
    }
    return hashed;
  }
}
