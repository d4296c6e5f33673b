/**
 * Schema upgrades: a database written by an earlier build (tests/fixtures/v1_database, schema
 * version 1; a version-2 one built from tests/fixtures/schema_v2.json) opens with this one, is
 * upgraded in place in one transaction, keeps every row and
 * exports what it exported before plus the new columns; a fresh database and an upgraded one
 * are the same schema; a failed upgrade changes nothing.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runExport } from "../src/cli/export_command.ts";
import { runCollector } from "../src/collector/collector.ts";
import { runStats } from "../src/cli/stats_command.ts";
import { EXPORT_KINDS } from "../src/export/export_tables.ts";
import { StorageError } from "../src/errors.ts";
import { SCHEMA_VERSION, TABLE_NAMES } from "../src/storage/schema.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { startSimulator } from "../src/simulator/simulator.ts";
import { systemClock } from "../src/util/clock.ts";
import { LineWriter } from "../src/util/line_writer.ts";
import { buildV1Database } from "./fixtures/v1_database/build.ts";
import { fastCollectConfig, liveRooms, waitFor } from "./support/collect_helpers.ts";
import { danmaku } from "./support/export_fixture.ts";
import { seededRandom } from "./support/samples.ts";

const V1_DIR = new URL("fixtures/v1_database/", import.meta.url);

/** The tables of schema version 1 and their rows in the fixture (from its INSERTs). */
function v1RowCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  const sql = Deno.readTextFileSync(new URL("rows.sql", V1_DIR));
  for (const match of sql.matchAll(/^INSERT INTO (\w+) VALUES/gm)) {
    counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  }
  return counts;
}

