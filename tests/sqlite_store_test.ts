import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { StorageError } from "../src/errors.ts";
import type { CollectedEvent, RoomEvent, SessionEvent } from "../src/normalize/events.ts";
import { type NormalizeContext, normalizeMessage } from "../src/normalize/normalize_message.ts";
import { ProtoWriter } from "../src/protocol/protobuf.ts";
import { APPLICATION_ID, SCHEMA_VERSION, schemaSql, TABLE_NAMES } from "../src/storage/schema.ts";
import {
  describeSqliteFailure,
  emptyWriteCounts,
  SqliteStore,
} from "../src/storage/sqlite_store.ts";
import { SAMPLES_DIR } from "./support/samples.ts";

const ROOM = 6154037;
const AT = 1_677_069_040_000;

async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "danmaku_store_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function sampleText(name: string): string {
  return Deno.readTextFileSync(new URL(`json/${name}.json`, SAMPLES_DIR));
}

function normalize(text: string, overrides: Partial<NormalizeContext> = {}): CollectedEvent[] {
  const out: CollectedEvent[] = [];
  normalizeMessage(JSON.parse(text), text, {
    roomId: ROOM,
    receivedAtMs: AT,
    keepRaw: false,
    ...overrides,
  }, out);
  return out;
}

function normalizeBody(body: unknown, overrides: Partial<NormalizeContext> = {}) {
  return normalize(JSON.stringify(body), overrides);
}

function allSampleEvents(): CollectedEvent[] {
  return [...Deno.readDirSync(new URL("json/", SAMPLES_DIR))]
    .map((e) => e.name.replace(/\.json$/, ""))
    .sort()
    .flatMap((name) => normalize(sampleText(name)));
}

function rows(store: SqliteStore, sql: string, ...params: (string | number)[]) {
  return store.query(sql, ...params).map((row) => ({ ...row }));
}

function session(overrides: Partial<SessionEvent> = {}): SessionEvent {
  return {
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
    ...overrides,
  };
}

function danmakuBatch(count: number): CollectedEvent[] {
  const [proto] = normalize(sampleText("danmu_msg_2024_emoticon_medal"));
  return Array.from({ length: count }, (_, i) => ({
    ...proto,
    receivedAtMs: AT + i,
    msgId: `id${i}`,
    text: `第${i}条`,
  } as CollectedEvent));
}

Deno.test("SqliteStore.open() creates the current schema version in WAL mode with every table", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/new.db`;
    {
      using store = SqliteStore.open(path);
      assert.ok(store.isOpen);
      assert.deepEqual(store.countRows(), Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])));
    }
    using db = new DatabaseSync(path);
    assert.equal(db.prepare("PRAGMA user_version").get()?.user_version, SCHEMA_VERSION);
    assert.equal(db.prepare("PRAGMA application_id").get()?.application_id, APPLICATION_ID);
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
  });
});

/** What tests/fixtures/schema_v<N>.json holds: the schema as the builds of version N created it. */
interface SchemaFixture {
  application_id: number;
  user_version: number;
  objects: { type: string; name: string; tbl_name: string; sql: string | null }[];
}

function schemaFixture(version = 1): SchemaFixture {
  return JSON.parse(
    Deno.readTextFileSync(new URL(`fixtures/schema_v${version}.json`, import.meta.url)),
  ) as SchemaFixture;
}

for (let version = 1; version <= SCHEMA_VERSION; version++) {
  Deno.test(`the row table's version-${version} DDL is byte for byte what the builds of version ${version} created`, () => {
    using db = new DatabaseSync(":memory:");
    db.exec(schemaSql(version));
    const fixture = schemaFixture(version);
    assert.equal(fixture.user_version, version);
    assert.deepEqual(
      db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").all()
        .map((row) => ({ ...row })),
      fixture.objects,
    );
  });
}

