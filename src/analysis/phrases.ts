/** Phrase normalization for "top phrases": variants of one phrase count as one. */

/**
 * NFKC (full-width → half-width), lower case, whitespace runs → one space, trimmed, and runs of
 * one character longer than 3 cut to 3 (`哈哈哈哈哈` → `哈哈哈`, `2333333` → `2333`).
 */
export function normalizePhrase(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim()
    .replace(/(.)\1{3,}/gsu, "$1$1$1");
}
