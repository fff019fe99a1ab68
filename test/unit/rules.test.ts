// Tables for the model rules (src/core/rules.ts) and principal parsing (src/core/principals.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ErrorCode, PchatError } from '../../src/core/errors.js';
import {
  type Category,
  type ChatConfig,
  DEFAULT_CONFIG,
  type PrincipalRef,
  type Room,
  type User,
} from '../../src/core/model.js';
import {
  applyListEdit,
  type ListEdit,
  normalizeRef,
  parseListEdit,
  refCovered,
  type Subject,
  subjectMatches,
} from '../../src/core/principals.js';
import {
  nextLargeRoomState,
  roomForCategory,
  validateAddin,
  validateCategory,
  validateConfig,
  validateName,
  validateRoom,
} from '../../src/core/rules.js';
import { DirectorySnapshot } from '../../src/directory/snapshot.js';

// ---- fixtures -----------------------------------------------------------------------------------------------

const ALICE = 'sip:alice@contoso.com'; // OU Contoso/Eng/Backend, in group inner (inner ⊂ mid ⊂ outer)
const BOB = 'sip:bob@contoso.com'; // OU Contoso/Sales, in no group
const CAROL = 'sip:carol@fabrikam.com'; // OU Fabrikam, in group partners
const MALLORY = 'sip:mallory@contoso.com'; // OU Contoso/Eng, in group inner
const DAVE = 'sip:dave@contoso.com'; // no OU, in group outer directly (so outer is wider than inner)
const FRANK = 'sip:frank@fabrikam.com'; // OU Fabrikam, in group partners with carol

function user(uri: string, ou: string | null): User {
  return {
    uri,
    displayName: uri,
    email: null,
    ou,
    site: null,
    policy: null,
    isAdmin: false,
    disabled: false,
    createdAt: 0,
  };
}

const ctx = new DirectorySnapshot(
  [
    user(ALICE, 'Contoso/Eng/Backend'),
    user(BOB, 'Contoso/Sales'),
    user(CAROL, 'Fabrikam'),
    user(MALLORY, 'Contoso/Eng'),
    user(DAVE, null),
    user(FRANK, 'Fabrikam'),
  ],
  [
    { name: 'inner', description: '', members: [ALICE, MALLORY] },
    { name: 'mid', description: '', members: ['group:inner'] },
    { name: 'outer', description: '', members: ['group:mid', DAVE] },
    { name: 'partners', description: '', members: [CAROL, FRANK] },
  ],
  [{ identity: 'global', enablePersistentChat: true, description: '' }],
);

function category(over: Partial<Category> = {}): Category {
  return {
    id: 'cat',
    name: 'Cat',
    description: '',
    invitations: true,
    fileUpload: true,
    chatHistory: true,
    // Wide: a domain entry does not cover a group or an OU (they may reach other domains), so list those too.
    allowedMembers: ['domain:contoso.com', 'domain:fabrikam.com', 'group:outer', 'group:partners', 'ou:Contoso'],
    deniedMembers: [],
    creators: [],
    ...over,
  };
}

function room(over: Partial<Room> = {}): Room {
  return {
    id: 'room-1',
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

/** Asserts `fn` throws a PchatError with `code` (and `field`, when given); `null` means it must not throw. */
function expectOutcome(fn: () => unknown, want: { code: ErrorCode; field?: string } | null): void {
  if (want === null) {
    fn();
    return;
  }
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PchatError, `expected a PchatError, got ${String(e)}`);
    assert.equal(e.code, want.code, e.message);
    if (want.field !== undefined) assert.equal(e.field, want.field, e.message);
    return true;
  });
}

const outcome = (w: { code: ErrorCode; field?: string } | null) => (w === null ? 'ok' : w.code);

// ---- validateName -------------------------------------------------------------------------------------------

