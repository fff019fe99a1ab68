// Refusals and failure paths of the SIP/XCCOS front door: authentication, unknown dialogs, XCCOS errors a client
// can show, bad bytes on the wire, rate limits, and a client that stops answering. The server must stay up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { THROTTLE_DEFAULTS } from '../../src/chat/chat-service.js';
import { UserRateLimiter } from '../../src/chat/user-rate-limiter.js';
import { createRequest } from '../../src/transports/sip/codec.js';
import { DOMAIN, eventually, PASSWORD, SipClient, type SipFixture, startSipFixture } from '../support/sip-client.js';

const ALICE = `sip:alice@${DOMAIN}`;

describe('SIP/XCCOS refusals', () => {
  let fx: SipFixture;

  before(async () => {
    fx = await startSipFixture();
  });
  after(async () => {
    await fx.close();
  });

  test('a wrong password, an unknown user and a disabled user get 403', async () => {
    const wrong = await fx.connect('alice', 'not the password');
    const r = await wrong.register();
    assert.equal(r.status, 403);
    // SIPE shows only the Warning text ("You have been rejected by the server: <text>"), never the reason phrase
    assert.equal(r.headers.get('warning'), '399 pchat "Wrong user name or password"');
    assert.equal(wrong.user, ALICE);
    const nobody = await fx.connect('nobody');
    assert.equal((await nobody.register()).status, 403);
    const dave = await fx.connect('dave');
    assert.equal((await dave.register()).status, 403, 'disabled user');
    // a nonce that is not ours gets a fresh challenge, not a refusal
    const forged = await fx.connect('alice');
    const first = await forged.request(
      forged.registerRequest(
        900,
        forged.digestAnswer('Digest realm="pchat", nonce="x"', PASSWORD, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      ),
    );
    assert.equal(first.status, 407);
  });

  test('password guessing slows the user down on SIP sign-in from that address, as on every other door', async () => {
    for (let i = 0; i < THROTTLE_DEFAULTS.free; i++) {
      const c = await fx.connect('grace', `guess ${i}`);
      assert.equal((await c.register()).status, 403);
    }
    const right = await fx.connect('grace');
    const r = await right.register();
    assert.equal(r.status, 403, 'refused even with the right password while locked');
    assert.match(r.headers.get('warning') ?? '', /Too many failed sign-ins/);
    // the same address on another door is slowed too (the counters are shared); another address is not
    await assert.rejects(fx.chat.signIn(`sip:grace@${DOMAIN}`, PASSWORD, '127.0.0.1'), { code: 'RATE_LIMITED' });
    assert.equal((await fx.chat.signIn(`sip:grace@${DOMAIN}`, PASSWORD, '192.0.2.44')).user, `sip:grace@${DOMAIN}`);
  });

  test('requests before REGISTER are refused; OPTIONS is answered', async () => {
    const c = await fx.connect('alice');
    assert.equal((await c.invite(fx.server.poolUri)).response.status, 403);
    assert.equal((await c.subscribe()).status, 403);
    const options = await c.request(
      createRequest('OPTIONS', `sip:${DOMAIN}`, [
        ['Via', 'SIP/2.0/tcp 127.0.0.1:40000'],
        ['From', `<${ALICE}>;tag=x`],
        ['To', `<sip:${DOMAIN}>`],
        ['Call-ID', 'opt-1'],
        ['CSeq', '1 OPTIONS'],
      ]),
    );
    assert.equal(options.status, 200);
    assert.match(options.headers.get('allow') ?? '', /INFO/);
  });

  test('joining a closed room as a non-member gives a resp code and a sentence; bjoin answers room by room', async () => {
    const { client: erin, dialog } = await fx.login('erin');
    const closed = fx.roomUri(fx.rooms.closed);
    const rpl = await erin.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.closed}"/>`);
    assert.match(rpl, /<rpl id="rpl:join" seqid="1">/);
    assert.match(rpl, new RegExp(`<resp code="403">Only members of this room may do this\\. \\(${closed}\\)</resp>`));
    // a secret room does not reveal that it exists
    const secret = await erin.command(
      dialog,
      'join',
      `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.secret}"/>`,
    );
    assert.match(secret, /<resp code="404">room: [^<]+ does not exist/);
    // bjoin: one success rpl for the room joined, one error rpl per room refused
    const b = await erin.command(
      dialog,
      'bjoin',
      `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.lobby}"/><chanid key="1" domain="${DOMAIN}" value="${fx.rooms.closed}"/><chanid key="2" domain="elsewhere.com" value="x"/>`,
    );
    const rpls = [
      ...b.matchAll(/<rpl id="rpl:bjoin" seqid="1"><commandid[^>]*\/><resp code="(\d+)">([^<]*)<\/resp>/g),
    ].map((m) => [m[1], m[2]]);
    assert.deepEqual(
      rpls.map((r) => r[0]),
      ['200', '404', '403'],
    );
    assert.match(b, /<chanib name="Lobby"/);
    assert.doesNotMatch(b, /<chanib name="Closed"/);
    assert.deepEqual(fx.chat.participants(fx.rooms.closed), []);
    erin.close();
  });

  test('XCCOS errors: unknown command → error rpl; bad envelope → SIP 400; a refused grpchat → non-200 (SIPE: "not delivered")', async () => {
    const { client: alice, dialog } = await fx.login('alice');
    const unknown = await alice.command(dialog, 'frobnicate');
    assert.match(unknown, /<rpl id="rpl:frobnicate" seqid="1"><commandid[^>]*\/><resp code="400">unknown command/);
    const bad = await alice.command(dialog, 'bccontext', '<chanib uri="not-a-room"/>');
    assert.match(bad, /<resp code="400">not a room URI/);
    assert.equal((await alice.info(dialog, '<not-xccos/>')).status, 400);
    assert.equal((await alice.info(dialog, '<xccos ver="1" envid="1"><cmd')).status, 400);

    const general = fx.roomUri(fx.rooms.general);
    // the chat service's rules decide: alice is not a member of Closed
    assert.equal(await alice.say(dialog, fx.roomUri(fx.rooms.closed), 'not a member'), 403);
    await alice.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);
    const limit = fx.chat.serverInfo().config.messageSizeLimit;
    assert.equal(await alice.say(dialog, general, 'x'.repeat(limit + 1)), 413);
    assert.equal(await alice.say(dialog, general, 'fits'), 200);
    assert.equal(await alice.say(dialog, 'ma-chan://elsewhere.com/x', 'wrong domain'), 404);
    assert.equal(
      (await alice.info(dialog, SipClient.envelope('<grpchat id="grpchat" seqid="1"><chat>no room</chat></grpchat>')))
        .status,
      400,
    );
    const posted = await fx.store.messages.before(fx.rooms.general, 10);
    assert.deepEqual(
      posted.map((m) => m.text),
      ['fits'],
      'only the accepted message was stored',
    );
    assert.deepEqual(await fx.store.messages.before(fx.rooms.closed, 10), []);
    alice.close();
  });

  test('in-dialog requests for an unknown dialog get 481; UPDATE refreshes a known one; stray CANCEL gets 481', async () => {
    const { client: alice, dialog } = await fx.login('alice');
    const ghost = { ...dialog, callId: 'ghost@client', remoteTo: `<${fx.server.chatServerUri}>;tag=nope`, cseq: 5 };
    assert.equal(
      (await alice.info(ghost, SipClient.envelope('<cmd id="cmd:requri" seqid="1"><data/></cmd>'))).status,
      481,
    );
    assert.equal((await alice.bye(ghost)).status, 481);
    // right Call-ID, wrong tag
    const wrongTag = { ...dialog, remoteTo: `<${fx.server.chatServerUri}>;tag=nope` };
    assert.equal((await alice.request(alice.inDialog(wrongTag, 'UPDATE'))).status, 481);
    const update = await alice.request(alice.inDialog(dialog, 'UPDATE'));
    assert.equal(update.status, 200);
    assert.match(update.headers.get('session-expires') ?? '', /^1800;refresher=uac$/);
    assert.equal((await alice.request(alice.inDialog(ghost, 'CANCEL', undefined, 1))).status, 481);
    alice.close();
  });

  test('a client that answers 481 to a server INFO loses the dialog and its chat session', async () => {
    const bob = fx.webUser('bob');
    await fx.chat.join(bob, [fx.rooms.general]);
    const { client: alice, dialog } = await fx.login('alice');
    await alice.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);
    alice.infoStatus = 481;
    await fx.chat.post(bob, fx.rooms.general, { text: 'are you there?' });
    await eventually(() => bob.events.some((e) => e.type === 'part' && e.user === ALICE), 2000, 'part after 481');
    alice.infoStatus = 200;
    assert.equal(
      (await alice.info(dialog, SipClient.envelope('<cmd id="cmd:getinv" seqid="1"><data/></cmd>'))).status,
      481,
    );
    // SIPE then rebuilds: INVITE the chat URI again and rejoin
    const again = await alice.invite(fx.server.chatServerUri);
    assert.equal(again.response.status, 200);
    fx.chat.closeSession(bob);
    alice.close();
  });

  test('garbage and oversized input get 400/413 and a closed connection; the server stays up', async () => {
    const garbage = await fx.connect('alice');
    garbage.sendRaw('HELLO WORLD\r\nthis is not sip\r\n\r\n');
    await garbage.closed;

    const big = await fx.connect('alice');
    const oversized = big.waitMessage((m) => m.kind === 'response');
    big.sendRaw(
      `INFO sip:x@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/tcp 127.0.0.1:1\r\nFrom: <${ALICE}>;tag=a\r\nTo: <sip:x@${DOMAIN}>;tag=b\r\nCall-ID: big\r\nCSeq: 1 INFO\r\nContent-Length: 99999999\r\n\r\n`,
    );
    const res = await oversized;
    assert.equal(res.kind === 'response' && res.status, 413);
    await big.closed;

    const badHeaders = await fx.connect('alice');
    const missing = badHeaders.waitMessage((m) => m.kind === 'response');
    badHeaders.sendRaw(
      `REGISTER sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/tcp 127.0.0.1:1\r\nFrom: <${ALICE}>;tag=a\r\nTo: <${ALICE}>\r\nCSeq: 1 REGISTER\r\n\r\n`,
    );
    const m = await missing;
    assert.equal(m.kind === 'response' && m.status, 400);

    // an XML bomb inside a valid dialog is refused without harm
    const { client: alice, dialog } = await fx.login('alice');
    const bomb =
      '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><xccos ver="1" envid="1"><cmd id="cmd:requri" seqid="1"><data>&a;</data></cmd></xccos>';
    assert.equal((await alice.info(dialog, bomb)).status, 400);
    const rpl = await alice.command(dialog, 'requri');
    assert.match(rpl, /rpl:requri/);
    alice.close();
  });
});

