// Starts the server under test as its own process: pchat (`src/cli/main.ts serve`, the product's own entry)
// or the baseline relay; waits for its "listening <url>" line.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface ServerProc {
  kind: string;
  url: string;
  pid: number;
  proc: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

function startProc(kind: string, args: string[], env: Record<string, string>, pattern: RegExp): Promise<ServerProc> {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${kind} did not start in 60 s:\n${err}`)), 60_000);
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (d: string) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          kind,
          url: m[1] as string,
          pid: proc.pid as number,
          proc,
          stderr: () => err,
          stop: async () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited with ${code} before listening:\n${err}`));
    });
  });
}

export interface PoolTarget {
  db: string;
  bus: string;
  pool: string;
  /** `pchat serve --workers N` */
  workers: number;
}

/** pchat on the SQLite file in `dataDir`, or with `pool` a pool member (or N workers) on PostgreSQL + NATS. */
export function startPchat(
  dataDir: string,
  opts: { nodeArgs?: string[]; env?: Record<string, string>; pool?: PoolTarget } = {},
) {
  const p = opts.pool;
  return startProc(
    p ? `pchat-pool-w${p.workers}` : 'pchat',
    [
      ...(opts.nodeArgs ?? []),
      '--import',
      'tsx',
      'src/cli/main.ts',
      'serve',
      '--data',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...(p
        ? ['--db', p.db, '--bus', p.bus, '--pool', p.pool, '--server-id', 'bench', '--workers', String(p.workers)]
        : []),
    ],
    { PCHAT_LOG_LEVEL: 'warn', PCHAT_SIP_ENABLED: 'false', ...opts.env },
    /pchat listening (http:\/\/\S+)/,
  );
}

export function startBaseline(mode: 'grouped' | 'per-message') {
  return startProc(
    `baseline-${mode}`,
    ['--import', 'tsx', 'bench/baseline-relay.ts', '--mode', mode, '--port', '0'],
    {},
    /baseline listening (http:\/\/\S+)/,
  );
}
