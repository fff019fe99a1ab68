// The WebSocket transport at /ws: JSON frames { id, type, ... } answered by { id, type: 'result', ok: true, ... }
// or { id, type: 'error', code, message, field? }; chat events go out as { type: 'event', event }.
//
// Fan-out cost is the per-socket write, so: each ChatEvent (one object shared by every recipient) is
// serialized once into a Buffer cached in a WeakMap, and the writes of one event-loop turn are grouped per
// socket with cork/uncork. A socket that cannot keep up (bufferedAmount above a bound) is closed, never
// buffered without limit. Every handler is wrapped: bad input gets an error frame and changes nothing.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import type { ChatService } from '../../chat/chat-service.js';
import { TokenBucket } from '../../chat/token-bucket.js';
import type { ChatEvent, Session } from '../../chat/types.js';
import { rateLimited, type UserRateLimiter } from '../../chat/user-rate-limiter.js';
import { PchatError } from '../../core/errors.js';
import { MESSAGE_KINDS } from '../../core/model.js';
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import { toPchatError } from './errors.js';

export interface WsOptions {
  /** Largest accepted frame in bytes; a larger one closes the socket with 1009. */
  maxPayload: number;
  /** Token bucket per connection. */
  ratePerSecond: number;
  rateBurst: number;
  /** A socket whose unsent data passes this many bytes is closed with 1008. */
  maxBufferedBytes: number;
  /** Ping interval; a socket that has not answered the previous ping is dropped. */
  heartbeatMs: number;
}

export const DEFAULT_WS_OPTIONS: WsOptions = {
  maxPayload: 256 * 1024,
  ratePerSecond: 50,
  rateBurst: 200,
  maxBufferedBytes: 8 * 1024 * 1024,
  heartbeatMs: 30_000,
};

const frameCache = new WeakMap<ChatEvent, Buffer>();

/**
 * A whole WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked as a server's frames are, then the
 * payload length in 7, 7+16 or 7+64 bits) around `payload`. The same bytes are valid on every connection, so a
 * fan-out writes one shared Buffer per recipient instead of framing the event again for each.
 */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x81;
  if (n < 126) out[1] = n;
  else if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(out, head);
  return out;
}

/** The event as a whole frame on the wire, serialized and framed once however many sessions receive it. */
export function eventFrame(e: ChatEvent): Buffer {
  let b = frameCache.get(e);
  if (!b) {
    b = textFrame(Buffer.from(JSON.stringify({ type: 'event', event: e })));
    frameCache.set(e, b);
  }
  return b;
}

type Frame = Record<string, unknown> & { id?: unknown; type: string };
type Payload = Record<string, unknown>;

// ---- request schemas (validated at the edge) -----------------------------------------------------------------
const roomId = z.string().min(1).max(256);
const optInt = z.number().int().optional();
const S = {
  auth: z.object({ token: z.string().min(1).max(512) }),
  join: z.union([
    z.object({ rooms: z.array(roomId).min(1).max(1000) }),
    z.object({ room: roomId }).transform((v) => ({ rooms: [v.room] })),
    // bjoin of the followed rooms: what a client does at sign-in
    z.object({ followed: z.literal(true) }).transform(() => ({ rooms: undefined })),
  ]),
  room: z.object({ room: roomId }),
  post: z.object({
    room: roomId,
    text: z.string(),
    kind: z.enum(MESSAGE_KINDS).optional(),
    title: z.string().nullish(),
    rich: z.string().nullish(),
  }),
  history: z.object({ room: roomId, before: optInt, after: optInt, limit: optInt }),
  search: z.object({
    text: z.string().optional(),
    room: roomId.optional(),
    authors: z.array(z.string()).optional(),
    since: optInt,
    until: optInt,
    exact: z.boolean().optional(),
    case: z.boolean().optional(),
    before: optInt,
    limit: optInt,
  }),
  rooms: z.object({ q: z.string().optional(), limit: optInt }),
  associations: z.object({ role: z.enum(['member', 'manager']).optional() }),
  markRead: z.object({ room: roomId, messageId: z.number().int().min(0) }),
  invitations: z.object({ after: optInt, limit: optInt }),
  feedPut: z.object({
    feed: z.object({
      id: z.string().optional(),
      name: z.string(),
      keywords: z.array(z.string()).default([]),
      authors: z.array(z.string()).default([]),
      roomIds: z.array(z.string()).default([]),
      alert: z.boolean().default(true),
    }),
  }),
  feedId: z.object({ feed: z.string().min(1) }),
  feedMessages: z.object({ feed: z.string().min(1), before: optInt, limit: optInt }),
  prefGet: z.object({ label: z.string() }),
  prefSet: z.object({ label: z.string(), content: z.string() }),
};

