// Look-alike names (issue #9 item 10): validateName refuses invisible, bidi and mixed-script names; nameKey gives
// names that look alike one key. Table-driven, many variants.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { nameKey, validateName } from '../../src/core/rules.js';

const refused = (input: string, field = 'name') => {
  assert.throws(
    () => validateName(input, field),
    (e: unknown) => e instanceof PchatError && e.code === 'INVALID_VALUE' && e.field === field,
    `${JSON.stringify(input)} must be refused`,
  );
};

describe('validateName refuses invisible and bidirectional characters', () => {
  const invisible: [string, string][] = [
    ['zero-width space', '\u200b'],
    ['zero-width non-joiner between Latin letters', '\u200c'],
    ['zero-width joiner between Latin letters', '\u200d'],
    ['word joiner', '\u2060'],
    ['byte order mark', '\ufeff'],
    ['soft hyphen', '\u00ad'],
    ['left-to-right mark', '\u200e'],
    ['right-to-left mark', '\u200f'],
    ['Arabic letter mark', '\u061c'],
    ['left-to-right embedding', '\u202a'],
    ['right-to-left embedding', '\u202b'],
    ['pop directional formatting', '\u202c'],
    ['left-to-right override', '\u202d'],
    ['right-to-left override', '\u202e'],
    ['left-to-right isolate', '\u2066'],
    ['right-to-left isolate', '\u2067'],
    ['first strong isolate', '\u2068'],
    ['pop directional isolate', '\u2069'],
    ['invisible times', '\u2062'],
    ['Mongolian vowel separator', '\u180e'],
    ['combining grapheme joiner', '\u034f'],
    ['Hangul filler', '\u3164'],
    ['Hangul choseong filler', '\u115f'],
    ['variation selector 1 after a letter', '\ufe00'],
    ['emoji variation selector after a Latin letter', '\ufe0f'],
    ['tag character', '\u{e0041}'],
    ['NUL', '\u0000'],
    ['DEL', '\u007f'],
    ['C1 control', '\u0085'],
    ['line separator', '\u2028'],
    ['paragraph separator', '\u2029'],
    ['private-use character', '\ue000'],
    ['lone surrogate', '\ud800'],
    ['tab', '\t'],
    ['newline', '\n'],
  ];
  for (const [what, ch] of invisible) {
    test(`${what} inside, at the start and at the end`, () => {
      refused(`Lob${ch}by`);
      refused(`${ch}Lobby`);
      refused(`Lobby${ch}`);
    });
  }
  test('a right-to-left override that displays as "Lobby"', () => refused('\u202eybboL'));
  test('the error names the field it was given', () => refused('Lob\u200bby', 'displayName'));
  test('the message says which character, by code point', () => {
    assert.throws(() => validateName('a\u202eb'), /U\+202E/);
    assert.throws(() => validateName('a\u200bb'), /U\+200B/);
  });
});

describe('validateName keeps what scripts and emoji need', () => {
  const kept: [string, string][] = [
    ['emoji family (ZWJ sequence)', '👨\u200d👩\u200d👧 Family'],
    ['emoji with presentation selector', '❤\ufe0f Love'],
    ['flag (regional indicators)', '🇫🇷 Paris'],
    ['skin tone modifier', '👍🏽 Votes'],
    ['Devanagari with ZWJ after a virama', 'क्\u200dष'],
    ['Persian with ZWNJ after a mark', 'می\u0651\u200cخواهم'],
    ['Japanese', '設計レビュー'],
    ['Arabic (right-to-left text without controls)', 'غرفة الاجتماعات'],
    ['Hebrew', 'חדר ישיבות'],
    ['Cyrillic word', 'Лобби'],
    ['Greek word', 'Αίθουσα'],
    ['Latin and Cyrillic in different words', 'Windows ХР'],
    ['Latin with digits and punctuation', 'Q3-Planning_2026 (draft)'],
    ['accented Latin', 'Équipe Zürich'],
  ];
  for (const [what, name] of kept) test(what, () => assert.equal(validateName(name), name.normalize('NFC')));
});

describe('validateName: look-alikes within one word', () => {
  const mixed: [string, string][] = [
    ['Cyrillic у in a Latin word', 'Lobbу'],
    ['Cyrillic о in a Latin word', 'Lоbby'],
    ['Cyrillic а in PayPal', 'Pаypal'],
    ['Greek ο in a Latin word', 'Lοbby'],
    ['Latin a in a Cyrillic word', 'Лобaи'],
    ['Greek and Cyrillic', 'Αлфа'],
    ['mixed in the second word', 'General Lоbby'],
  ];
  for (const [what, name] of mixed) test(`${what} → INVALID_VALUE`, () => refused(name));
});

describe('validateName normalizes', () => {
  test('decomposed Lóbby is stored composed (NFC)', () => {
    assert.equal(validateName('Lo\u0301bby'), 'L\u00f3bby');
  });
  test('no-break, ideographic and other spaces become one plain space', () => {
    assert.equal(validateName('Design\u00a0Review'), 'Design Review');
    assert.equal(validateName('設計\u3000レビュー'), '設計 レビュー');
    assert.equal(validateName('a\u2003\u2009b'), 'a b');
  });
  test('surrounding spaces are trimmed', () => assert.equal(validateName('  Lobby  '), 'Lobby'));
  test('a name of only spaces of any kind is refused', () => refused('\u00a0\u3000 '));
  test('length is counted after normalization', () => {
    assert.equal(validateName('e\u0301'.repeat(256)), '\u00e9'.repeat(256));
  });
});

describe('nameKey: names that look alike share a key', () => {
  const same: [string, string, string][] = [
    ['case', 'Lobby', 'lobby'],
    ['all capitals', 'Lobby', 'LOBBY'],
    ['composed and decomposed', 'L\u00f3bby', 'Lo\u0301bby'],
    ['fullwidth letters', 'Lobby', 'Ｌｏｂｂｙ'],
    ['zero-width space (for look-ups)', 'Lobby', 'Lob\u200bby'],
    ['no-break space', 'Design Review', 'Design\u00a0Review'],
    ['doubled space', 'Design Review', 'Design  Review'],
    ['Cyrillic у', 'Lobby', 'Lobbу'],
    ['whole-word Cyrillic capitals', 'HOT', 'НОТ'],
    ['whole-word Cyrillic small letters', 'cope', 'соре'],
    ['Greek capitals', 'KAPPA', 'ΚΑΡΡΑ'],
    ['German sharp s', 'Straße', 'STRASSE'],
    ['ligature', 'office', 'oﬃce'],
  ];
  for (const [what, a, b] of same) test(what, () => assert.equal(nameKey(a), nameKey(b)));

  const different: [string, string, string][] = [
    ['an accent is a different name', 'Lobby', 'L\u00f3bby'],
    ['a different word', 'Lobby', 'Lobbies'],
    ['Cyrillic letters that do not look Latin', 'Лобби', 'Lobbi'],
    ['Japanese kana forms', 'レビュー', 'れびゅー'],
  ];
  for (const [what, a, b] of different) test(what, () => assert.notEqual(nameKey(a), nameKey(b)));
});
