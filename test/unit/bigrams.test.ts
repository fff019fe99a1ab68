import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cjkBigrams, isCjkBigram } from '../../src/store/bigrams.js';

test('cjkBigrams lists each adjacent pair of CJK characters once, never across other text', () => {
  assert.equal(cjkBigrams('我们在持久聊天室'), '我们 们在 在持 持久 久聊 聊天 天室');
  assert.equal(cjkBigrams('会議 会議'), '会議');
  assert.equal(cjkBigrams('東京x都'), '東京');
  assert.equal(cjkBigrams('ひらがなカタカナ한국어'), 'ひら らが がな なカ カタ タカ カナ ナ한 한국 국어');
  assert.equal(cjkBigrams('plain english'), '');
  assert.equal(cjkBigrams(null), '');
});

test('isCjkBigram is true only for exactly two CJK characters', () => {
  const cases: [string, boolean][] = [
    ['会議', true],
    ['한국', true],
    ['会', false],
    ['会議室', false],
    ['go', false],
    ['会x', false],
  ];
  for (const [term, want] of cases) assert.equal(isCjkBigram(term), want, term);
});
