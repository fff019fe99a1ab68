// The migration weekend's last step with a real legacy client: the sample Lync pool (test/fixtures/lync) is
// migrated with the real CLI, the old chat address is re-created with `pchat endpoint new --sip-address
// sip:ocschat@contoso.com`, and a SIPE client configured with that address as its Group Chat proxy, as it was
// before the migration, signs in to the pchat server process, lists the migrated rooms and gets their migrated
// history. See test/interop/README.md for the harness; outside CI a machine without bitlbee/SIPE/gcc skips it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdminService } from '../../src/admin/admin-service.js';
import { openStore } from '../../src/store/open.js';
import { runPchat } from '../support/cli.js';
import { type ServerProcess, startServer, tempDataDir } from '../support/server.js';
import { BITLBEE_BIN, freePort, SIPE_PLUGIN } from './support/bitlbee.js';
import { buildSipeShim } from './support/shim.js';
import { SipeClient } from './support/sipe-client.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIX = join(ROOT, 'test/fixtures/lync');
const DOMAIN = 'contoso.com';
const REALM = 'pchat';
const PASSWORD = 'secret-pw-1';
const STEP_MS = Number(process.env.PCHAT_INTEROP_STEP_TIMEOUT) || 20_000;
const ENV = { PCHAT_DOMAIN: DOMAIN, PCHAT_SIP_REALM: REALM };

function missingTools(): string | undefined {
  for (const f of [BITLBEE_BIN, SIPE_PLUGIN, '/usr/include/libxml2/libxml/parser.h']) {
    if (!existsSync(f)) return `${f} not found`;
  }
  return undefined;
}
const missing = missingTools();
if (missing && process.env.CI) throw new Error(`CI requires the interop packages: ${missing}`);
if (missing) console.log(`# SKIPPED migration interop: ${missing} (apt-get install pidgin-sipe bitlbee-libpurple gcc)`);

/** `pchat …` as a process on the data directory, as the administrator runs it during the weekend. */
const pchat = (dataDir: string, args: string[]) => runPchat([...args, '--data', dataDir], ENV);

/** A history line as bitlbee shows it: old messages carry a "[YYYY-MM-DD hh:mm:ss] " prefix. */
const history = (text: string) =>
  new RegExp(`^(?:\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\] )?${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

describe('after a migration from Lync, a SIPE client configured with the old address reaches the rooms', {
  skip: missing,
}, () => {
  const data = tempDataDir('pchat-interop-migration-');
  let server: ServerProcess | undefined;
  let sipPort = 0;
  let alice: SipeClient | undefined;

  const withServerLog = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      const tail = (server?.stderr() ?? '').split('\n').slice(-30).join('\n');
      (e as Error).message += `\n--- pchat server stderr tail ---\n${tail}`;
      throw e;
    }
  };

  before(async () => {
    await buildSipeShim();
    // The new pool's directory, as the administrator prepared it before the weekend.
    const store = await openStore({ dataDir: data.dir });
    try {
      const admin = new AdminService(store, { realm: REALM, domain: DOMAIN, pool: DOMAIN });
      await admin.setPolicy('global', { enablePersistentChat: true });
      await admin.addUser(`sip:alice@${DOMAIN}`, {
        displayName: 'Alice Smith',
        ou: 'Contoso/Engineering',
        password: PASSWORD,
      });
      await admin.addUser(`sip:bob@${DOMAIN}`, {
        displayName: 'Bob Jones',
        ou: 'Contoso/Engineering',
        password: PASSWORD,
      });
      await admin.addUser(`sip:carol@${DOMAIN}`, { displayName: 'Carol Lee', ou: 'Contoso/Sales', password: PASSWORD });
      await admin.addGroup('Engineering Team', { members: { replace: [`sip:alice@${DOMAIN}`, `sip:bob@${DOMAIN}`] } });
    } finally {
      await store.close();
    }
    const migrate = await pchat(data.dir, [
      'migrate',
      'lync',
      '--rooms',
      join(FIX, 'rooms.csv'),
      '--categories',
      join(FIX, 'categories.csv'),
      '--addins',
      join(FIX, 'addins.csv'),
      '--compliance',
      join(FIX, 'compliance'),
    ]);
    assert.equal(migrate.code, 0, migrate.stderr);
    const endpoint = await pchat(data.dir, ['endpoint', 'new', '--sip-address', `sip:ocschat@${DOMAIN}`]);
    assert.equal(endpoint.code, 0, endpoint.stderr);
    for (let attempt = 1; !server; attempt++) {
      sipPort = await freePort();
      try {
        server = await startServer(data.dir, {
          env: { ...ENV, PCHAT_TEST_SIP_PORT: String(sipPort), PCHAT_LOG_LEVEL: 'info' },
        });
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  });

  after(async () => {
    await alice?.close();
    await server?.stop();
    data.remove();
  });

  it('lists the migrated rooms it may see through sip:ocschat@contoso.com', () =>
    withServerLog(async () => {
      alice = await SipeClient.start({ nick: 'alice', stepTimeoutMs: STEP_MS });
      await alice.login(`alice@${DOMAIN}`, PASSWORD, sipPort, { groupchatUser: `ocschat@${DOMAIN}` });
      const rooms = (await alice.listRooms({ minRooms: 4 })).map((r) => r.title).sort();
      // The open room, closed rooms she is a member of through her OU and group, and the secret Deals, which she
      // is not a member of but manages: she managed the legacy root category, so she manages every room.
      for (const r of ['General', 'Build Breaks', 'Town Hall', 'Deals'])
        assert.ok(rooms.includes(r), `${r} in ${rooms.join(', ')}`);
      await alice.waitForSip({ direction: 'out', match: /^INVITE sip:ocschat@contoso\.com/m });
    }));

  it('joins a migrated room and gets its migrated history, CJK included', () =>
    withServerLog(async () => {
      const c = alice as SipeClient;
      const ch = await c.joinRoom('General');
      // (Her own migrated messages are history too, but bitlbee never shows a user's own messages.)
      await c.waitForMessage(ch, history('早上好 — 今日のデプロイは10時から'), { from: 'bob' });
      await c.waitForMessage(ch, history('Second day in General'), { from: 'bob' });
      // The original times travel with the history (rpl:bccontext).
      await c.waitForSip({ direction: 'in', match: /<rpl id="rpl:bccontext"[\s\S]*ts="2025-01-10T09:01:00(\.000)?Z"/ });
    }));
});
