// Specification of the XCCOS door (one dialog's XccosSession) over a real chat service on a SQLite file, without
// SIP: what each envelope is answered with (the INFO status and the <rpl>s), that rooms of another domain do not
// exist, that a post is always by the dialog's user, and that a room's traffic never arrives before its rpl:join.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { parseListEdit } from '../../src/core/principals.js';
import { FileStore } from '../../src/files/file-store.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/port.js';
import { renderText, toCrlf, XccosSession } from '../../src/transports/xccos/xccos-session.js';

const DOMAIN = 'contoso.com';
const PW = 'correct horse';
const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;
const list = (s: string) => parseListEdit(s, 'members');
const env = (inner: string, envid = 7) => Buffer.from(`<xccos ver="1" envid="${envid}">${inner}</xccos>`);
const cmd = (name: string, data = '', seqid = 1) => `<cmd id="cmd:${name}" seqid="${seqid}"><data>${data}</data></cmd>`;

interface Dialog {
  x: XccosSession;
  sent: string[];
  /** Sends one envelope body and resolves with the INFO status once the envelope is handled. */
  info(body: Buffer | string): Promise<{ status: number; reason?: string }>;
}

describe('XCCOS session specification', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-xccos-spec-'));
  let store: Store;
  let admin: AdminService;
  let chat: ChatService;
  const rooms = { general: '', closed: '', secret: '', quiet: '' };
  const dialogs: Dialog[] = [];
  const uri = (id: string, domain = DOMAIN) => `ma-chan://${domain}/${id}`;

  let nextEnvid = 1000;
  const dialog = (user: string): Dialog => {
    const sent: string[] = [];
    const x = new XccosSession({
      chat,
      user,
      domain: 'Contoso.COM',
      chatServerUri: `sip:chatserver@${DOMAIN}`,
      send: (e) => sent.push(e),
    });
    const d: Dialog = {
      x,
      sent,
      info: (body) =>
        new Promise((resolve) => {
          x.handleInfo(Buffer.isBuffer(body) ? body : Buffer.from(body), (status, reason) =>
            resolve(reason === undefined ? { status } : { status, reason }),
          );
        }),
    };
    dialogs.push(d);
    return d;
  };
  const waitFor = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 15_000; // generous: a loaded machine is slow, a broken rule never gets there
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(check(), `timed out waiting for ${what}`);
  };
  /** Sends a command and returns the envelope that carries its reply (the rpl echoes the command's envid). */
  const command = async (d: Dialog, name: string, data = '') => {
    const envid = nextEnvid++;
    assert.deepEqual(await d.info(env(cmd(name, data), envid)), { status: 200 });
    const mine = (e: string) => e.includes(`envid="${envid}"`) && e.includes('<rpl');
    await waitFor(() => d.sent.some(mine), `the reply to cmd:${name}`);
    return d.sent.filter(mine).join('\n');
  };
  const say = (d: Dialog, room: string, text: string, author = '') =>
    d.info(
      env(
        `<grpchat id="grpchat" seqid="1" chanUri="${room}"${author ? ` author="${author}"` : ''}><chat>${text}</chat></grpchat>`,
        nextEnvid++,
      ),
    );
  const bcq = (room: string, last?: number) =>
    `<chanib uri="${room}"/>${last === undefined ? '' : `<bcq><last cnt="${last}"/></bcq>`}`;

  before(async () => {
    store = await openStore({ dataDir: dir });
    admin = new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: 'pool1' });
    for (const u of [ALICE, BOB, CAROL]) await admin.addUser(u, { password: PW });
    await admin.setPolicy('global', { enablePersistentChat: true });
    await admin.newCategory({ name: 'Eng', allowedMembers: list(`domain:${DOMAIN}`) });
    await admin.newCategory({ name: 'Quiet', allowedMembers: list(`domain:${DOMAIN}`), chatHistory: false });
    rooms.general = (await admin.newRoom({ name: 'General', category: 'Eng', privacy: 'open' })).id;
    rooms.closed = (await admin.newRoom({ name: 'Closed', category: 'Eng', members: list(ALICE) })).id;
    rooms.secret = (
      await admin.newRoom({ name: 'Secret', category: 'Eng', privacy: 'secret', members: list(ALICE) })
    ).id;
    rooms.quiet = (await admin.newRoom({ name: 'Hushed', category: 'Quiet', privacy: 'open' })).id;
    chat = new ChatService(store, new FileStore(join(dir, 'files')), {
      domain: DOMAIN,
      tokenTtlSeconds: 60,
      pollMs: 20,
    });
    await chat.start();
  });

  after(async () => {
    for (const d of dialogs) d.x.close();
    await chat.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The INFO's status, and the reason phrase of its SIP response (none when it is a plain 200).
  const NOT_XCCOS = 'Not an XCCOS envelope';
  const statuses: { name: string; body: () => Buffer | string; status: number; reason?: string }[] = [
    { name: 'an empty body (a keep-alive)', body: () => '', status: 200 },
    { name: 'a body that is not XML', body: () => 'hello', status: 400, reason: NOT_XCCOS },
    { name: 'XML that is not an envelope', body: () => '<not-xccos/>', status: 400, reason: NOT_XCCOS },
    { name: 'an envelope cut short', body: () => '<xccos ver="1" envid="1"><cmd', status: 400, reason: NOT_XCCOS },
    {
      name: 'an envelope over the size limit',
      body: () => env(cmd('getserverinfo', 'x'.repeat(300 * 1024))),
      status: 413,
      reason: NOT_XCCOS,
    },
    { name: 'a command', body: () => env(cmd('getserverinfo')), status: 200 },
    { name: 'an unknown command (answered in its rpl)', body: () => env(cmd('frobnicate')), status: 200 },
    { name: 'a client acknowledgement', body: () => env('<rpl id="rpl:x" seqid="1"/>'), status: 200 },
  ];
  for (const s of statuses) {
    test(`INFO with ${s.name} → ${s.status}${s.reason ? ` ${s.reason}` : ''}`, async () => {
      const d = dialog(BOB);
      assert.deepEqual(
        await d.info(s.body()),
        s.reason === undefined ? { status: s.status } : { status: s.status, reason: s.reason },
      );
    });
  }

  test('a closed dialog answers 481 and sends nothing more', async () => {
    const d = dialog(BOB);
    d.x.close();
    assert.equal(d.x.isClosed, true);
    assert.equal((await d.info(env(cmd('getserverinfo')))).status, 481);
    assert.deepEqual(d.sent, []);
  });

  // grpchat: the INFO status says whether the message was delivered (SIPE shows "not delivered" otherwise).
  const posts: { name: string; who: string; room: () => string; text?: string; status: number }[] = [
    { name: 'to an open room', who: BOB, room: () => uri(rooms.general), status: 200 },
    { name: 'with the domain in other case', who: BOB, room: () => uri(rooms.general, 'CONTOSO.com'), status: 200 },
    {
      name: 'to an existing room under another domain',
      who: BOB,
      room: () => uri(rooms.general, 'fabrikam.com'),
      status: 404,
    },
    { name: 'to a room that does not exist', who: BOB, room: () => uri('no-such-room'), status: 404 },
    { name: 'to a closed room he is not a member of', who: BOB, room: () => uri(rooms.closed), status: 403 },
    { name: 'to a secret room he may not see', who: BOB, room: () => uri(rooms.secret), status: 404 },
    {
      name: 'over the message size limit',
      who: BOB,
      room: () => uri(rooms.general),
      text: 'x'.repeat(600),
      status: 413,
    },
    { name: 'by a member of the closed room', who: ALICE, room: () => uri(rooms.closed), status: 200 },
  ];
  for (const p of posts) {
    test(`grpchat ${p.name} → ${p.status}`, async () => {
      const limit = chat.serverInfo().config.messageSizeLimit;
      const text = p.text === undefined ? `post ${p.name}` : 'x'.repeat(limit + 1);
      const d = dialog(p.who);
      const roomId = p.room().split('/').pop() as string;
      const beforeCount =
        rooms.general === roomId || rooms.closed === roomId ? (await store.messages.before(roomId, 500)).length : 0;
      assert.equal((await say(d, p.room(), text)).status, p.status);
      if (rooms.general === roomId || rooms.closed === roomId) {
        const afterMsgs = await store.messages.before(roomId, 500);
        assert.equal(afterMsgs.length - beforeCount, p.status === 200 ? 1 : 0, 'stored only when accepted');
      }
    });
  }

  test('a grpchat is posted as the dialog’s user, whatever author it claims, with CRLF turned into LF', async () => {
    const d = dialog(BOB);
    assert.equal((await say(d, uri(rooms.general), 'line one&#13;\nline two', ALICE)).status, 200);
    const [last] = (await store.messages.before(rooms.general, 1)).reverse();
    assert.equal(last?.author, BOB);
    assert.equal(last?.text, 'line one\nline two');
  });

  test('a grpchat without a room is a 400', async () => {
    const d = dialog(BOB);
    assert.equal((await d.info(env('<grpchat id="grpchat" seqid="1"><chat>no room</chat></grpchat>'))).status, 400);
  });

  test('cmd:requri hands out the chat server URI', async () => {
    const reply = await command(dialog(BOB), 'requri');
    assert.match(reply, /<uib uri="sip:chatserver@contoso\.com"\s*\/>/);
  });

  test('bjoin joins the rooms it may and answers one error per room it may not, foreign domains included', async () => {
    const d = dialog(BOB);
    const envid = nextEnvid++;
    const data = [
      `<chanib uri="${uri(rooms.general)}"/>`,
      `<chanib uri="${uri(rooms.closed)}"/>`,
      `<chanib uri="${uri(rooms.general, 'fabrikam.com')}"/>`,
      `<chanib uri="${uri(rooms.secret)}"/>`,
    ].join('');
    assert.equal((await d.info(env(cmd('bjoin', data), envid))).status, 200);
    await waitFor(() => d.sent.some((e) => e.includes(`envid="${envid}"`)), 'the bjoin replies');
    const replies = d.sent.filter((e) => e.includes(`envid="${envid}"`)).join('\n');
    const rpls = replies.split('<rpl ').slice(1);
    const codeOf = (needle: string) => rpls.find((r) => r.includes(needle))?.match(/<resp code="(\d+)"/)?.[1];
    assert.equal(codeOf(`/${rooms.general}`), '200');
    assert.equal(codeOf(`contoso.com/${rooms.closed}`), '403');
    assert.equal(codeOf('fabrikam.com'), '404');
    assert.equal(codeOf(`/${rooms.secret}`), '404');
    assert.ok(d.x.chatSession?.rooms.has(rooms.general));
    assert.equal(d.x.chatSession?.rooms.has(rooms.closed), false);
    assert.equal(d.x.chatSession?.rooms.size, 1);
  });

  test('join of rooms all refused answers only the errors', async () => {
    const d = dialog(BOB);
    const reply = await command(d, 'join', `<chanib uri="${uri(rooms.general, 'fabrikam.com')}"/>`);
    assert.doesNotMatch(reply, /code="200"/);
    assert.match(reply, /code="404"/);
    assert.equal(d.x.chatSession?.rooms.size ?? 0, 0);
  });

  test('part and bccontext of a room under another domain are not found', async () => {
    const d = dialog(ALICE);
    await command(d, 'join', `<chanib uri="${uri(rooms.closed)}"/>`);
    const part = await command(d, 'part', `<chanib uri="${uri(rooms.closed, 'fabrikam.com')}"/>`);
    assert.match(part, /code="404"/);
    assert.ok(d.x.chatSession?.rooms.has(rooms.closed), 'still in the room of our domain');
    const bc = await command(d, 'bccontext', `<chanib uri="${uri(rooms.closed, 'fabrikam.com')}"/>`);
    assert.match(bc, /code="404"/);
    const ok = await command(d, 'part', `<chanib uri="${uri(rooms.closed)}"/>`);
    assert.match(ok, /code="200"/);
    assert.equal(d.x.chatSession?.rooms.has(rooms.closed), false);
  });

  test('bccontext returns history as grpchat lines, refuses rooms one may not read, and honours last=0', async () => {
    const a = dialog(ALICE);
    await say(a, uri(rooms.closed), 'history line');
    const bc = await command(a, 'bccontext', `<chanib uri="${uri(rooms.closed)}"/>`);
    assert.match(bc, /history line/);
    const none = await command(a, 'bccontext', bcq(uri(rooms.closed), 0));
    assert.doesNotMatch(none, /history line/);
    const b = dialog(BOB);
    assert.match(await command(b, 'bccontext', `<chanib uri="${uri(rooms.closed)}"/>`), /code="403"/);
    assert.match(await command(b, 'bccontext', `<chanib uri="${uri(rooms.secret)}"/>`), /code="404"/);
    assert.match(await command(b, 'bccontext', bcq(uri(rooms.secret), 0)), /code="404"/);
  });

  test('a room’s traffic reaches a dialog only after its rpl:join, and then every message once', async () => {
    const a = dialog(ALICE);
    const b = dialog(BOB);
    await command(b, 'join', `<chanib uri="${uri(rooms.general)}"/>`);
    const mark = a.sent.length;
    // alice's join and bob's post race: the post's grpchat must come after the rpl:join in alice's stream
    const envid = nextEnvid++;
    await a.info(env(cmd('join', `<chanib uri="${uri(rooms.general)}"/>`), envid));
    await say(b, uri(rooms.general), 'ordered hello');
    await waitFor(() => a.sent.some((e) => e.includes(`envid="${envid}"`)), 'rpl:join');
    await new Promise((r) => setTimeout(r, 50));
    const stream = a.sent.slice(mark);
    const joinAt = stream.findIndex((e) => e.includes('rpl:join'));
    const helloAt = stream.findIndex((e) => e.includes('ordered hello') && e.includes('<grpchat'));
    assert.ok(joinAt >= 0, 'rpl:join sent');
    if (helloAt >= 0) assert.ok(helloAt > joinAt, 'no traffic before rpl:join');
    await say(b, uri(rooms.general), 'after the join');
    await waitFor(() => a.sent.some((e) => e.includes('after the join')), 'the message after the join');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(a.sent.filter((e) => e.includes('after the join')).length, 1);
  });

  test('a user’s last part shows as ntc:part', async () => {
    const a = dialog(ALICE);
    const c = dialog(CAROL); // in no other dialog, so her part is her last
    await command(a, 'join', `<chanib uri="${uri(rooms.general)}"/>`);
    await command(c, 'join', `<chanib uri="${uri(rooms.general)}"/>`);
    const mark = a.sent.length;
    await command(c, 'part', `<chanib uri="${uri(rooms.general)}"/>`);
    await waitFor(
      () => a.sent.slice(mark).some((e) => e.includes('ntc:part') && e.includes(CAROL)),
      'alice sees carol leave',
    );
  });

  test('setpref without content is refused; getpref returns what setpref stored', async () => {
    const d = dialog(CAROL);
    const bad = await command(d, 'setpref', '<pref label="x" seqid="1"/>');
    assert.match(bad, /code="400"/);
    const content = Buffer.from('<prefs>v</prefs>').toString('base64');
    const ok = await command(d, 'setpref', `<pref label="x" seqid="1" content="${content}"/>`);
    assert.match(ok, /code="200"/);
    const got = await command(d, 'getpref', '<pref label="x" seqid="1"/>');
    assert.match(got, /label="x"/);
  });

  test('renderText and toCrlf: what a legacy client shows', () => {
    const base = {
      id: 1,
      roomId: 'r',
      author: ALICE,
      authorName: 'Alice',
      ts: 0,
      rich: null,
      file: null,
      title: null,
      links: [],
    };
    const rows: { m: Parameters<typeof renderText>[0]; want: string }[] = [
      { m: { ...base, kind: 'regular', text: 'plain' }, want: 'plain' },
      { m: { ...base, kind: 'story', title: 'Title', text: 'body' }, want: 'Title\n\nbody' },
      { m: { ...base, kind: 'story', title: null, text: 'body' }, want: 'body' },
      {
        m: {
          ...base,
          kind: 'file',
          text: '',
          file: { id: 'f', name: 'a.txt', size: 3, contentType: 'text/plain', url: '/api/files/f' },
        },
        want: '[file] a.txt (3 bytes; open it in the pchat web client)',
      },
      { m: { ...base, kind: 'file', text: 'no file', file: null }, want: 'no file' },
      // only a story shows a title and only a file message shows a file: a line of another kind shows its text
      { m: { ...base, kind: 'regular', title: 'Stray title', text: 'plain' }, want: 'plain' },
      {
        m: {
          ...base,
          kind: 'regular',
          text: 'plain',
          file: { id: 'f', name: 'a.txt', size: 3, contentType: 'text/plain', url: '/api/files/f' },
        },
        want: 'plain',
      },
      {
        m: {
          ...base,
          kind: 'story',
          title: null,
          text: 'body',
          file: { id: 'f', name: 'a.txt', size: 3, contentType: 'text/plain', url: '/api/files/f' },
        },
        want: 'body',
      },
    ];
    for (const r of rows) assert.equal(renderText(r.m), r.want, `${r.m.kind}: ${r.want}`);
    assert.equal(toCrlf('a\nb\r\nc'), 'a\r\nb\r\nc');
  });

  test('events of a closed dialog are dropped', async () => {
    const a = dialog(ALICE);
    const b = dialog(BOB);
    await command(a, 'join', `<chanib uri="${uri(rooms.general)}"/>`);
    await command(b, 'join', `<chanib uri="${uri(rooms.general)}"/>`);
    a.x.close();
    const mark = a.sent.length;
    await say(b, uri(rooms.general), 'nobody home');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.sent.length, mark);
  });
});
