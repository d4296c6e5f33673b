/**
 * What the dispatcher (normalize_message.ts) and the per-cmd handlers share. Handlers import
 * this module, never the dispatcher, so the dispatcher can import them.
 */
import type { CollectedEvent } from "./events.ts";
import type { JsonObject } from "../util/json_guards.ts";

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

/** One op-5 message as the dispatcher hands it to the handler of its cmd. */
export interface CmdMessage {
  /** The parsed body (the object that holds `cmd`). */
  body: JsonObject;
  /** `body.data` when it is an object (most cmds keep their fields there), else undefined. */
  data: JsonObject | undefined;
  /** The full cmd, suffix included (e.g. "DANMU_MSG:4:0:2:2:2:0"). */
  cmd: string;
  /** The cmd before its first `:` (e.g. "DANMU_MSG"). */
  baseCmd: string;
  /** The message as received; undefined for a body read from its bytes (body_scan.ts). */
  text: string | undefined;
}

/** The cmd before its first `:` ("DANMU_MSG:4:0:2:2:2:0" → "DANMU_MSG"): what dispatch goes by. */
export function baseCmdOf(cmd: string): string {
  const colon = cmd.indexOf(":");
  return colon < 0 ? cmd : cmd.slice(0, colon);
}

/**
 * The text a row keeps of a message: as received, or for a body read from its bytes (DANMU_MSG,
 * SEND_GIFT and cmds not stored, which keep no text unless normalizing them fails) the JSON of
 * what was read.
 */
export function keptText(text: string | undefined, body: unknown): string {
  return text ?? JSON.stringify(body);
}

/**
 * Pushes the events of one message onto `out`; returns false, having pushed nothing, when the
 * message lacks what its cmd needs. May throw on a hostile payload. Either way the dispatcher
 * then keeps the message as a `malformed` raw event.
 */
export type CmdHandler = (
  message: CmdMessage,
  context: NormalizeContext,
  out: CollectedEvent[],
) => boolean;
