/**
 * `main.ts decode FILE|-`: decodes a capture (server packets concatenated as they arrive on
 * a TCP stream) to NDJSON on stdout, one line per innermost message.
 */
import { ConfigError } from "../errors.ts";
import { readPackets } from "../protocol/frame_reader.ts";
import { decodePacket, type ServerMessage } from "../protocol/packet_decoder.ts";
import { Op } from "../protocol/packet.ts";
import { type CommandSpec, parseCommandArgs } from "../util/flags.ts";
import type { LineWriter } from "../util/line_writer.ts";

/** The decode command: usage and help (it has no flags, one operand). */
export const DECODE_COMMAND: CommandSpec<Record<never, never>> = {
  name: "decode",
  usage: ["main.ts decode FILE|-", "deno task decode FILE|-"],
  summary: "decode a packet capture to NDJSON",
  description: `Decodes a capture of Bilibili danmaku server packets (as concatenated on a TCP
stream) and prints one JSON line per message to stdout:
  {"op":5,"ver":0,"seq":0,"body":{...}}   business message (JSON kept verbatim)
  {"op":3,"ver":1,"seq":0,"body":1}       heartbeat reply (popularity count)
  {"op":8,"ver":1,"seq":1,"body":{"code":0}}  auth reply
FILE "-" reads stdin. Exit 1 on a malformed or truncated capture, after printing
everything decoded before the fault. An empty capture prints nothing, says so on
stderr and exits 0.`,
  flags: {},
  operands: { name: "one FILE (or - for stdin)", min: 1, max: 1 },
};

const utf8 = new TextDecoder();

/** Renders one decoded message as an NDJSON line (without the newline). */
export function messageToJsonLine(message: ServerMessage): string {
  switch (message.kind) {
    case "message":
      return `{"op":${Op.message},"ver":${message.ver},"seq":${message.seq},"body":${
        oneLine(message.text ?? JSON.stringify(message.body))
      }}`;
    case "authReply":
      return `{"op":${Op.authReply},"ver":${message.ver},"seq":${message.seq},"body":${
        oneLine(message.text)
      }}`;
    case "heartbeatReply":
      return `{"op":${Op.heartbeatReply},"ver":${message.ver},"seq":${message.seq},"body":${message.popularity}}`;
    case "other": {
      const text = utf8.decode(message.body);
      let body: string;
      try {
        JSON.parse(text);
        body = oneLine(text);
      } catch {
        body = JSON.stringify(text);
      }
      return `{"op":${message.op},"ver":${message.ver},"seq":${message.seq},"body":${body}}`;
    }
  }
}

/** Valid JSON has newlines only as whitespace between tokens, so they can become spaces. */
function oneLine(jsonText: string): string {
  return jsonText.includes("\n") || jsonText.includes("\r")
    ? jsonText.replace(/[\r\n]/g, " ")
    : jsonText;
}

/** What the decode command reports back to `main.ts`. */
export interface DecodeResult {
  messages: number;
  bytesSkipped: number;
}

/** Runs the decode command; throws ConfigError for bad arguments, ProtocolError for bad input. */
export async function runDecode(
  args: string[],
  io: { stdout: LineWriter; log: (line: string) => void },
): Promise<DecodeResult> {
  const [path] = parseCommandArgs(DECODE_COMMAND, args).operands;
  const file = path === "-" ? undefined : await openCapture(path);
  const input = file ?? Deno.stdin;
  let bytesRead = 0;
  const source = {
    read: async (buffer: Uint8Array) => {
      const n = await input.read(buffer);
      bytesRead += n ?? 0;
      return n;
    },
  };
  const result: DecodeResult = { messages: 0, bytesSkipped: 0 };
  const emit = (message: ServerMessage) => {
    io.stdout.writeLine(messageToJsonLine(message));
    result.messages++;
  };
  try {
    await readPackets(source, (packet, offset) => decodePacket(packet, emit, offset), {
      bufferSize: 64 * 1024,
      onHeartbeatEcho: (bytes, offset) => {
        result.bytesSkipped = bytes.length;
        io.log(
          `Skipped ${bytes.length} bytes at byte ${offset} after a heartbeat reply: Bilibili echoes the heartbeat body there (docs/protocol.md §1.6)`,
        );
      },
    });
  } finally {
    io.stdout.flush();
    file?.close();
  }
  if (bytesRead === 0) {
    io.log(`warning: ${path === "-" ? "stdin" : `"${path}"`} is empty: no packets to decode`);
  }
  return result;
}

/** Opens a capture file; a missing file, a directory or no permission is a ConfigError. */
async function openCapture(path: string): Promise<Deno.FsFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new ConfigError(`Cannot open capture "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  if ((await file.stat()).isDirectory) {
    file.close();
    throw new ConfigError(`Cannot read capture "${path}": it is a directory, not a file`);
  }
  return file;
}
