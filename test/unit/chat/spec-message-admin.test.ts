// Message administration as the members of a room see it live (message-admin.ts on the core): when an
// administrator removes or replaces messages, clears a room, or retention purges messages, the store's change
// stream shows it; the server with sessions in the room puts one `messages.changed` envelope per change on the
// bus (keyed `c:<change id>`, so each server of a pool applies it once), and every server tells its sessions in
// the room: one 'message.removed' (ids) or 'message.replaced' (ids and the new text) per room and turn, however
// many changes and messages it covers (one 'message.replaced' per replacement text). Modules hear each changed
// message once, with who did it ('system' for retention). Rooms without local sessions, and changes that
// touched no message, tell nobody and put nothing on the bus. SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatEvents } from '../../../src/chat/events.js';
import { registerMessageAdmin } from '../../../src/chat/message-admin.js';
import type { ChatEvent, Session } from '../../../src/chat/types.js';
import { type BusEnvelope, roomSubject } from '../../../src/pool/bus.js';
import { LocalBus } from '../../../src/pool/local-bus.js';
import { engineUnavailable, newMessage } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, uri } from './fixture.js';

const ADMIN = uri('admin');
const DEFAULT_TEXT = 'This message was replaced by the Persistent Chat administrator.';

type AdminNotice = Extract<ChatEvent, { type: 'message.removed' | 'message.replaced' }>;
type Heard = { kind: 'removed' | 'replaced'; event: ChatEvents['message.removed'] };

/** The message-administration notices a session got (and forgets them, so each case starts afresh). */
const notices = (fx: ChatFixture, s: Session): AdminNotice[] => {
  const got = fx.got(s);
  const out = got.filter((e): e is AdminNotice => e.type === 'message.removed' || e.type === 'message.replaced');
  got.length = 0;
  return out;
};

const removed = (roomId: string, ids: number[]): AdminNotice => ({ type: 'message.removed', roomId, ids });
const replaced = (roomId: string, ids: number[], text: string): AdminNotice => ({
  type: 'message.replaced',
  roomId,
  ids,
  text,
});
/** Between rooms and kinds the order of notices is not part of the contract (within a room and kind: id order). */
const byType = (list: AdminNotice[]) =>
  [...list].sort((a, b) => `${a.type} ${a.roomId}`.localeCompare(`${b.type} ${b.roomId}`));

