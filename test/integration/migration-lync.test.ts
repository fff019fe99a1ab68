// pchat migrate lync on the sample legacy inputs (test/fixtures/lync): --what-if changes nothing, a real run
// gives the rooms, membership, categories and content the rules of inventory §6 say, and a second run adds
// nothing. On SQLite and PostgreSQL; one case runs the real CLI.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdminService } from '../../src/admin/admin-service.js';
import { FileStore } from '../../src/files/file-store.js';
import { exportArchive } from '../../src/migration/archive-writer.js';
import { type LyncFiles, migrateLync } from '../../src/migration/lync-migrate.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/port.js';
import { pchatOn } from '../support/cli.js';
import { type PgSchema, pgSchema } from '../support/pg.js';
import { type Engine, engineUnavailable } from '../support/spec-engines.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIX = join(ROOT, 'test/fixtures/lync');
const FILES: LyncFiles = {
  rooms: join(FIX, 'rooms.csv'),
  categories: join(FIX, 'categories.csv'),
  addins: join(FIX, 'addins.csv'),
  endpoints: join(FIX, 'endpoints.csv'),
  compliance: join(FIX, 'compliance'),
};
const dir = mkdtempSync(join(tmpdir(), 'pchat-lync-'));
const opened: Store[] = [];
const schemas: PgSchema[] = [];
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
  for (const s of schemas) await s.drop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** The target pool's directory before the migration, as an administrator sets it up (from AD). */
export async function seedDirectory(store: Store): Promise<void> {
  const admin = new AdminService(store, { realm: 'contoso.com', domain: 'contoso.com', pool: 'contoso.com' });
  await admin.addUser('sip:alice@contoso.com', {
    displayName: 'Alice Smith',
    ou: 'Contoso/Engineering',
    password: 'pw-alice-1',
  });
  await admin.addUser('sip:bob@contoso.com', {
    displayName: 'Bob Jones',
    ou: 'Contoso/Engineering',
    password: 'pw-bob-1',
  });
  await admin.addUser('sip:carol@contoso.com', { displayName: 'Carol Lee', ou: 'Contoso/Sales' });
  await admin.addGroup('Engineering Team', { members: { replace: ['sip:alice@contoso.com', 'sip:bob@contoso.com'] } });
}

async function snapshot(store: Store, name: string): Promise<string> {
  const f = join(dir, `${name}.jsonl`);
  await exportArchive(store, new FileStore(join(dir, 'nofiles')), f, { level: 'all' });
  return readFileSync(f, 'utf8');
}

const texts = async (store: Store, roomId: string) => (await store.messages.before(roomId, 100)).map((m) => m.text);

// undefined only for an unreachable PostgreSQL: a SQLite store that does not open fails its case
const ENGINES: [Engine, (n: string) => Promise<Store | undefined>][] = [
  ['sqlite', async (n) => openStore({ dataDir: join(dir, n) })],
  [
    'postgres',
    async (n) => {
      const s = await pgSchema(`migration-lync ${n}`);
      if (!s) return undefined;
      schemas.push(s);
      return openStore({ db: s.url, dataDir: join(dir, n) });
    },
  ],
];

