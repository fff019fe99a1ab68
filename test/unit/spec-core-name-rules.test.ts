// Specification of the name rules (src/core/rules.ts validateName, nameKey): which joiners and selectors a name
// keeps by context, what the refusal says, how spaces fold, where words end for the mixed-script rule, and the
// form of the uniqueness key (stored in the name_key columns, so it must stay the same from one version to the next).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { nameKey, validateName } from '../../src/core/rules.js';

const ZWNJ = '\u200c';
const ZWJ = '\u200d';
const VS15 = '\ufe0e';
const VS16 = '\ufe0f';
const VIRAMA = 'क्'; // Devanagari KA + VIRAMA (a combining mark)

/** The exact INVALID_VALUE message validateName gives, or 'ok' when the name is kept. */
const verdict = (name: unknown, field = 'name'): string => {
  try {
    validateName(name as string, field);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof PchatError, `${JSON.stringify(name)}: threw ${String(e)}`);
    assert.equal(e.field, field);
    return `${e.code} ${e.message}`;
  }
};
const refusedWith = (cp: string, kind: string) => `INVALID_VALUE name: must not contain ${kind} (U+${cp})`;

describe('joiners and variation selectors are kept only where scripts and emoji need them', () => {
  const cases: [string, string, 'kept' | 'refused'][] = [
    ['ZWJ after a virama, before a letter (Devanagari conjunct)', `${VIRAMA}${ZWJ}ष`, 'kept'],
    ['ZWNJ after a mark, before a letter (Persian)', `می\u0651${ZWNJ}خواهم`, 'kept'],
    ['ZWNJ after a virama, before a letter', `${VIRAMA}${ZWNJ}ष`, 'kept'],
    ['ZWJ after a virama at the end of the name', `${VIRAMA}${ZWJ}`, 'refused'],
    ['ZWNJ after a mark at the end of the name', `می\u0651${ZWNJ}`, 'refused'],
    ['ZWJ after a mark, before a digit', `${VIRAMA}${ZWJ}1`, 'refused'],
    ['ZWNJ at the start, before a letter', `${ZWNJ}ष`, 'refused'],
    ['ZWJ between two Latin letters', `Lob${ZWJ}by`, 'refused'],
    ['ZWNJ between two Latin letters', `Lob${ZWNJ}by`, 'refused'],
    ['zero-width space after a mark, before a letter', `${VIRAMA}\u200bष`, 'refused'],
    ['ZWJ between two pictographs (emoji family)', `👨${ZWJ}👩${ZWJ}👧 Family`, 'kept'],
    ['ZWJ between a pictograph and a skin-tone modifier', `👍${ZWJ}🏽`, 'kept'],
    ['ZWJ between a letter and a pictograph', `a${ZWJ}🚀`, 'refused'],
    ['ZWJ between a pictograph and a letter', `🚀${ZWJ}a`, 'refused'],
    ['ZWJ after a pictograph at the end', `🚀${ZWJ}`, 'refused'],
    ['ZWJ at the start, before a pictograph', `${ZWJ}🚀`, 'refused'],
    ['zero-width space between two pictographs', `🚀\u200b🚀`, 'refused'],
    ['zero-width space before a pictograph', `a\u200b🚀`, 'refused'],
    ['VS16 after a pictograph (emoji presentation)', `❤${VS16} Love`, 'kept'],
    ['VS15 after a pictograph (text presentation)', `❤${VS15} Love`, 'kept'],
    ['VS16 at the end, after a pictograph', `Love ❤${VS16}`, 'kept'],
    ['VS16 after a Latin letter', `Lob${VS16}by`, 'refused'],
    ['VS15 after a Latin letter', `Lob${VS15}by`, 'refused'],
    ['VS16 at the start', `${VS16}❤`, 'refused'],
    ['zero-width space after a pictograph', `🚀\u200b`, 'refused'],
    ['word joiner after a pictograph', `🚀\u2060 go`, 'refused'],
  ];
  for (const [what, name, expected] of cases) {
    test(`${what}: ${expected}`, () => {
      const v = verdict(name);
      if (expected === 'kept') assert.equal(v, 'ok');
      else assert.match(v, /^INVALID_VALUE name: must not contain /);
    });
  }
});

describe('a refused character is named by kind and by code point (four hex digits at least, upper case)', () => {
  const cases: [string, string, string][] = [
    ['Lob\u202eby', '202E', 'a bidirectional control character'],
    ['Lob\u202aby', '202A', 'a bidirectional control character'],
    ['Lob\u2066by', '2066', 'a bidirectional control character'],
    ['Lob\u2069by', '2069', 'a bidirectional control character'],
    ['Lob\u200eby', '200E', 'a bidirectional control character'],
    ['Lob\u200fby', '200F', 'a bidirectional control character'],
    ['Lob\u061cby', '061C', 'a bidirectional control character'],
    ['Lob\u0000by', '0000', 'a control character'],
    ['Lob\tby', '0009', 'a control character'],
    ['Lob\u007fby', '007F', 'a control character'],
    ['Lob\u009fby', '009F', 'a control character'],
    ['Lob\u00adby', '00AD', 'an invisible or formatting character'],
    ['Lob\u200bby', '200B', 'an invisible or formatting character'],
    ['Lob\ufeffby', 'FEFF', 'an invisible or formatting character'],
    ['Lob\u2028by', '2028', 'an invisible or formatting character'],
    ['Lob\ue000by', 'E000', 'an invisible or formatting character'],
    ['Lob\u{e0041}by', 'E0041', 'an invisible or formatting character'],
    ['Lob\u034fby', '034F', 'an invisible or formatting character'],
  ];
  for (const [name, cp, kind] of cases) {
    test(`U+${cp} is ${kind}`, () => assert.equal(verdict(name), refusedWith(cp, kind)));
  }
  test('the first refused character is the one named', () => {
    assert.equal(verdict('a\u200bb\u202ec'), refusedWith('200B', 'an invisible or formatting character'));
  });
});

