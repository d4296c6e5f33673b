import assert from "node:assert/strict";
import { databaseTarget, describeDatabase, isPostgresUrl } from "../src/storage/database_url.ts";

Deno.test("postgres:// and postgresql:// URLs name PostgreSQL; anything else is a SQLite path", () => {
  assert.equal(isPostgresUrl("postgres://u@h/db"), true);
  assert.equal(isPostgresUrl("POSTGRESQL://u@h:5433/db"), true);
  assert.equal(isPostgresUrl("danmaku.db"), false);
  assert.equal(isPostgresUrl("./postgres/x.db"), false);
  assert.deepEqual(databaseTarget("x.db"), { kind: "sqlite", path: "x.db" });
  assert.deepEqual(databaseTarget("postgres://h/d"), { kind: "postgres", url: "postgres://h/d" });
});

Deno.test("a described URL keeps user, host, port and database but never the password", () => {
  const secret = "s3cr%40t-pw";
  const shown = describeDatabase(
    `postgresql://danmaku:${secret}@db.example:5433/archive?password=x&sslmode=require`,
  );
  assert.equal(shown, "postgres://danmaku@db.example:5433/archive");
  assert.ok(!shown.includes("s3cr"));
  assert.equal(describeDatabase("postgres://:pw@[not a url"), "postgres://(unparsable URL)");
  assert.equal(describeDatabase("data/danmaku.db"), "data/danmaku.db");
});
