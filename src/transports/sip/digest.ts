// SIP Digest authentication (RFC 2617/3261, MD5, qop=auth): stateless HMAC nonces and response checks.
// SIPE answers a 407 with Proxy-Authorization and uri="(null)", so HA2 uses the uri parameter exactly as received.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Returns HA1 = md5(username:realm:password) in lower-case hex, or undefined for an unknown user. */
export type Ha1Lookup = (username: string, realm: string) => Promise<string | undefined>;

export type DigestFailure =
  | 'malformed' // not a Digest header, or a required parameter is missing
  | 'unsupported' // algorithm other than MD5, or qop other than auth
  | 'realm-mismatch'
  | 'bad-nonce' // not one of ours (HMAC fails)
  | 'stale-nonce' // ours but expired: re-challenge with stale=true, no new password prompt
  | 'unknown-user'
  | 'wrong-password';

export type DigestResult = { ok: true; username: string; realm: string } | { ok: false; reason: DigestFailure };

export interface DigestOptions {
  realm: string;
  /** Key for the nonce HMAC; at least 16 random bytes, the same on every server of a pool. */
  secret: Buffer | string;
  /** How long a nonce is accepted. Default 5 minutes. */
  nonceTtlMs?: number;
  now?: () => number;
}

export interface DigestAuth {
  readonly realm: string;
  /** The value for `Proxy-Authenticate` / `WWW-Authenticate`: `Digest realm="…", nonce="…", qop="auth", algorithm=MD5`. */
  challenge(opts?: { stale?: boolean }): string;
  /** Checks an `Authorization` / `Proxy-Authorization` value for a request with this method. Never rejects on bad input; rejects only when getHa1 does. */
  verifyDigest(authHeader: string | undefined, method: string, getHa1: Ha1Lookup): Promise<DigestResult>;
}

export function md5Hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}

/** HA1 = md5(username:realm:password), username exactly as the client sends it (SIPE: `alice@example.com`). */
export function computeHa1(username: string, realm: string, password: string): string {
  return md5Hex(`${username}:${realm}:${password}`);
}

/** The `response` value a client computes for qop=auth. */
export function computeDigestResponse(p: {
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: string;
}): string {
  const ha2 = md5Hex(`${p.method}:${p.uri}`);
  return md5Hex(`${p.ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
}

/** Parses `Digest a="x", b=y` into lower-cased names; undefined when it is not a well-formed Digest value. */
export function parseDigestParams(header: string): Map<string, string> | undefined {
  const m = /^\s*Digest\s+/i.exec(header);
  if (!m) return undefined;
  const s = header.slice(m[0].length);
  const out = new Map<string, string>();
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i] as string)) i++;
    if (i >= s.length) break;
    const name = /^([A-Za-z0-9_-]+)\s*=\s*/.exec(s.slice(i));
    if (!name) return undefined;
    i += name[0].length;
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const ch = s[i] as string;
        if (ch === '\\' && i + 1 < s.length) {
          value += s[i + 1];
          i += 2;
        } else if (ch === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += ch;
          i++;
        }
      }
      if (!closed) return undefined;
    } else {
      const token = /^[^\s,]*/.exec(s.slice(i));
      value = token ? token[0] : '';
      i += value.length;
    }
    const key = (name[1] as string).toLowerCase();
    if (out.has(key)) return undefined;
    out.set(key, value);
  }
  return out;
}

const DEFAULT_TTL_MS = 5 * 60 * 1000;
const NONCE_BYTES = 8 + 8 + 16; // timestamp, random, truncated HMAC

export function createDigestAuth(opts: DigestOptions): DigestAuth {
  const ttl = opts.nonceTtlMs ?? DEFAULT_TTL_MS;
  const now = opts.now ?? Date.now;
  const realm = opts.realm;

  const mac = (payload: Buffer): Buffer => createHmac('sha256', opts.secret).update(payload).digest().subarray(0, 16);

  const makeNonce = (): string => {
    const payload = Buffer.alloc(16);
    payload.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now()))), 0);
    randomBytes(8).copy(payload, 8);
    return Buffer.concat([payload, mac(payload)]).toString('base64url');
  };

  const checkNonce = (nonce: string): 'ok' | 'bad-nonce' | 'stale-nonce' => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(nonce)) return 'bad-nonce';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES) return 'bad-nonce';
    const payload = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), mac(payload))) return 'bad-nonce';
    const issued = Number(payload.readBigUInt64BE(0));
    const age = now() - issued;
    if (age < -60_000 || age > ttl) return 'stale-nonce';
    return 'ok';
  };

  return {
    realm,
    challenge({ stale = false } = {}) {
      const staleParam = stale ? ', stale=true' : '';
      return `Digest realm="${quote(realm)}", nonce="${makeNonce()}", qop="auth", algorithm=MD5${staleParam}`;
    },
    async verifyDigest(authHeader, method, getHa1) {
      if (!authHeader) return { ok: false, reason: 'malformed' };
      const p = parseDigestParams(authHeader);
      if (!p) return { ok: false, reason: 'malformed' };
      const username = p.get('username');
      const clientRealm = p.get('realm');
      const nonce = p.get('nonce');
      const uri = p.get('uri');
      const response = p.get('response');
      const qop = p.get('qop');
      const nc = p.get('nc');
      const cnonce = p.get('cnonce');
      if (!username || clientRealm === undefined || !nonce || uri === undefined || !response) {
        return { ok: false, reason: 'malformed' };
      }
      const algorithm = p.get('algorithm');
      if (algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') return { ok: false, reason: 'unsupported' };
      if (qop === undefined || qop.toLowerCase() !== 'auth') return { ok: false, reason: 'unsupported' };
      if (!nc || !/^[0-9a-fA-F]{8}$/.test(nc) || !cnonce) return { ok: false, reason: 'malformed' };
      if (clientRealm !== realm) return { ok: false, reason: 'realm-mismatch' };
      const nonceState = checkNonce(nonce);
      if (nonceState !== 'ok') return { ok: false, reason: nonceState };
      if (!/^[0-9a-fA-F]{32}$/.test(response)) return { ok: false, reason: 'wrong-password' };
      // A failing lookup (store down) rejects: that is not the client's fault and must not read as a wrong password.
      const ha1 = await getHa1(username, realm);
      if (!ha1) return { ok: false, reason: 'unknown-user' };
      const expected = computeDigestResponse({
        ha1: ha1.toLowerCase(),
        method: method.toUpperCase(),
        uri,
        nonce,
        nc,
        cnonce,
        qop: 'auth',
      });
      const same = timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(response.toLowerCase(), 'hex'));
      return same ? { ok: true, username, realm } : { ok: false, reason: 'wrong-password' };
    },
  };
}

function quote(s: string): string {
  return s.replace(/[\r\n]/g, ' ').replace(/(["\\])/g, '\\$1');
}
