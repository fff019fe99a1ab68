// Sign-in (auth.ts) and the chat service's own surface (chat-service.ts), on SQLite and PostgreSQL.
//   - Failed sign-ins count against the user however the name is spelled (alice@contoso.com, SIP:Alice@…), and
//     a success clears them; a name that is not a SIP URI is counted under the text sent, apart from other such
//     names. Doors that check credentials themselves (SIP Digest) share the same counters through mayTry and
//     noteLogin.
//   - A user added a moment ago, before this server's model has polled, can sign in.
//   - A token is valid up to its expiresAt millisecond; an unknown or expired one is TOKEN_INVALID; signing out
//     a token nobody has is harmless.
//   - serverInfo() tells the domain, a copy of the configuration, the server time and the version; associations
//     are member rooms unless 'manager' is asked for; a session opened with a token ends when that token is
//     signed out, and only that one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, mock } from 'node:test';
import { hashToken, SignIn } from '../../../src/chat/auth.js';
import { ChatService, VERSION } from '../../../src/chat/chat-service.js';
import type { ChatEvent, Session } from '../../../src/chat/types.js';
import type { ComplianceRecorder } from '../../../src/compliance/recorder.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { FileStore } from '../../../src/files/file-store.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, PW, signInOutcome, until, uri } from './fixture.js';

const FREE = 2;

