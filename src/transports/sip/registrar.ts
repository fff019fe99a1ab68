// The SIP registrar: REGISTER → challenge → check → 200 with the headers SIPE needs to start group chat.
// Two schemes, chosen by `sip.auth`:
// - Digest (407 Proxy-Authenticate, or a WWW-Authenticate beside NTLM), checked against the stored HA1. A
//   successful REGISTER binds the user to the connection and later requests on it are trusted (SIPE never
//   sends Digest credentials again, xccos-sip.md §2.2).
// - NTLM ([MS-SIPAE], 401 WWW-Authenticate): connectionless NTLMv2 in gssapi-data, checked against the stored
//   NT hash. Success leaves a security association on the connection: from then on every message in both
//   directions is signed, and the server refuses what is not (sip-server.ts).
import type { ChatService } from '../../chat/chat-service.js';
import { normalizeSipUri } from '../../core/principals.js';
import { parseCredential } from '../../directory/passwords.js';
import { type Logger, silentLogger } from '../../observability/log.js';
import { createResponse, type SipRequest, type SipResponse } from './codec.js';
import { createDigestAuth, type DigestAuth } from './digest.js';
import type { ChallengeOptions } from './ntlm.js';
import { NtlmHandshakes, type NtlmSecurityAssociation, type NtlmStep, parseAuthValue } from './sipae.js';
import type { SipConnection } from './transport.js';
import { addressOfRecord, getTag, parseNameAddr } from './uri.js';

/** What the server knows about one connection. The registrar writes `user`; everything else reads it. */
export interface ConnectionState {
  readonly conn: SipConnection;
  /** The address of record (`sip:alice@contoso.com`) bound by a successful REGISTER; undefined before. */
  user: string | undefined;
  /** When the current registration lapses (ms since epoch); informational, the connection is what counts. */
  registeredUntil: number;
  /** Failed answers on this connection (wrong password, unknown user). */
  authFailures: number;
  /** The NTLM security association once an NTLM sign-in completed: every message is then signed. */
  ntlm: NtlmSecurityAssociation | undefined;
  /** Outstanding NTLM challenges of this connection (created on first use). */
  ntlmHandshakes: NtlmHandshakes | undefined;
}

export function newConnectionState(conn: SipConnection): ConnectionState {
  return { conn, user: undefined, registeredUntil: 0, authFailures: 0, ntlm: undefined, ntlmHandshakes: undefined };
}

export type SipAuthSchemes = 'ntlm' | 'digest' | 'both';

/**
 * Does the user's policy enable persistent chat? Reads the chat service's directory, refreshing it once when
 * the user is not in it yet (created a moment ago by the CLI or another server).
 */
export async function chatEnabled(chat: ChatService, user: string): Promise<boolean> {
  if (!chat.model.directory.resolveUser(user)) await chat.model.poll();
  return chat.model.directory.resolveUser(user)?.chatEnabled ?? false;
}

export interface RegistrarOptions {
  chat: ChatService;
  /** The Digest realm; a stored credential must have been made for this realm. */
  realm: string;
  /** HMAC key for nonces (the same on every server of a pool if nonces must survive a reconnect elsewhere). */
  digestSecret: Buffer | string;
  /** Longest registration granted, seconds. Default 3600. */
  maxExpires?: number;
  /** Wrong answers on one connection before it is closed. Default 5. */
  maxAuthFailures?: number;
  /** Schemes offered (`sip.auth`). Default both. */
  auth?: SipAuthSchemes;
  /** NTLM `targetname` and the names of the NTLM challenge. */
  ntlm?: { targetName: string; names: Omit<ChallengeOptions, 'serverChallenge' | 'flags'> };
  log?: Logger;
}

export type RegisterOutcome =
  | { kind: 'registered'; response: SipResponse; user: string }
  | { kind: 'unregistered'; response: SipResponse }
  /** A challenge or a refusal; `close` when the connection should be dropped after sending. */
  | { kind: 'rejected'; response: SipResponse; close?: boolean };

const DEFAULT_EXPIRES = 3600;
const MIN_EXPIRES = 60;

