// Specification of the value rules in src/core/rules.ts: enumerations and booleans as admins type them,
// description and ACL size bounds (inclusive), and the messages the room, add-in and configuration rules give.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { type Category, type ChatConfig, DEFAULT_CONFIG, type PrincipalRef, type Room } from '../../src/core/model.js';
import type { Subject } from '../../src/core/principals.js';
import {
  type AclContext,
  parseBool,
  parseEnum,
  parsePrivacy,
  parseRoomInvitations,
  parseRoomType,
  validateAddin,
  validateCategory,
  validateConfig,
  validateDescription,
  validateRoom,
} from '../../src/core/rules.js';

/** `${code} ${message} [${field}]` of what fn throws, or 'ok' with the value it returned. */
const outcome = (fn: () => unknown): string => {
  try {
    return `ok ${String(fn())}`;
  } catch (e) {
    assert.ok(e instanceof PchatError, `threw ${String(e)}`);
    return `${e.code} ${e.message} [${e.field}]`;
  }
};

describe('parseEnum and its parsers accept any case and surrounding spaces, and return the canonical value', () => {
  const cases: [string, () => unknown, string][] = [
    ['privacy open', () => parsePrivacy('open'), 'ok open'],
    ['privacy " Closed "', () => parsePrivacy(' Closed '), 'ok closed'],
    ['privacy SECRET', () => parsePrivacy('SECRET'), 'ok secret'],
    [
      'privacy public',
      () => parsePrivacy('public'),
      'INVALID_VALUE privacy: "public" is not one of open, closed, secret [privacy]',
    ],
    ['type Auditorium', () => parseRoomType('Auditorium'), 'ok auditorium'],
    ['type normal', () => parseRoomType(' normal'), 'ok normal'],
    ['type stage', () => parseRoomType('stage'), 'INVALID_VALUE type: "stage" is not one of normal, auditorium [type]'],
    ['invitations Inherit', () => parseRoomInvitations('Inherit '), 'ok inherit'],
    ['invitations FALSE', () => parseRoomInvitations('FALSE'), 'ok false'],
    [
      'invitations true',
      () => parseRoomInvitations('true'),
      'INVALID_VALUE invitations: "true" is not one of inherit, false [invitations]',
    ],
    ['a custom enumeration', () => parseEnum(' Blue ', ['red', 'blue'], 'colour'), 'ok blue'],
    [
      'a custom enumeration, refused',
      () => parseEnum('', ['red', 'blue'], 'colour'),
      'INVALID_VALUE colour: "" is not one of red, blue [colour]',
    ],
  ];
  for (const [what, fn, expected] of cases) test(what, () => assert.equal(outcome(fn), expected));
});

describe('parseBool accepts booleans and the usual spellings, in any case', () => {
  const cases: [string | boolean, string][] = [
    [true, 'ok true'],
    [false, 'ok false'],
    ['true', 'ok true'],
    [' Yes ', 'ok true'],
    ['ON', 'ok true'],
    ['1', 'ok true'],
    ['False', 'ok false'],
    ['no', 'ok false'],
    [' off', 'ok false'],
    ['0', 'ok false'],
    ['maybe', 'INVALID_VALUE enabled: "maybe" is not true or false [enabled]'],
    ['', 'INVALID_VALUE enabled: "" is not true or false [enabled]'],
    ['2', 'INVALID_VALUE enabled: "2" is not true or false [enabled]'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () =>
      assert.equal(
        outcome(() => parseBool(input, 'enabled')),
        expected,
      ));
  }
});

describe('validateDescription: at most 4096 characters, counted by code point', () => {
  const cases: [string, string, string][] = [
    ['4096 characters', 'd'.repeat(4096), 'ok'],
    ['4096 emoji', '🚀'.repeat(4096), 'ok'],
    ['4097 characters', 'd'.repeat(4097), 'INVALID_VALUE description: at most 4096 characters [description]'],
  ];
  for (const [what, d, expected] of cases) {
    test(what, () => assert.equal(outcome(() => validateDescription(d)).replace(/^ok .*/s, 'ok'), expected));
  }
});

// A directory where every contoso.com address is a user of that domain, in no group or OU.
const ctx: AclContext = {
  resolveUser: (uri: string): Subject | undefined =>
    uri.endsWith('@contoso.com')
      ? { uri, domain: 'contoso.com', ou: null, groups: new Set(), isAdmin: false, chatEnabled: true }
      : undefined,
  groupAncestors: () => new Set(),
};
const category = (over: Partial<Category> = {}): Category => ({
  id: 'cat',
  name: 'Cat',
  description: '',
  invitations: true,
  fileUpload: true,
  chatHistory: true,
  allowedMembers: ['domain:contoso.com'],
  deniedMembers: [],
  creators: [],
  ...over,
});
const room = (over: Partial<Room> = {}): Room => ({
  id: 'room-1',
  name: 'Room',
  description: '',
  categoryId: 'cat',
  privacy: 'closed',
  type: 'auditorium',
  disabled: false,
  addin: null,
  invitations: 'inherit',
  members: [],
  managers: [],
  presenters: [],
  createdAt: 0,
  ...over,
});
const users = (n: number): PrincipalRef[] => Array.from({ length: n }, (_, i) => `sip:u${i}@contoso.com`);

