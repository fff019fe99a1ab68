// The `pchat` command line refusing bad input on SQLite: every refused command is a real process (tsx), as an
// administrator would run it. The directory it runs against is the one cli-sqlite.test.ts builds through the CLI;
// here it is written in-process through the admin service, because building it is not what this file tests.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminService, adminOptionsFrom } from '../../src/admin/admin-service.js';
import { loadConfig } from '../../src/config/config.js';
import { parseListEdit } from '../../src/core/principals.js';
import { openStore } from '../../src/store/open.js';
import { all, type CliResult, CONTOSO, failed, pchatOn, type StoreRunner } from '../support/cli.js';

const { A, B, C, D, E, G } = CONTOSO;

/** Runs `fn` on an admin service over the store in `dir`, configured as the CLI is without PCHAT_* settings. */
async function withAdmin<T>(dir: string, fn: (admin: AdminService) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: dir });
  try {
    return await fn(new AdminService(store, adminOptionsFrom(loadConfig({ dataDir: dir }, {}))));
  } finally {
    await store.close();
  }
}

const list = (s: string) => parseListEdit(s, 'members');

/** The directory cli-sqlite.test.ts's first test leaves behind. */
async function seedContoso(admin: AdminService): Promise<void> {
  await admin.addUser(A, {
    displayName: 'Alice',
    password: 'alice-secret-1',
    email: 'alice@contoso.com',
    ou: 'Contoso/Eng',
    site: 'Redmond',
    isAdmin: true,
  });
  await admin.addUser(B, { ou: 'Contoso/Eng', password: 'bob-secret-12' });
  await admin.addUser(C, { ou: 'Contoso/Sales', password: 'carol-pw-123' });
  await admin.addUser(D, { ou: 'Contoso/Eng' });
  await admin.addUser(E, { ou: 'Contoso/Sales' });
  await admin.addUser(G, { ou: 'Contoso/Eng/Tools' });
  await admin.addUser('sip:frank@fabrikam.com', {});
  await admin.setPolicy('global', { enablePersistentChat: true });
  await admin.newPolicy('tag:chat', { enablePersistentChat: true, description: 'chat users' });
  await admin.newPolicy('nochat', { enablePersistentChat: false });
  await admin.grantPolicy(E, 'nochat');
  await admin.newAddin({ name: 'Wiki', url: 'https://wiki.contoso.com/chat' });
  await admin.setConfig({
    defaultChatHistory: 50,
    searchLimit: 500,
    roomManagementUrl: 'https://chat.contoso.com/rooms',
  });
  await admin.addGroup('eng', { members: list(`${A},${B}`), description: 'engineers' });
  await admin.addGroup('staff', { members: list(`group:eng,${C}`) });
  await admin.newCategory({
    name: 'Engineering',
    description: 'engineering rooms',
    allowedMembers: list('group:staff,ou:Contoso/Eng'),
    deniedMembers: list(D),
    creators: list(A),
  });
  await admin.newCategory({ name: 'Sales', allowedMembers: list('ou:Contoso/Sales'), invitations: false });
  await admin.newRoom({
    name: 'General',
    category: 'Engineering',
    privacy: 'open',
    description: 'General chat for engineering',
    members: list(`group:eng,${C}`),
    managers: list(A),
  });
  await admin.newRoom({
    name: 'Town Hall',
    category: 'Engineering',
    type: 'auditorium',
    members: list('group:staff'),
    presenters: list(`${A},${B}`),
    managers: list(B),
  });
  await admin.newRoom({
    name: 'Secret Plans',
    category: 'Engineering',
    privacy: 'secret',
    addin: 'Wiki',
    disabled: true,
    invitations: 'false',
    members: list(A),
    managers: list(A),
  });
}

