// What an admin change does to the sessions already in a room (live-effects.ts on the core): when a change to the
// room, or to what decides access everywhere (categories, users, policies), takes a user's access away, each of
// their sessions is taken out of the room with a 'removed' notice carrying the rule's code and message (a room
// that no longer exists, or a user who no longer exists: ROOM_NOT_FOUND); the sessions that keep their access
// get 'room.updated' with the room as they now see it; sessions in rooms the change did not touch hear nothing,
// and only rooms with local sessions are announced on the bus. And the picture a server starts with (model-cache.ts):
// an add-in registered before the start is found by its name, so the rooms using it show it. SQLite and
// PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChatCore } from '../../../src/chat/core.js';
import type { ChatEvents } from '../../../src/chat/events.js';
import { registerLiveEffects } from '../../../src/chat/live-effects.js';
import type { ChatEvent, Session } from '../../../src/chat/types.js';
import { PchatError } from '../../../src/core/errors.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { type BusEnvelope, roomSubject } from '../../../src/pool/bus.js';
import { LocalBus } from '../../../src/pool/local-bus.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, until, uri } from './fixture.js';

const members = (s: string) => parseListEdit(s, 'members');
const removedOf = (got: ChatEvent[]) => got.filter((e) => e.type === 'removed');

for (const engine of ENGINES) {
  describe(`live effects of admin changes (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const parted: ChatEvents['parted'][] = [];
    const bus = new LocalBus('server-a');
    const announced: BusEnvelope[] = [];
    before(async () => {
      fx = await chatFixture(
        engine,
        (core) => {
          registerLiveEffects(core);
          core.events.on('parted', (e) => void parted.push(e));
        },
        { bus },
      );
      bus.subscribe('room.', (e) => {
        if (e.body.kind === 'room.changed') announced.push(e);
      });
      if (!fx) return;
      await fx.admin.newPolicy('tag:muted', { enablePersistentChat: false });
      await fx.admin.newPolicy('tag:quiet', { enablePersistentChat: true });
      await fx.admin.addUser(uri('frank'), { displayName: 'Frank' });
      await fx.admin.addGroup('crew', { members: members(uri('dave')) });
    });
    after(async () => fx?.close());

    test('a user who loses access is removed from the room with the code and message of the rule', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const f = fx;
      const eng = (await f.admin.getCategory('Eng')).id;
      const cases: {
        what: string;
        privacy?: 'closed' | 'secret' | 'open';
        /** who is in the room besides alice (dave unless said) */
        user?: string;
        /** the room's member list (default: alice and the user) */
        list?: (user: string) => string;
        setup?: (user: string) => Promise<unknown>;
        change: (roomId: string, user: string) => Promise<unknown>;
        undo?: (user: string) => Promise<unknown>;
        /** the code the user gets; alice too when `everyone` */
        code: PchatError['code'];
        everyone?: boolean;
      }[] = [
        {
          what: 'taken off the members of a closed room',
          change: (id, u) => f.admin.setRoom(id, { members: members(`-${uri(u)}`) }),
          code: 'NOT_A_MEMBER',
        },
        {
          what: 'taken off the members of a secret room (its existence is not revealed)',
          privacy: 'secret',
          change: (id, u) => f.admin.setRoom(id, { members: members(`-${uri(u)}`) }),
          code: 'ROOM_NOT_FOUND',
        },
        {
          what: 'denied in the category',
          change: (_id, u) => f.admin.setCategory(eng, { deniedMembers: members(`+${uri(u)}`) }),
          undo: (u) => f.admin.setCategory(eng, { deniedMembers: members(`-${uri(u)}`) }),
          code: 'NOT_IN_CATEGORY_SCOPE',
        },
        {
          what: 'denied in the category, in an open room that does not list them',
          privacy: 'open',
          list: () => uri('alice'),
          change: (_id, u) => f.admin.setCategory(eng, { deniedMembers: members(`+${uri(u)}`) }),
          undo: (u) => f.admin.setCategory(eng, { deniedMembers: members(`-${uri(u)}`) }),
          code: 'NOT_IN_CATEGORY_SCOPE',
        },
        {
          what: 'taken out of the group that makes them a member',
          list: () => `${uri('alice')},group:crew`,
          change: (_id, u) => f.admin.setGroup('crew', { members: members(`-${uri(u)}`) }),
          undo: (u) => f.admin.setGroup('crew', { members: members(`+${uri(u)}`) }),
          code: 'NOT_A_MEMBER',
        },
        {
          what: 'their policy turns chat off',
          setup: (u) => f.admin.grantPolicy(uri(u), 'quiet'),
          change: () => f.admin.setPolicy('tag:quiet', { enablePersistentChat: false }),
          undo: async (u) => {
            await f.admin.setPolicy('tag:quiet', { enablePersistentChat: true });
            await f.admin.grantPolicy(uri(u), null);
          },
          code: 'POLICY_DISABLED',
        },
        {
          what: 'granted a policy that turns chat off',
          change: (_id, u) => f.admin.grantPolicy(uri(u), 'muted'),
          undo: (u) => f.admin.grantPolicy(uri(u), null),
          code: 'POLICY_DISABLED',
        },
        {
          what: 'removed from the directory',
          user: 'frank',
          change: (_id, u) => f.admin.removeUser(uri(u)),
          code: 'ROOM_NOT_FOUND',
        },
        {
          what: 'the room is disabled',
          change: (id) => f.admin.setRoom(id, { disabled: true }),
          code: 'ROOM_DISABLED',
          everyone: true,
        },
        {
          what: 'the room is removed',
          change: (id) => f.admin.removeRoom(id),
          code: 'ROOM_NOT_FOUND',
          everyone: true,
        },
      ];
      for (const [i, c] of cases.entries()) {
        const user = c.user ?? 'dave';
        const room = await f.admin.newRoom({
          name: `Access ${i}`,
          category: 'Eng',
          privacy: c.privacy ?? 'closed',
          members: members(c.list?.(user) ?? `${uri('alice')},${uri(user)}`),
        });
        await c.setup?.(user);
        await f.core.model.poll();
        const alice = f.open('alice');
        const other = f.open(user);
        for (const s of [alice, other]) {
          const [r] = await f.core.join(s, [room.id]);
          assert.ok(r?.ok, `${c.what}: joined`);
        }
        parted.length = 0;
        await c.change(room.id, user);
        const notice = {
          type: 'removed',
          roomId: room.id,
          code: c.code,
          message: new PchatError(c.code).message,
        };
        await until(() => removedOf(f.got(other)).length > 0, `${c.what}: removed`);
        assert.deepEqual(removedOf(f.got(other)), [notice], c.what);
        assert.equal(other.rooms.has(room.id), false, `${c.what}: the session left the room`);
        if (c.everyone) {
          await until(() => removedOf(f.got(alice)).length > 0, `${c.what}: alice removed`);
          assert.deepEqual(removedOf(f.got(alice)), [notice], `${c.what}: alice`);
          assert.deepEqual(f.core.participants(room.id), [], c.what);
        } else {
          await until(() => f.got(alice).some((e) => e.type === 'room.updated'), `${c.what}: room.updated`);
          assert.deepEqual(removedOf(f.got(alice)), [], `${c.what}: alice keeps her access`);
          const updated = f.got(alice).find((e) => e.type === 'room.updated');
          assert.equal(updated?.type === 'room.updated' && updated.room.id, room.id, c.what);
          assert.deepEqual(f.core.participants(room.id), [uri('alice')], c.what);
        }
        const removedParts = parted.filter((p) => p.reason === 'removed');
        assert.ok(
          removedParts.some((p) => p.who.user === uri(user) && p.where.id === room.id),
          `${c.what}: the modules hear the part, reason removed`,
        );
        await c.undo?.(user);
        await f.core.model.poll();
        f.core.closeSession(alice);
        f.core.closeSession(other);
      }
      assert.deepEqual(f.logs, [], 'nothing failed');
    });

    test('a change to one room tells only the sessions in it, and only rooms with local sessions are announced', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const f = fx;
      const { general, audit, secret } = f.rooms;
      const alice = f.open('alice');
      const carol = f.open('carol');
      assert.ok((await f.core.join(alice, [general])).every((r) => r.ok));
      assert.ok((await f.core.join(carol, [audit])).every((r) => r.ok));
      await f.core.model.poll();
      announced.length = 0;
      await f.admin.setRoom(general, { description: 'changed' });
      await f.admin.setRoom(secret, { description: 'nobody here is in it' });
      await f.admin.setConfig({ messageSizeLimit: 4000 }); // touches no room
      await f.core.model.poll();
      await until(() => f.got(alice).some((e) => e.type === 'room.updated'), 'room.updated');
      const updated = f.got(alice).filter((e) => e.type === 'room.updated');
      assert.equal(updated.length, 1);
      assert.equal(updated[0]?.type === 'room.updated' && updated[0].room.description, 'changed');
      assert.deepEqual(f.got(carol), [], 'the town hall was not touched');
      assert.deepEqual(
        announced.map((e) => [e.subject, e.origin]),
        [[roomSubject(general), 'server-a']],
      );
      // another server announces a change to a room nobody here is in: nothing to do, nothing fails
      bus.publish({
        subject: roomSubject(secret),
        key: 'c:990001',
        origin: 'server-b',
        body: { kind: 'room.changed', roomId: secret, changeId: await f.store.changes.latestId() },
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(f.logs, []);
      f.core.closeSession(alice);
      f.core.closeSession(carol);
    });

    test('an add-in registered before the server started is shown on the rooms that use it', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      await fx.admin.newAddin({ name: 'Board', url: 'https://board.contoso.com/' });
      await fx.admin.setRoom(fx.rooms.general, { addin: 'Board' });
      // a server started now (a restart) loads the whole picture, add-ins included
      const core = new ChatCore(fx.store, { domain: 'contoso.com', pollMs: 3_600_000 });
      await core.start();
      try {
        assert.deepEqual(core.model.addins.get('Board'), { name: 'Board', url: 'https://board.contoso.com/' });
        const s: Session = core.openSession(uri('alice'), () => {}, 'ws');
        const [r] = await core.join(s, [fx.rooms.general]);
        assert.ok(r?.ok);
        assert.deepEqual(r.joined.room.addin, { name: 'Board', url: 'https://board.contoso.com/' });
        core.closeSession(s);
      } finally {
        await core.stop();
      }
    });
  });
}
