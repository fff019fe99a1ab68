// The web client in Debian's Chromium against a real `pchat serve` (SQLite): live chat between two
// browsers, secret rooms, files, search, an administrator's live message removal, room management,
// languages, keyboard use and accessibility.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { seriousViolations } from './support/axe.js';
import { missing, open, post, SHOTS, shot, signIn, startWeb, type Web } from './support/harness.js';

const skip = missing();
if (skip) console.log(`# SKIPPED web client suite: ${skip}`);

async function assertAccessible(page: Page, view: string): Promise<void> {
  const v = await seriousViolations(page);
  assert.deepEqual(v, [], `axe found serious violations on ${view}: ${JSON.stringify(v, null, 1)}`);
}

describe('web client', { skip: skip !== undefined, timeout: 300_000 }, () => {
  let web: Web;

  before(async () => {
    web = await startWeb();
  });
  after(async () => {
    await web?.stop();
  });

  test('two browser users chat live; alerts, stories and links look distinct; unread counts', async () => {
    const alice = await web.api('alice');
    await alice.follow(web.seed.general);
    await alice.follow(web.seed.closed);
    const a = await web.page();
    const b = await web.page();
    await signIn(a, 'alice');
    await signIn(b, 'bob');
    await open(a, `#/room/${web.seed.general}`);
    await open(b, `#/room/${web.seed.general}`);
    await a.locator('#composer-text').waitFor();
    await b.locator('#composer-text').waitFor();

    // both are in the room: each shows up in the other's participant list
    await a.locator('.room-actions button[aria-controls=side-pane]').first().click();
    await a.locator('.people li', { hasText: 'Bob' }).waitFor();

    await post(a, 'hello from alice');
    await b.locator('.msg .text', { hasText: 'hello from alice' }).waitFor();
    assert.equal(await b.locator('.msg', { hasText: 'hello from alice' }).locator('.author').textContent(), 'Alice');
    await post(b, 'hi alice, bob here');
    await a.locator('.msg .text', { hasText: 'bob here' }).waitFor();

    // an alert and a story are marked as such on the other side
    await a.locator('#composer-kind').selectOption('alert');
    await post(a, 'server maintenance at noon');
    await b.locator('.msg-alert .text', { hasText: 'maintenance at noon' }).waitFor();
    await a.locator('#composer-kind').selectOption('story');
    await a.locator('#composer-title').fill('Release plan');
    await a.locator('#composer-text').fill('We ship on Friday.');
    await a.locator('.composer button[type=submit]').click();
    const story = b.locator('.msg-story', { hasText: 'We ship on Friday.' });
    await story.waitFor();
    assert.equal(await story.locator('.story-title').textContent(), 'Release plan');

    // links: a web link opens in a new tab, a ma-chan:// link opens the room here
    await post(a, `docs at https://example.com/guide and ma-chan://pchat.local/${web.seed.closed}`);
    const msg = b.locator('.msg', { hasText: 'docs at' });
    await msg.waitFor();
    assert.equal(await msg.locator('a[href="https://example.com/guide"]').getAttribute('target'), '_blank');
    await msg.locator('a.roomlink').click();
    await b.locator('#room-title', { hasText: 'closed-room' }).waitFor();

    // unread counts of followed rooms: bob follows general, looks elsewhere, alice posts twice
    await open(b, `#/room/${web.seed.general}`);
    await b.locator('.room-actions button', { hasText: 'Follow' }).click();
    await b.locator('#rooms-nav .followed a[data-room=general]').waitFor();
    await open(b, '#/browse');
    await b.locator('#browse-title').waitFor();
    await post(a, 'unread one');
    await post(a, 'unread two');
    await b.locator('#rooms-nav a[data-room=general] .unread', { hasText: '2' }).waitFor();
    await shot(a, 'room-en');
    await assertAccessible(a, 'the room view');
    await b.locator('#rooms-nav a[data-room=general]').click();
    await b.locator('.msg .text', { hasText: 'unread two' }).waitFor();
    await b.locator('#rooms-nav a[data-room=general] .unread').waitFor({ state: 'detached' });
  });

  test('a CJK input method can press Enter mid-composition without sending', async () => {
    const a = await web.page();
    await signIn(a, 'alice');
    await open(a, `#/room/${web.seed.general}`);
    const box = a.locator('#composer-text');
    await box.fill('持久聊天');
    await box.dispatchEvent('compositionstart');
    await box.press('Enter');
    await box.dispatchEvent('compositionend');
    // the Enter that confirmed a candidate sent nothing
    const api = await web.api('alice');
    const last = (await api.history(web.seed.general, { limit: 1 }))[0];
    assert.notEqual(last?.text, '持久聊天');
    assert.ok((await box.inputValue()).includes('持久聊天'));
    await box.fill('持久聊天');
    await box.press('Enter');
    await a.locator('.msg .text', { hasText: '持久聊天' }).first().waitFor();
    assert.equal(await box.inputValue(), '');
  });

  test('a third user cannot see the secret room, and cannot tell it from a missing one', async () => {
    const c = await web.page();
    await signIn(c, 'carol');
    await open(c, '#/browse');
    await c.locator('.rooms li[data-room=general]').waitFor();
    assert.equal(await c.locator('.rooms li[data-room=secret-room]').count(), 0);
    await open(c, `#/room/${web.seed.secret}`);
    const secretText = await c.locator('.room .error, .page .error').first().textContent();
    await open(c, '#/room/no-such-room-id');
    await c.locator('#room-error').waitFor();
    const missingText = await c.locator('.page .error').first().textContent();
    assert.equal(secretText, missingText);
    // bob, a member, sees it
    const b = await web.page();
    await signIn(b, 'bob');
    await open(b, '#/browse');
    await b.locator('.rooms li[data-room=secret-room]').waitFor();
  });

  test('a file round-trips with its progress shown', async () => {
    const a = await web.page();
    const b = await web.page();
    await signIn(a, 'alice');
    await signIn(b, 'bob');
    await open(a, `#/room/${web.seed.general}`);
    await open(b, `#/room/${web.seed.general}`);
    const bytes = randomBytes(3 * 1024 * 1024);
    const src = join(SHOTS, 'upload-测试.bin');
    writeFileSync(src, bytes);
    await a.locator('#composer-file').setInputFiles(src);
    await a.locator('.upload button').click();
    const bar = a.locator('#upload-progress');
    await bar.waitFor();
    await a.waitForFunction(
      () => (document.getElementById('upload-progress') as HTMLProgressElement | null)?.value === 100,
    );
    const link = b.locator('.msg-file a[download]', { hasText: 'upload-测试.bin' });
    await link.waitFor();
    const [download] = await Promise.all([b.waitForEvent('download'), link.click()]);
    const saved = await download.path();
    assert.ok(saved);
    assert.ok(Buffer.from(readFileSync(saved)).equals(bytes), 'the downloaded file differs from the uploaded one');
    assert.equal(download.suggestedFilename(), 'upload-测试.bin');
  });

  test('a search finds an old message and opens it in its room', async () => {
    const bob = await web.api('bob');
    const old = await bob.post(web.seed.general, { text: 'quarterly 持久聊天架构 review notes' });
    for (let i = 0; i < 120; i++) await bob.post(web.seed.general, { text: `filler message ${i}` });
    const a = await web.page();
    await signIn(a, 'alice');
    await open(a, '#/search');
    await a.locator('#search-text').fill('持久聊天架构');
    await a.locator('#search-authors').fill('bob@pchat.local');
    await a.locator('#search-form button[type=submit]').click();
    const hit = a.locator('.results li', { hasText: 'quarterly' });
    await hit.waitFor();
    await shot(a, 'search-en');
    await assertAccessible(a, 'search results');
    await hit.locator('a.open-at').click();
    await a.locator('#room-title', { hasText: 'general' }).waitFor();
    const row = a.locator(`.msgrow.focus [data-message-id="${old.id}"]`);
    await row.waitFor();
    assert.ok(await row.isVisible());
    // scrolling down from there reaches the newest messages by id pages
    for (let i = 0; i < 40; i++) {
      if ((await a.locator('.msg .text', { hasText: 'filler message 119' }).count()) > 0) break;
      await a.locator('.msglist').evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      await a.waitForTimeout(150);
    }
    await a.locator('.msg .text', { hasText: 'filler message 119' }).waitFor();
    assert.equal(await a.locator('.jump-newest').count(), 0, 'caught up with the newest: no jump button');
  });

  test('history scrolls back by id pages while the DOM holds only the rows in view', async () => {
    const a = await web.page();
    await signIn(a, 'alice');
    await open(a, `#/room/${web.seed.general}`);
    await a.locator('.msg .text', { hasText: 'filler message 119' }).waitFor();
    for (let i = 0; i < 40; i++) {
      if ((await a.locator('.msg .text', { hasText: 'hello from alice' }).count()) > 0) break;
      await a.locator('.msglist').evaluate((el) => {
        el.scrollTop = 0;
      });
      await a.waitForTimeout(150);
    }
    await a.locator('.msg .text', { hasText: 'hello from alice' }).waitFor();
    const rows = await a.locator('.msgrow').count();
    assert.ok(rows < 80, `the list keeps ${rows} rows in the DOM for 130+ messages`);
  });

  test('a category creator creates a room that a member then joins; refusals show at their field', async () => {
    const d = await web.page();
    await signIn(d, 'dave');
    // the page a RoomManagementUrl points at: /manage on the server (the session resumes from its token)
    await d.goto(`${web.base}/manage`);
    await d.locator('.conn[data-state=open]').waitFor();
    await d.locator('#manage-title').waitFor();
    await d.locator('#room-name').fill('general');
    await d.locator('#room-category').fill('Engineering');
    await d.locator('form.manage button[type=submit]').click();
    await d.locator('#room-name-error').waitFor();
    assert.match((await d.locator('#room-name-error').textContent()) ?? '', /already exists/);
    await d.locator('#room-name').fill('launch-planning');
    await d.locator('#room-description').fill('Where the launch is planned');
    await d.locator('input[name=privacy][value=closed]').check();
    await d.locator('#room-members').fill('sip:carol@pchat.local, sip:dave@pchat.local');
    await assertAccessible(d, 'room management');
    await shot(d, 'manage-en');
    await d.locator('form.manage button[type=submit]').click();
    await d.locator('#room-title', { hasText: 'launch-planning' }).waitFor();

    const c = await web.page();
    await signIn(c, 'carol');
    await open(c, '#/browse');
    await c.locator('#browse-q').fill('launch');
    await c.locator('#browse-form button[type=submit]').click();
    await c.locator('.rooms li[data-room=launch-planning] a.room-link').click();
    await c.locator('#room-title', { hasText: 'launch-planning' }).waitFor();
    await post(c, 'carol joined the launch');
    await d.locator('.msg .text', { hasText: 'carol joined the launch' }).waitFor();
    // carol manages nothing: no management link, and the page itself refuses her without a form
    assert.equal(await c.locator('.room-actions a[href^="#/manage"]').count(), 0);
    const roomId = new URL(d.url()).hash.split('/')[2] as string;
    await open(c, `#/manage/${roomId}`);
    await c.locator('#manage-title + .error').waitFor();
    assert.equal(await c.locator('form.manage').count(), 0);
    // dave, its manager, edits it: the change reaches carol's open room view live
    await open(c, `#/room/${roomId}`);
    await c.locator('#room-title', { hasText: 'launch-planning' }).waitFor();
    await d.locator('.room-actions a[href^="#/manage"]').click();
    await d.locator('#room-description').fill('Launch moved to March');
    await d.locator('#room-membersAdd, #room-members').first().fill('sip:bob@pchat.local');
    await d.locator('form.manage button[type=submit]').click();
    await d.locator('form.manage .ok').waitFor();
    await c.locator('.room-desc', { hasText: 'Launch moved to March' }).waitFor();
  });

  test("a room's add-in opens in a sandboxed side pane with the room's context", async () => {
    const alice = await web.api('alice');
    await alice.admin.newAddin({ name: 'board', url: 'http://127.0.0.1:9/board' });
    const room = await alice.admin.newRoom({
      name: 'with-addin',
      category: web.seed.category,
      privacy: 'open',
      addin: 'board',
    });
    const b = await web.page();
    await signIn(b, 'bob');
    await open(b, `#/room/${room.id}`);
    await b.locator('.room-actions button[aria-controls=side-pane]').nth(1).click();
    const frame = b.locator('#side-pane iframe.addin');
    await frame.waitFor({ state: 'attached' });
    assert.equal(await frame.getAttribute('sandbox'), 'allow-scripts allow-forms allow-popups');
    const src = new URL((await frame.getAttribute('src')) ?? '');
    assert.equal(src.origin + src.pathname, 'http://127.0.0.1:9/board');
    assert.equal(src.searchParams.get('roomUri'), `ma-chan://pchat.local/${room.id}`);
    assert.equal(src.searchParams.get('user'), 'sip:bob@pchat.local');
  });

  test('topic feeds: a filter made in the browser alerts live', async () => {
    const a = await web.page();
    await signIn(a, 'alice');
    await open(a, '#/feeds/new');
    await a.locator('#feed-name').fill('Deployments');
    await a.locator('#feed-keywords').fill('deploy');
    await a.locator('form.grid-form button[type=submit]').click();
    await a.locator('.cards a', { hasText: 'Deployments' }).waitFor();
    const bob = await web.api('bob');
    await bob.post(web.seed.general, { text: 'we deploy the new build tonight' });
    await a.locator('.alerts li', { hasText: 'deploy the new build' }).waitFor();
    await a.locator('#rooms-nav a[href="#/feeds"] .badge').waitFor();
    await assertAccessible(a, 'feeds');
  });

  test('the interface follows the browser: Simplified Chinese for zh-CN, Traditional for zh-TW', async () => {
    const cn = await web.page({ locale: 'zh-CN' });
    assert.equal(await cn.locator('form button[type=submit]').textContent(), '登录');
    assert.equal(await cn.locator('html').getAttribute('lang'), 'zh-CN');
    await signIn(cn, 'alice');
    assert.equal(await cn.locator('#rooms-nav a[href="#/search"]').textContent(), '搜索');
    // a room with Chinese content, for the screenshot of the README's tour
    const alice = await web.api('alice');
    const bob = await web.api('bob');
    const room = await alice.admin.newRoom({
      name: '发布计划',
      category: web.seed.category,
      privacy: 'open',
      description: '版本发布的讨论',
    });
    await alice.follow(room.id);
    await bob.post(room.id, { text: '大家好，下周五发布 2.0 版本。' });
    await alice.post(room.id, { kind: 'alert', text: '周四晚上 22:00 冻结代码' });
    await bob.post(room.id, { kind: 'story', title: '发布说明', text: '新增网页客户端、主题源和跨聊天室搜索。' });
    await alice.post(room.id, {
      text: `测试计划见 https://example.com/plan 和 ma-chan://pchat.local/${web.seed.closed}`,
    });
    await open(cn, `#/room/${room.id}`);
    await cn.locator('#composer-text').waitFor();
    assert.equal(await cn.locator('.composer button[type=submit]').textContent(), '发送');
    await cn.locator('.msg-story .story-title', { hasText: '发布说明' }).waitFor();
    await cn.locator('.room-actions button[aria-controls=side-pane]').first().click();
    await cn.locator('.people li').first().waitFor();
    await shot(cn, 'room-zh-CN');

    const tw = await web.page({ locale: 'zh-TW' });
    assert.equal(await tw.locator('form button[type=submit]').textContent(), '登入');
    await signIn(tw, 'bob');
    assert.equal(await tw.locator('#rooms-nav a[href="#/search"]').textContent(), '搜尋');
    await open(tw, `#/room/${web.seed.general}`);
    assert.equal(await tw.locator('.composer button[type=submit]').textContent(), '傳送');
    await shot(tw, 'room-zh-TW');

    // the user can switch, and the choice sticks
    await tw.locator('.locale select').selectOption('en');
    assert.equal(await tw.locator('.composer button[type=submit]').textContent(), 'Send');
    await tw.reload();
    await tw.locator('.conn[data-state=open]').waitFor();
    assert.equal(await tw.locator('#rooms-nav a[href="#/search"]').textContent(), 'Search');
  });

  test('the keyboard alone can sign in, open a room and post', async () => {
    const p = await web.page();
    await shot(p, 'signin-en');
    await assertAccessible(p, 'the sign-in page');
    const tabTo = async (selector: string, max = 60) => {
      for (let i = 0; i < max; i++) {
        await p.keyboard.press('Tab');
        if (await p.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    await tabTo('#signin-user');
    await p.keyboard.type('sip:bob@pchat.local');
    await p.keyboard.press('Tab');
    await p.keyboard.type('password123');
    await p.keyboard.press('Enter');
    await p.locator('.conn[data-state=open]').waitFor();
    await tabTo('#rooms-nav a[data-room=general]');
    await p.keyboard.press('Enter');
    await p.locator('#room-title', { hasText: 'general' }).waitFor();
    await tabTo('#composer-text');
    await p.keyboard.type('typed without a mouse');
    await p.keyboard.press('Enter');
    await p.locator('.msg .text', { hasText: 'typed without a mouse' }).waitFor();
  });

  test('main views pass axe on a narrow phone screen too', async () => {
    const p = await web.page({ viewport: { width: 390, height: 780 } });
    await signIn(p, 'bob');
    await open(p, `#/room/${web.seed.general}`);
    await p.locator('#composer-text').waitFor();
    await assertAccessible(p, 'the room view on a phone');
    await shot(p, 'room-phone');
    await p.locator('.nav-toggle').click();
    await p.locator('#rooms-nav.open').waitFor();
    await open(p, '#/browse');
    await p.locator('.rooms li').first().waitFor();
    await assertAccessible(p, 'browse on a phone');
  });

  test('an administrator removes one message and replaces another: the other user sees both live', async () => {
    const alice = await web.api('alice');
    const room = await alice.admin.newRoom({ name: 'moderated', category: web.seed.category, privacy: 'open' });
    const b = await web.page();
    const c = await web.page();
    await signIn(b, 'bob');
    await signIn(c, 'carol');
    await open(b, `#/room/${room.id}`);
    await open(c, `#/room/${room.id}`);
    await b.locator('#composer-text').waitFor();
    await c.locator('#composer-text').waitFor();
    await post(b, 'this one stays');
    await post(b, 'the vault code is 7731-zebra');
    await b.locator('#composer-kind').selectOption('alert');
    await post(b, 'carol is a walrus-faced clown');
    for (const text of ['this one stays', '7731-zebra', 'walrus-faced clown'])
      await c.locator('.msg .text', { hasText: text }).waitFor();
    const idOf = async (text: string) =>
      Number(await c.locator('.msg', { hasText: text }).getAttribute('data-message-id'));
    const leaked = await idOf('7731-zebra');
    const rude = await idOf('walrus-faced clown');
    const kept = await idOf('this one stays');
    assert.ok(leaked > 0 && rude > 0 && kept > 0);

    // alice, an administrator, acts through the admin REST API (what `pchat message remove` calls)
    const moderate = async (body: Record<string, unknown>) => {
      const r = await fetch(`${web.base}/api/admin/messages/remove`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
        body: JSON.stringify({ room: room.id, ...body }),
      });
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as { removed: { count: number; ids: number[] } }).removed;
    };
    assert.deepEqual((await moderate({ filter: '7731-zebra', remove: true })).ids, [leaked]);
    const gone = c.locator(`.msg-removed[data-message-id="${leaked}"] .removed`);
    await gone.waitFor();
    assert.equal(await gone.textContent(), 'This message was removed.');
    assert.deepEqual((await moderate({ filter: 'walrus-faced', replace: 'Removed by the moderator.' })).ids, [rude]);
    const edited = c.locator(`.msg[data-message-id="${rude}"]`);
    await edited.locator('.text', { hasText: 'Removed by the moderator.' }).waitFor();
    // a replaced alert becomes a regular message, as the server keeps it, and is marked as edited
    assert.equal(await edited.locator('.tag', { hasText: 'edited' }).count(), 1);
    assert.equal(await edited.locator('.tag-alert').count(), 0);

    // no reload happened, the untouched message is still there, and the old texts are nowhere in either DOM
    // (nor in the screen-reader announcement of the last message)
    for (const p of [b, c]) {
      await p.locator(`.msg[data-message-id="${rude}"] .text`, { hasText: 'Removed by the moderator.' }).waitFor();
      await p.locator(`.msg-removed[data-message-id="${leaked}"]`).waitFor();
      assert.equal(await p.locator(`.msg[data-message-id="${kept}"] .text`).textContent(), 'this one stays');
      const html = await p.content();
      assert.ok(!html.includes('7731-zebra'), 'the removed text is still in the DOM');
      assert.ok(!html.includes('walrus-faced'), 'the replaced text is still in the DOM');
    }
    assert.equal(
      await c.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).type),
      'navigate',
      'the page was reloaded',
    );

    // a reload shows what the server keeps: the removed message is gone, the replacement stays
    await c.reload();
    await c.locator('.conn[data-state=open]').waitFor();
    await open(c, `#/room/${room.id}`);
    await c.locator(`.msg[data-message-id="${rude}"] .text`, { hasText: 'Removed by the moderator.' }).waitFor();
    assert.equal(await c.locator(`[data-message-id="${leaked}"]`).count(), 0);
    const html = await c.content();
    assert.ok(!html.includes('7731-zebra') && !html.includes('walrus-faced'));
  });

  test('the connection state shows a server restart, and the client catches up after it', async () => {
    const a = await web.page();
    await signIn(a, 'alice');
    await open(a, `#/room/${web.seed.closed}`);
    await a.locator('#composer-text').waitFor();
    await web.restart(async () => {
      await a.locator('.conn[data-state=reconnecting]').waitFor();
    });
    const bob = await web.api('bob');
    await bob.post(web.seed.closed, { text: 'posted while alice was away' });
    await a.locator('.conn[data-state=open]').waitFor({ timeout: 20_000 });
    await a.locator('.msg .text', { hasText: 'posted while alice was away' }).waitFor();
  });
});
