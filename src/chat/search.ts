// Message search across the rooms a user may read (or one room): words or an exact phrase, authors, a date
// range, paged by id. A page of 50 by default; matches are counted up to SearchLimit.
import { invalid } from '../core/errors.js';
import { checkSafeInteger, checkText } from '../core/input.js';
import { normalizeSipUri } from '../core/principals.js';
import type { ChatCore } from './core.js';
import type { Door } from './events.js';
import { clampLimit } from './limits.js';
import type { SearchQuery, SearchView } from './types.js';

export class MessageSearch {
  constructor(private readonly core: ChatCore) {}

  async search(user: string, q: SearchQuery, door: Door = 'rest'): Promise<SearchView> {
    const { core } = this;
    const subject = core.subject(user);
    let roomIds: string[];
    if (q.roomId !== undefined) {
      core.require(subject, q.roomId, 'read');
      roomIds = [q.roomId];
    } else roomIds = core.visibleRooms(subject, 'read').map((r) => r.id);
    if (q.text !== undefined && typeof q.text !== 'string') throw invalid('text', 'must be a string');
    if ((q.text ?? '').length > 1000) throw invalid('text', 'at most 1000 characters');
    if (q.text !== undefined) checkText('text', q.text);
    for (const [field, v] of [
      ['since', q.since],
      ['until', q.until],
      ['before', q.beforeId],
    ] as const) {
      if (v !== undefined) checkSafeInteger(field, v);
    }
    const authors = q.authors?.map((a) => normalizeSipUri(a, 'authors'));
    const who = core.who(user, door);
    const ev = { who, subject, query: q, roomIds };
    await core.events.veto('search.before', ev);
    const cfg = core.model.config;
    const r = await core.store.messages.search({
      roomIds: ev.roomIds,
      text: q.text,
      exactPhrase: q.exactPhrase,
      caseSensitive: q.caseSensitive,
      authors,
      since: q.since,
      until: q.until,
      beforeId: q.beforeId,
      // a page of 50 by default; matches are counted up to SearchLimit (count + exceededLimit)
      limit: clampLimit(q.limit, Math.min(50, cfg.searchLimit), cfg.searchLimit),
      countLimit: cfg.searchLimit,
    });
    const messages = r.messages.map((m) => core.messageView(m));
    await core.events.notify('searched', {
      who,
      at: Date.now(),
      query: q,
      roomIds: ev.roomIds,
      messages,
      count: r.count,
    });
    return { messages, count: r.count, exceededLimit: r.exceededLimit };
  }
}
