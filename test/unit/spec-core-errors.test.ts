// Specification of the error catalogue and of how anything thrown becomes a PchatError: every code's HTTP status
// and default sentence are those docs/errors.md documents; the JSON a client gets is code, message and, only when
// set, field and details (never the cause); asPchatError keeps PchatErrors, classifies driver and file-system
// failures (STORAGE_FULL, STORE_UNAVAILABLE), looking through the chain of causes, and makes anything else
// INTERNAL without leaking its text; the thrown value stays the cause, for logs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { asPchatError, ERRORS, fromDriverError, invalid, isErrorCode, PchatError } from '../../src/core/errors.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), 'utf8');

/** docs/errors.md's table: | `CODE` | HTTP | SIP | Meaning | What to do | */
const documented = new Map<string, { http: number; meaning: string }>();
for (const line of doc.split('\n')) {
  const m = /^\|\s*`([A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|/.exec(line.trim());
  if (m) documented.set(m[1] as string, { http: Number(m[2]), meaning: (m[4] as string).trim() });
}

describe('the error catalogue, as docs/errors.md documents it', () => {
  test('docs/errors.md documents every code of the catalogue', () => {
    assert.ok(documented.size > 0);
    assert.deepEqual(
      Object.keys(ERRORS).filter((c) => !documented.has(c)),
      [],
    );
  });

  for (const [code, row] of documented) {
    test(`${code}: a PchatError made without a message says "${row.meaning}" with HTTP ${row.http}`, () => {
      assert.ok(isErrorCode(code), `${code} is documented but not in the catalogue`);
      const e = new PchatError(code);
      assert.equal(e.code, code);
      assert.equal(e.status, row.http);
      assert.equal(e.message, row.meaning);
      assert.deepEqual(e.toJSON(), { code, message: row.meaning });
    });
  }

  test('a PchatError is an Error named PchatError (stack traces and logs show the name)', () => {
    const e = new PchatError('ROOM_NOT_FOUND');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'PchatError');
    assert.match(String(e), /^PchatError: No such room\.$/);
  });

  const codeChecks: [unknown, boolean][] = [
    ['ROOM_NOT_FOUND', true],
    ['INTERNAL', true],
    ['room_not_found', false],
    ['ROOM_NOT_FOUND ', false],
    ['', false],
    ['toString', false],
    ['hasOwnProperty', false],
    [42, false],
    [null, false],
    [undefined, false],
    [['ROOM_NOT_FOUND'], false], // an array whose text is a code is still not a code
    [{ toString: () => 'INTERNAL' }, false],
  ];
  for (const [value, expected] of codeChecks) {
    test(`isErrorCode(${JSON.stringify(value) ?? String(value)}) is ${expected}: only catalogue keys, only as text`, () => {
      assert.equal(isErrorCode(value), expected);
    });
  }
});

describe('the JSON body of an error: code, message, and field and details only when set', () => {
  const cases: { name: string; err: PchatError; json: Record<string, unknown> }[] = [
    {
      name: 'code only',
      err: new PchatError('NOT_A_MEMBER'),
      json: { code: 'NOT_A_MEMBER', message: ERRORS.NOT_A_MEMBER.text },
    },
    {
      name: 'own message',
      err: new PchatError('BAD_REQUEST', 'body: not JSON'),
      json: { code: 'BAD_REQUEST', message: 'body: not JSON' },
    },
    {
      name: 'field',
      err: new PchatError('NAME_TOO_LONG', 'name: too long', { field: 'name' }),
      json: { code: 'NAME_TOO_LONG', message: 'name: too long', field: 'name' },
    },
    {
      name: 'details',
      err: new PchatError('SERVER_STANDBY', undefined, { details: { activeServers: ['https://a.example'] } }),
      json: {
        code: 'SERVER_STANDBY',
        message: ERRORS.SERVER_STANDBY.text,
        details: { activeServers: ['https://a.example'] },
      },
    },
    {
      name: 'field and details',
      err: new PchatError('INVALID_VALUE', 'limit: too big', { field: 'limit', details: { max: 100 } }),
      json: { code: 'INVALID_VALUE', message: 'limit: too big', field: 'limit', details: { max: 100 } },
    },
    {
      name: 'a cause is never sent',
      err: new PchatError('STORE_UNAVAILABLE', undefined, { cause: new Error('password authentication failed') }),
      json: { code: 'STORE_UNAVAILABLE', message: ERRORS.STORE_UNAVAILABLE.text },
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${JSON.stringify(c.json)}`, () => {
      assert.deepEqual(c.err.toJSON(), c.json);
      assert.deepEqual(JSON.parse(JSON.stringify({ error: c.err })), { error: c.json });
    });
  }

  test('invalid(field, text) is INVALID_VALUE (400) naming the field in the field and in one line of text', () => {
    const e = invalid('deniedMember', 'unknown field');
    assert.equal(e.code, 'INVALID_VALUE');
    assert.equal(e.status, 400);
    assert.equal(e.field, 'deniedMember');
    assert.equal(e.message, 'deniedMember: unknown field');
    assert.deepEqual(e.toJSON(), {
      code: 'INVALID_VALUE',
      message: 'deniedMember: unknown field',
      field: 'deniedMember',
    });
  });
});

