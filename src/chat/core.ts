// The chat core: sessions, the live state of rooms, join/part, and the post pipeline
// (validate → veto → queue → one commit per event-loop turn → acknowledge → publish on the bus → local fan-out).
// It knows no feature: roster notices, backchat, search, follows, feeds, invitations, files, preferences and
// the live effects of admin changes are modules (src/chat/*.ts) that register on its events (events.ts).
// Every rule it applies comes from src/core.
import { randomUUID } from 'node:crypto';
import { allowedRooms, decideRoom, invitationsInEffect, type RoomAction } from '../core/access.js';
import { invalid, PchatError } from '../core/errors.js';
import { checkOptionalText, checkText } from '../core/input.js';
import { extractLinks, roomUri } from '../core/links.js';
import type { Category, Room } from '../core/model.js';
import { MESSAGE_KINDS } from '../core/model.js';
import { type Subject, subjectMatches } from '../core/principals.js';
import { type Bus, type BusEnvelope, Dedupe, roomSubject, userSubject } from '../pool/bus.js';
import { LocalBus } from '../pool/local-bus.js';
import { RoomSequencer } from '../pool/room-sequencer.js';
import type { NewMessage, Store, StoredMessage } from '../store/port.js';
import { ChatEventHub, type CommitItem, type Door, type EventLog, type Where, type Who } from './events.js';
import { ModelCache } from './model-cache.js';
import type {
  ChatEvent,
  EventSink,
  JoinedRoom,
  JoinOutcome,
  MessageView,
  PostInput,
  RoomView,
  Session,
} from './types.js';

export interface ChatCoreOptions {
  domain: string;
  /** How often the change stream is read for admin changes (ms). */
  pollMs?: number;
  /**
   * Rooms with more sessions than this get their events delivered in slices of this many per event-loop turn
   * (in order), so one huge fan-out does not hold up every other room. Default 2,000.
   */
  fanoutSlice?: number;
  /** Called with timing facts for metrics. */
  observe?: ChatObserver;
  /** Where store failures and failing event handlers are reported. Default: silent. */
  log?: EventLog;
  /** The bus committed events travel on. Default: an in-process bus. */
  bus?: Bus;
  /**
   * Pool mode: several servers commit into one store, so each message envelope carries the id of its room's
   * previous message and local delivery goes through a RoomSequencer that restores store-id order (and fills
   * gaps from the store). Off for a single server, where commits and deliveries are already in one order.
   */
  poolOrder?: { holdMs?: number };
  /**
   * Asked before a new session opens (sign-in, WebSocket, SIP): throws to refuse it, e.g. SERVER_STANDBY on a
   * pool server that is not in the active list. Existing sessions are never affected.
   */
  admit?: () => void;
}

export interface ChatObserver {
  storeCommit?(ms: number, messages: number): void;
  fanout?(ms: number, deliveries: number): void;
  posted?(): void;
}

export class LiveSession implements Session {
  readonly rooms = new Set<string>();
  constructor(
    readonly id: string,
    readonly user: string,
    readonly displayName: string,
    readonly transport: Door,
    readonly sink: EventSink,
    /** The sha-256 of the token the session was opened with, when it was (WebSocket, REST). */
    readonly tokenHash: string | undefined,
  ) {}
}

/** One room with local sessions. */
export interface LiveRoom {
  readonly id: string;
  readonly sessions: Set<LiveSession>;
  /** user → number of that user's sessions in the room */
  readonly users: Map<string, number>;
  /** Above ParticipantUpdateLimit (the roster module keeps it). */
  large: boolean;
  /** Events still being delivered in slices, oldest first (see ChatCoreOptions.fanoutSlice). */
  readonly outbox: { event: ChatEvent; targets: LiveSession[]; next: number }[];
}

interface PendingPost {
  item: CommitItem;
  resolve(m: MessageView): void;
  reject(e: unknown): void;
}

const silent: EventLog = { error() {}, warn() {} };

