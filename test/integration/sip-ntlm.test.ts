// NTLM sign-in on the SIP door ([MS-SIPAE]) and the signatures after it, with a scripted client that does what
// SIPE does (test/support/ntlm-client.ts): offers per `sip.auth`, the three-REGISTER handshake, signed
// messages both ways, and refusal of unsigned, forged and replayed messages. The real SIPE runs in test/interop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRequest } from '../../src/transports/sip/codec.js';
import { parseAuthValue } from '../../src/transports/sip/sipae.js';
import { eventually, type SipFixture, startSipFixture } from '../support/sip-client.js';

const DOMAIN = 'contoso.com';

describe('SIP door with NTLM and Digest (sip.auth both)', () => {
  let fx: SipFixture;
  before(async () => {
    fx = await startSipFixture({}, { auth: 'both' });
  });
  after(async () => {
    await fx.close();
  });

  test('the first REGISTER gets a 401 offering NTLM ([MS-SIPAE] form) and Digest', async () => {
    const c = await fx.connect('alice');
    const first = await c.request(c.registerRequest(900));
    assert.equal(first.status, 401);
    const offers = first.headers.getAll('www-authenticate');
    assert.equal(offers.length, 2);
    assert.equal(offers[0], `NTLM realm="SIP Communications Service", targetname="${DOMAIN}", version=4`);
    assert.match(offers[1] ?? '', /^Digest realm="pchat", nonce="[^"]+", qop="auth"/);
    // A Digest client answers the 401 in Authorization and signs in too.
    const c2 = await fx.connect('bob');
    assert.equal((await c2.register()).status, 200);
  });

  test('the NTLM handshake signs in; the 200 and every later server message carries a valid rspauth', async () => {
    const c = await fx.connect('alice');
    const ok = await c.registerNtlm();
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('expires'), '900');
    const info = parseAuthValue(ok.headers.get('authentication-info'));
    assert.equal(info?.scheme, 'NTLM');
    assert.match(info?.params.get('rspauth') ?? '', /^01000000[0-9A-F]{16}64000000$/);
    assert.equal(info?.params.get('opaque'), c.ntlm?.opaque);
    assert.equal(c.signaturesOk, 1, 'the 200 to REGISTER checked out');
    // a signed refresh needs no new handshake
    assert.equal((await c.request(c.registerRequest(900))).status, 200);
    const sub = await c.subscribe();
    assert.equal(sub.status, 200);
    assert.deepEqual(c.droppedUnsigned, []);
    assert.equal(c.signaturesOk, 3);
  });

  test('rooms work over an NTLM connection: join, history, live messages both ways, nothing dropped', async () => {
    const { client, dialog } = await fx.login('alice', { ntlm: true });
    const room = fx.roomUri(fx.rooms.general);
    const joined = await client.command(
      dialog,
      'join',
      `<chanid key="0" domain="${DOMAIN}" value="${fx.rooms.general}"/>`,
    );
    assert.match(joined, /rpl:join/);
    assert.match(joined, /<resp code="200">/);
    const web = fx.webUser('bob');
    await fx.chat.join(web, [fx.rooms.general]);
    await fx.chat.post(web, fx.rooms.general, { text: 'hello from the web' });
    const live = await client.waitInfo((b) => b.includes('hello from the web'));
    assert.match(live.body, /<grpchat /);
    await client.say(dialog, room, 'hello from sipe');
    await eventually(
      () => web.events.some((e) => e.type === 'message' && e.message.text === 'hello from sipe'),
      3000,
      'the web user to get the SIP post',
    );
    assert.deepEqual(client.droppedUnsigned, [], 'every server message was signed');
    assert.ok(client.signaturesOk >= 6);
  });

  test('after the handshake an unsigned, forged or replayed request is refused and changes nothing', async () => {
    const c = await fx.connect('alice');
    assert.equal((await c.registerNtlm()).status, 200);
    c.signOutgoing = false;
    const unsigned = await c.subscribe();
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.headers.get('warning') ?? '', /signature missing or invalid/);
    // an unsigned REGISTER may start a new handshake, but not end the registration
    assert.equal((await c.request(c.registerRequest(0))).status, 403);
    c.signOutgoing = true;
    assert.equal((await c.subscribe()).status, 200, 'still registered');

    // forged: a valid signature over other header values
    const forged = createRequest('OPTIONS', `sip:${DOMAIN}`, [
      ['Via', 'SIP/2.0/tcp 127.0.0.1:40000'],
      ['From', `<sip:alice@${DOMAIN}>;tag=${c.fromTag}`],
      ['To', `<sip:${DOMAIN}>`],
      ['Call-ID', 'forged@client'],
      ['CSeq', '1 OPTIONS'],
    ]);
    c.sign(forged);
    forged.headers.set('Call-ID', 'other@client');
    assert.equal((await c.request(forged)).status, 403);

    // replayed: a cnum already used (the same signature a second time)
    const first = createRequest('OPTIONS', `sip:${DOMAIN}`, [
      ['Via', 'SIP/2.0/tcp 127.0.0.1:40000'],
      ['From', `<sip:alice@${DOMAIN}>;tag=${c.fromTag}`],
      ['To', `<sip:${DOMAIN}>`],
      ['Call-ID', 'replay@client'],
      ['CSeq', '1 OPTIONS'],
    ]);
    assert.equal((await c.request(first)).status, 200);
    const again = await c.request(first); // same Authorization header: already signed, not re-signed
    assert.equal(again.status, 403);
    assert.match(again.headers.get('warning') ?? '', /Replayed message/);
    // the connection still works with properly signed messages
    assert.equal((await c.subscribe()).status, 200);
  });

  test('a wrong password, the wrong user, or NetBIOS DOMAIN\\user names', async () => {
    const wrong = await fx.connect('alice', 'not-the-password');
    const res = await wrong.registerNtlm();
    assert.equal(res.status, 403);
    assert.match(res.headers.get('warning') ?? '', /Wrong user name or password/);
    const other = await fx.connect('alice');
    assert.equal((await other.registerNtlm({ user: `bob@${DOMAIN}` })).status, 403, 'bob cannot register alice');
    const netbios = await fx.connect('alice');
    assert.equal((await netbios.registerNtlm({ user: 'alice', domain: 'CONTOSO' })).status, 200);
    const disabled = await fx.connect('dave');
    assert.equal((await disabled.registerNtlm()).status, 403);
  });
});

