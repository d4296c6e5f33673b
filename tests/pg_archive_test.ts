/**
 * A billion-row archive stays queryable by time: the `--since`/`--until` filter of every
 * exportable table (the exact WHERE export and stats send) can be answered from a BRIN index
 * instead of reading the whole table.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { EXPORT_KINDS, EXPORT_TABLES, whereClause } from "../src/export/export_tables.ts";
import { numberPlaceholders } from "../src/storage/pg_reader.ts";
import { PgStore } from "../src/storage/pg_store.ts";
import { testDatabase, withoutPostgres } from "./support/postgres.ts";

Deno.test({
  name: "every exported table's time range filter is answered by a BRIN index in PostgreSQL",
  ignore: withoutPostgres,
}, async () => {
  await using db = await testDatabase();
  {
    await using _store = await PgStore.open(db.url); // creates the schema
  }
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    // The tables are empty: forbid the sequential scan so the plan shows what could serve.
    await sql.unsafe("SET enable_seqscan = off");
    for (const kind of EXPORT_KINDS) {
      const table = EXPORT_TABLES[kind];
      const where = whereClause(table.timeSql, {
        rooms: undefined,
        sinceMs: 1_767_225_600_000,
        untilMs: 1_769_904_000_000,
      });
      const plan = await sql.unsafe(
        `EXPLAIN SELECT * FROM ${kind}${numberPlaceholders(where.sql)}`,
        where.params,
      );
      const text = plan.map((row) => String(row["QUERY PLAN"])).join("\n");
      assert.match(text, /Bitmap Index Scan on \w+_brin/, `${kind} (${table.timeSql}):\n${text}`);
    }
  } finally {
    await sql.end();
  }
});
