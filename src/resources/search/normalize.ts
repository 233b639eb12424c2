/**
 * Text normalization for string search. FHIR R4 search.html#string: "the
 * search is case-insensitive and accent-insensitive". Lowercase first (so
 * that e.g. U+0130 decomposes too), NFKD, drop combining marks (Unicode
 * category M), drop apostrophes so O'Brien is one word, and turn any other
 * run of non-letters/digits into one space, so Smith-Jones is two words.
 */
export function normalizeText(value: string): string {
  return value
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/['\u2019\u02bc]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The words of a normalized value. */
export function wordsOf(normalized: string): string[] {
  return normalized === '' ? [] : normalized.split(' ');
}
