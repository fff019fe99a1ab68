// Sign-in (auth.ts) as the store records it, on SQLite and PostgreSQL:
//   - a failed password is counted in the store under the user's normalized SIP URI, however the name was spelled
//     (an unknown user included); a name that is not a SIP URI is counted under the text sent (trimmed, lower
//     case), never under a shared key; a correct password clears the pair;
//   - the doors that check credentials themselves (SIP Digest) read the same pair through mayTry and write it
//     through noteLogin: failures noted by either door add up, and a success noted by either clears it;
//   - a user the model does not know yet (added a moment ago on another server or by the CLI) is read from the
//     store, and the model polled once so the user can act at once; a user the model knows signs in without a
//     poll; a disabled account is refused like a wrong password, whichever picture knows it;
//   - a token is valid until its expiresAt millisecond has passed, and signIn issues it for tokenTtlSeconds;
//   - signing out tells every server to end the sessions opened with that token (credentials.revoked carries
//     the token's hash and "The session token was revoked."); a token nobody has revokes nothing;
//   - a password change ends every session of the user with "The password was changed."; other changes to the
//     user end nothing.
import assert from 'node:assert/strict';
import { after, before, describe, mock } from 'node:test';
import { hashToken, SignIn } from '../../../src/chat/auth.js';
import type { ChatEvents } from '../../../src/chat/events.js';
import type { ChatEvent } from '../../../src/chat/types.js';
import { sourceKey } from '../../../src/directory/sign-in-throttle.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, PW, signInOutcome, until, uri } from './fixture.js';

const FREE = 2;