/** Everything a refused command could have changed, read from the store itself. */
async function snapshot(dir: string) {
  return withAdmin(dir, async (admin) => {
    const s = admin.store;
    const users = await s.users.list();
    return {
      users,
      passwords: await Promise.all(users.map((u) => s.users.getPasswordHash(u.uri))),
      groups: await s.groups.list(),
      categories: await s.categories.list(),
      rooms: await s.rooms.list(),
      addins: await s.addins.list(),
      policies: await s.policies.list(),
      endpoints: await s.endpoints.list(),
      config: await s.config.get(),
      lastChange: await s.changes.latestId(),
    };
  });
}

describe('pchat CLI', () => {
  describe('SQLite', { concurrency: 1 }, () => {
    let dir: string;
    let run: StoreRunner;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'pchat-cli-refusals-'));
      run = pchatOn(['--data', dir]);
      await withAdmin(dir, seedContoso);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('bad input exits non-zero with one line naming the field, and changes nothing', async () => {
      const before = await snapshot(dir);
      assert.equal(before.rooms.length, 3, 'the directory holds three rooms');

      const long = 'x'.repeat(257);
      const cases: [string[], 1 | 2, string, RegExp][] = [
        [['room', 'get', 'Nope'], 1, 'ROOM_NOT_FOUND', /^room: "Nope"/],
        [['room', 'set', 'General', '--privacy', 'public'], 1, 'INVALID_VALUE', /^privacy: "public"/],
        [['room', 'set', 'Town Hall', '--presenters', `+${G}`], 1, 'PRESENTER_NOT_MEMBER', /^presenters: sip:gina/],
        [['room', 'set', 'General', '--presenters', A], 1, 'PRESENTERS_IN_NORMAL_ROOM', /^presenters:/],
        [['room', 'new', long, '--category', 'Engineering'], 1, 'NAME_TOO_LONG', /^name: at most 256/],
        [['addin', 'new', 'Files', '--url', 'ftp://files.contoso.com/'], 1, 'INVALID_VALUE', /^url: .*ftp/],
        [['category', 'set', 'Engineering', '--creators', `+${E}`], 1, 'CREATOR_NOT_ALLOWED', /^creators: sip:erin/],
        [['category', 'remove', 'Engineering'], 1, 'CATEGORY_NOT_EMPTY', /^category: "Engineering" still holds 3/],
        [['room', 'set', 'General', '--colour', 'red'], 2, 'USAGE', /unknown option --colour.*--help/],
        [['room', 'frobnicate'], 2, 'USAGE', /unknown verb "frobnicate".*pchat room --help/],
        [['room', 'get', '--filter'], 2, 'USAGE', /option --filter needs a value/],
        [['room', 'set', 'General', '--description', 'changed', '--privacy', 'bogus'], 1, 'INVALID_VALUE', /^privacy:/],
        [
          ['room', 'set', 'General', '--description', 'changed', '--members', '+sip:ghost@contoso.com'],
          1,
          'PRINCIPAL_NOT_FOUND',
          /^members: sip:ghost@contoso\.com/,
        ],
        [['room', 'set', 'General', '--members', `+${C},${B}`], 1, 'INVALID_VALUE', /^members: use either/],
        [['room', 'set', 'General', '--members', `+${D}`], 1, 'NOT_IN_CATEGORY_SCOPE', /^members: sip:dave/],
        [['room', 'set', 'General', '--disabled=maybe'], 1, 'INVALID_VALUE', /^disabled:/],
        [['user', 'add', 'sip:henry@contoso.com', '--password', 'short'], 1, 'INVALID_VALUE', /^password:/],
        [['config', 'set', '--default-chat-history', '501'], 1, 'INVALID_VALUE', /^defaultChatHistory:/],
        [
          ['endpoint', 'new', '--sip-address', 'sip:ocschat@contoso.com', '--pool', 'elsewhere'],
          1,
          'INVALID_VALUE',
          /^pool:/,
        ],
      ];
      const results = await all(
        cases.map(
          ([args]) =>
            () =>
              run(args),
        ),
      );
      for (const [i, [args, exit, code, field]] of cases.entries())
        failed(results[i] as CliResult, exit, code, field, args.join(' '));

      assert.deepEqual(await snapshot(dir), before);
    });
  });
});
