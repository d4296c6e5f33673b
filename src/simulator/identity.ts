/**
 * Who a caller is (cookies → uid) and the danmaku tokens bound to a room and that identity.
 * Tokens are stateless: an HMAC over `room;uid;buvid3`, padded to the real token's length,
 * keyed by the seed and a generation that `expireAll()` moves on. `expireSessions()` logs every
 * account out, as an expired SESSDATA does.
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The identity a token is issued to. */
export interface Identity {
  /** The logged-in account's mid, or 0 when anonymous. */
  uid: number;
  /** The `buvid3` cookie of the request. */
  buvid: string;
}

/** What a valid token says. */
export interface TokenClaims extends Identity {
  roomId: number;
}

/** Longest token accepted in an auth body (real ones are ≈ 190 chars). */
export const MAX_TOKEN_LENGTH = 512;

const TOKEN_BYTES = 141; // → 188 base64url chars, as long as real tokens
const MAC_BYTES = 32;

/** One request as the simulator saw it, for tests that check what clients send. */
export interface SeenRequest {
  /** A plain HTTP request, or a WebSocket upgrade of `/sub`. */
  kind: "http" | "upgrade";
  path: string;
  userAgent: string | null;
  origin: string | null;
  referer: string | null;
  cookies: ReadonlyMap<string, string>;
}

/** Parses a `Cookie` header into a map (bounded to 64 cookies). */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(";").slice(0, 64)) {
    const eq = part.indexOf("=");
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

/** Issues and checks tokens, and maps SESSDATA cookies to a deterministic `mid`. */
export class TokenAuthority {
  #secret: string;
  /** Bumped by `expireAll()`; part of the MAC key, so older tokens stop verifying. */
  #generation = 0;
  /** Set by `expireSessions()`: no SESSDATA is logged in any more. */
  #sessionsExpired = false;

  /** `seed` makes tokens and mids reproducible across runs with the same seed. */
  constructor(seed: string) {
    this.#secret = `simulator:${seed}`;
  }

  /** The account id of a SESSDATA cookie: a stable 1–15 digit number derived from it. */
  midForSessdata(sessdata: string): number {
    const digest = createHash("md5").update(`${this.#secret}:${sessdata}`).digest();
    return digest.readUIntBE(0, 6) % 1_000_000_000_000 + 1;
  }

  /**
   * The account a SESSDATA cookie is logged in as, or undefined once `expireSessions()` ran
   * (nav then answers -101 and getDanmuInfo issues anonymous tokens).
   */
  accountOf(sessdata: string): number | undefined {
    return this.#sessionsExpired ? undefined : this.midForSessdata(sessdata);
  }

  /** Logs every SESSDATA out for good, as when the cookie expires or the user logs out. */
  expireSessions(): void {
    this.#sessionsExpired = true;
  }

  /** A token for `claims`, url-safe base64 like the real ones. */
  issue(claims: TokenClaims): string {
    const payload = Buffer.from(`${claims.roomId};${claims.uid};${claims.buvid}`, "utf8");
    const size = Math.max(TOKEN_BYTES, 1 + payload.length + MAC_BYTES);
    const bytes = Buffer.alloc(size);
    bytes[0] = payload.length;
    payload.copy(bytes, 1);
    this.#mac(payload).copy(bytes, 1 + payload.length);
    const filler = createHash("sha256").update(this.#mac(payload)).digest();
    for (let i = 1 + payload.length + MAC_BYTES; i < size; i++) bytes[i] = filler[i % 32];
    return bytes.toString("base64url");
  }

  /** The claims of a token this authority issued, or undefined when it is not one. */
  verify(token: string): TokenClaims | undefined {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const bytes = Buffer.from(token, "base64url");
    const length = bytes[0] ?? 0;
    if (length === 0 || bytes.length < 1 + length + MAC_BYTES) return undefined;
    const payload = bytes.subarray(1, 1 + length);
    const mac = bytes.subarray(1 + length, 1 + length + MAC_BYTES);
    if (!timingSafeEqual(mac, this.#mac(payload))) return undefined;
    const [room, uid, ...buvid] = payload.toString("utf8").split(";");
    return { roomId: Number(room), uid: Number(uid), buvid: buvid.join(";") };
  }

  /** Makes every token issued so far invalid (as if all had expired); new ones verify. */
  expireAll(): void {
    this.#generation++;
  }

  #mac(payload: Uint8Array): Buffer {
    return createHmac("sha256", `${this.#secret}:${this.#generation}`).update(payload).digest();
  }
}
