// SIGKILL in the middle of `pchat import`: the real CLI process is killed while it imports a room of 30,000
// messages. Afterwards the half-imported room does not exist, and running the same import again finishes it with
// nothing lost and nothing twice (the export of the result equals the archive, byte for byte).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileStore } from '../../src/files/file-store.js';
import { exportArchive } from '../../src/migration/archive-writer.js';
import { openStore } from '../../src/store/open.js';
import { fillStore } from '../support/archive-fixture.js';
import { runPchat } from '../support/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'pchat-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('an import killed with SIGKILL leaves no half room and resumes to the same bytes', {
  timeout: 240_000,
}, async () => {
  const src = await openStore({ dataDir: join(dir, 'src') });
  const srcFiles = new FileStore(join(dir, 'src', 'files'));
  await fillStore(src, srcFiles);
  const room = await src.rooms.getByName('General');
  const many = Array.from({ length: 30_000 }, (_, i) => ({
    roomId: room?.id ?? '',
    author: 'sip:bob@contoso.com',
    ts: Date.UTC(2025, 2, 1) + i,
    kind: 'regular' as const,
    text: `bulk message ${i} 大量`,
    title: null,
    rich: null,
    file: null,
    logged: true,
  }));
  for (let i = 0; i < many.length; i += 5000) await src.messages.append(many.slice(i, i + 5000));
  const archive = join(dir, 'big.jsonl');
  await exportArchive(src, srcFiles, archive, { level: 'all' });
  await src.close();

  const target = join(dir, 'target');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PCHAT_')));
  const importer = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'import', '--file', archive, '--data', target],
    {
      cwd: ROOT,
      env,
      stdio: 'ignore',
    },
  );
  const exited = new Promise<NodeJS.Signals | number | null>((done) =>
    importer.on('exit', (code, sig) => done(sig ?? code)),
  );
  importer.on('error', () => {});
  // Watch the progress from another connection and kill once a transaction inside General's content committed.
  const watch = await openStore({ dataDir: target }).catch(() => undefined);
  let killedAt = 0;
  try {
    const deadline = Date.now() + 180_000;
    let store = watch;
    while (Date.now() < deadline && killedAt === 0) {
      if (importer.exitCode !== null) break;
      store ??= await openStore({ dataDir: target }).catch(() => undefined);
      const progress = store
        ? await store.archive.messagePage(room?.id ?? '', 0, 1).then(async (m) => (m.length > 0 ? 1 : 0))
        : 0;
      if (progress > 0) {
        importer.kill('SIGKILL');
        killedAt = Date.now();
      } else await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(await exited, killedAt > 0 ? 'SIGKILL' : 0);
    assert.ok(
      killedAt > 0,
      'the import was killed while it was writing General (it finished first: make the room bigger)',
    );
    const s = store ?? (await openStore({ dataDir: target }));
    assert.equal(await s.rooms.getByName('General'), undefined, 'the half-imported room does not exist');
    const some = await s.archive.messagePage(room?.id ?? '', 0, 100_000);
    assert.ok(some.length > 0 && some.length < 30_000 + 3, `part of its content is there (${some.length})`);
    await s.close();
  } finally {
    if (importer.exitCode === null) importer.kill('SIGKILL');
  }

  const again = (await runPchat(['import', '--file', archive, '--data', target])).code;
  assert.equal(again, 0);
  const t = await openStore({ dataDir: target });
  const out = join(dir, 'out.jsonl');
  await exportArchive(t, new FileStore(join(target, 'files')), out, { level: 'all' });
  await t.close();
  assert.equal(readFileSync(out, 'utf8'), readFileSync(archive, 'utf8'), 'nothing lost, nothing twice');
});