describe('validateName', () => {
  const rows: { name: string; input: string; want: { code: ErrorCode; field?: string } | null }[] = [
    { name: '256 ASCII characters', input: 'a'.repeat(256), want: null },
    { name: '257 ASCII characters', input: 'a'.repeat(257), want: { code: 'NAME_TOO_LONG', field: 'name' } },
    { name: '256 CJK characters', input: '議'.repeat(256), want: null },
    { name: '257 CJK characters', input: '議'.repeat(257), want: { code: 'NAME_TOO_LONG' } },
    { name: '256 emoji (512 UTF-16 units)', input: '😀'.repeat(256), want: null },
    { name: '257 emoji', input: '😀'.repeat(257), want: { code: 'NAME_TOO_LONG' } },
    { name: '256 characters plus surrounding spaces', input: ` ${'b'.repeat(256)}  `, want: null },
    { name: 'empty', input: '', want: { code: 'INVALID_VALUE', field: 'name' } },
    { name: 'only spaces', input: '   ', want: { code: 'INVALID_VALUE', field: 'name' } },
    { name: 'a control character', input: 'a\u0007b', want: { code: 'INVALID_VALUE', field: 'name' } },
    { name: 'a newline inside', input: 'a\nb', want: { code: 'INVALID_VALUE', field: 'name' } },
  ];
  for (const r of rows) {
    test(`${r.name} → ${outcome(r.want)}`, () => expectOutcome(() => validateName(r.input), r.want));
  }
  test('returns the trimmed name', () => {
    assert.equal(validateName('  Design Review  '), 'Design Review');
  });
  test('names the field it was given', () => {
    expectOutcome(() => validateName('x'.repeat(300), 'displayName'), { code: 'NAME_TOO_LONG', field: 'displayName' });
  });
});

// ---- validateRoom -------------------------------------------------------------------------------------------

