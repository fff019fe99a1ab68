// SIP over TLS: the listener starts only when a certificate and key are configured, and speaks the same SIP.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOMAIN, PASSWORD, SipClient, type SipFixture, startSipFixture } from '../support/sip-client.js';

function selfSigned(dir: string): { cert: string; key: string } | undefined {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${DOMAIN}`,
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return { cert, key };
  } catch {
    return undefined;
  }
}

describe('SIP over TLS', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'pchat-sip-tls-'));
  const pair = selfSigned(certDir);
  let fx: SipFixture | undefined;

  before(async () => {
    if (pair) fx = await startSipFixture({}, { tlsCert: pair.cert, tlsKey: pair.key, tlsPort: 0 });
  });
  after(async () => {
    await fx?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('registers with Digest and opens the chat dialog over TLS', {
    skip: pair ? false : 'openssl not found',
  }, async () => {
    assert.ok(fx);
    const tlsPort = fx.server.tlsPort;
    assert.ok(tlsPort && tlsPort !== fx.server.port, 'a TLS port is bound next to the TCP one');
    const c = await SipClient.connectTls(tlsPort, `sip:alice@${DOMAIN}`, PASSWORD);
    try {
      assert.equal((await c.register()).status, 200);
      const { response, dialog } = await c.invite(fx.server.chatServerUri);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('contact') ?? '', /transport=tls>$/);
      assert.ok(dialog);
      assert.match(await c.command(dialog, 'requri'), /rpl:requri/);
    } finally {
      c.close();
    }
  });

  test('without a certificate there is no TLS listener', async () => {
    const plain = await startSipFixture();
    try {
      assert.equal(plain.server.tlsPort, undefined);
    } finally {
      await plain.close();
    }
  });
});
