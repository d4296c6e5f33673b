/**
 * What the dispatcher (normalize_message.ts) and the per-cmd handlers share. Handlers import
 * this module, never the dispatcher, so the dispatcher can import them.
 */

/** What the normalizer needs to know about where a message came from. */
export interface NormalizeContext {
  /** Real (long) room id of the connection. */
  roomId: number;
  /** Local receive time, unix ms. */
  receivedAtMs: number;
  /** Also keep every message verbatim as a `raw` event (`--keep-raw`). */
  keepRaw: boolean;
  /** Called for every message whose cmd is not recognized (the caller logs once per cmd). */
  onUnknownCmd?: (cmd: string) => void;
}
