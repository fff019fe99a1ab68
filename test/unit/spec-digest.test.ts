// Specification of SIP Digest (RFC 2617 / 3261, MD5, qop=auth) as the SIP door relies on it: which headers parse,
// which parameters are required, how nonces age, and that no malformed value can make the check throw.
// Written as tables; each row says one rule.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  computeDigestResponse,
  computeHa1,
  createDigestAuth,
  type DigestFailure,
  type DigestResult,
  parseDigestParams,
} from '../../src/transports/sip/digest.js';

const REALM = 'pchat';
const USER = 'alice@example.com';
const PASSWORD = 'secret';
const getHa1 = async (username: string, realm: string) =>
  username === USER ? computeHa1(username, realm, PASSWORD) : undefined;

describe('parseDigestParams: what is a Digest header', () => {
  const rows: { name: string; header: string; want: [string, string][] | undefined }[] = [
    { name: 'leading white space before the scheme', header: '  Digest a=1', want: [['a', '1']] },
    { name: 'scheme in any case', header: 'dIgEsT a=1', want: [['a', '1']] },
    { name: 'a tab after the scheme', header: 'Digest\ta=1', want: [['a', '1']] },
    { name: 'another word ending in Digest', header: 'NotDigest a=1', want: undefined },
    { name: 'junk before the scheme', header: 'x Digest a=1', want: undefined },
    { name: 'no separator after the scheme', header: 'Digesta=1', want: undefined },
    { name: 'no parameters at all', header: 'Digest ', want: [] },
    {
      name: 'trailing comma and spaces',
      header: 'Digest a=1, b="2",  ',
      want: [
        ['a', '1'],
        ['b', '2'],
      ],
    },
    {
      name: 'spaces around =',
      header: 'Digest a = "x y" ,b =2',
      want: [
        ['a', 'x y'],
        ['b', '2'],
      ],
    },
    {
      name: 'empty bare value',
      header: 'Digest a=, b=2',
      want: [
        ['a', ''],
        ['b', '2'],
      ],
    },
    { name: 'names are lower-cased', header: 'Digest UserName="u"', want: [['username', 'u']] },
    { name: 'escaped backslash and quote', header: 'Digest a="x\\\\y\\"z"', want: [['a', 'x\\y"z']] },
    {
      name: 'a comma inside quotes',
      header: 'Digest a="x,y", b=1',
      want: [
        ['a', 'x,y'],
        ['b', '1'],
      ],
    },
    { name: 'a name with a character outside the token set', header: 'Digest ~a=1', want: undefined },
    { name: 'a quoted string where a name should be', header: 'Digest "x"', want: undefined },
    { name: 'a name without a value', header: 'Digest a', want: undefined },
    { name: 'an unterminated quoted value', header: 'Digest a="x', want: undefined },
    { name: 'an escape as the last character', header: 'Digest a="x\\', want: undefined },
    { name: 'the same name twice, in another case', header: 'Digest a=1, A=2', want: undefined },
  ];
  for (const r of rows) {
    test(`${r.name}: ${JSON.stringify(r.header)}`, () => {
      const p = parseDigestParams(r.header);
      assert.deepEqual(p === undefined ? undefined : [...p], r.want);
    });
  }
});

// ---- verifyDigest -------------------------------------------------------------------------------------------

interface Parts {
  username?: string;
  realm?: string;
  nonce?: string;
  uri?: string;
  response?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  algorithm?: string;
}

/** A client's answer to `challenge`, with `change` applied to its parameters (undefined drops one). */
function answer(challenge: string, change: Partial<Record<keyof Parts, string | undefined>> = {}): string {
  const nonce = parseDigestParams(challenge)?.get('nonce') ?? '';
  const base: Parts = {
    username: USER,
    realm: REALM,
    nonce,
    uri: '(null)',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'c0ffee',
  };
  const p: Parts = { ...base, ...change };
  const response = computeDigestResponse({
    ha1: computeHa1(p.username ?? '', p.realm ?? '', PASSWORD),
    method: 'REGISTER',
    uri: p.uri ?? '',
    nonce: p.nonce ?? '',
    nc: p.nc ?? '',
    cnonce: p.cnonce ?? '',
    qop: 'auth',
  });
  const all: Parts = { ...p, response: 'response' in change ? change.response : response };
  const quoted = new Set(['username', 'realm', 'nonce', 'uri', 'response', 'cnonce']);
  return `Digest ${Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (quoted.has(k) ? `${k}="${v}"` : `${k}=${v}`))
    .join(', ')}`;
}

