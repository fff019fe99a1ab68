// `pchat serve --workers N`: N server processes on one machine, sharing the HTTP port through Node's `cluster`
// (the primary accepts and hands each connection to a worker in turn). Each worker is a full pool member
// (`src/server.ts` with `--bus`): its own chat core, its own sockets, the one PostgreSQL store and the NATS bus
// in common, so sessions of one room spread over the workers and every worker writes only its own sockets.
// The primary opens no store and runs no chat code: it forks, restarts a worker that dies, says where the server
// listens once every worker does, and stops them all on SIGINT/SIGTERM.
//
// Worker i runs as server id `<server-id>-w<i>`; only worker 0 opens the SIP door (a SIP dialog lives on one
// connection and its registration in one process). SQLite is refused: several processes would each commit to the
// file and each poll the others' changes; a single writer process is the next step (docs/deployment.md).
import cluster, { type Worker } from 'node:cluster';
import { hostname } from 'node:os';
import type { Config } from './config/config.js';
import { invalid } from './core/errors.js';
import { createLogger } from './observability/log.js';
import type { PchatServer } from './server.js';
import { isPostgresUrl } from './store/open.js';

/** The environment of a worker process: its index and the base server id chosen by the primary. */
export const WORKER_INDEX_ENV = 'PCHAT_WORKER_INDEX';
export const WORKER_BASE_ID_ENV = 'PCHAT_WORKER_BASE_ID';

export const MAX_WORKERS = 64;

/** Parses --workers / PCHAT_WORKERS: a whole number 1..64 (default 1). */
export function parseWorkers(v: string | undefined): number {
  if (v === undefined || v.trim() === '') return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    throw invalid('workers', `"${v}" is not a number of worker processes from 1 to ${MAX_WORKERS}`);
  return n;
}

/** Several workers need the pool's shared parts: refuse anything else with a clear INVALID_VALUE. */
export function checkWorkers(config: Config, workers: number): void {
  if (workers <= 1) return;
  if (!isPostgresUrl(config.db))
    throw invalid(
      'workers',
      `--workers ${workers} needs a PostgreSQL store shared by the workers (--db postgres://…) and a bus ` +
        '(--bus nats://…); the embedded SQLite store runs one process (--workers 1)',
    );
  if (!config.bus)
    throw invalid(
      'workers',
      `--workers ${workers} needs the pool's bus so the workers see each other's messages: give --bus nats://…`,
    );
}

/** The index of this process when it is a worker of `pchat serve --workers N`, else undefined. */
export function workerIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const v = process.env[WORKER_INDEX_ENV];
  return v === undefined ? undefined : Number(v);
}

/** Worker i's configuration: its own server id, and the SIP door only on worker 0. */
export function workerConfig(config: Config, index: number, baseId: string): Config {
  return {
    ...config,
    serverId: `${baseId}-w${index}`,
    sip: index === 0 ? config.sip : { ...config.sip, enabled: false },
  };
}

/** The message a worker sends the primary once it listens. */
export interface ListeningMessage {
  type: 'pchat-listening';
  index: number;
  serverId: string;
  url: string;
  sip?: { port: number; poolUri: string };
}

/** In a worker: tells the primary where this worker listens (in place of the "pchat listening" line). */
export function announceWorker(index: number, serverId: string, server: PchatServer): void {
  const m: ListeningMessage = {
    type: 'pchat-listening',
    index,
    serverId,
    url: server.url,
    ...(server.sip ? { sip: { port: server.sip.port, poolUri: server.sip.poolUri } } : {}),
  };
  process.send?.(m);
}

const isListening = (m: unknown): m is ListeningMessage =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'pchat-listening';

/**
 * The primary of `pchat serve --workers N`: forks N workers (each re-runs this command line), prints
 * "pchat listening <url> (N workers: id-w0, …)" when all of them listen, restarts a worker that exits, and on
 * SIGINT/SIGTERM stops every worker and returns. A worker that fails before it ever listened stops the whole
 * start (the same error would hit every worker).
 */
export async function runPrimary(config: Config, workers: number): Promise<void> {
  const log = createLogger(config.logLevel).child({ area: 'cluster' });
  const baseId = config.serverId ?? `${hostname()}-${config.port}`;
  const slots: (Worker | undefined)[] = Array.from({ length: workers }, () => undefined);
  const listening = new Map<number, ListeningMessage>();
  let stopping = false;
  let announced = false;
  let failStart: ((e: Error) => void) | undefined;
  let doneStart: (() => void) | undefined;
  const started = new Promise<void>((resolve, reject) => {
    doneStart = resolve;
    failStart = reject;
  });
  started.catch(() => {});

  const fork = (index: number) => {
    const w = cluster.fork({ [WORKER_INDEX_ENV]: String(index), [WORKER_BASE_ID_ENV]: baseId });
    slots[index] = w;
    let listened = false;
    w.on('message', (m: unknown) => {
      if (!isListening(m)) return;
      listened = true;
      listening.set(index, m);
      log.info('worker listening', { worker: index, serverId: m.serverId, pid: w.process.pid, url: m.url });
      if (!announced && listening.size === workers) {
        announced = true;
        const first = listening.get(0) as ListeningMessage;
        const ids = [...listening.values()].sort((a, b) => a.index - b.index).map((x) => x.serverId);
        process.stdout.write(`pchat listening ${first.url} (${workers} workers: ${ids.join(', ')})\n`);
        if (first.sip) process.stdout.write(`pchat sip listening on worker 0 (pool ${first.sip.poolUri})\n`);
        doneStart?.();
      }
    });
    w.on('error', (e) => log.error('worker error', { worker: index, err: e }));
    w.on('exit', (code, signal) => {
      if (slots[index] === w) slots[index] = undefined;
      listening.delete(index);
      if (stopping) return;
      if (!announced || !listened) {
        failStart?.(new Error(`worker ${index} exited (${signal ?? code}) before it listened`));
        return;
      }
      log.error('worker exited; starting it again', { worker: index, code, signal });
      setTimeout(() => {
        if (!stopping) fork(index);
      }, 1000).unref();
    });
  };

  const stopAll = async () => {
    stopping = true;
    const alive = slots.filter((w): w is Worker => w !== undefined && !w.isDead());
    await Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((resolve) => {
            const force = setTimeout(() => w.process.kill('SIGKILL'), 12_000);
            w.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };

  let onSignal: ((s: NodeJS.Signals) => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    onSignal = (signal) => {
      if (stopping) return;
      log.info('shutting down the workers', { signal });
      void stopAll().then(resolve);
    };
  });
  const handler = onSignal as (s: NodeJS.Signals) => void;
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    for (let i = 0; i < workers; i++) fork(i);
    try {
      await Promise.race([started, stopped]);
    } catch (e) {
      await stopAll();
      throw e;
    }
    await stopped;
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
  log.info('pchat stopped');
}
