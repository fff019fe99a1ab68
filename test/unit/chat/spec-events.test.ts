// The chat event hub (src/chat/events.ts) as modules rely on it: handlers run highest priority first (ties in
// order of registration); an unregistered handler is no longer called; veto stops at the first handler that
// throws; for notify events a failing handler is logged as 'chat event handler failed' with the event and the
// module and fails the awaited acknowledgement; for emitted (not awaited) events a handler that throws or rejects
// is logged the same way and the other handlers still run. No store is involved.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatEventHub, type ChatEvents, DOORS, EVENT_KINDS, type EventLog } from '../../../src/chat/events.js';
import { PchatError } from '../../../src/core/errors.js';

interface Rec {
  msg: string;
  fields: Record<string, unknown> | undefined;
}

function hub(): { events: ChatEventHub; errors: Rec[] } {
  const errors: Rec[] = [];
  const log: EventLog = {
    error: (msg, fields) => void errors.push({ msg, fields }),
    warn: () => {},
  };
  return { events: new ChatEventHub(log), errors };
}

const revoked = (user: string): ChatEvents['credentials.revoked'] => ({ user, reason: 'test', at: 1 });
const flush = () => new Promise((r) => setImmediate(r));

/** The log records of failed handlers: [event, module, the error's message]. */
const failures = (errors: Rec[]) =>
  errors.map((e) => [e.msg, e.fields?.event, e.fields?.module, (e.fields?.err as Error | undefined)?.message]);

