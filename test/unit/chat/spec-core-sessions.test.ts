// The chat core's sessions and rooms as every door relies on them: who may open a session (unknown user, chat
// disabled by policy, a standby server refusing new connections but not REST calls), closing and ending
// sessions (a revoked credential ends the sessions opened with it, or all of the user's), the session-closed
// refusal, the access rule's error for a room (code, field, message), joins that fail on their own (a module's
// unexpected failure is INTERNAL), room views (add-in, participants) and the live counts operators read.
// On SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatEvents } from '../../../src/chat/events.js';
import type { JoinOutcome, Session } from '../../../src/chat/types.js';
import { PchatError } from '../../../src/core/errors.js';
import type { BusEnvelope } from '../../../src/pool/bus.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, uri } from './fixture.js';

const failed = (o: JoinOutcome | undefined) => {
  assert.ok(o && !o.ok, 'the join failed');
  return { code: o.code, message: o.message };
};

for (const engine of ENGINES) {
  describe(`chat core sessions and rooms (${engine})`, () => {
    let fx: ChatFixture | undefined;
    let standby = false;
    let admitted = 0;
    const opened: ChatEvents['session.opened'][] = [];
    const closed: ChatEvents['session.closed'][] = [];
    const revoked: ChatEvents['credentials.revoked'][] = [];

    before(async () => {
      fx = await chatFixture(
        engine,
        (core) => {
          core.events.on('session.opened', (e) => void opened.push(e));
          core.events.on('session.closed', (e) => void closed.push(e));
          core.events.on('credentials.revoked', (e) => void revoked.push(e));
        },
        {
          admit: () => {
            admitted++;
            if (standby) throw new PchatError('SERVER_STANDBY');
          },
        },
      );
    });
    after(async () => fx?.close());

    test('a session opens only for a known user with chat enabled', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, admin } = fx;
      assert.throws(() => core.openSession(uri('nobody'), () => {}, 'ws'), {
        code: 'USER_NOT_FOUND',
        message: /user sip:nobody@contoso\.com does not exist/,
      });
      await admin.newPolicy('tag:quiet', { enablePersistentChat: false });
      await admin.grantPolicy(uri('dave'), 'tag:quiet');
      await core.model.poll();
      for (const door of ['ws', 'rest', 'xccos'] as const) {
        assert.throws(() => core.openSession(uri('dave'), () => {}, door), {
          code: 'POLICY_DISABLED',
          message: /not enabled for this user by policy/,
        });
      }
      // the same rule refuses the user's calls that need no session
      assert.throws(() => core.subject(uri('dave')), { code: 'POLICY_DISABLED' });
      assert.equal(core.stats().sessions, 0, 'a refused session is not counted');
      await admin.grantPolicy(uri('dave'), null);
      await core.model.poll();
      const s = core.openSession(uri('dave'), () => {}, 'ws');
      assert.equal(s.displayName, 'Dave');
      core.closeSession(s);
    });

    test('a standby server refuses new connections (WebSocket, SIP) but still answers REST calls', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core } = fx;
      const cases: { door: 'ws' | 'xccos' | 'rest'; asked: boolean }[] = [
        { door: 'ws', asked: true },
        { door: 'xccos', asked: true },
        { door: 'rest', asked: false },
      ];
      standby = true;
      try {
        for (const c of cases) {
          admitted = 0;
          if (c.asked) assert.throws(() => core.openSession(uri('bob'), () => {}, c.door), { code: 'SERVER_STANDBY' });
          else core.closeSession(core.openSession(uri('bob'), () => {}, c.door));
          assert.equal(admitted, c.asked ? 1 : 0, `${c.door}: admission asked`);
        }
      } finally {
        standby = false;
      }
      const s = core.openSession(uri('bob'), () => {}, 'ws');
      assert.equal(s.transport, 'ws');
      core.closeSession(s);
    });

    test('opening and closing a session are announced with who and the door; closing parts every room', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      opened.length = 0;
      closed.length = 0;
      const s = core.openSession(uri('alice'), () => {}, 'xccos');
      assert.deepEqual(
        opened.map((e) => ({ who: e.who, session: e.session })),
        [{ who: { user: uri('alice'), displayName: 'Alice', door: 'xccos', sessionId: s.id }, session: s }],
      );
      await core.join(s, [rooms.general, rooms.audit]);
      assert.deepEqual(core.participants(rooms.general), [uri('alice')]);
      core.closeSession(s);
      assert.deepEqual(core.participants(rooms.general), []);
      assert.deepEqual(core.participants(rooms.audit), []);
      assert.equal(s.rooms.size, 0);
      assert.deepEqual(
        closed.map((e) => ({ who: e.who.user, door: e.who.door, reason: e.reason })),
        [{ who: uri('alice'), door: 'xccos', reason: 'closed' }],
        "closed by its door: reason 'closed'",
      );
      core.closeSession(s);
      assert.equal(closed.length, 1, 'closing twice is harmless');
    });

    test('a closed session is refused with TOKEN_INVALID "the session is closed"', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const s = fx.open('alice');
      core.closeSession(s);
      const refusal = { code: 'TOKEN_INVALID', message: /the session is closed/ };
      assert.throws(() => core.liveSession(s), refusal);
      await assert.rejects(core.post(s, rooms.general, { text: 'too late' }), refusal);
      await assert.rejects(core.join(s, [rooms.general]), refusal);
      assert.throws(() => core.part(s, rooms.general), refusal);
    });

    test('a session that closes while its join waits on a module is not put in the room', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const off = core.events.on('join.before', () => gate);
      try {
        const s = fx.open('alice');
        const joining = core.join(s, [rooms.general]);
        await new Promise((r) => setImmediate(r));
        core.closeSession(s);
        release();
        const [r] = await joining;
        assert.deepEqual(failed(r), { code: 'TOKEN_INVALID', message: 'the session is closed' });
        assert.deepEqual(core.participants(rooms.general), []);
        assert.equal(core.liveRoom(rooms.general), undefined);
      } finally {
        off();
      }
    });

    test('a module failing unexpectedly fails that join as INTERNAL, without internals; the other rooms join', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const off = core.events.on('join.before', (ev) => {
        if (ev.room.id === rooms.general) throw new Error('database password is hunter2');
      });
      try {
        const s = fx.open('alice');
        const [g, a] = await core.join(s, [rooms.general, rooms.audit]);
        assert.deepEqual(failed(g), { code: 'INTERNAL', message: 'Internal server error.' });
        assert.equal(g?.ok === false && g.roomId, rooms.general);
        assert.equal(a?.ok, true);
        assert.deepEqual([...s.rooms], [rooms.audit]);
        core.closeSession(s);
      } finally {
        off();
      }
    });

    test('ending a user’s sessions: each is told why and closed; a token ends only the sessions opened with it', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const got = new Map<string, unknown[]>();
      const open = (user: string, tokenHash?: string) => {
        const events: unknown[] = [];
        const s = core.openSession(uri(user), (e) => void events.push(e), 'ws', tokenHash ? { tokenHash } : {});
        got.set(s.id, events);
        return s;
      };
      const a1 = open('alice', 'hash-1');
      const a2 = open('alice', 'hash-2');
      const a3 = open('alice');
      const bob = open('bob', 'hash-1');
      await core.join(a1, [rooms.general]);
      closed.length = 0;
      revoked.length = 0;
      const ended = (reason: string) => ({ type: 'ended', code: 'TOKEN_INVALID', message: reason });

      assert.equal(core.endSessions(uri('alice'), 'token revoked', 'hash-1'), 1);
      assert.deepEqual(got.get(a1.id)?.at(-1), ended('token revoked'), 'the last event the session gets');
      assert.deepEqual(
        [...core.sessionsOf(uri('alice'))],
        [a2, a3].map((s) => core.liveSession(s)),
      );
      assert.deepEqual(core.participants(rooms.general), [], 'the ended session left its rooms');
      assert.deepEqual(
        closed.map((e) => [e.session.id, e.reason]),
        [[a1.id, 'ended']],
      );
      assert.deepEqual(
        revoked.map(({ at: _at, ...r }) => r),
        [{ user: uri('alice'), reason: 'token revoked', tokenHash: 'hash-1' }],
        'doors holding credentials of their own are told which token',
      );

      revoked.length = 0;
      assert.equal(core.endSessions(uri('alice'), 'password changed'), 2, 'without a token: all of the user’s');
      for (const s of [a2, a3]) assert.deepEqual(got.get(s.id)?.at(-1), ended('password changed'));
      assert.equal(core.sessionsOf(uri('alice')).size, 0);
      assert.deepEqual(
        revoked.map(({ at: _at, ...r }) => r),
        [{ user: uri('alice'), reason: 'password changed' }],
        'no tokenHash when every credential is revoked',
      );
      assert.equal(core.endSessions(uri('alice'), 'again'), 0, 'nothing left to end');
      assert.equal(core.liveSession(bob).user, uri('bob'), 'another user with the same token hash is untouched');
      assert.equal(got.get(bob.id)?.length, 0);
      core.closeSession(bob);
    });

    test('a revocation is published on the user’s subject, so every server of the pool ends the sessions', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core } = fx;
      const seen: BusEnvelope[] = [];
      const off = core.bus.subscribe('user.', (e) => void seen.push(e));
      try {
        const withToken = core.openSession(uri('carol'), () => {}, 'ws', { tokenHash: 'h' });
        const other = core.openSession(uri('carol'), () => {}, 'ws', { tokenHash: 'k' });
        core.revokeSessions(uri('carol'), 'signed out', 'h');
        assert.deepEqual(
          seen.map((e) => [e.subject, e.body]),
          [
            [
              `user.${uri('carol')}`,
              { kind: 'sessions.revoked', user: uri('carol'), reason: 'signed out', tokenHash: 'h' },
            ],
          ],
        );
        assert.throws(() => core.liveSession(withToken), { code: 'TOKEN_INVALID' });
        assert.equal(core.liveSession(other).id, other.id);
        seen.length = 0;
        core.revokeSessions(uri('carol'), 'password changed');
        assert.deepEqual(
          seen.map((e) => e.body),
          [{ kind: 'sessions.revoked', user: uri('carol'), reason: 'password changed' }],
        );
        assert.throws(() => core.liveSession(other), { code: 'TOKEN_INVALID' });
      } finally {
        off();
      }
    });

    test('a room the caller may not act in is refused with the rule’s code on field room', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const cases: { user: string; room: string; action: 'join' | 'post'; code: string; message: RegExp }[] = [
        { user: 'bob', room: rooms.secret, action: 'join', code: 'ROOM_NOT_FOUND', message: /does not exist/ },
        { user: 'carol', room: rooms.general, action: 'join', code: 'NOT_A_MEMBER', message: /Only members/ },
        {
          user: 'erin',
          room: rooms.general,
          action: 'join',
          code: 'NOT_IN_CATEGORY_SCOPE',
          message: /allowed members/,
        },
        { user: 'bob', room: rooms.audit, action: 'post', code: 'NOT_A_PRESENTER', message: /Only presenters/ },
      ];
      for (const c of cases) {
        const what = `${c.user} ${c.action} ${c.code}`;
        const subject = core.subject(uri(c.user));
        assert.throws(() => core.require(subject, c.room, c.action), {
          code: c.code,
          field: 'room',
          message: c.message,
        });
        assert.equal(core.may(subject, c.room, c.action), false, what);
      }
      // a secret room's refusal is the same as for a room that does not exist: its id, nothing more
      assert.throws(() => core.require(core.subject(uri('bob')), rooms.secret, 'join'), {
        message: `room: ${rooms.secret} does not exist`,
      });
      for (const id of ['no-such-room', '']) {
        assert.throws(() => core.require(core.subject(uri('alice')), id, 'join'), {
          code: 'ROOM_NOT_FOUND',
          field: 'room',
          message: `room: ${id} does not exist`,
        });
        assert.throws(() => core.roomAndCategory(id), { code: 'ROOM_NOT_FOUND', field: 'room' });
        assert.equal(core.may(core.subject(uri('alice')), id, 'see'), false);
      }
      assert.equal(core.may(core.subject(uri('alice')), rooms.general, 'post'), true);
      assert.equal(core.may(core.subject(uri('carol')), rooms.audit, 'join'), true, 'an open room');
      const carol = fx.open('carol');
      const [r] = await core.join(carol, [rooms.general]);
      assert.deepEqual(failed(r), { code: 'NOT_A_MEMBER', message: 'Only members of this room may do this.' });
      core.closeSession(carol);
    });

    test('parting a room the session is not in is refused at once with NOT_JOINED on field room', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const s = fx.open('alice');
      assert.throws(() => core.part(s, rooms.general), {
        code: 'NOT_JOINED',
        field: 'room',
        message: `room: not joined to ${rooms.general}`,
      });
      await core.join(s, [rooms.general]);
      await core.part(s, rooms.general);
      assert.throws(() => core.part(s, rooms.general), { code: 'NOT_JOINED' });
      core.closeSession(s);
    });

    test('join bookkeeping: the first session of a user is told apart, joining again changes nothing, a new room is not large', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const seen: [string, string, boolean][] = [];
      const offs = [
        core.events.on('parted', (ev) => void seen.push(['parted', ev.session.id, ev.lastOfUser])),
        core.events.on('join.before', (ev) => void seen.push(['join.before', ev.session.id, ev.firstOfUser])),
        core.events.on('joined', (ev) => void seen.push(['joined', ev.session.id, ev.firstOfUser])),
      ];
      try {
        const a1 = fx.open('alice');
        const a2 = fx.open('alice');
        const [r1] = await core.join(a1, [rooms.general]);
        await core.join(a2, [rooms.general]);
        const [again] = await core.join(a1, [rooms.general]);
        assert.deepEqual(seen, [
          ['join.before', a1.id, false],
          ['joined', a1.id, true],
          ['join.before', a2.id, false],
          ['joined', a2.id, false],
          ['join.before', a1.id, false],
          ['joined', a1.id, false],
        ]);
        assert.ok(r1?.ok && again?.ok);
        assert.equal(r1.joined.large, false, 'a room starts below ParticipantUpdateLimit');
        assert.equal(again.joined.room.participants, 1);
        assert.deepEqual(core.participants(rooms.general), [uri('alice')]);
        assert.equal(core.stats().joins, 2, 'joining a room the session is in does not count twice');
        seen.length = 0;
        core.closeSession(a2);
        assert.deepEqual(core.participants(rooms.general), [uri('alice')], 'alice is still there by her other session');
        core.closeSession(a1);
        assert.deepEqual(
          seen,
          [
            ['parted', a2.id, false],
            ['parted', a1.id, true],
          ],
          'the last session of the user to leave is told apart',
        );
        assert.equal(core.liveRoom(rooms.general), undefined, 'a room nobody is in is no longer live');
      } finally {
        for (const off of offs) off();
      }
    });

    test('a revocation redelivered by the bus is applied once', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core } = fx;
      const s = core.openSession(uri('carol'), () => {}, 'ws');
      revoked.length = 0;
      const env: BusEnvelope = {
        subject: `user.${uri('carol')}`,
        key: 'server-b:42',
        origin: 'server-b',
        body: { kind: 'sessions.revoked', user: uri('carol'), reason: 'signed out everywhere' },
      };
      core.bus.publish(env);
      core.bus.publish(env);
      assert.throws(() => core.liveSession(s), { code: 'TOKEN_INVALID' });
      assert.deepEqual(
        revoked.map((r) => r.reason),
        ['signed out everywhere'],
      );
    });

    test('a room view names its add-in and counts the users (not sessions) in the room', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, admin, rooms } = fx;
      await admin.newAddin({ name: 'Board', url: 'https://board.contoso.com/' });
      await admin.setRoom(rooms.general, { addin: 'Board' });
      await core.model.poll();
      const alice1 = fx.open('alice');
      const alice2 = fx.open('alice');
      const bob = fx.open('bob');
      const views: { addin: unknown; participants: number }[] = [];
      for (const [s, room] of [
        [alice1, rooms.general],
        [alice2, rooms.general],
        [bob, rooms.general],
        [bob, rooms.audit],
      ] as [Session, string][]) {
        const [r] = await core.join(s, [room]);
        assert.ok(r?.ok);
        views.push({ addin: r.joined.room.addin, participants: r.joined.room.participants });
      }
      assert.deepEqual(views, [
        { addin: { name: 'Board', url: 'https://board.contoso.com/' }, participants: 1 },
        { addin: { name: 'Board', url: 'https://board.contoso.com/' }, participants: 1 },
        { addin: { name: 'Board', url: 'https://board.contoso.com/' }, participants: 2 },
        { addin: null, participants: 1 },
      ]);
      const subject = core.subject(uri('carol'));
      const { room, category } = core.roomAndCategory(rooms.secret);
      assert.equal(core.view(subject, room, category).participants, 0, 'a room nobody is in here');
      for (const s of [alice1, alice2, bob]) core.closeSession(s);
      await admin.setRoom(rooms.general, { addin: null });
      await core.model.poll();
    });

    test('who, where and display names fall back to the id for what the directory does not know', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      assert.equal(core.displayName(uri('bob')), 'Bob');
      assert.equal(core.displayName(uri('gone')), uri('gone'), 'a removed author keeps their URI as name');
      assert.deepEqual(core.who(uri('bob')), { user: uri('bob'), displayName: 'Bob', door: 'rest' });
      assert.deepEqual(core.who(uri('bob'), 'xccos'), { user: uri('bob'), displayName: 'Bob', door: 'xccos' });
      assert.deepEqual(core.where(rooms.general), { id: rooms.general, name: 'General' });
      assert.deepEqual(core.where('gone-room'), { id: 'gone-room', name: 'gone-room' });
    });

    test('live counts: sessions, users, active rooms, joins and sessions by door', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const empty = { sessions: 0, users: 0, activeRooms: 0, joins: 0, byDoor: {} };
      assert.deepEqual(core.stats(), empty);
      const aWs = fx.open('alice');
      const aRest = core.openSession(uri('alice'), () => {}, 'rest');
      const bSip = core.openSession(uri('bob'), () => {}, 'xccos');
      const bWs = fx.open('bob');
      await core.join(aWs, [rooms.general, rooms.audit]);
      await core.join(bSip, [rooms.general]);
      assert.deepEqual(core.stats(), {
        sessions: 4,
        users: 2,
        activeRooms: 2,
        joins: 3,
        byDoor: { ws: 2, rest: 1, xccos: 1 },
      });
      core.closeSession(bSip);
      assert.deepEqual(core.stats(), {
        sessions: 3,
        users: 2,
        activeRooms: 2,
        joins: 2,
        byDoor: { ws: 2, rest: 1 },
      });
      assert.equal(core.sessionsOf(uri('bob')).size, 1, 'bob still has a session');
      core.closeSession(bWs);
      assert.equal(core.stats().users, 1, 'a user with no session left is not counted');
      assert.equal(core.sessionsOf(uri('bob')).size, 0);
      core.closeSession(aWs);
      core.closeSession(aRest);
      assert.deepEqual(core.stats(), empty);
    });

    test('after a bus outage a single server catches up the admin changes, and logs nothing', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, admin, rooms } = fx;
      fx.logs.length = 0;
      await admin.setRoom(rooms.general, { description: 'caught up' });
      await core.resync();
      assert.equal(core.model.rooms.get(rooms.general)?.description, 'caught up');
      assert.deepEqual(fx.logs, []);
    });
  });
}
