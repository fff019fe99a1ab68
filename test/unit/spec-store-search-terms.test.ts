// Specification of how search terms are read, on SQLite and PostgreSQL: case-insensitive matching folds accented
// letters too (ÉCOLE finds école), a double quote or a LIKE wildcard in a term is an ordinary character, an exact
// phrase ignores the white space around it, an empty keyword among `anyOf` matches nothing by itself, and an empty
// author list is no author filter.
import assert from 'node:assert/strict';
import { before } from 'node:test';
import type { MessageSearch, NewMessage, Store } from '../../src/store/port.js';
import { forEachEngine, newMessage } from '../support/spec-engines.js';

const _ALICE = 'sip:alice@contoso.com';

const TEXTS = [
  'une école ici',
  'été chaud',
  'he said "yes" loudly',
  'yes sir',
  '100% sure',
  'snake_case name',
  'snakeXcase name',
  'plain words',
];

const msg = (text: string, over: Partial<NewMessage> = {}): NewMessage => newMessage('terms', text, over);

forEachEngine('search terms specification', ({ store, storeTest }) => {
  const s = () => store() as Store;
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, () => fn());
  before(async () => {
    if (store()) await s().messages.append(TEXTS.map((t) => msg(t)));
  });
  const texts = async (q: Partial<MessageSearch>) =>
    (await s().messages.search({ roomIds: ['terms'], limit: 50, ...q })).messages.map((m) => m.text).sort();

  const cases: { name: string; q: Partial<MessageSearch>; want: string[] }[] = [
    { name: 'an upper-case accented word finds its lower-case form', q: { text: 'ÉCOLE' }, want: ['une école ici'] },
    { name: 'a three-letter accented word, any case', q: { text: 'ÉTÉ' }, want: ['été chaud'] },
    { name: 'accented words among others', q: { text: 'Une ÉCOLE' }, want: ['une école ici'] },
    { name: 'a quoted word matches only with its quotes', q: { text: '"yes"' }, want: ['he said "yes" loudly'] },
    { name: 'a lone double quote', q: { text: 'said "' }, want: ['he said "yes" loudly'] },
    { name: 'a percent sign is literal', q: { text: '%' }, want: ['100% sure'] },
    { name: 'an underscore is literal', q: { text: '_' }, want: ['snake_case name'] },
    { name: 'an underscore inside a short term is literal', q: { text: 'e_' }, want: ['snake_case name'] },
    { name: 'an underscore inside a long term is literal', q: { text: 'snake_case' }, want: ['snake_case name'] },
    {
      name: 'an exact phrase ignores the white space around it',
      q: { text: '  said "yes"  ', exactPhrase: true },
      want: ['he said "yes" loudly'],
    },
    {
      name: 'a case-sensitive exact phrase ignores the white space around it',
      q: { text: ' plain ', exactPhrase: true, caseSensitive: true },
      want: ['plain words'],
    },
    { name: 'any of the keywords', q: { anyOf: ['sir', 'sure'] }, want: ['100% sure', 'yes sir'] },
    { name: 'any of short keywords', q: { anyOf: ['%', 'é'] }, want: ['100% sure', 'une école ici', 'été chaud'] },
    { name: 'an empty keyword matches nothing by itself', q: { anyOf: ['', 'sir'] }, want: ['yes sir'] },
    { name: 'only empty keywords are no keyword filter', q: { anyOf: [''] }, want: [...TEXTS] },
    { name: 'an empty author list is no author filter', q: { text: 'name', authors: [] }, want: TEXTS.slice(5, 7) },
  ];
  for (const c of cases) {
    it(`terms: ${c.name}`, async () => {
      assert.deepEqual(await texts(c.q), [...c.want].sort());
    });
  }
});
