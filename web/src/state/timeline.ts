// The loaded part of one room's history, oldest first, paged by message id (never by time): older pages
// on scroll-back, newer pages after a jump into the past, live messages at the newest end.
import type { MessageView, PchatConnection } from '../../../src/client/index.js';
import { Observable } from './observable.js';

export const PAGE = 50;

export class Timeline extends Observable {
  items: MessageView[] = [];
  /** Messages before items[0] may exist. */
  hasOlder = true;
  /** Messages after the last item exist (we jumped into the past): live messages wait for the catch-up. */
  hasNewer = false;
  loading = false;
  removed = new Set<number>();
  error: unknown = null;

  constructor(
    private readonly conn: PchatConnection,
    readonly roomId: string,
  ) {
    super();
  }

  /** Starts from the join's history (the newest messages). */
  startFrom(history: MessageView[]): void {
    this.items = dedupe(history);
    this.hasOlder = history.length > 0;
    this.hasNewer = false;
    this.changed();
  }

  async loadNewest(): Promise<void> {
    await this.guard(async () => {
      const page = await this.conn.history(this.roomId, { limit: PAGE });
      this.items = page;
      this.hasOlder = page.length === PAGE;
      this.hasNewer = false;
    });
  }

  async loadOlder(): Promise<number> {
    if (!this.hasOlder || this.loading) return 0;
    let n = 0;
    await this.guard(async () => {
      const before = this.items[0]?.id;
      const page = await this.conn.history(
        this.roomId,
        before !== undefined ? { before, limit: PAGE } : { limit: PAGE },
      );
      if (page.length < PAGE) this.hasOlder = false;
      const first = this.items[0]?.id ?? Number.POSITIVE_INFINITY;
      const older = page.filter((m) => m.id < first);
      n = older.length;
      this.items = [...older, ...this.items];
    });
    return n;
  }

  async loadNewer(): Promise<void> {
    if (!this.hasNewer || this.loading) return;
    await this.guard(async () => {
      const after = this.items.at(-1)?.id ?? 0;
      const page = await this.conn.history(this.roomId, { after, limit: PAGE });
      if (page.length < PAGE) this.hasNewer = false;
      this.items = [...this.items, ...page.filter((m) => m.id > after)];
    });
  }

  /** Loads the messages around `id` (for a search result or a link). */
  async jumpTo(id: number): Promise<void> {
    await this.guard(async () => {
      const half = Math.floor(PAGE / 2);
      const [older, newer] = await Promise.all([
        this.conn.history(this.roomId, { before: id + 1, limit: half }),
        this.conn.history(this.roomId, { after: id, limit: half }),
      ]);
      this.items = dedupe([...older, ...newer]);
      this.hasOlder = older.length === half;
      this.hasNewer = newer.length === half;
    });
  }

  /** A live message: appended unless we are looking at the past (then the catch-up brings it). */
  live(m: MessageView): void {
    if (m.roomId !== this.roomId || this.hasNewer) return;
    const last = this.items.at(-1);
    if (last && m.id <= last.id) return;
    this.items = [...this.items, m];
    this.changed();
  }

  /** Messages removed by moderation stay in place, shown as removed. */
  remove(ids: number[]): void {
    const here = ids.filter((id) => this.items.some((m) => m.id === id));
    if (here.length === 0) return;
    const next = new Set(this.removed);
    for (const id of here) next.add(id);
    this.removed = next;
    this.changed();
  }

  /** Messages whose text moderation replaced: the new text, marked as replaced. */
  replace(ids: number[], text: string): void {
    const set = new Set(ids);
    if (!this.items.some((m) => set.has(m.id))) return;
    this.items = this.items.map((m) => (set.has(m.id) ? { ...m, text, title: null, links: [], replaced: true } : m));
    this.changed();
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    this.loading = true;
    this.error = null;
    this.changed();
    try {
      await fn();
    } catch (e) {
      this.error = e;
    } finally {
      this.loading = false;
      this.changed();
    }
  }
}

function dedupe(list: MessageView[]): MessageView[] {
  const seen = new Set<number>();
  const out: MessageView[] = [];
  for (const m of list)
    if (!seen.has(m.id)) {
      seen.add(m.id);
      out.push(m);
    }
  return out.sort((a, b) => a.id - b.id);
}
