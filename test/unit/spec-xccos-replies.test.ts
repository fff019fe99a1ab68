// Specification of what an XCCOS dialog answers to each command, over a real chat service on both store
// engines: cmd:getserverinfo, getassociations, chansrch (the listing a legacy client's room list shows), join
// (the roster, topic and managers of each room), getinv (which invitations from which id), getpref (createdefault),
// nodespermcreatechild (refused), and when the INFO itself is answered.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { parseListEdit } from '../../src/core/principals.js';
import { FileStore } from '../../src/files/file-store.js';
import { XccosSession } from '../../src/transports/xccos/xccos-session.js';
import { forEachEngine } from '../support/spec-engines.js';

const DOMAIN = 'contoso.com';
const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const DAVE = `sip:dave@${DOMAIN}`;
const list = (s: string) => parseListEdit(s, 'members');
const cmd = (name: string, data = '', seqid = 1) => `<cmd id="cmd:${name}" seqid="${seqid}"><data>${data}</data></cmd>`;
const uri = (id: string) => `ma-chan://${DOMAIN}/${id}`;
/** Every element `name` in `xml`, as text (a crude reader: the scope's replies never nest an element in itself). */
const elements = (xml: string, name: string): string[] =>
  xml.match(new RegExp(`<${name}(?=[\\s>/])[^>]*?(?:/>|>[\\s\\S]*?</${name}>)`, 'g')) ?? [];

interface Dialog {
  x: XccosSession;
  sent: string[];
  /** Sends the items as one envelope; resolves with the INFO status and what was sent by then. */
  info(inner: string): Promise<{ status: number; sentAtRespond: number }>;
  /** Sends one command and resolves with the envelope that carries its reply. */
  command(name: string, data?: string): Promise<string>;
}