Deno.test("SqliteStore.open() keeps writing into a database an earlier build created", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/earlier.db`;
    const fixture = schemaFixture();
    {
      using db = new DatabaseSync(path);
      db.exec("BEGIN");
      // SQLite makes the autoindex of a TEXT PRIMARY KEY itself (its sql is null).
      for (const { sql } of fixture.objects) if (sql !== null) db.exec(sql);
      db.exec(`PRAGMA application_id = ${fixture.application_id}`);
      db.exec(`PRAGMA user_version = ${fixture.user_version}`);
      db.exec("COMMIT");
    }
    using store = SqliteStore.open(path);
    const counts = store.write([...allSampleEvents(), session()]);
    assert.equal(counts.danmaku, 3);
    assert.equal(counts.sessions, 1);
    assert.equal(counts.unchanged, 0);
    assert.equal(store.countRows().raw_messages, 1);
  });
});

Deno.test("SqliteStore.write() stores every json sample and reads back the same values", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/samples.db`);
    const counts = store.write(allSampleEvents());
    assert.deepEqual(counts, {
      ...emptyWriteCounts(),
      danmaku: 3,
      gifts: 1,
      super_chats: 1,
      guard_buys: 1,
      interactions: 1,
      audience: 1,
      online_ranks: 3,
      room_events: 4,
      raw_messages: 1,
      rooms: 2,
      sessions: 0,
      unchanged: 0,
    });
    assert.deepEqual(
      rows(store, "SELECT * FROM danmaku WHERE msg_id = ?", "343a52f34489799508c91605ae6625ef14"),
      [{
        id: 2,
        room_id: ROOM,
        ts_ms: 1713762065361,
        received_at_ms: AT,
        cmd: "DANMU_MSG",
        msg_id: "343a52f34489799508c91605ae6625ef14",
        uid: 2351778,
        uname: "橘枳橼",
        text: "[艾尔莎收藏集_mua]",
        user_hash: "98095d8b",
        is_admin: 0,
        guard_level: 3,
        user_level: 25,
        medal_name: "艾薯条",
        medal_level: 29,
        medal_anchor_uname: "艾尔莎_Channel",
        medal_anchor_room_id: 81004,
        medal_anchor_uid: 1521415,
        mode: 4,
        font_size: 25,
        color: 9920249,
        dm_type: 1,
        emoticon: "upower_[艾尔莎收藏集_mua]",
        reply_to_uid: null,
        reply_to_uname: null,
        lottery_type: 0,
        dedup_key: null,
      }],
    );
    assert.deepEqual(
      rows(store, "SELECT uid, uname, msg_id, cmd FROM danmaku WHERE uid = 0"),
      [{ uid: 0, uname: "***", msg_id: null, cmd: "DANMU_MSG:3:7:1:1:1:1" }],
      "uid 0 is an ordinary value",
    );
    assert.deepEqual(
      rows(
        store,
        "SELECT sc_id, uid, uname, price_cny, duration_s, start_time_ms, medal_name, message_jpn FROM super_chats",
      ),
      [{
        sc_id: 6522809,
        uid: 294094150,
        uname: "界原虚",
        price_cny: 30,
        duration_s: 60,
        start_time_ms: 1677069035000,
        medal_name: "ASAKI",
        message_jpn: null,
      }],
    );
    assert.deepEqual(
      rows(store, "SELECT cmd, uid, guard_level, num, price_cny, dedup_key FROM guard_buys"),
      [{
        cmd: "GUARD_BUY",
        uid: 14225357,
        guard_level: 3,
        num: 1,
        price_cny: 198,
        dedup_key: "14225357:3:1677069316000",
      }],
    );
    assert.deepEqual(
      rows(store, "SELECT gift_name, coin_type, num, price, price_cny, tid, dedup_key FROM gifts"),
      [{
        gift_name: "小花花",
        coin_type: "gold",
        num: 1,
        price: 100,
        price_cny: 0.1,
        tid: "1673622464121900003",
        dedup_key: "tid:1673622464121900003",
      }],
    );
    assert.deepEqual(rows(store, "SELECT kind, uid, uname, medal_name FROM interactions"), [
      { kind: "share", uid: 26928797, uname: "mikufilck", medal_name: "做猫的" },
    ]);
    assert.deepEqual(rows(store, "SELECT room_id, kind, value FROM audience"), [
      { room_id: ROOM, kind: "online_rank_count", value: 44 },
    ]);
    assert.deepEqual(
      rows(store, "SELECT cmd, kind, uid, message FROM room_events ORDER BY id"),
      [
        { cmd: "CUT_OFF", kind: "cut_off", uid: null, message: "违反直播言论规范，请立即调整" },
        { cmd: "LIVE", kind: "live", uid: null, message: null },
        { cmd: "PREPARING", kind: "preparing", uid: null, message: null },
        { cmd: "ROOM_BLOCK_MSG", kind: "room_block", uid: 37903025, message: null },
      ],
    );
    assert.deepEqual(rows(store, "SELECT cmd, reason, raw FROM raw_messages ORDER BY id"), [
      { cmd: "LOG_IN_NOTICE", reason: "unknown_cmd", raw: sampleText("log_in_notice") },
    ]);
    assert.deepEqual(rows(store, "SELECT room_id, live_status FROM rooms"), [
      { room_id: ROOM, live_status: 0 },
    ], "LIVE then PREPARING at the same time: the later one wins");
  });
});