describe('the other refusals and their messages', () => {
  const cases: [string, unknown, string][] = [
    ['a number is not text', 42, 'INVALID_VALUE name: must be text'],
    ['null is not text', null, 'INVALID_VALUE name: must be text'],
    ['the empty name', '', 'INVALID_VALUE name: must not be empty'],
    ['a name of spaces only', '   ', 'INVALID_VALUE name: must not be empty'],
    ['257 characters', 'x'.repeat(257), 'NAME_TOO_LONG name: at most 256 characters'],
    ['256 emoji (counted by code point) are allowed', '🚀'.repeat(256), 'ok'],
    ['256 characters are allowed', 'x'.repeat(256), 'ok'],
    [
      'Latin and Cyrillic in one word',
      'Lobbу',
      'INVALID_VALUE name: "Lobbу" mixes Latin and Cyrillic letters in one word (a look-alike name)',
    ],
    [
      'Cyrillic and Greek in one word',
      'Αлфа',
      'INVALID_VALUE name: "Αлфа" mixes Greek and Cyrillic letters in one word (a look-alike name)',
    ],
    [
      'three scripts in one word, in order of first appearance',
      'aлα',
      'INVALID_VALUE name: "aлα" mixes Latin and Cyrillic and Greek letters in one word (a look-alike name)',
    ],
    [
      'the offending word is quoted, not the whole name',
      'General Lоbby room',
      'INVALID_VALUE name: "Lоbby" mixes Latin and Cyrillic letters in one word (a look-alike name)',
    ],
    [
      'a word with a digit between scripts is still one word',
      'ab1вг',
      'INVALID_VALUE name: "ab1вг" mixes Latin and Cyrillic letters in one word (a look-alike name)',
    ],
    [
      'a combining mark does not split a word',
      'e\u0301д',
      'INVALID_VALUE name: "éд" mixes Latin and Cyrillic letters in one word (a look-alike name)',
    ],
  ];
  for (const [what, name, expected] of cases) test(what, () => assert.equal(verdict(name), expected));
  test('the field named in the error is the one given', () => {
    assert.equal(verdict('', 'displayName'), 'INVALID_VALUE displayName: must not be empty');
  });
});

describe('words for the mixed-script rule are runs of letters, marks and digits', () => {
  const kept: [string, string][] = [
    ['scripts in words split by a space', 'Windows ХР'],
    ['scripts in words split by a hyphen', 'Lobby-Лобби'],
    ['scripts in words split by punctuation', 'Lobby/Лобби (Αίθουσα)'],
    ['a name with no letters at all', '!!! 🚀 ???'],
    ['digits beside one script', '2026Лобби'],
  ];
  for (const [what, name] of kept) test(`${what} is kept`, () => assert.equal(verdict(name), 'ok'));
});

describe('validateName folds spaces and trims only spaces', () => {
  const cases: [string, string, string][] = [
    ['two spaces become one', 'Design  Review', 'Design Review'],
    ['a run of mixed spaces becomes one', 'a \u00a0\u3000\u2003b', 'a b'],
    ['several leading spaces are trimmed', '   Lobby', 'Lobby'],
    ['several trailing spaces are trimmed', 'Lobby   ', 'Lobby'],
    ['leading no-break spaces are trimmed', '\u00a0\u00a0Lobby', 'Lobby'],
    ['NFC', 'Lo\u0301bby', 'L\u00f3bby'],
  ];
  for (const [what, input, stored] of cases) test(what, () => assert.equal(validateName(input), stored));
});

describe('nameKey: the stored form of the uniqueness key', () => {
  const cases: [string, string, string][] = [
    ['lower case', 'LOBBY', 'lobby'],
    ['full case folding of ß', 'Straße', 'strasse'],
    ['spaces folded and trimmed', '  Design \u00a0 Review  ', 'design review'],
    ['invisible characters dropped', 'Lob\u200bby\u00ad', 'lobby'],
    ['compatibility forms folded (NFKC)', 'Ｌｏｂｂｙ', 'lobby'],
    ['look-alikes mapped before case folding', 'НОТ', 'hot'],
    ['composed (NFC)', 'Lo\u0301bby', 'l\u00f3bby'],
  ];
  for (const [what, input, key] of cases) test(what, () => assert.equal(nameKey(input), key));
  test('names differing only in case or ß/SS share a key', () => {
    assert.equal(nameKey('STRASSE'), nameKey('Straße'));
    assert.equal(nameKey('Design  Review'), nameKey('design review'));
  });
});
