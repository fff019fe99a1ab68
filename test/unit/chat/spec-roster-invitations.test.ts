// Two chat modules, on SQLite and PostgreSQL.
// Roster (roster.ts): its handlers run at access priority (a module at normal priority sees the roster it set and
// the notice it published), under the module name 'roster'. A user's first session in a room publishes a roster
// notice 'join' on the room's subject, the user's last session leaving it a notice 'part' (a second session
// joining or an earlier one leaving publishes nothing); the room is large above ParticipantUpdateLimit users and
// small again below 80 % of it, and the state is updated at every join and part, the last one included, which
// takes the room's live state away; a join whose session is gone by the roster's turn is answered with no roster.
// Invitations (invitations.ts): only 'invitation.created' changes are delivered, to every session of the invited
// user and nobody else, at the time the change is applied (not later), with the room's name as the server knows
// it once the whole batch of changes is applied, or the room's id when the room no longer exists; the listing
// shows a room that no longer exists by its id.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { ChatEventName } from '../../../src/chat/events.js';
import { PRIORITY } from '../../../src/chat/events.js';
import { Invitations } from '../../../src/chat/invitations.js';
import { registerRoster } from '../../../src/chat/roster.js';
import type { ChatEvent, Session } from '../../../src/chat/types.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { type BusBody, roomSubject } from '../../../src/pool/bus.js';
import { LocalBus } from '../../../src/pool/local-bus.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, registrations, uri } from './fixture.js';

const members = (s: string) => parseListEdit(s, 'members');
const types = (got: ChatEvent[]) =>
  got.map((e) =>
    e.type === 'join' || e.type === 'part'
      ? `${e.type} ${e.user}`
      : e.type === 'room.large'
        ? `${e.type} ${e.participants}`
        : e.type,
  );
/** What alice has seen by the end of the large-room table. */
const SEEN_AGAIN = ['join bob', 'room.large 3', 'join bob', 'part bob', 'join bob', 'room.large 3'];

type RosterBody = Extract<BusBody, { kind: 'roster' }>;

