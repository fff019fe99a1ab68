// PchatConnection: the live WebSocket of a PchatClient. Requests are correlated by id; events arrive as typed
// callbacks. When the socket drops it reconnects with backoff, signs in again (a fresh token when the old one
// expired and credentials are known), rejoins its rooms and catches up each room from the last message id
// it saw (history after=), so no message is missed and none is delivered twice across a reconnect.
//
// Requests in flight when the socket drops fail with DISCONNECTED and are never resent: a post may or may
// not have been committed, and resending could duplicate it. Check history instead.
//
// A server cut off from the network sends no reset, so a socket can look open for minutes. Three checks notice:
// a socket that does not open within connectTimeoutMs is given up; a connection that heard nothing for
// pingIntervalMs sends a `ping` and drops the socket when no answer comes within pingTimeoutMs; and any request
// that times out drops the socket too. A dropped socket reconnects (to the pool's next server when one is known).
import type { PchatClient } from './client.js';
import { PchatApiError } from './errors.js';
import type {
  ChatEvent,
  FeedFilter,
  FeedInput,
  FollowView,
  HistoryQuery,
  InvitationView,
  JoinOutcome,
  MessageView,
  PostInput,
  RoomView,
  SearchInput,
  SearchView,
  ServerInfo,
} from './types.js';

/** The part of the WebSocket API this uses (the browser's and the `ws` package's both have it). */
interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
type SocketCtor = new (url: string) => SocketLike;

/** Sign-in answers after which a reconnect stops (the credentials themselves are refused). */
const FINAL_SIGN_IN_ERRORS = new Set(['AUTH_FAILED', 'AUTH_REQUIRED', 'POLICY_DISABLED']);
export interface ConnectOptions {
  /** Reconnect when the socket drops (default true). */
  reconnect?: boolean;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A request without an answer after this long fails with TIMEOUT and drops the socket (default 30 s). */
  requestTimeoutMs?: number;
  /** A socket not open after this long is given up (default 10 s). */
  connectTimeoutMs?: number;
  /** After this long without a frame from the server a `ping` is sent (default 20 s; 0 turns the check off). */
  pingIntervalMs?: number;
  /** The socket is dropped when the ping's answer does not come within this long (default 10 s). */
  pingTimeoutMs?: number;
  /** WebSocket implementation; default the global one, else the `ws` package. */
  WebSocket?: SocketCtor;
}

type EventOf<T extends ChatEvent['type']> = Extract<ChatEvent, { type: T }>;

export interface ConnectionEvents {
  /** Every chat event (message, join, part, removed, invitation, alert, room.updated, room.large…). */
  event: ChatEvent;
  message: MessageView;
  join: EventOf<'join'>;
  part: EventOf<'part'>;
  removed: EventOf<'removed'>;
  invitation: EventOf<'invitation'>;
  alert: EventOf<'alert'>;
  'room.updated': EventOf<'room.updated'>;
  'room.large': EventOf<'room.large'>;
  /** The socket dropped; a reconnect is scheduled. */
  disconnected: { code: number; reason: string };
  /** Signed in, rooms rejoined and caught up after a drop. */
  reconnected: { rooms: string[] };
  /** The connection is closed for good. */
  closed: { code: number; reason: string };
  /** An error frame without a request id, or a failed reconnect attempt. */
  error: PchatApiError;
}

type Listener<T> = (value: T) => void;

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: PchatApiError): void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

/** Failures of a reconnect after which a client that knows other servers of the pool tries the next one. */
const MOVE_ON_ERRORS = new Set(['DISCONNECTED', 'TIMEOUT', 'SERVER_STANDBY', 'STORE_UNAVAILABLE', 'BUS_UNAVAILABLE']);

