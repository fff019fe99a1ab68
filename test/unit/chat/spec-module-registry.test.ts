// Which chat event handlers each module registers, and what happens when one fails.
// - Every chat module registers its handlers under its own module name and at its documented priority:
//   roster and live effects at PRIORITY.access (they decide who is still in a room before anyone else looks),
//   backchat's history loading at PRIORITY.late (only for a join that is going ahead), everything else at the
//   default priority. The modules without event handlers (sign-in, invitations, files, search, follows,
//   preferences, the room directory) register none.
// - The hub's logging rule (events.ts): a failing handler of an emitted event (not awaited) is logged as
//   'chat event handler failed' with the event and the handler's module, and the other handlers still run; of a
//   notified event (awaited) it is logged the same way and the failure reaches the caller; a veto (or commit)
//   handler's failure reaches the caller only, unlogged (it is a refusal). A handler registered without a module is
//   logged with the module ''. This holds for a handler that throws and for one that rejects.
// - So the log of every module's failing handler names the event and that module: each module's handlers are made
//   to fail by a payload that throws on any read, and dispatched the way the core dispatches their event.
// No store is read by the handlers here, so one engine (SQLite) serves.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignIn } from '../../../src/chat/auth.js';
import { Backchat } from '../../../src/chat/backchat.js';
import { registerComplianceRecorder } from '../../../src/chat/compliance-recorder.js';
import type { ChatCore } from '../../../src/chat/core.js';
import {
  ChatEventHub,
  type ChatEventName,
  type ChatEvents,
  EVENT_KINDS,
  type EventLog,
  PRIORITY,
} from '../../../src/chat/events.js';
import { Feeds } from '../../../src/chat/feeds.js';
import { Files } from '../../../src/chat/files.js';
import { Follows } from '../../../src/chat/follows.js';
import { Invitations } from '../../../src/chat/invitations.js';
import { registerLiveEffects } from '../../../src/chat/live-effects.js';
import { registerMessageAdmin } from '../../../src/chat/message-admin.js';
import { Preferences } from '../../../src/chat/preferences.js';
import { RoomDirectory } from '../../../src/chat/room-directory.js';
import { registerRoster } from '../../../src/chat/roster.js';
import { MessageSearch } from '../../../src/chat/search.js';
import { ComplianceRecorder } from '../../../src/compliance/recorder.js';
import { ComplianceStore } from '../../../src/compliance/store.js';
import { FileStore } from '../../../src/files/file-store.js';
import {
  type ChatFixture,
  chatFixture,
  type Registration as FixtureRegistration,
  fixtureTest,
  registrations,
} from './fixture.js';

/** One call of `events.on` by a module: which module made it, the event, the handler and its options. */
type Registration = FixtureRegistration & { by: string };

/** Runs `register`, collecting every handler it registers under the label `by`. */
async function capture(core: ChatCore, by: string, into: Registration[], register: () => unknown): Promise<void> {
  for (const r of await registrations(core, register)) into.push({ by, ...r });
}

/** Every module that registers handlers, with [event, priority, module name] for each handler, in order. */
const REGISTERED: { by: string; handlers: [ChatEventName, number, string][] }[] = [
  {
    by: 'roster',
    handlers: [
      ['joined', PRIORITY.access, 'roster'],
      ['parted', PRIORITY.access, 'roster'],
    ],
  },
  {
    by: 'backchat',
    handlers: [
      ['join.before', PRIORITY.late, 'backchat'],
      ['message.arrived', PRIORITY.normal, 'backchat'],
      ['parted', PRIORITY.normal, 'backchat'],
    ],
  },
  { by: 'feeds', handlers: [['message.arrived', PRIORITY.normal, 'feeds']] },
  { by: 'live-effects', handlers: [['room.changed', PRIORITY.access, 'live-effects']] },
  {
    by: 'message-admin',
    handlers: [
      ['message.removed', PRIORITY.normal, 'message-admin'],
      ['message.replaced', PRIORITY.normal, 'message-admin'],
    ],
  },
  {
    by: 'compliance',
    handlers: [
      ['committing', PRIORITY.normal, 'compliance'],
      ['appended', PRIORITY.normal, 'compliance'],
      ['posted', PRIORITY.normal, 'compliance'],
      ['joined', PRIORITY.normal, 'compliance'],
      ['parted', PRIORITY.normal, 'compliance'],
      ['history.viewed', PRIORITY.normal, 'compliance'],
      ['searched', PRIORITY.normal, 'compliance'],
      ['downloaded', PRIORITY.normal, 'compliance'],
    ],
  },
];

/** The modules that register no event handler. */
const NONE = ['auth', 'room-directory', 'search', 'follows', 'invitations', 'files', 'preferences'];

