/**
 * What each export kind contains, derived from the row table (storage/rows.ts): its table, the
 * columns in output order (docs/export.md lists them), the expression that is the
 * row's time (for `--since`/`--until` and the `time` column), and how `--hash-uids` treats each
 * column.
 */
import { type ExportSpec, ROW_SPECS, type RowSpec, type SqlType } from "../storage/rows.ts";

type ExportableSpec = Extract<typeof ROW_SPECS[keyof typeof ROW_SPECS], { export: ExportSpec }>;

/** One exportable table (`export --kind`). */
export type ExportKind = ExportableSpec["table"];

/**
 * How a column is written: `plain` as stored; `time` as ISO 8601 UTC of a unix-ms value;
 * under `--hash-uids`, `uid` columns become salted hashes and `private` columns (viewer names,
 * keys and raw JSON that contain uids, the CRC32 user hash) become NULL.
 */
export type ColumnRole = "plain" | "time" | "uid" | "private";

/** One output column. */
export interface ExportColumn {
  /** Header / JSON key. */
  name: string;
  /** SQL expression selecting it. */
  sql: string;
  /** How it is written. */
  role: ColumnRole;
  /** Stored SQL type (`time`: INTEGER, unix ms). */
  sqlType: SqlType;
  /** Whether the database allows NULL here (`time` never is: it falls back to received_at_ms). */
  nullable: boolean;
}

/** The columns and time of one kind. */
export interface ExportTable {
  kind: ExportKind;
  /** SQL expression giving the row's time in unix ms. */
  timeSql: string;
  columns: readonly ExportColumn[];
}

/** The lead columns of `spec.export`, then every other stored column in table order. */
function exportTable(spec: RowSpec<never> & { export: ExportSpec }): ExportTable {
  const { timeSql, lead } = spec.export;
  const stored = new Map(spec.columns.map((c) => [c.name, c]));
  const unknown = lead.filter((name) => name !== "time" && !stored.has(name));
  if (unknown.length > 0) {
    throw new TypeError(`Export of "${spec.table}" leads with unknown columns ${unknown}`);
  }
  const names = [...lead, ...[...stored.keys()].filter((name) => !lead.includes(name))];
  return {
    kind: spec.table as ExportKind,
    timeSql,
    columns: names.map((name): ExportColumn => {
      if (name === "time") {
        return { name, sql: timeSql, role: "time", sqlType: "INTEGER", nullable: false };
      }
      const column = stored.get(name)!;
      return {
        name,
        sql: name,
        role: column.privacy ?? "plain",
        sqlType: column.sqlType,
        nullable: column.primaryKey !== true && column.nullable,
      };
    }),
  };
}

const SPECS: readonly (RowSpec<never> & { export: ExportSpec })[] = Object.values(ROW_SPECS)
  .filter((spec): spec is ExportableSpec => "export" in spec);

/** Column layout of every kind. */
export const EXPORT_TABLES: Readonly<Record<ExportKind, ExportTable>> = Object.fromEntries(
  SPECS.map((spec) => [spec.table, exportTable(spec)]),
) as Record<ExportKind, ExportTable>;

/** Kinds `export --kind` accepts, one per message table, in schema order. */
export const EXPORT_KINDS: readonly ExportKind[] = SPECS.map((spec) => spec.table as ExportKind);

/** A selection of rows: rooms (all when undefined) and a half-open time range. */
export interface RowFilter {
  rooms: readonly number[] | undefined;
  sinceMs: number | undefined;
  untilMs: number | undefined;
}

/**
 * `room_id IN (?, …)` with one placeholder per room; no room at all is `1 = 0`, since
 * PostgreSQL (unlike SQLite) refuses an empty `IN ()`.
 */
export function roomIdIn(rooms: readonly number[]): string {
  return rooms.length === 0 ? "1 = 0" : `room_id IN (${rooms.map(() => "?").join(", ")})`;
}

/** A WHERE clause (or "") and its parameters for `filter` on a table whose time is `timeSql`. */
export function whereClause(
  timeSql: string,
  filter: RowFilter,
): { sql: string; params: number[] } {
  const parts: string[] = [];
  const params: number[] = [];
  if (filter.rooms !== undefined) {
    parts.push(roomIdIn(filter.rooms));
    params.push(...filter.rooms);
  }
  if (filter.sinceMs !== undefined) {
    parts.push(`${timeSql} >= ?`);
    params.push(filter.sinceMs);
  }
  if (filter.untilMs !== undefined) {
    parts.push(`${timeSql} < ?`);
    params.push(filter.untilMs);
  }
  return { sql: parts.length === 0 ? "" : ` WHERE ${parts.join(" AND ")}`, params };
}

/** Options of {@linkcode exportQuery}. */
export interface ExportQueryOptions {
  /**
   * Select uids beyond ±2^53 as their decimal text, so a reader of JavaScript numbers gets them
   * exactly (node:sqlite refuses to read them as numbers). Only uids grow that large (16 digits
   * today); the check costs ≈ 4 % of a CSV export per column, so callers ask
   * {@linkcode bigUidQuery} first. @default {false}
   */
  bigIntegersAsText?: boolean;
}

/** Whether a column holds INTEGER values as stored (the `time` column is converted). */
export function isStoredInteger(column: ExportColumn): boolean {
  return column.sqlType === "INTEGER" && column.role !== "time";
}

const OUTSIDE_SAFE = (sql: string) =>
  `${sql} NOT BETWEEN -${Number.MAX_SAFE_INTEGER} AND ${Number.MAX_SAFE_INTEGER}`;

/**
 * A query whose one row holds 1 when a selected row has a uid beyond ±2^53 (else 0): one scan,
 * a small part of an export's time.
 */
export function bigUidQuery(table: ExportTable, filter: RowFilter): {
  sql: string;
  params: number[];
} {
  const where = whereClause(table.timeSql, filter);
  const uids = table.columns.filter((c) => c.role === "uid").map((c) => OUTSIDE_SAFE(c.sql));
  const big = uids.length === 0 ? "0" : uids.join(" OR ");
  const sql = `SELECT EXISTS (SELECT 1 FROM ${table.kind}${
    where.sql === "" ? " WHERE" : `${where.sql} AND`
  } (${big}))`;
  return { sql, params: where.params };
}

/** The SELECT of an export: the table's columns in output order, in insertion order. */
export function exportQuery(
  table: ExportTable,
  filter: RowFilter,
  options: ExportQueryOptions = {},
): { sql: string; params: number[] } {
  const where = whereClause(table.timeSql, filter);
  const select = table.columns.map((c) =>
    options.bigIntegersAsText && c.role === "uid"
      ? `CASE WHEN ${OUTSIDE_SAFE(c.sql)} THEN CAST(${c.sql} AS TEXT) ELSE ${c.sql} END`
      : c.sql
  );
  return {
    sql: `SELECT ${select.join(", ")} FROM ${table.kind}${where.sql}
      ORDER BY id`,
    params: where.params,
  };
}
