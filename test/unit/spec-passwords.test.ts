// Specification of password credentials (src/directory/passwords.ts): what a stored credential holds for which
// legacy SIP schemes (the Digest HA1, the NT hash), the minimum length, which stored texts are credentials at all,
// and verification, which costs one scrypt derivation whether or not there is a credential to check against
// (so timing does not tell which users exist). Real scrypt, in few calls.
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import {
  ALL_SCHEMES,
  type CredentialSchemes,
  digestUserName,
  MIN_PASSWORD_LENGTH,
  makeCredential,
  md5,
  parseCredential,
  schemesFor,
  scryptCount,
  verifyPassword,
} from '../../src/directory/passwords.js';

const ALICE = 'sip:alice@contoso.com';
const PASSWORD = 'correct horse';
// md5("alice@contoso.com:pchat:correct horse"), computed outside pchat (md5sum)
const ALICE_HA1 = '23e4a2097258331af011599f4e68b393';
// The NT hash of "password" (MD4 of its UTF-16LE form), the classic published test value
const NT_OF_PASSWORD = '8846f7eaee8fb117ad06bdd830b7586c';

/** The scrypt derivations `fn` ran, and its result. */
async function work<T>(fn: () => Promise<T>): Promise<{ result: T; runs: number }> {
  const before = scryptCount();
  const result = await fn();
  return { result, runs: scryptCount() - before };
}

/** A stored credential text with the given scrypt field (salt$hash, base64). */
const storedWith = (scrypt: string) => JSON.stringify({ scrypt, realm: 'pchat' });
const b64 = (b: Buffer) => b.toString('base64');

describe('md5', () => {
  const rows: [string, string][] = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['alice@contoso.com:pchat:correct horse', ALICE_HA1],
  ];
  for (const [input, want] of rows)
    test(`md5("${input}") is ${want} (lower-case hex)`, () => assert.equal(md5(input), want));
});

describe('digestUserName: the Digest user name is the URI without its sip: scheme', () => {
  const rows: [string, string][] = [
    ['sip:alice@contoso.com', 'alice@contoso.com'],
    ['alice@contoso.com', 'alice@contoso.com'],
    ['sip:sip.admin@sip.contoso.com', 'sip.admin@sip.contoso.com'],
  ];
  for (const [uri, want] of rows) test(`${uri} → ${want}`, () => assert.equal(digestUserName(uri), want));
});

describe('schemesFor: the schemes sip.auth turns on', () => {
  const rows: ['ntlm' | 'digest' | 'both', CredentialSchemes][] = [
    ['ntlm', { digest: false, ntlm: true }],
    ['digest', { digest: true, ntlm: false }],
    ['both', { digest: true, ntlm: true }],
  ];
  for (const [auth, want] of rows)
    test(`sip.auth ${auth} → ${JSON.stringify(want)}`, () => assert.deepEqual(schemesFor(auth), want));
  test('ALL_SCHEMES is both', () => assert.deepEqual(ALL_SCHEMES, { digest: true, ntlm: true }));
});