/** How the core dispatches each event that a module handles. */
const DISPATCH: Partial<Record<ChatEventName, ('emit' | 'notify' | 'veto')[]>> = {
  // awaited before the action is acknowledged; 'parted' is also emitted when a session closes or is removed
  joined: ['notify'],
  parted: ['notify', 'emit'],
  'room.changed': ['notify'],
  'history.viewed': ['notify'],
  searched: ['notify'],
  downloaded: ['notify'],
  // never awaited
  posted: ['emit'],
  'message.arrived': ['emit'],
  'message.removed': ['emit'],
  'message.replaced': ['emit'],
  // refusals: vetoes, and the commit handlers of the batch's transaction
  'join.before': ['veto'],
  committing: ['veto'],
  appended: ['veto'],
};

const POISON = 'the payload of this event cannot be read';
/** A payload whose every property read throws: any handler that looks at it fails. */
const poisoned = <K extends ChatEventName>(): ChatEvents[K] =>
  new Proxy({} as ChatEvents[K] & object, {
    get() {
      throw new Error(POISON);
    },
  });

const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

describe('chat modules: the handlers each registers, under its name and priority, and the log of a failing one', () => {
  const compDir = mkdtempSync(join(tmpdir(), 'pchat-registry-'));
  let fx: ChatFixture | undefined;
  let compliance: ComplianceStore | undefined;
  const registered: Registration[] = [];

  before(async () => {
    fx = await chatFixture('sqlite', async (core) => {
      const take = (by: string, register: () => unknown) => capture(core, by, registered, register);
      // in the order ChatService wires them
      await take('auth', () => new SignIn(core, { tokenTtlSeconds: 3600 }).register());
      await take('roster', () => registerRoster(core));
      await take('backchat', () => new Backchat(core).register());
      await take('room-directory', () => new RoomDirectory(core));
      await take('search', () => new MessageSearch(core));
      await take('follows', () => new Follows(core));
      await take('feeds', () => new Feeds(core).start());
      await take('invitations', () => new Invitations(core).register());
      await take('files', () => new Files(core, new FileStore(join(compDir, 'files'))));
      await take('preferences', () => new Preferences(core));
      await take('live-effects', () => registerLiveEffects(core));
      await take('message-admin', () => registerMessageAdmin(core));
      compliance = await ComplianceStore.open({ dataDir: compDir }, { shareWith: core.store });
      const recorder = new ComplianceRecorder(compliance, { cacheMs: 0 });
      await take('compliance', () => registerComplianceRecorder(core, recorder));
    });
  });
  after(async () => {
    await compliance?.close();
    await fx?.close();
    rmSync(compDir, { recursive: true, force: true });
  });
  const fixture = fixtureTest('sqlite', () => fx);

  fixture('every module registers each handler under its own module name and at its documented priority', async () => {
    const got = (by: string) =>
      registered
        .filter((r) => r.by === by)
        .map((r): [ChatEventName, number, string | undefined] => [
          r.event,
          r.opts?.priority ?? PRIORITY.normal,
          r.opts?.module,
        ]);
    for (const m of REGISTERED) assert.deepEqual(got(m.by), m.handlers, m.by);
    for (const by of NONE) assert.deepEqual(got(by), [], `${by} registers no event handler`);
    assert.deepEqual(
      [...new Set(registered.map((r) => r.by))].sort(),
      REGISTERED.map((m) => m.by).sort(),
      'no other module registers handlers',
    );
  });

  fixture(
    "a failing handler of an emitted event is logged as 'chat event handler failed' with the event and its module, every handler in priority order",
    async (f) => {
      const events = Object.entries(DISPATCH)
        .filter(([, how]) => how.includes('emit'))
        .map(([e]) => e as ChatEventName);
      for (const event of events) {
        // the handlers of the event as the table gives them, highest priority first (ties: in registration order)
        const want = REGISTERED.flatMap((m) => m.handlers)
          .filter(([e]) => e === event)
          .map(([, priority, module], seq) => ({ priority, module, seq }))
          .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
          .map((h) => ['error', 'chat event handler failed', event, h.module, POISON]);
        assert.ok(want.length > 0, event);
        const from = f.logs.length;
        assert.doesNotThrow(() => f.core.events.emit(event, poisoned()), event);
        await settle();
        assert.deepEqual(
          f.logs
            .slice(from)
            .map((l) => [l.level, l.msg, l.fields?.event, l.fields?.module, (l.fields?.err as Error)?.message]),
          want,
          event,
        );
      }
    },
  );

  fixture(
    'a failing handler of a notified event fails the acknowledgement and is logged with the event and its module',
    async (f) => {
      const events = Object.entries(DISPATCH)
        .filter(([, how]) => how.includes('notify'))
        .map(([e]) => e as ChatEventName);
      // each handler on a hub of its own (the first to fail stops a notification), with the options it registered
      for (const r of registered.filter((x) => events.includes(x.event))) {
        const logged: unknown[][] = [];
        const hub = new ChatEventHub({
          error: (msg, fields) => void logged.push([msg, fields?.event, fields?.module]),
          warn: () => {},
        });
        hub.on(r.event, r.fn as () => void, r.opts);
        await assert.rejects(hub.notify(r.event, poisoned()), { message: POISON }, `${r.by} ${r.event}`);
        assert.deepEqual(logged, [['chat event handler failed', r.event, r.by]], `${r.by} ${r.event}`);
      }
      // and on the core's own hub: the first handler (highest priority) fails and is the one logged
      for (const event of events) {
        const first = REGISTERED.flatMap((m) => m.handlers)
          .filter(([e]) => e === event)
          .sort((a, b) => b[1] - a[1])[0];
        const from = f.logs.length;
        await assert.rejects(f.core.events.notify(event, poisoned()), { message: POISON }, event);
        assert.deepEqual(
          f.logs.slice(from).map((l) => [l.msg, l.fields?.event, l.fields?.module]),
          [['chat event handler failed', event, first?.[2]]],
          event,
        );
      }
    },
  );

  fixture('a failing veto or commit handler of a module refuses the action and is not logged', async (f) => {
    const events = Object.entries(DISPATCH)
      .filter(([, how]) => how.includes('veto'))
      .map(([e]) => e as ChatEventName);
    for (const event of events) {
      assert.notEqual(EVENT_KINDS[event], 'notify', event);
      const from = f.logs.length;
      await assert.rejects(f.core.events.veto(event, poisoned()), { message: POISON }, event);
      await settle();
      assert.deepEqual(f.logs.slice(from), [], event);
    }
  });

  fixture('every event a module handles is dispatched by the kind the event map gives it', async () => {
    for (const r of registered) {
      const how = DISPATCH[r.event];
      assert.ok(how, `${r.by} handles ${r.event}: the table says how the core dispatches it`);
      assert.deepEqual(
        how.includes('veto'),
        EVENT_KINDS[r.event] !== 'notify',
        `${r.event} is of kind ${EVENT_KINDS[r.event]}`,
      );
    }
  });
});

