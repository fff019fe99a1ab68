// INVITE dialogs of one connection, and the SIP transactions inside them (xccos-sip.md §1.1, §2.4).
//
// - INVITE to the pool URI or a legacy endpoint address opens a short "lookup" dialog (the client asks
//   cmd:requri and BYEs it); INVITE to the chat-server URI opens the long-lived XCCOS dialog. Both carry an
//   XccosSession; its chat session is opened only when a command needs one.
// - Transactions are matched on Call-ID + CSeq (SIPE sends no Via branch).
// - Server INFOs: From = exactly the URI the client INVITEd + our tag, To = the client's From, the dialog's
//   Call-ID, our own CSeq. A 481/487, or no answer within the transaction timeout, ends the dialog and its chat
//   session. Any in-dialog request for a dialog we do not know gets 481, which makes SIPE rebuild its session
//   (the reconnect path after a server restart).

import { randomBytes } from 'node:crypto';
import type { AdminService } from '../../admin/admin-service.js';
import type { ChatService } from '../../chat/chat-service.js';
import { TokenBucket } from '../../chat/token-bucket.js';
import type { UserRateLimiter } from '../../chat/user-rate-limiter.js';
import { type Logger, silentLogger } from '../../observability/log.js';
import { XccosSession } from '../xccos/xccos-session.js';
import { createRequest, createResponse, parseCSeq, type SipRequest, type SipResponse } from './codec.js';
import { type ConnectionState, chatEnabled } from './registrar.js';
import { addressOfRecord, formatNameAddr, getTag, parseNameAddr } from './uri.js';

type ResponseOpts = Parameters<typeof createResponse>[2] & {
  /** Replaces the echoed To (a display name added; the URI and tag are the dialog's). */
  to?: string;
};

/** `value` (a To header) with `name` as its display name, unless it already has one. */
function withDisplayName(value: string, name: string): string {
  const addr = parseNameAddr(value);
  if (!addr || addr.displayName) return value;
  return formatNameAddr({ displayName: name, uri: addr.uri, params: addr.params });
}

export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REGISTER, SUBSCRIBE';

/** The SIP addresses the server answers to. */
export interface ServiceAddresses {
  /** `sip:<poolUser>@<domain>`: the provisioned DefaultPersistentChatPoolUri. */
  readonly poolUri: string;
  /** The URI rpl:requri hands out: `sip:<poolUser>-chat@<domain>`. */
  readonly chatServerUri: string;
  /** What an INVITE to `uri` opens: the lookup dialog, the chat dialog, or nothing (404). */
  classify(uri: string): Promise<'pool' | 'chat' | undefined>;
  /** The legacy endpoint at `uri` (its display name is what clients show for the contact), if it is one. */
  endpoint(uri: string): Promise<{ sipAddress: string; displayName: string } | undefined>;
}

/**
 * Pool URI, chat-server URI and the legacy endpoint addresses (`pchat endpoint new --sip-address …`), read from
 * the store on every INVITE: INVITEs are two per login, and an endpoint added with the CLI works at once.
 */
export function serviceAddresses(opts: { poolUser: string; domain: string; admin: AdminService }): ServiceAddresses {
  const domain = opts.domain.toLowerCase();
  const raw = opts.poolUser.trim().replace(/^sips?:/i, '');
  const [user, host] = raw.includes('@') ? (raw.split('@', 2) as [string, string]) : [raw, domain];
  const poolUri = `sip:${user.toLowerCase()}@${host.toLowerCase()}`;
  const chatServerUri = `sip:${user.toLowerCase()}-chat@${host.toLowerCase()}`;
  return {
    poolUri,
    chatServerUri,
    async classify(uri) {
      const aor = addressOfRecord(uri);
      if (!aor) return undefined;
      if (aor === chatServerUri) return 'chat';
      if (aor === poolUri) return 'pool';
      const endpoints = await opts.admin.listEndpoints();
      return endpoints.some((e) => e.sipAddress.toLowerCase() === aor) ? 'pool' : undefined;
    },
    async endpoint(uri) {
      const aor = addressOfRecord(uri);
      if (!aor) return undefined;
      return (await opts.admin.listEndpoints()).find((e) => e.sipAddress.toLowerCase() === aor);
    },
  };
}

