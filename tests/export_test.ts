import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runExport } from "../src/cli/export_command.ts";
import { ConfigError, StorageError } from "../src/errors.ts";
import { EXPORT_KINDS, EXPORT_TABLES, type ExportKind } from "../src/export/export_tables.ts";
import { UidHasher } from "../src/export/uid_hasher.ts";
import { SqliteStore } from "../src/storage/sqlite_store.ts";
import { ROOM_A, ROOM_B, T0, TRICKY, withFixtureDb } from "./support/export_fixture.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SALT = "s3cret-salt";

/** Runs export in-process; returns what it wrote to stdout and logged. */
async function exportText(args: string[]): Promise<{ stdout: string; logs: string[] }> {
  const chunks: Uint8Array[] = [];
  const logs: string[] = [];
  await runExport(args, {
    stdout: {
      writeSync(bytes) {
        chunks.push(bytes.slice());
        return bytes.length;
      },
    },
    log: (line) => logs.push(line),
  });
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return { stdout: new TextDecoder().decode(all), logs };
}

async function python(script: string, ...args: string[]): Promise<unknown> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

const READ_CSV = `import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    print(json.dumps(list(csv.reader(f))))`;

const READ_XML = `import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(json.dumps({"tag": root.tag, "children": [
    {"tag": e.tag, "attrib": e.attrib, "text": e.text} for e in root]}))`;

/** Rows of `kind` straight from the database, keyed like the export (time as ISO). */
function databaseRows(db: string, kind: ExportKind, where = ""): Record<string, unknown>[] {
  using store = SqliteStore.openExisting(db, { readOnly: true });
  const table = EXPORT_TABLES[kind];
  return store.query(
    `SELECT ${table.columns.map((c) => `${c.sql} AS "${c.name}"`).join(", ")} FROM ${kind}${where}
    ORDER BY id`,
  ).map((row) => {
    const out: Record<string, unknown> = { ...row };
    out.time = new Date(Number(row.time)).toISOString();
    return out;
  });
}

Deno.test("export writes RFC 4180 CSV that Python's csv module reads back field by field", async () => {
  await withFixtureDb(async (db, dir) => {
    const path = `${dir}/danmaku.csv`;
    const { stdout, logs } = await exportText(["--db", db, "--out", path, "--bom"]);
    assert.equal(stdout, "");
    assert.match(
      logs[0],
      /^level=info msg="exported" kind=danmaku format=csv rows=209 out=\S+danmaku\.csv$/,
    );
    const bytes = await Deno.readFile(path);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
    assert.ok(text.startsWith("\uFEFFroom_id,ts_ms,time,received_at_ms,uid,uname,text,msg_id,"));
    assert.ok(text.split("\r\n")[0].endsWith("reply_to_uid,reply_to_uname,lottery_type,dedup_key"));
    assert.ok(text.endsWith("\r\n"));
    await assert.rejects(Deno.stat(`${path}.partial`), Deno.errors.NotFound);

    const [header, ...records] = await python(READ_CSV, path) as string[][];
    const columns = EXPORT_TABLES.danmaku.columns.map((c) => c.name);
    assert.deepEqual(header, columns);
    const expected = databaseRows(db, "danmaku").map((row) =>
      columns.map((name) => row[name] === null ? "" : String(row[name]))
    );
    assert.equal(records.length, 209);
    assert.deepEqual(records, expected);
    const texts = records.slice(0, TRICKY.length).map((r) => r[columns.indexOf("text")]);
    assert.deepEqual(texts, [...TRICKY]);
    assert.deepEqual(records[0].slice(0, 7), [
      String(ROOM_A),
      String(T0),
      "2024-05-01T12:00:00.000Z",
      String(T0 + 200),
      "42",
      'Alice, "A"',
      TRICKY[0],
    ]);
    // No server time: ts_ms is empty and time falls back to the receive time.
    assert.deepEqual(records[2].slice(1, 4), ["", "2024-05-01T12:00:50.200Z", String(T0 + 50_200)]);
  });
});

