// Runs a private bitlbee-libpurple (IRC gateway) for driving the SIPE libpurple plugin headlessly.
// One daemon per call, in ForkDaemon mode (libpurple refuses plain Daemon mode: "Daemon mode detected. Do *not* try to
// use libpurple in daemon mode!"), bound to 127.0.0.1 on a free port, with its own ConfigDir and PidFile in a temp dir.
// Every IRC connection gets its own forked child, so one daemon can host several SIPE clients (use distinct nicks:
// libpurple state lives in <ConfigDir>/purple/<nick>/). The forked children share the daemon's stderr, which we
// capture to a file; with BITLBEE_DEBUG=1 + PURPLE_UNSAFE_DEBUG=1 it contains every SIP message SIPE sends/receives.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSipeShim, InteropSetupError } from './shim.js';

export const BITLBEE_BIN = process.env.PCHAT_BITLBEE ?? '/usr/sbin/bitlbee';
export const SIPE_PLUGIN = '/usr/lib/purple-2/libsipe.so';

export interface BitlbeeOptions {
  /** Path of sax1shim.so; built with buildSipeShim() when omitted. */
  shimPath?: string;
  /** TCP port for IRC; a free one is picked when omitted. */
  port?: number;
  /** Milliseconds to wait for the port to accept connections (default 10 s). */
  startTimeoutMs?: number;
  /** Keep the temp dir after stop() (default: $PCHAT_INTEROP_KEEP set). */
  keepDir?: boolean;
  /** Extra environment for the daemon. */
  env?: NodeJS.ProcessEnv;
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Safety net: daemons still running when the test process exits (crash, forgotten stop()) are killed with it.
const live = new Map<number, string | undefined>(); // pid -> temp dir to remove (undefined: keep)
process.once('exit', () => {
  for (const [pid, dir] of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

export class Bitlbee {
  readonly host = '127.0.0.1';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly port: number,
    /** Temp dir holding bitlbee.conf, config/, bitlbee.pid and the logs. */
    readonly dir: string,
    /** bitlbee's stderr: libpurple/SIPE debug output (DEBUG sipe: … and MESSAGE START … MESSAGE END blocks). */
    readonly stderrLog: string,
    /** bitlbee's stdout: libpurple core debug ("(hh:mm:ss) plugins: …"). */
    readonly stdoutLog: string,
    private readonly child: ChildProcess,
    private readonly keepDir: boolean,
  ) {
    if (child.pid !== undefined) live.set(child.pid, keepDir ? undefined : dir);
    child.once('exit', (code, signal) => {
      this.exited = { code, signal };
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exited === undefined;
  }

  static async start(opts: BitlbeeOptions = {}): Promise<Bitlbee> {
    if (!existsSync(BITLBEE_BIN)) {
      throw new InteropSetupError(
        `${BITLBEE_BIN} not found; apt-get install -y --no-install-recommends bitlbee-libpurple pidgin-sipe`,
      );
    }
    if (!existsSync(SIPE_PLUGIN)) {
      throw new InteropSetupError(`${SIPE_PLUGIN} not found; apt-get install -y --no-install-recommends pidgin-sipe`);
    }
    const shimPath = opts.shimPath ?? (await buildSipeShim());
    // A picked port can be taken between freePort() and bind(): retry a couple of times when we chose it.
    const attempts = opts.port === undefined ? 3 : 1;
    let lastError: Error | undefined;
    for (let i = 0; i < attempts; i++) {
      const port = opts.port ?? (await freePort());
      try {
        return await Bitlbee.startOnce(port, shimPath, opts);
      } catch (e) {
        lastError = e as Error;
      }
    }
    throw lastError!;
  }

  private static async startOnce(port: number, shimPath: string, opts: BitlbeeOptions): Promise<Bitlbee> {
    const dir = await mkdtemp(join(tmpdir(), 'pchat-bitlbee-'));
    const configDir = join(dir, 'config');
    await mkdir(configDir);
    const conf = join(dir, 'bitlbee.conf');
    // No "User =": Debian's /etc/bitlbee/bitlbee.conf sets User=bitlbee, which we don't read (-c).
    await writeFile(
      conf,
      [
        '[settings]',
        'RunMode = ForkDaemon',
        'DaemonInterface = 127.0.0.1',
        `DaemonPort = ${port}`,
        'AuthMode = Open',
        `ConfigDir = ${configDir}`,
        `PidFile = ${join(dir, 'bitlbee.pid')}`,
        `MotdFile = ${join(dir, 'motd.txt')}`,
        '[defaults]',
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'motd.txt'), 'pchat interop bitlbee\n');
    const stderrLog = join(dir, 'bitlbee.stderr.log');
    const stdoutLog = join(dir, 'bitlbee.stdout.log');
    const errFd = openSync(stderrLog, 'a');
    const outFd = openSync(stdoutLog, 'a');
    let child: ChildProcess;
    try {
      // -F: ForkDaemon, -n: stay in the foreground (so we own the pid and its process group), -v: verbose.
      child = spawn(BITLBEE_BIN, ['-c', conf, '-F', '-n', '-v'], {
        cwd: dir,
        detached: true, // own process group: stop() kills the daemon and all forked per-connection children
        stdio: ['ignore', outFd, errFd],
        env: {
          ...process.env,
          LD_PRELOAD: shimPath,
          PURPLE_UNSAFE_DEBUG: '1', // full SIP messages in SIPE's debug output
          BITLBEE_DEBUG: '1', // makes bitlbee install a libpurple debug printer (stderr); without it: no SIPE log
          ...opts.env,
        },
      });
    } finally {
      closeSync(errFd);
      closeSync(outFd);
    }
    const b = new Bitlbee(port, dir, stderrLog, stdoutLog, child, opts.keepDir ?? !!process.env.PCHAT_INTEROP_KEEP);
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
    for (;;) {
      await sleep(50);
      if (spawnError) {
        await rm(dir, { recursive: true, force: true });
        throw new InteropSetupError(`cannot start ${BITLBEE_BIN}: ${spawnError.message}`);
      }
      if (!b.running) {
        const tail = await b.logTail(20);
        await b.stop();
        throw new Error(`bitlbee exited during start-up (${JSON.stringify(b.exited)}); stderr:\n${tail}`);
      }
      if (await canConnect(b.host, port)) return b;
      if (Date.now() > deadline) {
        const tail = await b.logTail(20);
        await b.stop();
        throw new Error(`bitlbee did not accept connections on ${port} within the timeout; stderr:\n${tail}`);
      }
    }
  }

  /** The whole stderr log (SIPE debug output of every forked child, interleaved). */
  async debugLog(): Promise<string> {
    try {
      return await readFile(this.stderrLog, 'utf8');
    } catch {
      return '';
    }
  }

  /** Last n lines of the stderr log. */
  async logTail(n = 80): Promise<string> {
    const lines = (await this.debugLog()).split('\n');
    return lines.slice(-n).join('\n');
  }

  /** SIP messages from the debug log, oldest first (both directions, all clients of this daemon). */
  async sipMessages(): Promise<SipLogEntry[]> {
    return parseSipLog(await this.debugLog());
  }

  /** Kills the daemon and its forked children (SIGTERM, then SIGKILL after 2 s) and removes the temp dir. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.running) {
      const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const killed = await Promise.race([gone.then(() => true), sleep(2000).then(() => false)]);
      if (!killed) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await Promise.race([gone, sleep(1000)]);
      }
    }
    // Forked children may outlive the parent briefly; make sure the group is gone.
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* no such process group: fine */
      }
      live.delete(pid);
    }
    if (!this.keepDir) await rm(this.dir, { recursive: true, force: true });
  }
}

export interface SipLogEntry {
  /** 'out' = SIPE sent it, 'in' = SIPE received it. */
  direction: 'out' | 'in';
  /** First line, e.g. "REGISTER sip:example.com SIP/2.0" or "SIP/2.0 200 OK". */
  startLine: string;
  /** Headers and body as logged (CRLFs normalised to LF by the log). */
  text: string;
}

/** Extracts SIPE's "MESSAGE START >>>>>>>>>> SIP(…)" … "MESSAGE END" blocks (>>> = sent, <<< = received). */
export function parseSipLog(log: string): SipLogEntry[] {
  const out: SipLogEntry[] = [];
  const re = /MESSAGE START (>{10}|<{10}) SIP\([^)]*\)[^\n]*\n([\s\S]*?)\nMESSAGE END \1 SIP/g;
  for (let m = re.exec(log); m; m = re.exec(log)) {
    const text = m[2]!.replace(/\r/g, '');
    out.push({ direction: m[1]!.startsWith('>') ? 'out' : 'in', startLine: text.split('\n', 1)[0] ?? '', text });
  }
  return out;
}
