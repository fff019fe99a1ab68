// Backchat: the room's recent messages answered on join (the newest DefaultChatHistory, kept in memory while
// the room has local sessions) and history paging by id. Rooms whose category keeps no chat history answer none.
import { checkSafeInteger } from '../core/input.js';
import type { ChatCore } from './core.js';
import { type Door, PRIORITY } from './events.js';
import { clampLimit } from './limits.js';
import type { HistoryQuery, MessageView } from './types.js';

export class Backchat {
  /** roomId → the newest DefaultChatHistory messages, oldest first; filled when first needed. */
  private readonly cache = new Map<string, MessageView[]>();

  constructor(private readonly core: ChatCore) {}

  register(): this {
    const { events, model } = this.core;
    events.on(
      'join.before',
      async (ev) => {
        if (ev.category.chatHistory) ev.history = await this.recent(ev.room.id);
      },
      { priority: PRIORITY.late, module: 'backchat' },
    );
    events.on(
      'message.arrived',
      ({ message, logged }) => {
        const h = this.cache.get(message.roomId);
        if (!h || !logged) return;
        h.push(message);
        const max = model.config.defaultChatHistory;
        if (h.length > max) h.splice(0, h.length - max);
      },
      { module: 'backchat' },
    );
    events.on(
      'parted',
      (ev) => {
        if (!this.core.liveRoom(ev.where.id)) this.cache.delete(ev.where.id);
      },
      { module: 'backchat' },
    );
    model.onChange((changes) => {
      // DefaultChatHistory may have changed
      if (changes.some((c) => c.type === 'config.put')) this.cache.clear();
    });
    return this;
  }

  private async recent(roomId: string): Promise<MessageView[]> {
    const have = this.cache.get(roomId);
    if (have) return [...have];
    const msgs = await this.core.store.messages.before(roomId, this.core.model.config.defaultChatHistory);
    // a post may have filled the cache while we waited
    let h = this.cache.get(roomId);
    if (!h) {
      h = msgs.map((m) => this.core.messageView(m));
      this.cache.set(roomId, h);
    }
    return [...h];
  }

  /** A page of a room's history: before an id (newest first page by default) or after one, oldest first. */
  async history(user: string, roomId: string, q: HistoryQuery = {}, door: Door = 'rest'): Promise<MessageView[]> {
    const { core } = this;
    const subject = core.subject(user);
    const { room, category } = core.require(subject, roomId, 'read');
    const who = core.who(user, door);
    await core.events.veto('history.before', { who, subject, room, category, query: q });
    const limit = clampLimit(q.limit, 50, 500);
    if (q.beforeId !== undefined) checkSafeInteger('before', q.beforeId);
    if (q.afterId !== undefined) checkSafeInteger('after', q.afterId);
    const msgs =
      q.afterId !== undefined
        ? await core.store.messages.after(roomId, q.afterId, limit)
        : await core.store.messages.before(roomId, limit, q.beforeId);
    const messages = msgs.map((m) => core.messageView(m));
    await core.events.notify('history.viewed', {
      who,
      where: { id: room.id, name: room.name },
      at: Date.now(),
      query: q,
      messages,
    });
    return messages;
  }
}
