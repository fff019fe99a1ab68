// Records compliance events durably before the action they describe is acknowledged.
// - PostgreSQL: the events are written through the action's own transaction (`Store.atomically` + `raw()`),
//   so both commit or neither does.
// - SQLite (two files, no atomic commit across them): the events are written first as pending, the action
//   runs, then they are confirmed with the ids the action produced (or aborted if it failed). `reconcile`
//   at start settles what a crash left pending, by looking in the chat store.
import type { Db } from '../store/db.js';
import type { Store } from '../store/port.js';
import type { ComplianceStore } from './store.js';
import type { ComplianceEvent, NewComplianceEvent } from './types.js';

export class ComplianceRecorder {
  private cache: { at: number; on: boolean } | undefined;

  constructor(
    readonly compliance: ComplianceStore,
    private readonly opts: { cacheMs?: number; now?: () => number } = {},
  ) {}

  /** Is recording on (a configuration exists and is enabled)? Cached briefly: read once a second at most. */
  async enabled(via?: Db): Promise<boolean> {
    const now = (this.opts.now ?? Date.now)();
    if (this.cache && now - this.cache.at < (this.opts.cacheMs ?? 1000)) return this.cache.on;
    // inside a chat transaction, read through it: a second connection from the same pool could wait for ever
    const on = (await this.compliance.getConfig('global', via))?.enabled === true;
    this.cache = { at: now, on };
    return on;
  }

  /** Forgets the cached switch (after `pchat compliance config` in this process). */
  invalidate(): void {
    this.cache = undefined;
  }

  /** Records events of actions that change nothing in the chat store (join, part, history view, search, download). */
  async record(events: NewComplianceEvent[]): Promise<void> {
    if (events.length === 0 || !(await this.enabled())) return;
    await this.compliance.record(events);
  }

  /**
   * Runs `action` on the chat store with `events` recorded durably with it. `messageIds` maps the action's
   * result to each event's chat message id (null keeps the event's own).
   */
  async around<T>(
    store: Store,
    events: NewComplianceEvent[],
    action: (tx: Store) => Promise<T>,
    messageIds?: (out: T) => (number | null)[],
  ): Promise<T> {
    if (events.length === 0 || !(await this.enabled())) return action(store);
    const withIds = (out: T) => {
      const ids = messageIds?.(out) ?? [];
      return events.map((e, i) => ({ ...e, messageId: ids[i] ?? e.messageId }));
    };
    if (store.dialect === 'postgres' && this.compliance.dialect === 'postgres') {
      return store.atomically(async (tx) => {
        const out = await action(tx);
        await this.compliance.record(withIds(out), { via: tx.raw() });
        return out;
      });
    }
    const ids = await this.compliance.record(events, { state: 'pending' });
    let out: T;
    try {
      out = await action(store);
    } catch (e) {
      await this.compliance.abort(ids);
      throw e;
    }
    const final = withIds(out);
    await this.compliance.confirm(ids.map((id, i) => ({ id, messageId: final[i]?.messageId ?? null })));
    return out;
  }

  /** Settles pending events after a crash (SQLite): see `reconcileFinder`. */
  reconcile(store: Store, recordedBefore?: number): Promise<{ confirmed: number; aborted: number }> {
    return this.compliance.reconcile(reconcileFinder(store), recordedBefore);
  }
}

/**
 * Did the action a pending event announced commit? A CHAT/FILEUPLOAD is looked up by room, author, time and
 * text; a REMOVE/REPLACE by whether the message lost its original text; a PURGE by whether its messages are gone.
 */
export function reconcileFinder(store: Store): (e: ComplianceEvent) => Promise<number | null | undefined> {
  const db = store.raw();
  return async (e) => {
    switch (e.type) {
      case 'CHAT':
      case 'FILEUPLOAD': {
        const r = await db.get<{ id: number }>(
          `SELECT id FROM messages WHERE room_id = ? AND author = ? AND ts = ? AND (body = ? OR logged = 0)
           ORDER BY id LIMIT 1`,
          [e.roomId, e.sender, Number(e.data.postedAt ?? e.ts), e.content],
        );
        return r ? Number(r.id) : undefined;
      }
      case 'REMOVE':
      case 'REPLACE': {
        if (e.messageId === null) return undefined;
        const r = await db.get<{ logged: number; body: string | null }>(
          'SELECT logged, body FROM messages WHERE id = ?',
          [e.messageId],
        );
        const done = !r || (e.type === 'REMOVE' ? Number(r.logged) === 0 : r.body === e.data.replacement);
        return done ? e.messageId : undefined;
      }
      case 'PURGE': {
        const ids = Array.isArray(e.data.ids) ? (e.data.ids as number[]) : [];
        if (ids.length === 0) return undefined;
        const r = await db.get('SELECT id FROM messages WHERE id = ?', [ids[0] as number]);
        return r ? undefined : null;
      }
      default:
        // events that change nothing in the chat store are recorded committed, never pending
        return e.messageId;
    }
  };
}
