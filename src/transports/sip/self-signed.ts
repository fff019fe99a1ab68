// A self-signed certificate for a first try of the SIP door over TLS (`sip.selfSignedTls`). Node has no X.509
// generator, so this runs the `openssl` command that Debian and most systems ship (no npm dependency, nothing
// downloaded). The files are made once in <dataDir>/tls and reused; a real deployment configures
// sip.tlsCert / sip.tlsKey with a certificate its clients trust (docs/legacy-clients.md).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../../core/errors.js';

export interface SelfSigned {
  cert: string;
  key: string;
  /** True when the files were made now (false: reused from an earlier start). */
  created: boolean;
}

/** The certificate's names: the pool FQDN first (the subject), plus localhost and 127.0.0.1 for local tests. */
export async function ensureSelfSignedCertificate(dir: string, names: string[]): Promise<SelfSigned> {
  const cert = join(dir, 'sip-selfsigned.crt');
  const key = join(dir, 'sip-selfsigned.key');
  if (existsSync(cert) && existsSync(key)) return { cert, key, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dns = [...new Set(names.map((n) => n.toLowerCase()).filter((n) => /^[a-z0-9.-]+$/.test(n)))];
  const cn = dns[0] ?? 'localhost';
  const san = [...dns.map((n) => `DNS:${n}`), 'DNS:localhost', 'IP:127.0.0.1'].join(',');
  const args = [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '825',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    `/CN=${cn}/O=pchat self-signed`,
    '-addext',
    `subjectAltName=${san}`,
  ];
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const child = spawn('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) =>
      reject(
        invalid(
          'sip.selfSignedTls',
          `cannot run openssl (${e.message}); install openssl or set sip.tlsCert and sip.tlsKey`,
        ),
      ),
    );
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(invalid('sip.selfSignedTls', `openssl failed (${code}): ${err.trim().slice(-400)}`)),
    );
  });
  return { cert, key, created: true };
}
