// Throwaway PostgreSQL clusters for tests that stop, restart or fail over a database: a primary made with initdb
// and, optionally, a streaming replica of it made with `pg_basebackup -R`, each on a port of its own, under a
// temporary directory, run as the `postgres` user (initdb refuses root). Outside CI, a machine without the
// PostgreSQL server binaries or without root skips such a suite and says so; under CI it fails instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats.js';

function pgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(a) - Number(b));
  const v = versions[versions.length - 1];
  return v === undefined ? undefined : join(root, v, 'bin');
}

/** Why throwaway clusters can't run here, or undefined when they can. */
export function clusterUnavailable(): string | undefined {
  if (!pgBin()) return 'no PostgreSQL server binaries under /usr/lib/postgresql';
  if (process.getuid?.() !== 0) return 'not root (initdb must run as the postgres user)';
  const r = spawnSync('id', ['postgres']);
  if (r.status !== 0) return 'no postgres user';
  return undefined;
}

/** Skips (outside CI) or fails (CI) when clusters can't run; returns true when the suite may go on. */
export function requireClusters(suite: string): boolean {
  const why = clusterUnavailable();
  if (!why) return true;
  if (process.env.CI) throw new Error(`CI requires throwaway PostgreSQL clusters for ${suite}: ${why}`);
  console.log(`# SKIPPED ${suite}: ${why}`);
  return false;
}

const asPostgres = (cmd: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

export class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** The URL for a client that reaches the cluster at `host` (one of its `listen` addresses). */
  urlOn(host: string): string {
    return `postgres://postgres@${host}:${this.port}/postgres`;
  }

  /**
   * A new primary, started, that accepts replication connections (synchronous when `syncReplica`). `listen`
   * adds addresses to listen on besides 127.0.0.1 and `allow` subnets (CIDR) whose clients may connect (trust),
   * for clients in other network namespaces (test/support/netns.ts). `settings` are extra postgresql.conf lines.
   */
  static async primary(
    opts: { syncReplica?: boolean; listen?: string[]; allow?: string[]; settings?: string[] } = {},
  ): Promise<PgCluster> {
    const bin = pgBin() as string;
    const dir = mkdtempSync(join(tmpdir(), 'pchat-pg-'));
    chownSync(dir, 101, 104);
    const c = new PgCluster(dir, await freePort(), bin);
    asPostgres(join(bin, 'initdb'), ['-D', c.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale']);
    const conf = [
      `listen_addresses='${['127.0.0.1', ...(opts.listen ?? [])].join(',')}'`,
      `unix_socket_directories='${dir}'`,
      'wal_level=replica',
      'max_wal_senders=5',
      'fsync=on',
      ...(opts.syncReplica ? [`synchronous_standby_names='*'`] : []),
      ...(opts.settings ?? []),
    ];
    const hba = [
      'host replication all 127.0.0.1/32 trust',
      ...(opts.allow ?? []).map((n) => `host all all ${n} trust`),
    ];
    execFileSync('bash', ['-c', `printf '%s\\n' ${conf.map((l) => `"${l}"`).join(' ')} >> ${c.data}/postgresql.conf`]);
    execFileSync('bash', [
      '-c',
      `printf '%s\\n' ${hba.map((l) => `'${l}'`).join(' ')} >> ${c.data}/pg_hba.conf && chown -R postgres ${c.dir}`,
    ]);
    c.start();
    return c;
  }

  /**
   * A streaming replica of `primary` (pg_basebackup -R), started; with `reuse`, rebuilt in the place (directory
   * and port) of a cluster that is gone, as an operator rebuilds a failed primary from the new one to fail back.
   */
  static async replicaOf(primary: PgCluster, reuse?: PgCluster): Promise<PgCluster> {
    let c: PgCluster;
    let dir: string;
    if (reuse) {
      reuse.stop('immediate');
      rmSync(reuse.data, { recursive: true, force: true });
      dir = reuse.dir;
      c = reuse;
    } else {
      dir = mkdtempSync(join(tmpdir(), 'pchat-pgr-'));
      chownSync(dir, 101, 104);
      c = new PgCluster(dir, await freePort(), primary.bin);
    }
    asPostgres(join(c.bin, 'pg_basebackup'), [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      c.data,
      '-R',
      '-X',
      'stream',
    ]);
    execFileSync('bash', [
      '-c',
      `echo "unix_socket_directories='${dir}'" >> ${c.data}/postgresql.conf && echo "port=${c.port}" >> ${c.data}/postgresql.conf && echo "cluster_name='replica'" >> ${c.data}/postgresql.conf && echo "synchronous_standby_names=''" >> ${c.data}/postgresql.conf && chown -R postgres ${dir}`,
    ]);
    c.start();
    return c;
  }

  start(): void {
    asPostgres(join(this.bin, 'pg_ctl'), [
      '-D',
      this.data,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} -k ${this.dir}`,
      'start',
    ]);
  }

  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    try {
      asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.data, '-m', mode, '-w', 'stop']);
    } catch {
      // already stopped
    }
  }

  promote(): void {
    asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.data, '-w', 'promote']);
  }

  /** Stops the cluster and removes its directory. */
  destroy(): void {
    this.stop('immediate');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
