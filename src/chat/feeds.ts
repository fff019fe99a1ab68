// Topic feeds and keyword alerts: a user's saved filters (keywords, authors, rooms). Reading a feed lists the
// matching messages across rooms the user may read, in one bounded store query; with alert on, a matching new
// message is also delivered to the user's sessions as an 'alert' event. Matching a new message against every
// user's filters is one pass of an Aho–Corasick automaton over its text (core/keyword-matcher.ts) plus look-ups
// by author and room, so its cost does not grow with how many keywords other users keep. What one user may
// keep is bounded by USER_STORAGE_LIMITS.
import { randomUUID } from 'node:crypto';
import { invalid, PchatError } from '../core/errors.js';
import { checkText } from '../core/input.js';
import { KeywordMatcher } from '../core/keyword-matcher.js';
import { USER_STORAGE_LIMITS } from '../core/model.js';
import { normalizeSipUri } from '../core/principals.js';
import type { FeedFilter } from '../store/port.js';
import type { ChatCore } from './core.js';
import { clampLimit } from './limits.js';
import type { FeedInput, MessageView } from './types.js';

/** Feed filters one user may keep. */
export const MAX_FEEDS_PER_USER = USER_STORAGE_LIMITS.feedsPerUser;

/** The alert filters, indexed for matching one message: by keyword (automaton), else by author, else by room. */
export class AlertIndex {
  private readonly keywords: KeywordMatcher<FeedFilter>;
  private readonly byAuthor = new Map<string, FeedFilter[]>();
  private readonly byRoom = new Map<string, FeedFilter[]>();

  constructor(filters: readonly FeedFilter[]) {
    const entries: { keyword: string; payload: FeedFilter }[] = [];
    const push = (m: Map<string, FeedFilter[]>, k: string, f: FeedFilter) => {
      const l = m.get(k);
      if (l) l.push(f);
      else m.set(k, [f]);
    };
    for (const f of filters) {
      if (!f.alert) continue;
      if (f.keywords.length > 0) for (const keyword of f.keywords) entries.push({ keyword, payload: f });
      else if (f.authors.length > 0) for (const a of f.authors) push(this.byAuthor, a, f);
      else for (const r of f.roomIds) push(this.byRoom, r, f);
    }
    this.keywords = new KeywordMatcher(entries);
  }

  /** Filters that may match `m` (each once); the caller checks the rest of each filter. */
  candidates(m: MessageView): FeedFilter[] {
    const out = new Set(this.keywords.match(`${m.text} ${m.title ?? ''}`));
    for (const f of this.byAuthor.get(m.author) ?? []) out.add(f);
    for (const f of this.byRoom.get(m.roomId) ?? []) out.add(f);
    return [...out];
  }
}

export class Feeds {
  private feeds: FeedFilter[] = [];
  private index: AlertIndex | undefined;

  constructor(private readonly core: ChatCore) {}

  /** Loads every filter (for alerts) and starts matching new messages. */
  async start(): Promise<this> {
    this.feeds = await this.core.store.feeds.listAll();
    this.core.events.on('message.arrived', ({ message }) => this.match(message), { module: 'feeds' });
    return this;
  }

  async listFeeds(user: string): Promise<FeedFilter[]> {
    this.core.subject(user);
    return this.core.store.feeds.list(user);
  }

  async putFeed(user: string, input: FeedInput): Promise<FeedFilter> {
    this.core.subject(user);
    const f = normalizeFeed(user, input);
    // counted in the store, so filters kept through another server of a pool count too
    const mine = await this.core.store.feeds.list(user);
    if (input.id !== undefined && !mine.some((x) => x.id === input.id)) {
      throw new PchatError('FILTER_NOT_FOUND', `id: feed ${input.id} does not exist`, { field: 'id' });
    }
    if (mine.filter((x) => x.id !== f.id).length >= MAX_FEEDS_PER_USER) {
      throw invalid('feeds', `at most ${MAX_FEEDS_PER_USER} feed filters per user`);
    }
    await this.core.store.feeds.put(f);
    this.feeds = [...this.feeds.filter((x) => x.id !== f.id), f];
    this.index = undefined;
    return f;
  }