/** Headers SIPE reads from the 200 to REGISTER (xccos-sip.md §2.1). */
const REGISTER_OK_HEADERS: [string, string][] = [
  ['Supported', 'msrtc-event-categories'],
  ['Allow-Events', 'vnd-microsoft-provisioning-v2'],
  ['ms-keep-alive', 'UAS; tcp=no; hop-hop=yes; end-point=no; timeout=300'],
];

export class Registrar {
  private readonly digest: DigestAuth;
  private readonly chat: ChatService;
  private readonly maxExpires: number;
  private readonly maxAuthFailures: number;
  private readonly log: Logger;
  private readonly digestOn: boolean;
  private readonly ntlmOn: boolean;
  private readonly ntlmOpts: NonNullable<RegistrarOptions['ntlm']>;

  constructor(opts: RegistrarOptions) {
    this.chat = opts.chat;
    this.digest = createDigestAuth({ realm: opts.realm, secret: opts.digestSecret });
    this.maxExpires = opts.maxExpires ?? DEFAULT_EXPIRES;
    this.maxAuthFailures = opts.maxAuthFailures ?? 5;
    this.log = opts.log ?? silentLogger;
    const auth = opts.auth ?? 'both';
    this.digestOn = auth !== 'ntlm';
    this.ntlmOn = auth !== 'digest';
    this.ntlmOpts = opts.ntlm ?? {
      targetName: 'pchat',
      names: { netbiosDomain: 'PCHAT', netbiosComputer: 'PCHAT', dnsDomain: 'pchat', dnsComputer: 'pchat' },
    };
  }

  get realm(): string {
    return this.digest.realm;
  }

  /**
   * Answers one REGISTER. Updates `state` on success or unregistration. Rejects only when the store fails.
   * `signed`: the request carried a valid signature of the connection's NTLM association (sip-server.ts checks).
   */
  async handle(req: SipRequest, state: ConnectionState, signed = false): Promise<RegisterOutcome> {
    const toTag = getTag(req.headers.get('to')) ? undefined : tagFor(req);
    const aor = addressOfRecord(req.headers.get('to') ?? '') ?? addressOfRecord(req.headers.get('from') ?? '');
    if (!aor) {
      return { kind: 'rejected', response: createResponse(req, 400, { reason: 'No address of record', toTag }) };
    }
    const expires = requestedExpires(req);
    // After an NTLM sign-in only a signed REGISTER may end the registration.
    if (expires === 0 && state.ntlm !== undefined && !signed) {
      return this.refuse(req, state, toTag, 'Message signature missing or invalid');
    }
    if (expires === 0) {
      if (state.user === aor) {
        state.user = undefined;
        state.registeredUntil = 0;
      }
      return {
        kind: 'unregistered',
        response: createResponse(req, 200, { toTag, headers: [['Expires', '0'], ...REGISTER_OK_HEADERS] }),
      };
    }
    const granted = Math.min(Math.max(expires ?? DEFAULT_EXPIRES, MIN_EXPIRES), this.maxExpires);
    const authHeader = req.headers.get('proxy-authorization') ?? req.headers.get('authorization');
    const auth = parseAuthValue(authHeader);
    const scheme = auth?.scheme.toUpperCase();

    // A refresh on a connection that already proved this identity: trust the connection (Digest), or the
    // message signature (NTLM: a REGISTER with neither starts a new NTLM sign-in, as SIPE re-authenticates).
    if (state.user === aor && state.ntlm === undefined && authHeader === undefined) {
      return this.ok(req, state, aor, granted, toTag);
    }
    if (state.user === aor && signed && auth?.params.get('gssapi-data') === undefined) {
      return this.ok(req, state, aor, granted, toTag);
    }
    if (authHeader === undefined) return this.challenge(req, toTag, false);
    if (auth && scheme === 'NTLM' && this.ntlmOn) return this.ntlmStep(req, state, toTag, aor, granted, auth);
    if (scheme !== 'DIGEST' || !this.digestOn) return this.challenge(req, toTag, false);
    const source = state.conn.remoteAddress;
    if (!(await this.chat.mayTry(aor, source)))
      return this.refuse(req, state, toTag, 'Too many failed sign-ins; try again later');

    const result = await this.digest.verifyDigest(authHeader, req.method, (username, realm) =>
      this.ha1For(username, realm),
    );
    if (!result.ok) {
      switch (result.reason) {
        case 'stale-nonce':
          return this.challenge(req, toTag, true);
        case 'wrong-password':
        case 'unknown-user':
          await this.chat.noteLogin(aor, false, source);
          return this.refuse(req, state, toTag, 'Wrong user name or password');
        default:
          // malformed, unsupported, bad-nonce, realm-mismatch: a fresh challenge lets the client try again.
          return this.challenge(req, toTag, false);
      }
    }
    let user: string;
    try {
      user = normalizeSipUri(result.username);
    } catch {
      return this.refuse(req, state, toTag, 'Wrong user name or password');
    }
    if (user !== aor) return this.refuse(req, state, toTag, 'Credentials do not match the address of record');
    // Read the user from the store, not the cached directory: a user added a moment ago must be able to sign in.
    const stored = await this.chat.store.users.get(user);
    if (!stored || stored.disabled) return this.refuse(req, state, toTag, 'User disabled');
    await this.chat.noteLogin(user, true, source);
    // A Digest sign-in on a connection that had NTLM ends the association.
    state.ntlm = undefined;
    return this.ok(req, state, user, granted, toTag);
  }