/** Debian's python3-pandas (installed by .ci/run) lives beside the system python3. */
const PANDAS_PYTHON = "/usr/bin/python3";

Deno.test("export CSV reads back exactly through pandas.read_csv", async () => {
  await withFixtureDb(async (db, dir) => {
    const path = `${dir}/pandas.csv`;
    await exportText(["--db", db, "--out", path, "--bom"]);
    const { code, stdout, stderr } = await new Deno.Command(PANDAS_PYTHON, {
      args: [
        "-c",
        `import json, sys, pandas
frame = pandas.read_csv(sys.argv[1], dtype=str, keep_default_na=False, encoding="utf-8-sig")
print(json.dumps({"columns": list(frame.columns), "text": list(frame["text"]), "uname": list(frame["uname"])}))`,
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(
      code,
      0,
      `pandas is needed (apt-get install python3-pandas): ${new TextDecoder().decode(stderr)}`,
    );
    const read = JSON.parse(new TextDecoder().decode(stdout));
    const rows = databaseRows(db, "danmaku");
    assert.deepEqual(read.columns, EXPORT_TABLES.danmaku.columns.map((c) => c.name));
    assert.deepEqual(read.text, rows.map((row) => String(row.text)));
    assert.deepEqual(read.uname, rows.map((row) => String(row.uname)));
    assert.deepEqual(read.text.slice(0, TRICKY.length), [...TRICKY]);
  });
});

Deno.test("export --kind all --format jsonl writes one file per kind that reads back exactly", async () => {
  await withFixtureDb(async (db, dir) => {
    const out = `${dir}/all`;
    const { logs } = await exportText([
      "--db",
      db,
      "--kind",
      "all",
      "--format",
      "jsonl",
      "--out",
      out,
    ]);
    assert.equal(logs.length, EXPORT_KINDS.length);
    const expectedCounts: Record<ExportKind, number> = {
      danmaku: 209,
      gifts: 3,
      super_chats: 2,
      guard_buys: 1,
      interactions: 2,
      audience: 1,
      room_events: 1,
      super_chat_deletions: 2,
      entries: 1,
      lotteries: 1,
      rank_changes: 1,
      online_ranks: 1,
    };
    for (const kind of EXPORT_KINDS) {
      const text = await Deno.readTextFile(`${out}/${kind}.jsonl`);
      const lines = text.split("\n");
      assert.equal(lines.pop(), "");
      const objects = lines.map((line) => JSON.parse(line));
      assert.equal(objects.length, expectedCounts[kind], kind);
      assert.deepEqual(objects, databaseRows(db, kind), kind);
      assert.deepEqual(
        Object.keys(objects[0]),
        EXPORT_TABLES[kind].columns.map((c) => c.name),
      );
    }
    const danmaku = (await Deno.readTextFile(`${out}/danmaku.jsonl`)).split("\n");
    assert.deepEqual(danmaku.slice(0, TRICKY.length).map((l) => JSON.parse(l).text), [...TRICKY]);
  });
});

Deno.test("export filters by --room, --since and --until (ISO 8601 with an offset or unix ms)", async () => {
  await withFixtureDb(async (db) => {
    const count = async (args: string[]) =>
      (await exportText(["--db", db, "--format", "jsonl", ...args])).stdout.split("\n").length - 1;
    assert.equal(await count(["--room", String(ROOM_B)]), 2);
    assert.equal(await count(["--room", `${ROOM_A},${ROOM_B}`]), 209);
    // 12:00:00 to 12:10:00 UTC = 20:00 to 20:10 Beijing: window 0 of room A and both of room B.
    assert.equal(
      await count(["--since", "2024-05-01T20:00:00+08:00", "--until", String(T0 + 600_000)]),
      22,
    );
    assert.equal(await count(["--room", String(ROOM_A), "--since", String(T0 + 95 * 60_000)]), 40);
  });
});

Deno.test("export --format xml writes well-formed 录播姬 XML with the marker in the first 1024 bytes", async () => {
  await withFixtureDb(async (db, dir) => {
    const path = `${dir}/room.xml`;
    await exportText(["--db", db, "--format", "xml", "--room", String(ROOM_A), "--out", path]);
    const bytes = await Deno.readFile(path);
    const head = new TextDecoder().decode(bytes.subarray(0, 1024));
    assert.ok(head.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<i>'));
    assert.ok(head.includes("<BililiveRecorder "));
    assert.ok(head.includes("<BililiveRecorderRecordInfo "));

    const doc = await python(READ_XML, path) as {
      tag: string;
      children: { tag: string; attrib: Record<string, string>; text: string | null }[];
    };
    assert.equal(doc.tag, "i");
    const byTag = (tag: string) => doc.children.filter((c) => c.tag === tag);
    assert.equal(byTag("d").length, 207);
    assert.equal(byTag("gift").length, 3);
    assert.equal(byTag("sc").length, 2);
    assert.equal(byTag("guard").length, 1);
    assert.deepEqual(byTag("BililiveRecorderRecordInfo")[0].attrib, {
      roomid: String(ROOM_A),
      shortid: "5",
      name: "主播A",
      title: '标题 <test> & "x"',
      areanameparent: "娱乐",
      areanamechild: "聊天",
      start_time: "2024-05-01T12:00:00.000Z",
    });
    const d = byTag("d");
    assert.deepEqual(d[0].attrib, {
      p: `0.000,1,25,16777215,${T0},0,42,0`,
      user: 'Alice, "A"',
    });
    assert.equal(d[2].attrib.p, `50.200,1,25,16777215,${T0 + 50_200},0,42,0`);
    // Every text reads back exactly, except XML-forbidden control characters (dropped) and
    // the empty danmaku (no text node).
    // deno-lint-ignore no-control-regex
    const expected = TRICKY.map((t) => t.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ""))
      .map((t) => t === "" ? null : t);
    assert.deepEqual(d.slice(0, TRICKY.length).map((e) => e.text), expected);
    assert.equal(d[7].text, "bellxy");
    assert.deepEqual(byTag("gift")[1].attrib, {
      ts: "1800.000",
      user: 'Alice, "A"',
      uid: "42",
      giftname: "告白气球",
      giftcount: "1",
    });
    assert.deepEqual(byTag("sc")[0], {
      tag: "sc",
      attrib: { ts: "2400.000", user: 'Alice, "A"', uid: "42", price: "30", time: "60" },
      text: 'SC <&> "quoted"\n第二行',
    });
    assert.deepEqual(byTag("guard")[0].attrib, {
      ts: "3000.000",
      user: "小明",
      uid: "7",
      level: "3",
      count: "1",
    });
    // Elements come in time order.
    const times = doc.children.filter((c) => ["d", "gift", "sc", "guard"].includes(c.tag))
      .map((c) => Number(c.tag === "d" ? c.attrib.p.split(",")[0] : c.attrib.ts));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
  });
});

Deno.test("export xml measures seconds from --since and picks the only room with rows", async () => {
  await withFixtureDb(async (db) => {
    const since = T0 + 29 * 60_000;
    const { stdout } = await exportText([
      "--db",
      db,
      "--format",
      "xml",
      "--kind",
      "gifts",
      "--since",
      String(since),
      "--until",
      String(T0 + 31 * 60_000),
    ]);
    assert.match(stdout, /start_time="2024-05-01T12:29:00.000Z"/);
    assert.equal(stdout.match(/<gift ts="60.000" /g)?.length, 3);
    assert.doesNotMatch(stdout, /<d /);
  });
});

Deno.test("export --hash-uids replaces uids consistently and drops names and uid-bearing fields", async () => {
  await withFixtureDb(async (db, dir) => {
    const hasher = new UidHasher(SALT);
    const out = `${dir}/hashed`;
    await exportText([
      "--db",
      db,
      "--kind",
      "all",
      "--format",
      "jsonl",
      "--out",
      out,
      "--hash-uids",
      SALT,
    ]);
    const read = async (kind: string) =>
      (await Deno.readTextFile(`${out}/${kind}.jsonl`)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
    const danmaku = await read("danmaku");
    assert.equal(danmaku[0].uid, hasher.hash(42));
    assert.equal(danmaku[0].uid, "54e4d7993f327a4e");
    assert.equal(danmaku[0].reply_to_uid, hasher.hash(8));
    assert.equal(danmaku[0].uname, null);
    assert.equal(danmaku[0].reply_to_uname, null);
    assert.equal(danmaku[0].user_hash, null);
    assert.equal(danmaku[0].text, TRICKY[0]);
    assert.equal(danmaku.find((d) => d.msg_id === "m12").uid, "0");
    const gifts = await read("gifts");
    assert.deepEqual(gifts.map((g) => g.uid), [hasher.hash(8), hasher.hash(42), hasher.hash(8)]);
    assert.ok(gifts.every((g) => g.dedup_key === null && g.receiver_uid === hasher.hash(999)));
    assert.equal(gifts[0].medal_anchor_uid, hasher.hash(999));
    const everything = (await Promise.all(EXPORT_KINDS.map(read))).flat();
    for (const row of everything) {
      for (const [key, value] of Object.entries(row)) {
        if (key === "uid" || key.endsWith("_uid")) {
          assert.ok(value === null || value === "0" || /^[0-9a-f]{16}$/.test(String(value)), key);
        }
      }
      assert.ok(!("uname" in row) || row.uname === null);
    }
    assert.equal((await read("room_events"))[0].raw, null);

    const { stdout } = await exportText([
      "--db",
      db,
      "--format",
      "xml",
      "--room",
      String(ROOM_A),
      "--hash-uids",
      SALT,
    ]);
    assert.ok(stdout.includes(`<d p="0.000,1,25,16777215,${T0},0,${hasher.hash(42)},0" user="">`));
    assert.ok(stdout.includes(`<guard ts="3000.000" user="" uid="${hasher.hash(7)}" `));
    assert.doesNotMatch(stdout, /Alice|Bob|小明/);
  });
});

Deno.test("export refuses a missing database and never creates it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/missing.db`;
    await assert.rejects(exportText(["--db", path]), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.message, `Cannot open database "${path}": no such file`);
      return true;
    });
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Column order, hashing roles and row time of every kind as earlier builds wrote them (users'
 * files and scripts rely on the order); a column added to a table is appended, never inserted.
 */
const EXPORT_LAYOUT: Record<
  ExportKind,
  { header: string; uid: string; private: string; time: string }
> = {
  danmaku: {
    header:
      "room_id,ts_ms,time,received_at_ms,uid,uname,text,msg_id,cmd,user_hash,is_admin,guard_level,user_level,medal_name,medal_level,medal_anchor_uname,medal_anchor_room_id,medal_anchor_uid,mode,font_size,color,dm_type,emoticon,reply_to_uid,reply_to_uname,lottery_type,dedup_key",
    uid: "uid medal_anchor_uid reply_to_uid",
    private: "uname user_hash reply_to_uname dedup_key",
    time: "coalesce(ts_ms, received_at_ms)",
  },
  gifts: {
    header:
      "room_id,ts_ms,time,received_at_ms,uid,uname,gift_id,gift_name,num,coin_type,price,total_coin,price_cny,cmd,dedup_key,tid,rnd,action,guard_level,blind_box_gift_name,blind_box_gift_price,receiver_uid,medal_name,medal_level,medal_anchor_uname,medal_anchor_room_id,medal_anchor_uid",
    uid: "uid receiver_uid medal_anchor_uid",
    private: "uname dedup_key",
    time: "coalesce(ts_ms, received_at_ms)",
  },
  super_chats: {
    header:
      "room_id,start_time_ms,time,received_at_ms,uid,uname,message,message_jpn,price_cny,duration_s,end_time_ms,sc_id,cmd,dedup_key,user_level,guard_level,medal_name,medal_level,medal_anchor_uname,medal_anchor_room_id,medal_anchor_uid",
    uid: "uid medal_anchor_uid",
    private: "uname dedup_key",
    time: "coalesce(start_time_ms, received_at_ms)",
  },
  super_chat_deletions: {
    header: "room_id,sc_id,received_at_ms,time",
    uid: "",
    private: "",
    time: "received_at_ms",
  },
  guard_buys: {
    header:
      "room_id,start_time_ms,time,received_at_ms,uid,uname,guard_level,num,price_cny,unit,end_time_ms,gift_id,gift_name,payflow_id,cmd,dedup_key",
    uid: "uid",
    private: "uname dedup_key",
    time: "coalesce(start_time_ms, received_at_ms)",
  },
  interactions: {
    header:
      "room_id,ts_ms,time,received_at_ms,uid,uname,kind,msg_type,cmd,guard_level,medal_name,medal_level,medal_anchor_uname,medal_anchor_room_id,medal_anchor_uid",
    uid: "uid medal_anchor_uid",
    private: "uname",
    time: "coalesce(ts_ms, received_at_ms)",
  },
  entries: {
    header:
      "room_id,ts_ms,time,received_at_ms,uid,uname,guard_level,wealth_level,cmd,effect_id,copy_writing",
    uid: "uid",
    private: "uname copy_writing",
    time: "coalesce(ts_ms, received_at_ms)",
  },
  lotteries: {
    header:
      "room_id,received_at_ms,time,lot_id,phase,cmd,award_name,award_num,danmu,gift_name,gift_num,require_text,duration_s,winners,winner_count",
    uid: "",
    private: "winners",
    time: "received_at_ms",
  },
  rank_changes: {
    header: "room_id,ts_ms,time,received_at_ms,rank_name,rank,cmd,countdown_s",
    uid: "",
    private: "",
    time: "coalesce(ts_ms, received_at_ms)",
  },
  online_ranks: {
    header: "room_id,received_at_ms,time,rank,uid,uname,score,cmd,rank_type,guard_level",
    uid: "uid",
    private: "uname",
    time: "received_at_ms",
  },
  audience: {
    header: "room_id,received_at_ms,time,kind,value",
    uid: "",
    private: "",
    time: "received_at_ms",
  },
  room_events: {
    header:
      "room_id,ts_ms,time,received_at_ms,kind,cmd,live_key,title,area_id,area_name,parent_area_id,parent_area_name,uid,uname,message,raw",
    uid: "uid",
    private: "uname raw",
    time: "coalesce(ts_ms, received_at_ms)",
  },
};

Deno.test("export keeps every kind's columns, hashing roles and row time as earlier builds had them", () => {
  assert.deepEqual(EXPORT_KINDS, Object.keys(EXPORT_LAYOUT));
  for (const kind of EXPORT_KINDS) {
    const { columns, timeSql } = EXPORT_TABLES[kind];
    const named = (role: string) => columns.filter((c) => c.role === role).map((c) => c.name);
    assert.deepEqual(
      {
        header: columns.map((c) => c.name).join(","),
        uid: named("uid").join(" "),
        private: named("private").join(" "),
        time: timeSql,
      },
      EXPORT_LAYOUT[kind],
      kind,
    );
    assert.deepEqual(named("time"), ["time"]);
  }
});

/** A SQLite file of another program: one table, no application_id. */
Deno.test("export refuses a database of another schema version", async () => {
  await withFixtureDb(async (db) => {
    {
      using raw = new DatabaseSync(db);
      raw.exec("PRAGMA user_version = 4");
    }
    await assert.rejects(exportText(["--db", db]), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.match(e.message, /its schema version 4 is newer than version 3/);
      return true;
    });
  });
});

Deno.test("export names the flag and value of bad input", async () => {
  await withFixtureDb(async (db, dir) => {
    const cases: [string[], RegExp][] = [
      [["--since", "yesterday"], /^Cannot parse --since "yesterday": expected unix milliseconds/],
      [["--until", "1714564800"], /^Cannot parse --until "1714564800": .*unix seconds/],
      [
        ["--kind", "comments"],
        /^Cannot parse --kind "comments": expected one of danmaku, gifts, .*, all$/,
      ],
      [
        ["--format", "xlsx"],
        /^Cannot parse --format "xlsx": expected one of csv, jsonl, parquet, xml$/,
      ],
      [["--kind", "all"], /^Cannot export --kind all as csv to stdout: pass --out DIR/],
      [["--format", "xml", "--kind", "audience"], /^Cannot export --kind "audience" as xml/],
      [["--format", "jsonl", "--bom"], /^Cannot use --bom with --format jsonl/],
      [
        ["--format", "xml"],
        /^Cannot export xml: 录播姬 XML holds one room, but 2 rooms have rows \(1001, 2002\); pick one with --room ID$/,
      ],
      [
        ["--format", "xml", "--room", "1001,2002"],
        /^Cannot export xml for --room "1001,2002": .*exactly one id$/,
      ],
      [
        ["--hash-uids", "abc"],
        /^Cannot use --hash-uids "abc": the salt needs at least 8 characters/,
      ],
      [["--colour"], /^Cannot parse export flags: Unknown option '--colour'/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(exportText(["--db", db, ...args]), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, message);
        return true;
      });
    }
    // A failed file export leaves neither the file nor its .partial.
    const out = `${dir}/x.xml`;
    await assert.rejects(exportText(["--db", db, "--format", "xml", "--out", out]), ConfigError);
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("x.")), []);
  });
});

