/**
 * The SQLite schema, generated from the row table in rows.ts (docs/schema.md describes
 * every column). Versioned with `PRAGMA user_version`; `PRAGMA application_id` marks the file as ours
 * so the store refuses to touch someone else's database.
 */
import { createStatements, ROW_SPECS } from "./rows.ts";

export { TABLE_NAMES, type TableName } from "./rows.ts";

/** Schema version this program writes (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 1;

/** `PRAGMA application_id` of a danmaku database: "BDMK" in ASCII. */
export const APPLICATION_ID = 0x42444d4b;

/** DDL of schema version 1 (run in one transaction on an empty database). */
export const SCHEMA_SQL: string = Object.values(ROW_SPECS)
  .flatMap((spec) => createStatements(spec))
  .map((statement) => `${statement};\n`)
  .join("");
