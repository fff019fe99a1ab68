// The feed keyword automaton against a plain substring scan, in many scripts and on generated input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeywordMatcher, normalizeForMatch } from '../../src/core/keyword-matcher.js';

/** The obvious (slow) answer: every payload whose keyword is a substring of the normalized text. */
function naive(entries: { keyword: string; payload: string }[], text: string): string[] {
  const t = normalizeForMatch(text);
  const out: string[] = [];
  for (const e of entries) {
    const k = normalizeForMatch(e.keyword);
    if (k.length > 0 && t.includes(k) && !out.includes(e.payload)) out.push(e.payload);
  }
  return out;
}

describe('KeywordMatcher', () => {
  const entries = [
    { keyword: 'deploy', payload: 'ops' },
    { keyword: 'Release', payload: 'rel' },
    { keyword: 'he', payload: 'he' },
    { keyword: 'she', payload: 'she' },
    { keyword: 'his', payload: 'his' },
    { keyword: 'hers', payload: 'hers' },
    { keyword: '持久聊天', payload: 'zh' },
    { keyword: '聊天', payload: 'zh2' },
    { keyword: 'レビュー', payload: 'ja' },
    { keyword: 'объявление', payload: 'ru' },
    { keyword: 'مرحبا', payload: 'ar' },
    { keyword: 'straße', payload: 'de' },
    { keyword: '🚀', payload: 'rocket' },
    { keyword: 'नमस्ते', payload: 'hi' },
  ];
  const m = new KeywordMatcher(entries);
  const cases: [string, string][] = [
    ['ushers', 'overlapping keywords (the textbook case)'],
    ['We DEPLOY the release tonight', 'case-insensitive, several keywords'],
    ['我们在持久聊天室里讨论架构', 'Chinese, nested keywords'],
    ['コードレビューをお願いします', 'Japanese'],
    ['Важное ОБЪЯВЛЕНИЕ для всех', 'Cyrillic, upper case'],
    ['قال مرحبا للجميع', 'Arabic'],
    ['Die STRASSE ist gesperrt', 'German sharp s against SS'],
    ['ｄｅｐｌｏｙ in fullwidth', 'fullwidth letters (NFKC)'],
    ['launch 🚀 now', 'emoji'],
    ['नमस्ते दुनिया', 'Devanagari'],
    ['nothing to see', 'no match'],
    ['', 'empty text'],
  ];
  for (const [text, what] of cases) {
    test(what, () => assert.deepEqual(m.match(text).sort(), naive(entries, text).sort()));
  }
  test('a payload matched by two keywords is reported once', () => {
    const two = new KeywordMatcher([
      { keyword: 'alpha', payload: 1 },
      { keyword: 'beta', payload: 1 },
    ]);
    assert.deepEqual(two.match('alpha beta alpha'), [1]);
  });
  test('empty keywords are ignored', () => {
    const e = new KeywordMatcher([{ keyword: '', payload: 'x' }]);
    assert.equal(e.size, 0);
    assert.deepEqual(e.match('anything'), []);
  });

  test('agrees with a substring scan on generated keywords and texts', () => {
    // a small alphabet makes overlaps and shared prefixes common; a seeded generator keeps it repeatable
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ['a', 'b', 'A', 'B', 'ß', 'é', 'e\u0301', '聊', '天', 'у', ' '];
    const word = (max: number) => Array.from({ length: 1 + rnd(max) }, () => alphabet[rnd(alphabet.length)]).join('');
    for (let round = 0; round < 200; round++) {
      const es = Array.from({ length: 1 + rnd(30) }, (_, i) => ({ keyword: word(5), payload: `p${i % 7}` }));
      const am = new KeywordMatcher(es);
      for (let j = 0; j < 5; j++) {
        const text = word(60);
        assert.deepEqual(am.match(text).sort(), naive(es, text).sort(), `keywords ${JSON.stringify(es)} text ${text}`);
      }
    }
  });
});