export interface DialogLimits {
  /** Open dialogs per connection. */
  maxDialogs: number;
  /** A server INFO unanswered for this long ends its dialog (RFC 3261 Timer F: 32 s). */
  transactionTimeoutMs: number;
  /** Unanswered server INFOs per dialog before the client counts as stuck and the dialog is dropped. */
  maxPendingPerDialog: number;
  /** Session-Expires in the 200 to INVITE; a dialog not refreshed (UPDATE/re-INVITE) in time is dropped. */
  sessionExpiresSeconds: number;
  /** Token bucket for client INFOs on the connection: refill per second and burst. */
  infoRatePerSecond: number;
  infoBurst: number;
}

export const DEFAULT_DIALOG_LIMITS: DialogLimits = {
  maxDialogs: 8,
  transactionTimeoutMs: 32_000,
  maxPendingPerDialog: 1000,
  sessionExpiresSeconds: 1800,
  infoRatePerSecond: 20,
  infoBurst: 100,
};

export interface DialogManagerOptions {
  state: ConnectionState;
  chat: ChatService;
  domain: string;
  addresses: ServiceAddresses;
  /** Host and port written in our Via and Contact. */
  localHost: string;
  localPort: number;
  limits?: Partial<DialogLimits>;
  log?: Logger;
  /** The per-user budget shared by every door. */
  limiter?: UserRateLimiter;
}

interface Dialog {
  readonly callId: string;
  readonly kind: 'pool' | 'chat';
  /** The legacy endpoint address the client INVITEd, when it did (its removal ends the dialog). */
  readonly endpoint: string | undefined;
  readonly localTag: string;
  readonly remoteTag: string | undefined;
  /** Our From on server INFOs: the client's To (the URI it INVITEd) with our tag. */
  readonly localParty: string;
  /** Our To on server INFOs: the client's From, tag included. */
  readonly remoteParty: string;
  /** Request-URI of server INFOs: the client's Contact. */
  readonly remoteTarget: string;
  readonly session: XccosSession;
  /** Sequence number of our INFOs. */
  cseq: number;
  /** Our INFOs awaiting a final response: CSeq number → timeout. */
  readonly pending: Map<number, NodeJS.Timeout>;
  expiryTimer: NodeJS.Timeout | undefined;
  closed: boolean;
}

export class DialogManager {
  private readonly dialogs = new Map<string, Dialog>();
  /** INVITEs being answered (Call-ID + CSeq number), so a CANCEL can end them with 487. */
  private readonly pendingInvites = new Map<string, { req: SipRequest; cancelled: boolean }>();
  private readonly limits: DialogLimits;
  private readonly log: Logger;
  private readonly bucket: TokenBucket;

  constructor(private readonly opts: DialogManagerOptions) {
    this.limits = { ...DEFAULT_DIALOG_LIMITS, ...opts.limits };
    this.log = opts.log ?? silentLogger;
    this.bucket = new TokenBucket(this.limits.infoRatePerSecond, this.limits.infoBurst);
  }

  get size(): number {
    return this.dialogs.size;
  }

  private get conn() {
    return this.opts.state.conn;
  }

  private get contact(): string {
    return `<sip:${this.opts.localHost}:${this.opts.localPort};transport=${this.conn.transport}>`;
  }

  private respond(req: SipRequest, status: number, opts: ResponseOpts = {}): void {
    const res = createResponse(req, status, opts);
    if (opts.to) res.headers.set('To', opts.to);
    this.conn.send(res);
  }

  /** Handles INVITE, ACK, BYE, CANCEL, UPDATE, INFO and in-dialog OPTIONS. */
  async handleRequest(req: SipRequest): Promise<void> {
    switch (req.method) {
      case 'INVITE':
        return this.invite(req);
      case 'ACK':
        return; // ACK gets no response; the dialog is confirmed already
      case 'CANCEL':
        return this.cancel(req);
      case 'BYE': {
        const dialog = this.find(req);
        if (!dialog) return this.respond(req, 481);
        this.respond(req, 200);
        this.drop(dialog, 'bye');
        return;
      }
      case 'UPDATE': {
        const dialog = this.find(req);
        if (!dialog) return this.respond(req, 481);
        this.refresh(dialog);
        return this.respond(req, 200, { headers: this.sessionHeaders() });
      }
      case 'OPTIONS': {
        if (getTag(req.headers.get('to')) && !this.find(req)) return this.respond(req, 481);
        return this.respond(req, 200, {
          headers: [
            ['Allow', ALLOW],
            ['Accept', 'text/plain, application/sdp'],
          ],
        });
      }
      case 'INFO':
        return this.info(req);
      default:
        return this.respond(req, 501);
    }
  }

