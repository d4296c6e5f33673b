/**
 * `export` and `stats` only read: on a file that is not theirs, or a path whose directory does not
 * exist, each says so in one line naming the file or directory, and exits 1 (no stack trace, and
 * no talk of writing).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function runMain(args: string[]): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

for (const command of ["export", "stats"]) {
  Deno.test(`main.ts ${command} on another program's SQLite file says it is not a danmaku database and exits 1`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/invoices.db`;
      {
        using db = new DatabaseSync(path);
        db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
      }
      const before = await Deno.readFile(path);
      assert.deepEqual(await runMain([command, "--db", path]), {
        code: 1,
        stderr:
          `error: Cannot open database "${path}": it is not a danmaku database (application_id 0, user_version 0, 1 schema object such as table "invoices")\n`,
      });
      assert.deepEqual(await Deno.readFile(path), before, "the file is untouched");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`main.ts ${command} --db in a missing directory names the directory and exits 1`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/not-made/danmaku.db`;
      assert.deepEqual(await runMain([command, "--db", path]), {
        code: 1,
        stderr:
          `error: Cannot open database "${path}": the directory "${dir}/not-made" does not exist\n`,
      });
      assert.equal(await Deno.stat(`${dir}/not-made`).then(() => true, () => false), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
