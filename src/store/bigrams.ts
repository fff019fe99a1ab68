// Two-character search terms in Chinese, Japanese and Korean. The trigram index cannot match a term shorter
// than three characters, and many CJK words are two. These texts have no spaces between words, so every pair
// of adjacent CJK characters is indexed as a token of its own (a "bigram") in a second FTS5 table.

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

export function isCjkBigram(term: string): boolean {
  const chars = [...term];
  return chars.length === 2 && chars.every((c) => CJK.test(c));
}

/** The distinct pairs of adjacent CJK characters in `text`, space-separated (one FTS5 token each). */
export function cjkBigrams(text: string | null | undefined): string {
  if (!text) return '';
  const out = new Set<string>();
  let prev = '';
  for (const c of text) {
    if (CJK.test(c)) {
      if (prev) out.add(prev + c);
      prev = c;
    } else prev = '';
  }
  return [...out].join(' ');
}
