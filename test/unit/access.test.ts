// Table-driven tests of the access check (inventory section 7, as the header of src/core/access.ts states it).
//
// The expected decision of every case comes from `expectedDecision` below: an explicit, independent statement
// of the rule, written from the scenario's facts (role, scope, policy, privacy, type, disabled) and never from
// the code under test. The order of the checks fixes which denial code wins when several apply:
//
//   manage:  administrator → allowed (admins manage everything, whatever their policy or the category lists)
//            policy disabled → POLICY_DISABLED
//            not in scope (not allowed, or denied) → NOT_IN_CATEGORY_SCOPE
//            not a manager → NOT_A_MANAGER
//   others:  policy disabled → POLICY_DISABLED (administrators included)
//            secret room and neither member nor manager → ROOM_NOT_FOUND (existence is not revealed, so this
//              comes before the scope check; a manager must be able to find the room they manage)
//            not in scope → NOT_IN_CATEGORY_SCOPE (admins skip AllowedMembers, never DeniedMembers)
//            room disabled → ROOM_DISABLED
//            see → allowed
//            closed/secret room and not a member → NOT_A_MEMBER (managers and admins included)
//            post in an auditorium and not a presenter → NOT_A_PRESENTER (managers and admins included)
//            → allowed
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allowedRooms,
  type Decision,
  decideCreateRoom,
  decideRoom,
  inCategoryScope,
  invitationsInEffect,
  type RoomAction,
} from '../../src/core/access.js';
import type { ErrorCode } from '../../src/core/errors.js';
import type { Category, Policy, PrincipalRef, Privacy, Room, RoomType, User } from '../../src/core/model.js';
import type { Subject } from '../../src/core/principals.js';
import { DirectorySnapshot } from '../../src/directory/snapshot.js';

// ---- the independent expectation ----------------------------------------------------------------------------

interface Facts {
  policyEnabled: boolean;
  admin: boolean;
  inAllowed: boolean;
  inDenied: boolean;
  member: boolean;
  manager: boolean;
  presenter: boolean;
  privacy: Privacy;
  type: RoomType;
  disabled: boolean;
  action: RoomAction;
}

function expectedDecision(f: Facts): Decision {
  const no = (code: ErrorCode): Decision => ({ allowed: false, code });
  const yes: Decision = { allowed: true };
  // Ethical wall: denied beats everything; admins are not limited by AllowedMembers.
  let scoped: boolean;
  if (f.inDenied) scoped = false;
  else if (f.admin) scoped = true;
  else scoped = f.inAllowed;

  if (f.action === 'manage') {
    if (f.admin) return yes;
    if (!f.policyEnabled) return no('POLICY_DISABLED');
    if (!scoped) return no('NOT_IN_CATEGORY_SCOPE');
    if (!f.manager) return no('NOT_A_MANAGER');
    return yes;
  }
  if (!f.policyEnabled) return no('POLICY_DISABLED');
  if (f.privacy === 'secret' && !f.member && !f.manager) return no('ROOM_NOT_FOUND');
  if (!scoped) return no('NOT_IN_CATEGORY_SCOPE');
  if (f.disabled) return no('ROOM_DISABLED');
  if (f.action === 'see') return yes;
  const needsMembership = f.privacy === 'closed' || f.privacy === 'secret';
  if (needsMembership && !f.member) return no('NOT_A_MEMBER');
  if (f.action === 'post' && f.type === 'auditorium' && !f.presenter) return no('NOT_A_PRESENTER');
  return yes;
}

// ---- the axes -----------------------------------------------------------------------------------------------

const PRIVACIES: Privacy[] = ['open', 'closed', 'secret'];
const TYPES: RoomType[] = ['normal', 'auditorium'];
const ROLES = ['none', 'member', 'manager-only', 'member+manager', 'member+presenter', 'admin-no-membership'] as const;
type Role = (typeof ROLES)[number];
const SCOPES = ['allowed', 'not-allowed', 'allowed-but-denied'] as const;
type Scope = (typeof SCOPES)[number];
const POLICIES = ['enabled', 'disabled'] as const;
const ACTIONS: RoomAction[] = ['see', 'join', 'read', 'post', 'manage'];

const ME = 'sip:user@contoso.com';
const OTHER = 'sip:other@contoso.com';
const BYSTANDER = 'sip:bystander@fabrikam.com';

