// The chat core's one event map. Every moment a feature or a cross-cutting capability (compliance, retention,
// message administration) may observe or refuse is named here, with its payload, once.
//
// Three kinds (EVENT_KINDS says which each name is):
// - veto:   fired before an action. Handlers run one after another, highest priority first (ties: in order of
//           registration), each awaited; one that throws (a PchatError) refuses the action and nothing changes.
// - commit: fired inside the store transaction that commits a batch of posts, before it commits; handlers are
//           awaited and get the transaction. One that throws rolls the batch back (see ChatCore.flush).
// - notify: fired after the action took effect, in priority order. The core awaits the handlers before it
//           acknowledges the action (except 'posted', 'message.arrived' and 'session.*' are never awaited: their
//           handlers must be synchronous). An error thrown by an awaited handler fails the acknowledgement (the
//           caller gets it); anywhere else it is logged and delivery goes on.
import type { Category, MessageKind, Room } from '../core/model.js';
import type { Subject } from '../core/principals.js';
import type { FileRef, NewMessage, Store, StoredFile } from '../store/port.js';
import type { HistoryQuery, MessageView, PostInput, SearchQuery, Session } from './types.js';

/** The door a session came in by. */
export type Door = 'rest' | 'ws' | 'xccos';
export const DOORS: readonly Door[] = ['rest', 'ws', 'xccos'];

/** Who acted: what a compliance recorder writes down. */
export interface Who {
  user: string;
  displayName: string;
  door: Door;
  /** The chat session, when the action came through one. */
  sessionId?: string;
}

/** Which room. */
export interface Where {
  id: string;
  name: string;
}

/** Which message. */
export interface MessageRef {
  id: number;
  kind: MessageKind;
  text: string;
}

export interface RosterEntry {
  uri: string;
  displayName: string;
}

/** One join, from 'join.before' to 'joined' (the same object): modules fill in what the join answers. */
export interface JoinEvent {
  who: Who;
  at: number;
  session: Session;
  subject: Subject;
  room: Room;
  category: Category;
  /** Backchat sets the room's recent messages, oldest first (default: none). */
  history: MessageView[];
  /** The roster module sets the participants, or null in a large room (default: null). */
  roster: RosterEntry[] | null;
  /** Set by the core after the session is in the room: this is the user's first session there. */
  firstOfUser: boolean;
}

export interface PartEvent {
  who: Who;
  where: Where;
  at: number;
  session: Session;
  /** 'part': the client left; 'closed': its session ended; 'removed': the server removed it (access changed). */
  reason: 'part' | 'closed' | 'removed';
  /** The user has no session left in the room. */
  lastOfUser: boolean;
}

export interface PostBefore {
  who: Who;
  at: number;
  session: Session;
  subject: Subject;
  room: Room;
  category: Category;
  input: PostInput;
}

/** One message of a batch about to commit. */
export interface CommitItem {
  who: Who;
  where: Where;
  message: NewMessage;
}

export interface CommitBatch {
  items: readonly CommitItem[];
  /** The transaction the batch commits in: write here to commit with it (PostgreSQL and SQLite alike). */
  tx: Store;
}

export interface Posted {
  who: Who;
  where: Where;
  at: number;
  message: MessageView;
}

export interface MessageArrived {
  message: MessageView;
  /** false when the room's category keeps no chat history. */
  logged: boolean;
}

export interface HistoryBefore {
  who: Who;
  subject: Subject;
  room: Room;
  category: Category;
  query: HistoryQuery;
}

export interface HistoryViewed {
  who: Who;
  where: Where;
  at: number;
  query: HistoryQuery;
  messages: readonly MessageView[];
}

export interface SearchBefore {
  who: Who;
  subject: Subject;
  query: SearchQuery;
  /** The rooms to be searched (only rooms the user may read); a handler may narrow it. */
  roomIds: string[];
}

export interface Searched {
  who: Who;
  at: number;
  query: SearchQuery;
  roomIds: readonly string[];
  messages: readonly MessageView[];
  count: number;
}

export interface UploadBefore {
  who: Who;
  subject: Subject;
  room: Room;
  category: Category;
  name: string;
  contentType: string;
  size: number | undefined;
}

export interface Uploaded {
  who: Who;
  where: Where;
  at: number;
  file: FileRef;
  message: MessageView;
}

export interface DownloadBefore {
  who: Who;
  subject: Subject;
  room: Room;
  category: Category;
  file: StoredFile;
}

export interface Downloaded {
  who: Who;
  where: Where;
  at: number;
  file: FileRef;
}

export interface MessageChanged {
  /** Who removed or replaced it (an administrator, a manager, retention: door 'rest' for the API). */
  who: Who;
  where: Where;
  at: number;
  message: MessageRef;
  /** For 'message.replaced': the new content. */
  replacement?: MessageRef;
}

export interface RoomChanged {
  where: Where;
  at: number;
  /** The store change id that caused it. */
  changeId: number;
  /** The room as it is now; undefined when it was removed. */
  room: Room | undefined;
}

export interface SessionEvent {
  who: Who;
  at: number;
  session: Session;
  /** session.closed: 'closed' by its door, or 'ended' by the server (credential revoked, password changed). */
  reason?: 'closed' | 'ended';
}