  async removeFeed(user: string, id: string): Promise<void> {
    this.core.subject(user);
    if (!(await this.core.store.feeds.remove(user, id)))
      throw new PchatError('FILTER_NOT_FOUND', `id: feed ${id} does not exist`, { field: 'id' });
    this.feeds = this.feeds.filter((x) => x.id !== id);
    this.index = undefined;
  }

  /** The feed: messages matching the filter across rooms the user may read, newest first. */
  async feed(user: string, filterId: string, q: { beforeId?: number; limit?: number } = {}): Promise<MessageView[]> {
    const { core } = this;
    const s = core.subject(user);
    const f = (await core.store.feeds.list(user)).find((x) => x.id === filterId);
    if (!f) throw new PchatError('FILTER_NOT_FOUND', `id: feed ${filterId} does not exist`, { field: 'id' });
    const readable = core.visibleRooms(s, 'read').map((r) => r.id);
    const roomIds = f.roomIds.length > 0 ? readable.filter((id) => f.roomIds.includes(id)) : readable;
    const limit = clampLimit(q.limit, 50, 500);
    if (roomIds.length === 0) return [];
    // one query for every keyword, bounded by the page (no per-keyword searches, no count)
    const r = await core.store.messages.search({
      roomIds,
      anyOf: f.keywords.length > 0 ? f.keywords : undefined,
      authors: f.authors.length > 0 ? f.authors : undefined,
      beforeId: q.beforeId,
      limit,
      noCount: true,
    });
    return r.messages.map((m) => core.messageView(m));
  }

  private match(m: MessageView): void {
    if (this.feeds.length === 0) return;
    const { core } = this;
    this.index ??= new AlertIndex(this.feeds);
    for (const f of this.index.candidates(m)) {
      if (f.user === m.author) continue;
      if (f.roomIds.length > 0 && !f.roomIds.includes(m.roomId)) continue;
      if (f.authors.length > 0 && !f.authors.includes(m.author)) continue;
      const sessions = core.sessionsOf(f.user);
      if (sessions.size === 0) continue;
      const s = core.model.directory.resolveUser(f.user);
      if (!s || !core.may(s, m.roomId, 'read')) continue;
      for (const sess of sessions)
        core.deliver(sess, { type: 'alert', filterId: f.id, filterName: f.name, message: m });
    }
  }
}

function normalizeFeed(user: string, input: FeedInput): FeedFilter {
  const L = USER_STORAGE_LIMITS;
  const strings = (v: unknown, field: string, max: number): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(field, 'must be a list of strings');
    if (v.length > max) throw invalid(field, `at most ${max} entries`);
    return [...new Set((v as string[]).map((x) => checkText(field, x).trim()).filter((x) => x.length > 0))];
  };
  const name = typeof input.name === 'string' ? checkText('name', input.name).trim() : '';
  if (!name || [...name].length > L.feedNameLength)
    throw invalid('name', `a feed needs a name of at most ${L.feedNameLength} characters`);
  const keywords = strings(input.keywords, 'keywords', L.keywordsPerFeed);
  if (keywords.some((k) => [...k].length > L.keywordLength))
    throw invalid('keywords', `at most ${L.keywordLength} characters each`);
  const authors = strings(input.authors, 'authors', L.authorsPerFeed).map((a) => normalizeSipUri(a, 'authors'));
  const roomIds = strings(input.roomIds, 'roomIds', L.roomsPerFeed);
  if (roomIds.some((r) => r.length > 128)) throw invalid('roomIds', 'not a room id');
  if (keywords.length === 0 && authors.length === 0 && roomIds.length === 0) {
    throw invalid('keywords', 'a feed needs at least one keyword, author or room');
  }
  if (input.id !== undefined && (typeof input.id !== 'string' || input.id.length > 128))
    throw invalid('id', 'not a feed id');
  return { id: input.id ?? randomUUID(), user, name, keywords, authors, roomIds, alert: input.alert !== false };
}