describe('makeCredential', () => {
  const rows: { schemes: CredentialSchemes | undefined; ha1: boolean; nt: boolean; why: string }[] = [
    { schemes: undefined, ha1: true, nt: true, why: 'by default both schemes' },
    { schemes: { digest: true, ntlm: false }, ha1: true, nt: false, why: 'Digest only: no NT hash is kept' },
    { schemes: { digest: false, ntlm: true }, ha1: false, nt: true, why: 'NTLM only: no HA1 is kept' },
    { schemes: { digest: false, ntlm: false }, ha1: false, nt: false, why: 'neither: only the scrypt hash' },
  ];
  for (const r of rows) {
    test(`the secrets kept for ${JSON.stringify(r.schemes ?? 'default')}: ${r.why}; HA1 is md5 of user:realm:password, the user without sip:`, async () => {
      const text = await makeCredential(ALICE, 'password', 'contoso.com', r.schemes);
      const c = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(c).sort(),
        ['scrypt', 'realm', ...(r.ha1 ? ['ha1'] : []), ...(r.nt ? ['nt'] : [])].sort(),
      );
      assert.equal(c.realm, 'contoso.com');
      // HA1 = md5("alice@contoso.com:contoso.com:password"): the user part without sip: (md5sum's value)
      if (r.ha1) assert.equal(c.ha1, 'ca123953bc180b7cae8b88a02089ae1d');
      if (r.nt) assert.equal(c.nt, NT_OF_PASSWORD);
      assert.deepEqual(parseCredential(text), c, 'what makeCredential writes, parseCredential reads back');
    });
  }

  test('the scrypt field is a fresh 16-byte salt and scrypt(password, salt, 32), base64, joined by $', async () => {
    const { result: text, runs } = await work(() => makeCredential(ALICE, PASSWORD, 'pchat'));
    assert.equal(runs, 1, 'one scrypt derivation per credential made');
    const [salt, hash, ...rest] = (parseCredential(text)?.scrypt ?? '').split('$');
    assert.deepEqual(rest, []);
    const saltBytes = Buffer.from(salt ?? '', 'base64');
    assert.equal(saltBytes.length, 16);
    assert.equal(hash, b64(scryptSync(PASSWORD, saltBytes, 32)));
    const again = parseCredential(await makeCredential(ALICE, PASSWORD, 'pchat'));
    assert.notEqual(again?.scrypt.split('$')[0], salt, 'the same password again gets another salt');
  });

  test(`a password shorter than ${MIN_PASSWORD_LENGTH} characters is refused with INVALID_VALUE naming the field, before any scrypt work`, async () => {
    assert.equal(MIN_PASSWORD_LENGTH, 8);
    for (const short of ['', 'a', '1234567']) {
      const before = scryptCount();
      await assert.rejects(makeCredential(ALICE, short, 'pchat'), (e: unknown) => {
        assert.ok(e instanceof PchatError);
        assert.equal(e.code, 'INVALID_VALUE');
        assert.equal(e.field, 'password');
        assert.equal(e.message, 'password: must be at least 8 characters');
        return true;
      });
      assert.equal(scryptCount(), before, `${JSON.stringify(short)}: no derivation`);
    }
  });
});

