// Issue #9 item 7: after being taken out of a secret room, a user's invitations no longer show its current name
// (later renames do not leak), on SQLite and PostgreSQL. A visible room keeps its name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Invitations } from '../../../src/chat/invitations.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, type Engine, uri } from './fixture.js';

for (const engine of ['sqlite', 'postgres'] as Engine[]) {
  describe(`invitations after removal: ${engine}`, { timeout: 60_000 }, () => {
    let fx: ChatFixture | undefined;
    let invitations: Invitations;
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        invitations = new Invitations(core).register();
      });
    });
    after(async () => fx?.close());

    test('a secret room: its name while a member, only its id after removal and rename', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const f = fx;
      const names = async () =>
        (await invitations.invitations(uri('dave'))).map((i) => [i.roomId, i.roomName] as [string, string]);
      const secret = await f.admin.newRoom({
        name: 'Project Falcon',
        category: 'Eng',
        privacy: 'secret',
        members: parseListEdit(uri('alice'), 'members'),
      });
      const closed = await f.admin.newRoom({
        name: 'Closed talk',
        category: 'Eng',
        members: parseListEdit(uri('alice'), 'members'),
      });
      await f.admin.setRoom(secret.id, { members: parseListEdit(`+${uri('dave')}`, 'members') });
      await f.admin.setRoom(closed.id, { members: parseListEdit(`+${uri('dave')}`, 'members') });
      await f.core.model.poll();
      assert.deepEqual(await names(), [
        [secret.id, 'Project Falcon'],
        [closed.id, 'Closed talk'],
      ]);
      for (const id of [secret.id, closed.id])
        await f.admin.setRoom(id, { members: parseListEdit(`-${uri('dave')}`, 'members') });
      await f.admin.setRoom(secret.id, { name: 'Project Falcon: acquisition of Contoso' });
      await f.admin.setRoom(closed.id, { name: 'Closed talk 2' });
      await f.core.model.poll();
      const after = await names();
      assert.deepEqual(after, [
        [secret.id, secret.id],
        [closed.id, 'Closed talk 2'],
      ]);
      assert.ok(!JSON.stringify(after).includes('Falcon'), 'neither the old nor the new name of the secret room');
    });
  });
}