describe('chat event hub', () => {
  test('each event is of the kind its name says: *.before vetoes, committing/appended take part in the commit', () => {
    const names = Object.keys(EVENT_KINDS) as (keyof ChatEvents)[];
    assert.equal(names.length, 22, 'every event of ChatEvents has a kind');
    for (const name of names) {
      const expected = name.endsWith('.before')
        ? 'veto'
        : ['committing', 'appended'].includes(name)
          ? 'commit'
          : 'notify';
      assert.equal(EVENT_KINDS[name], expected, name);
    }
    assert.deepEqual([...DOORS].sort(), ['rest', 'ws', 'xccos'], 'the doors a session can come in by');
  });

  test('handlers run highest priority first, ties in the order they registered', async () => {
    const { events } = hub();
    const order: string[] = [];
    events.on('credentials.revoked', () => void order.push('normal 1'));
    events.on('credentials.revoked', () => void order.push('late'), { priority: -50 });
    events.on('credentials.revoked', () => void order.push('access'), { priority: 100 });
    events.on('credentials.revoked', () => void order.push('normal 2'));
    events.emit('credentials.revoked', revoked('u'));
    assert.deepEqual(order, ['access', 'normal 1', 'normal 2', 'late']);
    order.length = 0;
    await events.notify('credentials.revoked', revoked('u'));
    assert.deepEqual(order, ['access', 'normal 1', 'normal 2', 'late']);
  });

  test('unregistering removes only that handler; doing it twice is harmless', async () => {
    const { events } = hub();
    const calls: string[] = [];
    const offA = events.on('credentials.revoked', () => void calls.push('a'));
    const offB = events.on('credentials.revoked', () => void calls.push('b'));
    events.on('credentials.revoked', () => void calls.push('c'));
    offB();
    offB();
    events.emit('credentials.revoked', revoked('u'));
    await events.notify('credentials.revoked', revoked('u'));
    await events.veto('credentials.revoked', revoked('u'));
    assert.deepEqual(calls, ['a', 'c', 'a', 'c', 'a', 'c']);
    assert.equal(events.has('credentials.revoked'), true);
    offA();
    calls.length = 0;
    events.emit('credentials.revoked', revoked('u'));
    assert.deepEqual(calls, ['c']);
  });

  test('has() tells whether an event has any handler left', () => {
    const { events } = hub();
    assert.equal(events.has('posted'), false);
    const off = events.on('posted', () => {});
    assert.equal(events.has('posted'), true);
    off();
    assert.equal(events.has('posted'), false);
  });

  test('veto: the first handler that throws refuses, and the handlers after it do not run', async () => {
    const { events, errors } = hub();
    const calls: string[] = [];
    events.on('credentials.revoked', () => void calls.push('first'), { priority: 10 });
    events.on('credentials.revoked', async (p) => {
      calls.push('second');
      if (p.user === 'refused') throw new PchatError('NOT_A_MEMBER', 'refused by a module');
    });
    events.on('credentials.revoked', () => void calls.push('third'), { priority: -10 });
    await events.veto('credentials.revoked', revoked('fine'));
    assert.deepEqual(calls, ['first', 'second', 'third']);
    calls.length = 0;
    await assert.rejects(events.veto('credentials.revoked', revoked('refused')), {
      code: 'NOT_A_MEMBER',
      message: /refused by a module/,
    });
    assert.deepEqual(calls, ['first', 'second']);
    assert.deepEqual(errors, [], 'a refusal is the caller’s to report, not a handler failure');
  });

  describe('a failing handler of an emitted event is logged and does not stop the others', () => {
    const cases: { what: string; handler: () => void | Promise<void>; message: string }[] = [
      {
        what: 'one that throws',
        handler: () => {
          throw new Error('sync boom');
        },
        message: 'sync boom',
      },
      {
        what: 'one that rejects',
        handler: async () => {
          await flush();
          throw new Error('async boom');
        },
        message: 'async boom',
      },
    ];
    for (const c of cases) {
      test(c.what, async () => {
        const { events, errors } = hub();
        const calls: string[] = [];
        events.on('credentials.revoked', () => void calls.push('before'), { priority: 10 });
        events.on('credentials.revoked', c.handler, { module: 'flaky' });
        events.on('credentials.revoked', () => void calls.push('after'), { priority: -10, module: 'steady' });
        assert.doesNotThrow(() => events.emit('credentials.revoked', revoked('u')));
        assert.deepEqual(calls, ['before', 'after'], 'the other handlers ran, in order');
        await flush();
        await flush();
        assert.deepEqual(failures(errors), [['chat event handler failed', 'credentials.revoked', 'flaky', c.message]]);
      });
    }

    test('a handler registered without a module is logged with an empty module name', async () => {
      const { events, errors } = hub();
      events.on('posted', () => {
        throw new Error('anonymous');
      });
      events.emit('posted', {} as ChatEvents['posted']);
      assert.deepEqual(failures(errors), [['chat event handler failed', 'posted', '', 'anonymous']]);
    });
  });

  describe('a failing handler of a notified event is logged and fails the acknowledgement', () => {
    const cases: { what: string; handler: () => void | Promise<void>; message: string }[] = [
      {
        what: 'one that throws',
        handler: () => {
          throw new Error('sync refusal');
        },
        message: 'sync refusal',
      },
      {
        what: 'one that rejects',
        handler: async () => {
          await flush();
          throw new Error('async refusal');
        },
        message: 'async refusal',
      },
    ];
    for (const c of cases) {
      test(c.what, async () => {
        const { events, errors } = hub();
        const calls: string[] = [];
        events.on('room.changed', () => void calls.push('before'), { priority: 10 });
        events.on('room.changed', c.handler, { module: 'live-effects' });
        events.on('room.changed', () => void calls.push('after'), { priority: -10 });
        const payload: ChatEvents['room.changed'] = {
          where: { id: 'r', name: 'R' },
          at: 1,
          changeId: 7,
          room: undefined,
        };
        await assert.rejects(events.notify('room.changed', payload), { message: c.message });
        assert.deepEqual(calls, ['before'], 'the handlers after the failing one do not run');
        assert.deepEqual(failures(errors), [['chat event handler failed', 'room.changed', 'live-effects', c.message]]);
      });
    }

    test('synchronous handlers run within the call, up to the first that returns a promise', async () => {
      const { events } = hub();
      const calls: string[] = [];
      events.on('joined', () => void calls.push('sync 1'), { priority: 2 });
      events.on(
        'joined',
        async () => {
          calls.push('async');
          await flush();
        },
        { priority: 1 },
      );
      events.on('joined', () => void calls.push('sync 2'));
      const p = events.notify('joined', {} as ChatEvents['joined']);
      assert.deepEqual(calls, ['sync 1', 'async']);
      await p;
      assert.deepEqual(calls, ['sync 1', 'async', 'sync 2']);
    });
  });
});
