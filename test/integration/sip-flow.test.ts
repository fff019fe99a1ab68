// The legacy-client front door end to end: real TCP sockets, a scripted client that behaves like SIPE, a real
// ChatService on a temp SQLite store. Covers login, provisioning, the pool/endpoint/chat dialogs and the XCCOS
// commands SIPE sends, with chat traffic crossing between SIP and a directly opened (WebSocket-like) session.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatEvent } from '../../src/chat/types.js';
import { parseEnvelope } from '../../src/transports/xccos/envelope.js';
import {
  type ClientDialog,
  DOMAIN,
  eventually,
  getTag,
  SipClient,
  type SipFixture,
  startSipFixture,
} from '../support/sip-client.js';

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;

/** The first child element kind of an envelope body, and the child ids. */
function shape(body: string): { kinds: string[]; ids: string[] } {
  const env = parseEnvelope(body);
  assert.ok(env.ok, `not an envelope: ${body}`);
  return { kinds: env.value.items.map((i) => i.kind), ids: env.value.items.map((i) => i.id) };
}

const messages = (events: ChatEvent[]) =>
  events.flatMap((e) => (e.type === 'message' ? [{ author: e.message.author, text: e.message.text }] : []));

describe('SIP/XCCOS front door', () => {
  let fx: SipFixture;

  before(async () => {
    fx = await startSipFixture();
  });
  after(async () => {
    await fx.close();
  });

  test('REGISTER is challenged with Digest, and the answer SIPE sends (uri="(null)") logs in', async () => {
    const c = await fx.connect('alice');
    const first = await c.request(
      // the same request SIPE sends first: no credentials
      c.registerRequest(900),
    );
    assert.equal(first.status, 407);
    const challenge = first.headers.get('proxy-authenticate') ?? '';
    assert.match(challenge, /^Digest realm="pchat", nonce="[^"]+", qop="auth"/);
    const ok = await c.register();
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('expires'), '900');
    assert.equal(ok.headers.get('supported'), 'msrtc-event-categories');
    assert.equal(ok.headers.get('allow-events'), 'vnd-microsoft-provisioning-v2');
    assert.match(ok.headers.get('ms-keep-alive') ?? '', /^UAS; tcp=no; hop-hop=yes; end-point=no; timeout=300$/);
    assert.match(
      ok.headers.get('contact') ?? '',
      /^<sip:127\.0\.0\.1:40000;transport=tcp;ms-opaque=d3470f2e1d>;expires=900$/,
    );
    // a refresh on the same connection is trusted without a new challenge
    assert.equal((await c.register()).status, 200);
  });

  test('provisioning carries the pool URI only for users whose policy enables persistent chat', async () => {
    const alice = await fx.connect('alice');
    assert.equal((await alice.register()).status, 200);
    const sub = await alice.subscribe();
    assert.equal(sub.status, 200);
    assert.equal(sub.headers.get('event'), 'vnd-microsoft-provisioning-v2');
    assert.equal(sub.headers.get('ms-piggyback-cseq'), '1');
    assert.equal(sub.headers.get('content-type'), 'application/vnd-microsoft-roaming-provisioning-v2+xml');
    const body = sub.body.toString();
    assert.match(body, /<provisionGroup name="persistentChatConfiguration">/);
    assert.match(body, /<property name="EnablePersistentChat">true<\/property>/);
    assert.match(body, /<property name="DefaultPersistentChatPoolUri">sip:pchatpool@contoso\.com<\/property>/);
    assert.equal((await alice.subscribe('vnd-microsoft-roaming-contacts')).status, 489);

    // carol's policy turns persistent chat off: she registers, gets no chat group, and cannot reach the pool
    const carol = await fx.connect('carol');
    assert.equal((await carol.register()).status, 200);
    const carolSub = await carol.subscribe();
    assert.equal(carolSub.status, 200);
    assert.match(carolSub.body.toString(), /^<provisionGroupList [^>]*\/>$/);
    assert.equal((await carol.invite(fx.server.poolUri)).response.status, 403);
  });

  test('INVITE to a legacy endpoint address works exactly like the pool address; requri gives the chat URI', async () => {
    // One endpoint per pool: the default one (ocschat) makes way for the old clients' address.
    await assert.rejects(fx.admin.newEndpoint({ sipAddress: `sip:groupchat@${DOMAIN}` }), {
      code: 'ENDPOINT_EXISTS',
      message: /sip:ocschat@contoso\.com/,
    });
    const c0 = await fx.connect('alice');
    await c0.register();
    assert.equal((await c0.invite(`sip:ocschat@${DOMAIN}`)).response.status, 200, 'the default endpoint answers');
    await fx.admin.removeEndpoint(`sip:ocschat@${DOMAIN}`);
    await fx.admin.newEndpoint({ sipAddress: `sip:groupchat@${DOMAIN}`, displayName: 'Group Chat' });
    const c = await fx.connect('alice');
    await c.register();
    assert.equal((await c.invite(`sip:ocschat@${DOMAIN}`)).response.status, 404, 'the removed endpoint is gone');
    for (const target of [`sip:groupchat@${DOMAIN}`, fx.server.poolUri]) {
      const { response, dialog } = await c.invite(target);
      assert.equal(response.status, 200, target);
      assert.ok(getTag(response.headers.get('to')), 'the 200 carries our To-tag');
      // the endpoint answers under its display name; the URI is exactly the one INVITEd
      const shown = target === fx.server.poolUri ? '' : '"Group Chat" ';
      assert.match(
        response.headers.get('to') ?? '',
        new RegExp(`^${shown}<${target}>;tag=`),
        'To keeps the INVITEd URI',
      );
      assert.match(response.headers.get('session-expires') ?? '', /^1800;refresher=uac$/);
      assert.ok(response.headers.get('contact'));
      assert.ok(dialog);
      const rpl = await c.command(dialog, 'requri');
      assert.deepEqual(shape(rpl), { kinds: ['rpl'], ids: ['rpl:requri'] });
      assert.match(rpl, new RegExp(`<uib uri="${fx.server.chatServerUri}"/>`));
      assert.match(rpl, /<resp code="200">SUCCESS_OK<\/resp>/);
      // the server INFO comes from exactly the URI the client INVITEd, with our tag, in the same dialog
      const info = c.infos.at(-1);
      assert.ok(info);
      assert.equal(info.req.headers.get('from'), dialog.remoteTo);
      assert.equal(getTag(info.req.headers.get('to')), c.fromTag);
      assert.equal(info.req.headers.get('call-id'), dialog.callId);
      assert.equal(info.req.headers.get('content-type'), 'text/plain');
      assert.equal((await c.bye(dialog)).status, 200);
      assert.equal(
        (await c.info(dialog, SipClient.envelope('<cmd id="cmd:requri" seqid="1"><data/></cmd>'))).status,
        481,
      );
    }
    assert.equal((await c.invite(`sip:nobody@${DOMAIN}`)).response.status, 404);
    assert.equal((await c.invite(fx.server.chatServerUri)).response.status, 200);
  });

  test('chansrch lists the rooms the user may see; a secret room is hidden from non-members', async () => {
    const { client: alice, dialog: ad } = await fx.login('alice');
    const all = await alice.command(ad, 'chansrch', '<qib qtype="BYNAME" criteria="" extended="false"/>');
    assert.deepEqual(shape(all).ids, ['rpl:chansrch']);
    const names = (body: string) => [...body.matchAll(/<chanib name="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(names(all), ['Closed', 'General', 'Lobby', 'Secret']);
    assert.match(
      all,
      new RegExp(
        `<chanib name="Lobby" description="Lobby room" uri="${fx.roomUri(fx.rooms.lobby)}"><info id="urn:parlano:ma:info:ucnt">0</info><info id="urn:parlano:ma:info:visibilty">public</info>`,
      ),
    );
    assert.match(
      all,
      /<chanib name="Secret"[^>]*><info id="urn:parlano:ma:info:ucnt">0<\/info><info id="urn:parlano:ma:info:visibilty">private<\/info>/,
    );

    const { client: erin, dialog: ed } = await fx.login('erin');
    const erinRooms = await erin.command(ed, 'chansrch', '<qib qtype="BYNAME" criteria="" extended="false"/>');
    assert.deepEqual(names(erinRooms), ['Closed', 'General', 'Lobby']);
    const filtered = await erin.command(ed, 'chansrch', '<qib qtype="BYNAME" criteria="lob" extended="false"/>');
    assert.deepEqual(names(filtered), ['Lobby']);
    alice.close();
    erin.close();
  });

  test('join gets the roster; bccontext gets history posted through the chat service, lines in CRLF', async () => {
    const bob = fx.webUser('bob');
    const [j] = await fx.chat.join(bob, [fx.rooms.general]);
    assert.ok(j?.ok);
    await fx.chat.post(bob, fx.rooms.general, { text: 'posted from the web' });
    await fx.chat.post(bob, fx.rooms.general, { text: 'line one\nline two' });

    const { client: alice, dialog } = await fx.login('alice');
    const room = fx.roomUri(fx.rooms.general);
    const rpl = await alice.command(
      dialog,
      'bjoin',
      `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`,
    );
    assert.deepEqual(shape(rpl).ids, ['rpl:bjoin']);
    assert.match(rpl, /<resp code="200">SUCCESS_OK<\/resp>/);
    const uibs = [...rpl.matchAll(/<uib id="(\d+)" uri="([^"]+)"\/>/g)].map((m) => m[2]);
    assert.deepEqual(uibs.sort(), [ALICE, BOB]);
    assert.match(
      rpl,
      new RegExp(
        `<chanib name="General" description="General room" uri="${room}" topic="General room"><aib key="3984" value="0,1"/>`,
      ),
    );

    const bc = await alice.command(dialog, 'bccontext', `<chanib uri="${room}"/><bcq><last cnt="25"/></bcq>`);
    assert.deepEqual(shape(bc).ids, ['rpl:bccontext']);
    assert.match(
      bc,
      new RegExp(
        `<msg id="grpchat" chanUri="${room}" author="${BOB}" ts="\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"><chat>posted from the web</chat></msg>`,
      ),
    );
    // SIPE splits lines on CRLF; the CR travels as a character reference
    assert.match(bc, /<chat>line one&#13;\nline two<\/chat>/);
    const last1 = await alice.command(dialog, 'bccontext', `<chanib uri="${room}"/><bcq><last cnt="1"/></bcq>`);
    assert.equal([...last1.matchAll(/<msg /g)].length, 1);
    assert.match(last1, /line one/);

    // bob (web) saw alice enter
    await eventually(() => bob.events.some((e) => e.type === 'join' && e.user === ALICE), 2000, 'join event');
    fx.chat.closeSession(bob);
    alice.close();
  });

  test('grpchat from SIP reaches a web session as the authenticated user; web posts reach SIP; the sender gets its echo', async () => {
    const bob = fx.webUser('bob');
    await fx.chat.join(bob, [fx.rooms.general]);
    const { client: alice, dialog } = await fx.login('alice');
    const room = fx.roomUri(fx.rooms.general);
    await alice.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);

    // the author attribute claims bob: the server must use the dialog's user
    assert.equal(await alice.say(dialog, room, 'hello from sipe', BOB), 200);
    await eventually(() => messages(bob.events).some((m) => m.text === 'hello from sipe'), 2000, 'web delivery');
    assert.deepEqual(
      messages(bob.events).find((m) => m.text === 'hello from sipe'),
      { author: ALICE, text: 'hello from sipe' },
    );
    const echo = await alice.waitInfo((b) => b.includes('hello from sipe'));
    // the SIP answer to the grpchat INFO comes before the echo it caused
    const answered = alice.arrivals.findIndex((a) => a.startsWith(`200 ${dialog.callId} ${dialog.cseq} INFO`));
    const echoed = alice.arrivals.findIndex((a) => a.startsWith('INFO') && a.includes('hello from sipe'));
    assert.ok(answered >= 0 && answered < echoed, `answer #${answered} before echo #${echoed}`);
    assert.deepEqual(shape(echo.body).kinds, ['grpchat']);
    assert.match(
      echo.body,
      new RegExp(
        `<grpchat id="grpchat" seqid="1" chanUri="${room}" author="${ALICE}" ts="[^"]+Z"><chat>hello from sipe</chat></grpchat>`,
      ),
    );

    await fx.chat.post(bob, fx.rooms.general, { text: 'hi alice\nsecond line' });
    const fromWeb = await alice.waitInfo((b) => b.includes('hi alice'));
    assert.match(fromWeb.body, new RegExp(`author="${BOB}"`));
    assert.match(fromWeb.body, /<chat>hi alice&#13;\nsecond line<\/chat>/);
    fx.chat.closeSession(bob);
    alice.close();
  });

  test('join and part notices travel both ways', async () => {
    const { client: alice, dialog } = await fx.login('alice');
    const room = fx.roomUri(fx.rooms.general);
    await alice.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);

    const bob = fx.webUser('bob');
    await fx.chat.join(bob, [fx.rooms.general]);
    const ntcJoin = await alice.waitInfo((b) => b.includes('ntc:join'));
    assert.deepEqual(shape(ntcJoin.body), { kinds: ['ntc'], ids: ['ntc:join'] });
    assert.match(
      ntcJoin.body,
      new RegExp(`<uib uri="${BOB}"><aib key="3984" domain="${DOMAIN}" value="${fx.rooms.general}"/></uib>`),
    );
    fx.chat.part(bob, fx.rooms.general);
    const ntcPart = await alice.waitInfo((b) => b.includes('ntc:part'));
    assert.match(ntcPart.body, new RegExp(`<chanib uri="${room}"><uib uri="${BOB}"/></chanib>`));

    // SIP → web: alice parts and joins again
    await fx.chat.join(bob, [fx.rooms.general]);
    const rpl = await alice.command(dialog, 'part', `<chanib uri="${room}"/>`);
    assert.deepEqual(shape(rpl).ids, ['rpl:part']);
    assert.match(rpl, new RegExp(`<chanib uri="${room}"/>`));
    await eventually(() => bob.events.some((e) => e.type === 'part' && e.user === ALICE), 2000, 'part event');
    await alice.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);
    await eventually(
      () => bob.events.filter((e) => e.type === 'join' && e.user === ALICE).length === 1,
      2000,
      'join event',
    );
    fx.chat.closeSession(bob);
    alice.close();
  });

  test("a second SIP client in the room receives the first one's message; BYE makes the user leave", async () => {
    const { client: alice, dialog: ad } = await fx.login('alice');
    const { client: bob, dialog: bd } = await fx.login('bob');
    const room = fx.roomUri(fx.rooms.general);
    const chanid = `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`;
    await alice.command(ad, 'join', chanid);
    const bobJoin = await bob.command(bd, 'join', chanid);
    assert.match(bobJoin, new RegExp(`uri="${ALICE}"`), 'the roster lists alice');
    await alice.waitInfo((b) => b.includes('ntc:join') && b.includes(BOB));

    assert.equal(await alice.say(ad, room, 'ping bob'), 200);
    const got = await bob.waitInfo((b) => b.includes('ping bob'));
    assert.match(got.body, new RegExp(`author="${ALICE}"`));
    assert.equal(await bob.say(bd, room, 'pong alice'), 200);
    await alice.waitInfo((b) => b.includes('pong alice'));

    assert.equal((await alice.bye(ad)).status, 200);
    const part = await bob.waitInfo((b) => b.includes('ntc:part'));
    assert.match(part.body, new RegExp(`<uib uri="${ALICE}"/>`));
    // server INFOs count up per dialog
    const seqs = bob.infos
      .filter((i) => i.req.headers.get('call-id') === bd.callId)
      .map((i) => Number((i.req.headers.get('cseq') ?? '').split(' ')[0]));
    assert.ok(seqs.length >= 4);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
    alice.close();
    bob.close();
  });

  test('two connections with identical Call-IDs and From-tags keep separate dialogs', async () => {
    // SIPE seeds rand() with the current second: clients started in the same second send the same Call-IDs and
    // From-tags. Dialogs are per connection, so neither can answer, hijack or end the other's.
    const general = fx.roomUri(fx.rooms.general);
    const join = `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`;
    const clients = [await fx.connect('alice'), await fx.connect('bob')];
    const dialogs = [];
    for (const c of clients) {
      c.fromTag = 'same-tag';
      c.regCallId = 'same-register@client';
      assert.equal((await c.register()).status, 200);
      const pool = await c.invite(fx.server.poolUri, 'same-pool@client');
      assert.ok(pool.dialog);
      assert.match(await c.command(pool.dialog, 'requri'), /<uib uri="[^"]+"/);
      assert.equal((await c.bye(pool.dialog)).status, 200);
      const chatDialog = await c.invite(fx.server.chatServerUri, 'same-chat@client');
      assert.equal(chatDialog.response.status, 200);
      assert.ok(chatDialog.dialog);
      dialogs.push(chatDialog.dialog);
    }
    const [alice, bob] = clients as [SipClient, SipClient];
    const [aliceDialog, bobDialog] = dialogs as [ClientDialog, ClientDialog];
    assert.match(await alice.command(aliceDialog, 'join', join), /<resp code="200">/);
    assert.match(await bob.command(bobDialog, 'join', join), /<resp code="200">/);

    assert.equal(await alice.say(aliceDialog, general, 'same call-id, from alice'), 200);
    const atBob = await bob.waitInfo((b) => b.includes('same call-id, from alice'));
    assert.equal(atBob.req.headers.get('call-id'), 'same-chat@client');
    assert.match(atBob.body, new RegExp(`author="${ALICE}"`));
    await alice.waitInfo((b) => b.includes('same call-id, from alice')); // the sender's echo, on its own connection

    // alice's BYE ends her dialog only: bob's (same Call-ID, same tags) keeps working
    assert.equal((await alice.bye(aliceDialog)).status, 200);
    await eventually(() => !fx.chat.participants(fx.rooms.general).includes(ALICE), 5000, 'alice left');
    assert.equal(await bob.say(bobDialog, general, 'bob still here'), 200);
    await bob.waitInfo((b) => b.includes('bob still here'));
    assert.equal(
      (await alice.info(aliceDialog, SipClient.envelope('<cmd id="cmd:getinv" seqid="1"><data/></cmd>'))).status,
      481,
    );
    alice.close();
    bob.close();
  });

  test('closing the TCP connection ends the chat session', async () => {
    const bob = fx.webUser('bob');
    await fx.chat.join(bob, [fx.rooms.general]);
    const { client: alice, dialog } = await fx.login('alice');
    await alice.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);
    alice.close();
    await eventually(() => bob.events.some((e) => e.type === 'part' && e.user === ALICE), 2000, 'part on disconnect');
    assert.deepEqual(fx.chat.participants(fx.rooms.general), [BOB]);
    fx.chat.closeSession(bob);
  });

  test('REGISTER with Expires: 0 unregisters: dialogs end, and the connection must register again', async () => {
    const bob = fx.webUser('bob');
    await fx.chat.join(bob, [fx.rooms.general]);
    const { client: alice, dialog } = await fx.login('alice');
    await alice.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);
    const unreg = await alice.register({ expires: 0 });
    assert.equal(unreg.status, 200);
    assert.equal(unreg.headers.get('expires'), '0');
    await eventually(() => bob.events.some((e) => e.type === 'part' && e.user === ALICE), 2000, 'part on unregister');
    assert.equal((await alice.invite(fx.server.chatServerUri)).response.status, 403);
    assert.equal((await alice.register()).status, 200);
    assert.equal((await alice.invite(fx.server.chatServerUri)).response.status, 200);
    fx.chat.closeSession(bob);
    alice.close();
  });
});
