// End-to-end test of the `pchat` command line on SQLite: every command is a real process (tsx) against a fresh data
// directory, as an administrator would run it. Independent commands run in parallel to keep the suite fast. The
// refusals run in cli-sqlite-refusals.test.ts, the PostgreSQL store in cli-postgres.test.ts: each file is short
// enough to finish on a loaded machine.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyPassword } from '../../src/directory/passwords.js';
import { openStore } from '../../src/store/open.js';
import {
  all,
  CONTOSO,
  failed,
  json,
  names,
  ok,
  pchatOn,
  type CliResult as Result,
  type StoreRunner,
  uris,
} from '../support/cli.js';

const { A, B, C, D, E, G } = CONTOSO;

describe('pchat CLI', () => {
  describe('SQLite', { concurrency: 1 }, () => {
    let dir: string;
    let run: StoreRunner;

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'pchat-cli-'));
      run = pchatOn(['--data', dir]);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('an administrator sets up users, groups, policies, categories, rooms, add-ins and endpoints', async () => {
      // The first command creates the store.
      const alice = json(
        await run([
          'user',
          'add',
          A,
          '--display-name',
          'Alice',
          '--password',
          'alice-secret-1',
          '--email',
          'alice@contoso.com',
          '--ou',
          'Contoso/Eng',
          '--site',
          'Redmond',
          '--admin',
          '--json',
        ]),
        'user add alice',
      );
      assert.equal(alice.uri, A);
      assert.equal(alice.isAdmin, true);
      assert.equal(alice.ou, 'Contoso/Eng');
      assert.equal(alice.site, 'Redmond');

      const EP = 'sip:ocschat@contoso.com';
      const [bob, carol, , , , , help, verbHelp, , , , , cfg0, epNew] = await all([
        () => run(['user', 'add', B, '--ou', 'Contoso/Eng', '--json'], { env: { PCHAT_PASSWORD: 'bob-secret-12' } }),
        () =>
          run(['user', 'add', C, '--ou', 'Contoso/Sales', '--password-stdin', '--json'], { input: 'carol-pw-123\n' }),
        () => run(['user', 'add', D, '--ou', 'Contoso/Eng']),
        () => run(['user', 'add', E, '--ou', 'Contoso/Sales']),
        () => run(['user', 'add', G, '--ou', 'Contoso/Eng/Tools']),
        () => run(['user', 'add', 'sip:frank@fabrikam.com']),
        () => run(['--help']),
        () => run(['room', 'new', '--help']),
        () => run(['policy', 'set', 'global', '--enable-persistent-chat', 'true']),
        () => run(['policy', 'new', 'tag:chat', '--enable-persistent-chat', '--description', 'chat users']),
        () => run(['policy', 'new', 'nochat', '--no-enable-persistent-chat']),
        () => run(['addin', 'new', 'Wiki', '--url', 'https://wiki.contoso.com/chat']),
        () => run(['config', 'get', '--json']),
        () =>
          run([
            'endpoint',
            'new',
            '--sip-address',
            'sip:OCSChat@contoso.com',
            '--display-name',
            'Group Chat',
            '--json',
          ]),
      ]).then((rs) => rs.map((r, i) => ok(r, `setup step ${i}`)));
      const ep = JSON.parse((epNew as Result).stdout);
      assert.deepEqual(ep, { sipAddress: EP, displayName: 'Group Chat', pool: 'pchat.local' });
      assert.equal(JSON.parse((bob as Result).stdout).uri, B);
      assert.equal(JSON.parse((carol as Result).stdout).ou, 'Contoso/Sales');
      for (const noun of [
        'serve',
        'user',
        'group',
        'category',
        'room',
        'addin',
        'policy',
        'config',
        'principal',
        'endpoint',
      ])
        assert.match((help as Result).stdout, new RegExp(`^  ${noun}\\b`, 'm'), `--help lists ${noun}`);
      for (const opt of [
        '--category NAME',
        '--privacy',
        '--[no-]disabled',
        '--members LIST',
        '--presenters LIST',
        '--json',
      ])
        assert.match((verbHelp as Result).stdout, new RegExp(`^  ${opt.replace(/[[\]]/g, '\\$&')}\\s+\\S`, 'm'), opt);
      assert.match((verbHelp as Result).stdout, /New-CsPersistentChatRoom/);
      const defaults = JSON.parse((cfg0 as Result).stdout);
      assert.equal(defaults.defaultChatHistory, 30);
      assert.equal(defaults.maxFileSizeKB, 20000);

      const [, , , , epOne] = await all([
        () => run(['group', 'add', 'eng', '--members', `${A},${B}`, '--description', 'engineers']),
        () => run(['policy', 'grant', '--user', E, '--policy', 'nochat']),
        () => run(['policy', 'grant', '--user', D, '--policy', 'tag:chat']),
        () =>
          run([
            'config',
            'set',
            '--default-chat-history',
            '50',
            '--search-limit',
            '500',
            '--room-management-url',
            'https://chat.contoso.com/rooms',
          ]),
        () => run(['endpoint', 'get', '--sip-address', EP, '--json']),
      ]).then((rs) => rs.map((r, i) => ok(r, `groups/policies step ${i}`)));
      assert.deepEqual(JSON.parse((epOne as Result).stdout), ep);

      // Nested group; list modifiers and replacement on a group; a grant removed again.
      ok(await run(['group', 'add', 'staff', '--members', `group:eng,${C}`]), 'group add staff');
      const [staffEdited, , ungranted] = await all([
        () => run(['group', 'set', 'staff', '--members', `-${C},+${D}`, '--json']),
        () =>
          run([
            'category',
            'new',
            'Engineering',
            '--description',
            'engineering rooms',
            '--allowed-members',
            'group:staff,ou:Contoso/Eng',
            '--creators',
            A,
          ]),
        () => run(['policy', 'grant', '--user', D, '--policy', 'none', '--json']),
        () => run(['category', 'new', '--name', 'Sales', '--allowed-members', 'ou:Contoso/Sales', '--no-invitations']),
        () => run(['endpoint', 'remove', '--sip-address', EP]),
      ]).then((rs) => rs.map((r, i) => ok(r, `categories step ${i}`)));
      assert.deepEqual(JSON.parse((staffEdited as Result).stdout).members, ['group:eng', D]);
      assert.equal(JSON.parse((ungranted as Result).stdout).policy, null);

      const [staffR, engR, epList, epAgain] = await all([
        () => run(['group', 'set', 'staff', '--members', `group:eng,${C}`, '--json']),
        () => run(['category', 'set', 'Engineering', '--denied-members', `+${D}`, '--json']),
        () => run(['endpoint', 'get', '--json']),
        () => run(['endpoint', 'remove', '--sip-address', EP]),
      ]);
      const staff = json(staffR as Result, 'group set staff');
      const eng = json(engR as Result, 'category set');
      assert.deepEqual(json(epList as Result, 'endpoint list after remove'), []);
      failed(epAgain as Result, 1, 'ENDPOINT_NOT_FOUND', /^sipAddress:/, 'endpoint removed twice');
      assert.deepEqual(staff?.members, ['group:eng', C]);
      assert.deepEqual(eng?.deniedMembers, [D]);
      assert.deepEqual(eng?.creators, [A]);
      assert.deepEqual(eng?.allowedMembers, ['group:staff', 'ou:Contoso/Eng']);

      const [general, townHall, secret] = await all([
        () =>
          run([
            'room',
            'new',
            'General',
            '--category',
            'Engineering',
            '--privacy',
            'open',
            '--description',
            'General chat for engineering',
            '--members',
            'group:eng',
            '--managers',
            A,
            '--json',
          ]),
        () =>
          run([
            'room',
            'new',
            '--name',
            'Town Hall',
            '--category',
            'Engineering',
            '--type',
            'auditorium',
            '--members',
            'group:staff',
            '--presenters',
            A,
            '--managers',
            B,
            '--json',
          ]),
        () =>
          run([
            'room',
            'new',
            'Secret Plans',
            '--category',
            'Engineering',
            '--privacy',
            'secret',
            '--addin',
            'Wiki',
            '--disabled',
            '--invitations',
            'false',
            '--members',
            A,
            '--managers',
            A,
            '--json',
          ]),
      ]).then((rs) => rs.map((r, i) => json(r, `room new ${i}`)));
      assert.equal(general?.privacy, 'open');
      assert.deepEqual(general?.members, ['group:eng']);
      assert.equal(townHall?.type, 'auditorium');
      assert.deepEqual(townHall?.presenters, [A]);
      assert.equal(secret?.disabled, true);
      assert.equal(secret?.addin, 'Wiki');
      assert.equal(secret?.invitations, 'false');

      // +/- modifiers, then a full replacement; a presenter added by modifier.
      const [modified, presented] = await all([
        () => run(['room', 'set', 'General', '--members', `+${C},-group:eng`, '--json']),
        () => run(['room', 'set', '--identity', 'Town Hall', '--presenters', `+${B}`, '--json']),
      ]).then((rs) => rs.map((r, i) => json(r, `room set ${i}`)));
      assert.deepEqual(modified?.members, [C]);
      assert.deepEqual(presented?.presenters, [A, B]);
      const replaced = json(
        await run(['room', 'set', 'General', '--members', `group:eng,${C}`, '--json']),
        'room set replace',
      );
      assert.deepEqual(replaced.members, ['group:eng', C]);

      // Room filters, principal expansion, reads of everything else.
      // Each query runs with --json unless it checks the human output.
      const queries: [string[], (r: Result) => void][] = [
        [['room', 'get', '--filter', 'engineering'], (r) => assert.deepEqual(names(json(r, 'filter')), [])],
        [
          ['room', 'get', '--filter', 'engineering', '--search-description'],
          (r) => assert.deepEqual(names(json(r, 'search-description')), ['General']),
        ],
        [['room', 'get', '--member', C], (r) => assert.deepEqual(names(json(r, 'member')), ['General', 'Town Hall'])],
        [
          ['room', 'get', '--manager', A],
          (r) => assert.deepEqual(names(json(r, 'manager')), ['General', 'Secret Plans']),
        ],
        [['room', 'get', '--category', 'Engineering'], (r) => assert.equal(json<unknown[]>(r, 'category').length, 3)],
        [['room', 'get', '--addin', 'Wiki'], (r) => assert.deepEqual(names(json(r, 'addin')), ['Secret Plans'])],
        [['room', 'get', '--disabled'], (r) => assert.deepEqual(names(json(r, 'disabled')), ['Secret Plans'])],
        [['room', 'get', '--privacy', 'secret'], (r) => assert.deepEqual(names(json(r, 'privacy')), ['Secret Plans'])],
        [['room', 'get', '--type', 'auditorium'], (r) => assert.deepEqual(names(json(r, 'type')), ['Town Hall'])],
        [
          ['room', 'get', '--invitations', 'inherit'],
          (r) => assert.deepEqual(names(json(r, 'invitations')), ['General', 'Town Hall']),
        ],
        [['room', 'get', '--result-size', '1'], (r) => assert.equal(json<unknown[]>(r, 'result-size').length, 1)],
        [
          ['room', 'get'],
          (r) => {
            ok(r, 'room list');
            assert.match(r.stdout, /^NAME\s+CATEGORY\s+PRIVACY\s+TYPE/m);
            assert.match(r.stdout, /^Town Hall\s+Engineering\s+closed\s+auditorium/m);
          },
        ],
        [
          ['room', 'get', 'General'],
          (r) => {
            ok(r, 'room show');
            assert.match(r.stdout, /^name:\s+General$/m);
            assert.match(r.stdout, /^category:\s+Engineering$/m);
            assert.match(r.stdout, /^members:\s+group:eng, sip:carol@contoso\.com$/m);
            // every value starts in the same column
            const starts = new Set(
              r.stdout
                .trimEnd()
                .split('\n')
                .map((l) => l.search(/(?<=:\s+)\S/)),
            );
            assert.equal(starts.size, 1, r.stdout);
          },
        ],
        [
          ['principal', 'eligible', '--category', 'Engineering'],
          // staff (alice, bob, carol) + OU Contoso/Eng and below (alice, bob, dave, gina) − denied dave
          (r) => assert.deepEqual(uris(json(r, 'eligible category')), [A, B, C, G]),
        ],
        [
          ['principal', 'eligible', '--category', 'Sales'],
          // carol and erin are in the OU, but the policy granted to erin disables chat
          (r) => assert.deepEqual(uris(json(r, 'eligible Sales')), [C]),
        ],
        [
          ['principal', 'eligible', '--room', 'Secret Plans', '--presenters'],
          (r) => assert.deepEqual(uris(json(r, 'eligible presenters')), [A]),
        ],
        [
          ['config', 'get'],
          (r) => {
            const c = json(r, 'config get');
            assert.equal(c.defaultChatHistory, 50);
            assert.equal(c.searchLimit, 500);
            assert.equal(c.maxFileSizeKB, 20000);
            assert.equal(c.roomManagementUrl, 'https://chat.contoso.com/rooms');
          },
        ],
        [
          ['policy', 'get'],
          (r) => {
            const ps = json<{ identity: string; enablePersistentChat: boolean }[]>(r, 'policy get');
            assert.deepEqual(ps.map((p) => [p.identity, p.enablePersistentChat]).sort(), [
              ['global', true],
              ['tag:chat', true],
              ['tag:nochat', false],
            ]);
          },
        ],
        [
          ['addin', 'get'],
          (r) => assert.deepEqual(json(r, 'addins'), [{ name: 'Wiki', url: 'https://wiki.contoso.com/chat' }]),
        ],
      ];
      const human = (args: string[]) => ['room get', 'room get General'].includes(args.join(' '));
      const results = await all(
        queries.map(
          ([args]) =>
            () =>
              run(human(args) ? args : [...args, '--json']),
        ),
      );
      for (const [i, [, check]] of queries.entries()) check(results[i] as Result);
    });

    test('passwords arrive by flag, environment and stdin; set ignores PCHAT_PASSWORD; removals work', async () => {
      const [renamed, removedRoom, removedCategory, removedPolicy] = await all([
        () =>
          run(['user', 'set', A, '--display-name', 'Alice A', '--json'], {
            env: { PCHAT_PASSWORD: 'not-her-password' },
          }),
        () => run(['room', 'remove', 'Secret Plans', '--json']),
        () => run(['category', 'remove', 'Sales']),
        () => run(['policy', 'remove', 'tag:nochat']),
      ]);
      assert.equal(json(renamed as Result, 'user set').displayName, 'Alice A');
      assert.deepEqual(json(removedRoom as Result, 'room remove').removed, 'Secret Plans');
      assert.match(ok(removedCategory as Result, 'category remove').stdout, /^Removed category Sales\.$/m);
      ok(removedPolicy as Result, 'policy remove');
      // The add-in goes once no room uses it any more.
      ok(await run(['addin', 'remove', 'Wiki']), 'addin remove');

      // What is left is read from the store itself: these reads are not what this test is about.
      const s = await openStore({ dataDir: dir });
      try {
        assert.deepEqual(names(await s.rooms.list()), ['General', 'Town Hall']);
        assert.deepEqual(names(await s.categories.list()), ['Engineering']);
        assert.deepEqual(
          (await s.policies.list()).map((p) => p.identity).sort(),
          ['global', 'tag:chat'],
          'policy remove',
        );
        assert.deepEqual(await s.addins.list(), [], 'addin remove');
        assert.equal((await s.users.get(E))?.policy, null, 'removing a tag policy drops its grants');
        assert.ok(await verifyPassword(await s.users.getPasswordHash(A), 'alice-secret-1'), 'alice: --password');
        assert.ok(await verifyPassword(await s.users.getPasswordHash(B), 'bob-secret-12'), 'bob: PCHAT_PASSWORD');
        assert.ok(await verifyPassword(await s.users.getPasswordHash(C), 'carol-pw-123'), 'carol: --password-stdin');
        assert.equal(await s.users.getPasswordHash(D), undefined, 'dave has no password');
      } finally {
        await s.close();
      }
    });
  });
});