forEachEngine('XCCOS command replies', ({ store, dir, storeTest }) => {
  let admin: AdminService;
  let chat: ChatService;
  const rooms = { general: '', closed: '', closed2: '', secret: '' };
  const dialogs: XccosSession[] = [];
  let nextEnvid = 100;

  const dialog = (user: string): Dialog => {
    const sent: string[] = [];
    const x = new XccosSession({
      chat,
      user,
      domain: DOMAIN,
      chatServerUri: `sip:chatserver@${DOMAIN}`,
      send: (e) => sent.push(e),
    });
    dialogs.push(x);
    const info = (inner: string, envid = nextEnvid++) =>
      new Promise<{ status: number; sentAtRespond: number }>((resolve) =>
        x.handleInfo(Buffer.from(`<xccos ver="1" envid="${envid}">${inner}</xccos>`), (status) =>
          resolve({ status, sentAtRespond: sent.length }),
        ),
      );
    const command = async (name: string, data = '') => {
      const envid = nextEnvid++;
      const mark = sent.length;
      assert.equal((await info(cmd(name, data), envid)).status, 200);
      const deadline = Date.now() + 10_000;
      const mine = () => sent.slice(mark).filter((e) => e.includes(`envid="${envid}"`) && e.includes('<rpl'));
      while (mine().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(mine().length, 1, `exactly one envelope answers cmd:${name}`);
      return mine()[0] as string;
    };
    return { x, sent, info: (inner) => info(inner), command };
  };

  // a case that gets the store: it fails when SQLite did not open, skips only an unreachable PostgreSQL
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, fn);

  before(async () => {
    const s = store();
    if (!s) return;
    admin = new AdminService(s, { realm: 'pchat', domain: DOMAIN, pool: 'pool1' });
    for (const u of [ALICE, BOB, DAVE]) await admin.addUser(u, { password: 'correct horse' });
    await admin.setPolicy('global', { enablePersistentChat: true });
    await admin.newCategory({ name: 'Eng', allowedMembers: list(`domain:${DOMAIN}`), invitations: true });
    const mk = async (name: string, extra: Record<string, unknown>) =>
      (await admin.newRoom({ name, category: 'Eng', ...extra })).id;
    rooms.general = await mk('General', { description: 'all hands', privacy: 'open' });
    rooms.closed = await mk('Closed', { members: list(ALICE), managers: parseListEdit(ALICE, 'managers') });
    rooms.closed2 = await mk('Closed Two', { members: list(ALICE) });
    rooms.secret = await mk('Secret Gen', { privacy: 'secret', members: list(ALICE) });
    chat = new ChatService(s, new FileStore(join(dir, 'files')), { domain: DOMAIN, tokenTtlSeconds: 60, pollMs: 20 });
    await chat.start();
    await chat.model.poll();
  });

  after(async () => {
    for (const x of dialogs) x.close();
    await chat?.stop();
  });

  it('getserverinfo echoes the infoType and gives the limits, the version and a stable root category URI', async () => {
    const reply = await dialog(BOB).command('getserverinfo', '<sib infoType="123"/>');
    const info = chat.serverInfo();
    const h = createHash('sha256').update(`root-category:${DOMAIN}`).digest('hex');
    const guid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    const [sib] = elements(reply, 'sib');
    assert.ok(sib, 'rpl:getservinfo carries a <sib>');
    assert.match(reply, /<rpl id="rpl:getservinfo"/);
    for (const [attr, value] of [
      ['infoType', '123'],
      ['searchLimit', String(info.config.searchLimit)],
      ['messageSizeLimit', String(info.config.messageSizeLimit)],
      ['storySizeLimit', String(info.config.storySizeLimit)],
      ['rootUri', `ma-cat://${DOMAIN}/${guid}`],
      ['dbVersion', info.version],
    ])
      assert.ok(sib.includes(`${attr}="${value}"`), `${attr}="${value}" in ${sib}`);
    assert.match(
      sib,
      /rootUri="ma-cat:\/\/contoso\.com\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/,
    );
  });

  it('getassociations lists exactly the rooms the user is a member of, as chanib listings', async () => {
    const rows: { user: string; rooms: string[] }[] = [
      { user: ALICE, rooms: [rooms.closed, rooms.closed2, rooms.secret] },
      { user: BOB, rooms: [] },
    ];
    for (const r of rows) {
      const reply = await dialog(r.user).command('getassociations');
      assert.match(reply, /<rpl id="rpl:getassociations"[\s\S]*<resp code="200">/);
      const got = elements(reply, 'chanib').map((c) => c.match(/uri="([^"]+)"/)?.[1]);
      assert.deepEqual(got.sort(), r.rooms.map(uri).sort(), r.user);
    }
  });

  // The listing a room list shows: visibility is public only for open rooms.
  const searches: { who: string; criteria: string; want: { id: () => string; name: string; visibility: string }[] }[] =
    [
      {
        who: BOB,
        criteria: 'Gen',
        want: [{ id: () => rooms.general, name: 'General', visibility: 'public' }],
      },
      {
        who: ALICE,
        criteria: 'Gen',
        want: [
          { id: () => rooms.general, name: 'General', visibility: 'public' },
          { id: () => rooms.secret, name: 'Secret Gen', visibility: 'private' },
        ],
      },
      { who: ALICE, criteria: 'Two', want: [{ id: () => rooms.closed2, name: 'Closed Two', visibility: 'private' }] },
      { who: BOB, criteria: 'no such room', want: [] },
    ];
  for (const s of searches) {
    it(`chansrch "${s.criteria}" by ${s.who} lists ${s.want.map((w) => `${w.name} (${w.visibility})`).join(', ') || 'nothing'}`, async () => {
      const reply = await dialog(s.who).command(
        'chansrch',
        `<qib qtype="BYNAME" criteria="${s.criteria}" extended="false"/>`,
      );
      assert.match(reply, /<rpl id="rpl:chansrch"[\s\S]*<resp code="200">/);
      const got = elements(reply, 'chanib').map((c) => ({
        uri: c.match(/uri="([^"]+)"/)?.[1],
        name: c.match(/name="([^"]+)"/)?.[1],
        visibility: c.match(/visibilty">(\w+)</)?.[1],
      }));
      const want = s.want.map((w) => ({ uri: uri(w.id()), name: w.name, visibility: w.visibility }));
      const byUri = (a: { uri?: string }, b: { uri?: string }) => String(a.uri).localeCompare(String(b.uri));
      assert.deepEqual(got.sort(byUri), want.sort(byUri));
    });
  }

  it('rpl:join gives each room its roster, its topic only when it has a description, and the user as chanop only where a manager', async () => {
    const b = dialog(BOB);
    await b.command('join', `<chanib uri="${uri(rooms.general)}"/>`);
    const a = dialog(ALICE);
    const reply = await a.command('join', `<chanib uri="${uri(rooms.general)}"/><chanib uri="${uri(rooms.closed)}"/>`);
    const uibs = elements(reply, 'uib').filter((u) => u.includes(' id="'));
    const idOf = (user: string) => uibs.find((u) => u.includes(`uri="${user}"`))?.match(/id="(\d+)"/)?.[1];
    assert.ok(idOf(ALICE) !== undefined && idOf(BOB) !== undefined, `both users in the user map: ${uibs}`);
    const chanibs = elements(reply, 'chanib');
    const general = chanibs.find((c) => c.includes(rooms.general)) as string;
    const closed = chanibs.find((c) => c.includes(rooms.closed)) as string;
    assert.match(general, /topic="all hands"/);
    assert.doesNotMatch(closed, /topic=/, 'no topic for a room without description');
    const members = (c: string) =>
      c
        .match(/<aib key="3984" value="([^"]*)"/)?.[1]
        ?.split(',')
        .sort();
    assert.deepEqual(members(general), [idOf(ALICE), idOf(BOB)].sort());
    assert.deepEqual(members(closed), [idOf(ALICE)]);
    assert.doesNotMatch(general, /key="12276"/, 'alice manages no General');
    assert.match(closed, new RegExp(`<aib key="12276" value="${idOf(ALICE)}"`));
  });

  it('bccontext gives the newest lines, as many as asked for but no more than DefaultChatHistory, and none for last=0', async () => {
    await admin.setConfig({ defaultChatHistory: 3 });
    await chat.model.poll();
    assert.equal(chat.serverInfo().config.defaultChatHistory, 3);
    const b = dialog(BOB);
    for (let i = 1; i <= 5; i++) {
      const res = await b.info(
        `<grpchat id="grpchat" seqid="1" chanUri="${uri(rooms.general)}"><chat>backchat ${i}</chat></grpchat>`,
      );
      assert.equal(res.status, 200);
    }
    const rows: { last?: number; want: number[] }[] = [
      { want: [3, 4, 5] },
      { last: 2, want: [4, 5] },
      { last: 10, want: [3, 4, 5] },
      { last: 0, want: [] },
    ];
    for (const r of rows) {
      const data = `<chanib uri="${uri(rooms.general)}"/>${r.last === undefined ? '' : `<bcq><last cnt="${r.last}"/></bcq>`}`;
      const reply = await b.command('bccontext', data);
      assert.match(reply, /<rpl id="rpl:bccontext"[\s\S]*<resp code="200">/);
      const lines = [...reply.matchAll(/<chat>backchat (\d)<\/chat>/g)].map((m) => Number(m[1]));
      assert.deepEqual(lines, r.want, `last=${r.last}`);
      assert.equal(elements(reply, 'msg').length, r.want.length, 'no other lines');
    }
    await admin.setConfig({ defaultChatHistory: 30 });
    await chat.model.poll();
  });

  it('a bccontext is recorded as history viewed by the dialog’s user through the xccos door (what compliance logs)', async () => {
    const viewed: { user: string; door: string; room: string }[] = [];
    const off = chat.events.on('history.viewed', (e) => {
      viewed.push({ user: e.who.user, door: e.who.door, room: e.where.id });
    });
    try {
      const reply = await dialog(BOB).command('bccontext', `<chanib uri="${uri(rooms.general)}"/>`);
      assert.match(reply, /<rpl id="rpl:bccontext"[\s\S]*<resp code="200">/);
    } finally {
      off();
    }
    assert.deepEqual(viewed, [{ user: BOB, door: 'xccos', room: rooms.general }]);
  });

  it('nodespermcreatechild is refused with 403: rooms are created in the web client', async () => {
    const reply = await dialog(ALICE).command('nodespermcreatechild');
    assert.match(
      reply,
      /<rpl id="rpl:nodespermcreatechild"[\s\S]*<resp code="403">Create rooms in the pchat web client\.<\/resp>/,
    );
  });

  it('getinv lists the invitations from the inviteId asked for (inclusive), from the start when it is not a number', async () => {
    const ids = (await chat.invitations(ALICE, 0)).map((i) => Number(i.id)).sort((p, q) => p - q);
    assert.ok(ids.length >= 2, 'alice has invitations to the closed rooms');
    const first = ids[0] as number;
    const last = ids[ids.length - 1] as number;
    const rows: { inv: string | null; want: number[] }[] = [
      { inv: null, want: ids },
      { inv: '0', want: ids },
      { inv: String(first), want: ids },
      { inv: String(last), want: [last] },
      { inv: String(last + 1), want: [] },
      { inv: `x${last}`, want: ids },
      { inv: `${last}x`, want: ids },
      { inv: 'abc', want: ids },
      { inv: '', want: ids },
      { inv: `${'0'.repeat(16 - String(last).length)}${last}`, want: ids }, // 16 digits: not an id
      { inv: `${'0'.repeat(15 - String(last).length)}${last}`, want: [last] }, // 15 digits: an id
    ];
    const d = dialog(ALICE);
    for (const r of rows) {
      const reply = await d.command('getinv', r.inv === null ? '' : `<inv inviteId="${r.inv}" domain="${DOMAIN}"/>`);
      assert.match(reply, /<rpl id="rpl:getinv"[\s\S]*<resp code="200">/);
      const got = elements(reply, 'inv').map((i) => Number(i.match(/inviteId="(\d+)"/)?.[1]));
      assert.deepEqual(
        got.sort((p, q) => p - q),
        r.want,
        `inviteId ${r.inv}`,
      );
      for (const i of elements(reply, 'inv')) {
        assert.match(i, new RegExp(`domain="${DOMAIN}"`));
        assert.match(i, /chanUri="ma-chan:\/\/contoso\.com\/[^"]+" name="[^"]+"/);
      }
    }
    assert.doesNotMatch(await dialog(BOB).command('getinv'), /<inv /, 'bob has none');
  });

  it('getpref answers a stored pref, an empty one for a missing pref with createdefault, and leaves out other missing ones', async () => {
    const d = dialog(DAVE);
    const content = Buffer.from('<prefs>v</prefs>').toString('base64');
    assert.match(await d.command('setpref', `<pref label="kept" seqid="1" content="${content}"/>`), /code="200"/);
    const reply = await d.command(
      'getpref',
      '<pref label="kept" seqid="1"/><pref label="fresh" seqid="2" createdefault="true"/><pref label="absent" seqid="3"/>',
    );
    const prefs = elements(reply, 'pref');
    assert.deepEqual(
      prefs.map((p) => [
        p.match(/label="(\w+)"/)?.[1],
        p.match(/seqid="(\d+)"/)?.[1],
        p.match(/content="([^"]*)"/)?.[1],
      ]),
      [
        ['kept', '1', content],
        ['fresh', '2', ''],
      ],
    );
  });

  it('a command’s INFO is answered 200 before its reply; an envelope with a grpchat is answered after the post, with its status', async () => {
    const d = dialog(BOB);
    const early = await d.info(cmd('getserverinfo'));
    assert.deepEqual(early, { status: 200, sentAtRespond: 0 }, 'answered before the rpl is sent');
    const foreign = `ma-chan://fabrikam.com/${rooms.general}`;
    const mark = d.sent.length;
    const mixed = await d.info(
      `${cmd('getserverinfo')}<grpchat id="grpchat" seqid="2" chanUri="${foreign}"><chat>hi</chat></grpchat>`,
    );
    assert.equal(mixed.status, 404, 'the failed post decides the INFO status');
    assert.ok(mixed.sentAtRespond > mark, 'the command replies went out before the INFO was answered');
  });

  it('the replies to several commands of one envelope share one envelope; acknowledgements in it get no reply', async () => {
    const d = dialog(BOB);
    await d.command('requri'); // settle
    const mark = d.sent.length;
    const res = await d.info(
      `<rpl id="rpl:x" seqid="1"/>${cmd('requri', '', 1)}<ntc id="ntc:x" seqid="2"/>${cmd('getserverinfo', '', 3)}`,
    );
    assert.equal(res.status, 200);
    const deadline = Date.now() + 10_000;
    while (d.sent.length === mark && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    const out = d.sent.slice(mark);
    assert.equal(out.length, 1, 'one envelope');
    assert.match(
      (out[0] as string).replace(/<rpl [\s\S]*?<\/rpl>/g, ''),
      /^<xccos [^>]*><\/xccos>$/,
      'nothing but rpls',
    );
    const ids = (out[0] as string).match(/<rpl id="[^"]+"/g);
    assert.deepEqual(ids, ['<rpl id="rpl:requri"', '<rpl id="rpl:getservinfo"']);
  });

  it('an envelope of acknowledgements only sends nothing', async () => {
    const d = dialog(BOB);
    assert.equal((await d.info('<rpl id="rpl:x" seqid="1"/><ntc id="ntc:y" seqid="2"/>')).status, 200);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(d.sent, []);
  });
});