for (const [engine, open] of ENGINES) {
  describe(`pchat migrate lync on ${engine}`, () => {
    test('--what-if reports and changes nothing; the real run follows the rules; a second run adds nothing', async (t) => {
      const store = await open(`m-${engine}`);
      if (!store) return engineUnavailable(t, engine);
      opened.push(store);
      await seedDirectory(store);
      const before = await snapshot(store, `before-${engine}`);
      const preview = await migrateLync(store, FILES, { whatIf: true });
      assert.equal(await snapshot(store, `after-whatif-${engine}`), before, 'what-if changed nothing');
      assert.equal(preview.whatIf, true);
      assert.deepEqual(preview.categories, ['Contoso Chat', 'Engineering', 'Engineering - Tools', 'Sales']);
      assert.deepEqual(preview.rooms, ['General', 'Build Breaks', 'Town Hall', 'Deals', 'Sales - Sales']);
      assert.deepEqual(preview.unmapped.map((u) => u.name).sort(), [
        'CN=Mallory Contractor,OU=Contractors,DC=contoso,DC=com',
        'CN=Nobody Here,OU=Sales,OU=Contoso,DC=contoso,DC=com',
      ]);
      assert.ok(
        preview.unmapped.every((u) => u.file && u.line),
        'each unmapped principal names its file and line',
      );
      assert.deepEqual(preview.errors, []);
      assert.deepEqual(preview.content.messages, { General: 6, 'Build Breaks': 2, Deals: 2 });

      const report = await migrateLync(store, FILES);
      assert.equal(report.whatIf, false);
      assert.deepEqual(report.content.messages, preview.content.messages);
      assert.deepEqual(report.content.unknownChannels, ['Old Room']);
      assert.deepEqual(report.content.notImported, { JOIN: 2, BACKCHAT: 1, FILEDOWNLOAD: 1, PART: 1 });
      assert.deepEqual(report.usersCreated.sort(), ['sip:dan@contoso.com', 'sip:erin@fabrikam.com']);

      // Categories: flattened, inherited scope, invitations and uploads kept.
      const cats = new Map((await store.categories.list()).map((c) => [c.name, c]));
      assert.deepEqual([...cats.keys()].sort(), ['Contoso Chat', 'Engineering', 'Engineering - Tools', 'Sales']);
      const tools = cats.get('Engineering - Tools');
      assert.deepEqual(tools?.allowedMembers, ['ou:Contoso/Engineering', 'sip:erin@fabrikam.com']);
      assert.equal(tools?.invitations, false);
      assert.equal(tools?.fileUpload, false);
      assert.deepEqual(cats.get('Sales')?.allowedMembers, ['domain:contoso.com']);
      assert.deepEqual(cats.get('Sales')?.deniedMembers, []);
      assert.deepEqual(cats.get('Sales')?.creators, ['sip:carol@contoso.com', 'sip:bob@contoso.com']);

      // Rooms: ids from the legacy URIs, root managers everywhere, invitations forced off, renames.
      const general = await store.rooms.getByName('General');
      assert.equal(general?.id, '6d2e7c1a-0b4f-4c3e-9a57-1f0e2d3c4b5a');
      assert.equal(general?.privacy, 'open');
      assert.equal(general?.addin, 'Wiki');
      assert.deepEqual(general?.managers, ['sip:bob@contoso.com', 'sip:alice@contoso.com']);
      const bb = await store.rooms.getByName('Build Breaks');
      assert.equal(bb?.id, '8f9e0d1c-2b3a-4c5d-8e7f-6a5b4c3d2e1f', 'id from the compliance channel URI');
      assert.equal(bb?.categoryId, tools?.id);
      assert.equal(bb?.invitations, 'false');
      assert.deepEqual(bb?.members, ['group:engineering team', 'sip:erin@fabrikam.com']);
      assert.equal(bb?.description, 'Red builds, \nmulti-line description');
      const hall = await store.rooms.getByName('Town Hall');
      assert.equal(hall?.type, 'auditorium');
      assert.deepEqual(hall?.members, ['ou:Contoso/Engineering']);
      assert.deepEqual(hall?.presenters, ['sip:alice@contoso.com']);
      const deals = await store.rooms.getByName('Deals');
      assert.equal(deals?.privacy, 'secret');
      assert.deepEqual(deals?.members, ['sip:carol@contoso.com', 'sip:dan@contoso.com']);
      assert.deepEqual(deals?.managers, ['sip:alice@contoso.com']);
      const sales = await store.rooms.getByName('Sales - Sales');
      assert.equal(sales?.disabled, true);
      for (const r of await store.rooms.list()) assert.ok(r.managers.includes('sip:alice@contoso.com'), r.name);

      // Users: the federated one is disabled, the new internal one is not.
      assert.equal((await store.users.get('sip:erin@fabrikam.com'))?.disabled, true);
      assert.equal((await store.users.get('sip:erin@fabrikam.com'))?.displayName, 'Erin Fabrikam');
      assert.equal((await store.users.get('sip:dan@contoso.com'))?.disabled, false);
      assert.deepEqual(
        (await store.endpoints.list()).map((e) => e.sipAddress),
        ['sip:ocschat@contoso.com'],
      );

      // Content, in time order, each message once.
      assert.deepEqual(await texts(store, general?.id ?? ''), [
        'Good morning, build is green',
        '早上好 — 今日のデプロイは10時から',
        '[file] release-notes.docx',
        'Same millisecond as the next one',
        '<b>not markup</b> & "quotes"',
        'Second day in General',
      ]);
      const hist = await store.messages.before(general?.id ?? '', 100);
      assert.equal(hist[1]?.author, 'sip:bob@contoso.com');
      assert.equal(hist[0]?.ts, Date.UTC(2025, 0, 10, 9, 0, 5));
      assert.equal(hist[4]?.ts, Date.UTC(2025, 0, 10, 9, 4, 0), 'a time given only as .NET ticks');
      assert.deepEqual(await texts(store, bb?.id ?? ''), ['Nightly build failed on arm64', 'Looking into it']);
      assert.deepEqual(await texts(store, deals?.id ?? ''), ['안녕하세요, the Q1 deal closed 🎉', 'Great news']);
      const found = await store.messages.search({ roomIds: [general?.id ?? ''], text: '今日のデプロイ', limit: 5 });
      assert.equal(found.messages.length, 1, 'migrated content is searchable');

      const once = await snapshot(store, `after-${engine}`);
      const again = await migrateLync(store, FILES);
      assert.equal(again.content.filesAlreadyImported, 2);
      assert.deepEqual(again.usersCreated, []);
      assert.equal(await texts(store, general?.id ?? '').then((x) => x.length), 6, 'no message twice');
      assert.equal(
        (await snapshot(store, `again-${engine}`)).replace(/"createdAt":\d+/g, ''),
        once.replace(/"createdAt":\d+/g, ''),
      );
    });

    test('bad legacy input is refused before anything changes', async (t) => {
      const store = await open(`bad-${engine}`);
      if (!store) return engineUnavailable(t, engine);
      opened.push(store);
      const before = await snapshot(store, `bad-before-${engine}`);
      const { writeFileSync, mkdirSync } = await import('node:fs');
      const bad = join(dir, `bad-${engine}`);
      mkdirSync(join(bad, 'xml'), { recursive: true });
      writeFileSync(
        join(bad, 'typename.csv'),
        '"Name","Category","Members"\r\n"R","Engineering","System.Collections.Generic.List`1[System.String]"\r\n',
      );
      writeFileSync(join(bad, 'privacy.csv'), '"Name","Category","Privacy"\r\n"R","Engineering","Hidden"\r\n');
      writeFileSync(join(bad, 'xml', 'broken.xml'), '<Conversations><Conversation>');
      const cases: [Partial<LyncFiles>, RegExp][] = [
        [{ rooms: join(bad, 'typename.csv') }, /typename\.csv: line 2: Members holds the type name/],
        [{ rooms: join(bad, 'privacy.csv') }, /line 2: Privacy: "hidden" is not one of open, closed, secret/],
        [{ compliance: join(bad, 'xml') }, /broken\.xml/],
        [{ rooms: join(bad, 'missing.csv') }, /missing\.csv: cannot be read/],
        [{ rooms: join(FIX, 'categories.csv') }, /Category is empty/],
      ];
      for (const [over, re] of cases)
        await assert.rejects(migrateLync(store, { ...FILES, ...over }), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'LEGACY_INPUT_INVALID', e.message);
          assert.match(e.message, re);
          return true;
        });
      assert.equal(await snapshot(store, `bad-after-${engine}`), before);
    });
  });
}