Deno.test("main.ts export exits 2 on a bad flag and streams CSV to stdout", async () => {
  await withFixtureDb(async (db) => {
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "export", "--db", db, "--kind", "nope"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /error: Cannot parse --kind "nope"/);
    const good = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "export", "--db", db, "--room", String(ROOM_B)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(good.code, 0, new TextDecoder().decode(good.stderr));
    assert.equal(new TextDecoder().decode(good.stdout).split("\r\n").length, 4);
  });
});

Deno.test("CSV and JSONL export uids beyond 2^53 exactly (JSONL as bare numbers) and hash them as the integers they are", async () => {
  await withFixtureDb(async (db) => {
    const big = ["9007199254740993", "9223372036854775807", "-9007199254740993"];
    {
      using conn = new DatabaseSync(db);
      const ids = conn.prepare("SELECT id FROM danmaku ORDER BY id LIMIT 3").all().map((r) =>
        Number(r.id)
      );
      // SQL text: a JavaScript number cannot even hold these values.
      ids.forEach((id, i) => conn.exec(`UPDATE danmaku SET uid = ${big[i]} WHERE id = ${id}`));
    }
    const csv = (await exportText(["--db", db, "--format", "csv"])).stdout.split("\r\n");
    const uidAt = csv[0].split(",").indexOf("uid");
    assert.deepEqual(csv.slice(1, 4).map((line) => line.split(",")[uidAt]), big);

    const jsonl = (await exportText(["--db", db, "--format", "jsonl"])).stdout.split("\n");
    for (let i = 0; i < 3; i++) assert.match(jsonl[i], new RegExp(`"uid":${big[i]},`));
    assert.equal(typeof JSON.parse(jsonl[3]).uid, "number", "ordinary uids stay numbers");

    const hashed = (await exportText(["--db", db, "--format", "jsonl", "--hash-uids", SALT]))
      .stdout.split("\n").slice(0, 3).map((line) => JSON.parse(line).uid);
    const hasher = new UidHasher(SALT);
    assert.deepEqual(hashed, big.map((uid) => hasher.hash(BigInt(uid))));
  });
});
