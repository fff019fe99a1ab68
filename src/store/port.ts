// The store port: every persistent read and write pchat makes goes through this one interface.
// Two adapters implement it (SQLite embedded, PostgreSQL for a pool) over one SQL implementation
// (sql-store.ts); test/store-contract.ts is the single contract suite both must pass.
//
// Every mutation appends a change event in the same transaction. Change events and chat messages share
// one strictly increasing id space, so "what happened after id N" is one question for every consumer.
import type { Addin, Category, ChatConfig, Endpoint, Group, MessageKind, Policy, Room, User } from '../core/model.js';

export type Dialect = 'sqlite' | 'postgres';

export interface ChangeEvent {
  id: number;
  /** e.g. room.put, room.removed, category.put, user.put, group.put, config.put, policy.put, invitation.created */
  type: string;
  /** The room, category, user, … the change is about. */
  subject: string;
  ts: number;
  data: Record<string, unknown>;
}

export interface FileRef {
  id: string;
  name: string;
  size: number;
  contentType: string;
}

export interface StoredMessage {
  id: number;
  roomId: string;
  author: string;
  ts: number;
  kind: MessageKind;
  /** Plain text; for a story, its body. Always present (rich text must carry plain text too). */
  text: string;
  title: string | null;
  rich: string | null;
  file: FileRef | null;
}

export type NewMessage = Omit<StoredMessage, 'id'> & {
  /** false when the category's chat history is off: the message gets an id but its content is not kept. */
  logged: boolean;
};

export interface MessageSearch {
  /** Rooms to search in (the caller passes only rooms the user may read). */
  roomIds: string[];
  text?: string;
  /** Whole phrase as typed (default: every word must appear, in any order). */
  exactPhrase?: boolean;
  /**
   * Matches when any of these phrases appears (case-insensitive substring), in one query: a topic feed's
   * keywords. Combined with `text` (both must hold) when both are given.
   */
  anyOf?: string[];
  /** Skip counting matches (count is then the page's length): feeds need only the page. */
  noCount?: boolean;
  caseSensitive?: boolean;
  authors?: string[];
  since?: number; // ms, inclusive
  until?: number; // ms, exclusive
  beforeId?: number;
  /** Page size. */
  limit: number;
  /** Matches are counted up to this many (the server's SearchLimit); default `limit`. */
  countLimit?: number;
}

export interface SearchResult {
  messages: StoredMessage[]; // newest first
  count: number; // how many matched in all, at most countLimit
  exceededLimit: boolean; // more than countLimit matched
}

export interface Invitation {
  id: number;
  user: string;
  roomId: string;
  inviter: string;
  ts: number;
}

export interface Follow {
  roomId: string;
  lastReadId: number;
}

export interface FeedFilter {
  id: string;
  user: string;
  name: string;
  keywords: string[];
  authors: string[];
  roomIds: string[];
  alert: boolean;
}

export interface StoredFile extends FileRef {
  roomId: string;
  uploader: string;
  ts: number;
  /** Path inside the file store. */
  storageKey: string;
}

export interface SessionToken {
  tokenHash: string;
  user: string;
  createdAt: number;
  expiresAt: number;
}

export interface Crud<T, K = string> {
  get(key: K): Promise<T | undefined>;
  list(): Promise<T[]>;
  /** Insert or replace; appends a `<kind>.put` change event. Returns its id. */
  put(value: T): Promise<number>;
  /** Returns false when there was nothing to remove. Appends `<kind>.removed` when there was. */
  remove(key: K): Promise<boolean>;
}

export interface UserStore extends Crud<User> {
  getPasswordHash(uri: string): Promise<string | undefined>;
  setPasswordHash(uri: string, hash: string): Promise<void>;
}

export interface CategoryStore extends Crud<Category> {
  /** By the name's look-alike key (core/rules.ts nameKey): "lobby" finds "Lobby". */
  getByName(name: string): Promise<Category | undefined>;
  countRooms(id: string): Promise<number>;
}

export interface RoomStore extends Crud<Room> {
  /** By the name's look-alike key (core/rules.ts nameKey). */
  getByName(name: string): Promise<Room | undefined>;
}

export interface AddinStore extends Crud<Addin> {
  /** By the name's look-alike key (core/rules.ts nameKey). */
  getByName(name: string): Promise<Addin | undefined>;
}

export interface MessageStore {
  /** Stores the batch in one transaction (one commit) and returns the messages with their ids, in order. */
  append(batch: NewMessage[]): Promise<StoredMessage[]>;
  /** The newest `limit` logged messages of a room with id < beforeId (when given), oldest first. */
  before(roomId: string, limit: number, beforeId?: number): Promise<StoredMessage[]>;
  /** The oldest `limit` logged messages of a room with id > afterId, oldest first. */
  after(roomId: string, afterId: number, limit: number): Promise<StoredMessage[]>;
  /** The id of the room's newest message (logged or not) below `id`; 0 when there is none. */
  lastIdBefore(roomId: string, id: number): Promise<number>;
  get(id: number): Promise<StoredMessage | undefined>;
  search(q: MessageSearch): Promise<SearchResult>;
  /** Counts of logged messages with id > afterId per room (for unread counts). */
  countAfter(pairs: { roomId: string; afterId: number }[]): Promise<Map<string, number>>;
  latestId(): Promise<number>;
}

export interface ChangeStore {
  since(afterId: number, limit: number): Promise<ChangeEvent[]>;
  latestId(): Promise<number>;
}