test('a migration that stopped inside a compliance file resumes after the last committed event', async () => {
  const { createHash } = await import('node:crypto');
  const store = await openStore({ dataDir: join(dir, 'resume') });
  opened.push(store);
  await seedDirectory(store);
  // As a crash leaves it: the first file's first three events (a join and two chat messages) are committed.
  const first = readFileSync(join(FIX, 'compliance', '20250110T0915.xml'));
  const key = `lync-xml:${createHash('sha256').update(first).digest('hex')}`;
  await store.archive.setProgress(key, { line: 3, state: 'running' });
  await migrateLync(store, FILES);
  const general = await store.rooms.getByName('General');
  assert.deepEqual(await texts(store, general?.id ?? ''), [
    '[file] release-notes.docx',
    'Same millisecond as the next one',
    '<b>not markup</b> & "quotes"',
    'Second day in General',
  ]);
  assert.deepEqual(await store.archive.getProgress(key), { line: 12, state: 'done' });
});

test('the CLI: pchat migrate lync --what-if --json on a data directory', async () => {
  const data = join(dir, 'cli');
  const s = await openStore({ dataDir: data });
  await seedDirectory(s);
  await s.close();
  const run = pchatOn(['--data', data]);
  const args = [
    'migrate',
    'lync',
    '--rooms',
    FILES.rooms,
    '--categories',
    FILES.categories,
    '--compliance',
    FILES.compliance as string,
  ];
  const r = await run([...args, '--what-if', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { whatIf: boolean; rooms: string[] };
  assert.equal(report.whatIf, true);
  assert.equal(report.rooms.length, 5);
  const usage = await run(['migrate', 'lync', '--rooms', FILES.rooms]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--categories is required/);
  const real = await run([...args, '--report']);
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /Migrated:/);
  assert.match(real.stdout, /Unmapped principals:/);
  const exp = await run(['export', '--file', join(dir, 'cli.jsonl.gz'), '--level', 'content']);
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(exp.stdout, /message: 10/);
  const imp = await run(['import', '--file', join(dir, 'cli.jsonl.gz'), '--what-if']);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /What if .* were imported \(nothing was changed\)/);
  assert.match(imp.stdout, /5 conflicts/);
  const bad = await run(['import', '--file', join(dir, 'nope.jsonl')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /does not exist/);
});