/** The response a correct client computes for the given nonce (for rows that alter only its spelling). */
function goodResponse(challenge: string): string {
  return parseDigestParams(answer(challenge))?.get('response') as string;
}

describe('verifyDigest: the parameters a request must carry (RFC 2617 §3.2.2, qop=auth)', () => {
  const auth = createDigestAuth({ realm: REALM, secret: 'k'.repeat(32), now: () => 1_700_000_000_000 });
  const ok: DigestResult = { ok: true, username: USER, realm: REALM };
  const fail = (reason: DigestFailure): DigestResult => ({ ok: false, reason });
  const rows: { name: string; header: (c: string) => string; want: DigestResult }[] = [
    { name: 'a correct answer', header: (c) => answer(c), want: ok },
    { name: 'algorithm=MD5 spelled out', header: (c) => answer(c, { algorithm: 'MD5' }), want: ok },
    { name: 'algorithm in lower case', header: (c) => answer(c, { algorithm: 'md5' }), want: ok },
    { name: 'qop in upper case', header: (c) => answer(c, { qop: 'AUTH' }), want: ok },
    {
      name: 'response in upper-case hex',
      header: (c) => answer(c, { response: goodResponse(c).toUpperCase() }),
      want: ok,
    },
    { name: 'no username', header: (c) => answer(c, { username: undefined }), want: fail('malformed') },
    { name: 'an empty username', header: (c) => answer(c, { username: '' }), want: fail('malformed') },
    { name: 'no realm', header: (c) => answer(c, { realm: undefined }), want: fail('malformed') },
    { name: 'no nonce', header: (c) => answer(c, { nonce: undefined }), want: fail('malformed') },
    { name: 'no uri', header: (c) => answer(c, { uri: undefined }), want: fail('malformed') },
    { name: 'an empty uri is a uri', header: (c) => answer(c, { uri: '' }), want: ok },
    { name: 'no response', header: (c) => answer(c, { response: undefined }), want: fail('malformed') },
    { name: 'no nc', header: (c) => answer(c, { nc: undefined }), want: fail('malformed') },
    { name: 'nc of 7 hex digits', header: (c) => answer(c, { nc: '0000001' }), want: fail('malformed') },
    { name: 'nc of 9 hex digits', header: (c) => answer(c, { nc: '000000001' }), want: fail('malformed') },
    { name: 'nc that is not hex', header: (c) => answer(c, { nc: '0000000g' }), want: fail('malformed') },
    { name: 'nc with a leading junk', header: (c) => answer(c, { nc: 'x00000001' }), want: fail('malformed') },
    { name: 'nc with a trailing junk', header: (c) => answer(c, { nc: '00000001x' }), want: fail('malformed') },
    { name: 'no cnonce', header: (c) => answer(c, { cnonce: undefined }), want: fail('malformed') },
    { name: 'algorithm SHA-256', header: (c) => answer(c, { algorithm: 'SHA-256' }), want: fail('unsupported') },
    { name: 'algorithm MD5-sess', header: (c) => answer(c, { algorithm: 'MD5-sess' }), want: fail('unsupported') },
    { name: 'realm of another server', header: (c) => answer(c, { realm: 'other' }), want: fail('realm-mismatch') },
    {
      name: 'a response that is not hex',
      header: (c) => answer(c, { response: 'z'.repeat(32) }),
      want: fail('wrong-password'),
    },
    {
      name: 'a response one digit short',
      header: (c) => answer(c, { response: goodResponse(c).slice(1) }),
      want: fail('wrong-password'),
    },
    {
      name: 'the right response with junk before it',
      header: (c) => answer(c, { response: `x${goodResponse(c)}` }),
      want: fail('wrong-password'),
    },
    {
      name: 'the right response with junk after it',
      header: (c) => answer(c, { response: `${goodResponse(c)}x` }),
      want: fail('wrong-password'),
    },
    {
      name: 'the right response with an extra hex digit',
      header: (c) => answer(c, { response: `${goodResponse(c)}0` }),
      want: fail('wrong-password'),
    },
    { name: 'unknown user', header: (c) => answer(c, { username: 'bob@example.com' }), want: fail('unknown-user') },
  ];
  for (const r of rows) {
    test(`${r.name} → ${r.want.ok ? 'ok' : r.want.reason}`, async () => {
      const got = await auth.verifyDigest(r.header(auth.challenge()), 'REGISTER', getHa1);
      assert.deepEqual(got, r.want);
    });
  }
  test('an undefined header is malformed', async () => {
    assert.deepEqual(await auth.verifyDigest(undefined, 'REGISTER', getHa1), fail('malformed'));
  });
});

