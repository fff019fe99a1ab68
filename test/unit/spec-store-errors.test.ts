// Specification of what a driver error means to a client (src/store/store-errors.ts): a table of PostgreSQL
// SQLSTATEs, network codes and messages, and of SQLite codes and messages, each mapped to STORE_UNAVAILABLE,
// NAME_TAKEN or INVALID_VALUE, or left alone (the same object, which the transports answer as INTERNAL).
// Pure functions: no engine is involved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { isPgConnectionError, mapPgError, mapSqliteError } from '../../src/store/store-errors.js';

type Outcome = 'STORE_UNAVAILABLE' | 'NAME_TAKEN' | 'INVALID_VALUE' | 'left alone';

// What the pg driver throws: a plain-ish object with a SQLSTATE `code` (and `constraint` on 23505), or a
// Node network error (an Error with an errno code), or a bare Error with only a message.
const pg = (code: string, extra: Record<string, unknown> = {}) => ({ code, message: `pg error ${code}`, ...extra });
const errWith = (message: string, code?: string) =>
  code === undefined ? new Error(message) : Object.assign(new Error(message), { code });

const NAME_TAKEN_MESSAGE = 'name: that name is not available (compared ignoring case and look-alike letters)';

function check(map: (e: unknown) => unknown, label: string, input: unknown, want: Outcome): void {
  const out = map(input);
  if (want === 'left alone') {
    assert.equal(out, input, `${label}: left as it is`);
    return;
  }
  assert.ok(out instanceof PchatError, `${label}: a client error`);
  assert.equal(out.code, want, label);
  assert.equal(out.cause, input, `${label}: the driver error is kept as the cause for the log`);
  if (want === 'NAME_TAKEN') {
    assert.equal(out.field, 'name', `${label}: the error is about the name field`);
    assert.equal(out.message, NAME_TAKEN_MESSAGE, label);
  }
  if (want === 'INVALID_VALUE') assert.ok(out.message.length > 0, label);
}

const PG_TABLE: [string, unknown, Outcome][] = [
  // the network is down: Node's errno codes
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].map(
    (c): [string, unknown, Outcome] => [`network ${c}`, errWith(`connect ${c} 127.0.0.1:5432`, c), 'STORE_UNAVAILABLE'],
  ),
  // class 08 (connection exception) and 57P (operator intervention: shutdown, cannot connect now)
  ['08006 connection failure', pg('08006'), 'STORE_UNAVAILABLE'],
  ['08001 cannot establish', pg('08001'), 'STORE_UNAVAILABLE'],
  ['57P01 admin shutdown', pg('57P01'), 'STORE_UNAVAILABLE'],
  ['57P03 cannot connect now', pg('57P03'), 'STORE_UNAVAILABLE'],
  // the class is the first two characters: a data exception whose subclass ends in 08 is still class 22
  ['22008 datetime overflow (class 22, not 08)', pg('22008'), 'INVALID_VALUE'],
  // the driver's own messages when the connection is gone (no code at all)
  ['Connection terminated', errWith('Connection terminated unexpectedly'), 'STORE_UNAVAILABLE'],
  ['connection error', errWith('connection error'), 'STORE_UNAVAILABLE'],
  ['connect timeout', errWith('timeout exceeded when trying to connect'), 'STORE_UNAVAILABLE'],
  ['Client was closed', errWith('Client was closed and is not queryable'), 'STORE_UNAVAILABLE'],
  ['pool ended', errWith('Cannot use a pool after calling end on the pool'), 'STORE_UNAVAILABLE'],
  ['not queryable', errWith('Client has encountered a connection error and is not queryable'), 'STORE_UNAVAILABLE'],
  // a message only counts when there is no SQLSTATE: a statement error mentioning it is left alone
  ['coded error with a down-looking message', errWith('Connection terminated', '42601'), 'left alone'],
  ['uncoded error with another message', errWith('something else went wrong'), 'left alone'],
  // class 53 (insufficient resources), 58 (system error), and the transient single codes
  ['53100 disk full', pg('53100'), 'STORE_UNAVAILABLE'],
  ['53200 out of memory', pg('53200'), 'STORE_UNAVAILABLE'],
  ['53300 too many connections', pg('53300'), 'STORE_UNAVAILABLE'],
  ['58030 io error', pg('58030'), 'STORE_UNAVAILABLE'],
  ['40001 serialization failure', pg('40001'), 'STORE_UNAVAILABLE'],
  ['40P01 deadlock', pg('40P01'), 'STORE_UNAVAILABLE'],
  ['55P03 lock not available', pg('55P03'), 'STORE_UNAVAILABLE'],
  ['25006 read-only transaction (standby)', pg('25006'), 'STORE_UNAVAILABLE'],
  ['57014 query canceled', pg('57014'), 'STORE_UNAVAILABLE'],
  ['22053 (class 22, not 53)', pg('22053'), 'INVALID_VALUE'],
  ['22058 (class 22, not 58)', pg('22058'), 'INVALID_VALUE'],
  // unique look-alike keys already taken
  ['23505 on rooms_name_key', pg('23505', { constraint: 'rooms_name_key' }), 'NAME_TAKEN'],
  ['23505 on categories_name_key', pg('23505', { constraint: 'categories_name_key' }), 'NAME_TAKEN'],
  ['23505 on a _lookalike index', pg('23505', { constraint: 'addins_lookalike' }), 'NAME_TAKEN'],
  ['23505 on users_lookalike', pg('23505', { constraint: 'users_lookalike' }), 'NAME_TAKEN'],
  // other unique violations, or look-alike-ish names that are not those keys, are bugs: left alone
  ['23505 on a primary key', pg('23505', { constraint: 'messages_pkey' }), 'left alone'],
  ['23505 without a constraint', pg('23505'), 'left alone'],
  ['23505 on rooms_name_key_old', pg('23505', { constraint: 'rooms_name_key_old' }), 'left alone'],
  ['23505 on old_rooms_name_key', pg('23505', { constraint: 'old_rooms_name_key' }), 'left alone'],
  ['23505 on x_lookalike_idx', pg('23505', { constraint: 'x_lookalike_idx' }), 'left alone'],
  ['23503 foreign key on a _lookalike constraint', pg('23503', { constraint: 'rooms_lookalike' }), 'left alone'],
  // class 22: data exceptions
  ['22021 NUL in text', pg('22021'), 'INVALID_VALUE'],
  ['22003 number out of range', pg('22003'), 'INVALID_VALUE'],
  ['22P02 invalid text representation', pg('22P02'), 'INVALID_VALUE'],
  ['42622 name too long (not class 22)', pg('42622'), 'left alone'],
  // everything else
  ['42P01 undefined table', pg('42P01'), 'left alone'],
  ['42601 syntax error', pg('42601'), 'left alone'],
  ['a TypeError', new TypeError('x is undefined'), 'left alone'],
  ['a numeric code', { code: 53300, message: 'odd' }, 'left alone'],
];