describe('unsigned responses from an NTLM client', () => {
  test('count as no answer: the server INFO times out and its dialog ends', async () => {
    const fx = await startSipFixture({ transactionTimeoutMs: 300 }, { auth: 'ntlm' });
    try {
      const { client, dialog } = await fx.login('alice', { ntlm: true });
      client.signOutgoing = false; // the 200s to server INFOs go out unsigned from now on
      const sent = client.info(
        dialog,
        '<xccos ver="1" envid="1" xmlns="urn:parlano:xml:ns:xccos"><cmd id="cmd:getinv" seqid="1"><data/></cmd></xccos>',
      );
      assert.equal((await sent).status, 403, 'the unsigned INFO itself is refused');
      client.signOutgoing = true;
      const rpl = await client.command(dialog, 'requri');
      assert.match(rpl, /rpl:requri/);
      // our (signed) INFO is answered, but the server's INFO gets an unsigned 200: wait for the timeout
      client.signResponses = false;
      assert.match(await client.command(dialog, 'requri'), /rpl:requri/);
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await client.info(dialog, '<xccos/>')).status, 481, 'the dialog was dropped');
    } finally {
      await fx.close();
    }
  });
});

describe('sip.auth picks the schemes', () => {
  test('ntlm only: no Digest offered, a Digest answer is challenged again', async () => {
    const fx = await startSipFixture({}, { auth: 'ntlm' });
    try {
      const c = await fx.connect('alice');
      const first = await c.request(c.registerRequest(900));
      assert.equal(first.status, 401);
      assert.deepEqual(
        first.headers.getAll('www-authenticate').map((v) => v.split(' ')[0]),
        ['NTLM'],
      );
      const digest = c.registerRequest(900, c.digestAnswer('Digest realm="pchat", nonce="abc"', 'secret-password'));
      assert.equal((await c.request(digest)).status, 401);
      assert.equal((await c.registerNtlm()).status, 200);
    } finally {
      await fx.close();
    }
  });

  test('digest only: the 407 Digest challenge, and an NTLM answer gets the Digest challenge again', async () => {
    const fx = await startSipFixture({}, { auth: 'digest' });
    try {
      const c = await fx.connect('alice');
      const first = await c.request(c.registerRequest(900));
      assert.equal(first.status, 407);
      assert.equal(first.headers.has('www-authenticate'), false);
      const ntlm = c.registerRequest(900);
      ntlm.headers.set(
        'Authorization',
        'NTLM qop="auth", realm="SIP Communications Service", targetname="x", gssapi-data="", version=4',
      );
      assert.equal((await c.request(ntlm)).status, 407);
    } finally {
      await fx.close();
    }
  });
});

