// Specification of principal parsing (src/core/principals.ts): which spellings of a user, group, OU or domain
// reference are accepted, what they normalize to, what each refusal says, and which entries name a subject.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import {
  normalizeGroupName,
  normalizeOuPath,
  normalizeRef,
  normalizeSipUri,
  parseListEdit,
  refCovered,
  type Subject,
  subjectMatches,
} from '../../src/core/principals.js';

/** The normalized value, or `${code} ${message} [${field}]` of the refusal. */
const outcome = (fn: () => unknown): string => {
  try {
    return String(fn());
  } catch (e) {
    assert.ok(e instanceof PchatError, `threw ${String(e)}`);
    return `${e.code} ${e.message} [${e.field}]`;
  }
};
const notPrincipal = (input: string) =>
  `INVALID_VALUE who: "${input}" is not a principal (sip:user@domain, group:name, ou:Path/To/Unit or domain:example.com) [who]`;
const notSip = (input: string, field = 'who') =>
  `INVALID_VALUE ${field}: "${input}" is not a SIP URI such as sip:alice@contoso.com [${field}]`;

describe('normalizeRef: accepted spellings and what they become', () => {
  const cases: [string, string][] = [
    ['sip:alice@contoso.com', 'sip:alice@contoso.com'],
    ['SIP:Alice@Contoso.COM', 'sip:alice@contoso.com'],
    ['  sip:alice@contoso.com  ', 'sip:alice@contoso.com'],
    ['Alice@Contoso.com', 'sip:alice@contoso.com'],
    ["sip:o'neil+chat@contoso.com", "sip:o'neil+chat@contoso.com"],
    ['sip:admin@localhost', 'sip:admin@localhost'],
    ['sip:admin@x', 'sip:admin@x'],
    ['sip:alice@contoso.com.', 'sip:alice@contoso.com.'],
    ['  group:Devs ', 'group:devs'],
    ['Group:Release Team', 'group:release team'],
    ['ou: Contoso / Engineering /', 'ou:Contoso/Engineering'],
    ['OU:Contoso//Eng', 'ou:Contoso/Eng'],
    [`ou:${'a'.repeat(128)}`, `ou:${'a'.repeat(128)}`],
    ['domain: Contoso.COM ', 'domain:contoso.com'],
    ['domain:eu.x.contoso.com', 'domain:eu.x.contoso.com'],
    ['domain:a.b', 'domain:a.b'],
    ['DOMAIN:fabrikam-corp.com', 'domain:fabrikam-corp.com'],
  ];
  for (const [input, want] of cases)
    test(JSON.stringify(input), () =>
      assert.equal(
        outcome(() => normalizeRef(input, 'who')),
        want,
      ),
    );
});

describe('normalizeRef: refusals say what was expected', () => {
  const cases: [string, string][] = [
    ['devs', notPrincipal('devs')],
    ['groupx', notPrincipal('groupx')],
    ['sipx', notPrincipal('sipx')],
    [':devs', notPrincipal(':devs')],
    ['room:lobby', notPrincipal('room:lobby')],
    ['sip:alice', notSip('sip:alice')],
    ['sip:alice@contoso.com;transport=tls', notSip('sip:alice@contoso.com;transport=tls')],
    ['sip:alice@contoso.com>', notSip('sip:alice@contoso.com>')],
    ['x sip:alice@contoso.com', notSip('x sip:alice@contoso.com')],
    ['group:-devs', 'INVALID_VALUE who: "-devs" is not a valid group name [who]'],
    ['group:', 'INVALID_VALUE who: "" is not a valid group name [who]'],
    ['ou:/', 'INVALID_VALUE who: "/" is not an OU path such as Contoso/Engineering [who]'],
    [
      'ou:Contoso/Eng,Sales',
      'INVALID_VALUE who: "Contoso/Eng,Sales" is not an OU path such as Contoso/Engineering [who]',
    ],
    ['ou:Contoso/a:b/Eng', 'INVALID_VALUE who: "Contoso/a:b/Eng" is not an OU path such as Contoso/Engineering [who]'],
    [
      `ou:Contoso/${'a'.repeat(129)}`,
      `INVALID_VALUE who: "Contoso/${'a'.repeat(129)}" is not an OU path such as Contoso/Engineering [who]`,
    ],
    [
      'domain:-contoso.com',
      'INVALID_VALUE who: "domain:-contoso.com" is not a domain reference such as domain:contoso.com [who]',
    ],
    [
      'domain:contoso..com',
      'INVALID_VALUE who: "domain:contoso..com" is not a domain reference such as domain:contoso.com [who]',
    ],
  ];
  for (const [input, want] of cases)
    test(JSON.stringify(input), () =>
      assert.equal(
        outcome(() => normalizeRef(input, 'who')),
        want,
      ),
    );
});