describe('validateRoom', () => {
  const rows: { name: string; r: Room; c?: Category; want: { code: ErrorCode; field?: string } | null }[] = [
    // presenters
    {
      name: 'auditorium, presenter is a member',
      r: room({ type: 'auditorium', members: [ALICE, BOB], presenters: [ALICE] }),
      want: null,
    },
    {
      name: 'auditorium, presenter is not a member',
      r: room({ type: 'auditorium', members: [BOB], presenters: [ALICE] }),
      want: { code: 'PRESENTER_NOT_MEMBER', field: 'presenters' },
    },
    {
      name: 'auditorium, presenter is a member through a nested group',
      r: room({ type: 'auditorium', members: ['group:outer'], presenters: [ALICE] }),
      want: null,
    },
    {
      name: 'auditorium, presenter is a member through an OU',
      r: room({ type: 'auditorium', members: ['ou:Contoso/Eng'], presenters: [ALICE] }),
      want: null,
    },
    {
      name: 'auditorium, presenter is a member through a domain',
      r: room({ type: 'auditorium', members: ['domain:contoso.com'], presenters: [BOB] }),
      want: null,
    },
    {
      name: 'auditorium, presenter group inside a member group',
      r: room({ type: 'auditorium', members: ['group:outer'], presenters: ['group:inner'] }),
      want: null,
    },
    {
      name: 'auditorium, presenter group wider than the member group',
      r: room({ type: 'auditorium', members: ['group:inner'], presenters: ['group:outer'] }),
      want: { code: 'PRESENTER_NOT_MEMBER', field: 'presenters' },
    },
    {
      name: 'auditorium, presenter OU inside a member OU',
      r: room({ type: 'auditorium', members: ['ou:Contoso'], presenters: ['ou:Contoso/Eng'] }),
      want: null,
    },
    {
      name: 'auditorium, presenter OU wider than the member OU',
      r: room({ type: 'auditorium', members: ['ou:Contoso/Eng'], presenters: ['ou:Contoso'] }),
      want: { code: 'PRESENTER_NOT_MEMBER', field: 'presenters' },
    },
    {
      name: 'auditorium, presenter in a group that is not a member',
      r: room({ type: 'auditorium', members: ['group:partners'], presenters: [ALICE] }),
      want: { code: 'PRESENTER_NOT_MEMBER', field: 'presenters' },
    },
    {
      name: 'normal room with a presenter who is a member',
      r: room({ type: 'normal', members: [ALICE], presenters: [ALICE] }),
      want: { code: 'PRESENTERS_IN_NORMAL_ROOM', field: 'presenters' },
    },
    { name: 'normal room, no presenters', r: room({ type: 'normal', members: [ALICE] }), want: null },
    // invitations
    {
      name: 'invitations inherit, category on',
      r: room({ invitations: 'inherit' }),
      c: category({ invitations: true }),
      want: null,
    },
    {
      name: 'invitations false, category on',
      r: room({ invitations: 'false' }),
      c: category({ invitations: true }),
      want: null,
    },
    {
      name: 'invitations inherit, category off',
      r: room({ invitations: 'inherit' }),
      c: category({ invitations: false }),
      want: { code: 'INVITATIONS_DISABLED_BY_CATEGORY', field: 'invitations' },
    },
    {
      name: 'invitations false, category off',
      r: room({ invitations: 'false' }),
      c: category({ invitations: false }),
      want: null,
    },
    // names
    { name: 'name of 256 characters', r: room({ name: 'n'.repeat(256) }), want: null },
    {
      name: 'name of 257 characters',
      r: room({ name: 'n'.repeat(257) }),
      want: { code: 'NAME_TOO_LONG', field: 'name' },
    },
    { name: 'name of 256 CJK characters', r: room({ name: '会'.repeat(256) }), want: null },
    { name: 'name of 257 CJK characters', r: room({ name: '会'.repeat(257) }), want: { code: 'NAME_TOO_LONG' } },
    { name: 'name of 256 emoji', r: room({ name: '🎉'.repeat(256) }), want: null },
    { name: 'name of 257 emoji', r: room({ name: '🎉'.repeat(257) }), want: { code: 'NAME_TOO_LONG' } },
    { name: 'empty name', r: room({ name: '' }), want: { code: 'INVALID_VALUE', field: 'name' } },
    { name: 'id with a slash', r: room({ id: 'a/b' }), want: { code: 'INVALID_VALUE', field: 'id' } },
    {
      name: 'description over 4096 characters',
      r: room({ description: 'd'.repeat(4097) }),
      want: { code: 'INVALID_VALUE', field: 'description' },
    },
    // category scope
    {
      name: 'member in scope through a group',
      r: room({ members: [ALICE] }),
      c: category({ allowedMembers: ['group:outer'] }),
      want: null,
    },
    {
      name: 'member outside the category scope',
      r: room({ members: [ALICE, BOB] }),
      c: category({ allowedMembers: ['group:outer'] }),
      want: { code: 'NOT_IN_CATEGORY_SCOPE', field: 'members' },
    },
    {
      name: 'member group outside the category scope',
      r: room({ members: ['group:partners'] }),
      c: category({ allowedMembers: ['domain:contoso.com'] }),
      want: { code: 'NOT_IN_CATEGORY_SCOPE', field: 'members' },
    },
    {
      name: 'member OU inside an allowed OU',
      r: room({ members: ['ou:Contoso/Eng/Backend'] }),
      c: category({ allowedMembers: ['ou:Contoso/Eng'] }),
      want: null,
    },
    {
      name: 'member OU wider than the allowed OU',
      r: room({ members: ['ou:Contoso'] }),
      c: category({ allowedMembers: ['ou:Contoso/Eng'] }),
      want: { code: 'NOT_IN_CATEGORY_SCOPE', field: 'members' },
    },
    {
      name: 'member allowed but denied through a nested group',
      r: room({ members: [MALLORY] }),
      c: category({ allowedMembers: ['domain:contoso.com'], deniedMembers: ['group:outer'] }),
      want: { code: 'NOT_IN_CATEGORY_SCOPE', field: 'members' },
    },
    {
      name: 'member allowed but denied through a parent OU',
      r: room({ members: [ALICE] }),
      c: category({ allowedMembers: ['domain:contoso.com'], deniedMembers: ['ou:Contoso/Eng'] }),
      want: { code: 'NOT_IN_CATEGORY_SCOPE', field: 'members' },
    },
    {
      name: 'manager outside the category scope',
      r: room({ members: [ALICE], managers: [CAROL] }),
      c: category({ allowedMembers: ['domain:contoso.com'] }),
      want: { code: 'NOT_IN_CATEGORY_SCOPE', field: 'managers' },
    },
    {
      name: 'unknown user is not in a domain scope',
      r: room({ members: ['sip:ghost@contoso.com'] }),
      c: category({ allowedMembers: ['domain:contoso.com'] }),
      want: { code: 'NOT_IN_CATEGORY_SCOPE', field: 'members' },
    },
  ];
  for (const r of rows) {
    test(`${r.name} → ${outcome(r.want)}`, () =>
      expectOutcome(() => validateRoom(r.r, r.c ?? category(), ctx), r.want));
  }
});

