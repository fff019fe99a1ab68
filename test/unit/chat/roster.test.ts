// The roster module alone on the core: join answers the participants, others see joins and parts; without
// the module the core sends no roster notices at all.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerRoster } from '../../../src/chat/roster.js';
import { type ChatFixture, chatFixture, uri } from './fixture.js';

describe('roster module', () => {
  let fx: ChatFixture;
  let bare: ChatFixture;
  before(async () => {
    fx = (await chatFixture('sqlite', registerRoster)) as ChatFixture;
    bare = (await chatFixture('sqlite', () => {})) as ChatFixture;
  });
  after(async () => {
    await fx.close();
    await bare.close();
  });

  test('join answers the roster; others see the join once per user and the part of the last session', async () => {
    const alice = fx.open('alice');
    const bob1 = fx.open('bob');
    const bob2 = fx.open('bob');
    await fx.core.join(alice, [fx.rooms.general]);
    const [r] = await fx.core.join(bob1, [fx.rooms.general]);
    assert.ok(r?.ok);
    assert.deepEqual(r.joined.roster?.map((x) => x.uri).sort(), [uri('alice'), uri('bob')]);
    assert.equal(r.joined.large, false);
    await fx.core.join(bob2, [fx.rooms.general]);
    assert.deepEqual(
      fx.got(alice).map((e) => e.type),
      ['join'],
      "a user's second session is not a new participant",
    );
    assert.equal(fx.got(bob1).length, 0, 'a session does not see its own join');
    await fx.core.part(bob1, fx.rooms.general);
    assert.deepEqual(
      fx.got(alice).map((e) => e.type),
      ['join'],
    );
    fx.core.closeSession(bob2);
    assert.deepEqual(
      fx.got(alice).map((e) => (e.type === 'part' ? `part ${e.user}` : e.type)),
      ['join', `part ${uri('bob')}`],
    );
    fx.core.closeSession(alice);
  });

  test('a room above ParticipantUpdateLimit is large: no roster, no join notice; who was in is told it turned large', async () => {
    await fx.admin.setConfig({ participantUpdateLimit: 1 });
    await fx.core.model.poll();
    const alice = fx.open('alice');
    const bob = fx.open('bob');
    await fx.core.join(alice, [fx.rooms.general]);
    const [r] = await fx.core.join(bob, [fx.rooms.general]);
    assert.ok(r?.ok);
    assert.equal(r.joined.large, true);
    assert.equal(r.joined.roster, null);
    assert.deepEqual(
      fx.got(alice),
      [{ type: 'room.large', roomId: fx.rooms.general, participants: 2 }],
      'no join notice in a large room, only that it turned large',
    );
    assert.deepEqual(fx.got(bob), [], 'the joiner reads it in its answer');
    fx.core.closeSession(alice);
    fx.core.closeSession(bob);
  });

  test('without the module: no roster in the join answer and no notices', async () => {
    const alice = bare.open('alice');
    const bob = bare.open('bob');
    await bare.core.join(alice, [bare.rooms.general]);
    const [r] = await bare.core.join(bob, [bare.rooms.general]);
    assert.ok(r?.ok);
    assert.equal(r.joined.roster, null);
    assert.equal(bare.got(alice).length, 0);
    assert.deepEqual(bare.core.participants(bare.rooms.general).sort(), [uri('alice'), uri('bob')]);
  });
});