Deno.test("SqliteStore.write() keeps one row for SUPER_CHAT_MESSAGE and its _JPN twin", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/sc.db`);
    const sc = JSON.parse(sampleText("super_chat_message_2023"));
    const jpn = {
      cmd: "SUPER_CHAT_MESSAGE_JPN",
      data: { ...sc.data, id: "6522809", uid: "294094150", message_jpn: "翻訳" },
      roomid: "6154037",
    };
    const first = store.write(normalizeBody(sc));
    const second = store.write(normalizeBody(jpn, { receivedAtMs: AT + 40 }));
    assert.equal(first.super_chats, 1);
    assert.equal(second.super_chats, 1, "the JPN twin fills message_jpn");
    const again = store.write(normalizeBody(jpn, { receivedAtMs: AT + 80 }));
    assert.equal(again.unchanged, 1);
    assert.deepEqual(
      rows(store, "SELECT cmd, sc_id, message, message_jpn, received_at_ms FROM super_chats"),
      [{
        cmd: "SUPER_CHAT_MESSAGE",
        sc_id: 6522809,
        message: "猪播完美预测自己第一个死，这就是鹅鸭杀高玩吗",
        message_jpn: "翻訳",
        received_at_ms: AT,
      }],
    );
  });
});

Deno.test("SqliteStore.write() keeps one row for SEND_GIFT and SEND_GIFT_V2 of one tid", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/gift.db`);
    const v1 = JSON.parse(sampleText("send_gift_2023"));
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
    const v2 = { cmd: "SEND_GIFT_V2", data: { pb: pb.toBase64() } };
    const counts = store.write([...normalizeBody(v2), ...normalizeBody(v1)]);
    assert.equal(counts.gifts, 2, "inserted by V2, completed by V1");
    assert.deepEqual(
      rows(store, "SELECT cmd, uid, gift_name, price_cny, receiver_uid, tid FROM gifts"),
      [{
        cmd: "SEND_GIFT_V2",
        uid: 510149209,
        gift_name: "小花花",
        price_cny: 0.1,
        receiver_uid: 36047134,
        tid: "1673622464121900003",
      }],
    );
    const replay = store.write([...normalizeBody(v1), ...normalizeBody(v2)]);
    assert.equal(replay.unchanged, 2);
    assert.equal(store.countRows().gifts, 1);
  });
});

Deno.test("SqliteStore.write() keeps one row for GUARD_BUY + USER_TOAST_MSG + _V2, priced as paid", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/guard.db`);
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
    const counts = store.write([
      ...normalizeBody(buy),
      ...normalizeBody(toast),
      ...normalizeBody(toastV2),
      ...normalizeBody(toastV2),
    ]);
    assert.equal(counts.guard_buys, 2);
    assert.equal(counts.unchanged, 2);
    assert.deepEqual(
      rows(store, "SELECT cmd, price_cny, unit, payflow_id, gift_id, gift_name FROM guard_buys"),
      [{
        cmd: "USER_TOAST_MSG",
        price_cny: 138,
        unit: "月",
        payflow_id: "2302222035103472131",
        gift_id: 10003,
        gift_name: "舰长",
      }],
    );
  });
});

Deno.test("SqliteStore.write() of a replayed batch adds no duplicate danmaku, gifts, SCs or guards", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/replay.db`);
    const keyed = allSampleEvents().filter((e) =>
      (e.type === "danmaku" && e.msgId !== null) || e.type === "gift" ||
      e.type === "superChat" || e.type === "guardBuy" || e.type === "room"
    );
    const batch = [...keyed, ...danmakuBatch(500), session()];
    const first = store.write(batch);
    assert.equal(first.unchanged, 0);
    const before = store.countRows();
    const second = store.write(batch);
    assert.equal(second.danmaku + second.gifts + second.super_chats + second.guard_buys, 0);
    assert.equal(second.unchanged, batch.length - second.rooms - second.sessions);
    assert.deepEqual(store.countRows(), before);
  });
});