// ---- validateCategory ---------------------------------------------------------------------------------------

describe('validateCategory: creators ⊆ allowed − denied', () => {
  const rows: {
    name: string;
    allowed: PrincipalRef[];
    denied?: PrincipalRef[];
    creators: PrincipalRef[];
    ok: boolean;
  }[] = [
    { name: 'no creators', allowed: [], creators: [], ok: true },
    { name: 'user listed as allowed', allowed: [ALICE], creators: [ALICE], ok: true },
    { name: 'user not allowed', allowed: [BOB], creators: [ALICE], ok: false },
    { name: 'user allowed and denied', allowed: [ALICE], denied: [ALICE], creators: [ALICE], ok: false },
    { name: 'user allowed through a nested group', allowed: ['group:outer'], creators: [ALICE], ok: true },
    { name: 'user allowed through a parent OU', allowed: ['ou:Contoso/Eng'], creators: [ALICE], ok: true },
    { name: 'user allowed through a domain', allowed: ['domain:contoso.com'], creators: [BOB], ok: true },
    { name: 'user of another domain', allowed: ['domain:contoso.com'], creators: [CAROL], ok: false },
    {
      name: 'user denied through a nested group',
      allowed: ['domain:contoso.com'],
      denied: ['group:outer'],
      creators: [ALICE],
      ok: false,
    },
    {
      name: 'user denied through a parent OU',
      allowed: ['domain:contoso.com'],
      denied: ['ou:Contoso/Eng'],
      creators: [MALLORY],
      ok: false,
    },
    { name: 'group listed as allowed', allowed: ['group:inner'], creators: ['group:inner'], ok: true },
    { name: 'group inside an allowed group', allowed: ['group:outer'], creators: ['group:inner'], ok: true },
    { name: 'group wider than the allowed group', allowed: ['group:inner'], creators: ['group:outer'], ok: false },
    { name: 'group not allowed', allowed: [ALICE, MALLORY], creators: ['group:partners'], ok: false },
    {
      name: 'group inside a denied group',
      allowed: ['group:outer'],
      denied: ['group:mid'],
      creators: ['group:inner'],
      ok: false,
    },
    { name: 'OU listed as allowed', allowed: ['ou:Contoso/Eng'], creators: ['ou:Contoso/Eng'], ok: true },
    { name: 'OU inside an allowed OU', allowed: ['ou:Contoso'], creators: ['ou:Contoso/Eng'], ok: true },
    { name: 'OU wider than the allowed OU', allowed: ['ou:Contoso/Eng'], creators: ['ou:Contoso'], ok: false },
    {
      name: 'OU inside a denied OU',
      allowed: ['ou:Contoso'],
      denied: ['ou:Contoso/Eng'],
      creators: ['ou:Contoso/Eng/Backend'],
      ok: false,
    },
    { name: 'domain listed as allowed', allowed: ['domain:contoso.com'], creators: ['domain:contoso.com'], ok: true },
    { name: 'domain not allowed', allowed: [ALICE, BOB], creators: ['domain:contoso.com'], ok: false },
    {
      name: 'group all of whose users are in the allowed domain',
      allowed: ['domain:contoso.com'],
      creators: ['group:outer'],
      ok: true,
    },
    {
      name: 'group with a user outside the allowed domain',
      allowed: ['domain:contoso.com'],
      creators: ['group:partners'],
      ok: false,
    },
    {
      name: 'OU all of whose users are allowed by name',
      allowed: [ALICE, MALLORY],
      creators: ['ou:Contoso/Eng'],
      ok: true,
    },
    {
      // Refused either way (an empty OU is neither allowed nor, vacuously, denied); the next row is the one that
      // tells "no users" from "all users covered".
      name: 'an OU with no users is not covered',
      allowed: ['domain:contoso.com'],
      creators: ['ou:Nowhere'],
      ok: false,
    },
    {
      name: 'an OU with no users, listed as allowed, is not vacuously denied',
      allowed: ['ou:Nowhere'],
      denied: ['domain:fabrikam.com'],
      creators: ['ou:Nowhere'],
      ok: true,
    },
    { name: 'second creator fails', allowed: [ALICE], creators: [ALICE, BOB], ok: false },
  ];
  for (const r of rows) {
    test(`${r.name} → ${r.ok ? 'ok' : 'CREATOR_NOT_ALLOWED'}`, () =>
      expectOutcome(
        () =>
          validateCategory(
            category({ allowedMembers: r.allowed, deniedMembers: r.denied ?? [], creators: r.creators }),
            ctx,
          ),
        r.ok ? null : { code: 'CREATOR_NOT_ALLOWED', field: 'creators' },
      ));
  }
  test('a category name over 256 characters → NAME_TOO_LONG', () => {
    expectOutcome(() => validateCategory(category({ name: 'c'.repeat(257) }), ctx), { code: 'NAME_TOO_LONG' });
  });
});