describe('the normalizers name their own field when none is given', () => {
  const cases: [string, () => unknown, string][] = [
    ['a SIP URI', () => normalizeSipUri('nobody'), notSip('nobody', 'uri')],
    ['a SIP URI, accepted', () => normalizeSipUri(' Bob@Contoso.com '), 'sip:bob@contoso.com'],
    [
      'an OU path',
      () => normalizeOuPath(''),
      'INVALID_VALUE ou: "" is not an OU path such as Contoso/Engineering [ou]',
    ],
    ['a group name', () => normalizeGroupName('!'), 'INVALID_VALUE group: "!" is not a valid group name [group]'],
  ];
  for (const [what, fn, want] of cases) test(what, () => assert.equal(outcome(fn), want));
});

describe('parseListEdit refuses a list that mixes modifiers and plain entries', () => {
  test('the message says which forms exist', () => {
    assert.equal(
      outcome(() => parseListEdit('+sip:a@contoso.com,sip:b@contoso.com', 'members')),
      'INVALID_VALUE members: use either +add/-remove entries or a plain list, not both [members]',
    );
  });
});

describe('subjectMatches: which entries stand for a user', () => {
  const alice: Subject = {
    uri: 'sip:alice@contoso.com',
    domain: 'contoso.com',
    ou: 'Contoso/Eng',
    groups: new Set(['devs']),
    isAdmin: false,
    chatEnabled: true,
  };
  const noOu: Subject = { ...alice, ou: null };
  const cases: [string, Subject, string, boolean][] = [
    ['the user', alice, 'sip:alice@contoso.com', true],
    ['another user of the same domain', alice, 'sip:ab@contoso.com', false],
    ['a group the user is in', alice, 'group:devs', true],
    ['a group the user is not in', alice, 'group:ops', false],
    ['the user’s OU', alice, 'ou:Contoso/Eng', true],
    ['an ancestor OU', alice, 'ou:Contoso', true],
    ['another OU', alice, 'ou:Fabrikam', false],
    ['a sibling OU sharing a prefix', alice, 'ou:Contoso/En', false],
    ['an OU entry, for a user in no OU', noOu, 'ou:Contoso', false],
    ['the user’s domain', alice, 'domain:contoso.com', true],
    ['another domain', alice, 'domain:fabrikam.com', false],
  ];
  for (const [what, s, ref, want] of cases)
    test(`${what}: ${want}`, () => assert.equal(subjectMatches(s, [ref]), want));
});

describe('refCovered: only group entries cover a group by nesting', () => {
  // group devs is inside group staff
  const ancestors = (name: string) => new Set(name === 'devs' ? ['staff'] : []);
  const cases: [string, string[], boolean][] = [
    ['the enclosing group', ['group:staff'], true],
    ['an OU whose name ends like the enclosing group', ['ou:nonstaff'], false],
    ['an unrelated group', ['group:ops'], false],
  ];
  for (const [what, refs, want] of cases) {
    test(`${what}: ${want}`, () =>
      assert.equal(
        refCovered('group:devs', refs, () => undefined, ancestors),
        want,
      ));
  }
});
