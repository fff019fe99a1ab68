// DirectorySnapshot: group nesting, cycles, effective policy, subjects, expand().
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Group, Policy, User } from '../../src/core/model.js';
import { DirectorySnapshot } from '../../src/directory/snapshot.js';

function user(uri: string, over: Partial<User> = {}): User {
  return {
    uri,
    displayName: uri,
    email: null,
    ou: null,
    site: null,
    policy: null,
    isAdmin: false,
    disabled: false,
    createdAt: 0,
    ...over,
  };
}

const group = (name: string, ...members: string[]): Group => ({ name, description: '', members });
const policy = (identity: string, enablePersistentChat: boolean): Policy => ({
  identity,
  enablePersistentChat,
  description: '',
});

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const CAROL = 'sip:carol@fabrikam.com';
const DAVE = 'sip:dave@contoso.com';

const sorted = (s: Iterable<string>) => [...s].sort();

describe('group nesting', () => {
  // alice ∈ a ⊂ b ⊂ c; bob ∈ b; carol ∈ d (unrelated); dave in no group.
  const dir = new DirectorySnapshot(
    [user(ALICE), user(BOB), user(CAROL), user(DAVE)],
    [group('a', ALICE), group('b', 'group:a', BOB), group('c', 'group:b'), group('d', CAROL)],
    [],
  );

  test('a user is in every group that contains them, directly or through nesting', () => {
    assert.deepEqual(sorted(dir.resolveUser(ALICE)?.groups ?? []), ['a', 'b', 'c']);
    assert.deepEqual(sorted(dir.resolveUser(BOB)?.groups ?? []), ['b', 'c']);
    assert.deepEqual(sorted(dir.resolveUser(CAROL)?.groups ?? []), ['d']);
    assert.deepEqual(sorted(dir.resolveUser(DAVE)?.groups ?? []), []);
  });

  test('groupAncestors lists the enclosing groups, transitively, not the group itself', () => {
    assert.deepEqual(sorted(dir.groupAncestors('a')), ['b', 'c']);
    assert.deepEqual(sorted(dir.groupAncestors('b')), ['c']);
    assert.deepEqual(sorted(dir.groupAncestors('c')), []);
    assert.deepEqual(sorted(dir.groupAncestors('nope')), []);
  });

  test('a user in two branches of a diamond is in each group once', () => {
    const d = new DirectorySnapshot(
      [user(ALICE)],
      [group('left', ALICE), group('right', ALICE), group('top', 'group:left', 'group:right')],
      [],
    );
    assert.deepEqual(sorted(d.resolveUser(ALICE)?.groups ?? []), ['left', 'right', 'top']);
  });

  test('wouldCycle: a group in itself or in a group it encloses', () => {
    assert.equal(dir.wouldCycle('a', 'group:a'), true);
    assert.equal(dir.wouldCycle('a', 'group:c'), true); // c ⊃ b ⊃ a
    assert.equal(dir.wouldCycle('a', 'group:b'), true);
    assert.equal(dir.wouldCycle('c', 'group:a'), false); // already so, no loop
    assert.equal(dir.wouldCycle('a', 'group:d'), false);
    assert.equal(dir.wouldCycle('a', ALICE), false);
  });

  test('exists: users and groups must exist; OUs and domains are open-ended', () => {
    assert.equal(dir.exists(ALICE), true);
    assert.equal(dir.exists('sip:ghost@contoso.com'), false);
    assert.equal(dir.exists('group:a'), true);
    assert.equal(dir.exists('group:ghosts'), false);
    assert.equal(dir.exists('ou:Anything/At/All'), true);
    assert.equal(dir.exists('domain:example.org'), true);
  });
});

describe('group cycles', () => {
  test('a two-group cycle does not hang and both groups reach the user', () => {
    const dir = new DirectorySnapshot([user(ALICE)], [group('x', 'group:y', ALICE), group('y', 'group:x')], []);
    assert.deepEqual(sorted(dir.resolveUser(ALICE)?.groups ?? []), ['x', 'y']);
    assert.deepEqual(sorted(dir.groupAncestors('x')), ['x', 'y']);
    assert.deepEqual(
      dir.expand(['group:y']).map((u) => u.uri),
      [ALICE],
    );
  });

  test('a group that lists itself does not hang', () => {
    const dir = new DirectorySnapshot([user(ALICE)], [group('self', 'group:self', ALICE)], []);
    assert.deepEqual(sorted(dir.resolveUser(ALICE)?.groups ?? []), ['self']);
  });

  test('a long ring of groups does not hang', () => {
    const n = 200;
    const groups = Array.from({ length: n }, (_, i) => group(`g${i}`, `group:g${(i + 1) % n}`));
    groups[0]?.members.push(ALICE);
    const dir = new DirectorySnapshot([user(ALICE)], groups, []);
    assert.equal(dir.resolveUser(ALICE)?.groups.size, n);
  });
});