// ---- roomForCategory ----------------------------------------------------------------------------------------

describe('roomForCategory', () => {
  const source = room({
    type: 'auditorium',
    invitations: 'inherit',
    members: [ALICE, BOB, MALLORY],
    managers: [ALICE, BOB],
    presenters: [ALICE, MALLORY],
  });
  const target = category({
    id: 'target',
    allowedMembers: ['group:outer'],
    deniedMembers: [MALLORY],
    invitations: false,
  });

  test('purges the entries the target disallows and reports them', () => {
    const { room: moved, purged } = roomForCategory(source, target, ctx);
    assert.equal(moved.categoryId, 'target');
    assert.deepEqual(moved.members, [ALICE]);
    assert.deepEqual(moved.managers, [ALICE]);
    assert.deepEqual(moved.presenters, [ALICE]);
    assert.deepEqual(
      [...purged].sort((a, b) => `${a.field}${a.ref}`.localeCompare(`${b.field}${b.ref}`)),
      [
        { field: 'managers', ref: BOB },
        { field: 'members', ref: BOB },
        { field: 'members', ref: MALLORY },
        { field: 'presenters', ref: MALLORY },
      ],
    );
  });

  test('forces invitations to false when the target has them off', () => {
    assert.equal(roomForCategory(source, target, ctx).room.invitations, 'false');
  });

  test('keeps inherit when the target has invitations on', () => {
    assert.equal(roomForCategory(source, { ...target, invitations: true }, ctx).room.invitations, 'inherit');
  });

  test('keeps false when the target has invitations on', () => {
    assert.equal(
      roomForCategory({ ...source, invitations: 'false' }, { ...target, invitations: true }, ctx).room.invitations,
      'false',
    );
  });

  test('drops a presenter whose membership was purged, and reports it', () => {
    // carol is allowed by name, but the member entry that made her a member (group:partners) is not.
    const r = room({ type: 'auditorium', members: ['group:partners', ALICE], presenters: [CAROL, ALICE] });
    const c = category({ id: 't', allowedMembers: [CAROL, ALICE] });
    const { room: moved, purged } = roomForCategory(r, c, ctx);
    assert.deepEqual(moved.members, [ALICE]);
    assert.deepEqual(moved.presenters, [ALICE]);
    assert.deepEqual(purged, [
      { field: 'members', ref: 'group:partners' },
      { field: 'presenters', ref: CAROL },
    ]);
  });

  test('the result passes validateRoom in the target category', () => {
    validateRoom(roomForCategory(source, target, ctx).room, target, ctx);
  });

  test('nothing to purge: the lists are unchanged', () => {
    const { room: moved, purged } = roomForCategory(source, category({ id: 'wide' }), ctx);
    assert.deepEqual(purged, []);
    assert.deepEqual(moved.members, source.members);
    assert.deepEqual(moved.managers, source.managers);
    assert.deepEqual(moved.presenters, source.presenters);
  });

  test('does not change the room it was given', () => {
    const before = structuredClone(source);
    roomForCategory(source, target, ctx);
    assert.deepEqual(source, before);
  });
});

// ---- validateAddin ------------------------------------------------------------------------------------------

