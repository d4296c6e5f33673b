/**
 * PgStore against a real PostgreSQL (tests/support/postgres.ts): the rows it stores equal
 * SqliteStore's for the same batches, table by table; replays, two nodes with overlapping
 * batches and Bilibili's twin messages in one batch give each row once; foreign databases,
 * wrong passwords and a stopped server each give one line; schema creation happens once.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { StorageError } from "../src/errors.ts";
import type { CollectedEvent, SessionEvent } from "../src/normalize/events.ts";
import { type NormalizeContext, normalizeMessage } from "../src/normalize/normalize_message.ts";
import { ProtoWriter } from "../src/protocol/protobuf.ts";
import { pgConnect } from "../src/storage/pg_connect.ts";
import { openPgSchema, pgOnConflict, readPgSchemaState } from "../src/storage/pg_schema.ts";
import { PgStore, type PgWriteMethod } from "../src/storage/pg_store.ts";
import { ROW_SPECS, type RowSpec, storedByEveryHolder } from "../src/storage/rows.ts";
import { SCHEMA_VERSION, TABLE_NAMES } from "../src/storage/schema.ts";
import { SqliteStore, type WriteCounts } from "../src/storage/sqlite_store.ts";
import { simulatedEvents } from "../scripts/postgres/measure_write_path.ts";
import { privateCluster, testDatabase, withoutPostgres } from "./support/postgres.ts";
import { SAMPLES_DIR } from "./support/samples.ts";

const ROOM = 6154037;
const AT = 1_677_069_040_000;
const SPECS: readonly RowSpec<never>[] = Object.values(ROW_SPECS);

function sampleText(name: string): string {
  return Deno.readTextFileSync(new URL(`json/${name}.json`, SAMPLES_DIR));
}

function normalizeBody(body: unknown, overrides: Partial<NormalizeContext> = {}) {
  const text = JSON.stringify(body);
  const out: CollectedEvent[] = [];
  normalizeMessage(JSON.parse(text), text, {
    roomId: ROOM,
    receivedAtMs: AT,
    keepRaw: false,
    ...overrides,
  }, out);
  return out;
}

/** Every protocol sample, normalized (raw rows kept), plus a session opened and ended. */
function sampleEvents(): CollectedEvent[] {
  const events = [...Deno.readDirSync(new URL("json/", SAMPLES_DIR))]
    .map((e) => e.name.replace(/\.json$/, ""))
    .sort()
    .flatMap((name) => normalizeBody(JSON.parse(sampleText(name)), { keepRaw: true }));
  const session: SessionEvent = {
    type: "session",
    roomId: ROOM,
    receivedAtMs: AT,
    sessionId: "s-1",
    host: "zj-cn-live-comet.chat.bilibili.com",
    transport: "tcp",
    startedAtMs: AT,
    endedAtMs: null,
    reason: null,
    messages: 0,
  };
  return [...events, session, { ...session, endedAtMs: AT + 9000, reason: "stop", messages: 7 }];
}

