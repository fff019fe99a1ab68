// The logger redacts secrets and keeps its fields; metrics expose the default process metrics and pchat's own;
// the per-user rate limiter shares one budget per user; driver failures get their codes in one place.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { rateLimited, UserRateLimiter } from '../../src/chat/user-rate-limiter.js';
import { asPchatError, fromDriverError } from '../../src/core/errors.js';
import { createLogger, redactUrl } from '../../src/observability/log.js';
import { Metrics } from '../../src/observability/metrics.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, destination: destination as unknown as NodeJS.WritableStream & { write(s: string): boolean } };
}

describe('logger', () => {
  test('JSON lines with level, time, msg and the child fields; secrets redacted', () => {
    const { lines, destination } = capture();
    const log = createLogger('debug', { destination, pretty: false });
    const child = log.child({ door: 'ws', user: 'sip:alice@x' });
    child.info('signed in', { password: 'hunter2', token: 'abc', nested: { token: 'def', keep: 1 } });
    child.warn('request', { url: '/ws?token=secret123&x=1', headers: { authorization: 'Bearer zzz' } });
    log.debug('plain');
    assert.equal(lines.length, 3);
    const [a, b, c] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    assert.equal(a.level, 'info');
    assert.equal(a.msg, 'signed in');
    assert.equal(a.door, 'ws');
    assert.equal(a.user, 'sip:alice@x');
    assert.match(String(a.time), /^\d{4}-\d\d-\d\dT/);
    assert.equal(a.password, '[redacted]');
    assert.equal(a.token, '[redacted]');
    assert.deepEqual(a.nested, { token: '[redacted]', keep: 1 });
    assert.equal(b.url, '/ws?token=[redacted]&x=1');
    assert.deepEqual(b.headers, { authorization: '[redacted]' });
    assert.equal(c.level, 'debug');
    const text = JSON.stringify(lines);
    for (const secret of ['hunter2', 'secret123', 'zzz', '"abc"', '"def"']) assert.ok(!text.includes(secret), secret);
  });

  test('a level hides what is below it; errors are serialized with their message', () => {
    const { lines, destination } = capture();
    const log = createLogger('warn', { destination, pretty: false });
    log.info('hidden');
    log.error('failed', { err: new Error('boom') });
    assert.equal(lines.length, 1);
    assert.equal((lines[0]?.err as { message?: string } | undefined)?.message, 'boom');
  });

  test('redactUrl covers token, access_token and password parameters', () => {
    assert.equal(redactUrl('/a?access_token=1&password=2&b=3'), '/a?access_token=[redacted]&password=[redacted]&b=3');
    assert.equal(redactUrl('/api/files/x?token=abc'), '/api/files/x?token=[redacted]');
  });
});

describe('metrics', () => {
  test('default process metrics and pchat metrics by door and code', async () => {
    const m = new Metrics({
      connections: () => 3,
      chat: () => ({ sessions: 4, users: 2, activeRooms: 1, joins: 5, byDoor: { ws: 3, sip: 1 } }),
    });
    const o = m.observer();
    o.posted?.();
    o.fanout?.(2, 7);
    o.storeCommit?.(1, 1);
    m.refused.inc({ door: 'http', code: 'NOT_A_MEMBER' });
    m.signInFailures.inc({ door: 'sip' });
    m.wsClosedSlow.inc();
    const text = await m.render();
    for (const line of [
      'pchat_connections 3',
      'pchat_sessions 4',
      'pchat_sessions_by_door{door="ws"} 3',
      'pchat_sessions_by_door{door="sip"} 1',
      'pchat_messages_posted_total 1',
      'pchat_deliveries_total 7',
      'pchat_fanout_seconds_count 1',
      'pchat_store_commit_seconds_count 1',
      'pchat_requests_refused_total{door="http",code="NOT_A_MEMBER"} 1',
      'pchat_signin_failures_total{door="sip"} 1',
      'pchat_ws_closed_slow_total 1',
    ])
      assert.ok(text.includes(line), `missing: ${line}`);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ])
      assert.ok(text.includes(name), `missing default metric ${name}`);
    assert.match(m.contentType(), /^text\/plain; version=0\.0\.4/);
  });
});

describe('per-user rate limiter', () => {
  test('one bucket per user: burst, then a wait; other users unaffected; refill over time', () => {
    const l = new UserRateLimiter({ ratePerSecond: 2, burst: 3 });
    const t0 = Date.now() + 10_000;
    assert.deepEqual([l.take('a', t0), l.take('a', t0), l.take('a', t0)], [0, 0, 0]);
    const wait = l.take('a', t0);
    assert.ok(wait > 0 && wait <= 500, `wait ${wait}`);
    assert.equal(l.take('b', t0), 0, 'another user has a budget of their own');
    assert.equal(l.take('a', t0 + 500), 0, 'half a second later one token is back');
    assert.ok(l.take('a', t0 + 500) > 0);
  });

  test('check throws RATE_LIMITED with retryAfter in whole seconds', () => {
    const l = new UserRateLimiter({ ratePerSecond: 0.1, burst: 1 });
    l.check('a');
    assert.throws(
      () => l.check('a'),
      (e: { code: string; details: { retryAfter: number } }) =>
        e.code === 'RATE_LIMITED' && e.details.retryAfter === 10,
    );
    assert.equal(rateLimited(1).details?.retryAfter, 1);
  });
});

describe('driver failures map in one place', () => {
  const rows: { name: string; e: unknown; code: string | undefined }[] = [
    { name: 'full disk', e: Object.assign(new Error('no space'), { code: 'ENOSPC' }), code: 'STORAGE_FULL' },
    { name: 'quota', e: Object.assign(new Error('quota'), { code: 'EDQUOT' }), code: 'STORAGE_FULL' },
    {
      name: 'PostgreSQL down',
      e: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      code: 'STORE_UNAVAILABLE',
    },
    {
      name: 'admin shutdown',
      e: Object.assign(new Error('terminating'), { code: '57P01' }),
      code: 'STORE_UNAVAILABLE',
    },
    {
      name: 'cannot connect now',
      e: Object.assign(new Error('starting up'), { code: '57P03' }),
      code: 'STORE_UNAVAILABLE',
    },
    { name: 'connection failure', e: Object.assign(new Error('x'), { code: '08006' }), code: 'STORE_UNAVAILABLE' },
    { name: 'pg terminated', e: new Error('Connection terminated unexpectedly'), code: 'STORE_UNAVAILABLE' },
    { name: 'SQLite full', e: Object.assign(new Error('full'), { code: 'SQLITE_FULL' }), code: 'STORE_UNAVAILABLE' },
    {
      name: 'SQLite I/O',
      e: Object.assign(new Error('io'), { code: 'SQLITE_IOERR_WRITE' }),
      code: 'STORE_UNAVAILABLE',
    },
    {
      name: 'wrapped cause',
      e: new Error('outer', { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) }),
      code: 'STORAGE_FULL',
    },
    { name: 'a bug', e: new TypeError('x is undefined'), code: undefined },
    {
      name: 'unique violation is not an outage',
      e: Object.assign(new Error('dup'), { code: '23505' }),
      code: undefined,
    },
  ];
  for (const r of rows) {
    test(r.name, () => {
      assert.equal(fromDriverError(r.e)?.code, r.code);
      assert.equal(asPchatError(r.e).code, r.code ?? 'INTERNAL');
    });
  }
});