for (const engine of ENGINES) {
  describe(`sign-in as the store records it [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let auth: SignIn;
    const revoked: ChatEvents['credentials.revoked'][] = [];
    before(async () => {
      fx = await chatFixture(
        engine,
        (core) => {
          auth = new SignIn(core, {
            tokenTtlSeconds: 3600,
            throttle: { free: FREE, baseDelayMs: 10 * 60_000 },
          }).register();
          core.events.on('credentials.revoked', (e) => void revoked.push(e));
        },
        // the model polls only when the code under test (or a test) asks it to
        { pollMs: 3_600_000 },
      );
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    /** The failures stored for (key, address), 0 when there is no pair. */
    const failures = async (f: ChatFixture, key: string, address: string) =>
      (await f.store.signInFailures.get(key, sourceKey(address)))?.failures ?? 0;

    it('a failed password is counted under the normalized SIP URI, or under the text sent when the name is not one', async (fx) => {
      const rows: [input: string, key: string][] = [
        ['Dave@Contoso.com', uri('dave')],
        ['  SIP:dave@CONTOSO.com ', uri('dave')],
        ['sip:dave@contoso.com', uri('dave')],
        ['nobody@contoso.com', 'sip:nobody@contoso.com'], // no such user: counted all the same
        ['not a uri', 'not a uri'],
        ['  Not A URI ', 'not a uri'],
        ['Dave', 'dave'], // no domain: not a SIP URI, counted as sent
      ];
      for (const [i, [input, key]] of rows.entries()) {
        const address = `198.51.100.${i + 1}`;
        assert.equal(await signInOutcome(auth.checkPassword(input, 'wrong', address)), 'AUTH_FAILED', input);
        assert.equal(await failures(fx, key, address), 1, `${JSON.stringify(input)}: counted under ${key}`);
        for (const other of ['undefined', '', input.trim().toLowerCase()].filter((k) => k !== key)) {
          assert.equal(await failures(fx, other, address), 0, `${JSON.stringify(input)}: nothing under "${other}"`);
        }
      }
      // a name that is not a SIP URI fails even with a password that would be right for someone
      assert.equal(await signInOutcome(auth.checkPassword('not a uri', PW, '198.51.100.1')), 'AUTH_FAILED');
      // the right password clears the pair of the URI, whatever the spelling that failed
      assert.equal(await signInOutcome(auth.checkPassword('DAVE@contoso.com', PW, '198.51.100.2')), uri('dave'));
      assert.equal(await failures(fx, uri('dave'), '198.51.100.2'), 0, 'cleared by the success');
      assert.equal(await failures(fx, uri('dave'), '198.51.100.3'), 1, 'another address keeps its count');
    });

    it('failures noted by the password door and by noteLogin add up in one pair; a success by either clears it', async (fx) => {
      const carol = uri('carol');
      const src = '198.51.100.50';
      type Step = [what: string, act: () => Promise<unknown>, want: unknown, stored: number];
      const steps: Step[] = [
        ['a fresh pair may try', () => auth.mayTry(carol, src), true, 0],
        ['a door notes a failure', () => auth.noteLogin(carol, false, src), undefined, 1],
        ['one failure is free', () => auth.mayTry(carol, src), true, 1],
        [
          'a wrong password adds to it',
          () => signInOutcome(auth.checkPassword('carol@contoso.com', 'x', src)),
          'AUTH_FAILED',
          2,
        ],
        ['FREE failures: it must wait', () => auth.mayTry(carol, src), false, 2],
        ['the password door waits too', () => signInOutcome(auth.checkPassword(carol, PW, src)), 'RATE_LIMITED', 2],
        ['a door notes a success', () => auth.noteLogin(carol, true, src), undefined, 0],
        ['cleared: it may try again', () => auth.mayTry(carol, src), true, 0],
        ['two failures noted by a door', () => auth.noteLogin(carol, false, src), undefined, 1],
        ['…the second', () => auth.noteLogin(carol, false, src), undefined, 2],
        ['refused again', () => auth.mayTry(carol, src), false, 2],
        [
          'the pair is the user, however a door spells the URI',
          () => auth.mayTry(' SIP:Carol@contoso.com', src),
          false,
          2,
        ],
        [
          'the password door refuses before any check',
          () => signInOutcome(auth.checkPassword(carol, PW, src)),
          'RATE_LIMITED',
          2,
        ],
        ['a success noted clears it', () => auth.noteLogin(carol, true, src), undefined, 0],
        ['the right password now signs in', () => signInOutcome(auth.checkPassword(carol, PW, src)), carol, 0],
      ];
      for (const [what, act, want, stored] of steps) {
        assert.equal(await act(), want, what);
        assert.equal(await failures(fx, carol, src), stored, `${what}: failures stored`);
      }
      // a door's own counts are per address as well
      for (let i = 0; i < FREE; i++) await auth.noteLogin(carol, false, '198.51.100.51');
      assert.equal(await auth.mayTry(carol, '198.51.100.51'), false);
      assert.equal(await auth.mayTry(carol, src), true, 'another address is not slowed');
      await auth.noteLogin(carol, true, '198.51.100.51');
    });

    it('a user the model does not know yet is read from the store and the model polled once; a known user is not', async (fx) => {
      const poll = mock.method(fx.core.model, 'poll');
      try {
        assert.equal(await auth.checkPassword('bob@contoso.com', PW, '198.51.100.60'), uri('bob'));
        assert.equal(poll.mock.callCount(), 0, 'bob is in the model: no poll');
        await fx.admin.addUser(uri('hank'), { password: PW, displayName: 'Hank' });
        assert.equal(fx.core.model.directory.resolveUser(uri('hank')), undefined, 'not in the model yet');
        assert.equal(await auth.checkPassword('Hank@contoso.com', PW, '198.51.100.60'), uri('hank'));
        assert.equal(poll.mock.callCount(), 1, 'one poll for a user the model did not know');
        assert.equal(fx.core.subject(uri('hank')).uri, uri('hank'), 'hank may act at once');
        assert.equal(await auth.checkPassword('hank@contoso.com', PW, '198.51.100.60'), uri('hank'));
        assert.equal(poll.mock.callCount(), 1, 'known now: no second poll');
        // a wrong password, or an account disabled before the model heard of it, costs no poll and signs in no one
        await fx.admin.addUser(uri('ivy'), { password: PW, displayName: 'Ivy' });
        assert.equal(
          await signInOutcome(auth.checkPassword('ivy@contoso.com', 'wrong', '198.51.100.61')),
          'AUTH_FAILED',
        );
        await fx.admin.setUser(uri('ivy'), { disabled: true });
        assert.equal(await signInOutcome(auth.checkPassword('ivy@contoso.com', PW, '198.51.100.62')), 'AUTH_FAILED');
        assert.equal(await failures(fx, uri('ivy'), '198.51.100.62'), 1, 'a disabled account counts as a failure');
        assert.equal(poll.mock.callCount(), 1);
      } finally {
        poll.mock.restore();
      }
      // once the model knows the account is disabled, the same answer
      await fx.core.model.poll();
      assert.equal(fx.core.model.directory.users.get(uri('ivy'))?.disabled, true);
      assert.equal(await signInOutcome(auth.checkPassword('ivy@contoso.com', PW, '198.51.100.63')), 'AUTH_FAILED');
    });

    it('a token is valid until its expiresAt millisecond has passed; signIn issues it for tokenTtlSeconds', async (fx) => {
      const at = Date.now() + 60_000;
      await fx.store.tokens.put({
        tokenHash: hashToken('edge'),
        user: uri('bob'),
        createdAt: at - 1000,
        expiresAt: at,
      });
      const rows: [what: string, now: number, valid: boolean][] = [
        ['a minute before', at - 60_000, true],
        ['expiring in 1 ms', at - 1, true],
        ['expiring exactly now', at, true],
        ['expired 1 ms ago', at + 1, false],
        ['expired a minute ago', at + 60_000, false],
      ];
      const now = mock.method(Date, 'now', () => at);
      try {
        for (const [what, t, valid] of rows) {
          now.mock.mockImplementation(() => t);
          assert.equal(
            await signInOutcome(auth.authenticate('edge')),
            valid ? uri('bob') : 'TOKEN_INVALID',
            `${what}: ${valid ? 'valid' : 'invalid'}`,
          );
        }
        now.mock.mockImplementation(() => at);
        const issued = await auth.signIn('alice@contoso.com', PW, '198.51.100.70');
        assert.equal(issued.expiresAt, at + 3600_000, 'expiresAt is now + tokenTtlSeconds');
        const stored = await fx.store.tokens.get(hashToken(issued.token));
        assert.deepEqual(stored, {
          tokenHash: hashToken(issued.token),
          user: uri('alice'),
          createdAt: at,
          expiresAt: at + 3600_000,
        });
        now.mock.mockImplementation(() => at + 3600_000);
        assert.equal(await auth.authenticate(issued.token), uri('alice'), 'valid at its last millisecond');
        now.mock.mockImplementation(() => at + 3600_001);
        await assert.rejects(auth.authenticate(issued.token), {
          code: 'TOKEN_INVALID',
          message: 'The session token is invalid or expired.',
        });
      } finally {
        now.mock.restore();
      }
    });

    it('signing out ends the sessions of that token only, telling credential holders its hash; a token nobody has revokes nothing', async (fx) => {
      const a = await auth.signIn('alice@contoso.com', PW, '198.51.100.80');
      const b = await auth.signIn('alice@contoso.com', PW, '198.51.100.80');
      const open = (token?: string) => {
        const got: ChatEvent[] = [];
        const s = fx.core.openSession(
          uri('alice'),
          (e) => got.push(e),
          'ws',
          token ? { tokenHash: hashToken(token) } : {},
        );
        return { s, got };
      };
      const withA = [open(a.token), open(a.token)];
      const withB = open(b.token);
      const without = open();
      revoked.length = 0;
      await auth.signOut('a token nobody was given');
      assert.equal(revoked.length, 0, 'an unknown token revokes nothing');
      await auth.signOut(a.token);
      await until(() => withA.every((x) => x.got.length > 0), 'the sessions of the token to end');
      for (const x of withA) {
        assert.deepEqual(x.got, [{ type: 'ended', code: 'TOKEN_INVALID', message: 'The session token was revoked.' }]);
        assert.throws(() => fx.core.liveSession(x.s), { code: 'TOKEN_INVALID' });
      }
      assert.deepEqual(
        revoked.map((e) => [e.user, e.reason, e.tokenHash]),
        [[uri('alice'), 'The session token was revoked.', hashToken(a.token)]],
      );
      for (const x of [withB, without]) {
        assert.deepEqual(x.got, [], 'the other sessions hear nothing');
        assert.equal(fx.core.liveSession(x.s).id, x.s.id, 'and go on');
      }
      await assert.rejects(auth.authenticate(a.token), { code: 'TOKEN_INVALID' });
      assert.equal(await auth.authenticate(b.token), uri('alice'));
      revoked.length = 0;
      await auth.signOut(a.token);
      assert.equal(revoked.length, 0, 'signing out a second time revokes nothing more');
      fx.core.closeSession(withB.s);
      fx.core.closeSession(without.s);
    });

    it('a password change ends every session of the user with "The password was changed."; other changes end none', async (fx) => {
      await fx.admin.addUser(uri('jo'), { password: PW, displayName: 'Jo' });
      await fx.core.model.poll();
      const { token } = await auth.signIn('jo@contoso.com', PW, '198.51.100.90');
      const ws = fx.open('jo');
      const sipGot: ChatEvent[] = [];
      const sip = fx.core.openSession(uri('jo'), (e) => sipGot.push(e), 'xccos');
      const other = fx.open('bob');
      revoked.length = 0;
      await fx.admin.setUser(uri('jo'), { displayName: 'Joanna' });
      await fx.core.model.poll();
      assert.deepEqual([fx.got(ws), sipGot, revoked], [[], [], []], 'a new display name ends nothing');
      await fx.admin.setUser(uri('jo'), { password: 'a brand new horse' });
      await fx.core.model.poll();
      await until(() => fx.got(ws).length > 0 && sipGot.length > 0, 'the sessions to end');
      const ended = { type: 'ended', code: 'TOKEN_INVALID', message: 'The password was changed.' };
      assert.deepEqual(fx.got(ws), [ended]);
      assert.deepEqual(sipGot, [ended], 'on every door');
      assert.deepEqual(revoked, [{ user: uri('jo'), reason: 'The password was changed.', at: revoked[0]?.at }]);
      assert.equal('tokenHash' in (revoked[0] ?? {}), false, 'every credential of the user, not one token');
      assert.throws(() => fx.core.liveSession(sip), { code: 'TOKEN_INVALID' });
      await assert.rejects(auth.authenticate(token), { code: 'TOKEN_INVALID' }, 'the tokens are gone');
      assert.deepEqual(fx.got(other), [], 'other users go on');
      assert.equal(await auth.checkPassword('jo@contoso.com', 'a brand new horse', '198.51.100.90'), uri('jo'));
      fx.core.closeSession(other);
    });
  });
}