for (const engine of ENGINES) {
  describe(`sign-in [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let auth: SignIn;
    before(async () => {
      fx = await chatFixture(
        engine,
        (core) => {
          auth = new SignIn(core, {
            tokenTtlSeconds: 3600,
            throttle: { free: FREE, baseDelayMs: 10 * 60_000 },
          }).register();
        },
        // the model polls only when a test asks it to
        { pollMs: 3_600_000 },
      );
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    it('failures count against the user however the name is spelled; a success clears them', async () => {
      const src = '203.0.113.1';
      const steps: [string, string, string][] = [
        ['dave@contoso.com', 'wrong', 'AUTH_FAILED'],
        ['  SIP:Dave@Contoso.com ', 'wrong', 'AUTH_FAILED'],
        ['sip:dave@contoso.com', PW, 'RATE_LIMITED'],
        ['dave@contoso.com', PW, 'RATE_LIMITED'],
        // carol: a success in between starts her count again
        ['carol@contoso.com', 'wrong', 'AUTH_FAILED'],
        ['Carol@contoso.com', PW, uri('carol')],
        ['carol@contoso.com', 'wrong', 'AUTH_FAILED'],
        ['sip:carol@contoso.com', PW, uri('carol')],
      ];
      for (const [user, password, want] of steps) {
        assert.equal(await signInOutcome(auth.checkPassword(user, password, src)), want, `${user} / ${password}`);
      }
      assert.equal(
        await signInOutcome(auth.checkPassword('dave@contoso.com', PW, '203.0.113.2')),
        uri('dave'),
        'elsewhere',
      );
      await assert.rejects(auth.checkPassword('dave@contoso.com', PW, src), {
        code: 'RATE_LIMITED',
        message: /^Too many failed sign-ins for this user from this address; try again in \d+ s\.$/,
      });
    });

    it('a name that is not a SIP URI is counted under the text sent, apart from other such names', async () => {
      const src = '203.0.113.3';
      for (let i = 0; i < FREE; i++)
        assert.equal(await signInOutcome(auth.checkPassword('not a uri', PW, src)), 'AUTH_FAILED');
      assert.equal(await signInOutcome(auth.checkPassword('not a uri', PW, src)), 'RATE_LIMITED');
      assert.equal(await signInOutcome(auth.checkPassword('NOT A URI ', PW, src)), 'RATE_LIMITED', 'the same text');
      assert.equal(
        await signInOutcome(auth.checkPassword('another bad name', PW, src)),
        'AUTH_FAILED',
        'its own count',
      );
      assert.equal(
        await signInOutcome(auth.checkPassword(uri('bob'), PW, src)),
        uri('bob'),
        'real users are not affected',
      );
    });

    it('doors that check credentials themselves share the counters through mayTry and noteLogin', async () => {
      const src = '203.0.113.4';
      const bob = uri('bob');
      assert.equal(await auth.mayTry(bob, src), true, 'a fresh pair may try');
      for (let i = 0; i < FREE; i++) await auth.noteLogin(bob, false, src);
      assert.equal(await auth.mayTry(bob, src), false, 'after FREE failures it must wait');
      assert.equal(await auth.mayTry(bob, '203.0.113.5'), true, 'another address is not affected');
      assert.equal(
        await signInOutcome(auth.checkPassword(bob, PW, src)),
        'RATE_LIMITED',
        'the password door waits too',
      );
      await auth.noteLogin(bob, true, src);
      assert.equal(await auth.mayTry(bob, src), true, 'a success clears the count');
      assert.equal(await signInOutcome(auth.checkPassword(bob, PW, src)), bob);
      // a failure noted by a door is one failure, not a success
      await auth.noteLogin(bob, false, src);
      assert.equal(await auth.mayTry(bob, src), true, 'one failure is free');
      await auth.noteLogin(bob, false, src);
      assert.equal(await auth.mayTry(bob, src), false);
      await auth.noteLogin(bob, true, src);
    });

    it('a user added a moment ago, before the model has polled, can sign in and is known at once', async (fx) => {
      await fx.admin.addUser(uri('frank'), { password: PW, displayName: 'Frank' });
      assert.equal(fx.core.model.directory.resolveUser(uri('frank')), undefined, 'not polled yet');
      assert.equal(await auth.checkPassword('frank@contoso.com', PW, '203.0.113.6'), uri('frank'));
      assert.equal(fx.core.subject(uri('frank')).uri, uri('frank'), 'the model knows the user now');
      const s = fx.open('frank');
      fx.core.closeSession(s);
    });

    it('a token is valid up to its expiresAt millisecond; unknown and expired ones are TOKEN_INVALID', async (fx) => {
      const t0 = Date.now();
      const { token, user, expiresAt } = await auth.signIn('alice@contoso.com', PW, '203.0.113.7');
      assert.equal(user, uri('alice'));
      assert.ok(expiresAt >= t0 + 3600_000 && expiresAt <= Date.now() + 3600_000, 'expires after tokenTtlSeconds');
      assert.equal(await auth.authenticate(token), uri('alice'));
      const invalid = { code: 'TOKEN_INVALID', message: 'The session token is invalid or expired.' };
      await assert.rejects(auth.authenticate('no such token'), invalid);
      const at = Date.now() + 60_000;
      await fx.store.tokens.put({
        tokenHash: hashToken('edge'),
        user: uri('bob'),
        createdAt: at - 1000,
        expiresAt: at,
      });
      const now = mock.method(Date, 'now', () => at);
      try {
        assert.equal(await auth.authenticate('edge'), uri('bob'), 'at expiresAt');
        now.mock.mockImplementation(() => at + 1);
        await assert.rejects(auth.authenticate('edge'), invalid, 'one millisecond later');
      } finally {
        now.mock.restore();
      }
    });

    it('signing out a token nobody has is harmless; signing out twice too', async (fx) => {
      const { token } = await auth.signIn('bob@contoso.com', PW, '203.0.113.8');
      const got: ChatEvent[] = [];
      const s = fx.core.openSession(uri('bob'), (e) => got.push(e), 'ws', { tokenHash: hashToken(token) });
      await auth.signOut('never issued');
      await auth.signOut(token);
      await auth.signOut(token);
      await until(() => got.some((e) => e.type === 'ended'), 'the session to end');
      await assert.rejects(auth.authenticate(token), { code: 'TOKEN_INVALID' });
      assert.throws(() => fx.core.liveSession(s), { code: 'TOKEN_INVALID' });
    });

    it('a password change ends every session of the user, saying why', async (fx) => {
      await fx.admin.addUser(uri('gina'), { password: PW, displayName: 'Gina' });
      await fx.core.model.poll();
      const gina = fx.open('gina');
      const other = fx.open('alice');
      await fx.admin.setUser(uri('gina'), { password: 'another horse' });
      await fx.core.model.poll();
      await until(() => fx.got(gina).some((e) => e.type === 'ended'), 'the session to end');
      assert.deepEqual(fx.got(gina).at(-1), {
        type: 'ended',
        code: 'TOKEN_INVALID',
        message: 'The password was changed.',
      });
      assert.throws(() => fx.core.liveSession(gina), { code: 'TOKEN_INVALID' });
      assert.equal(fx.core.liveSession(other).id, other.id, 'other users go on');
      fx.core.closeSession(other);
    });
  });

  describe(`chat service [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let chat: ChatService;
    before(async () => {
      fx = await chatFixture(engine, () => {});
      if (!fx) return;
      await fx.admin.newRoom({
        name: 'Bob runs it',
        category: 'Eng',
        members: parseListEdit(uri('alice'), 'members'),
        managers: parseListEdit(uri('bob'), 'members'),
      });
      chat = new ChatService(fx.store, new FileStore(join(fx.dir, 'files')), {
        domain: 'contoso.com',
        tokenTtlSeconds: 3600,
        pollMs: 20,
        throttle: { free: 1, baseDelayMs: 10 * 60_000 },
      });
      await chat.start();
    });
    after(async () => {
      await chat?.stop();
      await fx?.close();
    });
    const it = fixtureTest(engine, () => fx);

    it('serverInfo tells the domain, a copy of the configuration, the server time and the version', async () => {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      assert.equal(VERSION, pkg.version, 'the version is the package’s');
      const before = Date.now();
      const info = chat.serverInfo();
      const afterwards = Date.now();
      assert.equal(info.domain, 'contoso.com');
      assert.equal(info.version, VERSION);
      assert.ok(info.serverTime >= before && info.serverTime <= afterwards, 'the server time is now');
      assert.deepEqual(info.config, chat.model.config);
      assert.notEqual(info.config, chat.model.config, 'a copy');
      const limit = chat.model.config.maxFileSizeKB;
      info.config.maxFileSizeKB = 1;
      assert.equal(chat.model.config.maxFileSizeKB, limit, 'changing the answer changes nothing');
      assert.equal(chat.serverInfo().config.maxFileSizeKB, limit);
    });

    it('associations are the rooms one is a member of, unless manager is asked for', async () => {
      const names = (rooms: { name: string }[]) => rooms.map((r) => r.name);
      assert.deepEqual(names(chat.associations(uri('bob'))), ['General']);
      assert.deepEqual(names(chat.associations(uri('bob'), 'member')), ['General']);
      assert.deepEqual(names(chat.associations(uri('bob'), 'manager')), ['Bob runs it']);
    });

    it('associations leave out rooms that are disabled or whose category walls one off', async (fx) => {
      const members = parseListEdit(`${uri('alice')},${uri('bob')}`, 'members');
      const off = await fx.admin.newRoom({ name: 'Switched off', category: 'Eng', members, disabled: true });
      await fx.admin.newCategory({
        name: 'Walled',
        allowedMembers: parseListEdit('domain:contoso.com', 'members'),
      });
      const walled = await fx.admin.newRoom({ name: 'Behind the wall', category: 'Walled', members });
      // bob stays on the member list, but the category now denies him
      await fx.admin.setCategory('Walled', { deniedMembers: parseListEdit(uri('bob'), 'members') });
      await until(
        () =>
          chat.model.rooms.has(off.id) &&
          chat.model.rooms.has(walled.id) &&
          [...chat.model.categories.values()].some((c) => c.deniedMembers.length > 0 && c.name === 'Walled'),
        'the new rooms',
      );
      assert.deepEqual(
        chat.associations(uri('bob')).map((r) => r.name),
        ['General'],
      );
      assert.deepEqual(
        chat.associations(uri('alice')).map((r) => r.name),
        ['Behind the wall', 'Bob runs it', 'General', 'Secret', 'Town hall'],
      );
      await assert.rejects(async () => chat.searchRooms(uri('bob'), { query: 'a\u0000' }), {
        code: 'INVALID_VALUE',
        field: 'q',
      });
    });

    it('the events of the service are the core’s: an observer sees sessions open', async () => {
      assert.equal(chat.events, chat.core.events);
      const opened: string[] = [];
      const off = chat.events.on('session.opened', (e) => void opened.push(e.session.user));
      const s = chat.openSession(uri('carol'), () => {}, 'rest');
      off();
      chat.closeSession(s);
      assert.deepEqual(opened, [uri('carol')]);
    });

    it('a session opened with a token ends when that token is signed out, and only that one', async () => {
      const a = await chat.signIn('alice@contoso.com', PW);
      const b = await chat.signIn('alice@contoso.com', PW);
      const open = (token?: string) => {
        const got: ChatEvent[] = [];
        const s: Session = chat.openSession(uri('alice'), (e) => got.push(e), 'ws', token);
        return { s, got };
      };
      const withA = open(a.token);
      const withB = open(b.token);
      const without = open();
      assert.equal((withA.s as Session & { tokenHash?: string }).tokenHash, hashToken(a.token), 'the hash is kept');
      assert.equal((without.s as Session & { tokenHash?: string }).tokenHash, undefined);
      await chat.signOut(a.token);
      await until(() => withA.got.some((e) => e.type === 'ended'), 'the session of the token to end');
      assert.deepEqual(withA.got.at(-1), {
        type: 'ended',
        code: 'TOKEN_INVALID',
        message: 'The session token was revoked.',
      });
      assert.throws(() => chat.core.liveSession(withA.s), { code: 'TOKEN_INVALID' });
      // the others go on
      assert.equal(chat.core.liveSession(withB.s).id, withB.s.id);
      assert.equal(chat.core.liveSession(without.s).id, without.s.id);
      assert.deepEqual([...withB.got, ...without.got], []);
      chat.closeSession(withB.s);
      chat.closeSession(without.s);
    });

    it('every method a door calls answers as the module behind it', async (fx) => {
      const src = '198.51.100.20';
      // sign-in, with the service's throttle options (one free failure)
      assert.equal(await chat.checkPassword('alice@contoso.com', PW, src), uri('alice'));
      assert.equal(await chat.mayTry(uri('carol'), src), true);
      await chat.noteLogin(uri('carol'), false, src);
      assert.equal(await chat.mayTry(uri('carol'), src), false, 'one failure is all the service allows for free');
      await chat.noteLogin(uri('carol'), true, src);
      assert.equal(await chat.mayTry(uri('carol'), src), true);
      const { token } = await chat.signIn('bob@contoso.com', PW, src);
      assert.equal(await chat.authenticate(token), uri('bob'));
      await chat.signOut(token);
      await assert.rejects(chat.authenticate(token), { code: 'TOKEN_INVALID' });
      // sessions, join, post, part
      const got: ChatEvent[] = [];
      const alice = chat.openSession(uri('alice'), (e) => got.push(e), 'ws');
      const [joined] = await chat.join(alice, [fx.rooms.general]);
      assert.equal(joined?.ok, true);
      assert.deepEqual(chat.participants(fx.rooms.general), [uri('alice')]);
      assert.deepEqual(chat.stats().byDoor, { ws: 1 });
      const m = await chat.post(alice, fx.rooms.general, { text: 'said through the service' });
      await until(() => got.some((e) => e.type === 'message' && e.message.id === m.id), 'the post');
      await chat.part(alice, fx.rooms.general);
      assert.deepEqual(chat.participants(fx.rooms.general), []);
      // rooms, history, search
      assert.deepEqual(
        chat.searchRooms(uri('bob'), { query: 'gener' }).map((r) => r.name),
        ['General'],
      );
      assert.equal(chat.roomDetails(uri('bob'), fx.rooms.general).name, 'General');
      assert.deepEqual(
        (await chat.history(uri('bob'), fx.rooms.general)).map((x) => x.id),
        [m.id],
      );
      const found = await chat.search(uri('bob'), { text: 'service' });
      assert.deepEqual(
        found.messages.map((x) => x.id),
        [m.id],
      );
      // follows
      await chat.follow(uri('bob'), fx.rooms.general, true);
      assert.deepEqual(
        (await chat.follows(uri('bob'))).map((f) => [f.room.name, f.unread]),
        [['General', 1]],
      );
      await chat.markRead(uri('bob'), fx.rooms.general, m.id);
      assert.equal((await chat.follows(uri('bob')))[0]?.unread, 0);
      const bob = chat.openSession(uri('bob'), () => {}, 'rest');
      assert.deepEqual(
        (await chat.joinFollowed(bob)).map((j) => j.ok),
        [true],
      );
      // feeds
      const f = await chat.putFeed(uri('bob'), { name: 'said', keywords: ['said'] });
      assert.deepEqual(await chat.listFeeds(uri('bob')), [f]);
      assert.deepEqual(
        (await chat.feed(uri('bob'), f.id)).map((x) => x.id),
        [m.id],
      );
      await chat.removeFeed(uri('bob'), f.id);
      assert.deepEqual(await chat.listFeeds(uri('bob')), []);
      // files
      const up = await chat.upload(alice, {
        roomId: fx.rooms.general,
        name: 'a.txt',
        contentType: 'text/plain',
        body: Readable.from([Buffer.from('abc')]),
      });
      const dl = await chat.download(uri('bob'), up.file?.id as string);
      const chunks: Buffer[] = [];
      for await (const c of dl.body) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'abc');
      // preferences
      await chat.setPref(uri('bob'), 'ui.theme', 'dark');
      assert.equal(await chat.getPref(uri('bob'), 'ui.theme'), 'dark');
      // invitations: a new member of a room gets one
      await fx.admin.setRoom('Bob runs it', { members: parseListEdit(`+${uri('dave')}`, 'members') });
      const invited = async () => (await chat.invitations(uri('dave'))).map((i) => i.roomName);
      const deadline = Date.now() + 10_000;
      while ((await invited()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await invited(), ['Bob runs it']);
      chat.closeSession(alice);
      chat.closeSession(bob);
      assert.throws(() => chat.core.liveSession(alice), { code: 'TOKEN_INVALID' });
      assert.equal(chat.stats().sessions, 0);
    });

    it('with a compliance recorder, what users do is recorded; without one, nothing is', async (fx) => {
      const recorded: { type: string; roomId: string; sender: string }[] = [];
      const recorder = {
        compliance: { dialect: 'none' },
        enabled: async () => true,
        record: async (events: { type: string; roomId: string; sender: string }[]) => {
          recorded.push(...events);
        },
      } as unknown as ComplianceRecorder;
      const recording = new ChatService(fx.store, new FileStore(join(fx.dir, 'files')), {
        domain: 'contoso.com',
        tokenTtlSeconds: 3600,
        pollMs: 20,
        compliance: recorder,
      });
      await recording.start();
      try {
        const s = recording.openSession(uri('bob'), () => {}, 'ws');
        await recording.join(s, [fx.rooms.general]);
        recording.closeSession(s);
      } finally {
        await recording.stop();
      }
      assert.deepEqual(
        recorded.map((e) => [e.type, e.roomId, e.sender]),
        [
          ['JOIN', fx.rooms.general, uri('bob')],
          ['PART', fx.rooms.general, uri('bob')],
        ],
      );
    });

    it('a stopped service no longer follows the store', async (fx) => {
      await chat.stop();
      const late = await fx.admin.newRoom({
        name: 'Too late',
        category: 'Eng',
        members: parseListEdit(uri('bob'), 'members'),
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(chat.model.rooms.has(late.id), false, 'the model stopped polling');
    });
  });
}
