// The chat service: sessions, join/part, posting with durable batched commits, fan-out, roster, live effects
// of admin changes, following, invitations, history, search, topic feeds and files. Every transport calls
// this one object; every rule it applies comes from src/core.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { allowedRooms, decideRoom, invitationsInEffect, type RoomAction } from '../core/access.js';
import { invalid, PchatError } from '../core/errors.js';
import { extractLinks, roomUri } from '../core/links.js';
import type { Category, Room } from '../core/model.js';
import { MESSAGE_KINDS } from '../core/model.js';
import { normalizeSipUri, type Subject, subjectMatches } from '../core/principals.js';
import { nextLargeRoomState } from '../core/rules.js';
import { verifyPassword } from '../directory/passwords.js';
import type { FileStore } from '../files/file-store.js';
import type { ChangeEvent, FeedFilter, NewMessage, Store, StoredMessage } from '../store/port.js';
import { ModelCache } from './model-cache.js';
import type {
  ChatEvent,
  EventSink,
  FeedInput,
  FollowView,
  HistoryQuery,
  JoinedRoom,
  JoinOutcome,
  MessageView,
  PostInput,
  RoomView,
  SearchQuery,
  SearchView,
  ServerInfo,
  Session,
  UploadInput,
} from './types.js';

export const VERSION = '0.1.0';

export interface ChatOptions {
  domain: string;
  tokenTtlSeconds: number;
  /** How often the change stream is read for admin changes (ms). */
  pollMs?: number;
  /**
   * Rooms with more sessions than this get their events delivered in slices of this many per event-loop turn
   * (in order), so one huge fan-out does not hold up every other room. Default 2,000.
   */
  fanoutSlice?: number;
  /** Called with timing facts for metrics. */
  observe?: ChatObserver;
}

export interface ChatObserver {
  storeCommit?(ms: number, messages: number): void;
  fanout?(ms: number, deliveries: number): void;
  posted?(): void;
}

class LiveSession implements Session {
  readonly rooms = new Set<string>();
  constructor(
    readonly id: string,
    readonly user: string,
    readonly displayName: string,
    readonly transport: string,
    readonly sink: EventSink,
  ) {}
}

interface LiveRoom {
  id: string;
  sessions: Set<LiveSession>;
  /** user → number of that user's sessions in the room */
  users: Map<string, number>;
  large: boolean;
  /** The newest DefaultChatHistory messages, oldest first; undefined until first needed. */
  history: MessageView[] | undefined;
  /** Events still being delivered in slices, oldest first (see ChatOptions.fanoutSlice). */
  outbox: { event: ChatEvent; targets: LiveSession[]; next: number }[];
}

interface PendingPost {
  message: NewMessage;
  resolve(m: MessageView): void;
  reject(e: unknown): void;
}

/** Wrong passwords allowed per user per window before sign-in is refused for the rest of the window. */
export const LOGIN_FAILURES = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;

const hashToken = (t: string) => createHash('sha256').update(t).digest('hex');

export class ChatService {
  readonly model: ModelCache;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly userSessions = new Map<string, Set<LiveSession>>();
  private readonly live = new Map<string, LiveRoom>();
  private pending: PendingPost[] = [];
  private flushScheduled = false;
  private feeds: FeedFilter[] = [];
  private readonly failedLogins = new Map<string, { count: number; since: number }>();

  constructor(
    readonly store: Store,
    readonly files: FileStore,
    readonly opts: ChatOptions,
  ) {
    this.model = new ModelCache(store);
    this.model.onChange((changes) => this.applyLiveEffects(changes));
  }

  async start(): Promise<void> {
    await this.model.load();
    this.feeds = await this.store.feeds.listAll();
    this.model.start(this.opts.pollMs ?? 200);
  }

  async stop(): Promise<void> {
    this.model.stop();
    await this.flush();
  }

  // ---- identity ------------------------------------------------------------------------------------------

  private subject(user: string): Subject {
    const s = this.model.directory.resolveUser(user);
    if (!s) throw new PchatError('USER_NOT_FOUND', `user ${user} does not exist`);
    if (!s.chatEnabled) throw new PchatError('POLICY_DISABLED');
    return s;
  }