for (const engine of ENGINES) {
  describe(`message administration seen live (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const bus = new LocalBus('server-a');
    const onBus: BusEnvelope[] = [];
    const heard: Heard[] = [];
    let alice: Session;
    let bob: Session;
    let carol: Session;
    before(async () => {
      // the change stream is read only when a case asks (no timer), so what a case writes is read in one turn
      fx = await chatFixture(
        engine,
        (core) => {
          registerMessageAdmin(core);
          core.events.on('message.removed', (event) => void heard.push({ kind: 'removed', event }));
          core.events.on('message.replaced', (event) => void heard.push({ kind: 'replaced', event }));
        },
        { bus, pollMs: 3_600_000 },
      );
      if (!fx) return;
      bus.subscribe('room.', (e) => {
        if (e.body.kind === 'messages.changed') onBus.push(e);
      });
      alice = fx.open('alice');
      bob = fx.open('bob');
      carol = fx.open('carol');
      // General: alice and bob; Town hall (open): alice and carol; Secret: nobody live
      for (const [s, rooms] of [
        [alice, [fx.rooms.general, fx.rooms.audit]],
        [bob, [fx.rooms.general]],
        [carol, [fx.rooms.audit]],
      ] as const) {
        const out = await fx.core.join(s, [...rooms]);
        assert.ok(
          out.every((o) => o.ok),
          JSON.stringify(out),
        );
      }
    });
    after(async () => fx?.close());

    /** Messages committed in a room (as if posted earlier); returns their ids. */
    const posted = async (roomId: string, ...texts: string[]): Promise<number[]> => {
      const f = fx as ChatFixture;
      const stored = await f.store.messages.append(texts.map((t) => newMessage(roomId, t, { ts: 5000 })));
      return stored.map((m) => m.id);
    };
    /** Reads the change stream now and lets the turn's notices go out. */
    const settle = async () => {
      await (fx as ChatFixture).core.model.poll();
      await new Promise((r) => setImmediate(r));
    };
    const reset = () => {
      const f = fx as ChatFixture;
      for (const s of [alice, bob, carol]) notices(f, s);
      onBus.length = 0;
      heard.length = 0;
    };

    test('a removal reaches every session in the room once, with the removed ids; other rooms hear nothing', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      reset();
      const { general } = fx.rooms;
      const ids = await posted(general, 'one', 'two', 'kept');
      await fx.store.moderation.rewrite(general, ids.slice(0, 2), null, ADMIN);
      const changeId = await fx.store.changes.latestId();
      await settle();
      assert.deepEqual(notices(fx, alice), [removed(general, ids.slice(0, 2))]);
      assert.deepEqual(notices(fx, bob), [removed(general, ids.slice(0, 2))]);
      assert.deepEqual(notices(fx, carol), [], 'carol is not in General');
      // what travels to the other servers of the pool
      assert.deepEqual(onBus, [
        {
          subject: roomSubject(general),
          key: `c:${changeId}`,
          origin: 'server-a',
          body: { kind: 'messages.changed', roomId: general, ids: ids.slice(0, 2), replacement: null, by: ADMIN },
        },
      ]);
      // what modules (compliance, feeds…) hear: each message once, with who removed it and where
      assert.deepEqual(
        heard.map((h) => [h.kind, h.event.message.id, h.event.who, h.event.where]),
        ids
          .slice(0, 2)
          .map((id) => [
            'removed',
            id,
            { user: ADMIN, displayName: ADMIN, door: 'rest' },
            { id: general, name: 'General' },
          ]),
      );
    });

    test('a replacement reaches the room with the ids and the replacement text', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      reset();
      const { general } = fx.rooms;
      const ids = await posted(general, 'rude', 'ruder');
      await fx.store.moderation.rewrite(general, ids, DEFAULT_TEXT, ADMIN);
      await settle();
      assert.deepEqual(notices(fx, alice), [replaced(general, ids, DEFAULT_TEXT)]);
      assert.deepEqual(notices(fx, bob), [replaced(general, ids, DEFAULT_TEXT)]);
      assert.deepEqual(notices(fx, carol), []);
      assert.deepEqual(
        onBus.map((e) => e.body),
        [{ kind: 'messages.changed', roomId: general, ids, replacement: DEFAULT_TEXT, by: ADMIN }],
      );
      assert.deepEqual(
        heard.map((h) => [h.kind, h.event.message.id, h.event.replacement?.text, h.event.who.user]),
        ids.map((id) => ['replaced', id, DEFAULT_TEXT, ADMIN]),
      );
    });

    test('several changes in one turn: one notice per room and kind, one replacement notice per text', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const f = fx;
      const { general, audit } = f.rooms;
      const rewrite = (roomId: string, ids: number[], text: string | null) =>
        f.store.moderation.rewrite(roomId, ids, text, ADMIN);
      const cases: {
        what: string;
        act: () => Promise<{ alice: AdminNotice[]; bob: AdminNotice[]; carol: AdminNotice[] }>;
      }[] = [
        {
          what: 'two removals in one room',
          act: async () => {
            const [a, b, c] = await posted(general, 'a', 'b', 'c');
            await rewrite(general, [a as number], null);
            await rewrite(general, [b as number, c as number], null);
            const n = [removed(general, [a, b, c] as number[])];
            return { alice: n, bob: n, carol: [] };
          },
        },
        {
          what: 'removals in two rooms',
          act: async () => {
            const g = await posted(general, 'in general');
            const h = await posted(audit, 'in the town hall');
            await rewrite(general, g, null);
            await rewrite(audit, h, null);
            return {
              alice: [removed(general, g), removed(audit, h)],
              bob: [removed(general, g)],
              carol: [removed(audit, h)],
            };
          },
        },
        {
          what: 'two replacements with the same text',
          act: async () => {
            const [a, b] = await posted(general, 'x', 'y');
            await rewrite(general, [a as number], DEFAULT_TEXT);
            await rewrite(general, [b as number], DEFAULT_TEXT);
            const n = [replaced(general, [a, b] as number[], DEFAULT_TEXT)];
            return { alice: n, bob: n, carol: [] };
          },
        },
        {
          what: 'two replacements with different texts',
          act: async () => {
            const [a, b] = await posted(general, 'x', 'y');
            await rewrite(general, [a as number], 'redacted');
            await rewrite(general, [b as number], 'removed by legal');
            const n = [
              replaced(general, [a as number], 'redacted'),
              replaced(general, [b as number], 'removed by legal'),
            ];
            return { alice: n, bob: n, carol: [] };
          },
        },
        {
          what: 'a removal and a replacement in one room',
          act: async () => {
            const [a, b] = await posted(audit, 'x', 'y');
            await rewrite(audit, [a as number], null);
            await rewrite(audit, [b as number], 'redacted');
            const n = [removed(audit, [a as number]), replaced(audit, [b as number], 'redacted')];
            return { alice: n, bob: [], carol: n };
          },
        },
      ];
      for (const c of cases) {
        reset();
        const want = await c.act();
        await settle();
        for (const [name, s] of [
          ['alice', alice],
          ['bob', bob],
          ['carol', carol],
        ] as const) {
          assert.deepEqual(byType(notices(f, s)), byType(want[name]), `${c.what}: ${name}`);
        }
      }
    });

    test('clearing a room and retention purges are removals too; a purge is done by the system', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      reset();
      const { general, audit } = fx.rooms;
      await posted(general, 'old news');
      const cleared = await fx.store.moderation.clearRoom(general, 6000, ADMIN, 500);
      const clearedIds = cleared.messages.map((m) => m.id);
      assert.ok(clearedIds.length > 0);
      await settle();
      assert.deepEqual(notices(fx, bob), [removed(general, clearedIds)], 'clear');
      assert.deepEqual(
        onBus.map((e) => e.body),
        [{ kind: 'messages.changed', roomId: general, ids: clearedIds, replacement: null, by: ADMIN }],
      );
      assert.ok(heard.every((h) => h.kind === 'removed' && h.event.who.user === ADMIN));

      reset();
      const g = await posted(general, 'expired');
      const h = await posted(audit, 'expired too');
      await fx.store.moderation.purge([...g, ...h]);
      await settle();
      assert.deepEqual(byType(notices(fx, alice)), byType([removed(general, g), removed(audit, h)]));
      assert.deepEqual(notices(fx, bob), [removed(general, g)]);
      assert.deepEqual(notices(fx, carol), [removed(audit, h)]);
      const bodies = onBus.map((e) => e.body);
      assert.equal(bodies.length, 2, 'one envelope per room');
      for (const [roomId, ids] of [
        [general, g],
        [audit, h],
      ] as const)
        assert.deepEqual(
          bodies.find((b) => b.kind === 'messages.changed' && b.roomId === roomId),
          { kind: 'messages.changed', roomId, ids, replacement: null, by: 'system' },
        );
      assert.deepEqual(
        heard.map((x) => [x.kind, x.event.message.id, x.event.who.user]).sort(),
        [...g, ...h].map((id) => ['removed', id, 'system']).sort(),
      );
    });

    test('a change that touched no message, or a room nobody here is in, tells nobody and puts nothing on the bus', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const f = fx;
      const { general, secret } = f.rooms;
      const cases: { what: string; act: () => Promise<unknown> }[] = [
        {
          what: 'a clear that removed only a file record (no message ids)',
          act: async () => {
            await f.store.archive.putFile({
              id: `orphan-${engine}`,
              roomId: general,
              uploader: uri('alice'),
              name: 'old.txt',
              size: 3,
              contentType: 'text/plain',
              ts: 100,
              storageKey: `orphan-${engine}`,
            });
            const out = await f.store.moderation.clearRoom(general, 200, ADMIN, 500);
            assert.deepEqual([out.messages.length, out.files.length], [0, 1], 'the clear wrote its change');
          },
        },
        {
          what: 'a removal in a room without local sessions',
          act: async () => f.store.moderation.rewrite(secret, await posted(secret, 'hush'), null, ADMIN),
        },
        {
          what: 'a replacement in a room without local sessions',
          act: async () => f.store.moderation.rewrite(secret, await posted(secret, 'hush'), 'redacted', ADMIN),
        },
        {
          what: 'a purge in a room without local sessions',
          act: async () => f.store.moderation.purge(await posted(secret, 'hush')),
        },
      ];
      for (const c of cases) {
        reset();
        const before = await f.store.changes.latestId();
        await c.act();
        assert.ok((await f.store.changes.latestId()) > before, `${c.what}: a change was written`);
        await settle();
        for (const s of [alice, bob, carol]) assert.deepEqual(notices(f, s), [], c.what);
        assert.deepEqual(onBus, [], `${c.what}: nothing on the bus`);
        assert.deepEqual(heard, [], `${c.what}: modules hear nothing`);
        assert.deepEqual(f.logs, [], `${c.what}: nothing failed`);
      }
    });

    test('changes another server puts on the bus reach the local members, once each', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      reset();
      const { general, secret } = fx.rooms;
      const fromB = (key: string, roomId: string, ids: number[], replacement: string | null): BusEnvelope => ({
        subject: roomSubject(roomId),
        key,
        origin: 'server-b',
        body: { kind: 'messages.changed', roomId, ids, replacement, by: uri('dave') },
      });
      bus.publish(fromB('c:900001', general, [41, 42], null));
      bus.publish(fromB('c:900001', general, [41, 42], null)); // delivered again (at least once)
      bus.publish(fromB('c:900002', general, [43], 'redacted'));
      // no session here is in Secret: nothing to tell, and nothing fails
      bus.publish(fromB('c:900003', secret, [44], null));
      bus.publish(fromB('c:900004', secret, [45], 'redacted'));
      await new Promise((r) => setImmediate(r));
      const want = [removed(general, [41, 42]), replaced(general, [43], 'redacted')];
      assert.deepEqual(byType(notices(fx, alice)), byType(want));
      assert.deepEqual(byType(notices(fx, bob)), byType(want));
      assert.deepEqual(notices(fx, carol), []);
      assert.deepEqual(
        heard
          .filter((h) => h.event.where.id === general)
          .map((h) => [h.kind, h.event.message.id, h.event.who.user, h.event.replacement?.text]),
        [
          ['removed', 41, uri('dave'), undefined],
          ['removed', 42, uri('dave'), undefined],
          ['replaced', 43, uri('dave'), 'redacted'],
        ],
      );
      assert.deepEqual(fx.logs, []);
    });

    test('changes in a later turn are told in a notice of their own', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { general } = fx.rooms;
      for (const text of ['first turn', 'second turn']) {
        reset();
        const ids = await posted(general, text);
        await fx.store.moderation.rewrite(general, ids, null, ADMIN);
        await settle();
        assert.deepEqual(notices(fx, bob), [removed(general, ids)], text);
      }
      assert.deepEqual(fx.logs, [], 'nothing failed along the way');
    });
  });
}
