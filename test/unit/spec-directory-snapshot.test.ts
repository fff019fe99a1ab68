// Specification of the directory snapshot (src/directory/snapshot.ts) beyond directory.test.ts: loading it from a
// store (both engines) gives the store's users, groups and policies with nesting and effective policy applied;
// expand() lists users in URI order whatever the order of the references or of the directory; and only a group
// can make a group contain itself, whatever a user's URI or an OU path happens to spell.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Group, PrincipalRef } from '../../src/core/model.js';
import { DirectorySnapshot } from '../../src/directory/snapshot.js';
import type { Store } from '../../src/store/port.js';
import { forEachEngine } from '../support/spec-engines.js';
import { user } from '../support/store-contract.js';

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const CAROL = 'sip:carol@fabrikam.com';
const DAVE = 'sip:dave@contoso.com';

const group = (name: string, ...members: PrincipalRef[]): Group => ({ name, description: '', members });

forEachEngine('directory snapshot loaded from the store', ({ store, storeTest }) => {
  const s = () => store() as Store;
  // a case that gets the store: it fails when SQLite did not open, skips only an unreachable PostgreSQL
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, fn);
  before(async () => {
    if (!store()) return;
    await s().users.put(user(ALICE, { ou: 'Contoso/Eng', policy: 'vip', isAdmin: true }));
    await s().users.put(user(BOB, { ou: 'Contoso/Sales' }));
    await s().users.put(user(CAROL, { site: 'emea' }));
    await s().groups.put(group('eng', ALICE));
    await s().groups.put(group('all', 'group:eng', BOB));
    await s().policies.put({ identity: 'global', enablePersistentChat: false, description: '' });
    await s().policies.put({ identity: 'tag:vip', enablePersistentChat: true, description: 'VIPs' });
    await s().policies.put({ identity: 'site:emea', enablePersistentChat: true, description: '' });
  });

  it('load gives the users, groups and policies the store holds', async () => {
    const dir = await DirectorySnapshot.load(s());
    assert.ok(dir instanceof DirectorySnapshot);
    assert.deepEqual([...dir.users.keys()].sort(), [ALICE, BOB, CAROL]);
    assert.deepEqual(dir.users.get(ALICE), user(ALICE, { ou: 'Contoso/Eng', policy: 'vip', isAdmin: true }));
    assert.deepEqual([...dir.groups.keys()].sort(), ['all', 'eng']);
    assert.deepEqual(dir.groups.get('all')?.members.slice().sort(), ['group:eng', BOB]);
    assert.deepEqual([...dir.policies.keys()].sort(), ['global', 'site:emea', 'tag:vip']);
  });

  it('a loaded snapshot expands nesting and applies the effective policy', async () => {
    const dir = await DirectorySnapshot.load(s());
    const alice = dir.resolveUser(ALICE);
    assert.deepEqual([...(alice?.groups ?? [])].sort(), ['all', 'eng']);
    assert.equal(alice?.isAdmin, true);
    assert.equal(alice?.chatEnabled, true, 'the granted tag policy');
    assert.equal(dir.resolveUser(BOB)?.chatEnabled, false, 'the global policy');
    assert.equal(dir.resolveUser(CAROL)?.chatEnabled, true, 'the site policy');
    assert.deepEqual(
      dir.expand(['group:all']).map((u) => u.uri),
      [ALICE, BOB],
    );
    assert.deepEqual([...dir.groupAncestors('eng')], ['all']);
  });

  it('an empty store loads as an empty directory', async () => {
    for (const u of [ALICE, BOB, CAROL]) await s().users.remove(u);
    for (const g of ['eng', 'all']) await s().groups.remove(g);
    for (const p of ['global', 'tag:vip', 'site:emea']) await s().policies.remove(p);
    const dir = await DirectorySnapshot.load(s());
    assert.deepEqual([dir.users.size, dir.groups.size, dir.policies.size], [0, 0, 0]);
    assert.equal(dir.resolveUser(ALICE), undefined);
  });
});

describe('expand lists users in URI order', () => {
  // the directory in no particular order
  const dir = new DirectorySnapshot(
    [
      user(DAVE, { ou: 'Contoso/Eng' }),
      user(CAROL, { ou: 'Fabrikam' }),
      user(BOB, { ou: 'Contoso/Sales' }),
      user(ALICE, { ou: 'Contoso/Eng' }),
    ],
    [group('late', DAVE, CAROL), group('early', BOB, 'group:late')],
    [],
  );
  const rows: { refs: PrincipalRef[]; want: string[] }[] = [
    { refs: [DAVE, BOB, ALICE], want: [ALICE, BOB, DAVE] },
    { refs: ['group:early'], want: [BOB, CAROL, DAVE] },
    { refs: ['domain:fabrikam.com', 'ou:Contoso/Eng'], want: [ALICE, CAROL, DAVE] },
    { refs: ['ou:Contoso'], want: [ALICE, BOB, DAVE] },
    { refs: ['domain:contoso.com'], want: [ALICE, BOB, DAVE] },
    { refs: [CAROL, 'group:late', ALICE], want: [ALICE, CAROL, DAVE] },
  ];
  for (const r of rows) {
    test(`[${r.refs.join(', ')}] → [${r.want.join(', ')}], in that order`, () => {
      assert.deepEqual(
        dir.expand(r.refs).map((u) => u.uri),
        r.want,
      );
      assert.deepEqual(
        dir.usersOf(r.refs[0] as PrincipalRef).map((s) => s.uri),
        dir.expand([r.refs[0] as PrincipalRef]).map((u) => u.uri),
      );
    });
  }
});

describe('wouldCycle: only a group member can make a group contain itself', () => {
  // A group named like a domain, and one named like the tail of an OU path: names a user URI or an OU can spell
  // after its first six characters.
  const dir = new DirectorySnapshot(
    [user('sip:a@contoso.com')],
    [group('contoso.com', 'group:inner'), group('inner'), group('toso')],
    [],
  );
  const rows: { group: string; member: PrincipalRef; want: boolean; why: string }[] = [
    { group: 'contoso.com', member: 'group:contoso.com', want: true, why: 'a group in itself' },
    { group: 'inner', member: 'group:contoso.com', want: true, why: 'a group in a group it is in' },
    { group: 'contoso.com', member: 'group:inner', want: false, why: 'already so: no loop' },
    { group: 'contoso.com', member: 'sip:a@contoso.com', want: false, why: 'a user, whose URI ends in the name' },
    { group: 'inner', member: 'sip:a@contoso.com', want: false, why: 'a user, whose URI ends in an enclosing name' },
    { group: 'toso', member: 'ou:Contoso', want: false, why: 'an OU, whose path ends in the name' },
    { group: 'contoso.com', member: 'domain:contoso.com', want: false, why: 'a domain' },
  ];
  for (const r of rows) {
    test(`${r.member} into ${r.group}: ${r.want ? 'a cycle' : 'no cycle'} (${r.why})`, () =>
      assert.equal(dir.wouldCycle(r.group, r.member), r.want));
  }
});