  /** Checks a password; returns the user's URI. Only users whose policy enables persistent chat may sign in. */
  async checkPassword(userInput: string, password: string): Promise<string> {
    let uri: string;
    try {
      uri = normalizeSipUri(userInput, 'user');
    } catch {
      throw new PchatError('AUTH_FAILED');
    }
    if (this.loginLocked(uri)) {
      throw new PchatError('RATE_LIMITED', 'Too many failed sign-ins for this user; try again in a few minutes.');
    }
    const ok = await verifyPassword(await this.store.users.getPasswordHash(uri), password);
    const user = this.model.directory.users.get(uri) ?? (await this.store.users.get(uri));
    if (!ok || !user || user.disabled) {
      this.noteLogin(uri, false);
      throw new PchatError('AUTH_FAILED');
    }
    this.noteLogin(uri, true);
    if (!this.model.directory.resolveUser(uri)) await this.model.poll();
    this.subject(uri);
    return uri;
  }

  /**
   * Password guessing, for every door (REST, WebSocket, SIP Digest): after LOGIN_FAILURES wrong passwords for
   * one user within LOGIN_WINDOW_MS, sign-in for that user is refused without checking until the window ends.
   */
  loginLocked(uri: string): boolean {
    const f = this.failedLogins.get(uri);
    if (!f) return false;
    if (Date.now() - f.since > LOGIN_WINDOW_MS) {
      this.failedLogins.delete(uri);
      return false;
    }
    return f.count >= LOGIN_FAILURES;
  }

  noteLogin(uri: string, ok: boolean): void {
    if (ok) {
      this.failedLogins.delete(uri);
      return;
    }
    const f = this.failedLogins.get(uri) ?? { count: 0, since: Date.now() };
    f.count += 1;
    this.failedLogins.set(uri, f);
    if (this.failedLogins.size > 100_000) this.failedLogins.clear(); // bounded memory under a spray
  }

  async signIn(userInput: string, password: string): Promise<{ token: string; user: string; expiresAt: number }> {
    const uri = await this.checkPassword(userInput, password);
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const expiresAt = now + this.opts.tokenTtlSeconds * 1000;
    await this.store.tokens.put({ tokenHash: hashToken(token), user: uri, createdAt: now, expiresAt });
    return { token, user: uri, expiresAt };
  }

  async signOut(token: string): Promise<void> {
    await this.store.tokens.remove(hashToken(token));
  }

  /** The user a token belongs to; TOKEN_INVALID when unknown or expired, POLICY_DISABLED when chat was turned off. */
  async authenticate(token: string): Promise<string> {
    const t = await this.store.tokens.get(hashToken(token));
    if (!t || t.expiresAt < Date.now()) throw new PchatError('TOKEN_INVALID');
    this.subject(t.user);
    return t.user;
  }

  // ---- sessions ------------------------------------------------------------------------------------------

  openSession(user: string, sink: EventSink, transport: string): Session {
    this.subject(user);
    const u = this.model.directory.users.get(user);
    const s = new LiveSession(randomUUID(), user, u?.displayName ?? user, transport, sink);
    this.sessions.set(s.id, s);
    let set = this.userSessions.get(user);
    if (!set) {
      set = new Set();
      this.userSessions.set(user, set);
    }
    set.add(s);
    return s;
  }

  closeSession(session: Session): void {
    const s = this.sessions.get(session.id);
    if (!s) return;
    for (const roomId of [...s.rooms]) this.leave(s, roomId, true);
    this.sessions.delete(s.id);
    const set = this.userSessions.get(s.user);
    set?.delete(s);
    if (set?.size === 0) this.userSessions.delete(s.user);
  }

  private liveSession(session: Session): LiveSession {
    const s = this.sessions.get(session.id);
    if (!s) throw new PchatError('TOKEN_INVALID', 'the session is closed');
    return s;
  }

  // ---- rooms ---------------------------------------------------------------------------------------------

  private roomAndCategory(roomId: string): { room: Room; category: Category } {
    const room = this.model.rooms.get(roomId);
    const category = room ? this.model.categories.get(room.categoryId) : undefined;
    if (!room || !category) throw new PchatError('ROOM_NOT_FOUND', `room: ${roomId} does not exist`, { field: 'room' });
    return { room, category };
  }

  /** The room, if `s` may do `action` in it; otherwise the rule's error (secret rooms: ROOM_NOT_FOUND). */
  private require(s: Subject, roomId: string, action: RoomAction): { room: Room; category: Category } {
    const rc = this.roomAndCategory(roomId);
    const d = decideRoom(s, rc.room, rc.category, action);
    if (!d.allowed) {
      const code = d.code ?? 'NOT_A_MEMBER';
      throw new PchatError(code, code === 'ROOM_NOT_FOUND' ? `room: ${roomId} does not exist` : undefined, {
        field: 'room',
      });
    }
    return rc;
  }

