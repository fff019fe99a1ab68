// Specification of refCovered with the directory's expansion (usersOf): when does a list of principals cover a
// group, an OU or a domain? By name or nesting first; otherwise when every user it stands for today is covered,
// and never vacuously: an entry that stands for nobody is covered by nothing but itself or an enclosing entry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PrincipalRef, User } from '../../src/core/model.js';
import { refCovered } from '../../src/core/principals.js';
import { DirectorySnapshot } from '../../src/directory/snapshot.js';

const ALICE = 'sip:alice@contoso.com'; // Contoso/Eng, group devs
const BOB = 'sip:bob@contoso.com'; // Contoso/Eng, group devs
const CAROL = 'sip:carol@fabrikam.com'; // Fabrikam, group mixed

const user = (uri: string, ou: string | null): User => ({
  uri,
  displayName: uri,
  email: null,
  ou,
  site: null,
  policy: null,
  isAdmin: false,
  disabled: false,
  createdAt: 0,
});

const dir = new DirectorySnapshot(
  [user(ALICE, 'Contoso/Eng'), user(BOB, 'Contoso/Eng'), user(CAROL, 'Fabrikam')],
  [
    { name: 'devs', description: '', members: [ALICE, BOB] },
    { name: 'mixed', description: '', members: [ALICE, CAROL] },
    { name: 'nobody', description: '', members: [] },
    { name: 'outer-nobody', description: '', members: ['group:nobody'] },
  ],
  [{ identity: 'global', enablePersistentChat: true, description: '' }],
);

const covered = (ref: PrincipalRef, refs: PrincipalRef[], expand = true) =>
  refCovered(
    ref,
    refs,
    (u) => dir.resolveUser(u),
    (g) => dir.groupAncestors(g),
    expand ? (r) => dir.usersOf(r) : undefined,
  );

describe('refCovered with the directory expansion', () => {
  const rows: { ref: PrincipalRef; refs: PrincipalRef[]; want: boolean; why: string }[] = [
    { ref: 'group:devs', refs: ['domain:contoso.com'], want: true, why: 'every member is in the domain' },
    { ref: 'group:mixed', refs: ['domain:contoso.com'], want: false, why: 'carol is not in the domain' },
    { ref: 'group:mixed', refs: ['domain:contoso.com', CAROL], want: true, why: 'the rest is named' },
    { ref: 'ou:Contoso/Eng', refs: [ALICE, BOB], want: true, why: 'every user of the OU is named' },
    { ref: 'ou:Contoso/Eng', refs: [ALICE], want: false, why: 'bob is not named' },
    {
      ref: 'ou:Contoso',
      refs: ['group:devs'],
      want: true,
      why: 'the OU’s users (through its sub-OU) are in the group',
    },
    { ref: 'domain:fabrikam.com', refs: ['ou:Fabrikam'], want: true, why: 'every user of the domain is in the OU' },
    { ref: 'domain:contoso.com', refs: ['group:mixed'], want: false, why: 'bob is not in the group' },
    { ref: 'ou:Nowhere', refs: ['domain:contoso.com'], want: false, why: 'an OU with no users is not covered' },
    { ref: 'ou:Nowhere', refs: [], want: false, why: 'an empty list covers nothing, not even an empty OU' },
    { ref: 'group:nobody', refs: ['domain:contoso.com'], want: false, why: 'a group with no users is not covered' },
    { ref: 'group:nobody', refs: ['group:outer-nobody'], want: true, why: 'but an enclosing group covers it' },
    { ref: 'domain:example.org', refs: ['ou:Contoso'], want: false, why: 'a domain with no users is not covered' },
    { ref: 'ou:Nowhere', refs: ['ou:Nowhere'], want: true, why: 'an entry covers itself' },
    { ref: 'ou:Nowhere/Deeper', refs: ['ou:Nowhere'], want: true, why: 'an enclosing OU covers it' },
  ];
  for (const r of rows) {
    test(`${r.ref} covered by [${r.refs.join(', ')}] → ${r.want} (${r.why})`, () => {
      assert.equal(covered(r.ref, r.refs), r.want);
    });
  }

  test('without the expansion, a group or OU is covered only by name or nesting', () => {
    assert.equal(covered('group:devs', ['domain:contoso.com'], false), false);
    assert.equal(covered('ou:Contoso/Eng', [ALICE, BOB], false), false);
    assert.equal(covered('ou:Contoso/Eng', ['ou:Contoso'], false), true);
  });
});
