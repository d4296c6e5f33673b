/**
 * The SQLite schema, generated from the row table in rows.ts (docs/schema.md describes
 * every column). Versioned with `PRAGMA user_version`; `PRAGMA application_id` marks the file as ours
 * so the store refuses to touch someone else's database. Every version after the first is
 * reached from the one before by the migration below, derived from the same table, so a
 * database upgraded step by step has the tables, columns and indexes of a new one.
 */
import {
  columnDefinition,
  type ColumnSpec,
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

/** How one engine writes a table and a column (SQLite here, PostgreSQL in pg_schema.ts). */
export interface DdlDialect {
  /** CREATE TABLE and CREATE INDEX of one spec at `version` (none when the table is newer). */
  createStatements(spec: RowSpec<never>, version: number): string[];
  /** A column as CREATE TABLE and ALTER TABLE … ADD COLUMN write it. */
  columnDefinition(column: ColumnSpec<never>): string;
}

/** SQLite's DDL. */
export const SQLITE_DDL: DdlDialect = { createStatements, columnDefinition };

function script(statements: readonly string[]): string {
  return statements.map((statement) => `${statement};\n`).join("");
}

/** DDL of schema version `version` (run in one transaction on an empty database). */
export function schemaSql(version: number = SCHEMA_VERSION, dialect = SQLITE_DDL): string {
  return script(SPECS.flatMap((spec) => dialect.createStatements(spec, version)));
}

/** DDL of the current schema version. */
export const SCHEMA_SQL: string = schemaSql();

/**
 * What turns a version-`version - 1` database into version `version`: the tables that came in
 * `version` (with their indexes), then the columns and indexes that came in `version` added to
 * older tables. No statement rewrites or drops a row.
 */
export function migrationSql(version: number, dialect = SQLITE_DDL): string {
  const statements: string[] = [];
  for (const spec of SPECS) {
    if (spec.since === version) {
      statements.push(...dialect.createStatements(spec, version));
    } else if (existsAt(spec.since, version - 1)) {
      for (const column of spec.columns) {
        if (column.since === version) {
          statements.push(
            `ALTER TABLE ${spec.table} ADD COLUMN ${dialect.columnDefinition(column)}`,
          );
        }
      }
      for (const index of spec.indexes) {
        if (index.since === version) statements.push(indexStatement(spec.table, index));
      }
    }
  }
  return script(statements);
}