class Connection {
  session: Session | undefined;
  private authing: Promise<void> | undefined;
  alive = true;
  corked = false;
  private readonly bucket: TokenBucket;
  closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly gw: WsGateway,
    readonly remote: string,
  ) {
    this.bucket = new TokenBucket(gw.opts.ratePerSecond, gw.opts.rateBurst);
  }

  get user(): string | undefined {
    return this.session?.user;
  }

  /** Queues a frame; the socket is corked until the end of this event-loop turn. */
  send(buf: Buffer): void {
    const sock = this.corkedSocket();
    if (!sock) return;
    this.ws.send(buf, { binary: false });
    if (this.ws.bufferedAmount > this.gw.opts.maxBufferedBytes) this.closeSlow();
  }

  /**
   * Queues an already framed event (`eventFrame`) straight on the socket. Safe beside `ws`'s own writes because
   * compression is off: `ws` then writes each frame whole and at once, never holding one back in a queue, so
   * frames cannot interleave.
   */
  sendFramed(frame: Buffer): void {
    const sock = this.corkedSocket();
    if (!sock) return;
    sock.write(frame);
    if (this.ws.bufferedAmount > this.gw.opts.maxBufferedBytes) this.closeSlow();
  }

  /** The open connection's socket, corked until the end of this event-loop turn; undefined once closing. */
  private corkedSocket(): Socket | undefined {
    const ws = this.ws;
    if (this.closed || ws.readyState !== WebSocket.OPEN) return undefined;
    const sock = (ws as unknown as { _socket?: Socket })._socket;
    if (sock && !this.corked) {
      sock.cork();
      this.corked = true;
      this.gw.scheduleUncork(this);
    }
    return sock;
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    (this.ws as unknown as { _socket?: Socket })._socket?.uncork();
  }

  private closeSlow(): void {
    if (this.closed) return;
    this.gw.metrics.wsClosedSlow.inc();
    this.gw.log.warn('closing a slow websocket', { user: this.user, buffered: this.ws.bufferedAmount });
    this.shutdown(1008, 'too much unsent data; read faster');
    // a peer that does not read will not read the close frame either
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  shutdown(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.uncork();
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
  }

  sendJson(v: unknown): void {
    this.send(Buffer.from(JSON.stringify(v)));
  }

  sendError(id: unknown, err: PchatError): void {
    this.gw.metrics.refused.inc({ door: 'ws', code: err.code });
    if (err.code === 'AUTH_FAILED') this.gw.metrics.signInFailures.inc({ door: 'ws' });
    this.sendJson({
      id: id ?? null,
      type: 'error',
      code: err.code,
      message: err.message,
      ...(err.field ? { field: err.field } : {}),
    });
  }

  openSession(user: string, token?: string): void {
    this.session = this.gw.chat.openSession(
      user,
      (e) => {
        this.sendFramed(eventFrame(e));
        // the server ended the session (token revoked, password changed): close with the reason
        if (e.type === 'ended') this.shutdown(4001, e.message);
      },
      'ws',
      token,
    );
  }

  async onMessage(data: RawData, isBinary: boolean): Promise<void> {
    this.alive = true;
    let frame: Frame;
    try {
      if (isBinary) throw new PchatError('BAD_REQUEST', 'Frames are JSON text.');
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawText(data));
      } catch {
        throw new PchatError('BAD_REQUEST', 'The frame is not valid JSON.');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new PchatError('BAD_REQUEST', 'A frame is a JSON object with a type.');
      const f = parsed as Record<string, unknown>;
      if (typeof f.type !== 'string' || f.type === '')
        throw new PchatError('BAD_REQUEST', 'A frame needs a type.', { field: 'type' });
      frame = f as Frame;
    } catch (e) {
      this.sendError(null, toPchatError(e));
      return;
    }
    const id = frame.id;
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') {
      this.sendError(null, new PchatError('BAD_REQUEST', 'id: a string or a number', { field: 'id' }));
      return;
    }
    // the connection's own bucket, then the user's budget shared with REST and SIP
    const wait = !this.bucket.take() ? 1000 : this.user !== undefined ? (this.gw.limiter?.take(this.user) ?? 0) : 0;
    if (wait > 0) {
      this.gw.metrics.wsRateLimited.inc();
      this.gw.metrics.rateLimited.inc({ door: 'ws' });
      this.sendError(id, rateLimited(wait));
      return;
    }
    this.gw.metrics.wsRequests.inc();
    try {
      const payload = await this.dispatch(frame);
      if (this.closed) return;
      this.sendJson({ ...payload, id: id ?? null, type: 'result', ok: true });
    } catch (e) {
      const err = toPchatError(e);
      if (err.code === 'INTERNAL') this.gw.log.error('websocket request failed', { type: frame.type, err: e });
      this.sendError(id, err);
    }
  }

  private async dispatch(f: Frame): Promise<Payload> {
    if (f.type === 'ping') return { pong: Date.now() };
    if (f.type === 'auth') return this.auth(S.auth.parse(f).token);
    if (!this.session && this.authing) await this.authing.catch(() => {});
    const session = this.session;
    if (!session) {
      if (!Object.hasOwn(HANDLERS, f.type))
        throw new PchatError('UNKNOWN_TYPE', `Unknown type "${f.type}".`, { field: 'type' });
      throw new PchatError('AUTH_REQUIRED', 'Send { "type": "auth", "token": … } first.');
    }
    const h = Object.hasOwn(HANDLERS, f.type) ? HANDLERS[f.type] : undefined;
    if (!h) throw new PchatError('UNKNOWN_TYPE', `Unknown type "${f.type}".`, { field: 'type' });
    return h(this.gw.chat, session, f);
  }

  private async auth(token: string): Promise<Payload> {
    if (this.session) throw new PchatError('BAD_REQUEST', 'This connection is already signed in.');
    if (this.authing) throw new PchatError('BAD_REQUEST', 'Sign-in is already under way.');
    let user = '';
    this.authing = (async () => {
      user = await this.gw.chat.authenticate(token);
      if (this.closed) throw new PchatError('BAD_REQUEST', 'The connection closed.');
      this.openSession(user, token);
    })();
    try {
      await this.authing;
    } finally {
      this.authing = undefined;
    }
    const u = this.gw.chat.model.directory.users.get(user);
    return { user, displayName: u?.displayName ?? user };
  }

  onClose(): void {
    this.closed = true;
    this.corked = false;
    if (this.session) {
      try {
        this.gw.chat.closeSession(this.session);
      } catch (e) {
        this.gw.log.error('closing a session failed', { err: e });
      }
      this.session = undefined;
    }
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

type RequestHandler = (chat: ChatService, s: Session, f: Frame) => Promise<Payload> | Payload;

const HANDLERS: Record<string, RequestHandler> = {
  me: (_chat, s) => ({ user: s.user, displayName: s.displayName }),
  server: (chat) => ({ server: chat.serverInfo() }),
  join: async (chat, s, f) => {
    const { rooms } = S.join.parse(f);
    return { results: rooms ? await chat.join(s, rooms) : await chat.joinFollowed(s) };
  },
  part: async (chat, s, f) => {
    await chat.part(s, S.room.parse(f).room);
    return {};
  },
  post: async (chat, s, f) => {
    const p = S.post.parse(f);
    return { message: await chat.post(s, p.room, { kind: p.kind, text: p.text, title: p.title, rich: p.rich }) };
  },
  history: async (chat, s, f) => {
    const q = S.history.parse(f);
    return {
      messages: await chat.history(s.user, q.room, { beforeId: q.before, afterId: q.after, limit: q.limit }, 'ws'),
    };
  },
  search: async (chat, s, f) => {
    const q = S.search.parse(f);
    const r = await chat.search(
      s.user,
      {
        text: q.text,
        roomId: q.room,
        authors: q.authors,
        since: q.since,
        until: q.until,
        exactPhrase: q.exact,
        caseSensitive: q.case,
        beforeId: q.before,
        limit: q.limit,
      },
      'ws',
    );
    return { ...r };
  },
  rooms: (chat, s, f) => {
    const q = S.rooms.parse(f);
    return { rooms: chat.searchRooms(s.user, { query: q.q, limit: q.limit }) };
  },
  associations: (chat, s, f) => ({ rooms: chat.associations(s.user, S.associations.parse(f).role ?? 'member') }),
  room: (chat, s, f) => ({ room: chat.roomDetails(s.user, S.room.parse(f).room) }),
  follow: async (chat, s, f) => {
    await chat.follow(s.user, S.room.parse(f).room, true);
    return {};
  },
  unfollow: async (chat, s, f) => {
    await chat.follow(s.user, S.room.parse(f).room, false);
    return {};
  },
  follows: async (chat, s) => ({ follows: await chat.follows(s.user) }),
  markRead: async (chat, s, f) => {
    const q = S.markRead.parse(f);
    await chat.markRead(s.user, q.room, q.messageId);
    return {};
  },
  invitations: async (chat, s, f) => {
    const q = S.invitations.parse(f);
    return { invitations: await chat.invitations(s.user, q.after ?? 0, q.limit ?? 100) };
  },
  feeds: async (chat, s) => ({ feeds: await chat.listFeeds(s.user) }),
  'feed.put': async (chat, s, f) => ({ feed: await chat.putFeed(s.user, S.feedPut.parse(f).feed) }),
  'feed.remove': async (chat, s, f) => {
    await chat.removeFeed(s.user, S.feedId.parse(f).feed);
    return {};
  },
  'feed.messages': async (chat, s, f) => {
    const q = S.feedMessages.parse(f);
    return { messages: await chat.feed(s.user, q.feed, { beforeId: q.before, limit: q.limit }) };
  },
  'pref.get': async (chat, s, f) => {
    const q = S.prefGet.parse(f);
    return { label: q.label, content: (await chat.getPref(s.user, q.label)) ?? null };
  },
  'pref.set': async (chat, s, f) => {
    const q = S.prefSet.parse(f);
    await chat.setPref(s.user, q.label, q.content);
    return {};
  },
};

/** The request types the WebSocket answers (docs and tests). */
export const WS_REQUEST_TYPES = ['auth', 'ping', ...Object.keys(HANDLERS)];

export class WsGateway {
  readonly wss: WebSocketServer;
  readonly opts: WsOptions;
  private readonly connections = new Set<Connection>();
  private readonly toUncork = new Set<Connection>();
  private uncorkScheduled = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly chat: ChatService,
    readonly metrics: Metrics,
    readonly log: Logger,
    opts: Partial<WsOptions> = {},
    /** The per-user budget shared by every door. */
    readonly limiter?: UserRateLimiter,
  ) {
    this.opts = { ...DEFAULT_WS_OPTIONS, ...opts };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.connections.size;
  }

  scheduleUncork(c: Connection): void {
    this.toUncork.add(c);
    if (this.uncorkScheduled) return;
    this.uncorkScheduled = true;
    setImmediate(() => {
      this.uncorkScheduled = false;
      const list = [...this.toUncork];
      this.toUncork.clear();
      for (const conn of list) conn.uncork();
    });
  }

  private beat(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        this.log.debug('dropping a dead websocket', { user: c.user });
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }

  /** Completes an upgrade to /ws. A `?token=` is checked first: a bad one is refused with 401, no upgrade. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, token: string | undefined): void {
    socket.on('error', () => {});
    const upgrade = (user: string | undefined) =>
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, user, token));
    if (token === undefined) {
      upgrade(undefined);
      return;
    }
    this.chat.authenticate(token).then(upgrade, (e) => {
      const err = toPchatError(e);
      const body = JSON.stringify({ error: { code: err.code, message: err.message } });
      socket.end(
        `HTTP/1.1 ${err.status} Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  }

  private onConnection(ws: WebSocket, req: IncomingMessage, user: string | undefined, token?: string): void {
    const c = new Connection(ws, this, req.socket.remoteAddress ?? '');
    this.connections.add(c);
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      c.onMessage(data, isBinary).catch((e) => this.log.error('websocket handler crashed', { err: e }));
    });
    ws.on('error', (e) => {
      // ws closes the socket itself (1009 for an oversized frame, 1002 for protocol errors)
      this.log.debug('websocket error', { user: c.user, err: e.message });
    });
    ws.on('close', (code) => {
      this.connections.delete(c);
      this.toUncork.delete(c);
      c.onClose();
      this.log.debug('websocket closed', { user: c.user, code });
    });
    if (user !== undefined) {
      try {
        c.openSession(user, token);
      } catch (e) {
        const err = toPchatError(e);
        c.sendError(null, err);
        c.shutdown(1008, err.code);
      }
    }
  }

  /** Closes every connection (1001) and stops the heartbeat. */
  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const c of this.connections) c.shutdown(1001, 'server shutting down');
    setTimeout(() => {
      for (const c of this.connections) c.ws.terminate();
    }, 500).unref();
    this.wss.close();
  }
}
