/**
 * The Parquet types of an export kind, derived from its columns (export_tables.ts, which takes
 * them from storage/rows.ts): INTEGER → INT64, REAL → DOUBLE, TEXT → UTF-8 string, the `time`
 * column → TIMESTAMP(MILLIS, UTC); nullable exactly where the database allows NULL. Under
 * `--hash-uids`, uid columns hold hashes (strings) and private columns are all NULL.
 */
import type { SchemaElement } from "hyparquet-writer";
import type { ExportColumn, ExportTable } from "./export_tables.ts";

/** The value type of one Parquet column. */
export type ParquetValueType = "INT64" | "DOUBLE" | "STRING" | "TIMESTAMP_MILLIS";

/** One column of an export file as Parquet sees it. */
export interface ParquetColumn {
  /** Column name, the CSV header's. */
  name: string;
  /** Value type. */
  type: ParquetValueType;
  /** OPTIONAL when true, REQUIRED when false. */
  nullable: boolean;
}

/** The Parquet column of `column`; `hashed` when `--hash-uids` is on. */
export function parquetColumn(column: ExportColumn, hashed: boolean): ParquetColumn {
  const { name } = column;
  if (column.role === "time") return { name, type: "TIMESTAMP_MILLIS", nullable: false };
  const stored: ParquetValueType = column.sqlType === "INTEGER"
    ? "INT64"
    : column.sqlType === "REAL"
    ? "DOUBLE"
    : "STRING";
  if (hashed && column.role === "uid") return { name, type: "STRING", nullable: column.nullable };
  if (hashed && column.role === "private") return { name, type: stored, nullable: true };
  return { name, type: stored, nullable: column.nullable };
}

/** The Parquet columns of `table`, in output order. */
export function parquetColumns(table: ExportTable, hashed: boolean): ParquetColumn[] {
  return table.columns.map((column) => parquetColumn(column, hashed));
}

/** The schema element of one column (physical, converted and logical type, repetition). */
export function schemaElement(column: ParquetColumn): SchemaElement {
  const repetition_type = column.nullable ? "OPTIONAL" : "REQUIRED";
  const { name } = column;
  switch (column.type) {
    case "INT64":
      return { name, repetition_type, type: "INT64" };
    case "DOUBLE":
      return { name, repetition_type, type: "DOUBLE" };
    case "STRING":
      return {
        name,
        repetition_type,
        type: "BYTE_ARRAY",
        converted_type: "UTF8",
        logical_type: { type: "STRING" },
      };
    case "TIMESTAMP_MILLIS":
      return {
        name,
        repetition_type,
        type: "INT64",
        converted_type: "TIMESTAMP_MILLIS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
      };
  }
}

/** The whole file schema: the root, then one element per column. */
export function parquetSchema(columns: readonly ParquetColumn[]): SchemaElement[] {
  return [{ name: "schema", num_children: columns.length }, ...columns.map(schemaElement)];
}
