// NATS for tests: the machine's server (PCHAT_TEST_NATS, default nats://127.0.0.1:4222), and throwaway servers a
// test may stop and start. Outside CI an unreachable server skips the suite and says so; under CI (CI=true) it
// fails, because CI never skips the pool suites.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_URL = process.env.PCHAT_TEST_NATS ?? 'nats://127.0.0.1:4222';
export const NATS_BIN = process.env.PCHAT_TEST_NATS_BIN ?? '/usr/sbin/nats-server';

function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = tcpConnect(Number(u.port || 4222), u.hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The shared NATS server's URL; undefined (after a clear message) when the suite must be skipped. */
export async function natsUrl(suite: string): Promise<string | undefined> {
  if (await reachable(NATS_URL)) return NATS_URL;
  if (process.env.CI) throw new Error(`CI requires NATS at ${NATS_URL}`);
  console.log(`# SKIPPED ${suite}: NATS not reachable at ${NATS_URL}`);
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A nats-server of the test's own on a fixed port, so it can be stopped and started again at the same URL. */
export class ThrowawayNats {
  private proc: ChildProcess | undefined;
  /** JetStream's storage: kept across down()/up(), as a restarted NATS keeps its disk. */
  private readonly dir = mkdtempSync(join(tmpdir(), 'pchat-nats-'));
  private constructor(
    readonly port: number,
    /** The address it listens on (127.0.0.1 unless given, e.g. a test network's bridge address). */
    readonly host = '127.0.0.1',
  ) {}

  static async start(opts: { host?: string } = {}): Promise<ThrowawayNats | undefined> {
    if (!existsSync(NATS_BIN)) {
      if (process.env.CI) throw new Error(`CI requires ${NATS_BIN} (Debian package nats-server)`);
      console.log(`# SKIPPED: no ${NATS_BIN}`);
      return undefined;
    }
    const n = new ThrowawayNats(await freePort(), opts.host);
    await n.up();
    return n;
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  async up(): Promise<void> {
    const proc = spawn(NATS_BIN, ['-a', this.host, '-p', String(this.port), '-js', '-sd', this.dir], {
      stdio: 'ignore',
    });
    proc.on('error', () => {});
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    while (!(await reachable(this.url))) {
      if (Date.now() > deadline) throw new Error('nats-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops it for good and removes its storage. */
  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async down(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}