test('a PostgreSQL driver error maps to the client error the table says', () => {
  for (const [label, input, want] of PG_TABLE) check(mapPgError, label, input, want);
});

test('a client error passes through either mapping unchanged', () => {
  for (const e of [
    new PchatError('NAME_TAKEN'),
    new PchatError('STORE_UNAVAILABLE'),
    new PchatError('INVALID_VALUE', 'Connection terminated'),
  ]) {
    assert.equal(mapPgError(e), e);
    assert.equal(mapSqliteError(e), e);
  }
});

test('a broken connection is recognised from the code or, with none, the message; nothing else is', () => {
  const cases: [unknown, boolean][] = [
    [errWith('connect ECONNREFUSED', 'ECONNREFUSED'), true],
    [pg('08003'), true],
    [pg('57P02'), true],
    [errWith('Connection terminated due to connection timeout'), true],
    [pg('53300'), false],
    [pg('23505'), false],
    [pg('X08'), false],
    [errWith('Connection terminated', '42601'), false],
    [errWith('boom'), false],
    [{ message: 'Connection terminated' }, false],
    [undefined, false],
    [null, false],
    ['Connection terminated', false],
  ];
  for (const [e, want] of cases) assert.equal(isPgConnectionError(e), want, String((e as Error)?.message ?? e));
});

const SQLITE_TABLE: [string, unknown, Outcome][] = [
  ...[
    'SQLITE_FULL',
    'SQLITE_IOERR',
    'SQLITE_IOERR_WRITE',
    'SQLITE_BUSY',
    'SQLITE_BUSY_SNAPSHOT',
    'SQLITE_LOCKED',
    'SQLITE_CANTOPEN',
    'SQLITE_READONLY',
    'SQLITE_READONLY_DBMOVED',
    'SQLITE_NOMEM',
    'SQLITE_PROTOCOL',
    'SQLITE_CORRUPT',
    'SQLITE_NOTADB',
    'SQLITE_PERM',
  ].map((c): [string, unknown, Outcome] => [c, errWith(`sqlite says ${c}`, c), 'STORE_UNAVAILABLE']),
  [
    'unique rooms.name_key',
    errWith('UNIQUE constraint failed: rooms.name_key', 'SQLITE_CONSTRAINT_UNIQUE'),
    'NAME_TAKEN',
  ],
  [
    'unique categories.name_key',
    errWith('UNIQUE constraint failed: categories.name_key', 'SQLITE_CONSTRAINT_UNIQUE'),
    'NAME_TAKEN',
  ],
  ['unique addins.name', errWith('UNIQUE constraint failed: addins.name', 'SQLITE_CONSTRAINT_UNIQUE'), 'NAME_TAKEN'],
  [
    'plain constraint on rooms.name',
    errWith('UNIQUE constraint failed: rooms.name', 'SQLITE_CONSTRAINT'),
    'NAME_TAKEN',
  ],
  ['unique users.uri', errWith('UNIQUE constraint failed: users.uri', 'SQLITE_CONSTRAINT_UNIQUE'), 'left alone'],
  [
    'unique myrooms.name_key (another table)',
    errWith('UNIQUE constraint failed: myrooms.name_key', 'SQLITE_CONSTRAINT_UNIQUE'),
    'left alone',
  ],
  [
    'a non-constraint error naming rooms.name_key',
    errWith('no such column: rooms.name_key', 'SQLITE_ERROR'),
    'left alone',
  ],
  ['SQLITE_TOOBIG', errWith('string or blob too big', 'SQLITE_TOOBIG'), 'INVALID_VALUE'],
  ['SQLITE_ERROR', errWith('no such table: x', 'SQLITE_ERROR'), 'left alone'],
  ['SQLITE_MISMATCH', errWith('datatype mismatch', 'SQLITE_MISMATCH'), 'left alone'],
  ['an uncoded Error', errWith('database is locked'), 'left alone'],
];

test('a SQLite driver error maps to the client error the table says', () => {
  for (const [label, input, want] of SQLITE_TABLE) check(mapSqliteError, label, input, want);
});