describe('the cause of a PchatError is kept for logs', () => {
  test('a cause given is the error cause', () => {
    const driver = new Error('connect ECONNREFUSED');
    const e = new PchatError('STORE_UNAVAILABLE', undefined, { cause: driver });
    assert.equal(e.cause, driver);
  });

  test('an error made without a cause has no cause property (logs show no empty cause)', () => {
    assert.equal(Object.hasOwn(new PchatError('INTERNAL'), 'cause'), false);
    assert.equal(Object.hasOwn(new PchatError('INTERNAL', 'x', { field: 'f' }), 'cause'), false);
  });
});

/** An error object as a driver or the file system throws it. */
const driverError = (code: unknown, message = 'driver failure'): Error => Object.assign(new Error(message), { code });

describe('asPchatError: what a client is told for anything thrown', () => {
  test('a PchatError is passed on as it is (same object)', () => {
    const e = new PchatError('NOT_A_MANAGER', 'only managers', { field: 'room' });
    assert.equal(asPchatError(e), e);
  });

  const storageFull = ['ENOSPC', 'EDQUOT'];
  const unavailable = [
    // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, too many connections, out of memory, I/O
    '57P01',
    '57P02',
    '57P03',
    '53300',
    '53100',
    '58030',
    // PostgreSQL class 08: connection exceptions
    '08000',
    '08003',
    '08006',
    '08001',
    '08P01',
    // the network
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'EHOSTUNREACH',
    'ENOTFOUND',
    // SQLite
    'SQLITE_FULL',
    'SQLITE_READONLY',
    'SQLITE_BUSY',
    'SQLITE_IOERR',
    'SQLITE_IOERR_WRITE',
    'SQLITE_IOERR_FSYNC',
    'SQLITE_CANTOPEN',
  ];
  // codes of failures that are bugs or belong to someone else: never a store outage
  const others: unknown[] = [
    '23505',
    '22P02',
    '42P01',
    '57014',
    '1008', // ends with 08 but is not class 08
    'X08006',
    'SQLITE_CONSTRAINT',
    'SQLITE_CONSTRAINT_UNIQUE',
    'SQLITE_ERROR',
    'MY_SQLITE_IOERR',
    'SQLITE_BUSY_TIMEOUT_X', // not exactly SQLITE_BUSY
    'sqlite_busy',
    'ENOENT',
    'EACCES',
    'ERR_INVALID_ARG_TYPE',
    '',
    undefined,
    null,
    42,
  ];

  for (const code of storageFull) {
    test(`a failure with code ${code} (disk full, quota) is STORAGE_FULL, 507`, () => {
      const thrown = driverError(code);
      const e = asPchatError(thrown);
      assert.equal(e.code, 'STORAGE_FULL');
      assert.equal(e.status, 507);
      assert.equal(e.message, ERRORS.STORAGE_FULL.text);
      assert.equal(e.cause, thrown);
    });
  }

  for (const code of unavailable) {
    test(`a failure with code ${code} is STORE_UNAVAILABLE, 503`, () => {
      const thrown = driverError(code);
      const e = asPchatError(thrown);
      assert.equal(e.code, 'STORE_UNAVAILABLE');
      assert.equal(e.status, 503);
      assert.equal(e.message, ERRORS.STORE_UNAVAILABLE.text);
      assert.equal(e.cause, thrown);
    });
  }

  for (const code of others) {
    test(`a failure with code ${JSON.stringify(code) ?? 'undefined'} is INTERNAL, 500, and says nothing of it`, () => {
      const thrown = driverError(code, 'relation "secret_table" does not exist');
      assert.equal(fromDriverError(thrown), undefined);
      const e = asPchatError(thrown);
      assert.equal(e.code, 'INTERNAL');
      assert.equal(e.status, 500);
      assert.equal(e.message, 'Internal server error.');
      assert.deepEqual(e.toJSON(), { code: 'INTERNAL', message: 'Internal server error.' });
      assert.equal(e.cause, thrown);
    });
  }

  // pg and its pool report a lost connection in the message, without a code
  const lostConnection: [string, boolean][] = [
    ['Connection terminated unexpectedly', true],
    ['Connection terminated due to connection timeout', true],
    ['connection terminated', true],
    ['Connection is closed', true],
    ['connection closed', true],
    ['Connection ended', true],
    ['the connection is ended', true],
    ['Client has encountered a connection error and is not queryable', true],
    ['CLIENT HAS ENCOUNTERED A CONNECTION ERROR', true],
    ['connection refused by policy', false],
    ['duplicate key value violates unique constraint', false],
    ['', false],
  ];
  for (const [message, down] of lostConnection) {
    test(`an error without a code saying "${message}" is ${down ? 'STORE_UNAVAILABLE' : 'INTERNAL'}`, () => {
      assert.equal(asPchatError(new Error(message)).code, down ? 'STORE_UNAVAILABLE' : 'INTERNAL');
      assert.equal(asPchatError({ message }).code, down ? 'STORE_UNAVAILABLE' : 'INTERNAL');
    });
  }

  test('a code wins over the message: ENOSPC saying "Connection terminated" is STORAGE_FULL', () => {
    assert.equal(asPchatError(driverError('ENOSPC', 'Connection terminated')).code, 'STORAGE_FULL');
  });

  test('a code that is not text is read as text (a numeric SQLSTATE 53300 is too many connections)', () => {
    assert.equal(asPchatError({ code: 53300 }).code, 'STORE_UNAVAILABLE');
  });

  const notErrors: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a string naming a code', 'ENOSPC'],
    ['a string saying the connection ended', 'Connection terminated unexpectedly'],
    ['a number', 57014],
    ['a boolean', false],
    ['a symbol', Symbol('ENOSPC')],
    ['a function carrying a code', Object.assign(() => undefined, { code: 'ENOSPC' })],
    ['an empty object', {}],
    ['an array', ['ENOSPC']],
  ];
  for (const [name, value] of notErrors) {
    test(`a thrown ${name} is INTERNAL, and kept as the cause`, () => {
      assert.equal(fromDriverError(value), undefined);
      const e = asPchatError(value);
      assert.equal(e.code, 'INTERNAL');
      assert.equal(e.message, 'Internal server error.');
      assert.equal(e.cause, value);
    });
  }

  test('a wrapped driver error is found through the chain of causes, the outer error kept as the cause', () => {
    const disk = driverError('ENOSPC');
    const wrapped = new Error('could not write the message', {
      cause: new Error('transaction failed', { cause: disk }),
    });
    const e = asPchatError(wrapped);
    assert.equal(e.code, 'STORAGE_FULL');
    assert.equal(e.cause, wrapped);
    assert.equal(asPchatError(new Error('query failed', { cause: driverError('57P01') })).code, 'STORE_UNAVAILABLE');
    assert.equal(asPchatError({ cause: { cause: { message: 'Connection terminated' } } }).code, 'STORE_UNAVAILABLE');
  });

  test('the outermost classified error decides: a STORE_UNAVAILABLE wrapping a full disk is STORE_UNAVAILABLE', () => {
    const e = asPchatError(Object.assign(new Error('x', { cause: driverError('ENOSPC') }), { code: 'ECONNRESET' }));
    assert.equal(e.code, 'STORE_UNAVAILABLE');
  });

  test('a chain of causes ending in a bug, or in a non-object, is INTERNAL', () => {
    assert.equal(asPchatError(new Error('a', { cause: driverError('23505') })).code, 'INTERNAL');
    assert.equal(asPchatError(new Error('a', { cause: 'ENOSPC' })).code, 'INTERNAL');
    assert.equal(asPchatError(new Error('a', { cause: null })).code, 'INTERNAL');
  });

  test('an error that is its own cause, or a cycle of causes, ends: INTERNAL, not a stack overflow', () => {
    const self = new Error('self') as Error & { cause?: unknown };
    self.cause = self;
    assert.equal(asPchatError(self).code, 'INTERNAL');
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(asPchatError(a).code, 'INTERNAL');
    const c = new Error('c') as Error & { cause?: unknown };
    c.cause = new Error('d', { cause: c });
    assert.equal(asPchatError(new Error('outer', { cause: c })).code, 'INTERNAL');
    // a cycle that has a driver error in it is still classified
    const loop = driverError('ECONNRESET') as Error & { cause?: unknown };
    loop.cause = new Error('e', { cause: loop });
    assert.equal(asPchatError(new Error('outer', { cause: loop })).code, 'STORE_UNAVAILABLE');
  });
});