describe('validateAddin', () => {
  const rows: { url: string; ok: boolean }[] = [
    { url: 'http://addins.contoso.com/poll', ok: true },
    { url: 'https://addins.contoso.com/poll?room=1', ok: true },
    { url: 'HTTPS://ADDINS.CONTOSO.COM/', ok: true },
    { url: 'ftp://addins.contoso.com/poll', ok: false },
    { url: 'javascript:alert(1)', ok: false },
    { url: 'file:///etc/passwd', ok: false },
    { url: 'data:text/html,<b>x</b>', ok: false },
    { url: 'garbage', ok: false },
    { url: '//addins.contoso.com/poll', ok: false },
    { url: '', ok: false },
  ];
  for (const r of rows) {
    test(`${JSON.stringify(r.url)} → ${r.ok ? 'ok' : 'INVALID_VALUE url'}`, () =>
      expectOutcome(
        () => validateAddin({ name: 'Poll', url: r.url }),
        r.ok ? null : { code: 'INVALID_VALUE', field: 'url' },
      ));
  }
  test('a name over 256 characters → NAME_TOO_LONG', () => {
    expectOutcome(() => validateAddin({ name: 'p'.repeat(257), url: 'https://x.com' }), { code: 'NAME_TOO_LONG' });
  });
});

// ---- validateConfig -----------------------------------------------------------------------------------------

describe('validateConfig', () => {
  const rows: { field: keyof ChatConfig; value: number | string | null; ok: boolean }[] = [
    { field: 'defaultChatHistory', value: 1, ok: true },
    { field: 'defaultChatHistory', value: 500, ok: true },
    { field: 'defaultChatHistory', value: 0, ok: false },
    { field: 'defaultChatHistory', value: 501, ok: false },
    { field: 'defaultChatHistory', value: 2.5, ok: false },
    { field: 'defaultChatHistory', value: Number.NaN, ok: false },
    { field: 'defaultChatHistory', value: -30, ok: false },
    { field: 'maxFileSizeKB', value: 20000, ok: true },
    { field: 'maxFileSizeKB', value: 0, ok: false },
    { field: 'maxFileSizeKB', value: Number.POSITIVE_INFINITY, ok: false },
    { field: 'participantUpdateLimit', value: 1, ok: true },
    { field: 'participantUpdateLimit', value: 0, ok: false },
    { field: 'messageSizeLimit', value: 0, ok: false },
    { field: 'messageSizeLimit', value: 1_000_000, ok: true },
    { field: 'messageSizeLimit', value: 1_000_001, ok: false },
    { field: 'storySizeLimit', value: 0, ok: false },
    { field: 'searchLimit', value: 100_000, ok: true },
    { field: 'searchLimit', value: 100_001, ok: false },
    { field: 'searchLimit', value: 0, ok: false },
    { field: 'roomManagementUrl', value: null, ok: true },
    { field: 'roomManagementUrl', value: 'https://pc.contoso.com/rm', ok: true },
    { field: 'roomManagementUrl', value: 'http://pc.contoso.com/rm', ok: true },
    { field: 'roomManagementUrl', value: 'ftp://pc.contoso.com/rm', ok: false },
    { field: 'roomManagementUrl', value: 'javascript:alert(1)', ok: false },
    { field: 'roomManagementUrl', value: 'not a url', ok: false },
  ];
  test('the defaults are valid', () => validateConfig(DEFAULT_CONFIG));
  for (const r of rows) {
    test(`${r.field} = ${String(r.value)} → ${r.ok ? 'ok' : 'INVALID_VALUE'}`, () =>
      expectOutcome(
        () => validateConfig({ ...DEFAULT_CONFIG, [r.field]: r.value } as ChatConfig),
        r.ok ? null : { code: 'INVALID_VALUE', field: r.field },
      ));
  }
});

// ---- nextLargeRoomState -------------------------------------------------------------------------------------