export class ChatCore {
  readonly model: ModelCache;
  readonly events: ChatEventHub;
  readonly bus: Bus;
  readonly log: EventLog;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly userSessions = new Map<string, Set<LiveSession>>();
  private readonly live = new Map<string, LiveRoom>();
  private readonly dedupe = new Dedupe();
  private readonly unsubscribe: (() => void)[] = [];
  private pending: PendingPost[] = [];
  private flushScheduled = false;
  /** The commit in flight, if any. */
  private flushing: Promise<void> | undefined;
  private deliveries = 0;
  private seq = 0;
  private readonly sequencer: RoomSequencer<{ view: MessageView; logged: boolean }> | undefined;

  constructor(
    readonly store: Store,
    readonly opts: ChatCoreOptions,
  ) {
    this.log = opts.log ?? silent;
    this.model = new ModelCache(store, (err, changes) =>
      this.log.error('applying a change failed', {
        firstChangeId: changes[0]?.id,
        lastChangeId: changes.at(-1)?.id,
        err,
      }),
    );
    this.events = new ChatEventHub(this.log);
    this.bus = opts.bus ?? new LocalBus();
    if (opts.poolOrder) {
      this.sequencer = new RoomSequencer({
        holdMs: opts.poolOrder.holdMs,
        fetchAfter: async (roomId, afterId, upToId) => {
          const rows = await this.store.messages.after(roomId, afterId, 500);
          return rows
            .filter((m) => upToId === undefined || m.id <= upToId)
            .map((m) => ({ id: m.id, event: { view: this.messageView(m), logged: true } }));
        },
        deliver: (roomId, e) => this.deliverMessage(roomId, e.view, e.logged),
        onError: (roomId, err) => this.log.error('filling a gap in a room from the store failed', { roomId, err }),
      });
    }
    this.unsubscribe.push(
      this.bus.subscribe('room.', (env) => this.receiveRoom(env)),
      this.bus.subscribe('user.', (env) => this.receiveUser(env)),
    );
  }

  async start(): Promise<void> {
    await this.model.load();
    this.model.start(this.opts.pollMs ?? 200);
  }

  async stop(): Promise<void> {
    this.model.stop();
    while (this.flushing || this.pending.length > 0) await this.flushNow();
    for (const u of this.unsubscribe.splice(0)) u();
  }

  // ---- identity ------------------------------------------------------------------------------------------

  /** The user as the access rules see them; USER_NOT_FOUND, or POLICY_DISABLED when chat is off for them. */
  subject(user: string): Subject {
    const s = this.model.directory.resolveUser(user);
    if (!s) throw new PchatError('USER_NOT_FOUND', `user ${user} does not exist`);
    if (!s.chatEnabled) throw new PchatError('POLICY_DISABLED');
    return s;
  }

  displayName(user: string): string {
    return this.model.directory.users.get(user)?.displayName ?? user;
  }

  /** Who is acting: through a session, or a user by a door (calls that need no session: history, search…). */
  who(actor: Session | string, door: Door = 'rest'): Who {
    if (typeof actor === 'string') return { user: actor, displayName: this.displayName(actor), door };
    return { user: actor.user, displayName: actor.displayName, door: actor.transport as Door, sessionId: actor.id };
  }

  where(roomId: string): Where {
    return { id: roomId, name: this.model.rooms.get(roomId)?.name ?? roomId };
  }

  // ---- sessions ------------------------------------------------------------------------------------------

  openSession(user: string, sink: EventSink, door: Door, opts: { tokenHash?: string } = {}): Session {
    // a REST call is one request of an existing sign-in, not a new connection: a standby server still answers it
    if (door !== 'rest') this.opts.admit?.();
    this.subject(user);
    const s = new LiveSession(randomUUID(), user, this.displayName(user), door, sink, opts.tokenHash);
    this.sessions.set(s.id, s);
    let set = this.userSessions.get(user);
    if (!set) {
      set = new Set();
      this.userSessions.set(user, set);
    }
    set.add(s);
    this.events.emit('session.opened', { who: this.who(s), at: Date.now(), session: s });
    return s;
  }