describe('parseCredential', () => {
  const GOOD = { scrypt: 'c2FsdA==$aGFzaA==', realm: 'pchat' };
  const NT = '0123456789abcdef0123456789abcdef';
  const rows: { stored: string | undefined; want: object | undefined; why: string }[] = [
    { stored: undefined, want: undefined, why: 'no credential' },
    { stored: '', want: undefined, why: 'empty text' },
    { stored: 'not json', want: undefined, why: 'not JSON' },
    { stored: '{"scrypt":', want: undefined, why: 'truncated JSON' },
    { stored: 'null', want: undefined, why: 'JSON null' },
    { stored: '42', want: undefined, why: 'a number' },
    { stored: '"a$b"', want: undefined, why: 'a string' },
    { stored: '[]', want: undefined, why: 'an array' },
    { stored: '{}', want: undefined, why: 'no scrypt field' },
    { stored: '{"scrypt":5}', want: undefined, why: 'a scrypt field that is not text' },
    { stored: JSON.stringify(GOOD), want: GOOD, why: 'scrypt only' },
    { stored: JSON.stringify({ ...GOOD, ha1: ALICE_HA1 }), want: { ...GOOD, ha1: ALICE_HA1 }, why: 'with an HA1' },
    { stored: JSON.stringify({ ...GOOD, ha1: 5 }), want: undefined, why: 'an HA1 that is not text' },
    { stored: JSON.stringify({ ...GOOD, ha1: null }), want: undefined, why: 'a null HA1' },
    { stored: JSON.stringify({ ...GOOD, nt: NT }), want: { ...GOOD, nt: NT }, why: 'with an NT hash' },
    {
      stored: JSON.stringify({ ...GOOD, ha1: ALICE_HA1, nt: NT }),
      want: { ...GOOD, ha1: ALICE_HA1, nt: NT },
      why: 'with both',
    },
    { stored: JSON.stringify({ ...GOOD, nt: 7 }), want: undefined, why: 'an NT hash that is not text' },
    { stored: JSON.stringify({ ...GOOD, nt: NT.toUpperCase() }), want: undefined, why: 'an NT hash in upper case' },
    { stored: JSON.stringify({ ...GOOD, nt: NT.slice(1) }), want: undefined, why: 'an NT hash of 31 digits' },
    { stored: JSON.stringify({ ...GOOD, nt: `${NT}0` }), want: undefined, why: 'an NT hash of 33 digits' },
    { stored: JSON.stringify({ ...GOOD, nt: `x${NT}` }), want: undefined, why: 'an NT hash after junk' },
    { stored: JSON.stringify({ ...GOOD, nt: `${NT}x` }), want: undefined, why: 'an NT hash before junk' },
    { stored: JSON.stringify({ ...GOOD, nt: `${NT.slice(2)}zz` }), want: undefined, why: 'an NT hash with non-hex' },
  ];
  for (const r of rows) {
    test(`${r.why} → ${r.want ? 'the credential' : 'undefined'}`, () =>
      assert.deepEqual(parseCredential(r.stored), r.want));
  }
});

describe('verifyPassword', () => {
  let stored: string;
  before(async () => {
    stored = await makeCredential(ALICE, PASSWORD, 'pchat');
  });
  test('the right password: true, after one scrypt derivation', async () => {
    assert.deepEqual(await work(() => verifyPassword(stored, PASSWORD)), { result: true, runs: 1 });
  });

  test('a wrong password: false, after one scrypt derivation', async () => {
    assert.deepEqual(await work(() => verifyPassword(stored, 'correct horse!')), { result: false, runs: 1 });
    assert.deepEqual(await work(() => verifyPassword(stored, 'Correct horse')), { result: false, runs: 1 });
  });

  // No credential, or none that can be checked: the same one derivation (against a dummy), then false.
  const salt = Buffer.alloc(16, 7);
  const rows: { stored: () => string | undefined; password?: unknown; why: string }[] = [
    { stored: () => undefined, why: 'no credential (unknown user, or a user without a password)' },
    { stored: () => undefined, password: undefined, why: 'no credential and no password text at all' },
    { stored: () => 'not json', why: 'a stored text that is not a credential' },
    { stored: () => storedWith('no-dollar'), why: 'a scrypt field without $' },
    { stored: () => storedWith(`${b64(salt)}$`), why: 'a scrypt field without a hash' },
    {
      // a correct derivation, but unsalted: a credential must have a salt
      stored: () => storedWith(`$${b64(scryptSync(PASSWORD, Buffer.alloc(0), 32))}`),
      why: 'a scrypt field without a salt',
    },
    {
      // the first byte of the right derivation: a short hash would match one password in 256
      stored: () => storedWith(`${b64(salt)}$${b64(scryptSync(PASSWORD, salt, 32).subarray(0, 1))}`),
      why: 'a hash shorter than 32 bytes, even one that is a prefix of the right one',
    },
    {
      stored: () => storedWith(`${b64(salt)}$${b64(scryptSync(PASSWORD, salt, 64))}`),
      why: 'a hash longer than 32 bytes',
    },
  ];
  for (const r of rows) {
    test(`${r.why}: false, after one scrypt derivation`, async () => {
      const password = ('password' in r ? r.password : PASSWORD) as string;
      assert.deepEqual(await work(() => verifyPassword(r.stored(), password)), { result: false, runs: 1 });
    });
  }
});
