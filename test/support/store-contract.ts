// The one contract every store adapter passes: the same cases, run on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Category, Room, User } from '../../src/core/model.js';
import { DEFAULT_CONFIG } from '../../src/core/model.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import type { Store } from '../../src/store/port.js';
import { type Engine, engineUnavailable, newMessage } from './spec-engines.js';

export function category(over: Partial<Category> = {}): Category {
  return {
    id: 'cat-1',
    name: 'Engineering',
    description: 'eng',
    invitations: true,
    fileUpload: true,
    chatHistory: true,
    allowedMembers: ['domain:contoso.com'],
    deniedMembers: [],
    creators: [],
    ...over,
  };
}

export function room(over: Partial<Room> = {}): Room {
  return {
    id: 'room-1',
    name: 'General',
    description: 'general talk',
    categoryId: 'cat-1',
    privacy: 'closed',
    type: 'normal',
    disabled: false,
    addin: null,
    invitations: 'inherit',
    members: ['sip:alice@contoso.com'],
    managers: [],
    presenters: [],
    createdAt: 1,
    ...over,
  };
}

export function user(uri: string, over: Partial<User> = {}): User {
  return {
    uri,
    displayName: uri.slice(4),
    email: null,
    ou: null,
    site: null,
    policy: null,
    isAdmin: false,
    disabled: false,
    createdAt: 1,
    ...over,
  };
}

const msg = newMessage;

/**
 * The contract on `engine`. `open` answers undefined only when the engine is unavailable: then every case fails on
 * SQLite (always there) and skips on PostgreSQL (outside CI; see pg.ts).
 */
