/** The base64 protobuf `pb` payloads of the *_V2 cmds (docs/protocol.md §4.12). */
import { ProtoMessage, WireType } from "../protocol/protobuf.ts";
import { asObject, asString, type JsonObject } from "../util/json_guards.ts";

/** Longest base64 `pb` accepted; real payloads are well under 4 KB. */
export const MAX_PB_BASE64_LENGTH = 1024 * 1024;

/**
 * Decodes `data.pb` (or `data.data.pb`) into a protobuf message. Returns undefined when
 * there is no `data` or no `pb` string; throws (SyntaxError, ProtocolError) on bad base64 or
 * protobuf.
 */
export function readPbPayload(data: JsonObject | undefined): ProtoMessage | undefined {
  if (data === undefined) return undefined;
  const pb = asString(data.pb) ?? asString(asObject(data.data)?.pb);
  if (pb === null || pb.length > MAX_PB_BASE64_LENGTH) return undefined;
  return new ProtoMessage(Uint8Array.fromBase64(pb));
}

/** A field read as text whether it was sent as a string or a varint; null when absent. */
export function protoText(message: ProtoMessage, field: number): string | null {
  const wire = message.wireOf(field);
  if (wire < 0) return null;
  if (wire === WireType.len) {
    const text = message.string(field);
    return text === "" ? null : text;
  }
  return wire === WireType.fixed32 ? String(message.number(field)) : String(message.bigint(field));
}

/** The first `max` occurrences of a repeated nested message, decoded; later ones are skipped. */
export function protoMessages(message: ProtoMessage, field: number, max: number): ProtoMessage[] {
  return message.messages(field, max);
}
