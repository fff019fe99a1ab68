// Browser tests: a real `pchat serve` (SQLite file or PostgreSQL), the built web client at its address,
// and Debian's Chromium driven by playwright-core (never a downloaded browser).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { AdminService } from '../../../src/admin/admin-service.js';
import { type ChatConfig, PchatClient } from '../../../src/client/index.js';
import { openStore } from '../../../src/store/open.js';
import { DOMAIN, PASSWORD, type ServerProcess, startServer, tempDataDir, uri } from '../../support/server.js';

export { DOMAIN, PASSWORD, uri };
export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const WEB_DIR = join(ROOT, 'dist', 'web');
export const SHOTS = join(ROOT, '.tmp', 'screenshots');
export const CHROMIUM = process.env.PCHAT_CHROMIUM ?? '/usr/bin/chromium';

export interface Seed {
  category: string;
  general: string;
  secret: string;
  closed: string;
  auditorium: string;
}

export interface Web {
  base: string;
  server: ServerProcess;
  /** Stops the server and starts it again on the same port and store (clients see a drop). */
  restart(between?: () => Promise<void>): Promise<void>;
  browser: Browser;
  seed: Seed;
  dataDir: string;
  /** A REST client signed in as `name`, for setting things up and checking what the server holds. */
  api(name: string): Promise<PchatClient>;
  /** A fresh browser context (own storage, own language) with one page at the web client. */
  page(opts?: { locale?: string; viewport?: { width: number; height: number } }): Promise<Page>;
  stop(): Promise<void>;
}

/** Why the suite cannot run here (printed as a skip), or undefined. Under CI a missing piece is a failure. */
export function missing(): string | undefined {
  let why: string | undefined;
  if (!existsSync(CHROMIUM)) why = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  else if (!existsSync(join(WEB_DIR, 'index.html'))) why = 'dist/web is not built (npm run build:web)';
  if (why && process.env.CI) throw new Error(`CI requires the browser suite: ${why}`);
  return why;
}

/**
 * alice (admin), bob, carol (members of nothing closed), dave (a category creator). Category Engineering
 * (the whole domain; dave may create rooms); rooms: general (open), secret-room (secret: alice, bob),
 * closed-room (closed: alice, bob, dave), stage (auditorium; presenter alice).
 */
async function seed(store: Awaited<ReturnType<typeof openStore>>, config: Partial<ChatConfig>): Promise<Seed> {
  const admin = new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN });
  await admin.setPolicy('global', { enablePersistentChat: true });
  if (Object.keys(config).length > 0) await admin.setConfig(config);
  const names: Record<string, string> = { alice: 'Alice', bob: 'Bob', carol: 'Carol', dave: 'Dave' };
  for (const [n, display] of Object.entries(names))
    await admin.addUser(uri(n), { displayName: display, password: PASSWORD, isAdmin: n === 'alice' });
  const cat = await admin.newCategory({
    name: 'Engineering',
    allowedMembers: { replace: [`domain:${DOMAIN}`] },
    creators: { replace: [uri('dave')] },
  });
  const members = (...n: string[]) => ({ replace: n.map(uri) });
  const general = await admin.newRoom({
    name: 'general',
    category: cat.id,
    privacy: 'open',
    description: 'Everything and anything',
  });
  const secret = await admin.newRoom({
    name: 'secret-room',
    category: cat.id,
    privacy: 'secret',
    members: members('alice', 'bob'),
  });
  const closed = await admin.newRoom({
    name: 'closed-room',
    category: cat.id,
    privacy: 'closed',
    members: members('alice', 'bob', 'dave'),
  });
  const auditorium = await admin.newRoom({
    name: 'stage',
    category: cat.id,
    privacy: 'open',
    type: 'auditorium',
    members: members('alice'),
    presenters: members('alice'),
  });
  return { category: cat.id, general: general.id, secret: secret.id, closed: closed.id, auditorium: auditorium.id };
}

export async function startWeb(opts: { db?: string; config?: Partial<ChatConfig> } = {}): Promise<Web> {
  const tmp = tempDataDir('pchat-e2e-');
  const store = await openStore({ dataDir: tmp.dir, ...(opts.db ? { db: opts.db } : {}) });
  let s: Seed;
  try {
    s = await seed(store, opts.config ?? {});
  } finally {
    await store.close();
  }
  // the tests seed rooms with hundreds of posts through the API as fast as the machine allows: a budget above the
  // default per-user rate limit keeps a fast machine from refusing the seeding itself (the limit has its own tests)
  const env: Record<string, string> = {
    PCHAT_RATE_LIMIT_PER_SECOND: '2000',
    PCHAT_RATE_LIMIT_BURST: '5000',
    ...(opts.db ? { PCHAT_DB: opts.db } : {}),
  };
  let server = await startServer(tmp.dir, { env });
  // `pchat serve` serves the built client (dist/web) at / itself, as it does for users.
  const base = server.url;
  const home = await fetch(`${base}/`).then(
    async (r) => (r.ok ? await r.text() : ''),
    () => '',
  );
  if (!home.includes('id="app"')) {
    await server.stop();
    tmp.remove();
    throw new Error(`pchat serve does not serve the web client at ${base}/ (is dist/web built?)`);
  }
  // playwright-core launches with a fresh temporary profile (its own --user-data-dir) every time.
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
  } catch (e) {
    await server.stop();
    tmp.remove();
    throw e;
  }
  const contexts: BrowserContext[] = [];
  mkdirSync(SHOTS, { recursive: true });
  return {
    base,
    get server() {
      return server;
    },
    restart: async (between) => {
      const port = server.port;
      await server.stop();
      await between?.();
      server = await startServer(tmp.dir, { env, port });
    },
    browser,
    seed: s,
    dataDir: tmp.dir,
    api: async (name) => {
      const c = new PchatClient(base);
      await c.signIn(uri(name), PASSWORD);
      return c;
    },
    page: async (o = {}) => {
      const locale = o.locale ?? 'en-US';
      const ctx = await browser.newContext({
        locale,
        extraHTTPHeaders: { 'accept-language': locale },
        viewport: o.viewport ?? { width: 1280, height: 800 },
        acceptDownloads: true,
      });
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(base);
      return page;
    },
    stop: async () => {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await server.stop();
      tmp.remove();
    },
  };
}

/** Signs in through the form (the browser's own language decides the labels, so fields are found by id). */
export async function signIn(page: Page, name: string): Promise<void> {
  await page.locator('#signin-user').fill(uri(name));
  await page.locator('#signin-password').fill(PASSWORD);
  await page.locator('form button[type=submit]').click();
  await page.locator('.conn[data-state=open]').waitFor();
}

export async function shot(page: Page, name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Goes to a hash route of the client without reloading it. */
export async function open(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
}

/** Types a message into the open room's composer, sends it with Enter and waits until it shows. */
export async function post(page: Page, text: string): Promise<void> {
  const box = page.locator('#composer-text');
  await box.fill(text);
  await box.press('Enter');
  await page.locator('.msg .text', { hasText: text }).first().waitFor();
}