  /** Whether `s` may do `action` in the room with this id (false for an unknown room). */
  private may(s: Subject, roomId: string, action: RoomAction): boolean {
    const r = this.model.rooms.get(roomId);
    const c = r && this.model.categories.get(r.categoryId);
    return r !== undefined && c !== undefined && decideRoom(s, r, c, action).allowed;
  }

  private view(s: Subject, room: Room, category: Category): RoomView {
    const addin = room.addin ? this.model.addins.get(room.addin) : undefined;
    return {
      id: room.id,
      uri: roomUri(this.opts.domain, room.id),
      name: room.name,
      description: room.description,
      categoryId: category.id,
      categoryName: category.name,
      privacy: room.privacy,
      type: room.type,
      disabled: room.disabled,
      addin: addin ? { name: addin.name, url: addin.url } : null,
      invitations: invitationsInEffect(room, category),
      fileUpload: category.fileUpload,
      chatHistory: category.chatHistory,
      participants: this.live.get(room.id)?.users.size ?? 0,
      member: subjectMatches(s, room.members),
      manager: subjectMatches(s, room.managers),
      presenter: subjectMatches(s, room.presenters),
      canPost: decideRoom(s, room, category, 'post').allowed,
    };
  }

  private visibleRooms(s: Subject, action: RoomAction = 'see'): Room[] {
    return allowedRooms(s, [...this.model.rooms.values()], this.model.categories, action);
  }

