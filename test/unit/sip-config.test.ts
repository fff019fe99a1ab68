// The SIP door's sign-in settings (sip.auth, sip.targetName, sip.selfSignedTls), the per-scheme secrets a
// password gets, and the self-signed certificate made with the real openssl.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { loadConfig } from '../../src/config/config.js';
import { PchatError } from '../../src/core/errors.js';
import { makeCredential, parseCredential, schemesFor, verifyPassword } from '../../src/directory/passwords.js';
import { ntHash } from '../../src/transports/sip/md4.js';
import { ensureSelfSignedCertificate } from '../../src/transports/sip/self-signed.js';

const noFile = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  loadConfig({ dataDir: '/nonexistent-pchat-dir', ...flags }, env);

describe('sip.auth and friends', () => {
  test('defaults: both schemes, no target name, no self-signed TLS', () => {
    const c = noFile({});
    assert.equal(c.sip.auth, 'both');
    assert.equal(c.sip.targetName, undefined);
    assert.equal(c.sip.selfSignedTls, false);
  });
  test('environment and flags set them; a bad value names the setting', () => {
    const c = noFile(
      {},
      { PCHAT_SIP_AUTH: 'ntlm', PCHAT_SIP_TARGET_NAME: 'pchat.contoso.com', PCHAT_SIP_SELF_SIGNED_TLS: '1' },
    );
    assert.equal(c.sip.auth, 'ntlm');
    assert.equal(c.sip.targetName, 'pchat.contoso.com');
    assert.equal(c.sip.selfSignedTls, true);
    assert.equal(noFile({ sip: { auth: 'digest' } }, { PCHAT_SIP_AUTH: 'ntlm' }).sip.auth, 'digest');
    assert.throws(
      () => noFile({}, { PCHAT_SIP_AUTH: 'kerberos' }),
      (e: unknown) => e instanceof PchatError && e.code === 'INVALID_VALUE' && /^sip\.auth/.test(e.message),
    );
  });
  test('schemesFor maps sip.auth to the secrets a password gets', () => {
    assert.deepEqual(schemesFor('both'), { digest: true, ntlm: true });
    assert.deepEqual(schemesFor('ntlm'), { digest: false, ntlm: true });
    assert.deepEqual(schemesFor('digest'), { digest: true, ntlm: false });
  });
  test('makeCredential keeps the NT hash and HA1 only for the schemes on; the scrypt sign-in works either way', async () => {
    const both = parseCredential(await makeCredential('sip:a@x.com', 'password-1', 'pchat'));
    assert.equal(both?.nt, ntHash('password-1').toString('hex'));
    assert.match(both?.ha1 ?? '', /^[0-9a-f]{32}$/);
    const ntOnly = await makeCredential('sip:a@x.com', 'password-1', 'pchat', schemesFor('ntlm'));
    assert.equal(parseCredential(ntOnly)?.ha1, undefined);
    assert.ok(await verifyPassword(ntOnly, 'password-1'));
    const digestOnly = await makeCredential('sip:a@x.com', 'password-1', 'pchat', schemesFor('digest'));
    assert.equal(parseCredential(digestOnly)?.nt, undefined);
    assert.ok(await verifyPassword(digestOnly, 'password-1'));
    // a stored value with a broken NT hash is not a credential
    assert.equal(parseCredential(JSON.stringify({ scrypt: 'a$b', realm: 'r', nt: 'zz' })), undefined);
  });
});

describe('self-signed certificate (openssl)', () => {
  test('made once for the pool FQDN, localhost and 127.0.0.1; loadable by node:tls; reused later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pchat-cert-'));
    try {
      const first = await ensureSelfSignedCertificate(join(dir, 'tls'), ['pchat.contoso.com', 'contoso.com']);
      assert.equal(first.created, true);
      const cert = new X509Certificate(readFileSync(first.cert));
      assert.match(cert.subject, /CN=pchat\.contoso\.com/);
      assert.match(cert.subjectAltName ?? '', /DNS:pchat\.contoso\.com/);
      assert.match(cert.subjectAltName ?? '', /DNS:contoso\.com/);
      assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      assert.ok(tls.createSecureContext({ cert: readFileSync(first.cert), key: readFileSync(first.key) }));
      const again = await ensureSelfSignedCertificate(join(dir, 'tls'), ['other.example']);
      assert.deepEqual(again, { ...first, created: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('names that are not host names are left out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pchat-cert-'));
    try {
      const made = await ensureSelfSignedCertificate(dir, ['bad name/../x', 'ok.example']);
      const cert = new X509Certificate(readFileSync(made.cert));
      assert.match(cert.subject, /CN=ok\.example/);
      assert.doesNotMatch(cert.subjectAltName ?? '', /bad/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
