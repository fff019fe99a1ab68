// The chat core's answer to a fault inside a join, as operators rely on it: a module that fails unexpectedly (any
// error that is not a PchatError) fails only that room's join, the client sees INTERNAL without internals, and
// the fault is logged once by the core with the room, the user and the cause; a refusal (a PchatError) is an
// answer and is not logged. On SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { JoinOutcome } from '../../../src/chat/types.js';
import { PchatError } from '../../../src/core/errors.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, uri } from './fixture.js';

const outcome = (o: JoinOutcome | undefined) => (o?.ok ? 'joined' : [o?.code, o?.message]);

for (const engine of ENGINES) {
  describe(`chat core faults in a join (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const cause = new Error('database password is hunter2');
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        core.events.on('join.before', (ev) => {
          if (ev.room.id === fx?.rooms.general) throw cause;
          if (ev.room.id === fx?.rooms.secret) throw new PchatError('ROOM_NOT_FOUND');
        });
      });
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    it('a fault fails its room as INTERNAL and is logged with room, user and cause; a refusal is not logged; the other room joins', async (f) => {
      const s = f.open('alice');
      const from = f.logs.length;
      const got = await f.core.join(s, [f.rooms.general, f.rooms.audit, f.rooms.secret]);
      assert.deepEqual(got.map(outcome), [
        ['INTERNAL', 'Internal server error.'],
        'joined',
        ['ROOM_NOT_FOUND', new PchatError('ROOM_NOT_FOUND').message],
      ]);
      assert.deepEqual(f.logs.slice(from), [
        { level: 'error', msg: 'join failed', fields: { room: f.rooms.general, user: uri('alice'), err: cause } },
      ]);
      assert.deepEqual([...s.rooms], [f.rooms.audit]);
      f.core.closeSession(s);
    });
  });
}
