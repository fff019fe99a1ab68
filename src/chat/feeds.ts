// Topic feeds and keyword alerts: a user's saved filters (keywords, authors, rooms). Reading a feed lists the
// matching messages across rooms the user may read; with alert on, a matching new message is also delivered
// to the user's sessions as an 'alert' event.
import { randomUUID } from 'node:crypto';
import { invalid, PchatError } from '../core/errors.js';
import { checkText } from '../core/input.js';
import { normalizeSipUri } from '../core/principals.js';
import type { FeedFilter, StoredMessage } from '../store/port.js';
import type { ChatCore } from './core.js';
import { clampLimit } from './limits.js';
import type { FeedInput, MessageView } from './types.js';

/** Feed filters one user may keep. */
export const MAX_FEEDS_PER_USER = 100;

export class Feeds {
  private feeds: FeedFilter[] = [];

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
    if (input.id !== undefined && !(await this.core.store.feeds.list(user)).some((x) => x.id === input.id)) {
      throw new PchatError('FILTER_NOT_FOUND', `id: feed ${input.id} does not exist`, { field: 'id' });
    }
    if (this.feeds.filter((x) => x.user === user && x.id !== f.id).length >= MAX_FEEDS_PER_USER) {
      throw invalid('feeds', `at most ${MAX_FEEDS_PER_USER} feed filters per user`);
    }
    await this.core.store.feeds.put(f);
    this.feeds = [...this.feeds.filter((x) => x.id !== f.id), f];
    return f;
  }

  async removeFeed(user: string, id: string): Promise<void> {
    this.core.subject(user);
    if (!(await this.core.store.feeds.remove(user, id)))
      throw new PchatError('FILTER_NOT_FOUND', `id: feed ${id} does not exist`, { field: 'id' });
    this.feeds = this.feeds.filter((x) => x.id !== id);
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
    const terms = f.keywords.length > 0 ? f.keywords : [undefined];
    const found = new Map<number, StoredMessage>();
    for (const text of terms) {
      const r = await core.store.messages.search({
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
      .map((m) => core.messageView(m));
  }

  private match(m: MessageView): void {
    if (this.feeds.length === 0) return;
    const { core } = this;
    const text = `${m.text} ${m.title ?? ''}`.toLowerCase();
    for (const f of this.feeds) {
      if (!f.alert || f.user === m.author) continue;
      const sessions = core.sessionsOf(f.user);
      if (sessions.size === 0) continue;
      if (!feedMatches(f, m, text)) continue;
      const s = core.model.directory.resolveUser(f.user);
      if (!s || !core.may(s, m.roomId, 'read')) continue;
      for (const sess of sessions)
        core.deliver(sess, { type: 'alert', filterId: f.id, filterName: f.name, message: m });
    }
  }
}

function normalizeFeed(user: string, input: FeedInput): FeedFilter {
  const strings = (v: unknown, field: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(field, 'must be a list of strings');
    return (v as string[]).map((x) => checkText(field, x).trim()).filter((x) => x.length > 0);
  };
  const name = typeof input.name === 'string' ? checkText('name', input.name).trim() : '';
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