describe('nextLargeRoomState (limit 75; large above 75, recovers below 80 % = 60)', () => {
  const rows: { isLarge: boolean; participants: number; want: boolean }[] = [
    { isLarge: false, participants: 0, want: false },
    { isLarge: false, participants: 60, want: false },
    { isLarge: false, participants: 75, want: false },
    { isLarge: false, participants: 76, want: true },
    { isLarge: false, participants: 500, want: true },
    { isLarge: true, participants: 500, want: true },
    { isLarge: true, participants: 76, want: true },
    { isLarge: true, participants: 75, want: true },
    { isLarge: true, participants: 61, want: true },
    { isLarge: true, participants: 60, want: true },
    { isLarge: true, participants: 59, want: false },
    { isLarge: true, participants: 0, want: false },
  ];
  for (const r of rows) {
    test(`${r.isLarge ? 'large' : 'small'} room with ${r.participants} → ${r.want ? 'large' : 'small'}`, () => {
      assert.equal(nextLargeRoomState(r.isLarge, r.participants, 75), r.want);
    });
  }
  test('a crowd that grows to 76 and shrinks back recovers only at 59', () => {
    let large = false;
    const trace: number[] = [];
    for (let n = 70; n <= 80; n++) {
      const next = nextLargeRoomState(large, n, 75);
      if (next !== large) trace.push(n);
      large = next;
    }
    for (let n = 80; n >= 50; n--) {
      const next = nextLargeRoomState(large, n, 75);
      if (next !== large) trace.push(n);
      large = next;
    }
    assert.deepEqual(trace, [76, 59]);
  });
  test('limit 10: large at 11, still large at 8, recovers at 7', () => {
    assert.equal(nextLargeRoomState(false, 11, 10), true);
    assert.equal(nextLargeRoomState(true, 8, 10), true);
    assert.equal(nextLargeRoomState(true, 7, 10), false);
  });
});

// ---- principals ---------------------------------------------------------------------------------------------

describe('normalizeRef', () => {
  const good: [string, PrincipalRef][] = [
    ['sip:Alice@Contoso.COM', 'sip:alice@contoso.com'],
    ['  alice@contoso.com ', 'sip:alice@contoso.com'],
    ['SIP:alice@contoso.com', 'sip:alice@contoso.com'],
    ["sip:o'brien+chat@contoso.com", "sip:o'brien+chat@contoso.com"],
    ['group:Engineering', 'group:engineering'],
    ['Group: Eng Leads ', 'group:eng leads'],
    ['ou:Contoso/Engineering', 'ou:Contoso/Engineering'],
    ['OU: Contoso / Engineering /', 'ou:Contoso/Engineering'],
    ['domain:Contoso.COM', 'domain:contoso.com'],
    ['domain:eng.contoso.com', 'domain:eng.contoso.com'],
  ];
  for (const [input, want] of good) {
    test(`${JSON.stringify(input)} → ${want}`, () => assert.equal(normalizeRef(input, 'members'), want));
  }
  const bad = [
    'alice',
    '',
    'sip:',
    'sip:alice',
    'sip:alice@',
    'sip:al ice@contoso.com',
    'group:',
    'group:-eng',
    'group:eng/leads',
    'ou:',
    'ou:///',
    'ou:Contoso,Engineering',
    'domain:',
    'domain:-contoso.com',
    'domain:contoso..com',
    'domain:contoso.com/x',
    'user:alice',
    'tel:+15551234',
  ];
  for (const input of bad) {
    test(`${JSON.stringify(input)} → INVALID_VALUE naming the field`, () =>
      expectOutcome(() => normalizeRef(input, 'deniedMembers'), { code: 'INVALID_VALUE', field: 'deniedMembers' }));
  }
});

