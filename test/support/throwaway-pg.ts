// A throwaway PostgreSQL cluster that a test may stop and start (the recipe of stack-notes.md): initdb as the
// postgres user into a temporary directory, listening on 127.0.0.1 on a free port. Needs root (to run as
// postgres) and the Debian server binaries; without them the suite is skipped outside CI and fails under CI.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  url: string;
  start(): void;
  stop(): void;
  remove(): void;
}

function pgBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(a) - Number(b));
  const v = versions[versions.length - 1];
  return v ? join(base, v, 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A running throwaway cluster, or undefined (after a message) when this machine cannot make one. */
export async function throwawayCluster(suite: string): Promise<PgCluster | undefined> {
  const bin = pgBin();
  const why = !bin
    ? 'no PostgreSQL server binaries under /usr/lib/postgresql'
    : process.getuid?.() !== 0
      ? 'not root (initdb must run as the postgres user)'
      : undefined;
  if (why) {
    if (process.env.CI) throw new Error(`CI requires a throwaway PostgreSQL cluster: ${why}`);
    console.log(`# SKIPPED ${suite}: ${why}`);
    return undefined;
  }
  const pgbin = bin as string;
  const base = mkdtempSync(join(tmpdir(), 'pchat-pgc-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(base, uid, gid);
  const data = join(base, 'data');
  const asPg = (cmd: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', join(pgbin, cmd), ...args], { stdio: 'pipe', timeout: 60_000 });
  asPg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale']);
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${base} -c fsync=off`;
  let running = false;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start() {
      asPg('pg_ctl', ['-D', data, '-l', join(base, 'log'), '-w', '-o', opts, 'start']);
      running = true;
    },
    stop() {
      asPg('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
      running = false;
    },
    remove() {
      if (running) {
        try {
          cluster.stop();
        } catch {
          /* already down */
        }
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