  closeSession(session: Session, reason: 'closed' | 'ended' = 'closed'): void {
    const s = this.sessions.get(session.id);
    if (!s) return;
    for (const roomId of [...s.rooms]) this.events.emit('parted', this.leave(s, roomId, 'closed'));
    this.sessions.delete(s.id);
    const set = this.userSessions.get(s.user);
    set?.delete(s);
    if (set?.size === 0) this.userSessions.delete(s.user);
    this.events.emit('session.closed', { who: this.who(s), at: Date.now(), session: s, reason });
  }

  /**
   * Ends the local sessions of `user` (those opened with `tokenHash`, or all): each is told with an 'ended' event
   * (its door closes the connection) and closed. Returns how many ended.
   */
  endSessions(user: string, reason: string, tokenHash?: string): number {
    let n = 0;
    for (const s of [...(this.userSessions.get(user) ?? [])]) {
      if (tokenHash !== undefined && s.tokenHash !== tokenHash) continue;
      this.deliver(s, { type: 'ended', code: 'TOKEN_INVALID', message: reason });
      this.closeSession(s, 'ended');
      n++;
    }
    // doors that hold credentials of their own (a SIP registration) drop them too
    this.events.emit('credentials.revoked', {
      user,
      reason,
      at: Date.now(),
      ...(tokenHash !== undefined ? { tokenHash } : {}),
    });
    return n;
  }

  /** Publishes that a user's credential was revoked, so every server of the pool ends the sessions using it. */
  revokeSessions(user: string, reason: string, tokenHash?: string): void {
    this.bus.publish({
      subject: userSubject(user),
      key: this.nextKey(),
      origin: this.bus.serverId,
      body: { kind: 'sessions.revoked', user, reason, ...(tokenHash !== undefined ? { tokenHash } : {}) },
    });
  }

  liveSession(session: Session): LiveSession {
    const s = this.sessions.get(session.id);
    if (!s) throw new PchatError('TOKEN_INVALID', 'the session is closed');
    return s;
  }

  /** The local sessions of a user (empty when none). */
  sessionsOf(user: string): ReadonlySet<LiveSession> {
    return this.userSessions.get(user) ?? new Set();
  }

  // ---- rooms ---------------------------------------------------------------------------------------------

  roomAndCategory(roomId: string): { room: Room; category: Category } {
    const room = this.model.rooms.get(roomId);
    const category = room ? this.model.categories.get(room.categoryId) : undefined;
    if (!room || !category) throw new PchatError('ROOM_NOT_FOUND', `room: ${roomId} does not exist`, { field: 'room' });
    return { room, category };
  }