Deno.test("SqliteStore.write() counts each table's rows exactly when tables interleave and keys repeat in and across batches", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/counts.db`);
    const [d0, d1, d2] = danmakuBatch(3);
    const v1 = normalizeBody(JSON.parse(sampleText("send_gift_2023")));
    const v2 = normalizeBody({
      cmd: "SEND_GIFT_V2",
      data: {
        pb: new ProtoWriter().varint(1, 510149209).bytes(
          10,
          new ProtoWriter().varint(1, 31036).bytes(2, "小花花").varint(3, 1).varint(5, 100)
            .varint(7, 100).bytes(8, "gold").bytes(9, "1673622464121900003").varint(10, 1673622464),
        ).finish().toBase64(),
      },
    });
    assert.equal(v1.length + v2.length, 2);
    const expected = (counts: Partial<ReturnType<typeof emptyWriteCounts>>) => ({
      ...emptyWriteCounts(),
      ...counts,
    });
    // d0 twice and SEND_GIFT twice inside one batch, tables taking turns: the second d0 and the
    // second SEND_GIFT change nothing, the first SEND_GIFT completes the V2 row (a change).
    const first = store.write([
      d0,
      ...v2,
      session(),
      d0,
      ...v1,
      d1,
      ...v1,
      session({ endedAtMs: AT + 5, reason: "closed" }),
    ]);
    assert.deepEqual({ ...first }, expected({ danmaku: 2, gifts: 2, sessions: 2, unchanged: 2 }));
    // Across batches: d0, both gifts and the ended session again; only d2 is new.
    const second = store.write([...v1, d0, d2, ...v2]);
    assert.deepEqual({ ...second }, expected({ danmaku: 1, unchanged: 3 }));
    const stored = store.countRows();
    assert.deepEqual([stored.danmaku, stored.gifts, stored.sessions], [3, 1, 1]);
  });
});

Deno.test("SqliteStore.write() keeps one row per danmaku without msg_id by its server time, sender and text", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/nomsgid.db`);
    const [proto] = normalize(sampleText("danmu_msg_2024_emoticon_medal"));
    const plain = { ...proto, msgId: null } as CollectedEvent;
    const batch = [
      plain,
      // Another receiver of the same broadcast: another receive time, the same row.
      { ...plain, receivedAtMs: AT + 250 } as CollectedEvent,
      // Genuine repeats: the same text a second later, or another text at the same time.
      { ...plain, tsMs: (proto as { tsMs: number }).tsMs + 1000 } as CollectedEvent,
      { ...plain, text: "另一条" } as CollectedEvent,
    ];
    const counts = store.write(batch);
    assert.equal(counts.danmaku, 3);
    assert.equal(counts.unchanged, 1);
    const keys = rows(store, "SELECT dedup_key FROM danmaku ORDER BY id").map((r) => r.dedup_key);
    assert.equal(keys.length, 3);
    for (const key of keys) assert.match(String(key), /^h:\d+:\d+:[0-9a-f]*:[0-9a-f]{16}$/);
    assert.equal(store.write(batch).danmaku, 0, "a replayed batch adds nothing");
  });
});

