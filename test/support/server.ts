// Helpers for integration tests: a temporary data directory, seeding through AdminService (directly on the
// store, as the CLI does from another process), and a real server process on port 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminService } from '../../src/admin/admin-service.js';
import { openStore } from '../../src/store/open.js';

export const PASSWORD = 'password123';
export const DOMAIN = 'pchat.local';
const ROOT = join(import.meta.dirname, '..', '..');

export function tempDataDir(prefix = 'pchat-it-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs `fn` with an AdminService over the data directory's store, or the PostgreSQL store `db` when given (safe
 * while a server runs on it).
 */
export async function withAdmin<T>(dataDir: string, fn: (admin: AdminService) => Promise<T>, db?: string): Promise<T> {
  const store = await openStore({ dataDir, db });
  try {
    return await fn(new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN }));
  } finally {
    await store.close();
  }
}

export const uri = (name: string) => `sip:${name}@${DOMAIN}`;

export interface Seeded {
  category: string;
  closed: string;
  secret: string;
  open: string;
  auditorium: string;
}

/**
 * alice (admin), bob, carol, dave, frank: chat enabled by the global policy; eve: a tag policy turns chat off.
 * Category Engineering (everyone); rooms: closed (alice, bob), secret (alice, bob), open, auditorium
 * (members alice, bob; presenter alice).
 */
export async function seedStandard(dataDir: string, config: Record<string, number> = {}, db?: string): Promise<Seeded> {
  return withAdmin(
    dataDir,
    async (admin) => {
      await admin.setPolicy('global', { enablePersistentChat: true });
      await admin.newPolicy('tag:nochat', { enablePersistentChat: false });
      for (const name of ['alice', 'bob', 'carol', 'dave', 'frank', 'eve']) {
        await admin.addUser(uri(name), {
          displayName: name[0]?.toUpperCase() + name.slice(1),
          password: PASSWORD,
          isAdmin: name === 'alice',
        });
      }
      await admin.grantPolicy(uri('eve'), 'tag:nochat');
      if (Object.keys(config).length > 0) await admin.setConfig(config);
      const cat = await admin.newCategory({ name: 'Engineering', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
      const members = { replace: [uri('alice'), uri('bob')] };
      const closed = await admin.newRoom({ name: 'closed-room', category: cat.id, privacy: 'closed', members });
      const secret = await admin.newRoom({ name: 'secret-room', category: cat.id, privacy: 'secret', members });
      const open = await admin.newRoom({ name: 'open-room', category: cat.id, privacy: 'open' });
      const auditorium = await admin.newRoom({
        name: 'auditorium-room',
        category: cat.id,
        privacy: 'closed',
        type: 'auditorium',
        members,
        presenters: { replace: [uri('alice')] },
      });
      return { category: cat.id, closed: closed.id, secret: secret.id, open: open.id, auditorium: auditorium.id };
    },
    db,
  );
}

export interface ServerProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

/**
 * Starts `test/support/serve-entry.ts` on port 0 (or `port`) and waits for "pchat listening <url>". With `host`
 * it listens on that address; with `wrap` it runs under that command (e.g. `ip netns exec NS`, which execs the
 * server, so the process's pid and signals stay the server's own).
 */
export async function startServer(
  dataDir: string,
  opts: {
    env?: Record<string, string>;
    port?: number;
    host?: string;
    wrap?: { cmd: string; args: string[] };
    /** How long it may take to print its URL (default 20 s). */
    startTimeoutMs?: number;
  } = {},
): Promise<ServerProcess> {
  const argv = [
    process.execPath,
    '--import',
    'tsx',
    'test/support/serve-entry.ts',
    '--data',
    dataDir,
    '--port',
    String(opts.port ?? 0),
    ...(opts.host ? ['--host', opts.host] : []),
  ];
  const [cmd, ...args] = opts.wrap ? [opts.wrap.cmd, ...opts.wrap.args, ...argv] : argv;
  const proc = spawn(cmd as string, args, {
    cwd: ROOT,
    env: { ...process.env, PCHAT_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const ms = opts.startTimeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // never leave a half-started server behind
      reject(new Error(`server did not start in ${ms / 1000} s:\n${err}`));
    }, ms);
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (d: string) => {
      out += d;
      const m = /pchat listening (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${err}`));
    });
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`server could not start: ${e.message}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** A JSON HTTP call: returns status, headers and the parsed body (undefined when empty). */
export async function http(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are untyped JSON the tests look into
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  // fetch takes bytes backed by an ArrayBuffer; a Buffer may sit on a SharedArrayBuffer (its pool), so copy it
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (opts.raw !== undefined) body = typeof opts.raw === 'string' ? opts.raw : new Uint8Array(opts.raw);
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function signIn(base: string, name: string, password = PASSWORD): Promise<string> {
  const r = await http(base, 'POST', '/api/sessions', { body: { user: uri(name), password } });
  if (r.status !== 201) throw new Error(`sign-in of ${name} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

type Falsy = false | 0 | 0n | '' | null | undefined;

/** Polls `check` until it returns a truthy value or `ms` pass; resolves to that value (never undefined, null, false). */
export async function eventually<T>(
  check: () => Promise<T> | T,
  ms = 5000,
  what = 'condition',
): Promise<Exclude<T, Falsy>> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    // `if (v)` is what Exclude<T, Falsy> says; TypeScript does not narrow a type parameter by truthiness
    if (v) return v as Exclude<T, Falsy>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