  /** One step of the NTLM handshake: the CHALLENGE, or the check of the AUTHENTICATE. */
  private async ntlmStep(
    req: SipRequest,
    state: ConnectionState,
    toTag: string | undefined,
    aor: string,
    expires: number,
    auth: NonNullable<ReturnType<typeof parseAuthValue>>,
  ): Promise<RegisterOutcome> {
    state.ntlmHandshakes ??= new NtlmHandshakes(this.ntlmOpts);
    const step: NtlmStep = state.ntlmHandshakes.step(auth);
    if (step.kind === 'challenge') return this.unauthorized(req, toTag, [step.header]);
    // From here the client holds new keys: a refusal must not be signed with the old ones (SIPE would report a
    // bad signature instead of the reason), and a failed re-authentication ends the registration.
    const refuse = (reason: string): RegisterOutcome => {
      state.ntlm = undefined;
      state.user = undefined;
      return this.refuse(req, state, toTag, reason);
    };
    if (step.kind === 'failed') {
      // An unknown or expired opaque: start over. Anything else the client sent is unusable.
      if (step.reason === 'unknown-opaque') return this.challenge(req, toTag, false);
      return refuse(`NTLM sign-in refused (${step.reason})`);
    }
    // The NTLM user name is `alice@contoso.com` (SIPE, UPN) or `alice` with domain `CONTOSO` (down-level).
    const user = ntlmUserUri(step.message.user, aor);
    if (!user || user !== aor) {
      return refuse('Credentials do not match the address of record');
    }
    const source = state.conn.remoteAddress;
    if (!(await this.chat.mayTry(aor, source))) return refuse('Too many failed sign-ins; try again later');
    const cred = parseCredential(await this.chat.store.users.getPasswordHash(user));
    const stored = await this.chat.store.users.get(user);
    if (!cred?.nt || !stored) {
      await this.chat.noteLogin(aor, false, source);
      return refuse('Wrong user name or password');
    }
    const done = state.ntlmHandshakes.complete(step, Buffer.from(cred.nt, 'hex'));
    if (!done.ok) {
      if (done.reason === 'wrong-password') await this.chat.noteLogin(aor, false, source);
      return refuse(done.reason === 'stale' ? 'Clock too far from the server' : 'Wrong user name or password');
    }
    // Protocol version 4 signs the REGISTER that carries the AUTHENTICATE: check that too.
    const sa = done.association;
    if (auth.params.has('response')) {
      const check = sa.verify(req);
      if (!check.ok) return refuse('Invalid message signature');
    }
    if (stored.disabled) return refuse('User disabled');
    await this.chat.noteLogin(user, true, source);
    state.ntlm = sa;
    this.log.info('sip ntlm sign-in', { user, conn: state.conn.id, ntlmUser: sa.ntlmUser, ntlmDomain: sa.ntlmDomain });
    return this.ok(req, state, user, expires, toTag);
  }

