import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeDigestResponse,
  computeHa1,
  createDigestAuth,
  md5Hex,
  parseDigestParams,
} from '../../src/transports/sip/digest.js';

const REALM = 'pchat';
const USER = 'alice@example.com';
const PASSWORD = 'secret';

function clientAuth(
  challenge: string,
  opts: { password?: string; uri?: string; method?: string; user?: string; realm?: string } = {},
): string {
  const p = parseDigestParams(challenge);
  assert.ok(p);
  const nonce = p.get('nonce') ?? '';
  const realm = opts.realm ?? p.get('realm') ?? '';
  const uri = opts.uri ?? '(null)';
  const user = opts.user ?? USER;
  const response = computeDigestResponse({
    ha1: computeHa1(user, realm, opts.password ?? PASSWORD),
    method: opts.method ?? 'REGISTER',
    uri,
    nonce,
    nc: '00000001',
    cnonce: 'c0ffee',
    qop: 'auth',
  });
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="c0ffee", response="${response}"`;
}

const getHa1 = async (username: string, realm: string): Promise<string | undefined> =>
  username === USER ? computeHa1(username, realm, PASSWORD) : undefined;

describe('digest helpers', () => {
  it('computes the RFC 2617 example response', () => {
    // RFC 2617 §3.5: Mufasa / Circle Of Life, testrealm@host.com.
    const ha1 = computeHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const response = computeDigestResponse({
      ha1,
      method: 'GET',
      uri: '/dir/index.html',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      nc: '00000001',
      cnonce: '0a4f113b',
      qop: 'auth',
    });
    assert.equal(response, '6629fae49393a05397450978507c4ef1');
    assert.equal(md5Hex(''), 'd41d8cd98f00b204e9800998ecf8427e');
  });

  it('parses quoted, escaped and bare parameters', () => {
    const p = parseDigestParams('Digest username="a\\"b", realm="r", nc=00000001, qop=auth');
    assert.deepEqual(p && [...p], [
      ['username', 'a"b'],
      ['realm', 'r'],
      ['nc', '00000001'],
      ['qop', 'auth'],
    ]);
    assert.equal(parseDigestParams('Basic abc'), undefined);
    assert.equal(parseDigestParams('Digest username="unterminated'), undefined);
    assert.equal(parseDigestParams('Digest a=1, a=2'), undefined);
  });
});

describe('createDigestAuth', () => {
  let clock = 1_700_000_000_000;
  const auth = createDigestAuth({ realm: REALM, secret: 'k'.repeat(32), now: () => clock, nonceTtlMs: 60_000 });

  it('issues a qop=auth MD5 challenge', () => {
    const c = auth.challenge();
    assert.match(c, /^Digest realm="pchat", nonce="[A-Za-z0-9_-]+", qop="auth", algorithm=MD5$/);
    assert.match(auth.challenge({ stale: true }), /, stale=true$/);
    assert.notEqual(parseDigestParams(c)?.get('nonce'), parseDigestParams(auth.challenge())?.get('nonce'));
  });

  it('accepts SIPE\'s answer with uri="(null)"', async () => {
    const r = await auth.verifyDigest(clientAuth(auth.challenge()), 'REGISTER', getHa1);
    assert.deepEqual(r, { ok: true, username: USER, realm: REALM });
  });

  it('accepts a normal uri too, and a lower-case method', async () => {
    const header = clientAuth(auth.challenge(), { uri: 'sip:example.com' });
    assert.equal((await auth.verifyDigest(header, 'register', getHa1)).ok, true);
  });

  const failures: { name: string; header: () => string; method?: string; reason: string }[] = [
    {
      name: 'wrong password',
      header: () => clientAuth(auth.challenge(), { password: 'nope' }),
      reason: 'wrong-password',
    },
    {
      name: 'unknown user',
      header: () => clientAuth(auth.challenge(), { user: 'mallory@example.com' }),
      reason: 'unknown-user',
    },
    {
      name: 'other method than signed',
      header: () => clientAuth(auth.challenge()),
      method: 'INVITE',
      reason: 'wrong-password',
    },
    { name: 'other realm', header: () => clientAuth(auth.challenge(), { realm: 'evil' }), reason: 'realm-mismatch' },
    {
      name: 'forged nonce',
      header: () => clientAuth(auth.challenge()).replace(/nonce="[^"]+"/, `nonce="${'A'.repeat(43)}"`),
      reason: 'bad-nonce',
    },
    { name: 'not digest', header: () => 'Basic YWxpY2U6c2VjcmV0', reason: 'malformed' },
    {
      name: 'missing response',
      header: () => clientAuth(auth.challenge()).replace(/, response="[^"]+"/, ''),
      reason: 'malformed',
    },
    {
      name: 'qop auth-int',
      header: () => clientAuth(auth.challenge()).replace('qop=auth', 'qop=auth-int'),
      reason: 'unsupported',
    },
    {
      name: 'no qop (RFC 2069)',
      header: () => clientAuth(auth.challenge()).replace('qop=auth, ', ''),
      reason: 'unsupported',
    },
    {
      name: 'SHA-256 algorithm',
      header: () => `${clientAuth(auth.challenge())}, algorithm=SHA-256`,
      reason: 'unsupported',
    },
    { name: 'empty', header: () => '', reason: 'malformed' },
  ];
  for (const f of failures) {
    it(`rejects: ${f.name}`, async () => {
      const r = await auth.verifyDigest(f.header(), f.method ?? 'REGISTER', getHa1);
      assert.deepEqual(r, { ok: false, reason: f.reason });
    });
  }

  it('reports an expired nonce as stale', async () => {
    const header = clientAuth(auth.challenge());
    clock += 61_000;
    assert.deepEqual(await auth.verifyDigest(header, 'REGISTER', getHa1), { ok: false, reason: 'stale-nonce' });
    clock -= 61_000;
    assert.equal((await auth.verifyDigest(header, 'REGISTER', getHa1)).ok, true);
  });

  it('does not accept nonces from a server with another secret', async () => {
    const other = createDigestAuth({ realm: REALM, secret: 'x'.repeat(32), now: () => clock });
    const r = await auth.verifyDigest(clientAuth(other.challenge()), 'REGISTER', getHa1);
    assert.deepEqual(r, { ok: false, reason: 'bad-nonce' });
  });

  it('propagates a failing HA1 lookup (store down) instead of calling it a wrong password', async () => {
    await assert.rejects(
      auth.verifyDigest(clientAuth(auth.challenge()), 'REGISTER', async () => {
        throw new Error('store down');
      }),
      /store down/,
    );
  });
});
