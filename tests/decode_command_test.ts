import assert from "node:assert/strict";
import { brotliCompressSync, constants } from "node:zlib";
import { encodePacket, Op, Ver } from "../src/protocol/packet.ts";
import { concatBytes, readSampleBin, SAMPLES_DIR } from "./support/samples.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function runDecode(arg: string, stdin?: Uint8Array) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "decode", arg],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout);
  return {
    code,
    lines: text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line)),
    stderr: new TextDecoder().decode(stderr),
  };
}

async function withTempFile<T>(bytes: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile({ suffix: ".bin" });
  try {
    await Deno.writeFile(path, bytes);
    return await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("main.ts decode prints one NDJSON line per innermost message", async () => {
  const result = await runDecode(new URL("bin/zlib_multi_8msgs.bin", SAMPLES_DIR).pathname);
  assert.equal(result.code, 0);
  assert.equal(result.lines.length, 8);
  assert.deepEqual(result.lines[2], {
    op: 5,
    ver: 0,
    seq: 0,
    body: { cmd: "ONLINE_RANK_COUNT", data: { count: 44 } },
  });
  assert.equal(result.lines[3].body.info[1], "这是比赛，没必要让");
});

Deno.test("main.ts decode reads stdin and prints heartbeat and auth replies", async () => {
  const capture = concatBytes([
    readSampleBin("auth_reply_ver1"),
    readSampleBin("heartbeat_reply_ver0"),
  ]);
  const result = await runDecode("-", capture);
  assert.equal(result.code, 0);
  assert.deepEqual(result.lines, [
    { op: 8, ver: 1, seq: 1, body: { code: 0 } },
    { op: 3, ver: 0, seq: 0, body: 358069 },
  ]);
});

Deno.test("main.ts decode prints what came before a truncated tail, then fails naming the offset", async () => {
  const capture = concatBytes([
    readSampleBin("auth_reply_ver1"),
    readSampleBin("brotli_danmu_msg").subarray(0, 100),
  ]);
  const result = await withTempFile(capture, runDecode);
  assert.equal(result.code, 1);
  assert.deepEqual(result.lines, [{ op: 8, ver: 1, seq: 1, body: { code: 0 } }]);
  assert.equal(
    result.stderr.trim(),
    "error: Cannot decode packet at byte 26: the stream ended 100 bytes into a 289-byte packet",
  );
});

Deno.test("main.ts decode fails fast on a brotli bomb and a 2 GiB pack_len", async () => {
  const zeros = new Uint8Array(64 * 1024 * 1024);
  const bomb = encodePacket(
    Op.message,
    brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }),
    { ver: Ver.brotli, seq: 0 },
  );
  const result = await withTempFile(bomb, runDecode);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: Cannot decode brotli bundle at byte 0: it decompresses to more than 16777216 bytes\n$/,
  );

  const huge = new Uint8Array([0x80, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]);
  const second = await withTempFile(huge, runDecode);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /pack_len 2147483648 exceeds the maximum of 16777216/);
});

Deno.test("main.ts decode explains a missing file and a missing argument with exit code 2", async () => {
  const missing = await runDecode("/nonexistent/capture.bin");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: Cannot open capture "\/nonexistent\/capture.bin": /);
});
