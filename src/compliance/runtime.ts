// What a server runs for compliance and retention: the compliance store beside the chat store, the recorder
// the chat modules write through, pending records reconciled at start (SQLite), the run-interval worker and
// the retention job on their timers. `server.ts` starts one per server; the lease rows make the worker and
// the retention job run on one server of a pool at a time.
import type { Store } from '../store/port.js';
import { detailsFromStore } from './details.js';
import { ComplianceRecorder } from './recorder.js';
import { RetentionJob } from './retention.js';
import { ComplianceStore } from './store.js';
import { ComplianceWorker } from './worker.js';

export interface ComplianceRuntimeOptions {
  db?: string | undefined;
  dataDir: string;
  domain: string;
  pgSchema?: string;
  /** How often the worker checks whether a run is due (ms). */
  checkMs?: number;
  /** How often the retention job runs (ms). */
  retentionEveryMs?: number;
  removeFile: (storageKey: string) => Promise<void>;
  onError?: (what: string, e: unknown) => void;
}

export interface ComplianceRuntime {
  store: ComplianceStore;
  recorder: ComplianceRecorder;
  worker: ComplianceWorker;
  retention: RetentionJob;
  /** What reconciliation settled at start. */
  reconciled: { confirmed: number; aborted: number };
  close(): Promise<void>;
}

export async function startCompliance(chat: Store, opts: ComplianceRuntimeOptions): Promise<ComplianceRuntime> {
  const store = await ComplianceStore.open(
    {
      db: opts.db,
      dataDir: opts.dataDir,
      ...(opts.pgSchema !== undefined ? { pgSchema: opts.pgSchema } : {}),
    },
    { shareWith: chat },
  );
  try {
    const recorder = new ComplianceRecorder(store);
    const reconciled = await recorder.reconcile(chat);
    const worker = new ComplianceWorker(store, {
      baseDir: opts.dataDir,
      details: detailsFromStore(chat, opts.domain),
      ...(opts.checkMs !== undefined ? { checkMs: opts.checkMs } : {}),
      onError: (e) => opts.onError?.('compliance worker', e),
    });
    const retention = new RetentionJob(chat, { removeFile: opts.removeFile, recorder });
    worker.start();
    // A pending record older than a minute belongs to an action that failed without a crash (its batch was
    // refused): settle it the same way as at start, so it does not wait for the next restart.
    const settle = setInterval(() => {
      recorder.reconcile(chat, Date.now() - 60_000).catch((e) => opts.onError?.('compliance reconcile', e));
    }, 60_000);
    settle.unref();
    retention.start(opts.retentionEveryMs ?? 60_000, (e) => opts.onError?.('retention', e));
    return {
      store,
      recorder,
      worker,
      retention,
      reconciled,
      async close() {
        clearInterval(settle);
        await worker.stop();
        await retention.stop();
        await store.close();
      },
    };
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
}