  /** A response from the client to one of our INFOs. */
  handleResponse(res: SipResponse): void {
    const dialog = this.dialogs.get(res.headers.get('call-id') ?? '');
    const cseq = parseCSeq(res.headers.get('cseq'));
    if (!dialog || !cseq || cseq.method !== 'INFO') return;
    if (res.status < 200) return;
    const timer = dialog.pending.get(cseq.seq);
    if (!timer) return;
    clearTimeout(timer);
    dialog.pending.delete(cseq.seq);
    if (res.status === 481 || res.status === 487) {
      this.log.info('sip dialog ended by client response', { status: res.status, callId: dialog.callId });
      this.drop(dialog, `client answered ${res.status}`);
    } else if (res.status >= 300) {
      this.log.warn('sip info refused by client', { status: res.status, callId: dialog.callId });
    }
  }

  /** Ends every dialog (connection closed, user unregistered or replaced); new INVITEs are still answered. */
  closeAll(reason: string): void {
    for (const dialog of [...this.dialogs.values()]) this.drop(dialog, reason);
  }

  /**
   * Ends (with a BYE to the client) the dialogs opened to a legacy endpoint address that no longer exists.
   * `exists` holds the current endpoint addresses, lower-cased. Returns how many were ended.
   */
  closeRemovedEndpoints(exists: ReadonlySet<string>): number {
    let n = 0;
    for (const dialog of [...this.dialogs.values()]) {
      if (dialog.endpoint === undefined || exists.has(dialog.endpoint.toLowerCase())) continue;
      this.bye(dialog, `endpoint ${dialog.endpoint} removed`);
      n++;
    }
    return n;
  }

  /** Ends every dialog from our side with a BYE (the user's credential was revoked). */
  byeAll(reason: string): void {
    for (const dialog of [...this.dialogs.values()]) this.bye(dialog, reason);
  }

  // ---- INVITE / CANCEL -----------------------------------------------------------------------------------