Deno.test("SqliteStore.write() upserts a session when it opens and when it ends", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/sessions.db`);
    const opened = session();
    const ended = session({
      endedAtMs: AT + 60_000,
      reason: "watchdog: no bytes for 70 s",
      messages: 1234,
    });
    store.write([opened]);
    store.write([ended]);
    store.write([opened]); // a replayed open never reopens the session
    assert.deepEqual(rows(store, "SELECT * FROM sessions"), [{
      session_id: "s-1",
      room_id: ROOM,
      host: "zj-cn-live-comet.chat.bilibili.com",
      transport: "tcp",
      started_at_ms: AT,
      ended_at_ms: AT + 60_000,
      reason: "watchdog: no bytes for 70 s",
      messages: 1234,
    }]);
  });
});

Deno.test("SqliteStore.write() upserts rooms field by field, newest observation first", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/rooms.db`);
    const room = (seenAtMs: number, fields: Partial<RoomEvent>): RoomEvent => ({
      type: "room",
      roomId: 14073662,
      receivedAtMs: seenAtMs,
      shortId: null,
      anchorUid: null,
      uname: null,
      title: null,
      areaId: null,
      areaName: null,
      parentAreaId: null,
      parentAreaName: null,
      liveStatus: null,
      seenAtMs,
      ...fields,
    });
    store.write([
      room(2000, { shortId: 76, anchorUid: 9, uname: "主播", title: "旧标题", liveStatus: 1 }),
    ]);
    store.write([room(3000, { title: "新标题" })]);
    store.write([room(1000, { title: "更旧的标题", liveStatus: 0, areaName: "聊天" })]);
    assert.deepEqual(rows(store, "SELECT * FROM rooms"), [{
      room_id: 14073662,
      short_id: 76,
      anchor_uid: 9,
      uname: "主播",
      title: "新标题",
      area_id: null,
      area_name: "聊天",
      parent_area_id: null,
      parent_area_name: null,
      live_status: 1,
      first_seen_at_ms: 1000,
      last_seen_at_ms: 3000,
    }]);
  });
});

Deno.test("SqliteStore.write() rolls the whole batch back when one event cannot be stored", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/atomic.db`);
    const bad = { ...danmakuBatch(1)[0], uname: undefined } as unknown as CollectedEvent;
    const batch = [...danmakuBatch(10), bad, ...danmakuBatch(3)];
    assert.throws(() => store.write(batch), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(
        error.message,
        /^Cannot write 14 events to ".*atomic\.db": .*insert event 10 into danmaku/,
      );
      assert.ok(error.cause instanceof Error);
      return true;
    });
    assert.equal(store.countRows().danmaku, 0);
    assert.equal(store.write(danmakuBatch(10)).danmaku, 10, "the store still works");
  });
});

Deno.test("SqliteStore.write() into a read-only database fails with StorageError and loses nothing", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/ro.db`;
    SqliteStore.open(path).close();
    const batch = [...allSampleEvents(), ...danmakuBatch(100)];
    const snapshot = structuredClone(batch);
    {
      using readOnly = SqliteStore.open(path, { readOnly: true });
      assert.throws(() => readOnly.write(batch), (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.reason, "readOnly");
        assert.match(
          error.message,
          /^Cannot write 118 events to ".*ro\.db": the database is read-only \(insert event 0 into room_events: attempt to write a readonly database\)$/,
        );
        return true;
      });
      assert.deepEqual(readOnly.countRows().danmaku, 0);
    }
    assert.deepEqual(batch, snapshot, "the batch is untouched");
    using writable = SqliteStore.open(path);
    const counts = writable.write(batch);
    assert.equal(counts.danmaku, 103);
    assert.equal(writable.countRows().danmaku, 103);
  });
});

Deno.test("SqliteStore.write() says the database is locked when another writer holds it", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/locked.db`;
    using store = SqliteStore.open(path, { busyTimeoutMs: 0 });
    using other = new DatabaseSync(path);
    other.exec("BEGIN IMMEDIATE");
    assert.throws(() => store.write(danmakuBatch(5)), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.reason, "locked");
      assert.match(
        error.message,
        /the database is locked by another connection \(begin a transaction: database is locked\)/,
      );
      return true;
    });
    other.exec("ROLLBACK");
    assert.equal(store.write(danmakuBatch(5)).danmaku, 5, "the same batch goes in later");
  });
});

Deno.test("SqliteStore.open() refuses a database with a newer schema version, naming both", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/newer.db`;
    SqliteStore.open(path).close();
    {
      using db = new DatabaseSync(path);
      db.exec("PRAGMA user_version = 7");
    }
    assert.throws(() => SqliteStore.open(path), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.reason, "schema");
      assert.match(
        error.message,
        new RegExp(`schema version 7 is newer than version ${SCHEMA_VERSION} this program knows`),
      );
      return true;
    });
  });
});