describe('an access-control list holds at most 10000 entries (10000 allowed)', () => {
  for (const field of ['members', 'managers', 'presenters'] as const) {
    test(`room ${field}: 10000 allowed, 10001 refused naming the field`, () => {
      // presenters must be members: the domain entry makes every contoso.com presenter one
      const at = (n: number) =>
        room({ members: field === 'members' ? users(n) : ['domain:contoso.com'], [field]: users(n) });
      assert.equal(
        outcome(() => validateRoom(at(10000), category(), ctx)),
        'ok undefined',
      );
      assert.equal(
        outcome(() => validateRoom(at(10001), category(), ctx)),
        `INVALID_VALUE ${field}: at most 10000 entries [${field}]`,
      );
    });
  }
  for (const field of ['allowedMembers', 'deniedMembers', 'creators'] as const) {
    test(`category ${field}: 10001 refused naming the field`, () => {
      const refs = users(10001);
      assert.equal(
        outcome(() => validateCategory(category({ [field]: refs }), ctx)),
        `INVALID_VALUE ${field}: at most 10000 entries [${field}]`,
      );
    });
  }
  test('category allowedMembers: 10000 allowed', () => {
    assert.equal(
      outcome(() => validateCategory(category({ allowedMembers: users(10000) }), ctx)),
      'ok undefined',
    );
  });
});

describe('the room rules say what is wrong', () => {
  const A = 'sip:a@contoso.com';
  const cases: [string, () => void, string][] = [
    [
      'a "/" in the id',
      () => validateRoom(room({ id: 'a/b' }), category(), ctx),
      'INVALID_VALUE id: must not contain "/" [id]',
    ],
    [
      'presenters in a normal room',
      () => validateRoom(room({ type: 'normal', members: [A], presenters: [A] }), category(), ctx),
      'PRESENTERS_IN_NORMAL_ROOM presenters: a normal room has no presenters [presenters]',
    ],
    [
      'a presenter who is not a member',
      () => validateRoom(room({ presenters: [A] }), category(), ctx),
      `PRESENTER_NOT_MEMBER presenters: ${A} is not a member of the room [presenters]`,
    ],
    [
      'invitations inherited from a category that has them off',
      () => validateRoom(room(), category({ invitations: false }), ctx),
      `INVITATIONS_DISABLED_BY_CATEGORY invitations: category "Cat" has invitations off, so the room's must be false [invitations]`,
    ],
    [
      'a manager outside the category',
      () => validateRoom(room({ managers: ['sip:x@fabrikam.com'] }), category(), ctx),
      'NOT_IN_CATEGORY_SCOPE managers: sip:x@fabrikam.com is not in the allowed members of category "Cat" (or is denied) [managers]',
    ],
  ];
  for (const [what, fn, expected] of cases) test(what, () => assert.equal(outcome(fn), expected));
});

describe('add-in URLs are http or https URLs', () => {
  const cases: [string, string][] = [
    ['https://addins.contoso.com/a', 'ok undefined'],
    ['http://addins.contoso.com/a', 'ok undefined'],
    ['not a url', 'INVALID_VALUE url: "not a url" is not a URL [url]'],
    ['ftp://addins.contoso.com/a', 'INVALID_VALUE url: add-in URLs must be http or https, not ftp [url]'],
    ['javascript:alert(1)', 'INVALID_VALUE url: add-in URLs must be http or https, not javascript [url]'],
  ];
  for (const [url, expected] of cases) {
    test(url, () =>
      assert.equal(
        outcome(() => validateAddin({ name: 'Add-in', url })),
        expected,
      ),
    );
  }
});

describe('configuration values say their range', () => {
  const cases: [Partial<ChatConfig>, string][] = [
    [
      { defaultChatHistory: 0 },
      'INVALID_VALUE defaultChatHistory: must be a whole number from 1 to 500 [defaultChatHistory]',
    ],
    [
      { defaultChatHistory: 2.5 },
      'INVALID_VALUE defaultChatHistory: must be a whole number from 1 to 500 [defaultChatHistory]',
    ],
    [{ searchLimit: 100_001 }, 'INVALID_VALUE searchLimit: must be a whole number from 1 to 100000 [searchLimit]'],
    [
      { roomManagementUrl: 'ftp://x.contoso.com' },
      'INVALID_VALUE roomManagementUrl: must be an http or https URL [roomManagementUrl]',
    ],
    [
      { roomManagementUrl: 'nonsense' },
      'INVALID_VALUE roomManagementUrl: must be an http or https URL [roomManagementUrl]',
    ],
    [{ roomManagementUrl: 'https://rooms.contoso.com/' }, 'ok undefined'],
  ];
  for (const [over, expected] of cases) {
    test(JSON.stringify(over), () =>
      assert.equal(
        outcome(() => validateConfig({ ...DEFAULT_CONFIG, ...over })),
        expected,
      ),
    );
  }
});
