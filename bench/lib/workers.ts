// The runner's side of the load-generator processes: fork, send commands, collect answers.
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { FromWorker, ToWorker } from './ipc.js';
import { ROOT } from './servers.js';

export class LoadGen {
  private readonly procs: ChildProcess[] = [];
  private readonly inbox: FromWorker[][] = [];
  private readonly waiters: (() => void)[] = [];

  private constructor(readonly size: number) {}

  /** `nodeArgs`: extra node flags for every load generator (e.g. --cpu-prof). */
  static async start(
    n: number,
    onProgress?: (worker: number, done: number) => void,
    nodeArgs: string[] = [],
  ): Promise<LoadGen> {
    const lg = new LoadGen(n);
    for (let i = 0; i < n; i++) {
      const p = fork(join(ROOT, 'bench', 'loadgen.ts'), [], {
        cwd: ROOT,
        execArgv: [...nodeArgs, '--import', 'tsx', '--max-old-space-size=4096'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      lg.procs.push(p);
      lg.inbox.push([]);
      p.on('message', (m: FromWorker) => {
        if (m.type === 'progress') {
          onProgress?.(i, m.done);
          return;
        }
        lg.inbox[i]?.push(m);
        for (const w of lg.waiters.splice(0)) w();
      });
      p.on('exit', (code) => {
        lg.inbox[i]?.push({ type: 'fatal', error: `load generator ${i} exited (${code})` });
        for (const w of lg.waiters.splice(0)) w();
      });
    }
    await lg.collect('ready', 30_000);
    return lg;
  }

  send(i: number, m: ToWorker): void {
    this.procs[i]?.send(m);
  }

  /** One answer of `type` from every worker (a 'fatal' from any fails the wait). */
  async collect<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const fatal = this.inbox.flat().find((m) => m.type === 'fatal');
      if (fatal && fatal.type === 'fatal') throw new Error(fatal.error);
      if (this.inbox.every((box) => box.some((m) => m.type === type))) {
        return this.inbox.map((box) => {
          const k = box.findIndex((m) => m.type === type);
          return box.splice(k, 1)[0] as Extract<FromWorker, { type: T }>;
        });
      }
      const left = until - Date.now();
      if (left <= 0) throw new Error(`load generators: no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const t = setTimeout(() => p.kill('SIGKILL'), 8000);
            p.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            p.send({ type: 'close' } satisfies ToWorker);
          }),
      ),
    );
  }
}
