// The web client against a server on PostgreSQL: live chat, the large-room state, a file and a search
// through the browser (the store-facing paths the SQLite suite covers, on the pool's engine).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type PgSchema, pgSchema } from '../support/pg.js';
import { missing, open, post, SHOTS, signIn, startWeb, type Web } from './support/harness.js';

const skip = missing();
if (skip) console.log(`# SKIPPED web client suite on PostgreSQL: ${skip}`);

describe('web client on PostgreSQL', { skip: skip !== undefined, timeout: 180_000 }, () => {
  let web: Web | undefined;
  let schema: PgSchema | undefined;

  before(async () => {
    schema = await pgSchema('web client on PostgreSQL');
    // a participant limit of 1 makes a room of two a large room
    if (schema) web = await startWeb({ db: schema.url, config: { participantUpdateLimit: 1 } });
  });
  after(async () => {
    await web?.stop();
    await schema?.drop();
  });

  test('two users chat live, a file round-trips, a search opens the room at the message', async (t) => {
    if (!web) return t.skip('PostgreSQL not reachable');
    const w = web;
    const a = await w.page();
    const b = await w.page();
    await signIn(a, 'alice');
    await signIn(b, 'bob');
    // bob is in the room first (his composer shows once his join is answered) and opens the participant list;
    // alice's join then takes the room past the limit, and bob's list gives way to the large-room notice
    await open(b, `#/room/${w.seed.general}`);
    await b.locator('#composer-text').waitFor();
    await b.locator('.room-actions button[aria-controls=side-pane]').first().click();
    await b.locator('#side-pane .people').waitFor();
    await open(a, `#/room/${w.seed.general}`);
    await a.locator('#composer-text').waitFor();
    await post(a, 'hello over postgres 你好');
    await b.locator('.msg .text', { hasText: 'hello over postgres 你好' }).waitFor();
    // a large room shows no participant list, only the count
    await b.locator('#side-pane p').waitFor();
    assert.match((await b.locator('#side-pane p').textContent()) ?? '', /large room \(2 participants\)/);
    assert.equal(await b.locator('#side-pane .people').count(), 0);

    const bytes = randomBytes(256 * 1024);
    const src = join(SHOTS, 'pg-upload.bin');
    writeFileSync(src, bytes);
    await a.locator('#composer-file').setInputFiles(src);
    await a.locator('.upload button').click();
    await a.waitForFunction(
      () => (document.getElementById('upload-progress') as HTMLProgressElement | null)?.value === 100,
    );
    const link = b.locator('.msg-file a[download]', { hasText: 'pg-upload.bin' });
    const [download] = await Promise.all([b.waitForEvent('download'), link.click()]);
    const saved = await download.path();
    assert.ok(Buffer.from(readFileSync(saved)).equals(bytes));

    const bob = await w.api('bob');
    const old = await bob.post(w.seed.general, { text: '归档的持久聊天记录' });
    for (let i = 0; i < 60; i++) await bob.post(w.seed.general, { text: `pg filler ${i}` });
    await open(a, '#/search');
    await a.locator('#search-text').fill('持久聊天');
    await a.locator('#search-form button[type=submit]').click();
    await a.locator('.results li', { hasText: '归档' }).locator('a.open-at').click();
    await a.locator(`.msgrow.focus [data-message-id="${old.id}"]`).waitFor();
  });
});
