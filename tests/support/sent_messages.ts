/** Simulator messages rendered as the collector receives them, for the soak reconcile tests. */
import type { CollectedEvent } from "../../src/normalize/events.ts";
import { normalizeMessage } from "../../src/normalize/normalize_message.ts";
import { BodyWriter } from "../../src/simulator/body_writer.ts";
import type { MessageFactory, SimMessage } from "../../src/simulator/message_factory.ts";
import { truthPrefix } from "../../src/simulator/truth_log.ts";
import type { SimRoom } from "../../src/simulator/world.ts";

/** One message the simulator sent to a room, with its JSON text. */
export interface Sent {
  roomId: number;
  message: SimMessage;
  text: string;
}

const body = new BodyWriter();
const decoder = new TextDecoder();

/** The messages `factory` makes for `room` at `now`, rendered. */
export function nextSent(factory: MessageFactory, room: SimRoom, now: number): Sent[] {
  return factory.next(room, now).map((message) => {
    body.length = 0;
    message.write(body, true);
    return {
      roomId: room.roomId,
      message,
      text: decoder.decode(body.bytes.subarray(0, body.length)),
    };
  });
}

/** The truth line the simulator logs for `sent` on connection `conn`. */
export const truthLine = (sent: Sent, conn = 1) =>
  `${truthPrefix(sent.roomId, sent.message.cmd, sent.message.id)}${conn}}`;

/** What the collector makes of a received message: its rows, including the raw one. */
export function received(sent: Sent): CollectedEvent[] {
  const out: CollectedEvent[] = [];
  normalizeMessage(
    JSON.parse(sent.text),
    sent.text,
    { roomId: sent.roomId, receivedAtMs: 1, keepRaw: true },
    out,
  );
  return out;
}
