// A chat core on a real store (SQLite file, or PostgreSQL in its own schema) with a small directory: users
// alice…erin, a category "Eng" (erin denied), a closed room General (alice, bob), a secret room (alice), an open
// auditorium (alice presents). Each module test loads the core with only the modules it needs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AdminService } from '../../../src/admin/admin-service.js';
import { ChatCore, type ChatCoreOptions } from '../../../src/chat/core.js';
import type { ChatEventName } from '../../../src/chat/events.js';
import type { ChatEvent, Session } from '../../../src/chat/types.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { openStore } from '../../../src/store/open.js';
import type { Store } from '../../../src/store/port.js';
import { pgSchema } from '../../support/pg.js';
import { engineUnavailable } from '../../support/spec-engines.js';

export const PW = 'correct horse';
export const uri = (u: string) => `sip:${u}@contoso.com`;
const list = (s: string) => parseListEdit(s, 'members');

export interface LogRecord {
  level: 'error' | 'warn';
  msg: string;
  fields?: Record<string, unknown>;
}

export interface ChatFixture {
  dir: string;
  store: Store;
  admin: AdminService;
  core: ChatCore;
  rooms: { general: string; secret: string; audit: string };
  logs: LogRecord[];
  /** Opens a session whose events are collected in `got(session)`. */
  open(user: string): Session;
  got(s: Session): ChatEvent[];
  close(): Promise<void>;
}

export type Engine = 'sqlite' | 'postgres';

/**
 * The fixture, or undefined when PostgreSQL is asked for and not reachable outside CI (the suite is skipped; a
 * case sees it through engineUnavailable). On SQLite a store that does not open fails the suite.
 */
export async function chatFixture(
  engine: Engine,
  register: (core: ChatCore) => void | Promise<void>,
  opts: Partial<ChatCoreOptions> = {},
): Promise<ChatFixture | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-chatmod-'));
  let drop = async () => {};
  let db: string | undefined;
  if (engine === 'postgres') {
    const schema = await pgSchema('chat module on postgres');
    if (!schema) {
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
    db = schema.url;
    drop = schema.drop;
  }
  const store = await openStore({ dataDir: dir, db });
  assert.ok(store, `the ${engine} store did not open`);
  const admin = new AdminService(store, { realm: 'pchat', domain: 'contoso.com', pool: 'pool1' });
  for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) {
    await admin.addUser(uri(u), { password: PW, displayName: u[0]?.toUpperCase() + u.slice(1) });
  }
  await admin.setPolicy('global', { enablePersistentChat: true });
  await admin.newCategory({
    name: 'Eng',
    allowedMembers: list('domain:contoso.com'),
    deniedMembers: list(uri('erin')),
  });
  const general = (
    await admin.newRoom({ name: 'General', category: 'Eng', members: list(`${uri('alice')},${uri('bob')}`) })
  ).id;
  const secret = (
    await admin.newRoom({ name: 'Secret', category: 'Eng', privacy: 'secret', members: list(uri('alice')) })
  ).id;
  const audit = (
    await admin.newRoom({
      name: 'Town hall',
      category: 'Eng',
      privacy: 'open',
      type: 'auditorium',
      members: list(uri('alice')),
      presenters: list(uri('alice')),
    })
  ).id;
  const logs: LogRecord[] = [];
  const core = new ChatCore(store, {
    domain: 'contoso.com',
    pollMs: 20,
    log: {
      error: (msg, fields) => logs.push({ level: 'error', msg, fields }),
      warn: (msg, fields) => logs.push({ level: 'warn', msg, fields }),
    },
    ...opts,
  });
  await register(core);
  await core.start();
  const collected = new WeakMap<Session, ChatEvent[]>();
  return {
    dir,
    store,
    admin,
    core,
    rooms: { general, secret, audit },
    logs,
    open(user) {
      const got: ChatEvent[] = [];
      const s = core.openSession(uri(user), (e) => got.push(e), 'ws');
      collected.set(s, got);
      return s;
    },
    got: (s) => collected.get(s) ?? [],
    async close() {
      await core.stop();
      await store.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A test case over the engine's fixture, read when the case runs: a fixture that did not open fails the case on
 * SQLite and skips it on an unreachable PostgreSQL outside CI (engineUnavailable).
 */
export function fixtureTest(engine: Engine, fixture: () => ChatFixture | undefined) {
  return (title: string, fn: (fx: ChatFixture) => Promise<void>) =>
    test(title, async (t) => {
      const fx = fixture();
      if (!fx) return engineUnavailable(t, engine);
      await fn(fx);
    });
}

/** Runs `fn` once per engine, as a describe block each. */
export const ENGINES: Engine[] = ['sqlite', 'postgres'];

/** Polls `check` (sync or async) every 5 ms until it holds; fails naming `what` after 10 s (a busy machine). */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One handler a module registered: the event, the handler and its options (priority, module name). */
export interface Registration {
  event: ChatEventName;
  fn: (payload: never) => void | Promise<void>;
  opts: { priority?: number; module?: string } | undefined;
}

/**
 * Runs `register` with `core.events.on` wrapped, and returns every handler it registered, in order; the hub's own
 * `on` is back in place afterwards.
 */
export async function registrations(core: ChatCore, register: () => unknown): Promise<Registration[]> {
  const hub = core.events;
  const on = hub.on.bind(hub) as (...a: unknown[]) => () => void;
  const out: Registration[] = [];
  hub.on = ((...a: unknown[]) => {
    out.push({ event: a[0] as ChatEventName, fn: a[1] as Registration['fn'], opts: a[2] as Registration['opts'] });
    return on(...a);
  }) as typeof hub.on;
  try {
    await register();
  } finally {
    Reflect.deleteProperty(hub, 'on');
  }
  return out;
}

/** What a sign-in attempt ends with: the user's URI when it signs in, else the error code. */
export async function signInOutcome(p: Promise<string>): Promise<string> {
  try {
    return await p;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
