/**
 * `export` and `stats` read PostgreSQL as they read SQLite: the same events written into a
 * SQLite file and into a real PostgreSQL database give byte-identical exports in every format
 * and kind (with --since/--until/--room/--hash-uids) and the same stats table, JSON and HTML.
 * A database that is not ours is refused with one line naming it without its password.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { DatabaseSync } from "node:sqlite";
import { runExport } from "../src/cli/export_command.ts";
import { runStats } from "../src/cli/stats_command.ts";
import type { CollectedEvent } from "../src/normalize/events.ts";
import { numberPlaceholders, pgInteger, pgNumeric, PgReader } from "../src/storage/pg_reader.ts";
import { openPgSchema } from "../src/storage/pg_schema.ts";
import { PgStore } from "../src/storage/pg_store.ts";
import { openReadStore, type ReadStore } from "../src/storage/read_store.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { describeDatabase } from "../src/storage/database_url.ts";
import { LineWriter } from "../src/util/line_writer.ts";
import { fieldLogger } from "../src/util/log.ts";
import { danmaku, fixtureEvents, ROOM_A, ROOM_B, T0 } from "./support/export_fixture.ts";
import { type TestDatabase, testDatabase, withoutPostgres } from "./support/postgres.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MIN = 60_000;
const SALT = "s3cret-salt";
const ROOM_C = 3003;
const NO_LOG = fieldLogger(() => {});

/** Room C's texts and how many danmaku say each. */
const ROOM_C_TEXTS: readonly [string, number][] = [
  ["\uE000", 2],
  ["😀", 2],
  ["Ｈｅｌｌｏ  World", 2],
  ["hello world", 1],
  ["哈哈哈哈哈哈", 1],
  ["哈哈哈", 2],
  ["B", 1],
  ["b", 1],
  ["z", 1],
];

/**
 * Room C's top phrases: variants merged; equal counts in code point order, where U+E000 comes
 * before an emoji (UTF-16 units would put the emoji first).
 */
const ROOM_C_PHRASES = [
  { phrase: "hello world", count: 3 },
  { phrase: "哈哈哈", count: 3 },
  { phrase: "b", count: 2 },
  { phrase: "\uE000", count: 2 },
  { phrase: "😀", count: 2 },
  { phrase: "z", count: 1 },
];

/**
 * Room C: phrases whose ties only code point order settles (ROOM_C_PHRASES), senders whose
 * name changed (the latest one counts), two masked senders with equal counts whose hashes sort
 * differently by bytes ("B…" first) than by a linguistic collation, fractional prices.
 */
function roomCEvents(): CollectedEvent[] {
  const events: CollectedEvent[] = [];
  let n = 0;
  for (const [text, count] of ROOM_C_TEXTS) {
    for (let k = 0; k < count; k++) {
      const ts = T0 + 3 * MIN + n * 7000;
      events.push(danmaku({
        roomId: ROOM_C,
        tsMs: ts,
        receivedAtMs: ts + 150,
        msgId: `c${n}`,
        text,
        uid: n < 4 ? 0 : 100 + (n % 3),
        uname: `viewer ${n}`,
        userHash: n % 2 === 0 ? "Bdead001" : "adead002",
      }));
      n++;
    }
  }
  for (const [i, price] of [0.1, 0.2, 1 / 3, 29.99].entries()) {
    events.push({
      type: "superChat",
      roomId: ROOM_C,
      receivedAtMs: T0 + (10 + i) * MIN,
      cmd: "SUPER_CHAT_MESSAGE",
      scId: 900 + i,
      uid: 100 + i,
      uname: `sc ${i}`,
      message: `msg ${i}`,
      messageJpn: null,
      priceCny: price,
      durationS: 60,
      startTimeMs: T0 + (10 + i) * MIN,
      endTimeMs: T0 + (11 + i) * MIN,
      userLevel: 3,
      guardLevel: 0,
      medalName: null,
      medalLevel: null,
      medalAnchorUname: null,
      medalAnchorRoomId: null,
      medalAnchorUid: null,
    } as CollectedEvent);
  }
  // Twins and upserts in one batch: SEND_GIFT then SEND_GIFT_V2 of one tid, a session opened
  // and then closed, a room seen twice.
  const gift = fixtureEvents().find((e) => e.type === "gift")!;
  const at = { roomId: ROOM_C, tsMs: T0 + 20 * MIN, receivedAtMs: T0 + 20 * MIN };
  events.push(
    { ...gift, ...at, tid: "c-t1", cmd: "SEND_GIFT", coinType: "gold", priceCny: 9.9 },
    { ...gift, ...at, tid: "c-t1", cmd: "SEND_GIFT_V2", coinType: "gold", priceCny: 9.9 },
  );
  const session = fixtureEvents().find((e) => e.type === "session")!;
  const span = { roomId: ROOM_C, sessionId: "c1", startedAtMs: T0, receivedAtMs: T0 };
  events.push(
    { ...session, ...span, endedAtMs: null, reason: null, messages: 0 } as CollectedEvent,
  );
  events.push(
    {
      ...session,
      ...span,
      endedAtMs: T0 + 30 * MIN,
      reason: "closed",
      messages: 9,
    } as CollectedEvent,
  );
  const room = fixtureEvents().find((e) => e.type === "room")!;
  events.push(
    {
      ...room,
      roomId: ROOM_C,
      uname: "old name",
      seenAtMs: T0,
      receivedAtMs: T0,
    } as CollectedEvent,
    { ...room, roomId: ROOM_C, uname: "主播C", title: null, seenAtMs: T0 + MIN } as CollectedEvent,
  );
  return events;
}

