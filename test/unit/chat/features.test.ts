// The smaller feature modules, each loaded alone on the core: follows (unread counts, bjoin of followed
// rooms), feeds (filters, live alerts), invitations (live delivery), files (upload/download with their events)
// and preferences. Hostile text gets INVALID_VALUE and changes nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { ChatEvents } from '../../../src/chat/events.js';
import { Feeds } from '../../../src/chat/feeds.js';
import { Files } from '../../../src/chat/files.js';
import { Follows } from '../../../src/chat/follows.js';
import { Invitations } from '../../../src/chat/invitations.js';
import { Preferences } from '../../../src/chat/preferences.js';
import { PchatError } from '../../../src/core/errors.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { FileStore } from '../../../src/files/file-store.js';
import { type ChatFixture, chatFixture, until, uri } from './fixture.js';

describe('follows module', () => {
  let fx: ChatFixture;
  let follows: Follows;
  before(async () => {
    fx = (await chatFixture('sqlite', (core) => {
      follows = new Follows(core);
    })) as ChatFixture;
  });
  after(async () => fx.close());

  test('unread counts follow markRead; bjoin of followed rooms skips rooms no longer readable', async () => {
    const alice = fx.open('alice');
    await follows.follow(uri('bob'), fx.rooms.general, true);
    const m1 = await fx.core.post(alice, fx.rooms.general, { text: 'one' });
    await fx.core.post(alice, fx.rooms.general, { text: 'two' });
    assert.deepEqual(
      (await follows.follows(uri('bob'))).map((f) => [f.room.name, f.unread]),
      [['General', 2]],
    );
    await follows.markRead(uri('bob'), fx.rooms.general, m1.id);
    assert.equal((await follows.follows(uri('bob')))[0]?.unread, 1);
    await assert.rejects(follows.markRead(uri('bob'), fx.rooms.general, 2 ** 60), { code: 'INVALID_VALUE' });
    await assert.rejects(follows.follow(uri('carol'), fx.rooms.secret, true), { code: 'ROOM_NOT_FOUND' });
    const bob = fx.open('bob');
    const joined = await follows.joinFollowed(bob);
    assert.deepEqual(
      joined.map((j) => j.ok),
      [true],
    );
    await fx.admin.setRoom(fx.rooms.general, { members: parseListEdit(`-${uri('bob')}`, 'members') });
    await fx.core.model.poll();
    assert.deepEqual(await follows.follows(uri('bob')), [], 'a room bob may no longer read is left out');
    assert.deepEqual(await follows.joinFollowed(fx.open('bob')), []);
  });
});

describe('feeds module', () => {
  let fx: ChatFixture;
  let feeds: Feeds;
  before(async () => {
    fx = (await chatFixture('sqlite', (core) => {
      feeds = new Feeds(core);
    })) as ChatFixture;
    await feeds.start();
  });
  after(async () => fx.close());

  test('a filter with alert on delivers matching messages live; reading the feed lists them', async () => {
    const f = await feeds.putFeed(uri('bob'), {
      name: 'Deploys',
      keywords: ['deploy'],
      authors: [],
      roomIds: [],
      alert: true,
    });
    const bob = fx.open('bob');
    const alice = fx.open('alice');
    await fx.core.post(alice, fx.rooms.general, { text: 'Deploy at noon' });
    await fx.core.post(alice, fx.rooms.general, { text: 'lunch?' });
    await fx.core.post(alice, fx.rooms.secret, { text: 'secret deploy' });
    await until(() => fx.got(bob).some((e) => e.type === 'alert'), 'alert');
    assert.deepEqual(
      fx.got(bob).map((e) => (e.type === 'alert' ? e.message.text : e.type)),
      ['Deploy at noon'],
      'only the matching message in a room bob may read',
    );
    assert.deepEqual(
      (await feeds.feed(uri('bob'), f.id)).map((m) => m.text),
      ['Deploy at noon'],
    );
    await assert.rejects(feeds.feed(uri('carol'), f.id), { code: 'FILTER_NOT_FOUND' });
  });

  test('hostile filter text is refused and stores nothing', async () => {
    for (const input of [
      { name: 'x\u0000', keywords: ['k'] },
      { name: 'ok', keywords: ['\uD800'] },
      { name: 'ok', keywords: ['a\u0000'] },
    ]) {
      await assert.rejects(
        feeds.putFeed(uri('carol'), { authors: [], roomIds: [], alert: true, ...input }),
        { code: 'INVALID_VALUE' },
        JSON.stringify(input),
      );
    }
    assert.deepEqual(await feeds.listFeeds(uri('carol')), []);
  });
});

