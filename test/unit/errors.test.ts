// docs/errors.md lists exactly the codes of the ERRORS registry, with the same HTTP and SIP numbers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS, type ErrorCode, isErrorCode, PchatError } from '../../src/core/errors.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), 'utf8');

interface Row {
  code: string;
  http: number;
  sip: number;
  meaning: string;
  todo: string;
}

/** The table rows whose first cell is a code in backticks: | `CODE` | http | sip | meaning | what to do | */
function rows(markdown: string): Row[] {
  const out: Row[] = [];
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*`([A-Z0-9_]+)`\s*\|(.*)\|\s*$/.exec(line.trim());
    if (!m) continue;
    const cells = (m[2] as string).split('|').map((c) => c.trim());
    assert.equal(cells.length, 4, `row ${m[1]} must have 5 cells: ${line}`);
    out.push({
      code: m[1] as string,
      http: Number(cells[0]),
      sip: Number(cells[1]),
      meaning: cells[2] as string,
      todo: cells[3] as string,
    });
  }
  return out;
}

const table = rows(doc);
const documented = new Map(table.map((r) => [r.code, r]));
const registry = Object.keys(ERRORS) as ErrorCode[];

describe('docs/errors.md', () => {
  test('has a table with a row per code', () => {
    assert.ok(table.length > 0, 'no table rows found');
  });

  test('lists each code once', () => {
    const codes = table.map((r) => r.code);
    assert.deepEqual(
      codes.filter((c, i) => codes.indexOf(c) !== i),
      [],
    );
  });

  test('every ERRORS key appears in docs/errors.md', () => {
    assert.deepEqual(
      registry.filter((c) => !documented.has(c)),
      [],
    );
  });

  test('every code in docs/errors.md exists in ERRORS', () => {
    assert.deepEqual(
      table.map((r) => r.code).filter((c) => !isErrorCode(c)),
      [],
    );
  });

  for (const code of registry) {
    test(`${code}: HTTP and SIP numbers match the registry, meaning and advice are filled in`, () => {
      const row = documented.get(code);
      assert.ok(row, `${code} is not documented`);
      assert.equal(row.http, ERRORS[code].status, `${code} HTTP`);
      assert.equal(row.sip, ERRORS[code].sip, `${code} SIP`);
      assert.ok(row.meaning.length > 0, `${code} has no meaning`);
      assert.ok(row.todo.length > 0, `${code} has no advice`);
    });
  }
});

describe('ERRORS registry', () => {
  test('codes are UPPER_SNAKE_CASE and statuses are real HTTP and SIP error statuses', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      assert.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      assert.ok(e.status >= 400 && e.status <= 599, `${code} HTTP ${e.status}`);
      assert.ok(e.sip >= 400 && e.sip <= 699, `${code} SIP ${e.sip}`);
      assert.ok(e.text.length > 0, `${code} text`);
    }
  });

  test('PchatError carries the code, its status and the field', () => {
    const e = new PchatError('NAME_TOO_LONG', 'name: too long', { field: 'name' });
    assert.equal(e.status, 400);
    assert.deepEqual(e.toJSON(), { code: 'NAME_TOO_LONG', message: 'name: too long', field: 'name' });
    assert.equal(new PchatError('ROOM_NOT_FOUND').message, 'No such room.');
  });

  test('isErrorCode accepts only registry keys', () => {
    assert.equal(isErrorCode('ROOM_NOT_FOUND'), true);
    assert.equal(isErrorCode('room_not_found'), false);
    assert.equal(isErrorCode('toString'), false);
    assert.equal(isErrorCode(42), false);
  });
});
