// The archive format's documentation stays in step with its definition: docs/migration-archive.schema.json is
// what archive-format.ts generates, docs/migration.md names every record type, and the schema accepts and
// refuses what the importer does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { archiveJsonSchema, RECORD } from '../../src/migration/archive-format.js';
import { parseRecord } from '../../src/migration/archive-reader.js';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

describe('archive format documentation', () => {
  test('docs/migration-archive.schema.json is generated from the zod schemas', () => {
    assert.deepEqual(
      JSON.parse(doc('migration-archive.schema.json')),
      archiveJsonSchema(),
      'run: node --import tsx scripts/write-archive-schema.ts',
    );
  });
  test('docs/migration.md names every record type', () => {
    const md = doc('migration.md');
    const types = RECORD.options.map((o) => o.shape.type.value);
    assert.ok(types.length >= 17);
    for (const t of types) assert.ok(md.includes(`\`${t}\``), `record type ${t} is documented`);
  });
});

describe('one line', () => {
  const room = {
    id: 'r1',
    name: 'General',
    description: '',
    categoryId: 'c1',
    privacy: 'open',
    type: 'normal',
    disabled: false,
    addin: null,
    invitations: 'inherit',
    members: [],
    managers: [],
    presenters: [],
    createdAt: 1,
  };
  const cases: [string, unknown, RegExp | null][] = [
    ['a room', { type: 'room', room }, null],
    ['a room id with a slash', { type: 'room', room: { ...room, id: 'a/b' } }, /room\.id/],
    ['an unknown privacy', { type: 'room', room: { ...room, privacy: 'hidden' } }, /room\.privacy/],
    ['a missing field', { type: 'room', room: { ...room, name: undefined } }, /room\.name/],
    ['an unknown type', { type: 'nope' }, /at type/],
    ['a blob that is not base64', { type: 'blob', id: 'f', data: '@@@' }, /data/],
    [
      'a storage key leaving the file store',
      {
        type: 'file',
        sha256: 'a'.repeat(64),
        file: {
          id: 'f',
          name: 'x',
          size: 0,
          contentType: 't',
          roomId: 'r',
          uploader: 'u',
          ts: 1,
          storageKey: '../etc/passwd',
        },
      },
      /storageKey/,
    ],
    [
      'a non-integer id',
      {
        type: 'message',
        message: {
          id: 1.5,
          roomId: 'r',
          author: 'a',
          ts: 1,
          kind: 'regular',
          text: '',
          title: null,
          rich: null,
          file: null,
          logged: true,
        },
      },
      /message\.id/,
    ],
  ];
  for (const [name, value, re] of cases)
    test(name, () => {
      const raw = { line: 7, text: JSON.stringify(value) };
      if (re === null) assert.equal(parseRecord(raw).type, (value as { type: string }).type);
      else
        assert.throws(
          () => parseRecord(raw),
          (e: Error & { code?: string }) => {
            assert.equal(e.code, 'ARCHIVE_INVALID');
            assert.match(e.message, /^file: line 7: /);
            assert.match(e.message, re);
            return true;
          },
        );
    });
});