export class PchatConnection {
  private socket: SocketLike | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<keyof ConnectionEvents, Set<Listener<never>>>();
  /** Rooms this connection is in (rejoined after a reconnect). */
  readonly joined = new Set<string>();
  /** The newest message id seen per room. */
  private readonly lastSeen = new Map<string, number>();
  /** Rooms being caught up after a reconnect: their live messages wait here. */
  private readonly held = new Map<string, MessageView[]>();
  private closedByUser = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** The liveness check of the current socket, and when its last frame arrived. */
  private liveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFrameAt = 0;
  private pinging = false;
  state: 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' = 'idle';
  user: string | undefined;
  private readonly opts: Required<Omit<ConnectOptions, 'WebSocket'>> & { WebSocket?: SocketCtor };

  constructor(
    readonly client: PchatClient,
    opts: ConnectOptions = {},
  ) {
    this.opts = {
      reconnect: opts.reconnect ?? true,
      minDelayMs: opts.minDelayMs ?? 250,
      maxDelayMs: opts.maxDelayMs ?? 5000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      pingIntervalMs: opts.pingIntervalMs ?? 20_000,
      pingTimeoutMs: opts.pingTimeoutMs ?? 10_000,
      WebSocket: opts.WebSocket,
    };
  }

  // ---- events ----------------------------------------------------------------------------------------------