function category(over: Partial<Category> = {}): Category {
  return {
    id: 'cat',
    name: 'Cat',
    description: '',
    invitations: true,
    fileUpload: true,
    chatHistory: true,
    allowedMembers: [],
    deniedMembers: [],
    creators: [],
    ...over,
  };
}

function room(over: Partial<Room> = {}): Room {
  return {
    id: 'room',
    name: 'Room',
    description: '',
    categoryId: 'cat',
    privacy: 'closed',
    type: 'normal',
    disabled: false,
    addin: null,
    invitations: 'inherit',
    members: [],
    managers: [],
    presenters: [],
    createdAt: 0,
    ...over,
  };
}

function subject(over: Partial<Subject> = {}): Subject {
  return {
    uri: ME,
    domain: 'contoso.com',
    ou: null,
    groups: new Set<string>(),
    isAdmin: false,
    chatEnabled: true,
    ...over,
  };
}

function roleFacts(role: Role): { member: boolean; manager: boolean; presenter: boolean; admin: boolean } {
  return {
    member: role === 'member' || role === 'member+manager' || role === 'member+presenter',
    manager: role === 'manager-only' || role === 'member+manager',
    presenter: role === 'member+presenter',
    admin: role === 'admin-no-membership',
  };
}

function scopeCategory(scope: Scope): Category {
  switch (scope) {
    case 'allowed':
      return category({ allowedMembers: [OTHER, ME], deniedMembers: [BYSTANDER] });
    case 'not-allowed':
      return category({ allowedMembers: [OTHER], deniedMembers: [BYSTANDER] });
    case 'allowed-but-denied':
      return category({ allowedMembers: [OTHER, ME], deniedMembers: [BYSTANDER, ME] });
  }
}

function roleRoom(role: Role, privacy: Privacy, type: RoomType, disabled: boolean): Room {
  const r = roleFacts(role);
  // Other people are always on the lists, so "not on the list" never means "the list is empty".
  return room({
    privacy,
    type,
    disabled,
    members: [OTHER, ...(r.member ? [ME] : [])],
    managers: [OTHER, ...(r.manager ? [ME] : [])],
    presenters: [OTHER, ...(r.presenter ? [ME] : [])],
  });
}

const show = (d: Decision) => (d.allowed ? 'allow' : `deny ${d.code}`);

// ---- the full table -----------------------------------------------------------------------------------------

describe('decideRoom: privacy × type × role × scope × policy × disabled × action', () => {
  for (const disabled of [false, true]) {
    for (const privacy of PRIVACIES) {
      for (const type of TYPES) {
        for (const role of ROLES) {
          for (const scope of SCOPES) {
            for (const policy of POLICIES) {
              const r = roleFacts(role);
              const s = subject({ isAdmin: r.admin, chatEnabled: policy === 'enabled' });
              const c = scopeCategory(scope);
              const rm = roleRoom(role, privacy, type, disabled);
              for (const action of ACTIONS) {
                const want = expectedDecision({
                  policyEnabled: policy === 'enabled',
                  admin: r.admin,
                  inAllowed: scope !== 'not-allowed',
                  inDenied: scope === 'allowed-but-denied',
                  member: r.member,
                  manager: r.manager,
                  presenter: r.presenter,
                  privacy,
                  type,
                  disabled,
                  action,
                });
                const label = `${disabled ? 'disabled ' : ''}${privacy} ${type}, ${role}, ${scope}, policy ${policy}: ${action} → ${show(want)}`;
                test(label, () => {
                  assert.deepEqual(decideRoom(s, rm, c, action), want);
                });
              }
            }
          }
        }
      }
    }
  }
});