  private async ha1For(username: string, realm: string): Promise<string | undefined> {
    let uri: string;
    try {
      uri = normalizeSipUri(username);
    } catch {
      return undefined;
    }
    const cred = parseCredential(await this.chat.store.users.getPasswordHash(uri));
    // A credential hashed for another realm cannot be checked: the user must set the password again.
    if (!cred || cred.realm !== realm) return undefined;
    return cred.ha1;
  }

  private ok(
    req: SipRequest,
    state: ConnectionState,
    user: string,
    expires: number,
    toTag: string | undefined,
  ): RegisterOutcome {
    if (state.user !== user) this.log.info('sip registered', { user, conn: state.conn.id });
    state.user = user;
    state.registeredUntil = Date.now() + expires * 1000;
    state.authFailures = 0;
    const headers: [string, string][] = [];
    for (const contact of req.headers.getList('contact')) {
      const addr = parseNameAddr(contact);
      if (addr) headers.push(['Contact', `<${addr.uri}>;expires=${expires}`]);
    }
    headers.push(['Expires', String(expires)], ...REGISTER_OK_HEADERS);
    return { kind: 'registered', user, response: createResponse(req, 200, { toTag, headers }) };
  }

  /**
   * The first challenge. Digest only: 407 Proxy-Authenticate, as SIPE answers Digest. NTLM on: 401 with
   * `WWW-Authenticate: NTLM …` ([MS-SIPAE]) and, when Digest is on too, a second `WWW-Authenticate: Digest …`.
   */
  private challenge(req: SipRequest, toTag: string | undefined, stale: boolean): RegisterOutcome {
    if (!this.ntlmOn) {
      return {
        kind: 'rejected',
        response: createResponse(req, 407, {
          toTag,
          headers: [['Proxy-Authenticate', this.digest.challenge({ stale })]],
        }),
      };
    }
    const values = [new NtlmHandshakes(this.ntlmOpts).offer()];
    if (this.digestOn) values.push(this.digest.challenge({ stale }));
    return this.unauthorized(req, toTag, values);
  }

  private unauthorized(req: SipRequest, toTag: string | undefined, values: string[]): RegisterOutcome {
    return {
      kind: 'rejected',
      response: createResponse(req, 401, {
        toTag,
        headers: values.map((v) => ['WWW-Authenticate', v] as [string, string]),
      }),
    };
  }

  private refuse(req: SipRequest, state: ConnectionState, toTag: string | undefined, reason: string): RegisterOutcome {
    state.authFailures++;
    this.log.info('sip register refused', { reason, conn: state.conn.id, from: req.headers.get('from') });
    return {
      kind: 'rejected',
      // SIPE ignores the reason phrase: it shows "You have been rejected by the server: <Warning text>", and
      // "no reason given" without a Warning (sipmsg_parse_warning: code, one-word agent, quoted text).
      response: createResponse(req, 403, { reason, toTag, headers: [['Warning', `399 pchat "${reason}"`]] }),
      close: state.authFailures >= this.maxAuthFailures,
    };
  }
}

/**
 * The SIP address an NTLM user name stands for: `alice@contoso.com` as is; a bare `alice` (sent with a
 * NetBIOS domain) in the domain of the address of record it registers.
 */
export function ntlmUserUri(ntlmUser: string, aor: string): string | undefined {
  const name = ntlmUser.trim();
  if (!name || /[\\/\s]/.test(name)) return undefined;
  const host = aor.slice(aor.indexOf('@') + 1);
  try {
    return normalizeSipUri(name.includes('@') ? name : `${name}@${host}`);
  } catch {
    return undefined;
  }
}

/** Expires header, else the first Contact's expires parameter; undefined when neither is given. */
function requestedExpires(req: SipRequest): number | undefined {
  const header = req.headers.get('expires');
  if (header !== undefined && /^\s*\d{1,10}\s*$/.test(header)) return Number(header);
  const contact = req.headers.getList('contact')[0];
  const param = contact ? parseNameAddr(contact)?.params.get('expires') : undefined;
  if (param !== undefined && /^\d{1,10}$/.test(param)) return Number(param);
  return undefined;
}

/** A stable To-tag for a non-dialog request, so retransmissions get the same answer. */
function tagFor(req: SipRequest): string {
  const seed = `${req.headers.get('call-id') ?? ''}|${getTag(req.headers.get('from')) ?? ''}`;
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  return `r${(h >>> 0).toString(16)}`;
}
