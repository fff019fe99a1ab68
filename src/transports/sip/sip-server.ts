// The SIP front door for legacy clients (SIPE / Pidgin, Lync-era group chat): TCP on config.sip.port, TLS on
// config.sip.tlsPort when a certificate and key are configured. Each connection gets its own state (the user a
// REGISTER bound to it) and its own dialogs; requests are routed to the registrar, provisioning or the dialog
// layer. Closing a connection ends its dialogs and chat sessions, so the user leaves their rooms.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminService } from '../../admin/admin-service.js';
import type { ChatService } from '../../chat/chat-service.js';
import type { UserRateLimiter } from '../../chat/user-rate-limiter.js';
import type { Config } from '../../config/config.js';
import { type Logger, silentLogger } from '../../observability/log.js';
import { createResponse, parseCSeq, type SipLimits, type SipMessage, type SipRequest } from './codec.js';
import { ALLOW, type DialogLimits, DialogManager, serviceAddresses } from './dialogs.js';
import { handleSubscribe } from './provisioning.js';
import { type ConnectionState, chatEnabled, newConnectionState, Registrar } from './registrar.js';
import { ensureSelfSignedCertificate } from './self-signed.js';
import { parseAuthValue } from './sipae.js';
import { type SipConnection, type SipListener, startSipListener } from './transport.js';

export interface SipServerLimits extends DialogLimits {
  /** Open connections per listener. */
  maxConnections: number;
  /** A connection silent this long (not even a CRLF keepalive; SIPE sends one every 300 s) is closed. */
  idleTimeoutMs: number;
  /** Framing limits: a larger header section or body gets 413 and the connection is closed. */
  maxHeaderBytes: number;
  maxBodyBytes: number;
  /** Longest registration granted, seconds. */
  maxRegisterExpires: number;
  /** How often the legacy endpoints are re-read; dialogs to a removed endpoint are then ended. */
  endpointCheckMs: number;
}

export const DEFAULT_SIP_SERVER_LIMITS: Omit<SipServerLimits, keyof DialogLimits> = {
  maxConnections: 10_000,
  idleTimeoutMs: 11 * 60 * 1000,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 256 * 1024,
  maxRegisterExpires: 3600,
  endpointCheckMs: 5000,
};

export interface SipServerOptions {
  config: Config;
  chat: ChatService;
  admin: AdminService;
  log?: Logger;
  /**
   * Key for the Digest nonce HMAC. Default: random per process. That is enough because a nonce is only ever
   * answered on the connection that got it; give every server of a pool the same value if that ever changes.
   */
  digestSecret?: string | Buffer;
  limits?: Partial<SipServerLimits>;
  /** The per-user budget shared by every door. */
  limiter?: UserRateLimiter;
}

export interface SipServer {
  /** The TCP port bound (config.sip.port, or the port picked for 0). */
  readonly port: number;
  /** The TLS port bound, when TLS is configured. */
  readonly tlsPort?: number;
  /** The pool URI SIPE is provisioned with and the chat-server URI cmd:requri returns. */
  readonly poolUri: string;
  readonly chatServerUri: string;
  /** Open connections. */
  connections(): number;
  /** Stops listening and closes every connection (each user leaves their rooms). */
  close(): Promise<void>;
}