/** Every event of the twin databases. */
function twinEvents(): CollectedEvent[] {
  return [...fixtureEvents(), ...roomCEvents()];
}

/** The same events in a SQLite file (named like the PostgreSQL database) and in PostgreSQL. */
interface Twins {
  sqlite: string;
  pg: TestDatabase;
  dir: string;
}

/**
 * Writes `events` into a new SQLite file and a new PostgreSQL database, runs `edit` (SQL that
 * both engines run alike) on both, then `fn`.
 */
async function withTwins(
  fn: (twins: Twins) => Promise<void>,
  options: { events?: CollectedEvent[]; edit?: string[]; pgEdit?: string[] } = {},
): Promise<void> {
  await using pg = await testDatabase();
  const dir = await Deno.makeTempDir({ prefix: "danmaku_pg_read_" });
  try {
    // Named like the database: the HTML report names its source by that name.
    const sqlite = `${dir}/${pg.name}`;
    const events = options.events ?? twinEvents();
    {
      using store = SqliteStore.open(sqlite);
      store.write(events);
    }
    {
      await using store = await PgStore.open(pg.url);
      await store.write(events);
    }
    using raw = new DatabaseSync(sqlite);
    for (const statement of options.edit ?? []) raw.exec(statement);
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      for (const statement of [...options.edit ?? [], ...options.pgEdit ?? []]) {
        await sql.unsafe(statement);
      }
    } finally {
      await sql.end();
    }
    await fn({ sqlite, pg, dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs export in-process; returns the bytes written to stdout. */
async function exportBytes(args: string[]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await runExport(args, {
    stdout: {
      writeSync(bytes) {
        chunks.push(bytes.slice());
        return bytes.length;
      },
    },
    log: () => {},
  });
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/** Every file under `dir`, by name, with its bytes. */
async function filesIn(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(dir)) {
    out.set(entry.name, await Deno.readFile(`${dir}/${entry.name}`));
  }
  return out;
}

/** Asserts equal bytes, showing the first difference as text. */
function assertSameBytes(pg: Uint8Array, sqlite: Uint8Array, what: string): void {
  if (pg.length === sqlite.length && pg.every((b, i) => b === sqlite[i])) return;
  let at = 0;
  while (at < pg.length && pg[at] === sqlite[at]) at++;
  const around = (bytes: Uint8Array) =>
    new TextDecoder().decode(bytes.subarray(Math.max(0, at - 80), at + 80));
  assert.fail(
    `${what}: PostgreSQL wrote ${pg.length} bytes, SQLite ${sqlite.length}; first difference at byte ${at}:\n` +
      `postgres: ${JSON.stringify(around(pg))}\nsqlite:   ${JSON.stringify(around(sqlite))}`,
  );
}

const FILTERS: readonly string[][] = [
  [],
  ["--room", `${ROOM_A},${ROOM_C}`],
  ["--since", String(T0 + 30 * MIN), "--until", "2024-05-01T13:30:00Z"],
  ["--hash-uids", SALT],
  ["--room", String(ROOM_B), "--since", String(T0), "--hash-uids", SALT],
];

Deno.test({
  name:
    "export writes the same CSV, JSONL and Parquet bytes from PostgreSQL as from SQLite for every kind and filter",
  ignore: withoutPostgres,
}, async () => {
  // Uids beyond 2^53 (exact in JSONL and Parquet, hashed as integers) in both databases.
  const big = ["9007199254740993", "9223372036854775807", "-9007199254740993"];
  const edit = big.map((uid, i) =>
    `UPDATE danmaku SET uid = ${uid}, reply_to_uid = ${uid} WHERE msg_id = 'c${i + 4}'`
  );
  await withTwins(async ({ sqlite, pg, dir }) => {
    let files = 0;
    for (const format of ["csv", "jsonl", "parquet"]) {
      for (const [f, filter] of FILTERS.entries()) {
        const outs = { sqlite: `${dir}/s-${format}-${f}`, pg: `${dir}/p-${format}-${f}` };
        const bom = format === "csv" && f === 1 ? ["--bom"] : [];
        for (const [engine, db] of [["sqlite", sqlite], ["pg", pg.url]] as const) {
          await runExport(
            [
              "--db",
              db,
              "--format",
              format,
              "--kind",
              "all",
              "--out",
              outs[engine],
              ...bom,
              ...filter,
            ],
            { stdout: { writeSync: () => assert.fail("nothing goes to stdout") }, log: () => {} },
          );
        }
        const fromSqlite = await filesIn(outs.sqlite);
        const fromPg = await filesIn(outs.pg);
        assert.deepEqual([...fromPg.keys()].sort(), [...fromSqlite.keys()].sort());
        for (const [name, bytes] of fromSqlite) {
          assertSameBytes(fromPg.get(name)!, bytes, `${format} ${name} ${filter.join(" ")}`);
          files++;
        }
      }
    }
    assert.ok(files >= 3 * FILTERS.length * 10, `${files} files compared`);
    const jsonl = new TextDecoder().decode(
      await exportBytes(["--db", pg.url, "--format", "jsonl", "--room", String(ROOM_C)]),
    );
    for (const uid of big) assert.match(jsonl, new RegExp(`"uid":${uid},`), "exact big uids");
  }, { edit });
});

Deno.test({
  name: "export writes the same 录播姬 XML from PostgreSQL as from SQLite, and the same refusal",
  ignore: withoutPostgres,
}, async () => {
  await withTwins(async ({ sqlite, pg }) => {
    const cases = [
      ["--room", String(ROOM_A)],
      ["--room", String(ROOM_A), "--since", String(T0 + 20 * MIN), "--hash-uids", SALT],
      ["--room", String(ROOM_C), "--kind", "super_chats"],
      ["--room", String(ROOM_B), "--until", String(T0 + 6000)],
      ["--since", String(T0 + 65 * MIN), "--until", String(T0 + 66 * MIN)],
    ];
    for (const args of cases) {
      const fromSqlite = await exportBytes(["--db", sqlite, "--format", "xml", ...args]);
      const fromPg = await exportBytes(["--db", pg.url, "--format", "xml", ...args]);
      assert.ok(fromSqlite.length > 200, `xml ${args.join(" ")} has rows`);
      assertSameBytes(fromPg, fromSqlite, `xml ${args.join(" ")}`);
    }
    const refusal = async (db: string) => {
      const error = await exportBytes(["--db", db, "--format", "xml"]).then(
        () => assert.fail("several rooms cannot go into one XML document"),
        (e: Error) => e,
      );
      return error.message;
    };
    assert.equal(await refusal(pg.url), await refusal(sqlite));
  });
});

/** What `stats` prints (or writes with --html) for `db`. */
async function statsOutput(db: string, args: string[], dir: string): Promise<string> {
  const chunks: string[] = [];
  const stdout = new LineWriter({
    writeSync(bytes) {
      chunks.push(new TextDecoder().decode(bytes));
      return bytes.length;
    },
  });
  const html = args.includes("--html") ? `${dir}/report.html` : undefined;
  const flags = args.flatMap((arg) => arg === "--html" ? [arg, html!] : [arg]);
  await runStats(["--db", db, ...flags], {
    stdout,
    log: () => {},
    nowMs: () => T0 + 1000 * MIN,
  });
  return html ? await Deno.readTextFile(html) : chunks.join("");
}

Deno.test({
  name: "stats and export of a database with no rows yet say so, from PostgreSQL as from SQLite",
  ignore: withoutPostgres,
}, async () => {
  // No rows: the room list is empty, which PostgreSQL, unlike SQLite, refuses as `IN ()`.
  await withTwins(async ({ sqlite, pg, dir }) => {
    for (const args of [[], ["--format", "json"], ["--html"]]) {
      const fromSqlite = await statsOutput(sqlite, args, dir);
      assert.equal(await statsOutput(pg.url, args, dir), fromSqlite, `stats ${args.join(" ")}`);
    }
    assert.match(await statsOutput(pg.url, [], dir), /no rows match/);
    const csv = ["--format", "csv", "--kind", "danmaku"];
    assertSameBytes(
      await exportBytes(["--db", pg.url, ...csv]),
      await exportBytes(["--db", sqlite, ...csv]),
      "csv of an empty table",
    );
  }, { events: [] });
});

Deno.test({
  name: "stats prints the same table, JSON and HTML report from PostgreSQL as from SQLite",
  ignore: withoutPostgres,
}, async () => {
  await withTwins(async ({ sqlite, pg, dir }) => {
    const cases = [
      [],
      ["--format", "json"],
      ["--format", "json", "--include-lottery", "--top", "20"],
      ["--format", "json", "--room", `${ROOM_A},${ROOM_C}`, "--top", "3", "--min-gap", "1m"],
      ["--format", "json", "--since", String(T0 + 30 * MIN), "--until", String(T0 + 90 * MIN)],
      ["--room", String(ROOM_C), "--top", "4"],
      ["--html"],
      ["--html", "--include-lottery", "--since", "2024-05-01T12:20:00Z"],
    ];
    for (const args of cases) {
      const fromSqlite = await statsOutput(sqlite, args, dir);
      const fromPg = await statsOutput(pg.url, args, dir);
      assert.ok(fromSqlite.includes(String(ROOM_A)) || fromSqlite.includes(String(ROOM_C)));
      assert.equal(fromPg, fromSqlite, `stats ${args.join(" ")}`);
    }
    // The figures agree with what room C holds, not only with each other.
    const args = ["--format", "json", "--room", String(ROOM_C)];
    const c = JSON.parse(await statsOutput(pg.url, args, dir)).rooms[0];
    assert.deepEqual(c.topPhrases, ROOM_C_PHRASES);
    assert.deepEqual(c.topMaskedSenders, [
      { userHash: "Bdead001", uname: "viewer 2", count: 2 },
      { userHash: "adead002", uname: "viewer 3", count: 2 },
    ]);
    assert.deepEqual(c.topSenders[0], { uid: 100, uname: "viewer 12", count: 3 });
  }, {
    // A linguistic collation (as a database made with en_US.UTF-8 has) would put "adead…" first.
    pgEdit: [`ALTER TABLE danmaku ALTER COLUMN user_hash TYPE TEXT COLLATE "und-x-icu"`],
  });
});

Deno.test({
  name:
    "a PostgreSQL database that is empty, not ours or newer is refused in one line, exit 1 as a SQLite file is, without its password",
  ignore: withoutPostgres,
}, async () => {
  await using pg = await testDatabase();
  const run = async (args: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.ok(!out.includes(pg.password), "the password never shows");
    return { code, out };
  };
  const shown = describeDatabase(pg.url);
  const expectations: [string, string][] = [
    ["", `it is empty, not a danmaku database`],
    [
      "CREATE TABLE danmaku (id INT, note TEXT)",
      `it is not a danmaku database (no danmaku_meta table; 1 relation by our names such as table "danmaku")`,
    ],
    [
      "DROP TABLE danmaku",
      "", // filled below: ours, at a newer version
    ],
  ];
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    for (const [statement, words] of expectations) {
      if (statement === "DROP TABLE danmaku") {
        await sql.unsafe(statement);
        await openPgSchema(sql, pg.url);
        await sql.unsafe(`UPDATE danmaku_meta SET value = '99' WHERE key = 'schema_version'`);
      } else if (statement !== "") {
        await sql.unsafe(statement);
      }
      const reason = words || "its schema version 99 is newer than version";
      for (const command of [["export", "--format", "csv"], ["stats"]]) {
        const { code, out } = await run([command[0], "--db", pg.url, ...command.slice(1)]);
        assert.equal(code, 1, out);
        assert.equal(out.split("\n").filter((l) => l !== "").length, 1, out);
        assert.ok(
          out.startsWith(`error: Cannot open database "${shown}": ${reason}`),
          `${command[0]}: ${out}`,
        );
      }
    }
    // Nothing was written: the foreign-looking database is as it was.
    const [meta] = await sql.unsafe(`SELECT value FROM danmaku_meta WHERE key = 'schema_version'`);
    assert.equal(meta.value, "99");
  } finally {
    await sql.end();
  }
  // A wrong password: one line naming the database, exit 1 (the server, not --db, said no).
  const wrong = pg.url.replace(/:([^:@/]*)@/, ":not-the-password@");
  const { code, out } = await run(["stats", "--db", wrong]);
  assert.equal(code, 1, out);
  assert.match(out, new RegExp(`^error: Cannot open database "${escape(shown)}": .*password`));
  assert.ok(!out.includes("not-the-password"));
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test({
  name: "both stores stream a large read in batches of the size asked, rows in order",
  ignore: withoutPostgres,
}, async () => {
  const events = Array.from(
    { length: 1300 },
    (_, i) => danmaku({ msgId: `m${i}`, tsMs: T0 + i, receivedAtMs: T0 + i + 5, text: `t${i}` }),
  );
  const query = "SELECT text FROM danmaku WHERE room_id = ? ORDER BY id";
  await withTwins(async ({ sqlite, pg }) => {
    const watcher = postgres(pg.url, { max: 1, onnotice: () => {} });
    // The reader's query as the server sees it: "active" while a cursor has rows left to send.
    const serverState = async () => {
      const rows = await watcher.unsafe(
        `SELECT state FROM pg_stat_activity WHERE datname = current_database()
          AND pid <> pg_backend_pid() AND query LIKE 'SELECT text FROM danmaku%'`,
      );
      return rows.map((row) => String(row.state));
    };
    try {
      for (const db of [sqlite, pg.url]) {
        await using store: ReadStore = await openReadStore(db, { log: NO_LOG });
        const sizes: number[] = [];
        const texts: string[] = [];
        const states: string[][] = [];
        for await (const batch of store.batches(query, [ROOM_A], { rows: 500 })) {
          sizes.push(batch.length);
          for (const row of batch) texts.push(String(row[0]));
          if (db === pg.url) states.push(await serverState());
        }
        assert.deepEqual(sizes, [500, 500, 300], db);
        assert.deepEqual(texts, events.map((e) => e.text));
        if (db === pg.url) {
          // Read through a cursor: the query is still running while the first batches are
          // handled (a query read whole would be done before the first batch is handed out).
          assert.deepEqual(states.slice(0, 2), [["active"], ["active"]]);
        }
      }
    } finally {
      await watcher.end();
    }
  }, { events });
});

Deno.test({
  name: "PgReader reads int8 as exact numbers, bigints beyond 2^53, and doubles as SQLite does",
  ignore: withoutPostgres,
}, async () => {
  await withTwins(async ({ sqlite, pg }) => {
    const sql = `SELECT count(*) AS n, sum(price_cny) AS cny, max(received_at_ms) AS last,
      9223372036854775807 AS big, sum(room_id) AS total, sum(price_cny) / 3 AS third
      FROM super_chats WHERE room_id = ?`;
    await using reader = await PgReader.open(pg.url);
    using store = SqliteStore.openExisting(sqlite, { readOnly: true });
    const [fromPg] = await reader.query(sql, [ROOM_C]);
    const [fromSqlite] = store.query(sql.replace("9223372036854775807", "0"), ROOM_C);
    assert.deepEqual({ ...fromPg, big: 0 }, { ...fromSqlite });
    assert.equal(fromPg.big, 9223372036854775807n);
    assert.equal(typeof fromPg.n, "number");
  });
});

Deno.test("pgInteger() and pgNumeric() give numbers when exact, bigints beyond 2^53", () => {
  assert.equal(pgInteger("42"), 42);
  assert.equal(pgInteger("-9007199254740991"), -9007199254740991);
  assert.equal(pgInteger("9007199254740993"), 9007199254740993n);
  assert.equal(pgNumeric("1714564800000"), 1714564800000);
  assert.equal(pgNumeric("0.30000000000000004"), 0.30000000000000004);
  assert.equal(pgNumeric("-9223372036854775808"), -9223372036854775808n);
});

Deno.test("numberPlaceholders() numbers each ? outside quotes", () => {
  assert.equal(
    numberPlaceholders(`SELECT '?', "a?" FROM t WHERE a IN (?, ?) AND b = '?''?' LIMIT ?`),
    `SELECT '?', "a?" FROM t WHERE a IN ($1, $2) AND b = '?''?' LIMIT $3`,
  );
});