export interface CredentialsRevoked {
  user: string;
  /** The revoked token; absent when every credential of the user is (a password change). */
  tokenHash?: string;
  reason: string;
  at: number;
}

/** Every chat event: name → payload. */
export interface ChatEvents {
  'session.opened': SessionEvent;
  'session.closed': SessionEvent;
  'join.before': JoinEvent;
  joined: JoinEvent;
  parted: PartEvent;
  'post.before': PostBefore;
  committing: CommitBatch;
  posted: Posted;
  'message.arrived': MessageArrived;
  'history.before': HistoryBefore;
  'history.viewed': HistoryViewed;
  'search.before': SearchBefore;
  searched: Searched;
  'upload.before': UploadBefore;
  uploaded: Uploaded;
  'download.before': DownloadBefore;
  downloaded: Downloaded;
  'message.removed': MessageChanged;
  'message.replaced': MessageChanged;
  'room.changed': RoomChanged;
  'credentials.revoked': CredentialsRevoked;
}

export type ChatEventName = keyof ChatEvents;

export const EVENT_KINDS: Record<ChatEventName, 'veto' | 'commit' | 'notify'> = {
  'session.opened': 'notify',
  'session.closed': 'notify',
  'join.before': 'veto',
  joined: 'notify',
  parted: 'notify',
  'post.before': 'veto',
  committing: 'commit',
  posted: 'notify',
  'message.arrived': 'notify',
  'history.before': 'veto',
  'history.viewed': 'notify',
  'search.before': 'veto',
  searched: 'notify',
  'upload.before': 'veto',
  uploaded: 'notify',
  'download.before': 'veto',
  downloaded: 'notify',
  'message.removed': 'notify',
  'message.replaced': 'notify',
  'room.changed': 'notify',
  'credentials.revoked': 'notify',
};

/** Priorities of the core's own handlers, so modules can place theirs before or after (higher runs first). */
export const PRIORITY = {
  /** Access rules (the core's own checks run before any veto handler). */
  access: 100,
  /** Default for module handlers. */
  normal: 0,
  /** Work that should see the final state (e.g. loading history for a join that is going ahead). */
  late: -50,
} as const;

export type Handler<K extends ChatEventName> = (payload: ChatEvents[K]) => void | Promise<void>;

interface Entry {
  priority: number;
  seq: number;
  fn: (payload: never) => void | Promise<void>;
  module: string;
}

export interface EventLog {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** The registry and dispatcher of ChatEvents. */
export class ChatEventHub {
  private readonly handlers = new Map<ChatEventName, Entry[]>();
  private seq = 0;

  constructor(private readonly log: EventLog) {}

  /** Registers a handler; returns the unregister function. `module` names the owner in logs. */
  on<K extends ChatEventName>(name: K, fn: Handler<K>, opts: { priority?: number; module?: string } = {}): () => void {
    const list = this.handlers.get(name) ?? [];
    const entry: Entry = { priority: opts.priority ?? PRIORITY.normal, seq: this.seq++, fn, module: opts.module ?? '' };
    list.push(entry);
    list.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    this.handlers.set(name, list);
    return () => {
      const l = this.handlers.get(name);
      const i = l?.indexOf(entry) ?? -1;
      if (l && i >= 0) l.splice(i, 1);
    };
  }

  has(name: ChatEventName): boolean {
    return (this.handlers.get(name)?.length ?? 0) > 0;
  }

  /** Veto and commit events: each handler awaited in order; the first to throw stops the action. */
  async veto<K extends ChatEventName>(name: K, payload: ChatEvents[K]): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const h of [...list]) await (h.fn as Handler<K>)(payload);
  }

  /**
   * Notify events, awaited before the acknowledgement: a handler's error reaches the caller (and the log).
   * Handlers that return no promise run synchronously, within the call, up to the first that returns one; so
   * synchronous effects (roster notices) happen in the same turn as the action.
   */
  notify<K extends ChatEventName>(name: K, payload: ChatEvents[K]): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return Promise.resolve();
    const run = (from: number): Promise<void> => {
      for (let i = from; i < list.length; i++) {
        const h = list[i] as Entry;
        let r: void | Promise<void>;
        try {
          r = (h.fn as Handler<K>)(payload);
        } catch (e) {
          this.log.error('chat event handler failed', { event: name, module: h.module, err: e });
          return Promise.reject(e);
        }
        if (r instanceof Promise) {
          return r.then(
            () => run(i + 1),
            (e: unknown) => {
              this.log.error('chat event handler failed', { event: name, module: h.module, err: e });
              throw e;
            },
          );
        }
      }
      return Promise.resolve();
    };
    return run(0);
  }

  /** Notify events that are not awaited: handlers are called synchronously; an error is logged, never thrown. */
  emit<K extends ChatEventName>(name: K, payload: ChatEvents[K]): void {
    const list = this.handlers.get(name);
    if (!list) return;
    for (const h of list) {
      try {
        const r = (h.fn as Handler<K>)(payload);
        if (r instanceof Promise)
          r.catch((e: unknown) =>
            this.log.error('chat event handler failed', { event: name, module: h.module, err: e }),
          );
      } catch (e) {
        this.log.error('chat event handler failed', { event: name, module: h.module, err: e });
      }
    }
  }
}
