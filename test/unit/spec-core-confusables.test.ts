// Specification of the whole-script look-alike rule of nameKey (src/core/rules.ts): every Cyrillic or Greek letter
// (and Latin script small g) that Unicode TR39's confusables data lists as looking like one Latin letter gets the
// key of that Latin letter, alone, inside a Latin name and in a whole word of look-alikes. The expected table is
// written here by code point, independently of the implementation's table, so a dropped or changed entry fails.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nameKey } from '../../src/core/rules.js';

// [code point of the look-alike, the Latin letter it looks like, its Unicode name]
const LOOKALIKES: readonly [number, string, string][] = [
  // Cyrillic capitals
  [0x0410, 'A', 'CYRILLIC CAPITAL LETTER A'],
  [0x0412, 'B', 'CYRILLIC CAPITAL LETTER VE'],
  [0x0415, 'E', 'CYRILLIC CAPITAL LETTER IE'],
  [0x0405, 'S', 'CYRILLIC CAPITAL LETTER DZE'],
  [0x0406, 'I', 'CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I'],
  [0x0408, 'J', 'CYRILLIC CAPITAL LETTER JE'],
  [0x041a, 'K', 'CYRILLIC CAPITAL LETTER KA'],
  [0x041c, 'M', 'CYRILLIC CAPITAL LETTER EM'],
  [0x041d, 'H', 'CYRILLIC CAPITAL LETTER EN'],
  [0x041e, 'O', 'CYRILLIC CAPITAL LETTER O'],
  [0x0420, 'P', 'CYRILLIC CAPITAL LETTER ER'],
  [0x0421, 'C', 'CYRILLIC CAPITAL LETTER ES'],
  [0x0422, 'T', 'CYRILLIC CAPITAL LETTER TE'],
  [0x0425, 'X', 'CYRILLIC CAPITAL LETTER HA'],
  [0x04ae, 'Y', 'CYRILLIC CAPITAL LETTER STRAIGHT U'],
  [0x0500, 'D', 'CYRILLIC CAPITAL LETTER KOMI DE'],
  [0x051a, 'Q', 'CYRILLIC CAPITAL LETTER QA'],
  [0x051c, 'W', 'CYRILLIC CAPITAL LETTER WE'],
  [0x04c0, 'l', 'CYRILLIC LETTER PALOCHKA'],
  [0x04ba, 'H', 'CYRILLIC CAPITAL LETTER SHHA'],
  [0x0474, 'V', 'CYRILLIC CAPITAL LETTER IZHITSA'],
  // Cyrillic small letters
  [0x0430, 'a', 'CYRILLIC SMALL LETTER A'],
  [0x0435, 'e', 'CYRILLIC SMALL LETTER IE'],
  [0x043e, 'o', 'CYRILLIC SMALL LETTER O'],
  [0x0440, 'p', 'CYRILLIC SMALL LETTER ER'],
  [0x0441, 'c', 'CYRILLIC SMALL LETTER ES'],
  [0x0443, 'y', 'CYRILLIC SMALL LETTER U'],
  [0x0445, 'x', 'CYRILLIC SMALL LETTER HA'],
  [0x0455, 's', 'CYRILLIC SMALL LETTER DZE'],
  [0x0456, 'i', 'CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I'],
  [0x0458, 'j', 'CYRILLIC SMALL LETTER JE'],
  [0x04bb, 'h', 'CYRILLIC SMALL LETTER SHHA'],
  [0x0501, 'd', 'CYRILLIC SMALL LETTER KOMI DE'],
  [0x051b, 'q', 'CYRILLIC SMALL LETTER QA'],
  [0x051d, 'w', 'CYRILLIC SMALL LETTER WE'],
  [0x04cf, 'l', 'CYRILLIC SMALL LETTER PALOCHKA'],
  [0x0475, 'v', 'CYRILLIC SMALL LETTER IZHITSA'],
  [0x04af, 'y', 'CYRILLIC SMALL LETTER STRAIGHT U'],
  [0x0261, 'g', 'LATIN SMALL LETTER SCRIPT G'],
  // Greek capitals
  [0x0391, 'A', 'GREEK CAPITAL LETTER ALPHA'],
  [0x0392, 'B', 'GREEK CAPITAL LETTER BETA'],
  [0x0395, 'E', 'GREEK CAPITAL LETTER EPSILON'],
  [0x0396, 'Z', 'GREEK CAPITAL LETTER ZETA'],
  [0x0397, 'H', 'GREEK CAPITAL LETTER ETA'],
  [0x0399, 'I', 'GREEK CAPITAL LETTER IOTA'],
  [0x039a, 'K', 'GREEK CAPITAL LETTER KAPPA'],
  [0x039c, 'M', 'GREEK CAPITAL LETTER MU'],
  [0x039d, 'N', 'GREEK CAPITAL LETTER NU'],
  [0x039f, 'O', 'GREEK CAPITAL LETTER OMICRON'],
  [0x03a1, 'P', 'GREEK CAPITAL LETTER RHO'],
  [0x03a4, 'T', 'GREEK CAPITAL LETTER TAU'],
  [0x03a5, 'Y', 'GREEK CAPITAL LETTER UPSILON'],
  [0x03a7, 'X', 'GREEK CAPITAL LETTER CHI'],
  // Greek small letters
  [0x03bf, 'o', 'GREEK SMALL LETTER OMICRON'],
  [0x03bd, 'v', 'GREEK SMALL LETTER NU'],
  [0x03b9, 'i', 'GREEK SMALL LETTER IOTA'],
  [0x03b1, 'a', 'GREEK SMALL LETTER ALPHA'],
  [0x03c1, 'p', 'GREEK SMALL LETTER RHO'],
  [0x03c5, 'u', 'GREEK SMALL LETTER UPSILON'],
  [0x03ba, 'k', 'GREEK SMALL LETTER KAPPA'],
  [0x03c7, 'x', 'GREEK SMALL LETTER CHI'],
  [0x03b3, 'y', 'GREEK SMALL LETTER GAMMA'],
];

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

describe('nameKey: a look-alike letter has the key of the Latin letter it looks like (TR39 confusables)', () => {
  for (const [cp, latin, what] of LOOKALIKES) {
    const look = String.fromCodePoint(cp);
    test(`${hex(cp)} ${what} looks like Latin "${latin}"`, () => {
      assert.notEqual(look, latin);
      assert.equal(nameKey(look), nameKey(latin), 'alone');
      assert.equal(nameKey(`Room ${look}`), nameKey(`Room ${latin}`), 'as a word of a Latin name');
      assert.equal(nameKey(`${look}${look}`), nameKey(`${latin}${latin}`), 'doubled');
    });
  }

  test('a whole word written in look-alikes has the key of the word in Latin letters', () => {
    const looks = LOOKALIKES.map(([cp]) => String.fromCodePoint(cp)).join('');
    const latins = LOOKALIKES.map(([, l]) => l).join('');
    assert.equal(nameKey(looks), nameKey(latins));
  });

  test('Cyrillic and Greek letters that look like no Latin letter keep their own key', () => {
    // Б, Д, Л, л, б, λ, Ω, δ: none of them may collapse onto any Latin letter
    const latin = 'abcdefghijklmnopqrstuvwxyz';
    for (const ch of ['Б', 'Д', 'Л', 'л', 'б', 'λ', 'Ω', 'δ']) {
      for (const l of latin) assert.notEqual(nameKey(ch), nameKey(l), `${ch} vs ${l}`);
    }
  });
});