/** SEND_GIFT_V2 + SEND_GIFT of one tid, SC + SC_JPN, GUARD_BUY + USER_TOAST_MSG (+ _V2 twice). */
function twinEvents(): CollectedEvent[] {
  const gift = JSON.parse(sampleText("send_gift_2023"));
  const pb = new ProtoWriter()
    .varint(1, 510149209)
    .bytes(2, "12138额83121")
    .bytes(
      10,
      new ProtoWriter()
        .varint(1, 31036)
        .bytes(2, "小花花")
        .varint(3, 1)
        .varint(5, 100)
        .varint(7, 100)
        .bytes(8, "gold")
        .bytes(9, "1673622464121900003")
        .varint(10, 1673622464),
    )
    .finish();
  const giftV2 = { cmd: "SEND_GIFT_V2", data: { pb: pb.toBase64() } };
  const sc = JSON.parse(sampleText("super_chat_message_2023"));
  const jpn = {
    cmd: "SUPER_CHAT_MESSAGE_JPN",
    data: { ...sc.data, id: "6522809", uid: "294094150", message_jpn: "翻訳" },
    roomid: "6154037",
  };
  const buy = JSON.parse(sampleText("guard_buy_2023"));
  const toast = {
    cmd: "USER_TOAST_MSG",
    data: {
      uid: 14225357,
      username: "妙妙喵喵妙妙喵O_O",
      guard_level: 3,
      num: 1,
      price: 138000,
      unit: "月",
      role_name: "舰长",
      payflow_id: "2302222035103472131",
      start_time: 1677069316,
      end_time: 1677069316,
    },
  };
  const toastV2 = {
    cmd: "USER_TOAST_MSG_V2",
    data: {
      sender_uinfo: { uid: 14225357, base: { name: "妙妙喵喵妙妙喵O_O" } },
      guard_info: { guard_level: 3, start_time: 1677069316, end_time: 1677069316 },
      pay_info: { num: 1, price: 138000, unit: "月" },
      option: { source: 2 },
    },
  };
  return [
    ...normalizeBody(giftV2),
    ...normalizeBody(gift, { receivedAtMs: AT + 5 }),
    ...normalizeBody(sc),
    ...normalizeBody(jpn, { receivedAtMs: AT + 40 }),
    ...normalizeBody(buy),
    ...normalizeBody(toast, { receivedAtMs: AT + 7 }),
    ...normalizeBody(toastV2, { receivedAtMs: AT + 8 }),
    ...normalizeBody(toastV2, { receivedAtMs: AT + 9 }),
  ];
}

/**
 * `SELECT` of a table for comparing stores: every column but `id`, integers as text (exact past
 * 2^53 in both), reals as numbers, in `id` order (or by key for rooms and sessions).
 */
function tableQuery(spec: RowSpec<never>, dialect: "sqlite" | "pg"): string {
  const columns = spec.columns.map((c) =>
    c.sqlType === "INTEGER"
      ? `${dialect === "pg" ? `${c.name}::text` : `CAST(${c.name} AS TEXT)`} AS ${c.name}`
      : c.name
  );
  const key = spec.columns.find((c) => c.primaryKey)?.name ?? "id";
  return `SELECT ${columns.join(", ")} FROM ${spec.table} ORDER BY ${key}`;
}

type Rows = Record<string, Record<string, unknown>[]>;

function sqliteRows(store: SqliteStore): Rows {
  return Object.fromEntries(
    SPECS.map((spec) => [
      spec.table,
      store.query(tableQuery(spec, "sqlite")).map((row) => ({ ...row })),
    ]),
  );
}

async function pgRows(url: string): Promise<Rows> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const out: Rows = {};
    for (const spec of SPECS) {
      out[spec.table] = (await sql.unsafe(tableQuery(spec, "pg"))).map((row) => ({ ...row }));
    }
    return out;
  } finally {
    await sql.end();
  }
}

/** Rows in a canonical order (for stores written concurrently, whose ids interleave). */
function sorted(rows: Rows): Rows {
  return Object.fromEntries(
    Object.entries(rows).map(([table, list]) => [
      table,
      list.map((row) => JSON.stringify(row)).sort().map((text) => JSON.parse(text)),
    ]),
  );
}