// A few rows spelled out by hand, so that the expectation function itself is pinned to the inventory.
describe('decideRoom: hand-checked rows', () => {
  const inScope = category({ allowedMembers: [ME] });
  const cases: { name: string; s: Subject; r: Room; c: Category; action: RoomAction; want: Decision }[] = [
    {
      name: 'open room: anyone in scope joins without membership',
      s: subject(),
      r: room({ privacy: 'open' }),
      c: inScope,
      action: 'join',
      want: { allowed: true },
    },
    {
      name: 'closed room: visible to anyone in scope',
      s: subject(),
      r: room({ privacy: 'closed' }),
      c: inScope,
      action: 'see',
      want: { allowed: true },
    },
    {
      name: 'closed room: non-member cannot read',
      s: subject(),
      r: room({ privacy: 'closed' }),
      c: inScope,
      action: 'read',
      want: { allowed: false, code: 'NOT_A_MEMBER' },
    },
    {
      name: 'secret room: invisible to a non-member in scope',
      s: subject(),
      r: room({ privacy: 'secret' }),
      c: inScope,
      action: 'see',
      want: { allowed: false, code: 'ROOM_NOT_FOUND' },
    },
    {
      name: 'auditorium: a member who is not a presenter cannot post',
      s: subject(),
      r: room({ type: 'auditorium', members: [ME] }),
      c: inScope,
      action: 'post',
      want: { allowed: false, code: 'NOT_A_PRESENTER' },
    },
    {
      name: 'auditorium: a manager who is a member but not a presenter cannot post',
      s: subject(),
      r: room({ type: 'auditorium', members: [ME], managers: [ME] }),
      c: inScope,
      action: 'post',
      want: { allowed: false, code: 'NOT_A_PRESENTER' },
    },
    {
      name: 'a manager who is not a member cannot join a closed room',
      s: subject(),
      r: room({ managers: [ME] }),
      c: inScope,
      action: 'join',
      want: { allowed: false, code: 'NOT_A_MEMBER' },
    },
    {
      name: 'policy disabled: a member cannot even see',
      s: subject({ chatEnabled: false }),
      r: room({ members: [ME] }),
      c: inScope,
      action: 'see',
      want: { allowed: false, code: 'POLICY_DISABLED' },
    },
    {
      name: 'denied overrides allowed and membership',
      s: subject(),
      r: room({ members: [ME] }),
      c: category({ allowedMembers: [ME], deniedMembers: [ME] }),
      action: 'read',
      want: { allowed: false, code: 'NOT_IN_CATEGORY_SCOPE' },
    },
    {
      name: 'an administrator manages a room in a category that denies them',
      s: subject({ isAdmin: true }),
      r: room(),
      c: category({ deniedMembers: [ME] }),
      action: 'manage',
      want: { allowed: true },
    },
    {
      name: 'an administrator who is denied cannot read an open room',
      s: subject({ isAdmin: true }),
      r: room({ privacy: 'open' }),
      c: category({ deniedMembers: [ME] }),
      action: 'read',
      want: { allowed: false, code: 'NOT_IN_CATEGORY_SCOPE' },
    },
  ];
  for (const k of cases) {
    test(k.name, () => {
      assert.deepEqual(decideRoom(k.s, k.r, k.c, k.action), k.want);
    });
  }
});

// ---- principals reached through a group, an OU or a domain ------------------------------------------------

// gina is in group inner; inner is in mid; mid is in outer (outer reaches gina through two levels of nesting).
// gina's OU is Contoso/Eng/Backend, a sub-OU of Contoso/Eng. oscar is in none of these.
const GINA = 'sip:gina@contoso.com';
const OSCAR = 'sip:oscar@fabrikam.com';

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

const ENABLED: Policy[] = [{ identity: 'global', enablePersistentChat: true, description: '' }];
const dir = new DirectorySnapshot(
  [user(GINA, { ou: 'Contoso/Eng/Backend' }), user(OSCAR, { ou: 'Fabrikam/Sales' })],
  [
    { name: 'inner', description: '', members: [GINA] },
    { name: 'mid', description: '', members: ['group:inner'] },
    { name: 'outer', description: '', members: ['group:mid'] },
  ],
  ENABLED,
);

const VIA: Record<string, PrincipalRef> = {
  user: GINA,
  'nested group': 'group:outer',
  'parent OU': 'ou:Contoso/Eng',
  domain: 'domain:contoso.com',
};
const PLACEMENTS = ['allowed', 'denied', 'members', 'presenters', 'managers'] as const;