/** The hub's logging rule, for each way of dispatching, each way of failing, with and without a module name. */
describe('chat event hub: which failures are logged, with which event and module', () => {
  const DISPATCHES: {
    how: 'emit' | 'notify' | 'veto';
    /** Whether the failure is logged. */
    logged: boolean;
    /** Whether the failure reaches the caller. */
    thrown: boolean;
  }[] = [
    { how: 'emit', logged: true, thrown: false },
    { how: 'notify', logged: true, thrown: true },
    { how: 'veto', logged: false, thrown: true },
  ];
  const FAILURES: { what: string; fn: () => void | Promise<void> }[] = [
    {
      what: 'throws',
      fn: () => {
        throw new Error('handler broke');
      },
    },
    {
      what: 'rejects',
      fn: async () => {
        await new Promise((r) => setImmediate(r));
        throw new Error('handler broke');
      },
    },
  ];
  const MODULES: { registered: string | undefined; logged: string }[] = [
    { registered: 'some-module', logged: 'some-module' },
    { registered: undefined, logged: '' },
  ];
  for (const d of DISPATCHES) {
    for (const f of FAILURES) {
      for (const m of MODULES) {
        const name = m.registered === undefined ? 'without a module' : `of module '${m.registered}'`;
        test(`${d.how}: a handler ${name} that ${f.what} is ${d.logged ? `logged with the event and module '${m.logged}'` : 'not logged'}${d.thrown ? ', and the caller gets the error' : ', and nobody else sees the error'}`, async () => {
          const logged: unknown[][] = [];
          const log: EventLog = {
            error: (msg, fields) =>
              void logged.push([msg, fields?.event, fields?.module, (fields?.err as Error | undefined)?.message]),
            warn: () => {},
          };
          const hub = new ChatEventHub(log);
          hub.on('credentials.revoked', f.fn, m.registered === undefined ? {} : { module: m.registered });
          const payload: ChatEvents['credentials.revoked'] = { user: 'u', reason: 'r', at: 1 };
          const run = async () => {
            if (d.how === 'emit') hub.emit('credentials.revoked', payload);
            else await hub[d.how]('credentials.revoked', payload);
          };
          if (d.thrown) await assert.rejects(run(), { message: 'handler broke' });
          else await assert.doesNotReject(run());
          await settle();
          assert.deepEqual(
            logged,
            d.logged ? [['chat event handler failed', 'credentials.revoked', m.logged, 'handler broke']] : [],
          );
        });
      }
    }
  }
});
