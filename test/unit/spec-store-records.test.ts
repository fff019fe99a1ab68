// Specification of the store's plain records on SQLite and PostgreSQL: groups and endpoints (get, list in key
// order, replace, remove), the change events every write appends (type, subject, data), password hashes,
// config, invitations, message ids (a batch gets consecutive ascending ids in batch order) and what an unlogged
// message keeps (its id and kind, none of its content).
import assert from 'node:assert/strict';
import { before } from 'node:test';
import type { Store } from '../../src/store/port.js';
import { forEachEngine, newMessage } from '../support/spec-engines.js';

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';

const msg = newMessage;

forEachEngine('store records specification', ({ store, storeTest }) => {
  const s = () => store() as Store;
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, () => fn());
  /** The change events appended after `after`, without their ids and times. */
  const changesAfter = async (after: number) =>
    (await s().changes.since(after, 100)).map((c) => ({ type: c.type, subject: c.subject, data: c.data }));

  // First, on a fresh store, so that the batch's ids cross the one- to two- and two- to three-digit boundaries.
  let firstBatch: number[] = [];
  before(async () => {
    if (!store()) return;
    const stored = await s().messages.append(Array.from({ length: 120 }, (_, i) => msg('ids', `m${i}`)));
    firstBatch = stored.map((m) => m.id);
  });

  it('a batch of messages gets consecutive ascending ids, in batch order', async () => {
    assert.equal(firstBatch.length, 120);
    for (let i = 1; i < firstBatch.length; i++) assert.equal(firstBatch[i], (firstBatch[0] as number) + i);
    const texts = await Promise.all(firstBatch.map(async (id) => (await s().messages.get(id))?.text));
    assert.deepEqual(
      texts,
      firstBatch.map((_, i) => `m${i}`),
    );
    const before = await s().changes.latestId();
    const next = await s().messages.append([msg('ids', 'a'), msg('ids', 'b')]);
    assert.ok((next[0]?.id as number) > (firstBatch.at(-1) as number), 'later ids are larger');
    assert.ok((next[0]?.id as number) > before, 'ids are shared with change events: never reused');
    assert.equal(next[1]?.id, (next[0]?.id as number) + 1);
  });

  it('appending no messages stores nothing and returns none', async () => {
    const latest = await s().changes.latestId();
    assert.deepEqual(await s().messages.append([]), []);
    const [m] = await s().messages.append([msg('ids', 'after empty')]);
    assert.ok((m?.id as number) > latest);
  });

  it('a search over no rooms finds nothing and has not exceeded its limit', async () => {
    assert.deepEqual(await s().messages.search({ roomIds: [], limit: 10, text: 'm1' }), {
      messages: [],
      count: 0,
      exceededLimit: false,
    });
  });

  it('a file message keeps its file; an unlogged message keeps none of its content', async () => {
    const file = { id: 'f1', name: 'plan.pdf', size: 12, contentType: 'application/pdf' };
    const [withFile, plain, unlogged] = await s().messages.append([
      msg('files', 'see the plan', { file }),
      msg('files', 'no file'),
      msg('files', 'secret', { file, title: 't', rich: '<b>secret</b>', logged: false }),
    ]);
    assert.deepEqual((await s().messages.get(withFile?.id as number))?.file, file);
    assert.equal((await s().messages.get(plain?.id as number))?.file, null);
    assert.equal(await s().messages.get(unlogged?.id as number), undefined, 'an unlogged message is not readable');
    const raw = await s()
      .raw()
      .all<{ id: number | string; body: unknown; title: unknown; rich: unknown; file: unknown }>(
        'SELECT id, body, title, rich, file FROM messages WHERE room_id = ? ORDER BY id',
        ['files'],
      );
    const rows = new Map(raw.map((r) => [Number(r.id), r]));
    assert.equal(rows.get(plain?.id as number)?.file, null, 'a message without a file stores no file');
    const u = rows.get(unlogged?.id as number);
    assert.ok(u, 'the unlogged message keeps its id');
    assert.deepEqual([u.body, u.title, u.rich, u.file], [null, null, null, null]);
  });

  it('groups: put, get, list by name, replace, remove, each put and removal a change event', async () => {
    const start = await s().changes.latestId();
    await s().groups.put({ name: 'zeta', description: 'last', members: [ALICE] });
    const putId = await s().groups.put({ name: 'alpha', description: 'first', members: [ALICE, BOB] });
    assert.ok(putId > start, 'put returns the id of its change event');
    assert.deepEqual(await s().groups.get('alpha'), { name: 'alpha', description: 'first', members: [ALICE, BOB] });
    assert.equal(await s().groups.get('nobody'), undefined);
    await s().groups.put({ name: 'alpha', description: 'replaced', members: [] });
    assert.deepEqual(await s().groups.list(), [
      { name: 'alpha', description: 'replaced', members: [] },
      { name: 'zeta', description: 'last', members: [ALICE] },
    ]);
    assert.equal(await s().groups.remove('zeta'), true);
    assert.equal(await s().groups.remove('zeta'), false, 'nothing left to remove');
    assert.deepEqual(
      (await s().groups.list()).map((g) => g.name),
      ['alpha'],
    );
    assert.deepEqual(await changesAfter(start), [
      { type: 'group.put', subject: 'zeta', data: {} },
      { type: 'group.put', subject: 'alpha', data: {} },
      { type: 'group.put', subject: 'alpha', data: {} },
      { type: 'group.removed', subject: 'zeta', data: {} },
    ]);
  });

  it('endpoints: put, get, list by SIP address, replace, remove, each a change event', async () => {
    const start = await s().changes.latestId();
    const b = { sipAddress: 'sip:ep-b@contoso.com', displayName: 'B', pool: 'pool1' };
    const a = { sipAddress: 'sip:ep-a@contoso.com', displayName: 'A', pool: 'pool1' };
    await s().endpoints.put(b);
    await s().endpoints.put(a);
    assert.deepEqual(await s().endpoints.get(a.sipAddress), a);
    assert.equal(await s().endpoints.get('sip:none@contoso.com'), undefined);
    await s().endpoints.put({ ...b, displayName: 'B2', pool: 'pool2' });
    assert.deepEqual(await s().endpoints.list(), [a, { ...b, displayName: 'B2', pool: 'pool2' }]);
    assert.equal(await s().endpoints.remove(a.sipAddress), true);
    assert.deepEqual(await s().endpoints.list(), [{ ...b, displayName: 'B2', pool: 'pool2' }]);
    assert.deepEqual(await changesAfter(start), [
      { type: 'endpoint.put', subject: b.sipAddress, data: {} },
      { type: 'endpoint.put', subject: a.sipAddress, data: {} },
      { type: 'endpoint.put', subject: b.sipAddress, data: {} },
      { type: 'endpoint.removed', subject: a.sipAddress, data: {} },
    ]);
  });

  it('a user without a password has no hash; setting one is a user.password change event', async () => {
    const uri = 'sip:carol@contoso.com';
    await s().users.put({
      uri,
      displayName: 'Carol',
      email: null,
      ou: null,
      site: null,
      policy: null,
      isAdmin: false,
      disabled: false,
      createdAt: 5,
    });
    const u = await s().users.get(uri);
    assert.deepEqual([u?.email, u?.ou, u?.site, u?.policy], [null, null, null, null], 'absent values stay null');
    assert.equal(await s().users.getPasswordHash(uri), undefined);
    assert.equal(await s().users.getPasswordHash('sip:nobody@contoso.com'), undefined);
    const start = await s().changes.latestId();
    await s().users.setPasswordHash(uri, 'hash-1');
    assert.equal(await s().users.getPasswordHash(uri), 'hash-1');
    assert.deepEqual(await changesAfter(start), [{ type: 'user.password', subject: uri, data: {} }]);
  });

  it('putting the config is a config.put change event about "global"', async () => {
    const start = await s().changes.latestId();
    const c = await s().config.get();
    const id = await s().config.put(c);
    assert.ok(id > start);
    assert.deepEqual(await changesAfter(start), [{ type: 'config.put', subject: 'global', data: {} }]);
  });

  it('an invitation is an invitation.created change event naming the invitation, room and inviter', async () => {
    const start = await s().changes.latestId();
    const inv = await s().invitations.create(BOB, 'room-1', ALICE);
    assert.deepEqual(await changesAfter(start), [
      { type: 'invitation.created', subject: BOB, data: { invitationId: inv.id, roomId: 'room-1', inviter: ALICE } },
    ]);
    assert.deepEqual(
      (await s().invitations.since(BOB, 0, 10)).map((i) => [i.id, i.roomId, i.inviter]),
      [[inv.id, 'room-1', ALICE]],
    );
  });
  it('categories, rooms, add-ins and policies: listed by name (identity), each write a change event of its kind', async () => {
    const start = await s().changes.latestId();
    const category = (id: string, name: string) => ({
      id,
      name,
      description: '',
      invitations: true,
      fileUpload: true,
      chatHistory: true,
      allowedMembers: [],
      deniedMembers: [],
      creators: [],
    });
    const room = (id: string, name: string) => ({
      id,
      name,
      description: '',
      categoryId: 'c-b',
      privacy: 'open' as const,
      type: 'normal' as const,
      disabled: false,
      addin: null,
      invitations: 'inherit' as const,
      members: [],
      managers: [],
      presenters: [],
      createdAt: 1,
    });
    await s().categories.put(category('c-a', 'Zulu'));
    await s().categories.put(category('c-b', 'Alpha'));
    await s().rooms.put(room('r-a', 'Yankee'));
    await s().rooms.put(room('r-b', 'Bravo'));
    await s().addins.put({ name: 'Xray', url: 'https://example.com/x' });
    await s().addins.put({ name: 'Charlie', url: 'https://example.com/c' });
    await s().policies.put({ identity: 'tag:zz', enablePersistentChat: true, description: 'z' });
    await s().policies.put({ identity: 'tag:aa', enablePersistentChat: false, description: 'a' });
    assert.deepEqual(
      (await s().categories.list()).map((c) => c.name),
      ['Alpha', 'Zulu'],
    );
    assert.deepEqual(
      (await s().rooms.list()).map((r) => r.name),
      ['Bravo', 'Yankee'],
    );
    assert.equal(await s().categories.countRooms('c-b'), 2);
    assert.equal(await s().categories.countRooms('c-a'), 0);
    assert.deepEqual(
      (await s().addins.list()).map((a) => a.name),
      ['Charlie', 'Xray'],
    );
    assert.deepEqual(await s().policies.list(), [
      { identity: 'tag:aa', enablePersistentChat: false, description: 'a' },
      { identity: 'tag:zz', enablePersistentChat: true, description: 'z' },
    ]);
    assert.equal(await s().rooms.remove('r-a'), true);
    assert.deepEqual(await changesAfter(start), [
      { type: 'category.put', subject: 'c-a', data: {} },
      { type: 'category.put', subject: 'c-b', data: {} },
      { type: 'room.put', subject: 'r-a', data: {} },
      { type: 'room.put', subject: 'r-b', data: {} },
      { type: 'addin.put', subject: 'Xray', data: {} },
      { type: 'addin.put', subject: 'Charlie', data: {} },
      { type: 'policy.put', subject: 'tag:zz', data: {} },
      { type: 'policy.put', subject: 'tag:aa', data: {} },
      { type: 'room.removed', subject: 'r-a', data: {} },
    ]);
  });

  it('an unknown file id has no file record', async () => {
    assert.equal(await s().files.get('no-such-file'), undefined);
  });

  it('sign-in failures: counted per user and source, summed per source, cleared', async () => {
    assert.equal(await s().signInFailures.get('carol', '10.0.0.1'), undefined);
    await s().signInFailures.record('carol', '10.0.0.1', 100, 0);
    assert.deepEqual(await s().signInFailures.record('carol', '10.0.0.1', 110, 0), {
      failures: 2,
      firstAt: 100,
      lastAt: 110,
    });
    await s().signInFailures.record('dave', '10.0.0.1', 120, 0);
    assert.deepEqual(await s().signInFailures.fromSource('10.0.0.1', 0), { failures: 3, oldestAt: 110 });
    assert.equal(await s().signInFailures.count(), 2);
    await s().signInFailures.clear('carol', '10.0.0.1');
    assert.equal(await s().signInFailures.get('carol', '10.0.0.1'), undefined);
    assert.equal(await s().signInFailures.prune(1000, 100), 1);
    assert.equal(await s().signInFailures.count(), 0);
  });

  it('the id space: reserving ids makes later ids larger; fresh ids come in order', async () => {
    const max = await s().archive.maxId();
    assert.ok(max >= (firstBatch.at(-1) as number));
    await s().archive.reserveIds(max + 1000);
    assert.equal(await s().archive.maxId(), max + 1000);
    assert.deepEqual(await s().archive.newIds(3), [max + 1001, max + 1002, max + 1003]);
    assert.deepEqual(await s().archive.newIds(0), []);
  });
});
