// The signed-in session: the SDK's REST client and live connection, the followed rooms with unread counts,
// the rooms this tab is in (roster, large-room state), invitations, feed alerts and the connection state.
// Components read it and call its methods; every rule stays on the server.
import {
  type ChatEvent,
  type FollowView,
  type InvitationView,
  type Me,
  type MessageView,
  PchatApiError,
  PchatClient,
  type PchatConnection,
  type RoomView,
  type ServerInfo,
} from '../../../src/client/index.js';
import { Observable } from './observable.js';

export type ConnState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface LiveRoom {
  room: RoomView;
  /** uri → display name; null in a large room. */
  roster: Map<string, string> | null;
  large: boolean;
}

export interface FeedAlert {
  filterId: string;
  filterName: string;
  message: MessageView;
}

/** Messages removed or replaced by an administrator (or purged by retention), as the server announces them. */
export type Moderation =
  | { kind: 'removed'; roomId: string; ids: number[] }
  | { kind: 'replaced'; roomId: string; ids: number[]; text: string };

const TOKEN_KEY = 'pchat.token';

export function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: the session lasts as long as the tab
  }
}

export class ChatSession extends Observable {
  readonly follows = new Map<string, FollowView>();
  readonly live = new Map<string, LiveRoom>();
  invitations: InvitationView[] = [];
  alerts: FeedAlert[] = [];
  connState: ConnState = 'open';
  /** A sentence for the user about something the server did (e.g. took us out of a room). */
  notice: { code: string; message: string; roomId?: string } | null = null;
  activeRoom: string | null = null;
  /** The newest message shown to the user per room (followed or not), so a new follow starts read. */
  private readonly seen = new Map<string, number>();
  private readonly messageSubs = new Set<(m: MessageView) => void>();
  private readonly moderationSubs = new Set<(m: Moderation) => void>();
  private readonly reconnectSubs = new Set<() => void>();

  private constructor(
    readonly client: PchatClient,
    readonly conn: PchatConnection,
    readonly me: Me,
    readonly server: ServerInfo,
  ) {
    super();
  }

  /** Signs in with a password (the SDK keeps the credentials to renew the token on reconnect). */
  static async signIn(user: string, password: string): Promise<ChatSession> {
    const client = new PchatClient(location.origin);
    await client.signIn(user, password);
    storeToken(client.token ?? null);
    return ChatSession.start(client);
  }

  /** Resumes with a stored token; throws TOKEN_INVALID when it no longer works. */
  static async resume(token: string): Promise<ChatSession> {
    const client = new PchatClient(location.origin, { token });
    try {
      return await ChatSession.start(client);
    } catch (e) {
      if (e instanceof PchatApiError && (e.code === 'TOKEN_INVALID' || e.code === 'AUTH_REQUIRED')) storeToken(null);
      throw e;
    }
  }

  private static async start(client: PchatClient): Promise<ChatSession> {
    const [me, server] = await Promise.all([client.me(), client.server()]);
    const conn = await client.connect({ maxDelayMs: 5000 });
    const s = new ChatSession(client, conn, me, server);
    s.wire();
    await s.loadInitial();
    return s;
  }

  private wire(): void {
    const c = this.conn;
    c.on('message', (m) => {
      const f = this.follows.get(m.roomId);
      if (f && m.id > f.lastReadId && m.author !== this.me.user && m.roomId !== this.activeRoom) {
        f.unread++;
        this.changed();
      }
      for (const fn of [...this.messageSubs]) fn(m);
    });
    c.on('join', (e) => {
      const r = this.live.get(e.roomId);
      if (r?.roster) {
        r.roster.set(e.user, e.displayName);
        r.room = { ...r.room, participants: r.roster.size };
        this.changed();
      }
    });
    c.on('part', (e) => {
      const r = this.live.get(e.roomId);
      if (r?.roster?.delete(e.user)) {
        r.room = { ...r.room, participants: r.roster.size };
        this.changed();
      }
    });
    c.on('removed', (e) => {
      this.live.delete(e.roomId);
      this.notice = { code: e.code, message: e.message, roomId: e.roomId };
      this.changed();
    });
    c.on('invitation', (e) => {
      if (!this.invitations.some((i) => i.id === e.invitation.id))
        this.invitations = [e.invitation, ...this.invitations];
      this.changed();
    });
    c.on('alert', (e) => {
      this.alerts = [{ filterId: e.filterId, filterName: e.filterName, message: e.message }, ...this.alerts].slice(
        0,
        50,
      );
      this.changed();
      notifyBrowser(e.filterName, `${e.message.authorName}: ${e.message.text}`);
    });
    c.on('room.large', (e) => {
      const r = this.live.get(e.roomId);
      if (!r) return;
      r.large = true;
      r.roster = null;
      r.room = { ...r.room, participants: e.participants };
      this.changed();
    });
    c.on('room.updated', (e) => {
      const r = this.live.get(e.room.id);
      if (r) r.room = e.room;
      const f = this.follows.get(e.room.id);
      if (f) f.room = e.room;
      this.changed();
    });
    // Moderation events are not part of the typed union yet: take them from the raw event stream.
    c.on('event', (e) => this.onOtherEvent(e));
    c.on('disconnected', () => {
      this.connState = 'reconnecting';
      this.changed();
    });
    c.on('reconnected', () => {
      this.connState = 'open';
      this.changed();
      for (const fn of [...this.reconnectSubs]) fn();
      void this.refreshFollows();
    });
    c.on('closed', () => {
      this.connState = 'closed';
      this.changed();
    });
  }