describe('parseListEdit and applyListEdit', () => {
  const rows: { input: string; want: ListEdit }[] = [
    { input: '', want: { replace: [] } },
    { input: 'sip:a@x.com', want: { replace: ['sip:a@x.com'] } },
    { input: 'sip:a@x.com, group:Eng ,domain:x.com', want: { replace: ['sip:a@x.com', 'group:eng', 'domain:x.com'] } },
    { input: 'sip:a@x.com,SIP:A@X.com', want: { replace: ['sip:a@x.com'] } },
    { input: ',,sip:a@x.com,,', want: { replace: ['sip:a@x.com'] } },
    { input: '+sip:a@x.com', want: { add: ['sip:a@x.com'], remove: [] } },
    { input: '-group:eng', want: { add: [], remove: ['group:eng'] } },
    {
      input: '+sip:a@x.com, -group:Eng, +ou:Contoso/Eng, +sip:a@x.com',
      want: { add: ['sip:a@x.com', 'ou:Contoso/Eng'], remove: ['group:eng'] },
    },
  ];
  for (const r of rows) {
    test(`parse ${JSON.stringify(r.input)}`, () => assert.deepEqual(parseListEdit(r.input, 'members'), r.want));
  }
  const bad: [string, string][] = [
    ['mixing forms', '+sip:a@x.com,sip:b@x.com'],
    ['mixing forms, plain first', 'sip:b@x.com,-sip:a@x.com'],
    ['a bad reference in a plain list', 'sip:a@x.com,nobody'],
    ['a bad reference after +', '+nobody'],
    ['a bad reference after -', '-group:'],
  ];
  for (const [why, input] of bad) {
    test(`parse ${JSON.stringify(input)} (${why}) → INVALID_VALUE naming the field`, () =>
      expectOutcome(() => parseListEdit(input, 'presenters'), { code: 'INVALID_VALUE', field: 'presenters' }));
  }
  const apply: { name: string; current: PrincipalRef[]; edit: ListEdit; want: PrincipalRef[] }[] = [
    { name: 'replace', current: ['sip:a@x.com'], edit: { replace: ['sip:b@x.com'] }, want: ['sip:b@x.com'] },
    { name: 'replace with nothing', current: ['sip:a@x.com'], edit: { replace: [] }, want: [] },
    {
      name: 'add and remove',
      current: ['sip:a@x.com', 'sip:b@x.com'],
      edit: { add: ['group:eng'], remove: ['sip:a@x.com'] },
      want: ['sip:b@x.com', 'group:eng'],
    },
    {
      name: 'adding an entry already there keeps one',
      current: ['sip:a@x.com'],
      edit: { add: ['sip:a@x.com'], remove: [] },
      want: ['sip:a@x.com'],
    },
    {
      name: 'removing an entry not there changes nothing',
      current: ['sip:a@x.com'],
      edit: { add: [], remove: ['sip:z@x.com'] },
      want: ['sip:a@x.com'],
    },
  ];
  for (const r of apply) {
    test(`apply: ${r.name}`, () => {
      const current = [...r.current];
      assert.deepEqual(applyListEdit(current, r.edit), r.want);
      assert.deepEqual(current, r.current, 'the current list is not changed');
    });
  }
});

describe('subjectMatches and refCovered', () => {
  const alice = ctx.resolveUser(ALICE) as Subject;
  const rows: { refs: PrincipalRef[]; want: boolean }[] = [
    { refs: [], want: false },
    { refs: [ALICE], want: true },
    { refs: [BOB], want: false },
    { refs: ['group:inner'], want: true },
    { refs: ['group:outer'], want: true },
    { refs: ['group:partners'], want: false },
    { refs: ['ou:Contoso'], want: true },
    { refs: ['ou:Contoso/Eng/Backend'], want: true },
    { refs: ['ou:Contoso/En'], want: false },
    { refs: ['ou:Contoso/Eng/Backend/Db'], want: false },
    { refs: ['domain:contoso.com'], want: true },
    { refs: ['domain:fabrikam.com'], want: false },
    { refs: [BOB, 'group:partners', 'ou:Fabrikam', 'domain:fabrikam.com'], want: false },
  ];
  for (const r of rows) {
    test(`alice matches [${r.refs.join(', ')}] → ${r.want}`, () => assert.equal(subjectMatches(alice, r.refs), r.want));
  }
  const covered: { ref: PrincipalRef; refs: PrincipalRef[]; want: boolean }[] = [
    { ref: ALICE, refs: ['group:outer'], want: true },
    { ref: BOB, refs: ['group:outer'], want: false },
    { ref: 'sip:ghost@contoso.com', refs: ['domain:contoso.com'], want: false },
    { ref: 'sip:ghost@contoso.com', refs: ['sip:ghost@contoso.com'], want: true },
    { ref: 'group:inner', refs: ['group:outer'], want: true },
    { ref: 'group:outer', refs: ['group:inner'], want: false },
    { ref: 'ou:Contoso/Eng', refs: ['ou:Contoso'], want: true },
    { ref: 'ou:Contoso', refs: ['ou:Contoso/Eng'], want: false },
    { ref: 'ou:Contoso/Engineering', refs: ['ou:Contoso/Eng'], want: false },
    { ref: 'domain:contoso.com', refs: ['domain:contoso.com'], want: true },
    { ref: 'domain:contoso.com', refs: ['ou:Contoso'], want: false },
  ];
  for (const r of covered) {
    test(`${r.ref} covered by [${r.refs.join(', ')}] → ${r.want}`, () =>
      assert.equal(
        refCovered(
          r.ref,
          r.refs,
          (u) => ctx.resolveUser(u),
          (g) => ctx.groupAncestors(g),
        ),
        r.want,
      ));
  }
});
