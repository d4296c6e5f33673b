/**
 * CSV per RFC 4180: fields separated by commas, records ended by CRLF (also Python's `csv`
 * default), a field quoted when it holds a quote, comma, CR, LF or tab or starts or ends with
 * a space, quotes inside doubled. NULL is an empty unquoted field, "" a quoted empty one.
 */

/** Line ending of every CSV record (RFC 4180 §2.1, Python `csv` default). */
export const CSV_EOL = "\r\n";

/** UTF-8 byte order mark, so Excel reads the file as UTF-8 (`--bom`). */
export const UTF8_BOM = "\uFEFF";

const NEEDS_QUOTES = /[",\r\n\t]|^\s|\s$/;

/** One CSV field: numbers as JavaScript prints them, null as empty, text quoted when needed. */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  if (value === "") return '""';
  if (!NEEDS_QUOTES.test(value)) return value;
  return `"${value.replaceAll('"', '""')}"`;
}

/** One CSV record including its CRLF. */
export function csvRecord(values: readonly (string | number | null)[]): string {
  let line = "";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ",";
    line += csvField(values[i]);
  }
  return line + CSV_EOL;
}
