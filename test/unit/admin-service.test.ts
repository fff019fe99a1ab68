// AdminService on a real SQLite store in a temporary directory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Actor, AdminService } from '../../src/admin/admin-service.js';
import { type ErrorCode, PchatError } from '../../src/core/errors.js';
import type { Room } from '../../src/core/model.js';
import { parseListEdit } from '../../src/core/principals.js';
import { openStore } from '../../src/store/open.js';

const OPTS = { realm: 'contoso.com', domain: 'contoso.com', pool: 'pool1' };

const ADMIN = 'sip:admin@contoso.com';
const ALICE = 'sip:alice@contoso.com'; // creator in Engineering and Design
const BOB = 'sip:bob@contoso.com'; // in group eng
const DAVE = 'sip:dave@contoso.com'; // in no group
const MALLORY = 'sip:mallory@contoso.com';
const CAROL = 'sip:carol@fabrikam.com'; // another domain

const as = (uri: string): Actor => ({ kind: 'user', uri });

/** Runs `fn` with an AdminService over a fresh SQLite store, removed afterwards. */
async function withAdmin(fn: (admin: AdminService) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-admin-'));
  const store = await openStore({ dataDir: dir });
  try {
    await fn(new AdminService(store, OPTS));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A small deployment: chat enabled globally; users admin, alice, bob, dave, mallory (contoso) and carol (fabrikam);
 * group eng = {alice, bob}; categories Engineering (contoso.com, creators alice), Design (group:eng, creators alice),
 * Legal (alice and bob, no creators); room General in Engineering with members alice, bob, dave and manager alice.
 */
async function seed(admin: AdminService): Promise<{ general: Room }> {
  await admin.setPolicy('global', { enablePersistentChat: true });
  await admin.addUser(ADMIN, { isAdmin: true });
  await admin.addUser(ALICE, { ou: 'Contoso/Eng' });
  await admin.addUser(BOB, { ou: 'Contoso/Eng/Backend', password: 'correct horse' });
  await admin.addUser(DAVE, { ou: 'Contoso/Sales' });
  await admin.addUser(MALLORY, {});
  await admin.addUser(CAROL, {});
  await admin.addGroup('eng', { members: { replace: [ALICE, BOB] } });
  await admin.newCategory({
    name: 'Engineering',
    allowedMembers: { replace: ['domain:contoso.com'] },
    creators: { replace: [ALICE] },
  });
  await admin.newCategory({
    name: 'Design',
    allowedMembers: { replace: ['group:eng'] },
    creators: { replace: [ALICE] },
  });
  await admin.newCategory({ name: 'Legal', allowedMembers: { replace: [ALICE, BOB] } });
  const general = await admin.newRoom(
    { name: 'General', category: 'Engineering', members: { replace: [ALICE, BOB, DAVE] } },
    as(ALICE),
  );
  await admin.newAddin({ name: 'Poll', url: 'https://addins.contoso.com/poll' });
  return { general };
}

/** Everything an admin can list, plus the newest change id and a password hash: any write changes this. */
async function snapshot(admin: AdminService): Promise<unknown> {
  return {
    latestChange: await admin.store.changes.latestId(),
    users: await admin.listUsers(),
    bobPassword: await admin.store.users.getPasswordHash(BOB),
    groups: await admin.listGroups(),
    categories: await admin.listCategories(),
    rooms: await admin.listRooms(),
    addins: await admin.listAddins(),
    policies: await admin.listPolicies(),
    endpoints: await admin.listEndpoints(),
    config: await admin.getConfig(),
  };
}

async function rejects(p: Promise<unknown>, code: ErrorCode, field?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof PchatError, `expected a PchatError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return true;
  });
}

describe('AdminService', () => {
  test('creates users, groups, categories and rooms', () =>
    withAdmin(async (admin) => {
      const u = await admin.addUser('Zed@Contoso.COM', { displayName: 'Zed', email: 'zed@contoso.com' });
      assert.equal(u.uri, 'sip:zed@contoso.com');
      assert.equal((await admin.getUser('sip:zed@contoso.com')).displayName, 'Zed');
      await rejects(admin.addUser('sip:zed@contoso.com', {}), 'NAME_TAKEN', 'uri');

      // The edges (CLI, REST) parse lists with parseListEdit, which normalizes each entry.
      const g = await admin.addGroup('Ops', { members: parseListEdit('zed@contoso.com', 'members') });
      assert.deepEqual(g, { name: 'ops', description: '', members: ['sip:zed@contoso.com'] });

      const c = await admin.newCategory({ name: 'Ops', allowedMembers: { replace: ['group:ops'] } });
      assert.equal(c.invitations, true);
      assert.deepEqual((await admin.getCategory('Ops')).allowedMembers, ['group:ops']);
      assert.equal((await admin.getCategory(c.id)).name, 'Ops');

      const r = await admin.newRoom({ name: 'Ops Room', category: 'Ops', members: { replace: ['group:ops'] } });
      assert.equal(r.categoryId, c.id);
      assert.equal(r.privacy, 'closed');
      assert.equal(r.type, 'normal');
      assert.equal(r.invitations, 'inherit');
      assert.deepEqual(r.managers, []);
      assert.deepEqual(
        (await admin.listRooms({ category: 'Ops' })).map((x) => x.name),
        ['Ops Room'],
      );
      assert.deepEqual(
        (await admin.listRooms({ member: 'zed@contoso.com' })).map((x) => x.name),
        ['Ops Room'],
      );
    }));

  test('rooms and categories share one namespace', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await rejects(admin.newRoom({ name: 'Engineering', category: 'Engineering' }), 'NAME_TAKEN', 'name');
      await rejects(admin.newRoom({ name: 'General', category: 'Legal' }), 'NAME_TAKEN', 'name');
      await rejects(admin.newCategory({ name: 'General' }), 'NAME_TAKEN', 'name');
      await rejects(admin.newCategory({ name: 'Design' }), 'NAME_TAKEN', 'name');
      await rejects(admin.setRoom('General', { name: 'Legal' }), 'NAME_TAKEN', 'name');
      await rejects(admin.setCategory('Legal', { name: 'General' }), 'NAME_TAKEN', 'name');
      await rejects(admin.setCategory('Legal', { name: 'Design' }), 'NAME_TAKEN', 'name');
      // Renaming to one's own name is not a clash.
      await admin.setRoom('General', { name: 'General', description: 'd' });
      await admin.setCategory('Legal', { name: 'Legal', description: 'd' });
      await admin.setRoom('General', { name: 'Lobby' });
      await admin.newCategory({ name: 'General' });
    }));

  test('a category can be deleted only when empty', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await rejects(admin.removeCategory('Engineering'), 'CATEGORY_NOT_EMPTY', 'category');
      await admin.removeRoom('General');
      await admin.removeCategory('Engineering');
      await rejects(admin.getCategory('Engineering'), 'CATEGORY_NOT_FOUND');
      await admin.removeCategory('Legal');
      assert.deepEqual(
        (await admin.listCategories()).map((c) => c.name),
        ['Design'],
      );
    }));

  test('a creator becomes the manager of the room they create; administrators and the system do not', () =>
    withAdmin(async (admin) => {
      const { general } = await seed(admin);
      assert.deepEqual(general.managers, [ALICE]);
      assert.deepEqual((await admin.getRoom('General')).managers, [ALICE]);
      const byAdmin = await admin.newRoom({ name: 'Admin Room', category: 'Engineering' }, as(ADMIN));
      assert.deepEqual(byAdmin.managers, []);
      const bySystem = await admin.newRoom({ name: 'System Room', category: 'Engineering' });
      assert.deepEqual(bySystem.managers, []);
      // A creator who also names managers with +add keeps manager rights.
      const plus = await admin.newRoom(
        { name: 'Plus', category: 'Engineering', managers: { add: [BOB], remove: [] } },
        as(ALICE),
      );
      assert.deepEqual(plus.managers, [ALICE, BOB]);
    }));

  test('non-creators, denied creators and users without chat cannot create rooms', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await rejects(admin.newRoom({ name: 'X', category: 'Engineering' }, as(BOB)), 'NOT_A_CREATOR');
      await rejects(admin.newRoom({ name: 'X', category: 'Legal' }, as(ALICE)), 'NOT_A_CREATOR');
      await rejects(admin.newRoom({ name: 'X', category: 'Engineering' }, as(CAROL)), 'NOT_IN_CATEGORY_SCOPE');
      await rejects(
        admin.newRoom({ name: 'X', category: 'Engineering' }, as('sip:ghost@contoso.com')),
        'USER_NOT_FOUND',
      );
      await admin.newPolicy('tag:quiet', { enablePersistentChat: false });
      await admin.grantPolicy(ALICE, 'quiet');
      await rejects(admin.newRoom({ name: 'X', category: 'Engineering' }, as(ALICE)), 'POLICY_DISABLED');
      assert.equal((await admin.listRooms()).length, 1);
    }));

  test('a manager can set their room but not delete it, and moves it only where they are a creator', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      const set = await admin.setRoom(
        'General',
        { description: 'all hands', privacy: 'open', members: { add: [MALLORY], remove: [DAVE] } },
        as(ALICE),
      );
      assert.equal(set.description, 'all hands');
      assert.deepEqual(set.members, [ALICE, BOB, MALLORY]);
      await rejects(admin.removeRoom('General', as(ALICE)), 'NOT_ADMIN');
      await rejects(admin.setRoom('General', { category: 'Legal' }, as(ALICE)), 'NOT_A_CREATOR', 'category');
      assert.equal((await admin.getRoom('General')).categoryId, (await admin.getCategory('Engineering')).id);

      // Design allows group:eng and alice creates there: the move purges mallory (not in eng).
      const moved = await admin.setRoom('General', { category: 'Design' }, as(ALICE));
      assert.equal(moved.categoryId, (await admin.getCategory('Design')).id);
      assert.deepEqual(moved.members, [ALICE, BOB]);
      assert.deepEqual(moved.managers, [ALICE]);
      assert.deepEqual(await admin.getRoom('General'), moved);
    }));

  test('someone who is not a manager cannot set a room; an administrator can set and move any room', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await rejects(admin.setRoom('General', { description: 'x' }, as(BOB)), 'NOT_A_MANAGER');
      await rejects(admin.setRoom('General', { description: 'x' }, as(CAROL)), 'NOT_IN_CATEGORY_SCOPE');
      const moved = await admin.setRoom('General', { category: 'Legal' }, as(ADMIN));
      assert.deepEqual(moved.members, [ALICE, BOB]);
      assert.deepEqual(moved.managers, [ALICE]);
      await admin.removeRoom('General', as(ADMIN));
      assert.deepEqual(await admin.listRooms(), []);
    }));

  test('only administrators create, change or remove categories', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await rejects(admin.newCategory({ name: 'Mine' }, as(ALICE)), 'NOT_ADMIN');
      await rejects(admin.setCategory('Legal', { description: 'x' }, as(ALICE)), 'NOT_ADMIN');
      await rejects(admin.removeCategory('Legal', as(ALICE)), 'NOT_ADMIN');
      await rejects(admin.newCategory({ name: 'Mine' }, as('sip:ghost@contoso.com')), 'NOT_ADMIN');
      const c = await admin.newCategory({ name: 'Mine' }, as(ADMIN));
      assert.equal(c.name, 'Mine');
    }));

  test("narrowing a category's allowed members purges room members, managers and presenters", () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await admin.setRoom('General', {
        type: 'auditorium',
        managers: { add: [DAVE], remove: [] },
        presenters: { replace: [BOB, DAVE] },
      });
      await admin.setCategory('Engineering', { allowedMembers: { replace: ['group:eng'] } });
      const r = await admin.getRoom('General');
      assert.deepEqual(r.members, [ALICE, BOB]);
      assert.deepEqual(r.managers, [ALICE]);
      assert.deepEqual(r.presenters, [BOB]);
      // Denying works the same way.
      await admin.setCategory('Engineering', { deniedMembers: { replace: [BOB] } });
      const r2 = await admin.getRoom('General');
      assert.deepEqual(r2.members, [ALICE]);
      assert.deepEqual(r2.presenters, []);
    }));

  test("turning a category's invitations off forces its rooms to false, and on again leaves them false", () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await admin.newRoom({ name: 'Other', category: 'Legal' });
      assert.equal((await admin.getRoom('General')).invitations, 'inherit');
      await admin.setCategory('Engineering', { invitations: false });
      assert.equal((await admin.getRoom('General')).invitations, 'false');
      assert.equal((await admin.getRoom('Other')).invitations, 'inherit', 'rooms of other categories keep theirs');
      await rejects(admin.setRoom('General', { invitations: 'inherit' }), 'INVITATIONS_DISABLED_BY_CATEGORY');
      const fresh = await admin.newRoom({ name: 'Fresh', category: 'Engineering' });
      assert.equal(fresh.invitations, 'false');
      await admin.setCategory('Engineering', { invitations: true });
      assert.equal((await admin.getRoom('General')).invitations, 'false');
      await admin.setRoom('General', { invitations: 'inherit' });
    }));

  test('with invitations in effect, the people a change makes members are invited, once', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      const since = async (uri: string) => (await admin.store.invitations.since(uri, 0, 100)).map((i) => i.roomId);
      const general = await admin.getRoom('General');
      // the seed created General with alice, bob and dave as members: each was invited by alice, its creator
      assert.deepEqual(await since(DAVE), [general.id]);
      assert.equal((await admin.store.invitations.since(BOB, 0, 10))[0]?.inviter, ALICE);
      // adding a group invites its members who were not members already; nobody twice
      const r = await admin.newRoom({ name: 'Team', category: 'Engineering', members: { replace: [DAVE] } });
      await admin.setRoom('Team', { members: { add: ['group:eng'], remove: [] } }, as(ADMIN));
      assert.deepEqual(await since(ALICE), [general.id, r.id]);
      assert.deepEqual(await since(DAVE), [general.id, r.id]);
      await admin.setRoom('Team', { description: 'no membership change' });
      assert.deepEqual(await since(BOB), [general.id, r.id]);
      // a group that gains a member brings them into every room that lists it: they are invited there
      await admin.addUser('sip:zoe@contoso.com', {});
      await admin.setGroup('eng', { members: { add: ['sip:zoe@contoso.com'], remove: [] } });
      assert.deepEqual(await since('sip:zoe@contoso.com'), [r.id]);
      // no invitations where they are not in effect
      await admin.setRoom('Team', { invitations: 'false', members: { add: [MALLORY], remove: [] } });
      await admin.setCategory('Engineering', { invitations: false });
      await admin.newRoom({ name: 'Quiet', category: 'Engineering', members: { replace: [MALLORY] } });
      assert.deepEqual(await since(MALLORY), []);
    }));

  test('group cycles are rejected', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await admin.addGroup('leads', { members: { replace: ['group:eng'] } });
      await admin.addGroup('all', { members: { replace: ['group:leads'] } });
      await rejects(admin.setGroup('eng', { members: { add: ['group:all'], remove: [] } }), 'GROUP_CYCLE', 'members');
      await rejects(admin.setGroup('eng', { members: { add: ['group:leads'], remove: [] } }), 'GROUP_CYCLE');
      await rejects(admin.setGroup('eng', { members: { add: ['group:eng'], remove: [] } }), 'GROUP_CYCLE');
      await rejects(admin.addGroup('solo', { members: { replace: ['group:solo'] } }), 'PRINCIPAL_NOT_FOUND');
      // Not a cycle: a second path to the same group.
      await admin.setGroup('all', { members: { add: ['group:eng'], remove: [] } });
      assert.deepEqual((await admin.getGroup('all')).members, ['group:leads', 'group:eng']);
    }));

  test('eligiblePrincipals: in scope, not denied, chat-enabled; presenters only from members', () =>
    withAdmin(async (admin) => {
      await seed(admin);
      await admin.setCategory('Engineering', { deniedMembers: { replace: [MALLORY] } });
      await admin.setUser(DAVE, { disabled: true });
      const uris = (us: { uri: string }[]) => us.map((u) => u.uri).sort();
      assert.deepEqual(uris(await admin.eligiblePrincipals({ category: 'Engineering' })), [ADMIN, ALICE, BOB].sort());
      assert.deepEqual(uris(await admin.eligiblePrincipals({ category: 'Design' })), [ALICE, BOB].sort());
      assert.deepEqual(uris(await admin.eligiblePrincipals({ room: 'General' })), [ADMIN, ALICE, BOB].sort());
      // Presenters come from the room's members (dave is a member but disabled; the admin is not a member).
      assert.deepEqual(
        uris(await admin.eligiblePrincipals({ room: 'General', presenters: true })),
        [ALICE, BOB].sort(),
      );
      await admin.newRoom({ name: 'Studio', category: 'Design', members: { replace: ['group:eng'] } });
      assert.deepEqual(uris(await admin.eligiblePrincipals({ room: 'Studio', presenters: true })), [ALICE, BOB].sort());
      await admin.setGroup('eng', { members: { remove: [BOB], add: [] } });
      assert.deepEqual(uris(await admin.eligiblePrincipals({ room: 'Studio', presenters: true })), [ALICE]);
      await admin.setGroup('eng', { members: { remove: [], add: [BOB] } });
      await admin.newPolicy('tag:quiet', { enablePersistentChat: false });
      await admin.grantPolicy(BOB, 'quiet');
      assert.deepEqual(uris(await admin.eligiblePrincipals({ category: 'Design' })), [ALICE]);
      await rejects(admin.eligiblePrincipals({}), 'INVALID_VALUE', 'target');
      await rejects(admin.eligiblePrincipals({ room: 'Nope' }), 'ROOM_NOT_FOUND');
    }));

  test('endpoints: one default, idempotent; add and remove more', () =>
    withAdmin(async (admin) => {
      assert.deepEqual(await admin.listEndpoints(), []);
      await admin.ensureDefaultEndpoint();
      await admin.ensureDefaultEndpoint();
      assert.deepEqual(await admin.listEndpoints(), [
        { sipAddress: 'sip:ocschat@contoso.com', displayName: 'Persistent Chat', pool: 'pool1' },
      ]);
      // one legacy endpoint per pool: a second is refused, naming the one there is
      await assert.rejects(admin.newEndpoint({ sipAddress: 'Chat@Contoso.com', displayName: 'Chat' }), (e: unknown) => {
        assert.ok(e instanceof PchatError);
        assert.equal(e.code, 'ENDPOINT_EXISTS');
        assert.match(e.message, /pool pool1 already has the legacy endpoint sip:ocschat@contoso\.com/);
        return true;
      });
      await admin.removeEndpoint('sip:ocschat@contoso.com');
      const e = await admin.newEndpoint({ sipAddress: 'Chat@Contoso.com', displayName: 'Chat' });
      assert.deepEqual(e, { sipAddress: 'sip:chat@contoso.com', displayName: 'Chat', pool: 'pool1' });
      assert.deepEqual(
        (await admin.listEndpoints()).map((x) => x.sipAddress),
        ['sip:chat@contoso.com'],
      );
      // an endpoint's address cannot become a user's
      await rejects(admin.addUser('sip:chat@contoso.com', {}), 'NAME_TAKEN');
      // With an endpoint present, the default is not re-created.
      await admin.ensureDefaultEndpoint();
      assert.equal((await admin.listEndpoints()).length, 1);
    }));
});

// ---- every rejected call leaves the store unchanged -----------------------------------------------------------

describe('AdminService: a rejected call changes nothing', () => {
  const rows: { name: string; code: ErrorCode; call: (a: AdminService) => Promise<unknown> }[] = [
    { name: 'addUser duplicate', code: 'NAME_TAKEN', call: (a) => a.addUser(ALICE, {}) },
    { name: 'addUser bad URI', code: 'INVALID_VALUE', call: (a) => a.addUser('not a uri', {}) },
    {
      name: 'addUser short password',
      code: 'INVALID_VALUE',
      call: (a) => a.addUser('sip:new@contoso.com', { password: 'x' }),
    },
    { name: 'addUser bad OU', code: 'INVALID_VALUE', call: (a) => a.addUser('sip:new@contoso.com', { ou: 'a,b' }) },
    { name: 'addUser by a non-admin', code: 'NOT_ADMIN', call: (a) => a.addUser('sip:new@contoso.com', {}, as(ALICE)) },
    {
      name: 'setUser bad email',
      code: 'INVALID_VALUE',
      call: (a) => a.setUser(BOB, { email: 'nope', displayName: 'B' }),
    },
    {
      name: 'setUser short password',
      code: 'INVALID_VALUE',
      call: (a) => a.setUser(BOB, { password: 'short', isAdmin: true }),
    },
    { name: 'setUser unknown', code: 'USER_NOT_FOUND', call: (a) => a.setUser('sip:ghost@contoso.com', {}) },
    { name: 'removeUser by a non-admin', code: 'NOT_ADMIN', call: (a) => a.removeUser(BOB, as(ALICE)) },
    { name: 'addGroup duplicate', code: 'NAME_TAKEN', call: (a) => a.addGroup('eng', {}) },
    {
      name: 'addGroup unknown member',
      code: 'PRINCIPAL_NOT_FOUND',
      call: (a) => a.addGroup('new', { members: { replace: ['sip:ghost@contoso.com'] } }),
    },
    {
      name: 'addGroup with an OU member',
      code: 'INVALID_VALUE',
      call: (a) => a.addGroup('new', { members: { replace: ['ou:Contoso'] } }),
    },
    {
      name: 'setGroup into a cycle',
      code: 'GROUP_CYCLE',
      call: (a) => a.setGroup('eng', { description: 'x', members: { add: ['group:eng'], remove: [] } }),
    },
    { name: 'newCategory taken by a room', code: 'NAME_TAKEN', call: (a) => a.newCategory({ name: 'General' }) },
    { name: 'newCategory taken by a category', code: 'NAME_TAKEN', call: (a) => a.newCategory({ name: 'Legal' }) },
    { name: 'newCategory by a non-admin', code: 'NOT_ADMIN', call: (a) => a.newCategory({ name: 'New' }, as(ALICE)) },
    {
      name: 'newCategory creator not allowed',
      code: 'CREATOR_NOT_ALLOWED',
      call: (a) => a.newCategory({ name: 'New', allowedMembers: { replace: [BOB] }, creators: { replace: [ALICE] } }),
    },
    {
      name: 'newCategory unknown principal',
      code: 'PRINCIPAL_NOT_FOUND',
      call: (a) => a.newCategory({ name: 'New', allowedMembers: { replace: ['group:ghosts'] } }),
    },
    {
      name: 'setCategory narrowing past a creator',
      code: 'CREATOR_NOT_ALLOWED',
      call: (a) => a.setCategory('Engineering', { invitations: false, allowedMembers: { replace: [BOB] } }),
    },
    {
      name: 'setCategory denying a creator',
      code: 'CREATOR_NOT_ALLOWED',
      call: (a) => a.setCategory('Engineering', { deniedMembers: { replace: ['group:eng'] } }),
    },
    {
      name: 'setCategory rename to a room',
      code: 'NAME_TAKEN',
      call: (a) => a.setCategory('Legal', { name: 'General' }),
    },
    {
      name: 'setCategory too long a name',
      code: 'NAME_TOO_LONG',
      call: (a) => a.setCategory('Legal', { name: 'x'.repeat(257) }),
    },
    {
      name: 'setCategory by a non-admin',
      code: 'NOT_ADMIN',
      call: (a) => a.setCategory('Engineering', { invitations: false }, as(ALICE)),
    },
    { name: 'removeCategory not empty', code: 'CATEGORY_NOT_EMPTY', call: (a) => a.removeCategory('Engineering') },
    { name: 'removeCategory unknown', code: 'CATEGORY_NOT_FOUND', call: (a) => a.removeCategory('Nope') },
    {
      name: 'newRoom taken by a category',
      code: 'NAME_TAKEN',
      call: (a) => a.newRoom({ name: 'Legal', category: 'Engineering' }),
    },
    {
      name: 'newRoom by a non-creator',
      code: 'NOT_A_CREATOR',
      call: (a) => a.newRoom({ name: 'New', category: 'Engineering' }, as(BOB)),
    },
    {
      name: 'newRoom name of 257 characters',
      code: 'NAME_TOO_LONG',
      call: (a) => a.newRoom({ name: 'r'.repeat(257), category: 'Engineering' }),
    },
    {
      name: 'newRoom presenters in a normal room',
      code: 'PRESENTERS_IN_NORMAL_ROOM',
      call: (a) =>
        a.newRoom({
          name: 'New',
          category: 'Engineering',
          members: { replace: [BOB] },
          presenters: { replace: [BOB] },
        }),
    },
    {
      name: 'newRoom presenter not a member',
      code: 'PRESENTER_NOT_MEMBER',
      call: (a) =>
        a.newRoom({ name: 'New', category: 'Engineering', type: 'auditorium', presenters: { replace: [BOB] } }),
    },
    {
      name: 'newRoom member outside the category',
      code: 'NOT_IN_CATEGORY_SCOPE',
      call: (a) => a.newRoom({ name: 'New', category: 'Engineering', members: { replace: [CAROL] } }, as(ALICE)),
    },
    {
      name: 'newRoom unknown member',
      code: 'PRINCIPAL_NOT_FOUND',
      call: (a) => a.newRoom({ name: 'New', category: 'Engineering', members: { replace: ['sip:ghost@contoso.com'] } }),
    },
    {
      name: 'newRoom unknown add-in',
      code: 'ADDIN_NOT_FOUND',
      call: (a) => a.newRoom({ name: 'New', category: 'Engineering', addin: 'Nope' }),
    },
    {
      name: 'newRoom unknown category',
      code: 'CATEGORY_NOT_FOUND',
      call: (a) => a.newRoom({ name: 'New', category: 'Nope' }),
    },
    {
      name: 'setRoom by a non-manager',
      code: 'NOT_A_MANAGER',
      call: (a) => a.setRoom('General', { description: 'x' }, as(BOB)),
    },
    {
      name: 'setRoom move by a manager who is not a creator there',
      code: 'NOT_A_CREATOR',
      call: (a) => a.setRoom('General', { description: 'x', category: 'Legal' }, as(ALICE)),
    },
    {
      name: 'setRoom rename to a category',
      code: 'NAME_TAKEN',
      call: (a) => a.setRoom('General', { name: 'Design', description: 'x' }),
    },
    {
      name: 'setRoom presenter not a member',
      code: 'PRESENTER_NOT_MEMBER',
      call: (a) => a.setRoom('General', { type: 'auditorium', presenters: { replace: [MALLORY] } }),
    },
    {
      name: 'setRoom move with presenters in a normal room',
      code: 'PRESENTERS_IN_NORMAL_ROOM',
      call: (a) => a.setRoom('General', { category: 'Design', presenters: { replace: [ALICE] } }),
    },
    { name: 'setRoom unknown', code: 'ROOM_NOT_FOUND', call: (a) => a.setRoom('Nope', { description: 'x' }) },
    { name: 'removeRoom by a manager', code: 'NOT_ADMIN', call: (a) => a.removeRoom('General', as(ALICE)) },
    { name: 'newAddin ftp URL', code: 'INVALID_VALUE', call: (a) => a.newAddin({ name: 'Ftp', url: 'ftp://x.com/a' }) },
    {
      name: 'newAddin javascript URL',
      code: 'INVALID_VALUE',
      call: (a) => a.newAddin({ name: 'Js', url: 'javascript:alert(1)' }),
    },
    { name: 'newAddin duplicate', code: 'NAME_TAKEN', call: (a) => a.newAddin({ name: 'Poll', url: 'https://x.com' }) },
    {
      name: 'setAddin file URL',
      code: 'INVALID_VALUE',
      call: (a) => a.setAddin('Poll', { url: 'file:///etc/passwd' }),
    },
    { name: 'setConfig history 501', code: 'INVALID_VALUE', call: (a) => a.setConfig({ defaultChatHistory: 501 }) },
    { name: 'setConfig history 0', code: 'INVALID_VALUE', call: (a) => a.setConfig({ defaultChatHistory: 0 }) },
    {
      name: 'setConfig by a non-admin',
      code: 'NOT_ADMIN',
      call: (a) => a.setConfig({ defaultChatHistory: 50 }, as(ALICE)),
    },
    { name: 'newPolicy duplicate global', code: 'NAME_TAKEN', call: (a) => a.newPolicy('global', {}) },
    { name: 'setPolicy unknown', code: 'POLICY_NOT_FOUND', call: (a) => a.setPolicy('tag:nope', { description: 'x' }) },
    { name: 'grantPolicy unknown', code: 'POLICY_NOT_FOUND', call: (a) => a.grantPolicy(BOB, 'nope') },
    { name: 'grantPolicy a site policy', code: 'INVALID_VALUE', call: (a) => a.grantPolicy(BOB, 'site:Redmond') },
    { name: 'removePolicy unknown', code: 'POLICY_NOT_FOUND', call: (a) => a.removePolicy('tag:nope') },
    {
      name: 'newEndpoint duplicate',
      code: 'NAME_TAKEN',
      call: (a) => a.newEndpoint({ sipAddress: 'sip:ocschat@contoso.com' }),
    },
    { name: 'newEndpoint on a user address', code: 'NAME_TAKEN', call: (a) => a.newEndpoint({ sipAddress: BOB }) },
    {
      name: 'newEndpoint in another pool',
      code: 'INVALID_VALUE',
      call: (a) => a.newEndpoint({ sipAddress: 'sip:chat2@contoso.com', pool: 'elsewhere' }),
    },
    {
      name: 'newEndpoint: a second one for the pool',
      code: 'ENDPOINT_EXISTS',
      call: (a) => a.newEndpoint({ sipAddress: 'sip:chat2@contoso.com' }),
    },
    {
      name: 'newEndpoint: --pool not an FQDN',
      code: 'INVALID_VALUE',
      call: (a) => a.newEndpoint({ sipAddress: 'sip:chat2@contoso.com', pool: 'not a pool' }),
    },
    {
      name: 'addUser on the endpoint address',
      code: 'NAME_TAKEN',
      call: (a) => a.addUser('sip:ocschat@contoso.com', {}),
    },
    {
      name: 'newEndpoint by a non-admin',
      code: 'NOT_ADMIN',
      call: (a) => a.newEndpoint({ sipAddress: 'sip:chat2@contoso.com' }, as(ALICE)),
    },
    {
      name: 'removeEndpoint unknown',
      code: 'ENDPOINT_NOT_FOUND',
      call: (a) => a.removeEndpoint('sip:nope@contoso.com'),
    },
  ];
  for (const r of rows) {
    test(`${r.name} → ${r.code}, store unchanged`, () =>
      withAdmin(async (admin) => {
        await seed(admin);
        await admin.ensureDefaultEndpoint();
        const before = await snapshot(admin);
        await rejects(r.call(admin), r.code);
        assert.deepEqual(await snapshot(admin), before);
      }));
  }
});