/** The file's bytes and the names beside it (a -wal or -journal left behind would show). */
function snapshot(path: string): { bytes: Uint8Array; files: string[] } {
  const dir = path.slice(0, path.lastIndexOf("/"));
  return {
    bytes: Deno.readFileSync(path),
    files: [...Deno.readDirSync(dir)].map((entry) => entry.name).sort(),
  };
}

const FOREIGN_FILES: { what: string; sql: string; message: RegExp }[] = [
  {
    what: "a table",
    sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)",
    message: /\(application_id 0, user_version 0, 1 schema object such as table "invoices"\)/,
  },
  {
    what: "only a view",
    sql: "CREATE VIEW answer AS SELECT 42 AS n",
    message: /\(application_id 0, user_version 0, 1 schema object such as view "answer"\)/,
  },
  {
    what: "a view with an INSTEAD OF trigger",
    sql: `CREATE VIEW v AS SELECT 1 AS n;
      CREATE TRIGGER t INSTEAD OF INSERT ON v BEGIN SELECT 1; END`,
    message: /2 schema objects such as trigger "t", view "v"\)/,
  },
  {
    what: "a table with an index and a trigger",
    sql: `CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT);
      CREATE INDEX notes_body ON notes (body);
      CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN SELECT 1; END`,
    message: /4 schema objects such as index "notes_body", table "notes", table "sqlite_sequence"/,
  },
  {
    what: "nothing but a user_version",
    sql: "PRAGMA user_version = 3",
    message: /\(application_id 0, user_version 3, 0 schema objects\)/,
  },
  {
    what: "nothing but another program's application_id",
    sql: "PRAGMA application_id = 1234",
    message: /\(application_id 1234, user_version 0, 0 schema objects\)/,
  },
];

for (const { what, sql, message } of FOREIGN_FILES) {
  Deno.test(`SqliteStore.open() refuses a foreign file holding ${what} and leaves it byte for byte`, async () => {
    await withTempDir((dir) => {
      const path = `${dir}/foreign.db`;
      {
        using db = new DatabaseSync(path);
        db.exec(sql);
      }
      const before = snapshot(path);
      assert.throws(() => SqliteStore.open(path), (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.reason, "schema");
        assert.match(error.message, /it is not a danmaku database/);
        assert.match(error.message, message);
        assert.match(error.message, /; refusing to write into it$/);
        return true;
      });
      const after = snapshot(path);
      assert.deepEqual(after.files, before.files);
      assert.ok(
        after.bytes.length === before.bytes.length &&
          after.bytes.every((b, i) => b === before.bytes[i]),
        "the file's bytes are unchanged",
      );
    });
  });
}

Deno.test("SqliteStore.open() explains a file that is not SQLite at all", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/text.db`;
    Deno.writeTextFileSync(
      path,
      "this is not a database, just some text that is long enough".repeat(20),
    );
    assert.throws(() => SqliteStore.open(path), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.reason, "corrupt");
      assert.match(
        error.message,
        /^Cannot open database ".*text\.db": the file is not a valid SQLite database/,
      );
      return true;
    });
  });
});

Deno.test("SqliteStore.open() read-only calls a foreign file not a danmaku database, not a write refusal", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/other.db`;
    {
      using db = new DatabaseSync(path);
      db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
    }
    for (
      const open of [
        () => SqliteStore.openExisting(path, { readOnly: true }),
        () => SqliteStore.open(path, { readOnly: true }),
      ]
    ) {
      assert.throws(open, (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.reason, "schema");
        assert.equal(
          error.message,
          `Cannot open database "${path}": it is not a danmaku database (application_id 0, user_version 0, 1 schema object such as table "invoices")`,
        );
        return true;
      });
    }
  });
});