describe('effective policy (tag > site > global; none → disabled)', () => {
  const rows: {
    name: string;
    policies: Policy[];
    site: string | null;
    tag: string | null;
    want: boolean;
  }[] = [
    { name: 'no policies at all', policies: [], site: null, tag: null, want: false },
    { name: 'global on', policies: [policy('global', true)], site: null, tag: null, want: true },
    { name: 'global off', policies: [policy('global', false)], site: null, tag: null, want: false },
    {
      name: 'site on beats global off',
      policies: [policy('global', false), policy('site:Redmond', true)],
      site: 'Redmond',
      tag: null,
      want: true,
    },
    {
      name: 'site off beats global on',
      policies: [policy('global', true), policy('site:Redmond', false)],
      site: 'Redmond',
      tag: null,
      want: false,
    },
    {
      name: "another site's policy does not apply",
      policies: [policy('global', false), policy('site:Dublin', true)],
      site: 'Redmond',
      tag: null,
      want: false,
    },
    {
      name: 'site without a policy falls back to global',
      policies: [policy('global', true)],
      site: 'Redmond',
      tag: null,
      want: true,
    },
    {
      name: 'tag on beats site off',
      policies: [policy('global', false), policy('site:Redmond', false), policy('tag:chatters', true)],
      site: 'Redmond',
      tag: 'chatters',
      want: true,
    },
    {
      name: 'tag off beats site on and global on',
      policies: [policy('global', true), policy('site:Redmond', true), policy('tag:quiet', false)],
      site: 'Redmond',
      tag: 'quiet',
      want: false,
    },
    {
      name: 'tag off beats global on (no site)',
      policies: [policy('global', true), policy('tag:quiet', false)],
      site: null,
      tag: 'quiet',
      want: false,
    },
    {
      name: 'a granted tag that no longer exists falls back to the site',
      policies: [policy('global', false), policy('site:Redmond', true)],
      site: 'Redmond',
      tag: 'gone',
      want: true,
    },
    {
      name: 'a granted tag that no longer exists, no site, falls back to global',
      policies: [policy('global', false)],
      site: null,
      tag: 'gone',
      want: false,
    },
    {
      name: 'a tag named like a site is not a site policy',
      policies: [policy('global', false), policy('tag:Redmond', true)],
      site: 'Redmond',
      tag: null,
      want: false,
    },
  ];
  for (const r of rows) {
    test(`${r.name} → ${r.want ? 'enabled' : 'disabled'}`, () => {
      const u = user(ALICE, { site: r.site, policy: r.tag });
      const dir = new DirectorySnapshot([u], [], r.policies);
      assert.equal(dir.chatEnabled(u), r.want);
      assert.equal(dir.resolveUser(ALICE)?.chatEnabled, r.want);
    });
  }

  test('a disabled user is not chat-enabled, even under an enabled policy', () => {
    const u = user(ALICE, { disabled: true, policy: 'chatters' });
    const dir = new DirectorySnapshot([u], [], [policy('global', true), policy('tag:chatters', true)]);
    assert.equal(dir.resolveUser(ALICE)?.chatEnabled, false);
  });

  test('a disabled administrator is not chat-enabled either', () => {
    const dir = new DirectorySnapshot([user(ALICE, { disabled: true, isAdmin: true })], [], [policy('global', true)]);
    assert.equal(dir.resolveUser(ALICE)?.chatEnabled, false);
  });
});

describe('resolveUser', () => {
  const dir = new DirectorySnapshot(
    [user(ALICE, { ou: 'Contoso/Eng', isAdmin: true }), user(CAROL)],
    [],
    [policy('global', true)],
  );
  test('builds the subject from the user', () => {
    const s = dir.resolveUser(ALICE);
    assert.ok(s);
    assert.equal(s.uri, ALICE);
    assert.equal(s.domain, 'contoso.com');
    assert.equal(s.ou, 'Contoso/Eng');
    assert.equal(s.isAdmin, true);
    assert.equal(s.chatEnabled, true);
    assert.equal(dir.resolveUser(CAROL)?.domain, 'fabrikam.com');
    assert.equal(dir.resolveUser(CAROL)?.isAdmin, false);
  });
  test('an unknown user resolves to undefined', () => {
    assert.equal(dir.resolveUser('sip:ghost@contoso.com'), undefined);
  });
});

describe('expand', () => {
  const dir = new DirectorySnapshot(
    [
      user(ALICE, { ou: 'Contoso/Eng/Backend' }),
      user(BOB, { ou: 'Contoso/Sales' }),
      user(CAROL, { ou: 'Fabrikam' }),
      user(DAVE, { ou: null }),
    ],
    [group('inner', ALICE), group('outer', 'group:inner', CAROL)],
    [],
  );
  const rows: { refs: string[]; want: string[] }[] = [
    { refs: [], want: [] },
    { refs: [ALICE], want: [ALICE] },
    { refs: ['sip:ghost@contoso.com'], want: [] },
    { refs: ['group:inner'], want: [ALICE] },
    { refs: ['group:outer'], want: [ALICE, CAROL] },
    { refs: ['group:nope'], want: [] },
    { refs: ['ou:Contoso'], want: [ALICE, BOB] },
    { refs: ['ou:Contoso/Eng'], want: [ALICE] },
    { refs: ['ou:Contoso/En'], want: [] },
    { refs: ['domain:contoso.com'], want: [ALICE, BOB, DAVE] },
    { refs: ['domain:fabrikam.com', BOB], want: [BOB, CAROL] },
    { refs: ['group:inner', ALICE, 'ou:Contoso/Eng'], want: [ALICE] },
  ];
  for (const r of rows) {
    test(`[${r.refs.join(', ')}] → [${r.want.join(', ')}]`, () => {
      assert.deepEqual(sorted(dir.expand(r.refs).map((u) => u.uri)), sorted(r.want));
    });
  }
});
