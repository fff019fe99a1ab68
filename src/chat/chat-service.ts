// The chat service: the one object every door (REST, WebSocket, XCCOS) calls. It is the composition root of
// the chat side: the core (core.ts: sessions, live rooms, the post pipeline, events, bus) and the feature
// modules that register on it, each in its own file:
//   auth.ts            sign-in, tokens, ending the sessions of a revoked token or changed password
//   roster.ts          participants and the large-room rule
//   backchat.ts        recent messages on join, history paging
//   room-directory.ts  room browse/search, associations, details
//   search.ts          message search
//   follows.ts         following rooms, unread counts, bjoin of followed rooms
//   feeds.ts           topic feeds and keyword alerts
//   invitations.ts     listing and delivering invitations
//   files.ts           uploads and downloads
//   preferences.ts     per-user preference documents
//   live-effects.ts    what admin changes do to live sessions
// The methods below only delegate, so the doors keep calling what they always called.
import type { Readable } from 'node:stream';
import type { ThrottleOptions } from '../directory/sign-in-throttle.js';
import type { FileStore } from '../files/file-store.js';
import type { FeedFilter, Store } from '../store/port.js';
import { hashToken, SignIn } from './auth.js';
import { Backchat } from './backchat.js';
import { ChatCore, type ChatCoreOptions } from './core.js';
import type { Door } from './events.js';
import { Feeds } from './feeds.js';
import { Files } from './files.js';
import { Follows } from './follows.js';
import { Invitations } from './invitations.js';
import { registerLiveEffects } from './live-effects.js';
import { Preferences } from './preferences.js';
import { RoomDirectory } from './room-directory.js';
import { registerRoster } from './roster.js';
import { MessageSearch } from './search.js';
import type {
  EventSink,
  FeedInput,
  FollowView,
  HistoryQuery,
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

export { THROTTLE_DEFAULTS } from '../directory/sign-in-throttle.js';
export type { ChatObserver } from './core.js';

export const VERSION = '0.1.0';

/** The core's options (see ChatCoreOptions: polling, slicing, metrics, log, bus, pool ordering, admission)
 * and the sign-in token lifetime. */
export interface ChatOptions extends ChatCoreOptions {
  tokenTtlSeconds: number;
  /** Sign-in throttling (directory/sign-in-throttle.ts); the defaults suit production. */
  throttle?: Partial<ThrottleOptions>;
}

export class ChatService {
  readonly core: ChatCore;
  readonly auth: SignIn;
  private readonly backchat: Backchat;
  private readonly directory: RoomDirectory;
  private readonly messageSearch: MessageSearch;
  private readonly following: Follows;
  private readonly feedModule: Feeds;
  private readonly invites: Invitations;
  private readonly fileModule: Files;
  private readonly prefs: Preferences;

  constructor(
    readonly store: Store,
    readonly files: FileStore,
    readonly opts: ChatOptions,
  ) {
    this.core = new ChatCore(store, opts);
    this.auth = new SignIn(this.core, opts).register();
    registerRoster(this.core);
    this.backchat = new Backchat(this.core).register();
    this.directory = new RoomDirectory(this.core);
    this.messageSearch = new MessageSearch(this.core);
    this.following = new Follows(this.core);
    this.feedModule = new Feeds(this.core);
    this.invites = new Invitations(this.core).register();
    this.fileModule = new Files(this.core, files);
    this.prefs = new Preferences(this.core);
    registerLiveEffects(this.core);
  }

  get model() {
    return this.core.model;
  }

  get events() {
    return this.core.events;
  }

  async start(): Promise<void> {
    await this.core.start();
    await this.feedModule.start();
  }

  stop(): Promise<void> {
    return this.core.stop();
  }

  // ---- sign-in (auth.ts) ---------------------------------------------------------------------------------
  checkPassword = (user: string, password: string, source?: string): Promise<string> =>
    this.auth.checkPassword(user, password, source);
  mayTry = (uri: string, source?: string): Promise<boolean> => this.auth.mayTry(uri, source);
  noteLogin = (uri: string, ok: boolean, source?: string): Promise<void> => this.auth.noteLogin(uri, ok, source);
  signIn = (user: string, password: string, source?: string) => this.auth.signIn(user, password, source);
  signOut = (token: string): Promise<void> => this.auth.signOut(token);
  authenticate = (token: string): Promise<string> => this.auth.authenticate(token);

  // ---- sessions, join, post (core.ts) --------------------------------------------------------------------
  /** Opens a session for a door; `token` (WebSocket, REST) lets a revocation of that token end it. */
  openSession(user: string, sink: EventSink, door: Door, token?: string): Session {
    return this.core.openSession(user, sink, door, token !== undefined ? { tokenHash: hashOf(token) } : {});
  }
  closeSession = (session: Session): void => this.core.closeSession(session);
  join = (session: Session, roomIds: string[]): Promise<JoinOutcome[]> => this.core.join(session, roomIds);
  part = (session: Session, roomId: string): Promise<void> => this.core.part(session, roomId);
  post = (session: Session, roomId: string, input: PostInput): Promise<MessageView> =>
    this.core.post(session, roomId, input);
  participants = (roomId: string): string[] => this.core.participants(roomId);
  stats = () => this.core.stats();

  serverInfo(): ServerInfo {
    return { domain: this.opts.domain, config: { ...this.model.config }, serverTime: Date.now(), version: VERSION };
  }

  // ---- rooms (room-directory.ts) -------------------------------------------------------------------------
  searchRooms = (user: string, q: { query?: string; limit?: number } = {}): RoomView[] =>
    this.directory.searchRooms(user, q);
  associations = (user: string, role: 'member' | 'manager' = 'member'): RoomView[] =>
    this.directory.associations(user, role);
  roomDetails = (user: string, roomId: string): RoomView => this.directory.roomDetails(user, roomId);

  // ---- history and search (backchat.ts, search.ts) -------------------------------------------------------
  history = (user: string, roomId: string, q: HistoryQuery = {}, door?: Door): Promise<MessageView[]> =>
    this.backchat.history(user, roomId, q, door);
  search = (user: string, q: SearchQuery, door?: Door): Promise<SearchView> => this.messageSearch.search(user, q, door);

  // ---- follows (follows.ts) ------------------------------------------------------------------------------
  follows = (user: string): Promise<FollowView[]> => this.following.follows(user);
  follow = (user: string, roomId: string, on: boolean): Promise<void> => this.following.follow(user, roomId, on);
  markRead = (user: string, roomId: string, messageId: number): Promise<void> =>
    this.following.markRead(user, roomId, messageId);
  joinFollowed = (session: Session): Promise<JoinOutcome[]> => this.following.joinFollowed(session);

  // ---- invitations, feeds, files, preferences ------------------------------------------------------------
  invitations = (user: string, afterId = 0, limit = 100) => this.invites.invitations(user, afterId, limit);
  listFeeds = (user: string): Promise<FeedFilter[]> => this.feedModule.listFeeds(user);
  putFeed = (user: string, input: FeedInput): Promise<FeedFilter> => this.feedModule.putFeed(user, input);
  removeFeed = (user: string, id: string): Promise<void> => this.feedModule.removeFeed(user, id);
  feed = (user: string, filterId: string, q: { beforeId?: number; limit?: number } = {}): Promise<MessageView[]> =>
    this.feedModule.feed(user, filterId, q);
  upload = (session: Session, input: UploadInput): Promise<MessageView> => this.fileModule.upload(session, input);
  download = (
    user: string,
    fileId: string,
    door?: Door,
  ): Promise<{ name: string; size: number; contentType: string; body: Readable }> =>
    this.fileModule.download(user, fileId, door);
  getPref = (user: string, label: string): Promise<string | undefined> => this.prefs.getPref(user, label);
  setPref = (user: string, label: string, content: string): Promise<void> => this.prefs.setPref(user, label, content);
}

function hashOf(token: string): string {
  return hashToken(token);
}