describe('decideRoom: principals reached through a user, a nested group, a parent OU, a domain', () => {
  for (const [via, ref] of Object.entries(VIA)) {
    for (const placement of PLACEMENTS) {
      for (const who of [GINA, OSCAR]) {
        const covered = who === GINA; // the reference names gina and never oscar
        const s = dir.resolveUser(who) as Subject;
        const c = category({
          allowedMembers: placement === 'allowed' ? [ref] : [GINA, OSCAR],
          deniedMembers: placement === 'denied' ? [ref] : [],
        });
        const listedAsMember = placement === 'allowed' || placement === 'denied';
        for (const privacy of PRIVACIES) {
          const r = room({
            privacy,
            type: 'auditorium',
            members:
              placement === 'members' || placement === 'presenters' ? [ref] : listedAsMember ? [GINA, OSCAR] : [],
            managers: placement === 'managers' ? [ref] : [],
            presenters: placement === 'presenters' ? [ref] : [],
          });
          for (const action of ACTIONS) {
            const want = expectedDecision({
              policyEnabled: true,
              admin: false,
              inAllowed: placement === 'allowed' ? covered : true,
              inDenied: placement === 'denied' ? covered : false,
              member: placement === 'members' || placement === 'presenters' ? covered : listedAsMember,
              manager: placement === 'managers' ? covered : false,
              presenter: placement === 'presenters' ? covered : false,
              privacy,
              type: 'auditorium',
              disabled: false,
              action,
            });
            const name = who === GINA ? 'gina' : 'oscar';
            test(`${ref} (${via}) in ${placement}, ${privacy} auditorium, ${name}: ${action} → ${show(want)}`, () => {
              assert.deepEqual(decideRoom(s, r, c, action), want);
            });
          }
        }
      }
    }
  }

  // Near misses: references that look close but do not name gina.
  const nearMisses: [string, PrincipalRef][] = [
    ['an OU whose name is a prefix of hers', 'ou:Contoso/En'],
    ['a sibling OU', 'ou:Contoso/Sales'],
    ['her sub-OU is not her parent', 'ou:Contoso/Eng/Backend/Db'],
    ['a sub-domain', 'domain:eng.contoso.com'],
    ['another domain', 'domain:fabrikam.com'],
    ['a group she is not in', 'group:other'],
    ['another user', 'sip:gina@fabrikam.com'],
  ];
  for (const [why, ref] of nearMisses) {
    test(`near miss (${why}): ${ref} in AllowedMembers does not admit gina to an open room`, () => {
      const s = dir.resolveUser(GINA) as Subject;
      assert.deepEqual(decideRoom(s, room({ privacy: 'open' }), category({ allowedMembers: [ref] }), 'join'), {
        allowed: false,
        code: 'NOT_IN_CATEGORY_SCOPE',
      });
    });
    test(`near miss (${why}): ${ref} in Members does not make gina a member of a closed room`, () => {
      const s = dir.resolveUser(GINA) as Subject;
      assert.deepEqual(decideRoom(s, room({ members: [ref] }), category({ allowedMembers: [GINA] }), 'join'), {
        allowed: false,
        code: 'NOT_A_MEMBER',
      });
    });
  }
});

// ---- allowedRooms (bulk form) -------------------------------------------------------------------------------

describe('allowedRooms', () => {
  test('keeps exactly the rooms the single check allows, and drops rooms whose category is missing', () => {
    const s = subject();
    const cats = new Map<string, Category>([
      ['in', category({ id: 'in', allowedMembers: [ME] })],
      ['out', category({ id: 'out', allowedMembers: [OTHER] })],
    ]);
    const rooms = [
      room({ id: 'open-in', categoryId: 'in', privacy: 'open' }),
      room({ id: 'closed-in-member', categoryId: 'in', members: [ME] }),
      room({ id: 'closed-in', categoryId: 'in' }),
      room({ id: 'secret-in', categoryId: 'in', privacy: 'secret' }),
      room({ id: 'open-out', categoryId: 'out', privacy: 'open' }),
      room({ id: 'open-orphan', categoryId: 'gone', privacy: 'open' }),
      room({ id: 'open-in-disabled', categoryId: 'in', privacy: 'open', disabled: true }),
    ];
    assert.deepEqual(
      allowedRooms(s, rooms, cats, 'see').map((r) => r.id),
      ['open-in', 'closed-in-member', 'closed-in'],
    );
    assert.deepEqual(
      allowedRooms(s, rooms, cats, 'join').map((r) => r.id),
      ['open-in', 'closed-in-member'],
    );
    assert.deepEqual(
      allowedRooms(subject({ chatEnabled: false }), rooms, cats, 'see').map((r) => r.id),
      [],
    );
  });
});

// ---- inCategoryScope ----------------------------------------------------------------------------------------

