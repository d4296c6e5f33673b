/**
 * Sizes such as `64MB`, `1GB`, `512MiB` or `1000000` (bytes): KB, MB and GB are powers of
 * 1000, KiB, MiB and GiB powers of 1024; units are case-insensitive.
 */

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Whole bytes for `text`, or undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = UNITS[(match[2] ?? "b").toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isInteger(bytes) ? bytes : undefined;
}

/** Bytes as megabytes (10^6) with one decimal, as log lines and the status line show them. */
export function formatMegabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
