// The SIP registrar: REGISTER → 407 Digest challenge → check against the user's stored HA1 → 200 with the
// headers SIPE needs to start group chat. A successful REGISTER binds the user to the connection; every later
// request on that connection is trusted as that user (SIPE never sends credentials again, xccos-sip.md §2.2).
import type { ChatService } from '../../chat/chat-service.js';
import { normalizeSipUri } from '../../core/principals.js';
import { parseCredential } from '../../directory/passwords.js';
import { type Logger, silentLogger } from '../../observability/log.js';
import { createResponse, type SipRequest, type SipResponse } from './codec.js';
import { createDigestAuth, type DigestAuth } from './digest.js';
import type { SipConnection } from './transport.js';
import { addressOfRecord, getTag, parseNameAddr } from './uri.js';

/** What the server knows about one connection. The registrar writes `user`; everything else reads it. */
export interface ConnectionState {
  readonly conn: SipConnection;
  /** The address of record (`sip:alice@contoso.com`) bound by a successful REGISTER; undefined before. */
  user: string | undefined;
  /** When the current registration lapses (ms since epoch); informational, the connection is what counts. */
  registeredUntil: number;
  /** Failed Digest answers on this connection (wrong password, unknown user). */
  authFailures: number;
}

export function newConnectionState(conn: SipConnection): ConnectionState {
  return { conn, user: undefined, registeredUntil: 0, authFailures: 0 };
}

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

  constructor(opts: RegistrarOptions) {
    this.chat = opts.chat;
    this.digest = createDigestAuth({ realm: opts.realm, secret: opts.digestSecret });
    this.maxExpires = opts.maxExpires ?? DEFAULT_EXPIRES;
    this.maxAuthFailures = opts.maxAuthFailures ?? 5;
    this.log = opts.log ?? silentLogger;
  }

  get realm(): string {
    return this.digest.realm;
  }

  /** Answers one REGISTER. Updates `state` on success or unregistration. Rejects only when the store fails. */
  async handle(req: SipRequest, state: ConnectionState): Promise<RegisterOutcome> {
    const toTag = getTag(req.headers.get('to')) ? undefined : tagFor(req);
    const aor = addressOfRecord(req.headers.get('to') ?? '') ?? addressOfRecord(req.headers.get('from') ?? '');
    if (!aor) {
      return { kind: 'rejected', response: createResponse(req, 400, { reason: 'No address of record', toTag }) };
    }
    const expires = requestedExpires(req);
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

    // A refresh on a connection that already proved this identity: trust the connection.
    if (state.user === aor && authHeader === undefined) return this.ok(req, state, aor, granted, toTag);
    if (authHeader === undefined) return this.challenge(req, toTag, false);
    if (this.chat.loginLocked(aor)) return this.refuse(req, state, toTag, 'Too many failed sign-ins; try again later');

    const result = await this.digest.verifyDigest(authHeader, req.method, (username, realm) =>
      this.ha1For(username, realm),
    );
    if (!result.ok) {
      switch (result.reason) {
        case 'stale-nonce':
          return this.challenge(req, toTag, true);
        case 'wrong-password':
        case 'unknown-user':
          this.chat.noteLogin(aor, false);
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
    this.chat.noteLogin(user, true);
    return this.ok(req, state, user, granted, toTag);
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

  private challenge(req: SipRequest, toTag: string | undefined, stale: boolean): RegisterOutcome {
    return {
      kind: 'rejected',
      response: createResponse(req, 407, {
        toTag,
        headers: [['Proxy-Authenticate', this.digest.challenge({ stale })]],
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