  private async invite(req: SipRequest): Promise<void> {
    const callId = req.headers.get('call-id') ?? '';
    const toTag = getTag(req.headers.get('to'));
    const existing = this.dialogs.get(callId);
    if (toTag) {
      // re-INVITE: a session refresh
      const dialog = this.find(req);
      if (!dialog) return this.respond(req, 481);
      this.refresh(dialog);
      return this.respond(req, 200, this.inviteOk(req, dialog));
    }
    if (existing) return this.respond(req, 200, this.inviteOk(req, existing)); // a retransmitted INVITE
    const user = this.opts.state.user;
    if (!user) return this.respond(req, 403, { reason: 'Register first' });
    const key = `${callId}\n${parseCSeq(req.headers.get('cseq'))?.seq ?? 0}`;
    const pending = { req, cancelled: false };
    this.pendingInvites.set(key, pending);
    let kind: 'pool' | 'chat' | undefined;
    let endpoint: { sipAddress: string; displayName: string } | undefined;
    let enabled = false;
    try {
      kind = await this.opts.addresses.classify(req.uri);
      if (kind === 'pool') endpoint = await this.opts.addresses.endpoint(req.uri);
      if (kind) enabled = await chatEnabled(this.opts.chat, user);
    } finally {
      this.pendingInvites.delete(key);
    }
    // Cancelled (487 sent) or disconnected while the store was read: nothing more to say.
    if (pending.cancelled || this.conn.isClosed) return;
    if (this.opts.state.user !== user) return this.respond(req, 403, { reason: 'Register first' });
    if (!kind) return this.respond(req, 404, { reason: 'No such chat service address' });
    if (!enabled) return this.respond(req, 403, { reason: 'Persistent chat is not enabled for this user' });
    if (this.dialogs.has(callId)) return this.respond(req, 491);
    if (this.dialogs.size >= this.limits.maxDialogs) return this.respond(req, 486, { reason: 'Too many dialogs' });
    const from = req.headers.get('from') ?? '';
    // A legacy endpoint answers under its display name (the name the old clients show for the contact); the
    // URI stays exactly the one the client INVITEd, which is what SIPE matches on.
    const to = endpoint
      ? withDisplayName(req.headers.get('to') ?? '', endpoint.displayName)
      : (req.headers.get('to') ?? '');
    const localTag = randomBytes(8).toString('hex');
    const contact = parseNameAddr(req.headers.get('contact') ?? '')?.uri ?? parseNameAddr(from)?.uri ?? '';
    const dialog: Dialog = {
      callId,
      kind,
      endpoint: endpoint?.sipAddress,
      localTag,
      remoteTag: getTag(from),
      localParty: `${to};tag=${localTag}`,
      remoteParty: from,
      remoteTarget: contact,
      session: new XccosSession({
        chat: this.opts.chat,
        user,
        domain: this.opts.domain,
        chatServerUri: this.opts.addresses.chatServerUri,
        send: (envelope) => this.sendInfo(dialog, envelope),
        onEnded: (reason) => this.bye(dialog, reason),
        log: this.log,
      }),
      cseq: 0,
      pending: new Map(),
      expiryTimer: undefined,
      closed: false,
    };
    this.dialogs.set(callId, dialog);
    this.refresh(dialog);
    this.log.debug('sip dialog opened', { kind, user, callId });
    this.respond(req, 200, this.inviteOk(req, dialog));
  }

  private inviteOk(req: SipRequest, dialog: Dialog): ResponseOpts {
    const headers: [string, string][] = [...this.sessionHeaders(), ['Allow', ALLOW]];
    let body: string | undefined;
    if (req.body.length > 0 && /application\/sdp/i.test(req.headers.get('content-type') ?? '')) {
      // The offer is `m=message <port> sip null`; answer in kind (no media flows: XCCOS rides on INFO).
      headers.push(['Content-Type', 'application/sdp']);
      body = [
        'v=0',
        `o=- 0 0 IN IP4 ${this.opts.localHost}`,
        's=session',
        `c=IN IP4 ${this.opts.localHost}`,
        't=0 0',
        `m=message ${this.opts.localPort} sip null`,
        '',
      ].join('\r\n');
    }
    return { toTag: dialog.localTag, to: dialog.localParty, headers, body };
  }

  private sessionHeaders(): [string, string][] {
    return [
      ['Contact', this.contact],
      ['Session-Expires', `${this.limits.sessionExpiresSeconds};refresher=uac`],
    ];
  }

  private cancel(req: SipRequest): void {
    const callId = req.headers.get('call-id') ?? '';
    const seq = parseCSeq(req.headers.get('cseq'))?.seq ?? 0;
    const pending = this.pendingInvites.get(`${callId}\n${seq}`);
    if (!pending) {
      this.respond(req, 481);
      return;
    }
    pending.cancelled = true;
    this.pendingInvites.delete(`${callId}\n${seq}`);
    this.respond(req, 200);
    this.respond(pending.req, 487, { toTag: randomBytes(8).toString('hex') });
  }

  // ---- INFO ----------------------------------------------------------------------------------------------

  private info(req: SipRequest): void {
    const dialog = this.find(req);
    if (!dialog) {
      this.respond(req, 481);
      return;
    }
    // the connection's own bucket, then the user's budget shared with REST and the WebSocket
    const user = this.opts.state.user;
    const wait = !this.bucket.take() ? 1000 : user !== undefined ? (this.opts.limiter?.take(user) ?? 0) : 0;
    if (wait > 0) {
      this.respond(req, 503, { reason: 'Slow down', headers: [['Retry-After', String(Math.ceil(wait / 1000))]] });
      return;
    }
    dialog.session.handleInfo(req.body, (status, reason) => {
      if (!this.conn.isClosed) this.respond(req, status, reason ? { reason } : {});
    });
  }