describe('legacy endpoints on the SIP door', () => {
  test('an endpoint answers under its display name, and removing it ends its dialogs with a (signed) BYE', async () => {
    const fx = await startSipFixture({ endpointCheckMs: 50 }, { auth: 'both' });
    try {
      await fx.admin.removeEndpoint(`sip:ocschat@${DOMAIN}`);
      await fx.admin.newEndpoint({ sipAddress: `sip:groupchat@${DOMAIN}`, displayName: 'Old Group Chat' });
      const c = await fx.connect('alice');
      assert.equal((await c.registerNtlm()).status, 200);
      const { response, dialog } = await c.invite(`sip:groupchat@${DOMAIN}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('to') ?? '', /^"Old Group Chat" <sip:groupchat@contoso\.com>;tag=/);
      assert.ok(dialog);
      assert.match(await c.command(dialog, 'requri'), /rpl:requri/);
      const bye = c.waitMessage((m) => m.kind === 'request' && m.method === 'BYE', 3000);
      await fx.admin.removeEndpoint(`sip:groupchat@${DOMAIN}`);
      const req = await bye;
      assert.equal(req.headers.get('call-id'), dialog.callId);
      assert.match(req.headers.get('from') ?? '', /^"Old Group Chat" <sip:groupchat@contoso\.com>;tag=/);
      assert.deepEqual(c.droppedUnsigned, [], 'the BYE was signed');
      assert.equal((await c.info(dialog, '<xccos/>')).status, 481, 'the dialog is gone');
      assert.equal((await c.invite(`sip:groupchat@${DOMAIN}`)).response.status, 404);
    } finally {
      await fx.close();
    }
  });
});

describe('a password change on an NTLM connection', () => {
  test('ends the dialogs with a signed BYE; signing in again needs the new password', async () => {
    const fx = await startSipFixture({}, { auth: 'ntlm' });
    try {
      const { client, dialog } = await fx.login('bob', { ntlm: true });
      assert.match(await client.command(dialog, 'requri'), /rpl:requri/);
      await fx.admin.setUser(`sip:bob@${DOMAIN}`, { password: 'another password 1' });
      await eventually(() => client.arrivals.some((a) => a.startsWith('BYE')), 5000, 'BYE from the server');
      assert.deepEqual(client.droppedUnsigned, [], 'the BYE was signed with the current keys');
      assert.equal((await client.subscribe()).status, 403, 'the registration ended');
      assert.equal((await client.registerNtlm()).status, 403, 'the old password no longer works');
      const again = await fx.connect('bob', 'another password 1');
      assert.equal((await again.registerNtlm()).status, 200);
    } finally {
      await fx.close();
    }
  });
});
