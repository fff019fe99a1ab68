// Specification of the text and number rules for everything a client sends (src/core/input.ts): text is refused
// when it holds U+0000 or a surrogate half without its partner (PostgreSQL and JSON cannot keep them), anything
// else, astral characters included, is kept as sent; optional text lets undefined and null through; integers must
// be safe integers within [min, max], both bounds included. Each refusal is INVALID_VALUE naming the field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { checkOptionalText, checkSafeInteger, checkText, isStorableText } from '../../src/core/input.js';

const HIGH = '\uD83D'; // first half of U+1F600
const LOW = '\uDE00'; // second half of U+1F600

const texts: [string, string, boolean][] = [
  ['empty text', '', true],
  ['plain text', 'hello, world', true],
  ['accents and CJK', 'café 会議室', true],
  ['an astral character (a paired surrogate)', '😀', true],
  ['two astral characters in a row', '😀🎉', true],
  ['an astral character between letters', 'a😀b', true],
  ['the last BMP code unit U+FFFF', '\uFFFF', true],
  ['U+0001 and other control characters', '\u0001\t\n\r\u001F', true],
  ['the replacement character U+FFFD', '\uFFFD', true],
  ['U+0000 alone', '\u0000', false],
  ['U+0000 inside text', 'ab\u0000cd', false],
  ['U+0000 at the end', 'abc\u0000', false],
  ['a high surrogate alone', HIGH, false],
  ['a high surrogate at the end', `abc${HIGH}`, false],
  ['a high surrogate followed by a letter', `${HIGH}a`, false],
  ['a high surrogate followed by another high surrogate', `${HIGH}${HIGH}${LOW}`, false],
  ['a low surrogate alone', LOW, false],
  ['a low surrogate at the start', `${LOW}abc`, false],
  ['a low surrogate after a letter', `a${LOW}`, false],
  ['a low surrogate after a complete pair', `😀${LOW}`, false],
  ['the halves in the wrong order', `${LOW}${HIGH}`, false],
  ['the edges of the surrogate ranges, paired', '\uD800\uDC00\uDBFF\uDFFF', true],
  ['U+D7FF and U+E000, just outside the surrogate range', '\uD7FF\uE000', true],
  ['the first high surrogate alone', '\uD800', false],
  ['the last low surrogate alone', '\uDFFF', false],
];

describe('storable text: no U+0000, no unpaired surrogate', () => {
  for (const [name, value, ok] of texts) {
    test(`${name} is ${ok ? 'kept as sent' : 'refused'}`, () => {
      assert.equal(isStorableText(value), ok);
      if (ok) {
        assert.equal(checkText('body', value), value);
      } else {
        assert.throws(
          () => checkText('body', value),
          (e: unknown) =>
            e instanceof PchatError &&
            e.code === 'INVALID_VALUE' &&
            e.field === 'body' &&
            e.message === 'body: must not contain U+0000 or an unpaired surrogate',
        );
      }
    });
  }

  // a caller that did not validate the JSON type first (a number or null where text belongs) is told so
  const notText: [string, unknown][] = [
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
    ['an array of text', ['hi']],
    ['an object', { text: 'hi' }],
  ];
  for (const [name, value] of notText) {
    test(`${name} where text belongs is refused: "<field>: must be text"`, () => {
      assert.throws(
        () => checkText('topic', value as string),
        (e: unknown) =>
          e instanceof PchatError &&
          e.code === 'INVALID_VALUE' &&
          e.field === 'topic' &&
          e.message === 'topic: must be text',
      );
    });
  }
});

describe('optional text: undefined and null pass, any text follows the text rules', () => {
  const cases: [string, string | null | undefined, string | undefined][] = [
    ['undefined', undefined, undefined],
    ['null', null, undefined],
    ['empty text', '', undefined],
    ['plain text', 'a description', undefined],
    ['U+0000', 'a\u0000', 'description: must not contain U+0000 or an unpaired surrogate'],
    ['a lone surrogate', LOW, 'description: must not contain U+0000 or an unpaired surrogate'],
  ];
  for (const [name, value, refusal] of cases) {
    test(`${name} ${refusal ? 'is refused' : 'passes'}`, () => {
      if (refusal === undefined) {
        assert.doesNotThrow(() => checkOptionalText('description', value));
      } else {
        assert.throws(
          () => checkOptionalText('description', value),
          (e: unknown) => e instanceof PchatError && e.field === 'description' && e.message === refusal,
        );
      }
    });
  }
});

describe('safe integers within [min, max], both bounds included', () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const MIN = Number.MIN_SAFE_INTEGER;
  const cases: [string, unknown, number | undefined, number | undefined, boolean][] = [
    // value, min, max (undefined: the defaults, the whole safe range), accepted
    ['0 in the whole safe range', 0, undefined, undefined, true],
    ['MAX_SAFE_INTEGER', MAX, undefined, undefined, true],
    ['MIN_SAFE_INTEGER', MIN, undefined, undefined, true],
    ['2^53 (one past MAX_SAFE_INTEGER)', MAX + 1, undefined, undefined, false],
    ['-2^53 (one past MIN_SAFE_INTEGER)', MIN - 1, undefined, undefined, false],
    ['-0', -0, undefined, undefined, true],
    ['the lower bound itself', 1, 1, 100, true],
    ['the upper bound itself', 100, 1, 100, true],
    ['one below the lower bound', 0, 1, 100, false],
    ['one above the upper bound', 101, 1, 100, false],
    ['a value inside the bounds', 50, 1, 100, true],
    ['a one-value range', 7, 7, 7, true],
    ['far below the bounds', -1000, 1, 100, false],
    ['far above the bounds', 1e6, 1, 100, false],
    ['a fraction inside the bounds', 1.5, 1, 100, false],
    ['a fraction in the whole range', 0.1, undefined, undefined, false],
    ['NaN', Number.NaN, undefined, undefined, false],
    ['Infinity', Number.POSITIVE_INFINITY, undefined, undefined, false],
    ['-Infinity', Number.NEGATIVE_INFINITY, undefined, undefined, false],
    ['a huge whole float', 1e300, undefined, undefined, false],
    ['a number as text', '5', 1, 100, false],
    ['null', null, undefined, undefined, false],
    ['a boolean', true, 0, 1, false],
    ['a bigint', 5n, 1, 100, false],
  ];
  for (const [name, value, min, max, ok] of cases) {
    const range = min === undefined ? 'the safe range' : `[${min}, ${max}]`;
    test(`${name} is ${ok ? 'accepted' : 'refused'} in ${range}`, () => {
      const check = () =>
        min === undefined
          ? checkSafeInteger('limit', value as number)
          : checkSafeInteger('limit', value as number, min, max);
      if (ok) {
        assert.equal(check(), value);
      } else {
        const lo = min ?? MIN;
        const hi = max ?? MAX;
        assert.throws(
          check,
          (e: unknown) =>
            e instanceof PchatError &&
            e.code === 'INVALID_VALUE' &&
            e.field === 'limit' &&
            e.message === `limit: must be a whole number from ${lo} to ${hi}`,
        );
      }
    });
  }

  test('the refusal names the range the caller gave', () => {
    assert.throws(() => checkSafeInteger('page', 0, 1, 50), { message: 'page: must be a whole number from 1 to 50' });
    assert.throws(() => checkSafeInteger('since', 2 ** 60), {
      message: 'since: must be a whole number from -9007199254740991 to 9007199254740991',
    });
  });
});
