/** Turns rows of an export query (arrays in column order) into CSV records or JSON lines. */
import type { ReadValue } from "../storage/read_store.ts";
import { CSV_EOL, csvField, csvRecord } from "./csv.ts";
import { type ExportColumn, type ExportTable, isStoredInteger } from "./export_tables.ts";
import { isoTime } from "./time_flag.ts";
import type { UidHasher } from "./uid_hasher.ts";

/** A value as written: JSON-compatible scalars only. */
export type CellValue = string | number | null;

/** Text formats of `export`. */
export type RowFormat = "csv" | "jsonl";

type Convert = (value: ReadValue) => CellValue;

function scalar(value: ReadValue): CellValue {
  if (value === null || typeof value === "string" || typeof value === "number") return value;
  if (typeof value === "bigint") return value.toString();
  return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
}

function converter(column: ExportColumn, hasher: UidHasher | undefined): Convert {
  if (column.role === "time") return (v) => typeof v === "number" ? isoTime(v) : scalar(v);
  if (hasher === undefined) return scalar;
  if (column.role === "private") return () => null;
  if (column.role === "uid") {
    // Beyond 2^53 a uid arrives as a bigint, or from SQLite as its decimal text (exportQuery):
    // hash the same integer.
    return (v) =>
      typeof v === "number" || typeof v === "bigint"
        ? hasher.hash(v)
        : typeof v === "string"
        ? hasher.hash(BigInt(v))
        : scalar(v);
  }
  return scalar;
}

/** The CSV header record of `table`. */
export function csvHeader(table: ExportTable): string {
  return csvRecord(table.columns.map((c) => c.name));
}

/** A function rendering one row as a CSV record (with CRLF) or a JSON line (with LF). */
export function rowEncoder(
  table: ExportTable,
  format: RowFormat,
  hasher?: UidHasher,
): (row: readonly ReadValue[]) => string {
  const converts = table.columns.map((c) => converter(c, hasher));
  const n = converts.length;
  if (format === "csv") {
    return (row) => {
      let line = csvField(converts[0](row[0]));
      for (let i = 1; i < n; i++) line += "," + csvField(converts[i](row[i]));
      return line + CSV_EOL;
    };
  }
  const keys = table.columns.map((c, i) => `${i === 0 ? "{" : ","}${JSON.stringify(c.name)}:`);
  // An integer beyond 2^53 arrives as decimal text: JSON gets it as a bare, exact number.
  const bareText = table.columns.map((c) =>
    isStoredInteger(c) && !(hasher !== undefined && (c.role === "uid" || c.role === "private"))
  );
  return (row) => {
    let line = "";
    for (let i = 0; i < n; i++) {
      const value = converts[i](row[i]);
      line += keys[i] + (bareText[i] && typeof value === "string" ? value : jsonValue(value));
    }
    return line + "}\n";
  };
}

function jsonValue(value: CellValue): string {
  if (value === null) return "null";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  return JSON.stringify(value);
}
