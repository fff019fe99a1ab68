// [MS-SIPAE] NTLM on SIP: the `WWW-Authenticate: NTLM …` challenges, the gssapi-data handshake of
// connectionless NTLM, and the per-message signatures once it completes. After the handshake every message in
// either direction is signed: the client puts `crand`, `cnum` and `response` in its Authorization header, the
// server puts `rspauth`, `srand` and `snum` in Authentication-Info. The signed text is a fixed list of header
// fields, each in angle brackets (the "message breakdown"); it is built here exactly the way SIPE and the
// Lync-era clients build it, because both sides must produce the same bytes.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SipMessage } from './codec.js';
import { parseCSeq } from './codec.js';
import {
  type AuthenticateMessage,
  buildChallenge,
  type ChallengeOptions,
  checkAuthenticateFlags,
  mac,
  NtlmError,
  parseAuthenticate,
  type SessionKeys,
  verifyAuthenticate,
} from './ntlm.js';

/** The realm every [MS-SIPAE] challenge names. */
export const NTLM_REALM = 'SIP Communications Service';
/** The authentication protocol version offered (4: the REGISTER carrying the AUTHENTICATE is signed too). */
export const SIPAE_VERSION = 4;
/** Connectionless NTLM signs every SIP message with this sequence number ([MS-SIPAE], and SIPE). */
export const SIPAE_SEQ_NUM = 100;

// ---------------------------------------------------------------------------------------------
// Authorization / WWW-Authenticate values

export interface AuthValue {
  /** `NTLM`, `Kerberos`, `TLS-DSK`, `Digest`… as sent. */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Map<string, string>;
}

/**
 * Parses `NTLM qop="auth", realm="…", gssapi-data="…", version=4`. Returns undefined when the value is not a
 * scheme followed by name=value pairs (duplicate names included). Never throws.
 */
export function parseAuthValue(value: string | undefined): AuthValue | undefined {
  if (value === undefined || value.length > 16 * 1024) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9._-]*)(?:\s+|$)/.exec(value);
  if (!m) return undefined;
  const scheme = m[1] as string;
  const s = value.slice(m[0].length);
  const params = new Map<string, string>();
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === ',' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    const name = /^([A-Za-z0-9_-]+)\s*=\s*/.exec(s.slice(i));
    if (!name) return undefined;
    i += name[0].length;
    let v = '';
    if (s[i] === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) return undefined;
      v = s.slice(i + 1, end);
      i = end + 1;
    } else {
      const tok = /^[^\s,]*/.exec(s.slice(i));
      v = tok ? tok[0] : '';
      i += v.length;
    }
    const key = (name[1] as string).toLowerCase();
    if (params.has(key)) return undefined;
    params.set(key, v);
  }
  return { scheme, params };
}

