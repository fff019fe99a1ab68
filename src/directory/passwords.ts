// Password credentials: scrypt for sign-in, plus what the legacy SIP door's schemes need, computed when the
// password is set because the password itself is never kept: the SIP Digest HA1 (MD5 of user:realm:password)
// and the NT hash (MD4 of the UTF-16LE password) that NTLM is keyed on. Each is made only when its scheme is on.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { invalid } from '../core/errors.js';
import { ntHash } from '../transports/sip/md4.js';

const scryptRaw = promisify(scryptCb) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;
let scryptRuns = 0;
const scrypt = (pw: string, salt: Buffer, len: number): Promise<Buffer> => {
  scryptRuns += 1;
  return scryptRaw(pw, salt, len);
};

/** How many scrypt derivations this process ran (tests compare the work of different sign-ins by it). */
export function scryptCount(): number {
  return scryptRuns;
}

// A credential no password matches, verified in place of a missing one so that a sign-in for an unknown user
// (or one without a password) costs the same scrypt work as a wrong password for a known one: timing does not
// tell which users exist.
const DUMMY_SALT = Buffer.alloc(16, 0x5a);
const DUMMY_HASH = Buffer.alloc(32, 0);

export interface Credential {
  scrypt: string; // base64 salt $ base64 hash
  realm: string;
  /** md5 hex of "<user part without sip:>:<realm>:<password>"; only when Digest is on. */
  ha1?: string;
  /** NT hash (md4 hex of the UTF-16LE password); only when NTLM is on. */
  nt?: string;
}

/** Which legacy SIP schemes get a derived secret. */
export interface CredentialSchemes {
  digest: boolean;
  ntlm: boolean;
}

export const ALL_SCHEMES: CredentialSchemes = { digest: true, ntlm: true };

/** The schemes `sip.auth` turns on. */
export function schemesFor(auth: 'ntlm' | 'digest' | 'both'): CredentialSchemes {
  return { digest: auth !== 'ntlm', ntlm: auth !== 'digest' };
}

export const MIN_PASSWORD_LENGTH = 8;

export function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

/** The Digest user name a SIP client sends: the URI without `sip:` (alice@contoso.com). */
export function digestUserName(uri: string): string {
  return uri.replace(/^sip:/, '');
}

export async function makeCredential(
  uri: string,
  password: string,
  realm: string,
  schemes: CredentialSchemes = ALL_SCHEMES,
): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH) invalidPassword();
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32);
  const c: Credential = { scrypt: `${salt.toString('base64')}$${hash.toString('base64')}`, realm };
  if (schemes.digest) c.ha1 = md5(`${digestUserName(uri)}:${realm}:${password}`);
  if (schemes.ntlm) c.nt = ntHash(password).toString('hex');
  return JSON.stringify(c);
}

function invalidPassword(): never {
  throw invalid('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
}

export function parseCredential(stored: string | undefined): Credential | undefined {
  if (!stored) return undefined;
  try {
    const c = JSON.parse(stored) as Credential;
    if (typeof c !== 'object' || c === null || typeof c.scrypt !== 'string') return undefined;
    if (c.ha1 !== undefined && typeof c.ha1 !== 'string') return undefined;
    if (c.nt !== undefined && (typeof c.nt !== 'string' || !/^[0-9a-f]{32}$/.test(c.nt))) return undefined;
    return c;
  } catch {
    return undefined;
  }
}

/** Checks `password` against a stored credential; without one (or a broken one) does the same work, then false. */
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  const c = parseCredential(stored);
  const [salt, hash] = c ? c.scrypt.split('$') : [];
  const expected = salt && hash ? Buffer.from(hash, 'base64') : undefined;
  if (!expected || expected.length !== DUMMY_HASH.length) {
    await scrypt(typeof password === 'string' ? password : '', DUMMY_SALT, DUMMY_HASH.length);
    return false;
  }
  const actual = await scrypt(password, Buffer.from(salt as string, 'base64'), expected.length);
  return timingSafeEqual(expected, actual);
}