Deno.test("SqliteStore.open() names the directory that does not exist instead of SQLite's words", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/not-made/sub/danmaku.db`;
    for (
      const open of [
        () => SqliteStore.open(path),
        () => SqliteStore.openExisting(path),
        () => SqliteStore.open(path, { readOnly: true }),
      ]
    ) {
      assert.throws(open, (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.reason, "missing");
        assert.equal(
          error.message,
          `Cannot open database "${path}": the directory "${dir}/not-made/sub" does not exist`,
        );
        return true;
      });
    }
    assert.throws(() => Deno.statSync(`${dir}/not-made`), Deno.errors.NotFound);
    Deno.writeTextFileSync(`${dir}/plain`, "a file");
    assert.throws(() => SqliteStore.open(`${dir}/plain/danmaku.db`), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /: ".*\/plain" is not a directory$/);
      return true;
    });
    assert.throws(() => SqliteStore.open(dir), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.message, `Cannot open database "${dir}": it is a directory`);
      return true;
    });
  });
});

Deno.test("SqliteStore.openExisting() fails on a missing file and never creates it", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/missing.db`;
    for (
      const open of [
        () => SqliteStore.openExisting(path),
        () => SqliteStore.open(path, { readOnly: true }),
      ]
    ) {
      assert.throws(open, (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.reason, "missing");
        assert.equal(error.message, `Cannot open database "${path}": no such file`);
        return true;
      });
    }
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
  });
});

Deno.test("SqliteStore.close() is idempotent and a closed store refuses to write", async () => {
  await withTempDir((dir) => {
    const store = SqliteStore.open(`${dir}/closed.db`);
    store.close();
    store.close();
    store[Symbol.dispose]();
    assert.equal(store.isOpen, false);
    assert.throws(() => store.write(danmakuBatch(1)), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /^Cannot write ".*closed\.db": the store is closed$/);
      return true;
    });
  });
});

Deno.test("SqliteStore.write() stores what the normalizer makes of mutated and hostile messages", async () => {
  await withTempDir((dir) => {
    using store = SqliteStore.open(`${dir}/hostile.db`);
    const bodies: unknown[] = [
      { cmd: "SEND_GIFT_V2", data: { pb: "!!!" } },
      { cmd: "DANMU_MSG", info: [[null, "7", 1e300, -1, "x"], 5, [1.5, null, "2"], [[], []]] },
      { cmd: "SEND_GIFT", data: { price: 1e300, num: 1e300, coin_type: "gold", tid: 5 } },
      { cmd: "SUPER_CHAT_MESSAGE", data: { id: "x", price: "30", start_time: 1e300 } },
      { cmd: "GUARD_BUY", data: { uid: "1", guard_level: [], start_time: "1677069316" } },
      { cmd: "ROOM_CHANGE", data: { title: 5, area_id: "x" } },
      null,
    ];
    const events = bodies.flatMap((b) => normalizeBody(b, { keepRaw: true }));
    const counts = store.write(events);
    assert.equal(counts.raw_messages, bodies.length);
    assert.deepEqual(rows(store, "SELECT price_cny, tid, dedup_key FROM gifts"), [
      { price_cny: 0, tid: "5", dedup_key: "tid:5" },
    ]);
    assert.deepEqual(rows(store, "SELECT dedup_key, price_cny, start_time_ms FROM super_chats"), [
      { dedup_key: "sc:0:r1677069040000:30", price_cny: 30, start_time_ms: null },
    ]);
    assert.deepEqual(rows(store, "SELECT uid, guard_level, dedup_key FROM guard_buys"), [
      { uid: 1, guard_level: 0, dedup_key: "1:0:1677069316000" },
    ]);
  });
});

Deno.test("describeSqliteFailure() names a full disk, a read-only file, a lock and I/O errors", () => {
  assert.deepEqual(describeSqliteFailure(new Error("database or disk is full")), {
    reason: "diskFull",
    words: "the disk is full",
  });
  assert.equal(
    describeSqliteFailure(new Error("attempt to write a readonly database")).reason,
    "readOnly",
  );
  assert.equal(describeSqliteFailure(new Error("database is locked")).reason, "locked");
  assert.equal(describeSqliteFailure(new Error("disk I/O error")).reason, "io");
  assert.equal(describeSqliteFailure(new Error("file is not a database")).reason, "corrupt");
  assert.equal(describeSqliteFailure("something else").reason, "other");
});
