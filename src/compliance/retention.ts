// Retention (beyond the original, which kept everything for ever): a period in days per category and a global
// default, both off until set. The job deletes expired messages and their files in bounded batches (yielding
// to the event loop between them, so chat never stalls), skips every room and user under legal hold, and when
// compliance is on purges only what the compliance worker has already handed to its adapter. Each batch is
// recorded as PURGE events, durably with the purge. One server of a pool runs it at a time (a lease row).
import { randomUUID } from 'node:crypto';
import type { Store, StoredMessage } from '../store/port.js';
import type { ComplianceRecorder } from './recorder.js';
import type { NewComplianceEvent } from './types.js';

export interface RetentionOptions {
  /** Deletes a purged file's content from the file store. */
  removeFile: (storageKey: string) => Promise<void>;
  recorder?: ComplianceRecorder;
  batchSize?: number;
  /** Batches per run at most (the next run continues). */
  maxBatches?: number;
  now?: () => number;
}

export interface RetentionOutcome {
  ran: boolean;
  purged: number;
  files: number;
}

const DAY_MS = 24 * 3600 * 1000;
const LEASE = 'retention';

export class RetentionJob {
  readonly owner = randomUUID();
  private running: Promise<RetentionOutcome> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: RetentionOptions,
  ) {}

  start(everyMs = 60_000, onError?: (e: unknown) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.run().catch((e) => onError?.(e));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  run(): Promise<RetentionOutcome> {
    this.running ??= this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(): Promise<RetentionOutcome> {
    const now = (this.opts.now ?? Date.now)();
    const periods = await this.store.moderation.retention();
    if (periods.size === 0) return { ran: false, purged: 0, files: 0 };
    if (!(await this.store.moderation.lease(LEASE, this.owner, now, 10 * 60_000)))
      return { ran: false, purged: 0, files: 0 };
    let purged = 0;
    let files = 0;
    try {
      const rec = this.opts.recorder;
      const belowId = rec && (await rec.enabled()) ? await rec.compliance.exportedBelow() : Number.POSITIVE_INFINITY;
      const global = periods.get('global');
      const scopes: { categoryId: string | null; days: number }[] = [];
      for (const c of await this.store.categories.list()) {
        const days = periods.get(c.id) ?? global;
        if (days !== undefined) scopes.push({ categoryId: c.id, days });
      }
      if (global !== undefined) scopes.push({ categoryId: null, days: global }); // rooms since deleted
      let batches = 0;
      const max = this.opts.maxBatches ?? 20;
      for (const s of scopes) {
        const before = now - s.days * DAY_MS;
        for (; batches < max; batches++) {
          const expired = await this.store.moderation.expired({
            categoryId: s.categoryId,
            before,
            belowId,
            limit: this.opts.batchSize ?? 500,
          });
          if (expired.length === 0) break;
          const removed = await this.purgeBatch(expired, before, s.categoryId, now);
          purged += expired.length;
          files += removed;
          await new Promise((r) => setImmediate(r));
        }
      }
      return { ran: true, purged, files };
    } finally {
      await this.store.moderation.releaseLease(LEASE, this.owner).catch(() => {});
    }
  }

  private async purgeBatch(messages: StoredMessage[], before: number, categoryId: string | null, now: number) {
    const byRoom = new Map<string, number[]>();
    for (const m of messages) byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m.id]);
    const events: NewComplianceEvent[] = [...byRoom].map(([roomId, ids]) => ({
      door: 'system',
      type: 'PURGE',
      roomId,
      sender: 'system',
      content: `retention purged ${ids.length} message(s) older than ${new Date(before).toISOString()}`,
      messageId: null,
      ts: now,
      data: { ids, before, categoryId },
    }));
    const ids = messages.map((m) => m.id);
    const purge = (tx: Store) => tx.moderation.purge(ids);
    const removedFiles = this.opts.recorder
      ? await this.opts.recorder.around(this.store, events, purge)
      : await purge(this.store);
    for (const f of removedFiles) await this.opts.removeFile(f.storageKey).catch(() => {});
    return removedFiles.length;
  }
}
