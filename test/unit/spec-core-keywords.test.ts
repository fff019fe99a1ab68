// Specification of the feed keyword matcher (src/core/keyword-matcher.ts): what counts as a match (case and
// compatibility folding), how many keywords it holds, the order payloads come back in, and agreement with a plain
// substring scan on keyword sets whose automaton needs long chains of fall-back links.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeywordMatcher, normalizeForMatch } from '../../src/core/keyword-matcher.js';

const kw = (...keywords: string[]) => keywords.map((keyword) => ({ keyword, payload: keyword }));

/** The obvious answer, in keyword order: every keyword that is a substring of the folded text. */
function scan(keywords: string[], text: string): string[] {
  const t = normalizeForMatch(text);
  return keywords.filter((k) => normalizeForMatch(k).length > 0 && t.includes(normalizeForMatch(k)));
}

describe('normalizeForMatch: full case folding after NFKC', () => {
  const cases: [string, string][] = [
    ['DEPLOY', 'deploy'],
    ['Straße', 'strasse'],
    ['ＳＴＲＡＳＳＥ', 'strasse'],
    ['ﬁle', 'file'],
    ['İzmir', 'i\u0307zmir'],
  ];
  for (const [input, want] of cases) test(`${input} → ${want}`, () => assert.equal(normalizeForMatch(input), want));
});

describe('what a keyword matches', () => {
  const cases: [string, string[], string, string[]][] = [
    ['any case', ['Release'], 'the RELEASE is out', ['Release']],
    ['ß against SS', ['straße'], 'STRASSE closed', ['straße']],
    ['a dotted capital I against i with a combining dot', ['İzmir'], 'office in i\u0307zmir', ['İzmir']],
    ['fullwidth letters', ['deploy'], 'ｄｅｐｌｏｙ now', ['deploy']],
    ['a keyword inside a longer one', ['abcd', 'bc'], 'xabcdx', ['abcd', 'bc']],
    ['the textbook overlap', ['he', 'she', 'his', 'hers'], 'ushers', ['he', 'she', 'hers']],
    // reaching "cd" from inside "abcd" needs two fall-back steps: abc → bc (no d) → c (has d)
    ['a match found through two fall-back links', ['abcd', 'bce', 'cd'], 'abcd', ['abcd', 'cd']],
    ['a match found through two fall-back links, in the text', ['abcd', 'bce', 'cd'], 'zabcbcd', ['cd']],
    ['fall-back into a keyword that repeats its own start', ['aab', 'ab'], 'aaab', ['aab', 'ab']],
    ['no match', ['deploy'], 'nothing here', []],
    ['empty text', ['deploy'], '', []],
  ];
  for (const [what, keywords, text, want] of cases) {
    test(what, () => {
      assert.deepEqual(new KeywordMatcher(kw(...keywords)).match(text), want);
      assert.deepEqual(scan(keywords, text), want, 'the table agrees with a substring scan');
    });
  }
});

describe('size and payload order', () => {
  test('size counts the non-empty keywords given', () => {
    assert.equal(new KeywordMatcher(kw('a', 'b', 'c')).size, 3);
    assert.equal(new KeywordMatcher(kw('a', '', 'c')).size, 2);
    assert.equal(new KeywordMatcher(kw()).size, 0);
  });
  test('an empty keyword matches nothing', () => {
    assert.deepEqual(new KeywordMatcher(kw('', 'zz')).match('some text'), []);
  });
  test('payloads come back in the order their keywords were given, not the order found in the text', () => {
    const m = new KeywordMatcher(kw('zulu', 'yankee', 'xray', 'whiskey'));
    assert.deepEqual(m.match('whiskey xray yankee zulu'), ['zulu', 'yankee', 'xray', 'whiskey']);
    assert.deepEqual(m.match('xray, then zulu'), ['zulu', 'xray']);
  });
  test('a payload shared by several keywords comes once, at the place of its first keyword that matched', () => {
    const m = new KeywordMatcher([
      { keyword: 'alpha', payload: 'A' },
      { keyword: 'beta', payload: 'B' },
      { keyword: 'gamma', payload: 'A' },
    ]);
    assert.deepEqual(m.match('gamma beta'), ['B', 'A']);
    assert.deepEqual(m.match('gamma beta alpha'), ['A', 'B']);
  });
});

describe('agreement with a substring scan where fall-back chains are long', () => {
  test('every keyword over {a, b} up to length 4, against every text over {a, b} up to length 7', () => {
    const words = (max: number): string[] => {
      const out: string[] = [];
      let layer = [''];
      for (let n = 1; n <= max; n++) {
        layer = layer.flatMap((w) => [`${w}a`, `${w}b`]);
        out.push(...layer);
      }
      return out;
    };
    // several keyword sets: the whole dictionary, and slices of it (different trie shapes and fail targets)
    const dict = words(4);
    const sets = [dict, dict.filter((_, i) => i % 3 === 0), dict.filter((_, i) => i % 5 === 2), dict.slice(6)];
    const texts = words(7);
    for (const keys of sets) {
      const m = new KeywordMatcher(kw(...keys));
      for (const t of texts) assert.deepEqual(m.match(t), scan(keys, t), `text ${t}`);
    }
  });
});
