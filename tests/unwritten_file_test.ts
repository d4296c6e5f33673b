import assert from "node:assert/strict";
import { saveUnwritten } from "../src/collector/unwritten_file.ts";
import type { AudienceEvent, CollectedEvent } from "../src/normalize/events.ts";

const CHILD = new URL("./fixtures/save_unwritten_child.ts", import.meta.url).pathname;

function audience(value: number): AudienceEvent {
  return { type: "audience", roomId: 1, receivedAtMs: value, kind: "watched", value };
}

async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_unwritten_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function readJsonl(path: string): CollectedEvent[] {
  const text = Deno.readTextFileSync(path);
  assert.ok(text.endsWith("\n"), "the last line is complete");
  return text.trimEnd().split("\n").map((line) => JSON.parse(line));
}

/** Runs saveUnwritten in a child under `sh` (to set a file size limit) with TMPDIR = `tmp`. */
async function saveInChild(
  options: { dbPath: string; events: number; tmp: string; fileSizeLimitBlocks?: number },
): Promise<{ path: string | null; log: string[] }> {
  // An ignored SIGXFSZ stays ignored across exec: a write past the limit fails with EFBIG.
  const limit = options.fileSizeLimitBlocks === undefined
    ? ""
    : `trap '' XFSZ; ulimit -f ${options.fileSizeLimitBlocks}; `;
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      `${limit}exec "$0" run -A "$1" "$2" "$3" 1700000000000`,
      Deno.execPath(),
      CHILD,
      options.dbPath,
      String(options.events),
    ],
    env: { TMPDIR: options.tmp },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return {
    path: JSON.parse(new TextDecoder().decode(out.stdout)).path,
    log: stderr.trim().split("\n").filter((line) => line.startsWith("level=")),
  };
}

Deno.test("saveUnwritten() writes every event as one JSON line beside the database and says where", async () => {
  await withTempDir((dir) => {
    const events = Array.from({ length: 5000 }, (_, i) => audience(i));
    const log: string[] = [];
    const path = saveUnwritten(`${dir}/data.db`, events, 1234, (line) => log.push(line));
    assert.equal(path, `${dir}/data.db.unwritten-1234.jsonl`);
    assert.deepEqual(readJsonl(path), events);
    assert.deepEqual(log, [
      `level=error msg="Saved the events not written to the database as JSONL" events=5000 file=${path}`,
    ]);
  });
});

Deno.test("saveUnwritten() with no events writes no file and logs nothing", async () => {
  await withTempDir((dir) => {
    const log: string[] = [];
    assert.equal(saveUnwritten(`${dir}/data.db`, [], 1234, (line) => log.push(line)), undefined);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.deepEqual(log, []);
  });
});

Deno.test("saveUnwritten() never overwrites an earlier file of the same millisecond", async () => {
  await withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/data.db.unwritten-1234.jsonl`, "earlier\n");
    const path = saveUnwritten(`${dir}/data.db`, [audience(1)], 1234, () => {});
    assert.equal(path, `${dir}/data.db.unwritten-1234-1.jsonl`);
    assert.equal(Deno.readTextFileSync(`${dir}/data.db.unwritten-1234.jsonl`), "earlier\n");
    assert.deepEqual(readJsonl(path), [audience(1)]);
  });
});

Deno.test("saveUnwritten() falls back to the temp folder when the database's folder takes no file", async () => {
  await withTempDir(async (dir) => {
    const tmp = `${dir}/tmp`;
    Deno.mkdirSync(tmp);
    const { path, log } = await saveInChild({ dbPath: `${dir}/gone/data.db`, events: 10, tmp });
    assert.ok(path?.startsWith(`${tmp}/danmaku-unwritten-`), String(path));
    assert.equal(readJsonl(path!).length, 10);
    assert.equal(log.length, 2);
    assert.match(
      log[0],
      /^level=error msg="Cannot save unwritten events next to the database" file=.*\/gone\/data\.db\.unwritten-1700000000000\.jsonl detail="No such file/,
    );
    assert.match(log[1], /msg="Saved the events not written to the database as JSONL" events=10 /);
  });
});

Deno.test("saveUnwritten() removes a half-written file: when no place has room, no file is left anywhere", async () => {
  await withTempDir(async (dir) => {
    const tmp = `${dir}/tmp`;
    Deno.mkdirSync(tmp);
    // 20,000 lines (≈ 1.6 MB) against a limit of 100 blocks (50–100 KB): each write starts,
    // then fails part way.
    const { path, log } = await saveInChild({
      dbPath: `${dir}/data.db`,
      events: 20_000,
      tmp,
      fileSizeLimitBlocks: 100,
    });
    assert.equal(path, null);
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["tmp"]);
    assert.deepEqual([...Deno.readDirSync(tmp)], [], "no partial file in the temp folder");
    assert.equal(log.length, 3, log.join("\n"));
    assert.match(
      log[0],
      /msg="Cannot save unwritten events next to the database" .*File too large/,
    );
    assert.match(log[1], /msg="Cannot save unwritten events in the temp folder" .*File too large/);
    assert.equal(
      log[2],
      'level=error msg="Cannot save unwritten events anywhere: they are lost" events=20000',
    );
  });
});
