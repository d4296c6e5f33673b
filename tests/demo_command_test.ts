import assert from "node:assert/strict";
import { TABLE_NAMES } from "../src/storage/schema.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("main.ts demo collects from the simulator and lists every table's rows in one aligned column", async () => {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_demo_" });
  try {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "demo", "--rooms", "3", "--duration", "2s", "--db", `${dir}/d.db`],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(code, 0);
    const lines = new TextDecoder().decode(stdout).split("\n");
    const start = lines.findIndex((line) => line.startsWith("Rows per table in "));
    assert.ok(start >= 0);
    const rows = lines.slice(start + 1, start + 1 + TABLE_NAMES.length);
    assert.deepEqual(rows.map((line) => line.trim().split(/\s+/)[0]), [...TABLE_NAMES]);
    // The counts end in one column whatever the table name's length, within 80 columns.
    assert.equal(new Set(rows.map((line) => line.length)).size, 1, rows.join("\n"));
    assert.ok(rows[0].length <= 80);
    assert.ok(Number(rows[0].trim().split(/\s+/)[1]) > 0, "danmaku were stored");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts demo refuses a postgres:// --db in one line, exit 2, without the password", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "demo", "--db", "postgres://u:Demo-Secret-9@127.0.0.1:1/x"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 2, err);
  assert.equal(new TextDecoder().decode(stdout), "");
  assert.equal(
    err,
    'error: Cannot run the demo into "postgres://u@127.0.0.1:1/x": it shows a SQLite file; for PostgreSQL run deno task cluster-demo\n',
  );
});
