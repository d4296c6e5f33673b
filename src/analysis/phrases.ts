/** Phrase normalization for "top phrases": variants of one phrase count as one. */

/**
 * NFKC (full-width → half-width), lower case, whitespace runs → one space, trimmed, and runs of
 * one character longer than 3 cut to 3 (`哈哈哈哈哈` → `哈哈哈`, `2333333` → `2333`).
 */
export function normalizePhrase(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim()
    .replace(/(.)\1{3,}/gsu, "$1$1$1");
}

/**
 * Orders strings by code point, as SQLite's BINARY collation (UTF-8 bytes) and PostgreSQL's "C"
 * do; JavaScript's `<` compares UTF-16 units, which puts U+10000 and above before U+E000–U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 unit moved so that surrogates (code points ≥ U+10000) sort after U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** A phrase and how many danmaku said it. */
export interface PhraseCount {
  phrase: string;
  count: number;
}

/**
 * Counts danmaku by normalized phrase, fed with distinct texts and their counts (a GROUP BY
 * text of the database), so each distinct text is normalized once. Memory grows with the
 * distinct phrases of one room, not with its danmaku.
 */
export class PhraseCounter {
  #counts = new Map<string, number>();

  /** Adds `count` danmaku whose text is `text`. */
  add(text: string, count: number): void {
    const phrase = normalizePhrase(text);
    if (phrase === "") return;
    this.#counts.set(phrase, (this.#counts.get(phrase) ?? 0) + count);
  }

  /** The `n` most said phrases, most first; ties in code point order of the phrase. */
  top(n: number): PhraseCount[] {
    const best: PhraseCount[] = [];
    if (n <= 0) return best;
    const before = (a: PhraseCount, b: PhraseCount) =>
      a.count !== b.count ? a.count > b.count : compareCodePoints(a.phrase, b.phrase) < 0;
    for (const [phrase, count] of this.#counts) {
      const entry = { phrase, count };
      if (best.length === n && !before(entry, best[n - 1])) continue;
      let lo = 0;
      let hi = best.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before(best[mid], entry)) lo = mid + 1;
        else hi = mid;
      }
      best.splice(lo, 0, entry);
      if (best.length > n) best.pop();
    }
    return best;
  }
}
