// The compliance worker: every RunInterval it hands the events recorded since its last run to the configured
// adapter, batch by batch in id order, and marks them only after the adapter (and the batch manifest) are
// durable. One server of a pool works at a time, holding the lease row; a failing adapter is retried with
// exponential backoff (30 s doubling, at most the RunInterval), and the failure is visible in status and
// metrics. A crash between the adapter's write and the mark makes the next run write the same batch number
// again, to the same file names, replacing the unacknowledged attempt: nothing is lost or doubled.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ComplianceAdapter } from './adapters/adapter.js';
import { loadAdapter } from './adapters/load.js';
import { batchPrefix, writeManifest } from './chain.js';
import type { ComplianceConfig } from './config.js';
import { cached, type DetailsSource } from './details.js';
import type { ComplianceStore } from './store.js';

/** Counters the worker keeps for /metrics (a small interface, so any metrics library can read them). */
export interface ComplianceCounters {
  runs: number;
  failures: number;
  batches: number;
  events: number;
  /** Seconds since 1970 of the last successful run, 0 before one. */
  lastSuccess: number;
}

export interface RunOutcome {
  ran: boolean;
  /** Why it did not run: disabled, not-due, lease-held. */
  reason?: string;
  batches: number;
  events: number;
  error?: string;
}

export interface WorkerOptions {
  /** Relative output directories and adapter modules are resolved against it (the data directory). */
  baseDir: string;
  details: DetailsSource;
  /** How often the worker checks whether a run is due (ms); default 5 s. */
  checkMs?: number;
  now?: () => number;
  onError?: (e: unknown) => void;
}

const LEASE_MS = 5 * 60_000;
const BACKOFF_START_MS = 30_000;

export class ComplianceWorker {
  readonly owner = randomUUID();
  readonly counters: ComplianceCounters = { runs: 0, failures: 0, batches: 0, events: 0, lastSuccess: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RunOutcome> | undefined;
  private adapter: { key: string; adapter: ComplianceAdapter } | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: ComplianceStore,
    private readonly opts: WorkerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.tick().catch((e) => this.opts.onError?.(e));
    }, this.opts.checkMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** Runs when due (or at once with `force`, as `pchat compliance run-now` does); one run at a time. */
  tick(force = false): Promise<RunOutcome> {
    // a forced run asked for while a timer's run is going (which may find nothing due) runs after it
    if (this.running) return force ? this.running.catch(() => {}).then(() => this.tick(true)) : this.running;
    this.running = this.run(force).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async adapterFor(config: ComplianceConfig): Promise<ComplianceAdapter> {
    const key = `${config.adapterType}:${config.adapterModule ?? ''}`;
    if (this.adapter?.key === key) return this.adapter.adapter;
    const adapter = await loadAdapter(config, this.opts.baseDir);
    this.adapter = { key, adapter };
    return adapter;
  }

  private async run(force: boolean): Promise<RunOutcome> {
    const none = { batches: 0, events: 0 };
    const config = await this.store.getConfig();
    if (!config?.enabled) return { ran: false, reason: 'disabled', ...none };
    const started = this.now();
    const state = await this.store.workerState();
    // due a RunInterval after the last run (so a changed interval applies at once), or at the backoff's time
    const due = state.failures > 0 ? state.nextAttemptAt : (state.lastRunAt ?? 0) + config.runIntervalSeconds * 1000;
    if (!force && started < due) return { ran: false, reason: 'not-due', ...none };
    if (!(await this.store.takeLease(this.owner, started, LEASE_MS)))
      return { ran: false, reason: 'lease-held', ...none };
    this.counters.runs++;
    let batches = 0;
    let events = 0;
    try {
      const adapter = await this.adapterFor(config);
      const dir = resolve(this.opts.baseDir, config.adapterOutputDirectory);
      await mkdir(dir, { recursive: true });
      for (;;) {
        const page = await this.store.unexported(config.batchSize);
        if (page.length === 0) break;
        const { batchSeq, chainHead } = await this.store.workerState();
        const seq = batchSeq + 1;
        const prefix = batchPrefix(seq);
        // an earlier attempt at this batch (a crash or a failure before it was marked) is replaced
        for (const n of await readdir(dir)) if (n.startsWith(prefix)) await rm(join(dir, n), { force: true });
        const details = cached(this.opts.details);
        const batchEvents = [];
        for (const e of page)
          batchEvents.push({ ...e, room: await details.room(e.roomId), senderDetails: await details.user(e.sender) });
        const first = page[0] as (typeof page)[number];
        const last = page[page.length - 1] as (typeof page)[number];
        const times = page.map((e) => e.ts);
        const startTime = Math.min(...times);
        const endTime = Math.max(...times);
        const result = await adapter.write(
          { seq, events: batchEvents, startTime, endTime },
          { outputDirectory: dir, filePrefix: prefix, config },
        );
        for (const f of result.files)
          if (!f.startsWith(prefix) || f.includes('/') || f.includes('\\'))
            throw new Error(`adapter ${adapter.name} wrote ${f}, outside its prefix ${prefix}`);
        const manifest = await writeManifest(
          dir,
          {
            seq,
            adapter: adapter.name,
            firstEventId: first.id,
            lastEventId: last.id,
            events: page.length,
            startTime: new Date(startTime).toISOString(),
            endTime: new Date(endTime).toISOString(),
            prev: chainHead,
          },
          result.files,
        );
        const now = this.now();
        const done = await this.store.completeBatch(
          this.owner,
          seq,
          manifest.hash,
          page.map((e) => e.id),
          now,
        );
        if (!done) throw new Error('lost the compliance worker lease to another server; it will redo this batch');
        batches++;
        events += page.length;
        this.counters.batches++;
        this.counters.events += page.length;
        this.counters.lastSuccess = Math.floor(now / 1000);
        await this.store.takeLease(this.owner, now, LEASE_MS);
        if (page.length < config.batchSize) break;
      }
      const now = this.now();
      await this.store.noteRun(now, null, now + config.runIntervalSeconds * 1000);
      if (batches === 0) this.counters.lastSuccess = Math.floor(now / 1000);
      return { ran: true, batches, events };
    } catch (e) {
      this.counters.failures++;
      const failures = state.failures + 1;
      const delay = Math.min(config.runIntervalSeconds * 1000, BACKOFF_START_MS * 2 ** Math.min(failures - 1, 20));
      const message = (e as Error)?.message ?? String(e);
      const now = this.now();
      await this.store.noteRun(now, message, now + delay).catch(() => {});
      this.opts.onError?.(e);
      return { ran: true, batches, events, error: message };
    } finally {
      await this.store.releaseLease(this.owner).catch(() => {});
    }
  }
}