/** Writes `batches` into a new SQLite file and returns its rows and each write's counts. */
async function sqliteWrite(
  batches: readonly (readonly CollectedEvent[])[],
): Promise<{ rows: Rows; counts: WriteCounts[] }> {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_pg_" });
  try {
    using store = SqliteStore.open(`${dir}/same.db`);
    const counts = batches.map((batch) => store.write(batch));
    return { rows: sqliteRows(store), counts };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The rows SQLite stores for `batches`. */
async function sqliteRowsOf(batches: readonly (readonly CollectedEvent[])[]): Promise<Rows> {
  return (await sqliteWrite(batches)).rows;
}

/** `error` is a one-line StorageError of `reason` that never shows `password`. */
function assertOneLine(error: unknown, reason: string, password: string, pattern: RegExp) {
  assert.ok(error instanceof StorageError, String(error));
  assert.equal(error.reason, reason, error.message);
  assert.match(error.message, pattern);
  assert.doesNotMatch(error.message, /\n/);
  assert.ok(!error.message.includes(password), "the password is not in the message");
  assert.ok(!error.message.includes(encodeURIComponent(password)));
  return true;
}

for (const method of ["copy", "insert"] as const satisfies readonly PgWriteMethod[]) {
  Deno.test({
    name:
      `PgStore (${method}) stores the same rows as SqliteStore for the same batches, table by table`,
    ignore: withoutPostgres,
    async fn() {
      const events = [...sampleEvents(), ...twinEvents(), ...simulatedEvents(6000, method)];
      const batches = [events.slice(0, 2500), events.slice(2500, 4000), events.slice(4000)];
      const { rows: expected, counts: expectedCounts } = await sqliteWrite(batches);
      await using db = await testDatabase();
      {
        await using store = await PgStore.open(db.url, { method });
        for (const [i, batch] of batches.entries()) {
          assert.deepEqual(await store.write(batch), expectedCounts[i], `write ${i}`);
        }
        const counts = await store.countRows();
        for (const table of TABLE_NAMES) assert.equal(counts[table], expected[table].length, table);
      }
      const stored = await pgRows(db.url);
      for (const table of TABLE_NAMES) {
        assert.ok(expected[table].length > 0, `the batches fill ${table}`);
        assert.deepEqual(stored[table], expected[table], table);
      }
    },
  });
}

Deno.test({
  name:
    "PgStore stores each row once for a replayed batch and for two nodes writing overlapping batches",
  ignore: withoutPostgres,
  async fn() {
    // Rows every holder of a room stores: the keys must merge them.
    const events = [...sampleEvents(), ...twinEvents(), ...simulatedEvents(8000, "overlap")]
      .filter((e) => storedByEveryHolder(e.type));
    const expected = sorted(await sqliteRowsOf([events]));
    await using db = await testDatabase();
    {
      await using a = await PgStore.open(db.url);
      await using b = await PgStore.open(db.url, { method: "insert" });
      const cut = Math.floor(events.length * 0.4);
      const first = events.slice(0, Math.floor(events.length * 0.7));
      const second = events.slice(cut);
      await Promise.all([a.write(first), b.write(second)]);
      const replay = await a.write(first);
      assert.equal(replay.danmaku + replay.gifts + replay.super_chats + replay.guard_buys, 0);
      assert.equal(replay.lotteries + replay.super_chat_deletions, 0);
    }
    assert.deepEqual(sorted(await pgRows(db.url)), expected);
  },
});

Deno.test({
  name: "PgStore merges twin messages within one batch as SqliteStore's one-by-one upserts do",
  ignore: withoutPostgres,
  async fn() {
    const twins = twinEvents();
    // In one batch, reversed, and with the first half again: every order SQLite handles.
    const batches = [[...twins, ...twins.toReversed(), ...twins.slice(0, 4)]];
    const { rows: expected, counts: [expectedCounts] } = await sqliteWrite(batches);
    assert.equal(expected.gifts.length, 1);
    assert.equal(expected.super_chats.length, 1);
    assert.equal(expected.guard_buys.length, 1);
    await using db = await testDatabase();
    {
      await using store = await PgStore.open(db.url);
      assert.deepEqual(await store.write(batches[0]), expectedCounts);
    }
    const stored = await pgRows(db.url);
    for (const table of ["gifts", "super_chats", "guard_buys"]) {
      assert.deepEqual(stored[table], expected[table], table);
    }
    assert.equal(stored.guard_buys[0].cmd, "USER_TOAST_MSG", "priced as paid");
    assert.equal(stored.super_chats[0].message_jpn, "翻訳");
    assert.equal(stored.gifts[0].receiver_uid, "36047134");
  },
});

Deno.test({
  name: "PgStore.write() rolls the whole batch back when one event cannot be stored",
  ignore: withoutPostgres,
  async fn() {
    const events = simulatedEvents(3000, "atomic");
    const at = events.findIndex((e, i) => i > 2000 && e.type === "audience");
    const bad = events.with(at, { ...events[at], value: null } as unknown as CollectedEvent);
    await using db = await testDatabase();
    await using store = await PgStore.open(db.url);
    await assert.rejects(store.write(bad), (error: unknown) =>
      assertOneLine(
        error,
        "other",
        db.password,
        /^Cannot write 3000 events to "postgres:\/\/\S+": copy rows into audience: null value in column "value"/,
      ));
    assert.deepEqual(Object.values(await store.countRows()), TABLE_NAMES.map(() => 0));
    const counts = await store.write(events);
    assert.equal(counts.audience, events.filter((e) => e.type === "audience").length);
  },
});

Deno.test({
  name:
    "PgStore.open() refuses a database holding a foreign table named danmaku and leaves it as it was",
  ignore: withoutPostgres,
  async fn() {
    await using db = await testDatabase();
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe("CREATE TABLE danmaku (note TEXT); INSERT INTO danmaku VALUES ('mine')");
      for (const readOnly of [false, true]) {
        await assert.rejects(
          readOnly ? openPgSchema(sql, db.url, { readOnly }) : PgStore.open(db.url),
          (error: unknown) =>
            assertOneLine(
              error,
              "schema",
              db.password,
              new RegExp(
                `^Cannot open database "postgres://postgres@127\\.0\\.0\\.1:\\d+/${db.name}": it is not a danmaku database \\(no danmaku_meta table; 1 relation by our names such as table "danmaku"\\)${
                  readOnly ? "" : "; refusing to write into it"
                }$`,
              ),
            ),
        );
      }
      const relations = await sql.unsafe(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
      );
      assert.deepEqual(relations.map((r) => r.relname), ["danmaku"]);
      assert.deepEqual([...await sql.unsafe("SELECT note FROM danmaku")], [{ note: "mine" }]);
      await sql.unsafe("CREATE TABLE danmaku_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      await sql.unsafe("INSERT INTO danmaku_meta VALUES ('application', 'OTHR')");
      await assert.rejects(PgStore.open(db.url), (error: unknown) =>
        assertOneLine(
          error,
          "schema",
          db.password,
          /it is not a danmaku database \(danmaku_meta application is "OTHR"\); refusing/,
        ));
    } finally {
      await sql.end();
    }
  },
});

Deno.test({
  name:
    "PgStore.open() with a wrong password, no such database or no server says so in one line without the password",
  ignore: withoutPostgres,
  async fn() {
    await using db = await testDatabase();
    const wrong = new URL(db.url);
    wrong.password = "not-the-password-5150";
    await assert.rejects(PgStore.open(wrong.toString()), (error: unknown) => {
      assertOneLine(
        error,
        "auth",
        db.password,
        new RegExp(
          `^Cannot open database "postgres://postgres@127\\.0\\.0\\.1:\\d+/${db.name}": password authentication failed for user "postgres"$`,
        ),
      );
      assert.ok(!(error as Error).message.includes("not-the-password-5150"));
      return true;
    });
    const missing = new URL(db.url);
    missing.pathname = "/no_such_database_here";
    await assert.rejects(PgStore.open(missing.toString()), (error: unknown) =>
      assertOneLine(
        error,
        "missing",
        db.password,
        /^Cannot open database "postgres:\/\/postgres@\S+\/no_such_database_here": database "no_such_database_here" does not exist$/,
      ));
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const nobody = new URL(db.url);
    nobody.port = String(port);
    await assert.rejects(PgStore.open(nobody.toString()), (error: unknown) =>
      assertOneLine(
        error,
        "unreachable",
        db.password,
        new RegExp(
          `^Cannot open database "postgres://postgres@127\\.0\\.0\\.1:${port}/${db.name}": the server is unreachable \\(.*ECONNREFUSED.*\\)$`,
        ),
      ));
  },
});

Deno.test({
  name:
    "PgStore.write() while the server is stopped fails as unreachable, writes nothing, and the same batch goes in once it is back; after a restart the next write goes in",
  ignore: withoutPostgres,
  async fn() {
    await using cluster = await privateCluster();
    const url = await cluster.createDatabase("restart");
    const events = simulatedEvents(6000, "restart");
    const first = events.slice(0, 2000);
    const batch = events.slice(2000, 4000);
    const third = events.slice(4000);
    /** The flusher's retry: the same events until the server takes them ("unreachable" till then). */
    const writeUntilStored = async (events: CollectedEvent[]) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          return await store.write(events);
        } catch (error) {
          assert.ok(error instanceof StorageError && error.reason === "unreachable", String(error));
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    };
    await using store = await PgStore.open(url);
    await store.write(first);
    const before = await store.countRows();
    await cluster.stopServer();
    // More failed writes than the pool has connections: each of them is refused, none is left
    // half-open (which once hung the pool for good, also after the server came back).
    for (let attempt = 0; attempt < 3; attempt++) {
      await assert.rejects(store.write(batch), (error: unknown) =>
        assertOneLine(
          error,
          "unreachable",
          cluster.password,
          /^Cannot write 2000 events to "postgres:\/\/postgres@127\.0\.0\.1:\d+\/restart": .*the server is unreachable/,
        ));
    }
    await cluster.startServer();
    await writeUntilStored(batch);
    // pg_ctl restart terminates the pool's idle connections ("terminating connection due to
    // administrator command"); the next write reconnects.
    await cluster.restart();
    await writeUntilStored(third);
    const after = await store.countRows();
    const expected = await sqliteRowsOf([first, batch, third]);
    for (const table of TABLE_NAMES) {
      assert.equal(after[table], expected[table].length, table);
      assert.ok(after[table] >= before[table]);
    }
  },
});

Deno.test({
  name: "PgStore.open() by several nodes at once on an empty database creates the schema once",
  ignore: withoutPostgres,
  async fn() {
    await using db = await testDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open(db.url)));
    try {
      assert.deepEqual(stores.map((s) => s.upgrade), stores.map(() => undefined));
      const sql = pgConnect(db.url, { max: 1 });
      try {
        const state = await readPgSchemaState(sql);
        assert.equal(state.kind, "danmaku");
        assert.deepEqual(
          [...await sql.unsafe("SELECT key, value FROM danmaku_meta ORDER BY key")],
          [
            { key: "application", value: "BDMK" },
            { key: "schema_version", value: String(SCHEMA_VERSION) },
          ],
        );
      } finally {
        await sql.end();
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  },
});

for (const spec of SPECS.filter((s) => s.onConflict !== "")) {
  Deno.test({
    name: `pgOnConflict() gives PostgreSQL the upsert of ${spec.table}`,
    ignore: withoutPostgres,
    async fn() {
      const translated = pgOnConflict(spec.onConflict);
      assert.doesNotMatch(translated, /\b(min|max)\(/);
      assert.equal(
        translated.replace(/\bleast\(/g, "min(").replace(/\bgreatest\(/g, "max("),
        spec.onConflict,
      );
      await using db = await testDatabase();
      await (await PgStore.open(db.url)).close();
      const sql = pgConnect(db.url, { max: 1 });
      try {
        const columns = spec.columns.map((c) => c.name);
        // PostgreSQL resolves every name, target and type of the clause when it prepares it.
        await sql.unsafe(
          `PREPARE upsert AS INSERT INTO ${spec.table} (${columns.join(", ")}) VALUES (${
            columns.map((_, i) => `$${i + 1}`).join(", ")
          }) ${translated}`,
        );
      } finally {
        await sql.end();
      }
    },
  });
}
