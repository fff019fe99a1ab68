// A small scripted SIP client that behaves like SIPE (xccos-sip.md §1.1, §2): no Via branch, REGISTER answered
// to a 407 with Digest and uri="(null)", one-off provisioning SUBSCRIBE, INVITE + ACK, XCCOS in INFO bodies,
// 200 to every server INFO. Plus a fixture that starts a real ChatService and SIP server on a temp SQLite store.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { AdminService } from '../../src/admin/admin-service.js';
import { ChatService } from '../../src/chat/chat-service.js';
import type { ChatEvent, Session } from '../../src/chat/types.js';
import type { UserRateLimiter } from '../../src/chat/user-rate-limiter.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { FileStore } from '../../src/files/file-store.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/port.js';
import {
  createRequest,
  createResponse,
  parseCSeq,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  SipStreamParser,
  serializeSipMessage,
} from '../../src/transports/sip/codec.js';
import { mac } from '../../src/transports/sip/ntlm.js';
import { type SipServer, type SipServerLimits, startSipServer } from '../../src/transports/sip/sip-server.js';
import { NTLM_REALM, parseAuthValue, SIPAE_SEQ_NUM, signatureInput } from '../../src/transports/sip/sipae.js';
import { getTag, parseNameAddr } from '../../src/transports/sip/uri.js';
import { answerChallenge, type NtlmAnswer } from './ntlm-client.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const DEFAULT_TIMEOUT = 3000;

export interface ClientDialog {
  callId: string;
  localTag: string;
  /** The To header we INVITEd, and the same with the server's tag (what in-dialog requests carry). */
  to: string;
  remoteTo: string;
  remoteTarget: string;
  cseq: number;
}

/** A server INFO as received: the request and its XCCOS body. */
export interface ServerInfo {
  req: SipRequest;
  body: string;
}

type Waiter = { match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void };

/** The client's side of an NTLM security association (what SIPE keeps in its registrar context). */
export interface ClientNtlm {
  keys: NtlmAnswer['keys'];
  opaque: string;
  targetName: string;
  version: number;
  cnum: number;
}

export class SipClient {
  readonly user: string;
  /** Random, like SIPE's; assignable to reproduce clients that seeded rand() in the same second (same tags). */
  fromTag = randomBytes(4).toString('hex');
  regCallId = `${randomBytes(6).toString('hex')}@client`;
  private regCseq = 0;
  private readonly parser = new SipStreamParser();
  /** Messages no waiter took yet, in arrival order. */
  private readonly inbox: SipMessage[] = [];
  private readonly waiters: Waiter[] = [];
  /** How to answer server INFOs (SIPE: 200). */
  infoStatus = 200;
  /** Every message received, in order: `<METHOD> <body>` for requests, `<status> <Call-ID> <CSeq>` for responses. */
  readonly arrivals: string[] = [];
  /** Every server INFO ever received, in order. */
  readonly infos: ServerInfo[] = [];
  private readonly taken = new WeakSet<ServerInfo>();
  private closedFlag = false;
  readonly closed: Promise<void>;
  /** Set by registerNtlm(): from then on requests and responses are signed and server messages checked. */
  ntlm: ClientNtlm | undefined;
  /** Sign the requests / the responses we send (tests turn them off to send unsigned messages). */
  signOutgoing = true;
  signResponses = true;
  /** Server messages whose signature checked out, and those dropped (missing or bad), as SIPE drops them. */
  signaturesOk = 0;
  readonly droppedUnsigned: string[] = [];