describe('invitations module', () => {
  let fx: ChatFixture;
  let invitations: Invitations;
  before(async () => {
    fx = (await chatFixture('sqlite', (core) => {
      invitations = new Invitations(core).register();
    })) as ChatFixture;
  });
  after(async () => fx.close());

  test('a new member of a room with invitations on gets one live, and can list it', async () => {
    const room = await fx.admin.newRoom({
      name: 'Invited',
      category: 'Eng',
      members: parseListEdit(uri('alice'), 'members'),
    });
    const dave = fx.open('dave');
    await fx.admin.setRoom(room.id, { members: parseListEdit(`+${uri('dave')}`, 'members') });
    await until(() => fx.got(dave).some((e) => e.type === 'invitation'), 'invitation');
    const e = fx.got(dave).find((x) => x.type === 'invitation');
    assert.equal(e?.type === 'invitation' && e.invitation.roomName, 'Invited');
    const listed = await invitations.invitations(uri('dave'));
    assert.deepEqual(
      listed.map((i) => [i.roomId, i.roomName]),
      [[room.id, 'Invited']],
    );
  });
});

describe('files and preferences modules', () => {
  const filesDir = mkdtempSync(join(tmpdir(), 'pchat-chatfiles-'));
  let fx: ChatFixture;
  let files: Files;
  let prefs: Preferences;
  const uploaded: ChatEvents['uploaded'][] = [];
  const downloaded: ChatEvents['downloaded'][] = [];
  before(async () => {
    fx = (await chatFixture('sqlite', (core) => {
      files = new Files(core, new FileStore(join(filesDir, 'files')));
      prefs = new Preferences(core);
      core.events.on('uploaded', (e) => void uploaded.push(e));
      core.events.on('downloaded', (e) => void downloaded.push(e));
      core.events.on('upload.before', (e) => {
        if (e.name === 'forbidden.exe') throw new PchatError('FILE_UPLOAD_DISABLED', 'no executables');
      });
    })) as ChatFixture;
  });
  after(async () => {
    await fx.close();
    rmSync(filesDir, { recursive: true, force: true });
  });

  test('an upload posts a file message and fires uploaded; a download fires downloaded; a veto refuses', async () => {
    const alice = fx.open('alice');
    const body = Readable.from([Buffer.from('hello file')]);
    const m = await files.upload(alice, {
      roomId: fx.rooms.general,
      name: 'notes.txt',
      contentType: 'text/plain',
      body,
    });
    assert.equal(m.kind, 'file');
    assert.equal(uploaded[0]?.file.name, 'notes.txt');
    assert.equal(uploaded[0]?.who.door, 'ws');
    const f = await files.download(uri('bob'), m.file?.id as string, 'ws');
    const chunks: Buffer[] = [];
    for await (const c of f.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello file');
    assert.deepEqual(downloaded[0]?.where, { id: fx.rooms.general, name: 'General' });
    await assert.rejects(files.download(uri('carol'), m.file?.id as string), { code: 'NOT_A_MEMBER' });
    await assert.rejects(
      files.upload(alice, {
        roomId: fx.rooms.general,
        name: 'forbidden.exe',
        contentType: 'application/octet-stream',
        body: Readable.from([Buffer.from('x')]),
      }),
      { code: 'FILE_UPLOAD_DISABLED' },
    );
    assert.equal(uploaded.length, 1);
  });

  test('preferences round-trip; NUL, lone surrogates and bad labels are refused', async () => {
    await prefs.setPref(uri('alice'), 'ui.theme', 'dark 🌙');
    assert.equal(await prefs.getPref(uri('alice'), 'ui.theme'), 'dark 🌙');
    await assert.rejects(prefs.setPref(uri('alice'), 'ui.theme', 'x\u0000'), { code: 'INVALID_VALUE' });
    await assert.rejects(prefs.setPref(uri('alice'), 'ui.theme', '\uDFFF'), { code: 'INVALID_VALUE' });
    await assert.rejects(prefs.setPref(uri('alice'), 'bad label', 'v'), { code: 'INVALID_VALUE' });
    assert.equal(await prefs.getPref(uri('alice'), 'ui.theme'), 'dark 🌙', 'nothing changed');
  });
});