export interface FollowStore {
  list(user: string): Promise<Follow[]>;
  follow(user: string, roomId: string): Promise<void>;
  unfollow(user: string, roomId: string): Promise<void>;
  markRead(user: string, roomId: string, messageId: number): Promise<void>;
}

export interface InvitationStore {
  create(user: string, roomId: string, inviter: string): Promise<Invitation>;
  since(user: string, afterId: number, limit: number): Promise<Invitation[]>;
}

export interface FeedStore {
  list(user: string): Promise<FeedFilter[]>;
  listAll(): Promise<FeedFilter[]>;
  put(f: FeedFilter): Promise<void>;
  remove(user: string, id: string): Promise<boolean>;
}

export interface FileStoreMeta {
  put(f: StoredFile): Promise<void>;
  get(id: string): Promise<StoredFile | undefined>;
}

export interface TokenStore {
  put(t: SessionToken): Promise<void>;
  get(tokenHash: string): Promise<SessionToken | undefined>;
  remove(tokenHash: string): Promise<void>;
  removeForUser(user: string): Promise<void>;
}

export interface PrefStore {
  get(user: string, label: string): Promise<string | undefined>;
  set(user: string, label: string, content: string): Promise<void>;
  /** How many preference documents `user` keeps and their total length in characters. */
  usage(user: string): Promise<{ count: number; chars: number }>;
}

/** One (user, source address) pair's failed sign-ins (directory/sign-in-throttle.ts). */
export interface SignInFailure {
  failures: number;
  firstAt: number;
  lastAt: number;
}

export interface SignInFailureStore {
  get(userKey: string, source: string): Promise<SignInFailure | undefined>;
  /** Failures from `source` (every user) last seen at or after `since`, and the oldest such lastAt. */
  fromSource(source: string, since: number): Promise<{ failures: number; oldestAt: number | null }>;
  /**
   * Counts one more failure at `now`; a pair last seen before `restartBefore` starts again from one.
   * Returns the pair as stored.
   */
  record(userKey: string, source: string, now: number, restartBefore: number): Promise<SignInFailure>;
  clear(userKey: string, source: string): Promise<void>;
  /** Deletes pairs last seen before `before`, then the oldest pairs beyond `maxRows`; returns how many went. */
  prune(before: number, maxRows: number): Promise<number>;
  count(): Promise<number>;
}

export interface ConfigStore {
  get(): Promise<ChatConfig>;
  put(c: ChatConfig): Promise<number>;
}

/** A message as the archive carries it: with its id and whether its content was kept (chat history on). */
export interface ArchivedMessage extends StoredMessage {
  logged: boolean;
}

export interface ArchivedFollow {
  user: string;
  roomId: string;
  lastReadId: number;
}

export interface ArchivedPref {
  user: string;
  label: string;
  content: string;
}

/** Where a resumable import has got to: the last archive line whose effects are committed. */
export interface ImportProgress {
  line: number;
  state: 'running' | 'done';
}

/**
 * Bulk paths for export and import (src/migration): page through everything in a stable order, and write
 * items with their original ids. Import runs while the pool is stopped (see docs/migration.md).
 */
export interface ArchiveStore {
  /** Messages of a room with id > afterId (and ts >= since), oldest first, including unlogged ones. */
  messagePage(roomId: string, afterId: number, limit: number, since?: number): Promise<ArchivedMessage[]>;
  /** Files of a room with id > afterId (and ts >= since), in id order. */
  filePage(roomId: string, afterId: string, limit: number, since?: number): Promise<StoredFile[]>;
  /** The highest id handed out in the shared id space. */
  maxId(): Promise<number>;
  /** Makes the id space hand out only ids above `id` from now on. */
  reserveIds(id: number): Promise<void>;
  /** Fresh ids of the shared id space, in order. */
  newIds(n: number): Promise<number[]>;
  /** The room of each of these message ids that exists. */
  messageRooms(ids: number[]): Promise<Map<number, string>>;
  /** Inserts messages with their own ids, replacing any message with the same id. */
  putMessages(batch: ArchivedMessage[]): Promise<void>;
  /** Inserts or replaces a file's metadata. */
  putFile(f: StoredFile): Promise<void>;
  follows(): Promise<ArchivedFollow[]>;
  putFollow(f: ArchivedFollow): Promise<void>;
  prefs(): Promise<ArchivedPref[]>;
  getProgress(key: string): Promise<ImportProgress | undefined>;
  setProgress(key: string, p: ImportProgress): Promise<void>;
}

export interface Store {
  readonly dialect: Dialect;
  readonly users: UserStore;
  readonly groups: Crud<Group>;
  readonly categories: CategoryStore;
  readonly rooms: RoomStore;
  readonly addins: AddinStore;
  readonly policies: Crud<Policy>;
  readonly endpoints: Crud<Endpoint>;
  readonly config: ConfigStore;
  readonly messages: MessageStore;
  readonly changes: ChangeStore;
  readonly follows: FollowStore;
  readonly invitations: InvitationStore;
  readonly feeds: FeedStore;
  readonly files: FileStoreMeta;
  readonly tokens: TokenStore;
  readonly prefs: PrefStore;
  readonly signInFailures: SignInFailureStore;
  readonly archive: ArchiveStore;
  /**
   * Runs `fn` with a store whose every read and write is one transaction: all of it commits, or none.
   * Calls nested inside it join the same transaction.
   */
  atomically<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  /** Applied schema version. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