  /** Sends one envelope to the client in a server INFO and tracks the transaction. */
  /** Ends a dialog from our side: BYE to the client (its answer needs no handling), then drop it. */
  private bye(dialog: Dialog, reason: string): void {
    if (dialog.closed) return;
    if (!this.conn.isClosed) {
      const seq = ++dialog.cseq;
      this.conn.send(
        createRequest('BYE', dialog.remoteTarget, [
          [
            'Via',
            `SIP/2.0/${this.conn.transport.toUpperCase()} ${this.opts.localHost}:${this.opts.localPort};branch=z9hG4bK${randomBytes(8).toString('hex')}`,
          ],
          ['Max-Forwards', '70'],
          ['From', dialog.localParty],
          ['To', dialog.remoteParty],
          ['Call-ID', dialog.callId],
          ['CSeq', `${seq} BYE`],
          ['Reason', `SIP;cause=200;text="${reason.replace(/["\\\r\n]/g, '')}"`],
        ]),
      );
    }
    this.log.info('sip dialog ended by the server', { callId: dialog.callId, reason });
    this.drop(dialog, reason);
  }

  private sendInfo(dialog: Dialog, envelope: string): void {
    if (dialog.closed || this.conn.isClosed) return;
    if (dialog.pending.size >= this.limits.maxPendingPerDialog) {
      this.log.warn('sip client not answering INFOs; dropping dialog', { callId: dialog.callId });
      this.drop(dialog, 'too many unanswered INFOs');
      return;
    }
    const seq = ++dialog.cseq;
    const req = createRequest(
      'INFO',
      dialog.remoteTarget,
      [
        [
          'Via',
          `SIP/2.0/${this.conn.transport.toUpperCase()} ${this.opts.localHost}:${this.opts.localPort};branch=z9hG4bK${randomBytes(8).toString('hex')}`,
        ],
        ['Max-Forwards', '70'],
        ['From', dialog.localParty],
        ['To', dialog.remoteParty],
        ['Call-ID', dialog.callId],
        ['CSeq', `${seq} INFO`],
        ['Contact', this.contact],
        ['Content-Type', 'text/plain'],
      ],
      envelope,
    );
    const timer = setTimeout(() => {
      dialog.pending.delete(seq);
      this.log.info('sip info timed out; dropping dialog', { callId: dialog.callId, seq });
      this.drop(dialog, 'INFO timed out');
    }, this.limits.transactionTimeoutMs);
    timer.unref();
    dialog.pending.set(seq, timer);
    this.conn.send(req);
  }

  // ---- dialog bookkeeping --------------------------------------------------------------------------------

  /** The dialog an in-dialog request belongs to: same Call-ID, To-tag ours, From-tag theirs. */
  private find(req: SipRequest): Dialog | undefined {
    const dialog = this.dialogs.get(req.headers.get('call-id') ?? '');
    if (!dialog || dialog.closed) return undefined;
    if (getTag(req.headers.get('to')) !== dialog.localTag) return undefined;
    const fromTag = getTag(req.headers.get('from'));
    if (dialog.remoteTag !== undefined && fromTag !== dialog.remoteTag) return undefined;
    return dialog;
  }

  /** Restarts the session timer (INVITE, re-INVITE, UPDATE). */
  private refresh(dialog: Dialog): void {
    if (dialog.expiryTimer) clearTimeout(dialog.expiryTimer);
    dialog.expiryTimer = setTimeout(
      () => this.drop(dialog, 'session expired'),
      this.limits.sessionExpiresSeconds * 1000 + this.limits.transactionTimeoutMs,
    );
    dialog.expiryTimer.unref();
  }

  private drop(dialog: Dialog, reason: string): void {
    if (dialog.closed) return;
    dialog.closed = true;
    if (this.dialogs.get(dialog.callId) === dialog) this.dialogs.delete(dialog.callId);
    if (dialog.expiryTimer) clearTimeout(dialog.expiryTimer);
    for (const timer of dialog.pending.values()) clearTimeout(timer);
    dialog.pending.clear();
    dialog.session.close();
    this.log.debug('sip dialog closed', { callId: dialog.callId, kind: dialog.kind, reason });
  }
}