/** Starts the SIP listener(s). Resolves once they are bound. */
export async function startSipServer(opts: SipServerOptions): Promise<SipServer> {
  const { config, chat, admin } = opts;
  const log = opts.log ?? silentLogger;
  const limits: Partial<SipServerLimits> = opts.limits ?? {};
  const domain = config.domain.toLowerCase();
  const addresses = serviceAddresses({ poolUser: config.sip.poolUser, domain, admin });
  const targetName = (config.sip.targetName ?? domain).toLowerCase();
  const netbios = (domain.split('.')[0] ?? 'PCHAT').slice(0, 15).toUpperCase() || 'PCHAT';
  const registrar = new Registrar({
    chat,
    realm: config.sip.realm,
    digestSecret: opts.digestSecret ?? randomBytes(32),
    maxExpires: limits.maxRegisterExpires ?? DEFAULT_SIP_SERVER_LIMITS.maxRegisterExpires,
    auth: config.sip.auth,
    ntlm: {
      targetName,
      names: {
        netbiosDomain: netbios,
        netbiosComputer: (targetName.split('.')[0] ?? netbios).slice(0, 15).toUpperCase(),
        dnsDomain: domain,
        dnsComputer: targetName,
      },
    },
    log,
  });
  // SIPE's fallback chat address is ocschat@<domain>: make sure the pool answers it out of the box.
  await admin.ensureDefaultEndpoint();

  const framing: Partial<SipLimits> = {
    maxHeaderBytes: limits.maxHeaderBytes ?? DEFAULT_SIP_SERVER_LIMITS.maxHeaderBytes,
    maxBodyBytes: limits.maxBodyBytes ?? DEFAULT_SIP_SERVER_LIMITS.maxBodyBytes,
  };
  const localHost = isWildcard(config.sip.host) ? domain : config.sip.host;
  const open = new Set<SipConnection>();
  const managers = new Set<DialogManager>();

  const accept = (localPort: number) => (conn: SipConnection) => {
    open.add(conn);
    const state = newConnectionState(conn);
    // Once an NTLM sign-in completed, everything the server sends on the connection is signed.
    conn.beforeSend = (msg) => state.ntlm?.sign(msg);
    const dialogs = new DialogManager({
      state,
      chat,
      domain,
      addresses,
      localHost,
      localPort,
      limits,
      log,
      ...(opts.limiter ? { limiter: opts.limiter } : {}),
    });
    managers.add(dialogs);
    // A password change ends the registration: every dialog gets a BYE, and the client must register again
    // with the new password before it may do anything else.
    const offRevoked = chat.events.on(
      'credentials.revoked',
      (e) => {
        if (e.tokenHash !== undefined || state.user !== e.user) return;
        state.user = undefined;
        dialogs.byeAll(e.reason);
      },
      { module: 'sip' },
    );
    conn.onClose((reason) => {
      offRevoked();
      open.delete(conn);
      managers.delete(dialogs);
      dialogs.closeAll(`connection closed (${reason})`);
      if (state.user) log.debug('sip connection closed', { user: state.user, reason });
    });
    conn.onMessage((msg) => {
      void route(msg, state, dialogs).catch((e: unknown) => {
        log.error('sip request failed', { err: e });
        if (msg.kind === 'request' && msg.method !== 'ACK' && !conn.isClosed) {
          conn.send(createResponse(msg, 500));
        }
      });
    });
  };

  const route = async (msg: SipMessage, state: ConnectionState, dialogs: DialogManager): Promise<void> => {
    const conn = state.conn;
    if (msg.kind === 'response') {
      // After an NTLM sign-in the client signs its responses too; an unsigned or forged one is dropped.
      if (state.ntlm) {
        const check = state.ntlm.verify(msg);
        if (!check.ok) {
          log.info('sip response signature refused', { reason: check.reason, conn: conn.id, status: msg.status });
          return;
        }
      }
      dialogs.handleResponse(msg);
      return;
    }
    const req = msg;
    const problem = malformed(req);
    if (problem) {
      if (req.method !== 'ACK') conn.send(createResponse(req, 400, { reason: problem }));
      return;
    }
    // After an NTLM sign-in every request must carry a valid, fresh signature ([MS-SIPAE]). The one exception
    // is a REGISTER starting a new NTLM sign-in (no credentials, or an empty gssapi-data): SIPE re-authenticates
    // that way, and the registrar only replaces the association when the new handshake succeeds.
    let signed = false;
    if (state.ntlm && !(req.method === 'REGISTER' && startsNtlmHandshake(req))) {
      const check = state.ntlm.verify(req);
      if (!check.ok) {
        log.info('sip request signature refused', { reason: check.reason, conn: conn.id, method: req.method });
        if (req.method !== 'ACK') {
          const text = check.reason === 'replayed' ? 'Replayed message' : 'Message signature missing or invalid';
          conn.send(createResponse(req, 403, { reason: text, headers: [['Warning', `399 pchat "${text}"`]] }));
        }
        return;
      }
      signed = true;
    }
    if (req.method === 'REGISTER') {
      const before = state.user;
      const outcome = await registrar.handle(req, state, signed);
      // Dialogs belong to the user who opened them: unregistering, or registering as someone else, ends them.
      if (before !== undefined && state.user !== before) dialogs.closeAll('unregistered');
      conn.send(outcome.response);
      if (outcome.kind === 'rejected' && outcome.close) conn.close();
      return;
    }
    if (req.method === 'OPTIONS' && !state.user) {
      conn.send(createResponse(req, 200, { headers: [['Allow', ALLOW]] }));
      return;
    }
    if (!state.user) {
      if (req.method !== 'ACK') conn.send(createResponse(req, 403, { reason: 'Register first' }));
      return;
    }
    if (req.method === 'SUBSCRIBE') {
      conn.send(handleSubscribe(req, { chatEnabled: await chatEnabled(chat, state.user), poolUri: addresses.poolUri }));
      return;
    }
    await dialogs.handleRequest(req);
  };

  const listeners: SipListener[] = [];
  // Contact and Via need the bound port, known only once listening; no socket is accepted before that.
  let tcpAccept: (conn: SipConnection) => void = (conn) => conn.close();
  try {
    const tcp = await startSipListener(
      {
        host: config.sip.host,
        port: config.sip.port,
        limits: framing,
        idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_SIP_SERVER_LIMITS.idleTimeoutMs,
        maxConnections: limits.maxConnections ?? DEFAULT_SIP_SERVER_LIMITS.maxConnections,
      },
      (conn) => tcpAccept(conn),
    );
    listeners.push(tcp);
    tcpAccept = accept(tcp.port);
    let tlsPort: number | undefined;
    let certFile = config.sip.tlsCert;
    let keyFile = config.sip.tlsKey;
    if (!(certFile && keyFile) && config.sip.selfSignedTls) {
      const made = await ensureSelfSignedCertificate(join(config.dataDir, 'tls'), [targetName, domain]);
      certFile = made.cert;
      keyFile = made.key;
      log.warn('sip tls uses a self-signed certificate: fine for a first try, not for clients that verify it', {
        cert: made.cert,
        created: made.created,
        see: 'docs/legacy-clients.md#tls-certificates',
      });
    }
    if (certFile && keyFile) {
      const tlsOpts = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
      let tlsAccept: (conn: SipConnection) => void = (conn) => conn.close();
      const tls = await startSipListener(
        {
          host: config.sip.host,
          port: config.sip.tlsPort,
          tls: tlsOpts,
          limits: framing,
          idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_SIP_SERVER_LIMITS.idleTimeoutMs,
          maxConnections: limits.maxConnections ?? DEFAULT_SIP_SERVER_LIMITS.maxConnections,
        },
        (conn) => tlsAccept(conn),
      );
      listeners.push(tls);
      tlsAccept = accept(tls.port);
      tlsPort = tls.port;
    }
    log.info('sip listening', { host: config.sip.host, port: tcp.port, tlsPort, poolUri: addresses.poolUri });
    // Removing a legacy endpoint (CLI, REST, another server of the pool) ends the dialogs opened to it.
    let checking = false;
    const endpointTimer = setInterval(() => {
      if (checking || managers.size === 0) return;
      checking = true;
      admin
        .listEndpoints()
        .then((list) => {
          const exists = new Set(list.map((e) => e.sipAddress.toLowerCase()));
          let ended = 0;
          for (const m of managers) ended += m.closeRemovedEndpoints(exists);
          if (ended > 0) log.info('sip dialogs of removed endpoints ended', { dialogs: ended });
        })
        .catch((e: unknown) => log.warn('sip endpoint check failed', { err: e }))
        .finally(() => {
          checking = false;
        });
    }, limits.endpointCheckMs ?? DEFAULT_SIP_SERVER_LIMITS.endpointCheckMs);
    endpointTimer.unref();
    return {
      port: tcp.port,
      tlsPort,
      poolUri: addresses.poolUri,
      chatServerUri: addresses.chatServerUri,
      connections: () => open.size,
      close: async () => {
        clearInterval(endpointTimer);
        await Promise.all(listeners.map((l) => l.close()));
      },
    };
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    throw e;
  }
}

/** A REGISTER with no credentials or with an NTLM `gssapi-data` (a new handshake, not a signed refresh). */
function startsNtlmHandshake(req: SipRequest): boolean {
  const header = req.headers.get('authorization') ?? req.headers.get('proxy-authorization');
  if (header === undefined) return true;
  const auth = parseAuthValue(header);
  return auth !== undefined && auth.scheme.toUpperCase() === 'NTLM' && auth.params.has('gssapi-data');
}

/** Why a request cannot be handled (missing or inconsistent mandatory headers), or undefined. */
function malformed(req: SipRequest): string | undefined {
  for (const name of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!req.headers.has(name)) return `Missing ${name} header`;
  }
  const cseq = parseCSeq(req.headers.get('cseq'));
  if (!cseq) return 'Malformed CSeq';
  if (cseq.method !== req.method && !(req.method === 'ACK' && cseq.method === 'ACK')) return 'CSeq method mismatch';
  return undefined;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '' || host === '[::]';
}