  private constructor(
    private readonly socket: net.Socket | tls.TLSSocket,
    user: string,
    private readonly password: string,
  ) {
    this.user = user;
    socket.on('data', (chunk: Buffer) => {
      for (const ev of this.parser.push(chunk)) if (ev.type === 'message') this.onMessage(ev.message);
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => {
      this.closedFlag = true;
    });
    socket.on('error', () => {});
  }

  static connect(port: number, user: string, password: string): Promise<SipClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new SipClient(socket, user, password)));
      socket.once('error', reject);
    });
  }

  /** Over TLS; the server's certificate is not verified (tests use a self-signed one). */
  static connectTls(port: number, user: string, password: string): Promise<SipClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
        resolve(new SipClient(socket, user, password)),
      );
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  get domain(): string {
    return this.user.slice(this.user.indexOf('@') + 1);
  }

  private get from(): string {
    return `<${this.user}>;tag=${this.fromTag}`;
  }

  private get via(): string {
    return 'SIP/2.0/tcp 127.0.0.1:40000';
  }

  private onMessage(msg: SipMessage): void {
    if (this.ntlm && !this.checkSignature(msg)) {
      this.droppedUnsigned.push(msg.kind === 'request' ? msg.method : String(msg.status));
      return;
    }
    this.arrivals.push(
      msg.kind === 'request'
        ? `${msg.method} ${msg.body.toString('utf8')}`
        : `${msg.status} ${msg.headers.get('call-id')} ${msg.headers.get('cseq')}`,
    );
    if (msg.kind === 'request' && msg.method === 'INFO') {
      this.infos.push({ req: msg, body: msg.body.toString('utf8') });
      this.send(createResponse(msg, this.infoStatus));
      return;
    }
    const i = this.waiters.findIndex((w) => w.match(msg));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w?.resolve(msg);
    } else this.inbox.push(msg);
  }

  send(msg: SipMessage): void {
    const wanted = msg.kind === 'request' ? this.signOutgoing : this.signResponses;
    if (this.ntlm && wanted && !msg.headers.has('authorization')) this.sign(msg);
    this.socket.write(serializeSipMessage(msg));
  }

  /** Adds the signed Authorization header SIPE adds to every message once NTLM completed. */
  sign(msg: SipMessage, cnum?: number): void {
    const n = this.ntlm;
    if (!n) return;
    n.cnum = cnum ?? n.cnum + 1;
    const crand = randomBytes(4).toString('hex');
    const input = signatureInput(msg, {
      scheme: 'NTLM',
      rand: crand,
      num: String(n.cnum),
      realm: NTLM_REALM,
      targetName: n.targetName,
      version: n.version,
    });
    const sig = mac(n.keys.flags, n.keys.clientSignKey, n.keys.clientSealKey, SIPAE_SEQ_NUM, Buffer.from(input));
    msg.headers.set(
      'Authorization',
      `NTLM qop="auth", opaque="${n.opaque}", realm="${NTLM_REALM}", targetname="${n.targetName}", crand="${crand}", cnum="${n.cnum}", response="${sig.toString('hex')}"`,
    );
  }

  /** SIPE's check of an incoming message: a valid rspauth, or (REGISTER responses and 401s only) none at all. */
  private checkSignature(msg: SipMessage): boolean {
    const n = this.ntlm as ClientNtlm;
    const info = parseAuthValue(msg.headers.get('authentication-info'));
    const rspauth = info?.params.get('rspauth');
    if (rspauth === undefined || !info) {
      const isRegister = msg.kind === 'response' && parseCSeq(msg.headers.get('cseq'))?.method === 'REGISTER';
      return msg.kind === 'response' && (msg.status === 401 || isRegister);
    }
    const input = signatureInput(msg, {
      scheme: info.scheme,
      rand: info.params.get('srand') ?? '',
      num: info.params.get('snum') ?? '',
      realm: info.params.get('realm') ?? '',
      targetName: info.params.get('targetname') ?? '',
      version: n.version,
    });
    const sig = mac(n.keys.flags, n.keys.serverSignKey, n.keys.serverSealKey, SIPAE_SEQ_NUM, Buffer.from(input));
    if (sig.toString('hex').toUpperCase() !== rspauth.toUpperCase()) return false;
    this.signaturesOk++;
    return true;
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next message matching `match` (already received or still to come). */
  waitMessage(match: (m: SipMessage) => boolean, timeoutMs = DEFAULT_TIMEOUT): Promise<SipMessage> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as SipMessage);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.user}: no matching SIP message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends a request and resolves with its final response (matched on Call-ID + CSeq, as SIPE does). */
  async request(req: SipRequest, timeoutMs = DEFAULT_TIMEOUT): Promise<SipResponse> {
    const callId = req.headers.get('call-id');
    const cseq = req.headers.get('cseq');
    const response = this.waitMessage(
      (m) =>
        m.kind === 'response' &&
        m.status >= 200 &&
        m.headers.get('call-id') === callId &&
        m.headers.get('cseq') === cseq,
      timeoutMs,
    );
    this.send(req);
    return (await response) as SipResponse;
  }

  // ---- registration and provisioning -------------------------------------------------------------------

  /** A REGISTER as SIPE sends it (with `auth` as Proxy-Authorization when given). */
  registerRequest(expires: number, auth?: string): SipRequest {
    const headers: [string, string][] = [
      ['Via', this.via],
      ['From', this.from],
      ['To', `<${this.user}>`],
      ['Call-ID', this.regCallId],
      ['CSeq', `${++this.regCseq} REGISTER`],
      [
        'Contact',
        `<sip:127.0.0.1:40000;transport=tcp;ms-opaque=d3470f2e1d>;methods="INVITE, MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK"`,
      ],
      ['Supported', 'gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence'],
      ['ms-keep-alive', 'UAC;hop-hop=yes'],
      ['Expires', String(expires)],
    ];
    if (auth) headers.push(['Proxy-Authorization', auth]);
    return createRequest('REGISTER', `sip:${this.domain}`, headers);
  }

  /** REGISTER, answer the 407 like SIPE (uri="(null)"); returns the final response. */
  async register(opts: { password?: string; expires?: number } = {}): Promise<SipResponse> {
    const expires = opts.expires ?? 900;
    const first = await this.request(this.registerRequest(expires));
    if (first.status === 401) {
      // NTLM and Digest both offered: answer the Digest one in an Authorization header.
      const challenge = first.headers.getAll('www-authenticate').find((v) => /^Digest\s/i.test(v));
      if (!challenge) return first;
      const req = this.registerRequest(expires);
      req.headers.set('Authorization', this.digestAnswer(challenge, opts.password ?? this.password));
      return this.request(req);
    }
    if (first.status !== 407) return first;
    const challenge = first.headers.get('proxy-authenticate') ?? '';
    return this.request(this.registerRequest(expires, this.digestAnswer(challenge, opts.password ?? this.password)));
  }

  /**
   * The [MS-SIPAE] NTLM sign-in as SIPE performs it: REGISTER → 401 NTLM → REGISTER with an empty gssapi-data
   * → 401 with the CHALLENGE → REGISTER with the AUTHENTICATE (signed, protocol version 4) → final response.
   * `user`/`domain` are the NTLM names (SIPE: the sign-in name and an empty domain).
   */
  async registerNtlm(
    opts: { password?: string; user?: string; domain?: string; expires?: number } = {},
  ): Promise<SipResponse> {
    const expires = opts.expires ?? 900;
    const first = await this.request(this.registerRequest(expires));
    if (first.status !== 401) return first;
    const offer = first.headers
      .getAll('www-authenticate')
      .map(parseAuthValue)
      .find((v) => v?.scheme === 'NTLM');
    if (!offer) return first;
    const target = offer.params.get('targetname') ?? '';
    const version = Number(offer.params.get('version') ?? '3');
    const start = this.registerRequest(expires);
    start.headers.set(
      'Authorization',
      `NTLM qop="auth", realm="${NTLM_REALM}", targetname="${target}", gssapi-data="", version=${version}`,
    );
    const second = await this.request(start);
    const challenge = second.headers
      .getAll('www-authenticate')
      .map(parseAuthValue)
      .find((v) => v?.scheme === 'NTLM');
    const data = challenge?.params.get('gssapi-data');
    if (second.status !== 401 || !challenge || !data) return second;
    const opaque = challenge.params.get('opaque') ?? '';
    const answer = answerChallenge(Buffer.from(data, 'base64'), {
      user: opts.user ?? this.user.replace(/^sip:/, ''),
      domain: opts.domain ?? '',
      password: opts.password ?? this.password,
    });
    this.ntlm = { keys: answer.keys, opaque, targetName: target, version, cnum: 0 };
    const final = this.registerRequest(expires);
    const gssapi = `gssapi-data="${answer.authenticate.toString('base64')}"`;
    let signature = '';
    if (version > 3) {
      this.sign(final);
      const signed = parseAuthValue(final.headers.get('authorization'));
      signature = `, crand="${signed?.params.get('crand')}", cnum="${signed?.params.get('cnum')}", response="${signed?.params.get('response')}"`;
    }
    final.headers.set(
      'Authorization',
      `NTLM qop="auth", opaque="${opaque}", realm="${NTLM_REALM}", targetname="${target}", ${gssapi}, version=${version}${signature}`,
    );
    const res = await this.request(final);
    if (res.status !== 200) this.ntlm = undefined;
    return res;
  }

  /** A Proxy-Authorization value for a challenge, computed as SIPE does. */
  digestAnswer(challenge: string, password: string, nonceOverride?: string): string {
    const realm = /realm="([^"]*)"/.exec(challenge)?.[1] ?? '';
    const nonce = nonceOverride ?? /nonce="([^"]*)"/.exec(challenge)?.[1] ?? '';
    const username = this.user.replace(/^sip:/, '');
    const cnonce = randomBytes(4).toString('hex');
    const nc = '00000001';
    const ha1 = md5(`${username}:${realm}:${password}`);
    const ha2 = md5('REGISTER:(null)');
    const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="(null)", qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
  }

  /** The one-off provisioning SUBSCRIBE SIPE sends after REGISTER. */
  subscribe(event = 'vnd-microsoft-provisioning-v2'): Promise<SipResponse> {
    return this.request(
      createRequest(
        'SUBSCRIBE',
        this.user,
        [
          ['Via', this.via],
          ['From', this.from],
          ['To', `<${this.user}>`],
          ['Call-ID', `${randomBytes(6).toString('hex')}@client`],
          ['CSeq', '1 SUBSCRIBE'],
          ['Event', event],
          ['Accept', 'application/vnd-microsoft-roaming-provisioning-v2+xml'],
          ['Expires', '0'],
          ['Content-Type', 'application/vnd-microsoft-roaming-provisioning-v2+xml'],
        ],
        '<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"><provisioningGroup name="persistentChatConfiguration"/></provisioningGroupList>',
      ),
    );
  }

  // ---- dialogs -----------------------------------------------------------------------------------------

  /** INVITE `uri` (with SIPE's SDP), ACK a 200; returns the response and, on 200, the dialog. */
  async invite(
    uri: string,
    callId = `${randomBytes(8).toString('hex')}@client`,
  ): Promise<{ response: SipResponse; dialog?: ClientDialog }> {
    const to = `<${uri}>`;
    const sdp =
      'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 40000 sip null\r\n';
    const response = await this.request(
      createRequest(
        'INVITE',
        uri,
        [
          ['Via', this.via],
          ['From', this.from],
          ['To', to],
          ['Call-ID', callId],
          ['CSeq', '1 INVITE'],
          ['Contact', '<sip:127.0.0.1:40000;transport=tcp>'],
          ['Supported', 'ms-sender, timer'],
          ['Content-Type', 'application/sdp'],
        ],
        sdp,
      ),
    );
    if (response.status !== 200) return { response };
    const remoteTo = response.headers.get('to') ?? '';
    const remoteTarget = parseNameAddr(response.headers.get('contact') ?? '')?.uri ?? uri;
    const dialog: ClientDialog = { callId, localTag: this.fromTag, to, remoteTo, remoteTarget, cseq: 1 };
    this.send(this.inDialog(dialog, 'ACK', undefined, 1));
    return { response, dialog };
  }

  inDialog(dialog: ClientDialog, method: string, body?: string, seq?: number): SipRequest {
    const n = seq ?? ++dialog.cseq;
    const headers: [string, string][] = [
      ['Via', this.via],
      ['From', this.from],
      ['To', dialog.remoteTo],
      ['Call-ID', dialog.callId],
      ['CSeq', `${n} ${method}`],
    ];
    if (body !== undefined) headers.push(['Content-Type', 'text/plain']);
    return createRequest(method, dialog.remoteTarget, headers, body);
  }

  /** Sends an INFO with an XCCOS body; resolves with the SIP response. */
  info(dialog: ClientDialog, body: string): Promise<SipResponse> {
    return this.request(this.inDialog(dialog, 'INFO', body));
  }

  /** An envelope as SIPE writes it. */
  static envelope(inner: string, envid = Math.floor(Math.random() * 2 ** 31)): string {
    return `<xccos ver="1" envid="${envid}" xmlns="urn:parlano:xml:ns:xccos">${inner}</xccos>`;
  }

  /** Sends `<cmd id="cmd:<name>">` and resolves with the body of the server INFO that carries its rpl. */
  async command(dialog: ClientDialog, name: string, data = ''): Promise<string> {
    const envid = Math.floor(Math.random() * 2 ** 31);
    const res = await this.info(
      dialog,
      SipClient.envelope(`<cmd id="cmd:${name}" seqid="1"><data>${data}</data></cmd>`, envid),
    );
    if (res.status !== 200) throw new Error(`cmd:${name}: SIP ${res.status}`);
    return (await this.waitInfo((b) => b.includes(`envid="${envid}"`) && b.includes('<rpl'))).body;
  }

  /** Sends a grpchat as SIPE does (author attribute optional); resolves with the SIP status. */
  async say(dialog: ClientDialog, roomUri: string, text: string, author = this.user): Promise<number> {
    const res = await this.info(
      dialog,
      SipClient.envelope(
        `<grpchat id="grpchat" seqid="1" chanUri="${roomUri}" author="${author}"><chat>${text}</chat></grpchat>`,
      ),
    );
    return res.status;
  }

  /** The next server INFO (after those already taken by waitInfo) whose body matches. */
  async waitInfo(match: (body: string) => boolean, timeoutMs = DEFAULT_TIMEOUT): Promise<ServerInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Earlier non-matching INFOs stay available to later waits.
      const info = this.infos.find((i) => !this.taken.has(i) && match(i.body));
      if (info) {
        this.taken.add(info);
        return info;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${this.user}: no matching server INFO within ${timeoutMs} ms; pending: ${this.untaken()
            .map((i) => i.body.slice(0, 160))
            .join(' | ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Server INFOs not yet taken by waitInfo. */
  untaken(): ServerInfo[] {
    return this.infos.filter((i) => !this.taken.has(i));
  }

  bye(dialog: ClientDialog): Promise<SipResponse> {
    return this.request(this.inDialog(dialog, 'BYE'));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** CSeq number of a message. */
export function cseqOf(m: SipMessage): number {
  return parseCSeq(m.headers.get('cseq'))?.seq ?? -1;
}

export { getTag };

// ---------------------------------------------------------------------------------------------------------
// Fixture

export const PASSWORD = 'correct horse battery';
export const DOMAIN = 'contoso.com';

export interface SipFixture {
  dir: string;
  config: Config;
  store: Store;
  admin: AdminService;
  chat: ChatService;
  server: SipServer;
  rooms: Record<'general' | 'secret' | 'lobby' | 'closed', string>;
  roomUri(id: string): string;
  connect(user: string, password?: string): Promise<SipClient>;
  /** A registered client in the long-lived chat dialog (REGISTER, SUBSCRIBE, pool INVITE, requri, BYE, chat INVITE). */
  login(user: string, opts?: { ntlm?: boolean }): Promise<{ client: SipClient; dialog: ClientDialog }>;
  /** A chat-service session opened directly, standing in for a WebSocket user; collects its events. */
  webUser(user: string): Session & { events: ChatEvent[] };
  close(): Promise<void>;
}

/**
 * Users (all with PASSWORD): alice, bob, erin (chat on); carol (tag policy "nochat": chat off); dave (disabled).
 * Rooms in category Eng: General (closed; alice, bob), Secret (secret; alice), Lobby (open), Closed (closed; bob).
 */
export async function startSipFixture(
  limits: Partial<SipServerLimits> = {},
  sip: { tlsCert?: string; tlsKey?: string; tlsPort?: number; auth?: 'ntlm' | 'digest' | 'both' } = {},
  /** The per-user budget shared with the other doors (none: only the per-connection INFO bucket). */
  limiter?: UserRateLimiter,
): Promise<SipFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-sip-'));
  const config = loadConfig(
    {
      dataDir: dir,
      domain: DOMAIN,
      // Digest only unless a test asks for NTLM: the Digest tests expect SIPE's 407 exchange.
      sip: { host: '127.0.0.1', port: 0, realm: 'pchat', poolUser: 'pchatpool', auth: 'digest', ...sip },
    },
    {},
  );
  const store = await openStore({ dataDir: dir });
  const admin = new AdminService(store, { realm: config.sip.realm, domain: DOMAIN, pool: 'pool1' });
  for (const u of ['alice', 'bob', 'carol', 'dave', 'erin', 'grace']) {
    await admin.addUser(`sip:${u}@${DOMAIN}`, { password: PASSWORD, displayName: u });
  }
  await admin.setPolicy('global', { enablePersistentChat: true });
  await admin.newPolicy('nochat', { enablePersistentChat: false });
  await admin.grantPolicy(`sip:carol@${DOMAIN}`, 'nochat');
  await admin.setUser(`sip:dave@${DOMAIN}`, { disabled: true });
  await admin.newCategory({ name: 'Eng', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
  const room = async (name: string, privacy: 'open' | 'closed' | 'secret', members: string[]) =>
    (
      await admin.newRoom({
        name,
        category: 'Eng',
        privacy,
        description: `${name} room`,
        members: { replace: members.map((m) => `sip:${m}@${DOMAIN}`) },
      })
    ).id;
  const rooms = {
    general: await room('General', 'closed', ['alice', 'bob']),
    secret: await room('Secret', 'secret', ['alice']),
    lobby: await room('Lobby', 'open', []),
    closed: await room('Closed', 'closed', ['bob']),
  };
  const chat = new ChatService(store, new FileStore(join(dir, 'files')), {
    domain: DOMAIN,
    tokenTtlSeconds: 3600,
    pollMs: 20,
    throttle: { baseDelayMs: 10 * 60_000 },
  });
  await chat.start();
  const server = await startSipServer({ config, chat, admin, limits, ...(limiter ? { limiter } : {}) });
  const clients: SipClient[] = [];
  const roomUri = (id: string) => `ma-chan://${DOMAIN}/${id}`;

  const connect = async (user: string, password = PASSWORD) => {
    const c = await SipClient.connect(server.port, `sip:${user}@${DOMAIN}`, password);
    clients.push(c);
    return c;
  };
  return {
    dir,
    config,
    store,
    admin,
    chat,
    server,
    rooms,
    roomUri,
    connect,
    async login(user, opts = {}) {
      const client = await connect(user);
      const reg = opts.ntlm ? await client.registerNtlm() : await client.register();
      if (reg.status !== 200) throw new Error(`REGISTER ${user}: ${reg.status}`);
      const sub = await client.subscribe();
      const pool = /DefaultPersistentChatPoolUri">([^<]+)</.exec(sub.body.toString())?.[1];
      if (!pool) throw new Error(`no pool URI provisioned for ${user}`);
      const lookup = await client.invite(pool);
      if (!lookup.dialog) throw new Error(`INVITE ${pool}: ${lookup.response.status}`);
      const rpl = await client.command(lookup.dialog, 'requri');
      const chatUri = /<uib uri="([^"]+)"/.exec(rpl)?.[1];
      if (!chatUri) throw new Error(`no chat URI in ${rpl}`);
      await client.bye(lookup.dialog);
      const chatDialog = await client.invite(chatUri);
      if (!chatDialog.dialog) throw new Error(`INVITE ${chatUri}: ${chatDialog.response.status}`);
      return { client, dialog: chatDialog.dialog };
    },
    webUser(user) {
      const events: ChatEvent[] = [];
      const s = chat.openSession(`sip:${user}@${DOMAIN}`, (e) => events.push(e), 'ws') as Session & {
        events: ChatEvent[];
      };
      s.events = events;
      return s;
    },
    async close() {
      for (const c of clients) c.close();
      await server.close();
      await chat.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns true (for effects that travel through the chat service). */
export async function eventually(check: () => boolean, timeoutMs = DEFAULT_TIMEOUT, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