  private onOtherEvent(e: ChatEvent): void {
    const raw = e as unknown as Record<string, unknown>;
    const type = String(raw.type);
    if (type === 'ended') {
      // the server ended this session (token revoked, password changed): sign in again
      this.notice = { code: String(raw.code ?? 'TOKEN_INVALID'), message: String(raw.message ?? '') };
      this.connState = 'closed';
      storeToken(null);
      this.changed();
      return;
    }
    let mod: Moderation | undefined;
    const roomId = String(raw.roomId ?? '');
    const ids = (Array.isArray(raw.ids) ? raw.ids : [raw.messageId ?? raw.id]).map(Number).filter(Number.isFinite);
    if (type === 'message.removed' && ids.length) mod = { kind: 'removed', roomId, ids };
    else if (type === 'message.replaced' && ids.length)
      mod = { kind: 'replaced', roomId, ids, text: String(raw.text ?? '') };
    if (mod) for (const fn of [...this.moderationSubs]) fn(mod);
  }

  private async loadInitial(): Promise<void> {
    await this.refreshFollows();
    const outcomes = await this.conn.joinFollowed();
    for (const o of outcomes) if (o.ok) this.track(o.joined.room, o.joined.roster, o.joined.large);
    try {
      this.invitations = (await this.conn.invitations(0)).reverse();
    } catch {
      this.invitations = [];
    }
    this.changed();
  }

  async refreshFollows(): Promise<void> {
    const list = await this.conn.follows();
    this.follows.clear();
    for (const f of list) this.follows.set(f.room.id, f);
    this.changed();
  }

  private track(room: RoomView, roster: { uri: string; displayName: string }[] | null, large: boolean): LiveRoom {
    const r: LiveRoom = {
      room,
      roster: roster ? new Map(roster.map((p) => [p.uri, p.displayName])) : null,
      large,
    };
    this.live.set(room.id, r);
    return r;
  }

  /** Joins a room (if not in it yet); returns its live state and the join's history (oldest first). */
  async enter(roomId: string): Promise<{ live: LiveRoom; history: MessageView[] | null }> {
    const have = this.live.get(roomId);
    if (have && this.conn.joined.has(roomId)) return { live: have, history: null };
    const [o] = await this.conn.join(roomId);
    if (!o) throw new PchatApiError('INTERNAL', 'no answer');
    if (!o.ok) throw new PchatApiError(o.code, o.message);
    const live = this.track(o.joined.room, o.joined.roster, o.joined.large);
    // a follow made elsewhere (another tab or device) shows once the room is opened
    if (!this.follows.has(roomId)) void this.refreshFollows().catch(() => {});
    this.changed();
    return { live, history: o.joined.history };
  }

  async leave(roomId: string): Promise<void> {
    await this.conn.part(roomId);
    this.live.delete(roomId);
    this.changed();
  }

  async follow(roomId: string): Promise<void> {
    await this.conn.follow(roomId);
    await this.refreshFollows();
    const seen = this.seen.get(roomId);
    if (seen !== undefined) this.markRead(roomId, seen);
  }

  async unfollow(roomId: string): Promise<void> {
    await this.conn.unfollow(roomId);
    this.follows.delete(roomId);
    this.changed();
  }

  /** Marks a followed room read up to `messageId`. */
  markRead(roomId: string, messageId: number): void {
    this.seen.set(roomId, Math.max(this.seen.get(roomId) ?? 0, messageId));
    const f = this.follows.get(roomId);
    if (!f || messageId <= f.lastReadId) {
      if (f && f.unread !== 0) {
        f.unread = 0;
        this.changed();
      }
      return;
    }
    f.lastReadId = messageId;
    f.unread = 0;
    this.changed();
    void this.conn.markRead(roomId, messageId).catch(() => {});
  }

  setActive(roomId: string | null): void {
    this.activeRoom = roomId;
  }

  dismissNotice(): void {
    this.notice = null;
    this.changed();
  }

  dismissInvitation(id: number): void {
    this.invitations = this.invitations.filter((i) => i.id !== id);
    this.changed();
  }

  clearAlerts(): void {
    this.alerts = [];
    this.changed();
  }

  onMessage(fn: (m: MessageView) => void): () => void {
    this.messageSubs.add(fn);
    return () => this.messageSubs.delete(fn);
  }

  onModeration(fn: (m: Moderation) => void): () => void {
    this.moderationSubs.add(fn);
    return () => this.moderationSubs.delete(fn);
  }

  onReconnected(fn: () => void): () => void {
    this.reconnectSubs.add(fn);
    return () => this.reconnectSubs.delete(fn);
  }

  /** A download link a browser can follow (the API takes the token as a query parameter). */
  fileHref(url: string): string {
    const u = new URL(url, location.origin);
    if (this.client.token) u.searchParams.set('token', this.client.token);
    return u.pathname + u.search;
  }

  async signOut(): Promise<void> {
    storeToken(null);
    await this.conn.close();
    await this.client.signOut().catch(() => {});
  }
}

function notifyBrowser(title: string, body: string): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  try {
    new Notification(title, { body });
  } catch {
    // some browsers allow notifications only from a service worker
  }
}
