/**
 * The SQLite schema, generated from the row table in rows.ts (docs/schema.md describes
 * every column). Versioned with `PRAGMA user_version`; `PRAGMA application_id` marks the file as ours
 * so the store refuses to touch someone else's database. Every version after the first is
 * reached from the one before by the migration below, derived from the same table, so a
 * database upgraded step by step has the tables, columns and indexes of a new one.
 */
import {
  columnDefinition,
  createStatements,
  existsAt,
  indexStatement,
  ROW_SPECS,
  type RowSpec,
} from "./rows.ts";

export { TABLE_NAMES, type TableName } from "./rows.ts";

/** Schema version this program writes (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 3;

/** `PRAGMA application_id` of a danmaku database: "BDMK" in ASCII. */
export const APPLICATION_ID = 0x42444d4b;

const SPECS: readonly RowSpec<never>[] = Object.values(ROW_SPECS);

/** DDL of schema version `version` (run in one transaction on an empty database). */
export function schemaSql(version: number = SCHEMA_VERSION): string {
  return SPECS.flatMap((spec) => createStatements(spec, version))
    .map((statement) => `${statement};\n`)
    .join("");
}

/** DDL of the current schema version. */
export const SCHEMA_SQL: string = schemaSql();

/**
 * What turns a version-`version - 1` database into version `version`: the tables that came in
 * `version` (with their indexes), then the columns and indexes that came in `version` added to
 * older tables. No statement rewrites or drops a row.
 */
export function migrationSql(version: number): string {
  const statements: string[] = [];
  for (const spec of SPECS) {
    if (spec.since === version) {
      statements.push(...createStatements(spec, version));
    } else if (existsAt(spec.since, version - 1)) {
      for (const column of spec.columns) {
        if (column.since === version) {
          statements.push(`ALTER TABLE ${spec.table} ADD COLUMN ${columnDefinition(column)}`);
        }
      }
      for (const index of spec.indexes) {
        if (index.since === version) statements.push(indexStatement(spec.table, index));
      }
    }
  }
  return statements.map((statement) => `${statement};\n`).join("");
}