for (const engine of ENGINES) {
  describe(`roster module (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const bus = new LocalBus('server-r');
    /** Every roster notice published, with its subject and origin. */
    const notices: { subject: string; origin: string; body: RosterBody }[] = [];
    /** What a 'joined' handler at normal priority, registered before the roster, saw. */
    const seenAtJoin: { user: string; roster: string[] | null }[] = [];
    /** For each 'parted' seen by a handler at normal priority: the part notices of that user published by then. */
    const partNoticesAtPart: { user: string; notices: number }[] = [];
    /** Sessions a handler above access priority closes while their join is being answered. */
    const closeWhileJoining = new Set<string>();
    const registered: [ChatEventName, unknown][] = [];

    before(async () => {
      fx = await chatFixture(
        engine,
        async (core) => {
          core.events.on('joined', (ev) => {
            seenAtJoin.push({ user: ev.who.user, roster: ev.roster?.map((r) => r.uri) ?? null });
          });
          core.events.on('parted', (ev) => {
            partNoticesAtPart.push({
              user: ev.who.user,
              notices: notices.filter((n) => n.body.action === 'part' && n.body.user === ev.who.user).length,
            });
          });
          for (const r of await registrations(core, () => registerRoster(core))) registered.push([r.event, r.opts]);
          core.events.on(
            'joined',
            (ev) => {
              if (closeWhileJoining.has(ev.session.id)) core.closeSession(ev.session);
            },
            { priority: PRIORITY.access + 10 },
          );
        },
        { bus },
      );
      bus.subscribe('room.', (e) => {
        if (e.body.kind === 'roster') notices.push({ subject: e.subject, origin: e.origin, body: e.body });
      });
    });
    after(async () => fx?.close());
    const rosterTest = fixtureTest(engine, () => fx);

    rosterTest(
      "the roster's handlers run at access priority: a normal-priority module sees the roster it set and the part notice it published",
      async (f) => {
        const alice = f.open('alice');
        const bob = f.open('bob');
        seenAtJoin.length = 0;
        partNoticesAtPart.length = 0;
        await f.core.join(alice, [f.rooms.general]);
        await f.core.join(bob, [f.rooms.general]);
        assert.deepEqual(seenAtJoin, [
          { user: uri('alice'), roster: [uri('alice')] },
          { user: uri('bob'), roster: [uri('alice'), uri('bob')] },
        ]);
        await f.core.part(bob, f.rooms.general);
        assert.deepEqual(partNoticesAtPart, [{ user: uri('bob'), notices: 1 }]);
        f.core.closeSession(alice);
        f.core.closeSession(bob);
      },
    );

    rosterTest(
      "a user's first session in a room publishes 'join', the last one leaving 'part', on the room's subject with the user, name and the session to skip",
      async (f) => {
        const alice = f.open('alice');
        const bob1 = f.open('bob');
        const bob2 = f.open('bob');
        await f.core.join(alice, [f.rooms.general]);
        notices.length = 0;
        await f.core.join(bob1, [f.rooms.general]);
        await f.core.join(bob2, [f.rooms.general]);
        await f.core.part(bob1, f.rooms.general);
        assert.deepEqual(notices.length, 1, "bob's second session joining and first leaving publish nothing");
        f.core.closeSession(bob2);
        const body = (action: 'join' | 'part', s: Session) => ({
          subject: roomSubject(f.rooms.general),
          origin: 'server-r',
          body: {
            kind: 'roster',
            roomId: f.rooms.general,
            action,
            user: uri('bob'),
            displayName: 'Bob',
            except: s.id,
          },
        });
        assert.deepEqual(notices, [body('join', bob1), body('part', bob2)]);
        assert.deepEqual(types(f.got(alice)), [`join ${uri('bob')}`, `part ${uri('bob')}`]);
        f.core.closeSession(alice);
      },
    );

    rosterTest(
      "the last session leaving a room, by part or by closing, leaves cleanly: the room's live state is gone and nothing is logged",
      async (f) => {
        const from = f.logs.length;
        const alice = f.open('alice');
        await f.core.join(alice, [f.rooms.general]);
        await f.core.part(alice, f.rooms.general);
        assert.equal(f.core.liveRoom(f.rooms.general), undefined);
        await f.core.join(alice, [f.rooms.general]);
        f.core.closeSession(alice);
        await new Promise((r) => setTimeout(r, 10));
        assert.equal(f.core.liveRoom(f.rooms.general), undefined);
        assert.deepEqual(f.logs.slice(from), []);
      },
    );

    rosterTest(
      "a join whose session closed before the roster's turn is answered with no roster and publishes no join; nothing fails",
      async (f) => {
        const from = f.logs.length;
        notices.length = 0;
        const bob = f.open('bob');
        closeWhileJoining.add(bob.id);
        const [r] = await f.core.join(bob, [f.rooms.general]);
        assert.ok(r?.ok, 'the join is answered');
        assert.equal(r.joined.roster, null);
        assert.equal(r.joined.large, false);
        assert.equal(f.core.liveRoom(f.rooms.general), undefined);
        assert.deepEqual(
          notices.map((n) => n.body.action),
          ['part'],
          'only the part of the closed session',
        );
        assert.deepEqual(f.logs.slice(from), []);
      },
    );

    rosterTest(
      'a room is large above ParticipantUpdateLimit users and small again below 80 % of it; the part that makes it small is not told',
      async (f) => {
        const limitBefore = f.core.model.config.participantUpdateLimit;
        await f.admin.setConfig({ participantUpdateLimit: 2 });
        await f.core.model.poll();
        try {
          const room = f.rooms.audit;
          const s = Object.fromEntries(['alice', 'bob', 'carol', 'dave'].map((u) => [u, f.open(u)] as const)) as Record<
            string,
            Session
          >;
          const watcher = s.alice as Session;
          // (action, user) → the room's state after it, the join answer's roster (joins), what alice saw by then
          const steps: {
            act: 'join' | 'part';
            user: string;
            large: boolean;
            roster?: string[] | null;
            seen: string[];
          }[] = [
            { act: 'join', user: 'alice', large: false, roster: ['alice'], seen: [] },
            { act: 'join', user: 'bob', large: false, roster: ['alice', 'bob'], seen: ['join bob'] },
            // alice and bob, already in, are told once that the room turned large; carol reads it in her answer
            { act: 'join', user: 'carol', large: true, roster: null, seen: ['join bob', 'room.large 3'] },
            { act: 'join', user: 'dave', large: true, roster: null, seen: ['join bob', 'room.large 3'] },
            { act: 'part', user: 'dave', large: true, seen: ['join bob', 'room.large 3'] },
            { act: 'part', user: 'carol', large: true, seen: ['join bob', 'room.large 3'] },
            { act: 'part', user: 'bob', large: false, seen: ['join bob', 'room.large 3'] },
            {
              act: 'join',
              user: 'bob',
              large: false,
              roster: ['alice', 'bob'],
              seen: ['join bob', 'room.large 3', 'join bob'],
            },
            { act: 'part', user: 'bob', large: false, seen: ['join bob', 'room.large 3', 'join bob', 'part bob'] },
            // large again: told again
            { act: 'join', user: 'bob', large: false, roster: ['alice', 'bob'], seen: SEEN_AGAIN.slice(0, 5) },
            { act: 'join', user: 'carol', large: true, roster: null, seen: SEEN_AGAIN },
          ];
          for (const st of steps) {
            const what = `${st.act} ${st.user}`;
            const session = s[st.user] as Session;
            if (st.act === 'join') {
              const [r] = await f.core.join(session, [room]);
              assert.ok(r?.ok, what);
              assert.equal(r.joined.large, st.large, what);
              assert.deepEqual(r.joined.roster?.map((x) => x.uri) ?? null, st.roster?.map(uri) ?? null, what);
            } else await f.core.part(session, room);
            assert.equal(f.core.liveRoom(room)?.large, st.large, what);
            assert.deepEqual(
              types(f.got(watcher)),
              st.seen.map((x) => {
                const [a, u] = x.split(' ');
                return a === 'room.large' ? x : `${a} ${uri(u as string)}`;
              }),
              what,
            );
          }
          for (const x of Object.values(s)) f.core.closeSession(x);
        } finally {
          await f.admin.setConfig({ participantUpdateLimit: limitBefore });
          await f.core.model.poll();
        }
      },
    );

    rosterTest("the roster registers on 'joined' and 'parted' at access priority, as the module 'roster'", async () => {
      assert.deepEqual(registered, [
        ['joined', { priority: PRIORITY.access, module: 'roster' }],
        ['parted', { priority: PRIORITY.access, module: 'roster' }],
      ]);
    });
  });

  describe(`invitations module (${engine})`, () => {
    let fx: ChatFixture | undefined;
    let invitations: Invitations;
    before(async () => {
      // the model is read only when a test says so: changes made in between are applied as one batch
      fx = await chatFixture(
        engine,
        (core) => {
          invitations = new Invitations(core).register();
        },
        { pollMs: 3_600_000 },
      );
    });
    after(async () => fx?.close());
    const invitationTest = fixtureTest(engine, () => fx);
    const newRoom = (f: ChatFixture, name: string) =>
      f.admin.newRoom({ name, category: 'Eng', members: members(uri('alice')) });
    const invitationsOf = (f: ChatFixture, s: Session) => f.got(s).filter((e) => e.type === 'invitation');

    invitationTest(
      'only an invitation is delivered as one: changes about the user themselves or the room are not, and go to nobody',
      async (f) => {
        const room = await newRoom(f, 'Plans');
        await f.core.model.poll();
        const dave1 = f.open('dave');
        const dave2 = f.open('dave');
        const alice = f.open('alice');
        await f.admin.setUser(uri('dave'), { displayName: 'David' });
        await f.admin.setUser(uri('dave'), { password: 'another horse' });
        await f.admin.setRoom(room.id, { description: 'where plans are made' });
        await f.core.model.poll();
        for (const s of [dave1, dave2, alice]) assert.deepEqual(f.got(s), [], 'nothing delivered');
        const t0 = Date.now();
        await f.admin.setRoom(room.id, { members: members(`+${uri('dave')}`) });
        await f.core.model.poll();
        const [listed, ...more] = await invitations.invitations(uri('dave'));
        assert.deepEqual(more, []);
        for (const s of [dave1, dave2]) {
          const got = f.got(s);
          assert.equal(got.length, 1, 'each of dave’s sessions gets the invitation once');
          const e = got[0];
          assert.ok(e?.type === 'invitation');
          const { ts, ...rest } = e.invitation;
          assert.deepEqual(rest, {
            id: listed?.id,
            user: uri('dave'),
            roomId: room.id,
            inviter: 'system',
            roomName: 'Plans',
          });
          assert.ok(ts >= t0 && ts <= Date.now(), 'stamped with the time of the change');
        }
        assert.deepEqual(f.got(alice), [], 'nobody else gets it');
        for (const s of [dave1, dave2, alice]) f.core.closeSession(s);
      },
    );

    invitationTest(
      'an invitation created while the user has no session is not delivered when a session opens later; it is listed',
      async (f) => {
        const room = await newRoom(f, 'Later');
        await f.core.model.poll();
        await f.admin.setRoom(room.id, { members: members(`+${uri('carol')}`) });
        await f.core.model.poll();
        const carol = f.open('carol');
        await f.admin.setRoom(room.id, { description: 'a later change' });
        await f.core.model.poll();
        assert.deepEqual(invitationsOf(f, carol), []);
        assert.deepEqual(
          (await invitations.invitations(uri('carol'))).map((i) => [i.roomId, i.roomName]),
          [[room.id, 'Later']],
        );
        f.core.closeSession(carol);
      },
    );

    invitationTest(
      "an invitation carries the room's name as known once the batch of changes is applied, or the room's id when the room is gone",
      async (f) => {
        const renamed = await newRoom(f, 'Draft name');
        const removed = await newRoom(f, 'Short-lived');
        await f.core.model.poll();
        const bob = f.open('bob');
        const from = (await invitations.invitations(uri('bob'))).at(-1)?.id ?? 0;
        // one batch: bob invited to both, then one renamed and the other removed
        await f.admin.setRoom(renamed.id, { members: members(`+${uri('bob')}`) });
        await f.admin.setRoom(removed.id, { members: members(`+${uri('bob')}`) });
        await f.admin.setRoom(renamed.id, { name: 'Final name' });
        await f.admin.removeRoom(removed.id);
        await f.core.model.poll();
        assert.deepEqual(
          invitationsOf(f, bob).map((e) => e.type === 'invitation' && [e.invitation.roomId, e.invitation.roomName]),
          [
            [renamed.id, 'Final name'],
            [removed.id, removed.id],
          ],
        );
        assert.deepEqual(
          (await invitations.invitations(uri('bob'), from)).map((i) => [i.roomId, i.roomName]),
          [
            [renamed.id, 'Final name'],
            [removed.id, removed.id],
          ],
          'the listing: a room that no longer exists shows its id',
        );
        f.core.closeSession(bob);
      },
    );

    invitationTest(
      'a user invited to a secret room and taken out again before the change reaches the server gets the room id, live as in the listing, never its new name',
      async (f) => {
        const room = await f.admin.newRoom({
          name: 'Falcon',
          category: 'Eng',
          privacy: 'secret',
          members: members(uri('alice')),
        });
        await f.core.model.poll();
        const dave = f.open('dave');
        const from = (await invitations.invitations(uri('dave'))).at(-1)?.id ?? 0;
        // one batch: invited, taken out, the room renamed
        await f.admin.setRoom(room.id, { members: members(`+${uri('dave')}`) });
        await f.admin.setRoom(room.id, { members: members(`-${uri('dave')}`) });
        await f.admin.setRoom(room.id, { name: 'Falcon: acquisition of Contoso' });
        await f.core.model.poll();
        assert.deepEqual(
          invitationsOf(f, dave).map((e) => e.type === 'invitation' && [e.invitation.roomId, e.invitation.roomName]),
          [[room.id, room.id]],
          'delivered live with the id only',
        );
        assert.deepEqual(
          (await invitations.invitations(uri('dave'), from)).map((i) => [i.roomId, i.roomName]),
          [[room.id, room.id]],
          'listed with the id only',
        );
        // still a member: the name is shown, live and listed
        const carol = f.open('carol');
        await f.admin.setRoom(room.id, { members: members(`+${uri('carol')}`) });
        await f.core.model.poll();
        assert.deepEqual(
          invitationsOf(f, carol).map((e) => e.type === 'invitation' && [e.invitation.roomId, e.invitation.roomName]),
          [[room.id, 'Falcon: acquisition of Contoso']],
        );
        f.core.closeSession(dave);
        f.core.closeSession(carol);
      },
    );

    invitationTest(
      'an invitation to a user whose chat is turned off in the same batch is not delivered, and the batch is applied',
      async (f) => {
        const room = await newRoom(f, 'Quiet plans');
        await f.admin.newPolicy('tag:invitee-off', { enablePersistentChat: false });
        await f.core.model.poll();
        const bob = f.open('bob');
        // one batch: bob invited, then his chat turned off, then the room renamed
        await f.admin.setRoom(room.id, { members: members(`+${uri('bob')}`) });
        await f.admin.grantPolicy(uri('bob'), 'tag:invitee-off');
        await f.admin.setRoom(room.id, { name: 'Quiet plans, renamed' });
        await f.core.model.poll();
        assert.deepEqual(invitationsOf(f, bob), [], 'nothing delivered');
        assert.equal(f.core.model.rooms.get(room.id)?.name, 'Quiet plans, renamed', 'the whole batch applied');
        await f.admin.grantPolicy(uri('bob'), null);
        await f.core.model.poll();
        f.core.closeSession(bob);
      },
    );
  });
}