function q(s: string): string {
  return s.replace(/["\\\r\n]/g, '');
}

/** The first challenge: `NTLM realm="SIP Communications Service", targetname="…", version=4`. */
export function ntlmOffer(targetName: string): string {
  return `NTLM realm="${NTLM_REALM}", targetname="${q(targetName)}", version=${SIPAE_VERSION}`;
}

// ---------------------------------------------------------------------------------------------
// The message breakdown (signed text)

/** SIPE's sipmsg_find_part_of_header: the text after `before` up to `after` (or to the end). */
function partOf(hdr: string | undefined, before: string | undefined, after: string | undefined): string {
  if (hdr === undefined) return '';
  let start = 0;
  if (before !== undefined) {
    const at = hdr.indexOf(before);
    if (at < 0) return '';
    start = at + before.length;
  }
  if (after !== undefined) {
    const end = hdr.indexOf(after, start);
    if (end >= 0) return hdr.slice(start, end);
  }
  return hdr.slice(start);
}

function assertedIdentity(msg: SipMessage): { sip: string; tel: string } {
  const out = { sip: '', tel: '' };
  const value = msg.headers.get('p-asserted-identity') ?? msg.headers.get('p-preferred-identity');
  if (value === undefined) return out;
  for (const part of value.split(',')) {
    const uri = part.includes('<') ? partOf(part, '<', '>') : part.trim();
    const lower = uri.toLowerCase();
    if (lower.startsWith('sip:') && !out.sip) out.sip = uri;
    else if (lower.startsWith('tel:') && !out.tel) out.tel = uri;
  }
  return out;
}

export interface SignatureParams {
  scheme: string;
  /** crand (client) or srand (server): 8 hex digits. */
  rand: string;
  /** cnum (client) or snum (server). */
  num: string;
  realm: string;
  targetName: string;
  /** Authentication protocol version; below 3 the To URI and asserted identities are left out. */
  version: number;
}

/**
 * `<scheme><rand><num><realm><targetname><call-id><cseq-number><method><from-uri><from-tag><to-uri><to-tag>
 * <p-asserted-identity sip><p-asserted-identity tel><expires>` plus `<status>` for a response.
 */
export function signatureInput(msg: SipMessage, p: SignatureParams): string {
  const h = msg.headers;
  const from = h.get('from');
  const to = h.get('to');
  const cseqHeader = h.get('cseq');
  const method = msg.kind === 'request' ? msg.method : (parseCSeq(cseqHeader)?.method ?? '');
  const fields = [
    p.scheme,
    p.rand,
    p.num,
    p.realm,
    p.targetName,
    h.get('call-id') ?? '',
    cseqHeader === undefined ? '' : partOf(cseqHeader, undefined, ' '),
    method,
    partOf(from, '<', '>'),
    partOf(from, ';tag=', ';'),
  ];
  if (p.version >= 3) {
    const pai = assertedIdentity(msg);
    fields.push(partOf(to, '<', '>'), partOf(to, ';tag=', ';'), pai.sip, pai.tel);
  } else {
    fields.push(partOf(to, ';tag=', ';'));
  }
  fields.push(h.get('expires') ?? '');
  let out = fields.map((f) => `<${f}>`).join('');
  if (msg.kind === 'response') out += `<${msg.status}>`;
  return out;
}

// ---------------------------------------------------------------------------------------------
// A completed security association: signs what the server sends, checks what the client sends

export type SignatureFailure = 'missing' | 'malformed' | 'wrong-association' | 'replayed' | 'bad-signature';

export class NtlmSecurityAssociation {
  private highestCnum = 0;
  private snum = 0;

  constructor(
    readonly keys: SessionKeys,
    readonly opaque: string,
    readonly targetName: string,
    readonly version: number,
    /** The NTLM user and domain the client authenticated as. */
    readonly ntlmUser: string,
    readonly ntlmDomain: string,
  ) {}

  /** The signature the server would expect from the client for `input` (hex, upper case). */
  clientSignature(input: string): string {
    return mac(
      this.keys.flags,
      this.keys.clientSignKey,
      this.keys.clientSealKey,
      SIPAE_SEQ_NUM,
      Buffer.from(input, 'utf8'),
    )
      .toString('hex')
      .toUpperCase();
  }

  serverSignature(input: string): string {
    return mac(
      this.keys.flags,
      this.keys.serverSignKey,
      this.keys.serverSealKey,
      SIPAE_SEQ_NUM,
      Buffer.from(input, 'utf8'),
    )
      .toString('hex')
      .toUpperCase();
  }

  /**
   * Checks the client's signature on an incoming message (in Authorization or Proxy-Authorization) and that
   * its cnum was not seen before. A passing message moves the replay window.
   */
  verify(msg: SipMessage): { ok: true } | { ok: false; reason: SignatureFailure } {
    const raw = msg.headers.get('authorization') ?? msg.headers.get('proxy-authorization');
    if (raw === undefined) return { ok: false, reason: 'missing' };
    const auth = parseAuthValue(raw);
    if (auth?.scheme.toUpperCase() !== 'NTLM') return { ok: false, reason: 'malformed' };
    const crand = auth.params.get('crand');
    const cnum = auth.params.get('cnum');
    const response = auth.params.get('response');
    if (crand === undefined || cnum === undefined || response === undefined) return { ok: false, reason: 'missing' };
    if (!/^[0-9A-Fa-f]{1,16}$/.test(crand) || !/^\d{1,10}$/.test(cnum) || !/^[0-9A-Fa-f]{32}$/.test(response)) {
      return { ok: false, reason: 'malformed' };
    }
    const opaque = auth.params.get('opaque');
    if (opaque !== undefined && opaque !== this.opaque) return { ok: false, reason: 'wrong-association' };
    const input = signatureInput(msg, {
      scheme: auth.scheme,
      rand: crand,
      num: cnum,
      realm: auth.params.get('realm') ?? NTLM_REALM,
      targetName: auth.params.get('targetname') ?? this.targetName,
      version: this.version,
    });
    const expected = Buffer.from(this.clientSignature(input), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(response, 'hex'))) return { ok: false, reason: 'bad-signature' };
    const n = Number(cnum);
    if (n <= this.highestCnum) return { ok: false, reason: 'replayed' };
    this.highestCnum = n;
    return { ok: true };
  }

  /** Adds `Authentication-Info: NTLM rspauth=…` to a message the server is about to send. */
  sign(msg: SipMessage): void {
    this.snum++;
    const srand = randomBytes(4).toString('hex').toUpperCase();
    const input = signatureInput(msg, {
      scheme: 'NTLM',
      rand: srand,
      num: String(this.snum),
      realm: NTLM_REALM,
      targetName: this.targetName,
      version: this.version,
    });
    msg.headers.set(
      'Authentication-Info',
      `NTLM rspauth="${this.serverSignature(input)}", srand="${srand}", snum="${this.snum}", opaque="${this.opaque}", qop="auth", targetname="${q(this.targetName)}", realm="${NTLM_REALM}"`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The handshake

export interface NtlmAuthenticatorOptions {
  /** `targetname` of the challenges: the pool's FQDN. */
  targetName: string;
  /** Names for the CHALLENGE's target information. */
  names: Omit<ChallengeOptions, 'serverChallenge' | 'flags'>;
  /** How long a challenge can be answered. Default 2 minutes. */
  challengeTtlMs?: number;
  now?: () => number;
}

interface PendingChallenge {
  serverChallenge: Buffer;
  message: Buffer;
  issued: number;
  version: number;
}

export type NtlmStep =
  /** Send a 401 with this WWW-Authenticate value. */
  | { kind: 'challenge'; header: string }
  /** The AUTHENTICATE decoded: look up the user's NT hash, then call `complete`. */
  | { kind: 'authenticate'; message: AuthenticateMessage; pending: PendingChallenge; opaque: string; auth: AuthValue }
  | { kind: 'failed'; reason: 'malformed' | 'unsupported' | 'anonymous' | 'unknown-opaque' };

/** Whether a gssapi-data token is an NTLMSSP NEGOTIATE_MESSAGE (type 1). */
function isNegotiateMessage(data: string): boolean {
  if (data.length > 1024 || !/^[A-Za-z0-9+/=]+$/.test(data)) return false;
  const b = Buffer.from(data, 'base64');
  return b.length >= 12 && b.subarray(0, 8).toString('latin1') === 'NTLMSSP\0' && b.readUInt32LE(8) === 1;
}

/** Per-connection handshake state: a few outstanding challenges, keyed by opaque. */
export class NtlmHandshakes {
  private readonly pending = new Map<string, PendingChallenge>();
  private static readonly MAX_PENDING = 4;

  constructor(private readonly opts: NtlmAuthenticatorOptions) {}

  get targetName(): string {
    return this.opts.targetName;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** First 401 (no credentials yet). */
  offer(): string {
    return ntlmOffer(this.opts.targetName);
  }

  /** Handles an `Authorization: NTLM …` value on a REGISTER. */
  step(auth: AuthValue): NtlmStep {
    const data = auth.params.get('gssapi-data');
    if (data === undefined) return { kind: 'challenge', header: this.offer() };
    const version = Number(auth.params.get('version') ?? '2');
    const v = Number.isFinite(version) ? version : 2;
    if (data === '' || isNegotiateMessage(data)) {
      // Connectionless NTLM starts with an empty token; a client that sends a NEGOTIATE_MESSAGE anyway gets the
      // same CHALLENGE (its flags are not needed: the server's are what the AUTHENTICATE must satisfy).
      return { kind: 'challenge', header: this.newChallenge(v) };
    }
    const opaque = auth.params.get('opaque') ?? '';
    const pending = this.pending.get(opaque);
    if (!pending || this.now() - pending.issued > (this.opts.challengeTtlMs ?? 120_000)) {
      this.pending.delete(opaque);
      return { kind: 'failed', reason: 'unknown-opaque' };
    }
    if (!/^[A-Za-z0-9+/=]{1,5600}$/.test(data)) return { kind: 'failed', reason: 'malformed' };
    let message: AuthenticateMessage;
    try {
      message = parseAuthenticate(Buffer.from(data, 'base64'));
      checkAuthenticateFlags(message);
    } catch (e) {
      if (e instanceof NtlmError) {
        return {
          kind: 'failed',
          reason: e.reason === 'anonymous' || e.reason === 'unsupported' ? e.reason : 'malformed',
        };
      }
      throw e;
    }
    // A challenge is answered once.
    this.pending.delete(opaque);
    return { kind: 'authenticate', message, pending, opaque, auth };
  }

  /**
   * Verifies the AUTHENTICATE against the user's NT hash and returns the new association, or the failure.
   * `now` for the NTLMv2 timestamp check defaults to the clock.
   */
  complete(
    step: Extract<NtlmStep, { kind: 'authenticate' }>,
    ntHash: Buffer,
  ): { ok: true; association: NtlmSecurityAssociation } | { ok: false; reason: 'wrong-password' | 'stale' } {
    let keys: SessionKeys;
    try {
      keys = verifyAuthenticate(step.message, {
        ntHash,
        serverChallenge: step.pending.serverChallenge,
        now: this.now(),
      });
    } catch (e) {
      if (e instanceof NtlmError) return { ok: false, reason: e.reason === 'stale' ? 'stale' : 'wrong-password' };
      throw e;
    }
    return {
      ok: true,
      association: new NtlmSecurityAssociation(
        keys,
        step.opaque,
        this.opts.targetName,
        step.pending.version,
        step.message.user,
        step.message.domain,
      ),
    };
  }

  private newChallenge(version: number): string {
    const { message, serverChallenge } = buildChallenge(this.opts.names);
    const opaque = randomBytes(4).toString('hex').toUpperCase();
    if (this.pending.size >= NtlmHandshakes.MAX_PENDING) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    const v = Math.min(Math.max(Math.trunc(version), 2), SIPAE_VERSION);
    this.pending.set(opaque, { serverChallenge, message, issued: this.now(), version: v });
    return `NTLM opaque="${opaque}", gssapi-data="${message.toString('base64')}", targetname="${q(this.opts.targetName)}", realm="${NTLM_REALM}", version=${v}`;
  }
}