describe('SIP/XCCOS limits', () => {
  let fx: SipFixture;

  before(async () => {
    fx = await startSipFixture({ infoRatePerSecond: 1, infoBurst: 4, maxDialogs: 2, transactionTimeoutMs: 300 });
  });
  after(async () => {
    await fx.close();
  });

  test('INFOs above the rate get 503 with Retry-After', async () => {
    const { client: alice, dialog } = await fx.login('alice'); // login used 1 INFO (requri)
    const statuses: number[] = [];
    const retryAfter: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await alice.info(dialog, SipClient.envelope('<cmd id="cmd:getinv" seqid="1"><data/></cmd>'));
      statuses.push(r.status);
      retryAfter.push(r.headers.get('retry-after'));
    }
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.equal(statuses.at(-1), 503);
    assert.equal(retryAfter.at(-1), '1');
    alice.close();
  });

  test('dialogs per connection are capped', async () => {
    const c = await fx.connect('bob');
    await c.register();
    assert.equal((await c.invite(fx.server.chatServerUri)).response.status, 200);
    assert.equal((await c.invite(fx.server.chatServerUri)).response.status, 200);
    assert.equal((await c.invite(fx.server.chatServerUri)).response.status, 486);
    c.close();
  });

  test('a server INFO left unanswered ends the dialog after the transaction timeout', async () => {
    const web = fx.webUser('alice');
    await fx.chat.join(web, [fx.rooms.general]);
    const { client: bob, dialog } = await fx.login('bob');
    await bob.command(dialog, 'join', `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`);
    // stop answering: swallow every further server INFO
    (bob as unknown as { onMessage: (m: unknown) => void }).onMessage = () => {};
    await fx.chat.post(web, fx.rooms.general, { text: 'anyone?' });
    await eventually(
      () => web.events.some((e) => e.type === 'part' && e.user === `sip:bob@${DOMAIN}`),
      3000,
      'part after timeout',
    );
    fx.chat.closeSession(web);
    bob.close();
  });
});

describe('SIP draws on the per-user budget shared with REST and the WebSocket', () => {
  let fx: SipFixture;
  const limiter = new UserRateLimiter({ ratePerSecond: 0.5, burst: 30 });

  before(async () => {
    fx = await startSipFixture({}, {}, limiter);
  });
  after(async () => {
    await fx.close();
  });

  test("once another door has spent alice's budget, her INFOs get 503 with Retry-After; bob's still work", async () => {
    const { client: alice, dialog } = await fx.login('alice');
    const { client: bob, dialog: bobDialog } = await fx.login('bob');
    // what REST and WebSocket requests of alice take from the same budget
    while (limiter.take(ALICE) === 0) {}
    const r = await alice.info(dialog, SipClient.envelope('<cmd id="cmd:getinv" seqid="1"><data/></cmd>'));
    assert.equal(r.status, 503);
    assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const b = await bob.info(bobDialog, SipClient.envelope('<cmd id="cmd:getinv" seqid="1"><data/></cmd>'));
    assert.equal(b.status, 200);
    alice.close();
    bob.close();
  });
});