async function withV1Database(body: (path: string, dir: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_upgrade_" });
  try {
    const path = `${dir}/v1.db`;
    buildV1Database(path);
    await body(path, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Tables (columns with type, NOT NULL, default, key) and indexes (columns, unique, WHERE). */
function schemaShape(path: string) {
  using db = new DatabaseSync(path, { readOnly: true });
  const tables: Record<string, unknown> = {};
  const names = db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  ).all().map((row) => String(row.name));
  for (const name of names) {
    tables[name] = {
      columns: db.prepare(`PRAGMA table_xinfo(${name})`).all().map((c) => ({ ...c })),
      indexes: db.prepare(`PRAGMA index_list(${name})`).all()
        .map((index) => ({
          name: String(index.name),
          unique: index.unique,
          partial: index.partial,
          columns: db.prepare(`PRAGMA index_info(${String(index.name)})`).all()
            .map((c) => c.name),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  }
  const indexSql = db.prepare(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name",
  ).all().map((row) => ({ ...row }));
  const version = db.prepare("PRAGMA user_version").get()?.user_version;
  return { tables, indexSql, version };
}

/** The records of an RFC 4180 CSV text (CRLF records, quoted fields may hold anything). */
function csvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") (record.push(field), field = "");
    else if (c === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i++;
    } else field += c;
  }
  assert.equal(field + record.join(""), "", "the CSV ends with a complete record");
  return records;
}

Deno.test("an upgraded version-1 database has exactly the schema of a new database", async () => {
  await withV1Database((path, dir) => {
    SqliteStore.open(path).close();
    const fresh = `${dir}/fresh.db`;
    SqliteStore.open(fresh).close();
    const upgraded = schemaShape(path);
    assert.equal(upgraded.version, SCHEMA_VERSION);
    assert.deepEqual(upgraded, schemaShape(fresh));
    assert.deepEqual(Object.keys(upgraded.tables).sort(), [...TABLE_NAMES].sort());
  });
});

/** A version-2 database (the DDL of tests/fixtures/schema_v2.json) holding two danmaku rows. */
function buildV2Database(path: string): void {
  const schema = JSON.parse(
    Deno.readTextFileSync(new URL("fixtures/schema_v2.json", import.meta.url)),
  ) as { application_id: number; user_version: number; objects: { sql: string | null }[] };
  using db = new DatabaseSync(path);
  db.exec("BEGIN");
  for (const { sql } of schema.objects) if (sql !== null) db.exec(sql);
  const insert = db.prepare(
    `INSERT INTO danmaku (room_id, ts_ms, received_at_ms, cmd, msg_id, uid, uname, text, is_admin,
      guard_level, lottery_type) VALUES (1, ?, ?, 'DANMU_MSG', ?, 7, 'v2', 'hello', 0, 0, 1)`,
  );
  insert.run(1000, 1001, "m1");
  insert.run(2000, 2001, null);
  db.exec(`PRAGMA application_id = ${schema.application_id}`);
  db.exec(`PRAGMA user_version = ${schema.user_version}`);
  db.exec("COMMIT");
}

Deno.test("a version-2 database is upgraded to the current schema and keeps its rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_upgrade_" });
  try {
    const path = `${dir}/v2.db`;
    buildV2Database(path);
    {
      using store = SqliteStore.open(path);
      assert.deepEqual(store.upgrade, { from: 2, to: SCHEMA_VERSION });
      // The danmaku without msg_id written again under the new key: one more row, once.
      const again = danmaku({ msgId: null, tsMs: 3000, text: "new" });
      assert.equal(store.write([again, again]).danmaku, 1);
    }
    SqliteStore.open(`${dir}/fresh.db`).close();
    assert.deepEqual(schemaShape(path), schemaShape(`${dir}/fresh.db`));
    using db = new DatabaseSync(path, { readOnly: true });
    assert.deepEqual(
      db.prepare(
        "SELECT msg_id, lottery_type, dedup_key IS NULL AS unkeyed FROM danmaku ORDER BY id",
      )
        .all().map((row) => ({ ...row })),
      [
        { msg_id: "m1", lottery_type: 1, unkeyed: 1 },
        { msg_id: null, lottery_type: 1, unkeyed: 1 },
        { msg_id: null, lottery_type: 0, unkeyed: 0 },
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export upgrades a version-1 database in place and writes the rows the earlier build wrote, plus the new columns", async () => {
  await withV1Database(async (path, dir) => {
    const logs: string[] = [];
    const files = await runExport(
      ["--db", path, "--kind", "all", "--format", "csv", "--out", `${dir}/out`],
      { stdout: { writeSync: (bytes) => bytes.length }, log: (line) => logs.push(line) },
    );
    assert.equal(files.length, EXPORT_KINDS.length);
    assert.match(
      logs[0],
      new RegExp(
        `^level=info msg="upgraded the database schema" db=\\S+ from=1 to=${SCHEMA_VERSION}`,
      ),
    );
    const earlier = [...Deno.readDirSync(new URL("export_v1/", V1_DIR))].map((e) => e.name);
    assert.ok(earlier.length >= 7);
    for (const kind of EXPORT_KINDS) {
      const now = csvRecords(Deno.readTextFileSync(`${dir}/out/${kind}.csv`));
      if (!earlier.includes(`${kind}.csv`)) {
        assert.equal(now.length, 1, `${kind} is new: a header and no rows`);
        continue;
      }
      const before = csvRecords(Deno.readTextFileSync(new URL(`export_v1/${kind}.csv`, V1_DIR)));
      assert.ok(before.length > 1, kind);
      assert.equal(now.length, before.length, kind);
      // Columns are only ever appended: each record is the earlier one plus the new fields.
      const added = now[0].slice(before[0].length);
      if (kind === "danmaku") assert.deepEqual(added, ["lottery_type", "dedup_key"]);
      else assert.deepEqual(added, [], kind);
      // What older rows read in the new columns: lottery_type's default, dedup_key NULL.
      const filled = added.map((name) => name === "dedup_key" ? "" : "0");
      for (let i = 0; i < now.length; i++) {
        assert.deepEqual(now[i].slice(0, before[i].length), before[i], `${kind} record ${i}`);
        if (i > 0) assert.deepEqual(now[i].slice(before[i].length), filled);
      }
    }
    using store = SqliteStore.open(path, { readOnly: true });
    assert.equal(store.upgrade, undefined, "the second open finds nothing to upgrade");
    const counts = store.countRows() as Record<string, number>;
    for (const [table, rows] of v1RowCounts()) assert.equal(counts[table], rows, table);
  });
});

Deno.test("collect keeps writing into an upgraded version-1 database, new columns included", async () => {
  await withV1Database((path) => {
    const before = v1RowCounts().get("danmaku")!;
    {
      using store = SqliteStore.open(path);
      assert.deepEqual(store.upgrade, { from: 1, to: SCHEMA_VERSION });
      store.write([danmaku({ msgId: "after-upgrade", lotteryType: 2, text: "冲冲冲" })]);
    }
    using db = new DatabaseSync(path, { readOnly: true });
    assert.deepEqual(
      { ...db.prepare("SELECT count(*) AS n, sum(lottery_type = 0) AS typed FROM danmaku").get() },
      { n: before + 1, typed: before },
    );
    assert.equal(
      db.prepare("SELECT lottery_type FROM danmaku WHERE msg_id = 'after-upgrade'").get()
        ?.lottery_type,
      2,
    );
  });
});

Deno.test("a failed upgrade says so in one line and leaves the version-1 database as it was", async () => {
  await withV1Database((path) => {
    {
      // A table of a later version already there (someone's own, by that name): CREATE fails
      // after the ALTER of danmaku has run, so only a whole-transaction rollback undoes it.
      using db = new DatabaseSync(path);
      db.exec("CREATE TABLE rank_changes (x)");
    }
    const before = Deno.readFileSync(path);
    for (const readOnly of [false, true]) {
      assert.throws(() => SqliteStore.open(path, { readOnly }), (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.match(
          error.message,
          new RegExp(
            `^Cannot upgrade database "${path}" from schema version 1 to ${SCHEMA_VERSION} \\(nothing was changed\\): .*already exists`,
          ),
        );
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    }
    assert.deepEqual(Deno.readFileSync(path), before);
    using db = new DatabaseSync(path, { readOnly: true });
    assert.equal(db.prepare("PRAGMA user_version").get()?.user_version, 1);
    const columns = db.prepare("PRAGMA table_info(danmaku)").all().map((c) => c.name);
    assert.ok(!columns.includes("lottery_type"));
  });
});

Deno.test("stats upgrades a version-1 database and says so in one log line", async () => {
  await withV1Database(async (path) => {
    const logs: string[] = [];
    const lines: string[] = [];
    const decoder = new TextDecoder();
    const report = await runStats(["--db", path, "--format", "json"], {
      stdout: new LineWriter({
        writeSync: (bytes) => (lines.push(decoder.decode(bytes)), bytes.length),
      }),
      log: (line) => logs.push(line),
    });
    assert.deepEqual(logs, [
      `level=info msg="upgraded the database schema" db=${path} from=1 to=${SCHEMA_VERSION}`,
    ]);
    assert.equal(report.rooms.reduce((sum, room) => sum + room.counts.danmaku, 0), 118);
    assert.equal(JSON.parse(lines.join("")).rooms.length, report.rooms.length);
  });
});

Deno.test("collect upgrades a version-1 database, says so once, and adds to its rows", async () => {
  await withV1Database(async (path) => {
    const logs: string[] = [];
    await using sim = await startSimulator({
      rooms: 2,
      seed: 12,
      rate: 100,
      messagesPerRoom: 40,
      log: () => {},
    });
    const rooms = liveRooms(sim);
    const stop = new AbortController();
    const run = runCollector(
      fastCollectConfig(path, sim.api),
      { clock: systemClock, random: seededRandom(1), log: (line) => logs.push(line), rooms },
      stop.signal,
    );
    await waitFor(() => rooms.every((id) => sim.remaining(id) === 0), "the rooms' messages");
    stop.abort();
    await run;
    assert.deepEqual(logs.filter((line) => line.includes("upgraded")), [
      `level=info msg="upgraded the database schema" db=${path} from=1 to=${SCHEMA_VERSION}`,
    ]);
    using db = new DatabaseSync(path, { readOnly: true });
    const danmakuRows = Number(db.prepare("SELECT count(*) AS n FROM danmaku").get()?.n);
    assert.ok(danmakuRows > v1RowCounts().get("danmaku")!, "new danmaku were added");
  });
});