  on<K extends keyof ConnectionEvents>(name: K, fn: Listener<ConnectionEvents[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(fn as Listener<never>);
    return () => this.off(name, fn);
  }

  off<K extends keyof ConnectionEvents>(name: K, fn: Listener<ConnectionEvents[K]>): void {
    this.listeners.get(name)?.delete(fn as Listener<never>);
  }

  /** Resolves with the next event of that name matching `filter`. */
  next<K extends keyof ConnectionEvents>(
    name: K,
    filter: (v: ConnectionEvents[K]) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<ConnectionEvents[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new PchatApiError('TIMEOUT', `no ${String(name)} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(name, (v) => {
        if (!filter(v)) return;
        clearTimeout(timer);
        off();
        resolve(v);
      });
    });
  }

  private emit<K extends keyof ConnectionEvents>(name: K, value: ConnectionEvents[K]): void {
    for (const fn of [...(this.listeners.get(name) ?? [])]) {
      try {
        (fn as Listener<ConnectionEvents[K]>)(value);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  // ---- socket ----------------------------------------------------------------------------------------------

  private async socketCtor(): Promise<SocketCtor> {
    if (this.opts.WebSocket) return this.opts.WebSocket;
    const g = (globalThis as { WebSocket?: SocketCtor }).WebSocket;
    if (g) return g;
    const mod = (await import('ws')) as unknown as { WebSocket: SocketCtor };
    return mod.WebSocket;
  }

  /** Connects and signs in. Called by PchatClient.connect(). */
  async open(): Promise<void> {
    if (this.state !== 'idle') throw new PchatApiError('BAD_REQUEST', 'already opened');
    this.state = 'connecting';
    try {
      await this.establish();
    } catch (e) {
      this.state = 'closed';
      this.stopLiveness();
      if (this.socket) killSocket(this.socket);
      throw e;
    }
    this.state = 'open';
  }

  private async establish(): Promise<void> {
    const Ctor = await this.socketCtor();
    const socket = new Ctor(this.client.wsUrl());
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new PchatApiError('TIMEOUT', `the socket did not open within ${this.opts.connectTimeoutMs} ms`));
        killSocket(socket);
      }, this.opts.connectTimeoutMs);
      const fail = (e: PchatApiError) => {
        clearTimeout(timer);
        reject(e);
      };
      socket.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.onerror = () => fail(new PchatApiError('DISCONNECTED', 'cannot connect'));
      socket.onclose = (ev) => fail(new PchatApiError('DISCONNECTED', `closed (${ev.code})`));
    });
    socket.onmessage = (ev) => this.onFrame(ev.data);
    socket.onerror = () => {};
    socket.onclose = (ev) => this.onSocketClose(socket, ev.code, ev.reason);
    this.startLiveness(socket);
    if (!this.client.token && !(await this.client.refreshToken()))
      throw new PchatApiError('AUTH_REQUIRED', 'sign in before connecting');
    let r: Record<string, unknown>;
    try {
      r = await this.request('auth', { token: this.client.token });
    } catch (e) {
      if (!(e instanceof PchatApiError) || e.code !== 'TOKEN_INVALID' || !(await this.client.refreshToken())) throw e;
      r = await this.request('auth', { token: this.client.token });
    }
    this.user = r.user as string;
  }

  /** Pings the server when the socket has been quiet for pingIntervalMs; a ping without answer drops it. */
  private startLiveness(socket: SocketLike): void {
    this.stopLiveness();
    this.lastFrameAt = Date.now();
    const every = this.opts.pingIntervalMs;
    if (every <= 0) return;
    const tick = (): void => {
      this.liveTimer = undefined;
      if (socket !== this.socket) return;
      const quiet = Date.now() - this.lastFrameAt;
      if (quiet >= every && !this.pinging && this.state === 'open') {
        this.pinging = true;
        // a timeout drops the socket (see request); any other answer means the server is there
        this.request('ping', {}, this.opts.pingTimeoutMs)
          .catch(() => {})
          .finally(() => {
            this.pinging = false;
          });
      }
      this.liveTimer = setTimeout(tick, Math.max(50, every - (quiet >= every ? 0 : quiet)));
      this.liveTimer.unref?.();
    };
    this.liveTimer = setTimeout(tick, every);
    this.liveTimer.unref?.();
  }

  private stopLiveness(): void {
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
    this.pinging = false;
  }

  /** Gives up the current socket as a network failure would: pending requests fail, a reconnect follows. */
  private dropCurrent(reason: string): void {
    const s = this.socket;
    if (!s) return;
    this.onSocketClose(s, 4000, reason);
    killSocket(s);
  }

  private onSocketClose(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.stopLiveness();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new PchatApiError('DISCONNECTED', 'the connection dropped before the answer'));
      this.pending.delete(id);
    }
    if (this.closedByUser || !this.opts.reconnect || this.state === 'connecting') {
      if (this.state !== 'connecting') {
        this.state = 'closed';
        this.emit('closed', { code, reason });
      }
      return;
    }
    this.state = 'reconnecting';
    this.emit('disconnected', { code, reason });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closedByUser || this.reconnectTimer) return;
    const delay = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** Math.min(this.attempt, 10));
    const jittered = delay / 2 + Math.random() * (delay / 2);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, jittered);
  }

  private async reconnect(): Promise<void> {
    if (this.closedByUser) return;
    const rooms = [...this.joined];
    for (const r of rooms) this.held.set(r, []);
    try {
      await this.establish();
      if (rooms.length > 0) {
        const outcomes = await this.joinRaw(rooms);
        for (const o of outcomes) {
          if (o.ok) await this.catchUp(o.joined.room.id);
          else {
            this.joined.delete(o.roomId);
            this.held.delete(o.roomId);
            const removed: EventOf<'removed'> = { type: 'removed', roomId: o.roomId, code: o.code, message: o.message };
            this.emit('event', removed);
            this.emit('removed', removed);
          }
        }
      }
      this.attempt = 0;
      this.state = 'open';
      this.emit('reconnected', { rooms: [...this.joined] });
    } catch (e) {
      this.held.clear();
      const err = e instanceof PchatApiError ? e : new PchatApiError('DISCONNECTED', String(e));
      this.emit('error', err);
      this.stopLiveness();
      const s = this.socket;
      this.socket = undefined;
      if (s) killSocket(s);
      if (FINAL_SIGN_IN_ERRORS.has(err.code)) {
        // the kept credentials no longer sign in (password changed, user disabled): retrying would only count
        // as password guessing against the user. Stay closed; the application signs in again.
        if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
        this.state = 'closed';
        this.emit('closed', { code: 4001, reason: err.message });
        return;
      }
      // this server is gone or on standby: the next attempt goes to another server of the pool, at once
      if (MOVE_ON_ERRORS.has(err.code) && this.client.nextServer()) this.attempt = 0;
      if (!this.closedByUser) this.scheduleReconnect();
    }
  }

  /** Delivers what a room missed since the last message seen, then what arrived live meanwhile. */
  private async catchUp(roomId: string): Promise<void> {
    const after = this.lastSeen.get(roomId);
    if (after !== undefined) {
      for (;;) {
        const r = await this.request('history', {
          room: roomId,
          after: this.lastSeen.get(roomId) ?? after,
          limit: 500,
        });
        const msgs = r.messages as MessageView[];
        for (const m of msgs) this.deliverMessage(m);
        if (msgs.length < 500) break;
      }
    }
    const held = this.held.get(roomId) ?? [];
    this.held.delete(roomId);
    for (const m of held) this.deliverMessage(m);
  }

  /** Emits a message unless it was seen already; keeps the room's last seen id. */
  private deliverMessage(m: MessageView): void {
    const last = this.lastSeen.get(m.roomId);
    if (last !== undefined && m.id <= last) return;
    this.lastSeen.set(m.roomId, m.id);
    const e: ChatEvent = { type: 'message', message: m };
    this.emit('event', e);
    this.emit('message', m);
  }

  private onFrame(data: unknown): void {
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data as Uint8Array));
    } catch {
      return;
    }
    this.lastFrameAt = Date.now(); // any frame shows the server is there
    if (f.type === 'event') {
      this.onEvent(f.event as ChatEvent);
      return;
    }
    const id = typeof f.id === 'number' ? f.id : undefined;
    const p = id !== undefined ? this.pending.get(id) : undefined;
    if (f.type === 'result' && p) {
      this.pending.delete(id as number);
      clearTimeout(p.timer);
      p.resolve(f);
    } else if (f.type === 'error') {
      const err = new PchatApiError(
        String(f.code),
        String(f.message),
        undefined,
        typeof f.field === 'string' ? f.field : undefined,
      );
      if (p) {
        this.pending.delete(id as number);
        clearTimeout(p.timer);
        p.reject(err);
      } else this.emit('error', err);
    }
  }

  private onEvent(e: ChatEvent): void {
    if (e.type === 'message') {
      const held = this.held.get(e.message.roomId);
      if (held) held.push(e.message);
      else this.deliverMessage(e.message);
      return;
    }
    if (e.type === 'removed') this.joined.delete(e.roomId);
    this.emit('event', e);
    switch (e.type) {
      case 'join':
        this.emit('join', e);
        break;
      case 'part':
        this.emit('part', e);
        break;
      case 'removed':
        this.emit('removed', e);
        break;
      case 'invitation':
        this.emit('invitation', e);
        break;
      case 'alert':
        this.emit('alert', e);
        break;
      case 'room.updated':
        this.emit('room.updated', e);
        break;
      case 'room.large':
        this.emit('room.large', e);
        break;
    }
  }

  // ---- requests --------------------------------------------------------------------------------------------

  /**
   * Sends one request frame and resolves with the result frame (or rejects with the error frame). A request
   * without an answer in time fails with TIMEOUT and drops an open connection's socket: a server that stops
   * answering is taken for gone (the reconnect finds it again, or the pool's next server).
   */
  request(
    type: string,
    fields: Record<string, unknown> = {},
    timeoutMs = this.opts.requestTimeoutMs,
  ): Promise<Record<string, unknown>> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN)
      return Promise.reject(new PchatApiError('DISCONNECTED', 'not connected'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PchatApiError('TIMEOUT', `${type}: no answer within ${timeoutMs} ms`));
        // while connecting or reconnecting the caller gives the socket up itself
        if (this.state === 'open' && this.socket === socket) this.dropCurrent(`${type}: no answer`);
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        socket.send(JSON.stringify({ ...fields, id, type }));
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new PchatApiError('DISCONNECTED', 'not connected'));
      }
    });
  }

  /** Sends a raw text frame (for tests of malformed input). */
  sendRaw(text: string): void {
    this.socket?.send(text);
  }

  private async joinRaw(rooms: string[]): Promise<JoinOutcome[]> {
    return (await this.request('join', { rooms })).results as JoinOutcome[];
  }

  /** Joins one room or many (bjoin); each succeeds or fails on its own. */
  async join(rooms: string | string[]): Promise<JoinOutcome[]> {
    const list = Array.isArray(rooms) ? rooms : [rooms];
    return this.track(await this.joinRaw(list));
  }

  /** Joins every room the user follows (bjoin at sign-in). */
  async joinFollowed(): Promise<JoinOutcome[]> {
    return this.track((await this.request('join', { followed: true })).results as JoinOutcome[]);
  }

  /** Remembers the rooms joined and the newest message seen in each, for catch-up after a reconnect. */
  private track(outcomes: JoinOutcome[]): JoinOutcome[] {
    for (const o of outcomes) {
      if (!o.ok) continue;
      const id = o.joined.room.id;
      this.joined.add(id);
      const newest = o.joined.history.at(-1)?.id ?? 0;
      this.lastSeen.set(id, Math.max(this.lastSeen.get(id) ?? 0, newest));
    }
    return outcomes;
  }

  async part(room: string): Promise<void> {
    await this.request('part', { room });
    this.joined.delete(room);
  }

  async post(room: string, input: PostInput): Promise<MessageView> {
    return (await this.request('post', { room, ...input })).message as MessageView;
  }
  async history(room: string, q: HistoryQuery = {}): Promise<MessageView[]> {
    return (await this.request('history', { room, ...q })).messages as MessageView[];
  }
  async search(q: SearchInput): Promise<SearchView> {
    const r = await this.request('search', { ...q });
    return {
      messages: r.messages as MessageView[],
      count: r.count as number,
      exceededLimit: r.exceededLimit as boolean,
    };
  }
  async rooms(q: { q?: string; limit?: number } = {}): Promise<RoomView[]> {
    return (await this.request('rooms', q)).rooms as RoomView[];
  }
  async associations(role: 'member' | 'manager' = 'member'): Promise<RoomView[]> {
    return (await this.request('associations', { role })).rooms as RoomView[];
  }
  async room(room: string): Promise<RoomView> {
    return (await this.request('room', { room })).room as RoomView;
  }
  async follow(room: string): Promise<void> {
    await this.request('follow', { room });
  }
  async unfollow(room: string): Promise<void> {
    await this.request('unfollow', { room });
  }
  async follows(): Promise<FollowView[]> {
    return (await this.request('follows')).follows as FollowView[];
  }
  async markRead(room: string, messageId: number): Promise<void> {
    await this.request('markRead', { room, messageId });
  }
  async invitations(after = 0): Promise<InvitationView[]> {
    return (await this.request('invitations', { after })).invitations as InvitationView[];
  }
  async feeds(): Promise<FeedFilter[]> {
    return (await this.request('feeds')).feeds as FeedFilter[];
  }
  async putFeed(feed: FeedInput & { id?: string }): Promise<FeedFilter> {
    return (await this.request('feed.put', { feed })).feed as FeedFilter;
  }
  async removeFeed(id: string): Promise<void> {
    await this.request('feed.remove', { feed: id });
  }
  async feedMessages(id: string, q: { before?: number; limit?: number } = {}): Promise<MessageView[]> {
    return (await this.request('feed.messages', { feed: id, ...q })).messages as MessageView[];
  }
  async server(): Promise<ServerInfo> {
    return (await this.request('server')).server as ServerInfo;
  }
  async ping(): Promise<number> {
    return (await this.request('ping')).pong as number;
  }

  /** Drops the socket as a network failure would (the connection reconnects). For tests and diagnostics. */
  dropSocket(): void {
    const s = this.socket as (SocketLike & { terminate?: () => void }) | undefined;
    if (s?.terminate) s.terminate();
    else s?.close(4000, 'dropped');
  }

  /** Closes for good: no reconnect. */
  close(): Promise<void> {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopLiveness();
    const s = this.socket;
    if (!s || this.state === 'closed') {
      this.state = 'closed';
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = this.on('closed', () => {
        done();
        resolve();
      });
      s.close(1000, 'bye');
      setTimeout(resolve, 2000);
    });
  }
}

/** Closes a socket at once: `ws` sockets are terminated (no closing handshake with a peer that may be gone). */
function killSocket(s: SocketLike): void {
  const t = s as SocketLike & { terminate?: () => void };
  try {
    if (t.terminate) t.terminate();
    else s.close();
  } catch {
    // already closed
  }
}