describe('verifyDigest: nonces are ours, whole and fresh', () => {
  let clock = 1_700_000_000_000;
  const auth = createDigestAuth({ realm: REALM, secret: 'k'.repeat(32), now: () => clock });
  const withNonce = (c: string, f: (n: string) => string) => {
    const n = parseDigestParams(c)?.get('nonce') as string;
    return answer(c, { nonce: f(n) });
  };
  const rows: { name: string; nonce: (n: string) => string }[] = [
    { name: 'a character outside base64url inside it', nonce: (n) => `${n.slice(0, 20)}!${n.slice(20)}` },
    { name: 'junk before it', nonce: (n) => `!${n}` },
    { name: 'junk after it', nonce: (n) => `${n}.` },
    { name: 'cut short', nonce: (n) => n.slice(0, 20) },
    { name: 'one character short', nonce: (n) => n.slice(0, -1) },
    { name: 'longer than 64 characters', nonce: (n) => `${n}${n}` },
    { name: 'its HMAC altered', nonce: (n) => `${n.slice(0, -2)}${n.at(-2) === 'Q' ? 'g' : 'Q'}${n.at(-1)}` },
  ];
  for (const r of rows) {
    test(`a nonce with ${r.name} → bad-nonce (and no exception)`, async () => {
      const got = await auth.verifyDigest(withNonce(auth.challenge(), r.nonce), 'REGISTER', getHa1);
      assert.deepEqual(got, { ok: false, reason: 'bad-nonce' });
    });
  }

  // Default lifetime five minutes; a minute of clock skew into the future is tolerated.
  const ages: { age: number; want: 'ok' | 'stale-nonce' }[] = [
    { age: 0, want: 'ok' },
    { age: 4 * 60_000, want: 'ok' },
    { age: 5 * 60_000, want: 'ok' },
    { age: 5 * 60_000 + 1, want: 'stale-nonce' },
    { age: 6 * 60_000, want: 'stale-nonce' },
    { age: -60_000, want: 'ok' },
    { age: -60_001, want: 'stale-nonce' },
  ];
  for (const a of ages) {
    test(`a nonce ${a.age} ms old under the default lifetime → ${a.want}`, async () => {
      const issued = 1_700_000_000_000;
      clock = issued;
      const header = answer(auth.challenge());
      clock = issued + a.age;
      const got = await auth.verifyDigest(header, 'REGISTER', getHa1);
      clock = issued;
      assert.deepEqual(
        got,
        a.want === 'ok' ? { ok: true, username: USER, realm: REALM } : { ok: false, reason: a.want },
      );
    });
  }
});

describe('challenge: the realm is written as a safe quoted string', () => {
  const rows: { realm: string; written: string }[] = [
    { realm: 'plain', written: 'plain' },
    { realm: 'with "quotes"', written: 'with \\"quotes\\"' },
    { realm: 'back\\slash', written: 'back\\\\slash' },
    { realm: 'two\r\nlines', written: 'two  lines' },
  ];
  for (const r of rows) {
    test(`realm ${JSON.stringify(r.realm)} → realm="${r.written}"`, () => {
      const c = createDigestAuth({ realm: r.realm, secret: 'k'.repeat(32) }).challenge();
      assert.ok(c.startsWith(`Digest realm="${r.written}", nonce="`), c);
      assert.doesNotMatch(c, /[\r\n]/);
    });
  }
});