export function storeContract(
  name: string,
  engine: Engine,
  open: () => Promise<Store | undefined>,
  cleanup?: () => Promise<void>,
) {
  describe(`store contract: ${name}`, () => {
    let store: Store | undefined;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store?.close();
      await cleanup?.();
    });
    const s = () => store as Store;
    const it = (title: string, fn: () => Promise<void>) =>
      test(title, async (t) => {
        if (!store) return engineUnavailable(t, engine);
        await fn();
      });

    it('applies the schema migrations', async () => {
      // Helpers number their steps apart (gaps are fine), so the applied version is the highest step's.
      assert.equal(await s().schemaVersion(), Math.max(...MIGRATIONS.map((m) => m.version)));
    });

    it('round-trips users and passwords, and lists them', async () => {
      await s().users.put(user('sip:alice@contoso.com', { isAdmin: true, ou: 'Contoso/Eng', email: 'a@c.com' }));
      await s().users.put(user('sip:bob@contoso.com'));
      assert.deepEqual(await s().users.get('sip:alice@contoso.com'), {
        ...user('sip:alice@contoso.com', { isAdmin: true, ou: 'Contoso/Eng', email: 'a@c.com' }),
      });
      await s().users.setPasswordHash('sip:bob@contoso.com', 'h1');
      assert.equal(await s().users.getPasswordHash('sip:bob@contoso.com'), 'h1');
      assert.equal(await s().users.getPasswordHash('sip:alice@contoso.com'), undefined);
      assert.deepEqual(
        (await s().users.list()).map((u) => u.uri),
        ['sip:alice@contoso.com', 'sip:bob@contoso.com'],
      );
      assert.equal(await s().users.get('sip:nobody@contoso.com'), undefined);
    });

    it('puts, replaces and removes categories and rooms with their lists', async () => {
      await s().categories.put(category());
      await s().rooms.put(room());
      await s().rooms.put(room({ id: 'room-2', name: 'Ops', privacy: 'secret', members: [] }));
      assert.deepEqual(await s().rooms.get('room-1'), room());
      assert.equal((await s().rooms.getByName('Ops'))?.id, 'room-2');
      assert.equal(await s().categories.countRooms('cat-1'), 2);
      await s().rooms.put(room({ description: 'changed', members: ['group:eng', 'sip:bob@contoso.com'] }));
      assert.deepEqual((await s().rooms.get('room-1'))?.members, ['group:eng', 'sip:bob@contoso.com']);
      assert.equal(await s().rooms.remove('room-2'), true);
      assert.equal(await s().rooms.remove('room-2'), false);
      assert.equal(await s().categories.countRooms('cat-1'), 1);
      assert.equal((await s().categories.getByName('Engineering'))?.id, 'cat-1');
    });

    it('rejects a second room with the same name', async () => {
      await assert.rejects(s().rooms.put(room({ id: 'room-dup' })));
      assert.equal(await s().rooms.get('room-dup'), undefined);
    });

    it('atomically commits every write together, or none of them', async () => {
      const before = await s().changes.latestId();
      await assert.rejects(
        s().atomically(async (tx) => {
          await tx.addins.put({ name: 'half', url: 'https://half.example' });
          await tx.users.put(user('sip:half@contoso.com'));
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await s().addins.get('half'), undefined);
      assert.equal(await s().users.get('sip:half@contoso.com'), undefined);
      assert.equal(await s().changes.latestId(), before, 'no change event escaped the rollback');
      await s().atomically(async (tx) => {
        await tx.addins.put({ name: 'whole', url: 'https://whole.example' });
        await tx.atomically(async (inner) => inner.users.put(user('sip:whole@contoso.com')));
      });
      assert.equal((await s().addins.get('whole'))?.url, 'https://whole.example');
      assert.equal((await s().users.get('sip:whole@contoso.com'))?.uri, 'sip:whole@contoso.com');
      assert.deepEqual(
        (await s().changes.since(before, 10)).map((c) => c.type),
        ['addin.put', 'user.put'],
      );
    });

    it('stores configuration with defaults', async () => {
      assert.deepEqual(await s().config.get(), DEFAULT_CONFIG);
      await s().config.put({ ...DEFAULT_CONFIG, defaultChatHistory: 50 });
      assert.equal((await s().config.get()).defaultChatHistory, 50);
    });

    it('gives changes and messages one strictly increasing id space', async () => {
      const before = await s().changes.latestId();
      const c1 = await s().addins.put({ name: 'wiki', url: 'https://wiki.contoso.com' });
      const [m1, m2] = await s().messages.append([msg('room-1', 'hello'), msg('room-1', 'world')]);
      const c2 = await s().policies.put({ identity: 'global', enablePersistentChat: true, description: '' });
      assert.ok(c1 > before);
      assert.ok((m1?.id ?? 0) > c1);
      assert.equal(m2?.id, (m1?.id ?? 0) + 1);
      assert.ok(c2 > (m2?.id ?? 0));
      const changes = await s().changes.since(before, 10);
      assert.deepEqual(
        changes.map((c) => [c.type, c.subject]),
        [
          ['addin.put', 'wiki'],
          ['policy.put', 'global'],
        ],
      );
    });

    it('pages history backwards and forwards by id, oldest first', async () => {
      const batch = Array.from({ length: 10 }, (_, i) => msg('page-room', `m${i}`, { ts: 2000 + i }));
      const stored = await s().messages.append(batch);
      const ids = stored.map((m) => m.id);
      const newest = await s().messages.before('page-room', 3);
      assert.deepEqual(
        newest.map((m) => m.text),
        ['m7', 'm8', 'm9'],
      );
      const older = await s().messages.before('page-room', 3, newest[0]?.id);
      assert.deepEqual(
        older.map((m) => m.text),
        ['m4', 'm5', 'm6'],
      );
      const fwd = await s().messages.after('page-room', ids[1] as number, 2);
      assert.deepEqual(
        fwd.map((m) => m.text),
        ['m2', 'm3'],
      );
      assert.equal((await s().messages.get(ids[0] as number))?.text, 'm0');
      const counts = await s().messages.countAfter([{ roomId: 'page-room', afterId: ids[6] as number }]);
      assert.equal(counts.get('page-room'), 3);
    });

    it('keeps no content of unlogged messages but still assigns ids', async () => {
      // A logged twin with the same words, by the same author, in the same room: every read below could find the
      // unlogged one (same text, room, author, time), so an empty answer means "not kept", not "no match".
      const [logged, m] = await s().messages.append([
        msg('quiet-room', 'secret words', { ts: 5000 }),
        msg('quiet-room', 'secret words', { logged: false, ts: 5000 }),
      ]);
      assert.ok((m?.id ?? 0) > (logged?.id ?? 0));
      assert.equal(m?.text, 'secret words');
      assert.deepEqual(
        (await s().messages.before('quiet-room', 10)).map((x) => x.id),
        [logged?.id],
      );
      assert.deepEqual(
        (await s().messages.after('quiet-room', 0, 10)).map((x) => x.id),
        [logged?.id],
      );
      assert.equal(await s().messages.get(m?.id as number), undefined);
      const counts = await s().messages.countAfter([{ roomId: 'quiet-room', afterId: 0 }]);
      assert.equal(counts.get('quiet-room'), 1);
      const searches = [
        { text: 'secret' },
        { text: 'se' },
        { text: 'SECRET words', exactPhrase: true },
        { text: 'secret', caseSensitive: true },
        { authors: ['sip:alice@contoso.com'] },
        { since: 5000, until: 5001 },
        {},
      ];
      for (const q of searches) {
        const r = await s().messages.search({ roomIds: ['quiet-room'], limit: 10, ...q });
        assert.deepEqual(
          r.messages.map((x) => x.id),
          [logged?.id],
          JSON.stringify(q),
        );
        assert.equal(r.count, 1, JSON.stringify(q));
      }
    });

    it('searches by text, phrase, case, author, dates and rooms', async () => {
      await s().messages.append([
        msg('s1', 'Deploy the Frontend today', { ts: 10_000 }),
        msg('s1', 'frontend deploy postponed', { ts: 20_000, author: 'sip:bob@contoso.com' }),
        msg('s2', 'the frontend is down', { ts: 30_000 }),
        msg('s1', '我们在持久聊天室里讨论架构', { ts: 40_000 }),
        msg('s1', 'story body text', { kind: 'story', title: 'Quarterly roadmap', ts: 50_000 }),
        msg('s1', 'ok go', { ts: 60_000 }),
      ]);
      const q = (over: Partial<Parameters<Store['messages']['search']>[0]>) =>
        s()
          .messages.search({ roomIds: ['s1', 's2'], limit: 50, ...over })
          .then((r) => r.messages.map((m) => m.text));
      assert.deepEqual(await q({ text: 'frontend deploy' }), [
        'frontend deploy postponed',
        'Deploy the Frontend today',
      ]);
      assert.deepEqual(await q({ text: 'frontend deploy', exactPhrase: true }), ['frontend deploy postponed']);
      assert.deepEqual(await q({ text: 'Frontend', caseSensitive: true }), ['Deploy the Frontend today']);
      assert.deepEqual(await q({ text: 'frontend', roomIds: ['s2'] }), ['the frontend is down']);
      assert.deepEqual(await q({ text: 'frontend', authors: ['sip:bob@contoso.com'] }), ['frontend deploy postponed']);
      assert.deepEqual(await q({ text: 'frontend', since: 15_000, until: 30_000 }), ['frontend deploy postponed']);
      assert.deepEqual(await q({ text: '持久聊天' }), ['我们在持久聊天室里讨论架构']);
      assert.deepEqual(await q({ text: '架构' }), ['我们在持久聊天室里讨论架构']);
      assert.deepEqual(await q({ text: '聊天 架构' }), ['我们在持久聊天室里讨论架构']);
      assert.deepEqual(await q({ text: '持久聊天 架构' }), ['我们在持久聊天室里讨论架构']);
      assert.deepEqual(await q({ text: '架持' }), [], 'two characters that are not adjacent in the text');
      assert.deepEqual(await q({ text: 'roadmap' }), ['story body text']);
      assert.deepEqual(await q({ text: 'go' }), ['ok go']);
      assert.deepEqual(await q({ text: 'nothing-like-this' }), []);
      const limited = await s().messages.search({ roomIds: ['s1', 's2'], text: 'frontend', limit: 2 });
      assert.equal(limited.messages.length, 2);
      assert.equal(limited.count, 2);
      assert.equal(limited.exceededLimit, true);
      const page = await s().messages.search({ roomIds: ['s1', 's2'], text: 'frontend', limit: 1, countLimit: 10 });
      assert.deepEqual(
        [page.messages.length, page.count, page.exceededLimit],
        [1, 3, false],
        'the page size and the counting cap are separate',
      );
      const all = await s().messages.search({ roomIds: ['s1', 's2'], text: 'frontend', limit: 3 });
      assert.equal(all.exceededLimit, false);
      assert.equal(all.count, 3);
      const paged = await s().messages.search({
        roomIds: ['s1', 's2'],
        text: 'frontend',
        limit: 10,
        beforeId: limited.messages[1]?.id as number,
      });
      assert.deepEqual(
        paged.messages.map((m) => m.text),
        ['Deploy the Frontend today'],
      );
      // search terms are data, never query syntax
      assert.deepEqual(await q({ text: '"OR" * NEAR( %_' }), []);
    });

    it('keeps follows, read marks, invitations, feeds, files, tokens and prefs', async () => {
      await s().follows.follow('sip:alice@contoso.com', 'room-1');
      await s().follows.follow('sip:alice@contoso.com', 'room-1');
      await s().follows.markRead('sip:alice@contoso.com', 'room-1', 50);
      await s().follows.markRead('sip:alice@contoso.com', 'room-1', 40);
      assert.deepEqual(await s().follows.list('sip:alice@contoso.com'), [{ roomId: 'room-1', lastReadId: 50 }]);
      await s().follows.unfollow('sip:alice@contoso.com', 'room-1');
      assert.deepEqual(await s().follows.list('sip:alice@contoso.com'), []);

      const i1 = await s().invitations.create('sip:bob@contoso.com', 'room-1', 'sip:alice@contoso.com');
      const i2 = await s().invitations.create('sip:bob@contoso.com', 'room-2', 'sip:alice@contoso.com');
      assert.ok(i2.id > i1.id);
      assert.deepEqual(
        (await s().invitations.since('sip:bob@contoso.com', i1.id, 10)).map((i) => i.roomId),
        ['room-2'],
      );

      const feed = {
        id: 'f1',
        user: 'sip:bob@contoso.com',
        name: 'outages',
        keywords: ['down', '故障'],
        authors: [],
        roomIds: [],
        alert: true,
      };
      await s().feeds.put(feed);
      assert.deepEqual(await s().feeds.list('sip:bob@contoso.com'), [feed]);
      assert.equal(await s().feeds.remove('sip:alice@contoso.com', 'f1'), false);
      assert.equal(await s().feeds.remove('sip:bob@contoso.com', 'f1'), true);

      const file = {
        id: 'file-1',
        roomId: 'room-1',
        uploader: 'sip:bob@contoso.com',
        name: 'a.txt',
        size: 3,
        contentType: 'text/plain',
        ts: 5,
        storageKey: 'fi/file-1',
      };
      await s().files.put(file);
      assert.deepEqual(await s().files.get('file-1'), file);

      await s().tokens.put({ tokenHash: 'th', user: 'sip:bob@contoso.com', createdAt: 1, expiresAt: 2 });
      assert.equal((await s().tokens.get('th'))?.user, 'sip:bob@contoso.com');
      await s().tokens.removeForUser('sip:bob@contoso.com');
      assert.equal(await s().tokens.get('th'), undefined);

      await s().prefs.set('sip:bob@contoso.com', 'ui', 'abc');
      await s().prefs.set('sip:bob@contoso.com', 'ui', 'def');
      assert.equal(await s().prefs.get('sip:bob@contoso.com', 'ui'), 'def');
    });
  });
}
