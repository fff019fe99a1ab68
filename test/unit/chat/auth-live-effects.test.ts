// Sign-in (auth.ts) and live effects of admin changes (live-effects.ts) on the core: revoking a token ends the
// sessions opened with it, a password change ends all of the user's sessions, and an admin change that takes
// a user's access away removes their sessions from the room through the bus.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashToken, SignIn } from '../../../src/chat/auth.js';
import type { ChatEvents } from '../../../src/chat/events.js';
import { registerLiveEffects } from '../../../src/chat/live-effects.js';
import type { ChatEvent } from '../../../src/chat/types.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { type ChatFixture, chatFixture, PW, until, uri } from './fixture.js';

describe('auth and live-effects modules', () => {
  let fx: ChatFixture;
  let auth: SignIn;
  const closed: ChatEvents['session.closed'][] = [];
  before(async () => {
    fx = (await chatFixture('sqlite', (core) => {
      auth = new SignIn(core, { tokenTtlSeconds: 3600 }).register();
      registerLiveEffects(core);
      core.events.on('session.closed', (e) => void closed.push(e));
    })) as ChatFixture;
  });
  after(async () => fx.close());

  const openWith = (user: string, token?: string) => {
    const got: ChatEvent[] = [];
    const s = fx.core.openSession(uri(user), (e) => got.push(e), 'ws', token ? { tokenHash: hashToken(token) } : {});
    return { s, got };
  };

  test('signOut ends the sessions opened with that token, and only those', async () => {
    const a = await auth.signIn('alice@contoso.com', PW);
    const b = await auth.signIn('alice@contoso.com', PW);
    const one = openWith('alice', a.token);
    const two = openWith('alice', b.token);
    await fx.core.join(one.s, [fx.rooms.general]);
    await auth.signOut(a.token);
    assert.deepEqual(one.got.at(-1), {
      type: 'ended',
      code: 'TOKEN_INVALID',
      message: 'The session token was revoked.',
    });
    assert.throws(() => fx.core.liveSession(one.s), { code: 'TOKEN_INVALID' });
    assert.deepEqual(fx.core.participants(fx.rooms.general), [], 'the ended session left its rooms');
    assert.equal(closed.at(-1)?.reason, 'ended');
    assert.equal(two.got.length, 0);
    assert.equal(fx.core.liveSession(two.s), two.s);
    await assert.rejects(auth.authenticate(a.token), { code: 'TOKEN_INVALID' });
    assert.equal(await auth.authenticate(b.token), uri('alice'));
    fx.core.closeSession(two.s);
  });

  test('a password change ends every session of the user on every door', async () => {
    const ws = openWith('bob');
    const got: ChatEvent[] = [];
    const sip = fx.core.openSession(uri('bob'), (e) => got.push(e), 'xccos');
    const other = openWith('carol');
    await fx.admin.setUser(uri('bob'), { password: 'a new password' });
    await until(() => ws.got.some((e) => e.type === 'ended') && got.some((e) => e.type === 'ended'), 'ended');
    assert.throws(() => fx.core.liveSession(sip), { code: 'TOKEN_INVALID' });
    assert.equal(other.got.length, 0);
    fx.core.closeSession(other.s);
  });

  test('an admin change that revokes membership removes the session from the room, with a notice', async () => {
    const alice = fx.open('alice');
    const dave = fx.open('dave');
    await fx.admin.setRoom(fx.rooms.general, { members: parseListEdit(`+${uri('dave')}`, 'members') });
    await fx.core.model.poll();
    const [r] = await fx.core.join(dave, [fx.rooms.general]);
    assert.ok(r?.ok);
    await fx.core.join(alice, [fx.rooms.general]);
    await fx.admin.setRoom(fx.rooms.general, { members: parseListEdit(`-${uri('dave')}`, 'members') });
    await until(() => fx.got(dave).some((e) => e.type === 'removed'), 'removed');
    assert.deepEqual(fx.core.participants(fx.rooms.general), [uri('alice')]);
    await until(() => fx.got(alice).some((e) => e.type === 'room.updated'), 'room.updated');
    fx.core.closeSession(alice);
    fx.core.closeSession(dave);
  });
});