  /** Browse or search rooms by name and description, among those the caller may see. */
  searchRooms(user: string, q: { query?: string; limit?: number } = {}): RoomView[] {
    const s = this.subject(user);
    const text = q.query?.trim().toLowerCase() ?? '';
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    return this.visibleRooms(s)
      .filter((r) => !text || r.name.toLowerCase().includes(text) || r.description.toLowerCase().includes(text))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, limit)
      .map((r) => this.view(s, r, this.model.categories.get(r.categoryId) as Category));
  }

  /** Rooms where the caller is a member (or, with 'manager', a manager): getassociations. */
  associations(user: string, role: 'member' | 'manager' = 'member'): RoomView[] {
    const s = this.subject(user);
    return [...this.model.rooms.values()]
      .filter((r) => subjectMatches(s, role === 'member' ? r.members : r.managers))
      .filter((r) => {
        const c = this.model.categories.get(r.categoryId);
        return c !== undefined && decideRoom(s, r, c, role === 'member' ? 'see' : 'manage').allowed;
      })
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => this.view(s, r, this.model.categories.get(r.categoryId) as Category));
  }

  roomDetails(user: string, roomId: string): RoomView {
    const s = this.subject(user);
    const { room, category } = this.require(s, roomId, 'see');
    return this.view(s, room, category);
  }

  // ---- join / part ---------------------------------------------------------------------------------------

  private liveRoom(roomId: string): LiveRoom {
    let lr = this.live.get(roomId);
    if (!lr) {
      lr = { id: roomId, sessions: new Set(), users: new Map(), large: false, history: undefined, outbox: [] };
      this.live.set(roomId, lr);
    }
    return lr;
  }

  private async historyCache(roomId: string): Promise<MessageView[]> {
    const lr = this.liveRoom(roomId);
    if (!lr.history) {
      const msgs = await this.store.messages.before(roomId, this.model.config.defaultChatHistory);
      // a post may have filled the cache while we waited
      if (!lr.history) lr.history = msgs.map((m) => this.messageView(m));
    }
    return lr.history;
  }

  /** Joins one room or many (bjoin). Each room succeeds or fails on its own. */
  async join(session: Session, roomIds: string[]): Promise<JoinOutcome[]> {
    const s = this.liveSession(session);
    const out: JoinOutcome[] = [];
    for (const roomId of roomIds) {
      try {
        out.push({ ok: true, joined: await this.joinOne(s, roomId) });
      } catch (e) {
        const err = e instanceof PchatError ? e : new PchatError('INTERNAL');
        out.push({ ok: false, roomId, code: err.code, message: err.message });
      }
    }
    return out;
  }

  /** Joins every room the user follows (bjoin at sign-in); followed rooms they may no longer read are skipped. */
  async joinFollowed(session: Session): Promise<JoinOutcome[]> {
    const s = this.subject(session.user);
    const readable = (await this.store.follows.list(session.user)).filter((f) => this.may(s, f.roomId, 'join'));
    return this.join(
      session,
      readable.map((f) => f.roomId),
    );
  }

  private async joinOne(s: LiveSession, roomId: string): Promise<JoinedRoom> {
    const subject = this.subject(s.user);
    const { room, category } = this.require(subject, roomId, 'join');
    const history = category.chatHistory ? await this.historyCache(roomId) : [];
    // re-check after the await: the session may have closed or the room changed meanwhile
    this.require(subject, roomId, 'join');
    const lr = this.liveRoom(roomId);
    const firstOfUser = !lr.users.has(s.user);
    if (!s.rooms.has(roomId)) {
      s.rooms.add(roomId);
      lr.sessions.add(s);
      lr.users.set(s.user, (lr.users.get(s.user) ?? 0) + 1);
    }
    lr.large = nextLargeRoomState(lr.large, lr.users.size, this.model.config.participantUpdateLimit);
    if (firstOfUser && !lr.large) {
      this.emitRoom(lr, { type: 'join', roomId, user: s.user, displayName: s.displayName }, s);
    }
    return {
      room: this.view(subject, room, category),
      history: [...history],
      roster: lr.large
        ? null
        : [...lr.users.keys()].map((uri) => ({
            uri,
            displayName: this.model.directory.users.get(uri)?.displayName ?? uri,
          })),
      large: lr.large,
    };
  }

  part(session: Session, roomId: string): void {
    const s = this.liveSession(session);
    if (!s.rooms.has(roomId)) throw new PchatError('NOT_JOINED', `room: not joined to ${roomId}`, { field: 'room' });
    this.leave(s, roomId, true);
  }

  private leave(s: LiveSession, roomId: string, notify: boolean): void {
    const lr = this.live.get(roomId);
    s.rooms.delete(roomId);
    if (!lr) return;
    lr.sessions.delete(s);
    const n = (lr.users.get(s.user) ?? 1) - 1;
    if (n > 0) lr.users.set(s.user, n);
    else {
      lr.users.delete(s.user);
      if (notify && !lr.large) this.emitRoom(lr, { type: 'part', roomId, user: s.user });
    }
    lr.large = nextLargeRoomState(lr.large, lr.users.size, this.model.config.participantUpdateLimit);
    if (lr.sessions.size === 0 && lr.users.size === 0) lr.history = undefined;
    if (lr.sessions.size === 0) this.live.delete(roomId);
  }

  /** Sends an event to every session in the room (optionally but one). Returns the number of deliveries. */
  private emitRoom(lr: LiveRoom, e: ChatEvent, except?: LiveSession): number {
    const slice = this.opts.fanoutSlice ?? 2000;
    if (lr.outbox.length > 0 || lr.sessions.size > slice) {
      // a big room: queue behind what is still being delivered there, and go out a slice per turn
      const targets = [...lr.sessions].filter((s) => s !== except);
      lr.outbox.push({ event: e, targets, next: 0 });
      this.slicing.add(lr);
      this.schedulePump();
      return targets.length;
    }
    let n = 0;
    for (const s of lr.sessions) {
      if (s === except) continue;
      this.deliver(s, e);
      n++;
    }
    return n;
  }

  private readonly slicing = new Set<LiveRoom>();
  private pumpScheduled = false;

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  /** Delivers up to one slice per room with queued events, oldest event first; reschedules while any remain. */
  private pump(): void {
    this.pumpScheduled = false;
    const slice = this.opts.fanoutSlice ?? 2000;
    for (const lr of this.slicing) {
      let budget = slice;
      while (budget > 0 && lr.outbox.length > 0) {
        const head = lr.outbox[0] as LiveRoom['outbox'][number];
        const end = Math.min(head.targets.length, head.next + budget);
        for (let i = head.next; i < end; i++) {
          const s = head.targets[i] as LiveSession;
          // a session that left the room since the event was queued does not get it
          if (lr.sessions.has(s)) this.deliver(s, head.event);
        }
        budget -= end - head.next;
        head.next = end;
        if (head.next >= head.targets.length) lr.outbox.shift();
      }
      if (lr.outbox.length === 0) this.slicing.delete(lr);
    }
    if (this.slicing.size > 0) this.schedulePump();
  }

  private deliver(s: LiveSession, e: ChatEvent): void {
    try {
      s.sink(e);
    } catch {
      // a broken transport must not stop delivery to everyone else
    }
  }

  participants(roomId: string): string[] {
    return [...(this.live.get(roomId)?.users.keys() ?? [])];
  }

  // ---- posting -------------------------------------------------------------------------------------------

  private messageView(m: StoredMessage): MessageView {
    return {
      id: m.id,
      roomId: m.roomId,
      author: m.author,
      authorName: this.model.directory.users.get(m.author)?.displayName ?? m.author,
      ts: m.ts,
      kind: m.kind,
      text: m.text,
      title: m.title,
      rich: m.rich,
      file: m.file ? { ...m.file, url: `/api/files/${encodeURIComponent(m.file.id)}` } : null,
      links: extractLinks(m.text),
    };
  }

  private validatePost(input: PostInput): void {
    const kind = input.kind ?? 'regular';
    if (!(MESSAGE_KINDS as readonly string[]).includes(kind) || kind === 'file') {
      throw invalid('kind', `"${String(kind)}" is not one of regular, alert, story`);
    }
    if (typeof input.text !== 'string' || input.text.trim().length === 0) {
      throw invalid('text', 'a message needs plain text (rich text must carry plain text too)');
    }
    const cfg = this.model.config;
    const limit = kind === 'story' ? cfg.storySizeLimit : cfg.messageSizeLimit;
    if ([...input.text].length > limit) {
      throw new PchatError(
        kind === 'story' ? 'STORY_TOO_LARGE' : 'MESSAGE_TOO_LARGE',
        `text: at most ${limit} characters`,
        {
          field: 'text',
        },
      );
    }
    if (kind === 'story') {
      if (typeof input.title !== 'string' || input.title.trim().length === 0)
        throw invalid('title', 'a story needs a title');
      if ([...input.title].length > 256) throw invalid('title', 'at most 256 characters');
    } else if (input.title) throw invalid('title', 'only stories have a title');
    if (input.rich !== undefined && input.rich !== null) {
      if (typeof input.rich !== 'string') throw invalid('rich', 'must be a string');
      if (input.rich.length > limit * 8) {
        throw new PchatError(kind === 'story' ? 'STORY_TOO_LARGE' : 'MESSAGE_TOO_LARGE', 'rich: too long', {
          field: 'rich',
        });
      }
    }
  }

  /**
   * Posts a message. Resolves only after the message is committed to the store (with the other posts of the
   * same event-loop turn, in one transaction) and has been handed to every participant's session, the
   * sender's included.
   */
  async post(session: Session, roomId: string, input: PostInput): Promise<MessageView> {
    const s = this.liveSession(session);
    const subject = this.subject(s.user);
    this.validatePost(input);
    const { category } = this.require(subject, roomId, 'post');
    return this.enqueue({
      roomId,
      author: s.user,
      ts: Date.now(),
      kind: input.kind ?? 'regular',
      text: input.text,
      title: input.kind === 'story' ? (input.title ?? null) : null,
      rich: input.rich ?? null,
      file: null,
      logged: category.chatHistory,
    });
  }

  private enqueue(message: NewMessage): Promise<MessageView> {
    return new Promise<MessageView>((resolve, reject) => {
      this.pending.push({ message, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let stored: StoredMessage[];
    const t0 = performance.now();
    try {
      stored = await this.store.messages.append(batch.map((p) => p.message));
    } catch (e) {
      for (const p of batch) p.reject(new PchatError('STORE_UNAVAILABLE'));
      void e;
      return;
    }
    this.opts.observe?.storeCommit?.(performance.now() - t0, stored.length);
    const t1 = performance.now();
    let deliveries = 0;
    for (let i = 0; i < stored.length; i++) {
      const m = stored[i] as StoredMessage;
      const p = batch[i] as PendingPost;
      const view = this.messageView(m);
      const lr = this.live.get(m.roomId);
      if (lr) {
        if (lr.history && p.message.logged) {
          lr.history.push(view);
          const max = this.model.config.defaultChatHistory;
          if (lr.history.length > max) lr.history.splice(0, lr.history.length - max);
        }
        deliveries += this.emitRoom(lr, { type: 'message', message: view });
      }
      this.matchFeeds(view);
      this.opts.observe?.posted?.();
      p.resolve(view);
    }
    this.opts.observe?.fanout?.(performance.now() - t1, deliveries);
  }

  // ---- history and search --------------------------------------------------------------------------------

  async history(user: string, roomId: string, q: HistoryQuery = {}): Promise<MessageView[]> {
    const s = this.subject(user);
    this.require(s, roomId, 'read');
    const limit = clampLimit(q.limit, 50, 500);
    const msgs =
      q.afterId !== undefined
        ? await this.store.messages.after(roomId, q.afterId, limit)
        : await this.store.messages.before(roomId, limit, q.beforeId);
    return msgs.map((m) => this.messageView(m));
  }

  async search(user: string, q: SearchQuery): Promise<SearchView> {
    const s = this.subject(user);
    let roomIds: string[];
    if (q.roomId !== undefined) {
      this.require(s, q.roomId, 'read');
      roomIds = [q.roomId];
    } else roomIds = this.visibleRooms(s, 'read').map((r) => r.id);
    if (q.text !== undefined && typeof q.text !== 'string') throw invalid('text', 'must be a string');
    if ((q.text ?? '').length > 1000) throw invalid('text', 'at most 1000 characters');
    const authors = q.authors?.map((a) => normalizeSipUri(a, 'authors'));
    const r = await this.store.messages.search({
      roomIds,
      text: q.text,
      exactPhrase: q.exactPhrase,
      caseSensitive: q.caseSensitive,
      authors,
      since: q.since,
      until: q.until,
      beforeId: q.beforeId,
      // a page of 50 by default; matches are counted up to SearchLimit (count + exceededLimit)
      limit: clampLimit(q.limit, Math.min(50, this.model.config.searchLimit), this.model.config.searchLimit),
      countLimit: this.model.config.searchLimit,
    });
    return { messages: r.messages.map((m) => this.messageView(m)), count: r.count, exceededLimit: r.exceededLimit };
  }

  // ---- following -----------------------------------------------------------------------------------------

  async follows(user: string): Promise<FollowView[]> {
    const s = this.subject(user);
    const list = await this.store.follows.list(user);
    const visible = list.filter((f) => this.may(s, f.roomId, 'read'));
    const counts = await this.store.messages.countAfter(
      visible.map((f) => ({ roomId: f.roomId, afterId: f.lastReadId })),
    );
    return visible.map((f) => {
      const { room, category } = this.roomAndCategory(f.roomId);
      return { room: this.view(s, room, category), unread: counts.get(f.roomId) ?? 0, lastReadId: f.lastReadId };
    });
  }

  async follow(user: string, roomId: string, on: boolean): Promise<void> {
    const s = this.subject(user);
    if (on) {
      this.require(s, roomId, 'read');
      await this.store.follows.follow(user, roomId);
    } else await this.store.follows.unfollow(user, roomId);
  }

  async markRead(user: string, roomId: string, messageId: number): Promise<void> {
    const s = this.subject(user);
    this.require(s, roomId, 'read');
    if (!Number.isSafeInteger(messageId) || messageId < 0) throw invalid('messageId', 'must be a message id');
    await this.store.follows.markRead(user, roomId, messageId);
  }

  // ---- invitations ---------------------------------------------------------------------------------------

  async invitations(user: string, afterId = 0, limit = 100) {
    this.subject(user);
    const list = await this.store.invitations.since(user, afterId, clampLimit(limit, 100, 1000));
    return list.map((i) => ({ ...i, roomName: this.model.rooms.get(i.roomId)?.name ?? i.roomId }));
  }

  // ---- topic feeds and keyword alerts --------------------------------------------------------------------

  async listFeeds(user: string): Promise<FeedFilter[]> {
    this.subject(user);
    return this.store.feeds.list(user);
  }

  async putFeed(user: string, input: FeedInput): Promise<FeedFilter> {
    this.subject(user);
    const f = normalizeFeed(user, input);
    if (input.id !== undefined && !(await this.store.feeds.list(user)).some((x) => x.id === input.id)) {
      throw new PchatError('FILTER_NOT_FOUND', `id: feed ${input.id} does not exist`, { field: 'id' });
    }
    if (this.feeds.filter((x) => x.user === user && x.id !== f.id).length >= 100) {
      throw invalid('feeds', 'at most 100 feed filters per user');
    }
    await this.store.feeds.put(f);
    this.feeds = [...this.feeds.filter((x) => x.id !== f.id), f];
    return f;
  }

  async removeFeed(user: string, id: string): Promise<void> {
    this.subject(user);
    if (!(await this.store.feeds.remove(user, id)))
      throw new PchatError('FILTER_NOT_FOUND', `id: feed ${id} does not exist`, { field: 'id' });
    this.feeds = this.feeds.filter((x) => x.id !== id);
  }

  /** The feed: messages matching the filter across rooms the user may read, newest first. */
  async feed(user: string, filterId: string, q: { beforeId?: number; limit?: number } = {}): Promise<MessageView[]> {
    const s = this.subject(user);
    const f = (await this.store.feeds.list(user)).find((x) => x.id === filterId);
    if (!f) throw new PchatError('FILTER_NOT_FOUND', `id: feed ${filterId} does not exist`, { field: 'id' });
    const readable = this.visibleRooms(s, 'read').map((r) => r.id);
    const roomIds = f.roomIds.length > 0 ? readable.filter((id) => f.roomIds.includes(id)) : readable;
    const limit = clampLimit(q.limit, 50, 500);
    const terms = f.keywords.length > 0 ? f.keywords : [undefined];
    const found = new Map<number, StoredMessage>();
    for (const text of terms) {
      const r = await this.store.messages.search({
        roomIds,
        text,
        exactPhrase: true,
        authors: f.authors.length > 0 ? f.authors : undefined,
        beforeId: q.beforeId,
        limit,
      });
      for (const m of r.messages) found.set(m.id, m);
    }
    return [...found.values()]
      .sort((a, b) => b.id - a.id)
      .slice(0, limit)
      .map((m) => this.messageView(m));
  }

  private matchFeeds(m: MessageView): void {
    if (this.feeds.length === 0) return;
    const text = `${m.text} ${m.title ?? ''}`.toLowerCase();
    for (const f of this.feeds) {
      if (!f.alert || f.user === m.author) continue;
      const sessions = this.userSessions.get(f.user);
      if (!sessions || sessions.size === 0) continue;
      if (!feedMatches(f, m, text)) continue;
      const s = this.model.directory.resolveUser(f.user);
      if (!s || !this.may(s, m.roomId, 'read')) continue;
      for (const sess of sessions)
        this.deliver(sess, { type: 'alert', filterId: f.id, filterName: f.name, message: m });
    }
  }

  // ---- files ---------------------------------------------------------------------------------------------

  async upload(session: Session, input: UploadInput): Promise<MessageView> {
    const s = this.liveSession(session);
    const subject = this.subject(s.user);
    const { category } = this.require(subject, input.roomId, 'post');
    if (!category.fileUpload) throw new PchatError('FILE_UPLOAD_DISABLED');
    const name = sanitizeFileName(input.name);
    const maxBytes = this.model.config.maxFileSizeKB * 1024;
    if (input.size !== undefined && input.size > maxBytes) {
      input.body.resume();
      throw new PchatError('FILE_TOO_LARGE', `file: larger than ${this.model.config.maxFileSizeKB} KB`, {
        field: 'file',
      });
    }
    const saved = await this.files.save(input.body, maxBytes);
    const id = randomUUID();
    const contentType = /^[\w.+-]+\/[\w.+-]+$/.test(input.contentType) ? input.contentType : 'application/octet-stream';
    await this.store.files.put({
      id,
      roomId: input.roomId,
      uploader: s.user,
      name,
      size: saved.size,
      contentType,
      ts: Date.now(),
      storageKey: saved.key,
    });
    return this.enqueue({
      roomId: input.roomId,
      author: s.user,
      ts: Date.now(),
      kind: 'file',
      text: name,
      title: null,
      rich: null,
      file: { id, name, size: saved.size, contentType },
      logged: category.chatHistory,
    });
  }

  /** A file's metadata and content, if the user may read its room's history. */
  async download(
    user: string,
    fileId: string,
  ): Promise<{ name: string; size: number; contentType: string; body: Readable }> {
    const s = this.subject(user);
    const f = await this.store.files.get(fileId);
    if (!f) throw new PchatError('FILE_NOT_FOUND', `file: ${fileId} does not exist`, { field: 'file' });
    try {
      this.require(s, f.roomId, 'read');
    } catch (e) {
      // do not reveal that a file exists in a room the user may not read
      if (e instanceof PchatError && e.code === 'ROOM_NOT_FOUND')
        throw new PchatError('FILE_NOT_FOUND', `file: ${fileId} does not exist`, { field: 'file' });
      throw e;
    }
    return { name: f.name, size: f.size, contentType: f.contentType, body: this.files.open(f.storageKey) };
  }

  // ---- preferences (XCCOS getpref/setpref, web client settings) ------------------------------------------

  async getPref(user: string, label: string): Promise<string | undefined> {
    this.subject(user);
    return this.store.prefs.get(user, checkLabel(label));
  }

  async setPref(user: string, label: string, content: string): Promise<void> {
    this.subject(user);
    if (content.length > 64 * 1024) throw new PchatError('FRAME_TOO_LARGE', 'content: at most 64 KiB');
    await this.store.prefs.set(user, checkLabel(label), content);
  }

  serverInfo(): ServerInfo {
    return { domain: this.opts.domain, config: { ...this.model.config }, serverTime: Date.now(), version: VERSION };
  }

  stats(): {
    sessions: number;
    users: number;
    activeRooms: number;
    joins: number;
    byDoor: Record<string, number>;
  } {
    let joins = 0;
    for (const lr of this.live.values()) joins += lr.sessions.size;
    const byDoor: Record<string, number> = {};
    for (const s of this.sessions.values()) byDoor[s.transport] = (byDoor[s.transport] ?? 0) + 1;
    return { sessions: this.sessions.size, users: this.userSessions.size, activeRooms: this.live.size, joins, byDoor };
  }

  // ---- live effects of admin changes ---------------------------------------------------------------------

  private async applyLiveEffects(changes: ChangeEvent[]): Promise<void> {
    let recheckAll = false;
    const rooms = new Set<string>();
    for (const c of changes) {
      if (c.type.startsWith('room.')) rooms.add(c.subject);
      else if (
        c.type.startsWith('category.') ||
        c.type.startsWith('user.') ||
        c.type.startsWith('group.') ||
        c.type.startsWith('policy.')
      )
        recheckAll = true;
      else if (c.type === 'config.put') {
        for (const lr of this.live.values()) lr.history = undefined;
      } else if (c.type === 'invitation.created') this.deliverInvitation(c);
    }
    for (const roomId of recheckAll ? [...this.live.keys()] : rooms) this.recheckRoom(roomId);
  }

  /** Removes every session that may no longer be in the room, with a notice; tells the others. */
  private recheckRoom(roomId: string): void {
    const lr = this.live.get(roomId);
    if (!lr) return;
    const room = this.model.rooms.get(roomId);
    const category = room ? this.model.categories.get(room.categoryId) : undefined;
    for (const s of [...lr.sessions]) {
      const subject = this.model.directory.resolveUser(s.user);
      const d =
        room && category && subject
          ? decideRoom(subject, room, category, 'join')
          : { allowed: false, code: 'ROOM_NOT_FOUND' as const };
      if (d.allowed) continue;
      const code = d.code ?? 'NOT_A_MEMBER';
      this.leave(s, roomId, true);
      this.deliver(s, { type: 'removed', roomId, code, message: new PchatError(code).message });
    }
    if (room && category) {
      for (const s of lr.sessions) {
        const subject = this.model.directory.resolveUser(s.user);
        if (subject) this.deliver(s, { type: 'room.updated', room: this.view(subject, room, category) });
      }
    }
  }

  private deliverInvitation(c: ChangeEvent): void {
    const sessions = this.userSessions.get(c.subject);
    if (!sessions) return;
    const d = c.data as { invitationId: number; roomId: string; inviter: string };
    const roomName = this.model.rooms.get(d.roomId)?.name ?? d.roomId;
    for (const s of sessions) {
      this.deliver(s, {
        type: 'invitation',
        invitation: { id: d.invitationId, user: c.subject, roomId: d.roomId, inviter: d.inviter, ts: c.ts, roomName },
      });
    }
  }
}

function clampLimit(v: number | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw invalid('limit', `must be a whole number from 1 to ${max}`);
  return Math.min(v, max);
}

function checkLabel(label: string): string {
  if (typeof label !== 'string' || !/^[\w.:-]{1,128}$/.test(label))
    throw invalid('label', 'must be 1–128 letters, digits, . : _ -');
  return label;
}

function sanitizeFileName(name: string): string {
  const base = String(name ?? '')
    .replace(/[\u0000-\u001f/\\]/g, '_')
    .trim()
    .slice(0, 255);
  if (!base || base === '.' || base === '..') throw invalid('name', 'a file needs a name');
  return base;
}

function normalizeFeed(user: string, input: FeedInput): FeedFilter {
  const strings = (v: unknown, field: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(field, 'must be a list of strings');
    return (v as string[]).map((x) => x.trim()).filter((x) => x.length > 0);
  };
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (!name || name.length > 128) throw invalid('name', 'a feed needs a name of at most 128 characters');
  const keywords = strings(input.keywords, 'keywords');
  if (keywords.some((k) => k.length > 200)) throw invalid('keywords', 'at most 200 characters each');
  const authors = strings(input.authors, 'authors').map((a) => normalizeSipUri(a, 'authors'));
  const roomIds = strings(input.roomIds, 'roomIds');
  if (keywords.length === 0 && authors.length === 0 && roomIds.length === 0) {
    throw invalid('keywords', 'a feed needs at least one keyword, author or room');
  }
  return { id: input.id ?? randomUUID(), user, name, keywords, authors, roomIds, alert: input.alert !== false };
}

function feedMatches(f: FeedFilter, m: MessageView, lowerText: string): boolean {
  if (f.roomIds.length > 0 && !f.roomIds.includes(m.roomId)) return false;
  if (f.authors.length > 0 && !f.authors.includes(m.author)) return false;
  if (f.keywords.length > 0 && !f.keywords.some((k) => lowerText.includes(k.toLowerCase()))) return false;
  return true;
}