describe('inCategoryScope', () => {
  const rows: { name: string; admin: boolean; allowed: PrincipalRef[]; denied: PrincipalRef[]; want: boolean }[] = [
    { name: 'allowed user', admin: false, allowed: [ME], denied: [], want: true },
    { name: 'not allowed user', admin: false, allowed: [OTHER], denied: [], want: false },
    { name: 'empty allowed list admits nobody', admin: false, allowed: [], denied: [], want: false },
    { name: 'allowed and denied user', admin: false, allowed: [ME], denied: [ME], want: false },
    {
      name: 'allowed by domain, denied by name',
      admin: false,
      allowed: ['domain:contoso.com'],
      denied: [ME],
      want: false,
    },
    { name: 'admin not allowed', admin: true, allowed: [], denied: [], want: true },
    { name: 'admin denied', admin: true, allowed: [ME], denied: [ME], want: false },
    { name: 'admin denied by domain', admin: true, allowed: [], denied: ['domain:contoso.com'], want: false },
  ];
  for (const r of rows) {
    test(`${r.name} → ${r.want}`, () => {
      assert.equal(
        inCategoryScope(
          subject({ isAdmin: r.admin }),
          category({ allowedMembers: r.allowed, deniedMembers: r.denied }),
        ),
        r.want,
      );
    });
  }
});

// ---- decideCreateRoom ---------------------------------------------------------------------------------------

describe('decideCreateRoom', () => {
  const ginaSubject = dir.resolveUser(GINA) as Subject;
  const rows: { name: string; s: Subject; c: Category; want: Decision }[] = [
    {
      name: 'creator in scope',
      s: subject(),
      c: category({ allowedMembers: [ME], creators: [ME] }),
      want: { allowed: true },
    },
    {
      name: 'creator through a nested group and an OU scope',
      s: ginaSubject,
      c: category({ allowedMembers: ['ou:Contoso/Eng'], creators: ['group:outer'] }),
      want: { allowed: true },
    },
    {
      name: 'non-creator in scope',
      s: subject(),
      c: category({ allowedMembers: [ME], creators: [OTHER] }),
      want: { allowed: false, code: 'NOT_A_CREATOR' },
    },
    {
      name: 'non-creator, category with no creators',
      s: subject(),
      c: category({ allowedMembers: [ME] }),
      want: { allowed: false, code: 'NOT_A_CREATOR' },
    },
    {
      name: 'creator who is denied',
      s: subject(),
      c: category({ allowedMembers: [ME], deniedMembers: [ME], creators: [ME] }),
      want: { allowed: false, code: 'NOT_IN_CATEGORY_SCOPE' },
    },
    {
      name: 'creator denied through a domain',
      s: subject(),
      c: category({ allowedMembers: [ME], deniedMembers: ['domain:contoso.com'], creators: [ME] }),
      want: { allowed: false, code: 'NOT_IN_CATEGORY_SCOPE' },
    },
    {
      name: 'creator listed but not in allowed members',
      s: subject(),
      c: category({ allowedMembers: [OTHER], creators: [ME] }),
      want: { allowed: false, code: 'NOT_IN_CATEGORY_SCOPE' },
    },
    {
      name: 'creator whose policy is disabled',
      s: subject({ chatEnabled: false }),
      c: category({ allowedMembers: [ME], creators: [ME] }),
      want: { allowed: false, code: 'POLICY_DISABLED' },
    },
    {
      name: 'administrator, in no list',
      s: subject({ isAdmin: true }),
      c: category(),
      want: { allowed: true },
    },
    {
      name: 'administrator, denied and policy disabled',
      s: subject({ isAdmin: true, chatEnabled: false }),
      c: category({ deniedMembers: [ME] }),
      want: { allowed: true },
    },
  ];
  for (const r of rows) {
    test(`${r.name} → ${show(r.want)}`, () => {
      assert.deepEqual(decideCreateRoom(r.s, r.c), r.want);
    });
  }
});

// ---- invitationsInEffect ------------------------------------------------------------------------------------

describe('invitationsInEffect', () => {
  const rows: { category: boolean; room: Room['invitations']; want: boolean }[] = [
    { category: true, room: 'inherit', want: true },
    { category: true, room: 'false', want: false },
    { category: false, room: 'inherit', want: false },
    { category: false, room: 'false', want: false },
  ];
  for (const r of rows) {
    test(`category ${r.category}, room ${r.room} → ${r.want}`, () => {
      assert.equal(invitationsInEffect(room({ invitations: r.room }), category({ invitations: r.category })), r.want);
    });
  }
});