  /** The room, if `s` may do `action` in it; otherwise the rule's error (secret rooms: ROOM_NOT_FOUND). */
  require(s: Subject, roomId: string, action: RoomAction): { room: Room; category: Category } {
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
  may(s: Subject, roomId: string, action: RoomAction): boolean {
    const r = this.model.rooms.get(roomId);
    const c = r && this.model.categories.get(r.categoryId);
    return r !== undefined && c !== undefined && decideRoom(s, r, c, action).allowed;
  }

  visibleRooms(s: Subject, action: RoomAction = 'see'): Room[] {
    return allowedRooms(s, [...this.model.rooms.values()], this.model.categories, action);
  }

  view(s: Subject, room: Room, category: Category): RoomView {
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

  /** The live state of a room with local sessions, if it has any. */
  liveRoom(roomId: string): LiveRoom | undefined {
    return this.live.get(roomId);
  }

  liveRooms(): IterableIterator<LiveRoom> {
    return this.live.values();
  }

  participants(roomId: string): string[] {
    return [...(this.live.get(roomId)?.users.keys() ?? [])];
  }

  // ---- join / part ---------------------------------------------------------------------------------------

  /** Joins one room or many (bjoin). Each room succeeds or fails on its own. */
  async join(session: Session, roomIds: string[]): Promise<JoinOutcome[]> {
    const s = this.liveSession(session);
    const out: JoinOutcome[] = [];
    for (const roomId of roomIds) {
      try {
        out.push({ ok: true, joined: await this.joinOne(s, roomId) });
      } catch (e) {
        // a refusal is the answer; anything else is a fault the client sees only as INTERNAL, so it is logged here
        if (!(e instanceof PchatError)) this.log.error('join failed', { room: roomId, user: s.user, err: e });
        const err = e instanceof PchatError ? e : new PchatError('INTERNAL');
        out.push({ ok: false, roomId, code: err.code, message: err.message });
      }
    }
    return out;
  }

  private async joinOne(s: LiveSession, roomId: string): Promise<JoinedRoom> {
    const subject = this.subject(s.user);
    const { room, category } = this.require(subject, roomId, 'join');
    const ev = {
      who: this.who(s),
      at: Date.now(),
      session: s,
      subject,
      room,
      category,
      history: [] as MessageView[],
      roster: null,
      firstOfUser: false,
    };
    await this.events.veto('join.before', ev);
    // re-check after the awaits: the session may have closed or the room changed meanwhile
    if (!this.sessions.has(s.id)) throw new PchatError('TOKEN_INVALID', 'the session is closed');
    const now = this.require(subject, roomId, 'join');
    let lr = this.live.get(roomId);
    if (!lr) {
      lr = { id: roomId, sessions: new Set(), users: new Map(), large: false, outbox: [] };
      this.live.set(roomId, lr);
      // from here on, messages after the newest one this join answered reach the room in store-id order
      this.sequencer?.track(roomId, ev.history[ev.history.length - 1]?.id ?? 0);
    }
    ev.firstOfUser = !lr.users.has(s.user);
    if (!s.rooms.has(roomId)) {
      s.rooms.add(roomId);
      lr.sessions.add(s);
      lr.users.set(s.user, (lr.users.get(s.user) ?? 0) + 1);
    }
    await this.events.notify('joined', ev);
    return {
      room: this.view(subject, now.room, now.category),
      history: [...ev.history],
      roster: ev.roster,
      large: lr.large,
    };
  }

  /** Leaves a room (NOT_JOINED, thrown at once, when the session is not in it). */
  part(session: Session, roomId: string): Promise<void> {
    const s = this.liveSession(session);
    if (!s.rooms.has(roomId)) throw new PchatError('NOT_JOINED', `room: not joined to ${roomId}`, { field: 'room' });
    return this.events.notify('parted', this.leave(s, roomId, 'part'));
  }

  /** Takes the session out of the room's live state; the caller fires 'parted' with the result. */
  leave(s: LiveSession, roomId: string, reason: 'part' | 'closed' | 'removed') {
    const lr = this.live.get(roomId);
    s.rooms.delete(roomId);
    let lastOfUser = false;
    if (lr) {
      lr.sessions.delete(s);
      const n = (lr.users.get(s.user) ?? 1) - 1;
      if (n > 0) lr.users.set(s.user, n);
      else {
        lr.users.delete(s.user);
        lastOfUser = true;
      }
    }
    const ev = { who: this.who(s), where: this.where(roomId), at: Date.now(), session: s, reason, lastOfUser };
    if (lr && lr.sessions.size === 0) {
      this.live.delete(roomId);
      this.sequencer?.untrack(roomId);
    }
    return ev;
  }

  // ---- fan-out -------------------------------------------------------------------------------------------

  /** Publishes a roster notice for a room (the roster module decides when). */
  publishRoster(roomId: string, action: 'join' | 'part', s: Session): void {
    this.bus.publish({
      subject: roomSubject(roomId),
      key: this.nextKey(),
      origin: this.bus.serverId,
      body: { kind: 'roster', roomId, action, user: s.user, displayName: s.displayName, except: s.id },
    });
  }

  /** Publishes that an admin change touched a room, so every server rechecks its sessions there. */
  publishRoomChange(roomId: string, changeId: number): void {
    this.bus.publish({
      subject: roomSubject(roomId),
      key: `c:${changeId}`,
      origin: this.bus.serverId,
      body: { kind: 'room.changed', roomId, changeId },
    });
  }

  private nextKey(): string {
    return `${this.bus.serverId}:${++this.seq}`;
  }

  private receiveRoom(env: BusEnvelope): void {
    if (!this.dedupe.first(env.subject, env.key)) return;
    const b = env.body;
    if (b.kind === 'message') {
      const view = (env.local as MessageView | undefined) ?? this.messageView(b.message);
      if (this.sequencer && b.prevId !== undefined && this.sequencer.isTracked(b.roomId)) {
        this.sequencer.offer(b.roomId, b.message.id, b.prevId, { view, logged: b.logged });
      } else this.deliverMessage(b.roomId, view, b.logged);
    } else if (b.kind === 'roster') {
      const lr = this.live.get(b.roomId);
      if (!lr || lr.large) return;
      const except = this.sessions.get(b.except ?? '');
      this.emitRoom(
        lr,
        b.action === 'join'
          ? { type: 'join', roomId: b.roomId, user: b.user, displayName: b.displayName }
          : { type: 'part', roomId: b.roomId, user: b.user },
        except,
      );
    } else if (b.kind === 'room.changed') {
      void this.roomChanged(b.roomId, b.changeId);
    } else if (b.kind === 'messages.changed') {
      const room = this.model.rooms.get(b.roomId);
      const who: Who = { user: b.by, displayName: b.by, door: 'rest' };
      const where = { id: b.roomId, name: room?.name ?? b.roomId };
      const at = Date.now();
      for (const id of b.ids) {
        // the content is gone from the store: the record of what it was is the compliance store's
        const message = { id, kind: 'regular' as const, text: '' };
        if (b.replacement === null) this.events.emit('message.removed', { who, where, at, message });
        else
          this.events.emit('message.replaced', {
            who,
            where,
            at,
            message,
            replacement: { id, kind: 'regular', text: b.replacement },
          });
      }
    }
  }

  /** A committed message reaches the room's local sessions (in store-id order) and the modules. */
  private deliverMessage(roomId: string, view: MessageView, logged: boolean): void {
    const lr = this.live.get(roomId);
    if (lr) this.emitRoom(lr, { type: 'message', message: view });
    this.events.emit('message.arrived', { message: view, logged });
  }

  /**
   * After the bus was away (pool mode): reads the admin changes and fills every live room's messages from the
   * store, so nothing committed meanwhile on another server is missed.
   */
  async resync(): Promise<void> {
    try {
      await this.model.poll();
      await this.sequencer?.resync();
    } catch (e) {
      this.log.error('catching up after a bus outage failed', { err: e });
    }
  }

  private async roomChanged(roomId: string, changeId: number): Promise<void> {
    try {
      // a change published by another server may be newer than this server's picture of the model
      if (changeId > this.model.seenChangeId) await this.model.poll();
      const room = this.model.rooms.get(roomId);
      await this.events.notify('room.changed', {
        where: { id: roomId, name: room?.name ?? roomId },
        at: Date.now(),
        changeId,
        room,
      });
    } catch (e) {
      this.log.error('applying a room change failed', { roomId, changeId, err: e });
    }
  }

  private receiveUser(env: BusEnvelope): void {
    if (!this.dedupe.first(env.subject, env.key)) return;
    const b = env.body;
    if (b.kind === 'sessions.revoked') this.endSessions(b.user, b.reason, b.tokenHash);
  }

  /** Sends an event to every session in the room (optionally but one). Returns the number of deliveries. */
  emitRoom(lr: LiveRoom, e: ChatEvent, except?: LiveSession): number {
    const slice = this.opts.fanoutSlice ?? 2000;
    if (lr.outbox.length > 0 || lr.sessions.size > slice) {
      // a big room: queue behind what is still being delivered there, and go out a slice per turn
      const targets = [...lr.sessions].filter((s) => s !== except);
      lr.outbox.push({ event: e, targets, next: 0 });
      this.slicing.add(lr);
      this.schedulePump();
      this.deliveries += targets.length;
      return targets.length;
    }
    let n = 0;
    for (const s of lr.sessions) {
      if (s === except) continue;
      this.deliver(s, e);
      n++;
    }
    this.deliveries += n;
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

  deliver(s: LiveSession, e: ChatEvent): void {
    try {
      s.sink(e);
    } catch {
      // a broken transport must not stop delivery to everyone else
    }
  }

  // ---- posting -------------------------------------------------------------------------------------------

  messageView(m: StoredMessage): MessageView {
    return {
      id: m.id,
      roomId: m.roomId,
      author: m.author,
      authorName: this.displayName(m.author),
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
    checkText('text', input.text);
    const cfg = this.model.config;
    const limit = kind === 'story' ? cfg.storySizeLimit : cfg.messageSizeLimit;
    if ([...input.text].length > limit) {
      throw new PchatError(
        kind === 'story' ? 'STORY_TOO_LARGE' : 'MESSAGE_TOO_LARGE',
        `text: at most ${limit} characters`,
        { field: 'text' },
      );
    }
    if (kind === 'story') {
      if (typeof input.title !== 'string' || input.title.trim().length === 0)
        throw invalid('title', 'a story needs a title');
      if ([...input.title].length > 256) throw invalid('title', 'at most 256 characters');
      checkText('title', input.title);
    } else if (input.title) throw invalid('title', 'only stories have a title');
    if (input.rich !== undefined && input.rich !== null) {
      if (typeof input.rich !== 'string') throw invalid('rich', 'must be a string');
      if (input.rich.length > limit * 8) {
        throw new PchatError(kind === 'story' ? 'STORY_TOO_LARGE' : 'MESSAGE_TOO_LARGE', 'rich: too long', {
          field: 'rich',
        });
      }
      checkOptionalText('rich', input.rich);
    }
  }

  /**
   * Posts a message. Resolves only after the message is committed to the store (with the other posts of the
   * same event-loop turn, in one transaction) and has been handed to every local participant's session, the
   * sender's included.
   */
  async post(session: Session, roomId: string, input: PostInput): Promise<MessageView> {
    const s = this.liveSession(session);
    const subject = this.subject(s.user);
    this.validatePost(input);
    const { room, category } = this.require(subject, roomId, 'post');
    const who = this.who(s);
    if (this.events.has('post.before'))
      await this.events.veto('post.before', { who, at: Date.now(), session: s, subject, room, category, input });
    return this.enqueue({
      who,
      where: { id: room.id, name: room.name },
      message: {
        roomId,
        author: s.user,
        ts: Date.now(),
        kind: input.kind ?? 'regular',
        text: input.text,
        title: input.kind === 'story' ? (input.title ?? null) : null,
        rich: input.rich ?? null,
        file: null,
        logged: category.chatHistory,
      },
    });
  }

  /** Queues a message for the next commit (posts, uploads); resolves with it once committed and published. */
  enqueue(item: CommitItem): Promise<MessageView> {
    return new Promise<MessageView>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Group commit: at most one commit is in flight. What is queued while it waits on the store (a PostgreSQL round
   * trip, the WAL sync of SQLite on the thread pool) goes in one batch when it ends, not in one small transaction
   * per event-loop turn, each waiting its turn for the store's lock and its own sync.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flushNow();
    });
  }

  /** Commits what is queued unless a commit is in flight (then the queue follows it); resolves when it ends. */
  private flushNow(): Promise<void> {
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0) this.scheduleFlush();
    });
    return this.flushing;
  }

  /** Commits a batch in one transaction, with the 'committing' and 'appended' handlers taking part in it. */
  private async commit(batch: PendingPost[]): Promise<StoredMessage[]> {
    const messages: NewMessage[] = batch.map((p) => p.item.message);
    if (!this.events.has('committing') && !this.events.has('appended')) return this.store.messages.append(messages);
    return this.store.atomically(async (tx) => {
      const items = batch.map((p) => p.item);
      await this.events.veto('committing', { items, tx });
      const stored = await tx.messages.append(messages);
      await this.events.veto('appended', { items, tx, stored });
      return stored;
    });
  }

  /**
   * Commits what is queued. When the batch fails, each message is retried on its own, so only the messages
   * that cause a failure fail; every failure is logged with its cause.
   */
  private async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const t0 = performance.now();
    let results: (StoredMessage | { error: unknown })[];
    try {
      results = await this.commit(batch);
    } catch (e) {
      this.log.error('store commit failed', { messages: batch.length, err: e });
      if (batch.length === 1) results = [{ error: e }];
      else {
        results = [];
        for (const p of batch) {
          try {
            results.push(...(await this.commit([p])));
          } catch (e1) {
            this.log.error('store commit of one message failed', {
              room: p.item.message.roomId,
              author: p.item.message.author,
              err: e1,
            });
            results.push({ error: e1 });
          }
        }
      }
    }
    this.opts.observe?.storeCommit?.(performance.now() - t0, batch.length);
    const prevIds = this.sequencer ? await this.previousIds(results) : undefined;
    const t1 = performance.now();
    const before = this.deliveries;
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as PendingPost;
      const r = results[i] as StoredMessage | { error: unknown };
      if ('error' in r) {
        p.reject(r.error instanceof PchatError ? r.error : new PchatError('STORE_UNAVAILABLE'));
        continue;
      }
      const view = this.messageView(r);
      this.bus.publish({
        subject: roomSubject(r.roomId),
        key: `m:${r.id}`,
        origin: this.bus.serverId,
        body: {
          kind: 'message',
          roomId: r.roomId,
          message: r,
          logged: p.item.message.logged,
          ...(prevIds ? { prevId: prevIds.get(r.id) ?? 0 } : {}),
        },
        local: view,
      });
      this.events.emit('posted', { who: p.item.who, where: p.item.where, at: Date.now(), message: view });
      this.opts.observe?.posted?.();
      p.resolve(view);
    }
    this.opts.observe?.fanout?.(performance.now() - t1, this.deliveries - before);
  }

  /**
   * Pool mode: each committed message's predecessor in its room. The store commits ids in order across the pool,
   * so the room's newest id below a message's is final once that message is committed.
   */
  private async previousIds(results: readonly (StoredMessage | { error: unknown })[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const lastInRoom = new Map<string, number>();
    for (const r of results) {
      if ('error' in r) continue;
      let prev = lastInRoom.get(r.roomId);
      if (prev === undefined) {
        try {
          prev = await this.store.messages.lastIdBefore(r.roomId, r.id);
        } catch (e) {
          this.log.error('reading the previous message id failed', { roomId: r.roomId, err: e });
          prev = 0;
        }
      }
      out.set(r.id, prev);
      lastInRoom.set(r.roomId, r.id);
    }
    return out;
  }

  stats(): {
    sessions: number;
    users: number;
    activeRooms: number;
    joins: number;
    /** Sessions by door (transport): ws, rest, sip. */
    byDoor: Record<string, number>;
  } {
    let joins = 0;
    for (const lr of this.live.values()) joins += lr.sessions.size;
    const byDoor: Record<string, number> = {};
    for (const s of this.sessions.values()) byDoor[s.transport] = (byDoor[s.transport] ?? 0) + 1;
    return { sessions: this.sessions.size, users: this.userSessions.size, activeRooms: this.live.size, joins, byDoor };
  }
}
