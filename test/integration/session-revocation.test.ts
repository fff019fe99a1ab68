// Revoking a token or changing a password ends the live sessions using them on every door: a WebSocket opened
// with the token is closed with 4001, a SIP dialog gets a BYE from the server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { PchatClient } from '../../src/client/index.js';
import {
  PASSWORD,
  type ServerProcess,
  seedStandard,
  startServer,
  tempDataDir,
  uri,
  withAdmin,
} from '../support/server.js';
import { eventually, DOMAIN as SIP_DOMAIN, type SipFixture, startSipFixture } from '../support/sip-client.js';

async function signIn(base: string, user: string): Promise<string> {
  const r = await fetch(`${base}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password: PASSWORD }),
  });
  assert.equal(r.status, 201);
  return ((await r.json()) as { token: string }).token;
}

/** Opens /ws, authenticating with `?token=` or with an auth frame; resolves once signed in. */
async function openWs(
  base: string,
  token: string,
  how: 'query' | 'frame',
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const url = `${base.replace(/^http/, 'ws')}/ws${how === 'query' ? `?token=${encodeURIComponent(token)}` : ''}`;
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const me = new Promise<Record<string, unknown>>((resolve) =>
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as Record<string, unknown>;
      if (f.id === 'me') resolve(f);
    }),
  );
  if (how === 'frame') ws.send(JSON.stringify({ type: 'auth', token }));
  ws.send(JSON.stringify({ id: 'me', type: 'me' }));
  const answer = await me;
  assert.equal(answer.ok, true, JSON.stringify(answer));
  return { ws, closed };
}

describe('ending live sessions when a credential is revoked', () => {
  const data = tempDataDir();
  let server: ServerProcess;
  before(async () => {
    await seedStandard(data.dir);
    server = await startServer(data.dir);
  });
  after(async () => {
    await server?.stop();
    data.remove();
  });

  for (const how of ['query', 'frame'] as const) {
    test(`DELETE /api/sessions/current closes the WebSocket opened with that token (${how}) and no other`, async () => {
      const token = await signIn(server.url, uri('alice'));
      const other = await signIn(server.url, uri('alice'));
      const a = await openWs(server.url, token, how);
      const b = await openWs(server.url, other, how);
      const r = await fetch(`${server.url}/api/sessions/current`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.ok(r.status < 300, `DELETE answered ${r.status}`);
      const c = await a.closed;
      assert.equal(c.code, 4001);
      assert.match(c.reason, /revoked/);
      assert.equal(b.ws.readyState, WebSocket.OPEN, 'a socket with another token stays open');
      b.ws.close();
      await b.closed;
    });
  }
});

describe('the SDK and a revoked token', () => {
  const data = tempDataDir();
  let server: ServerProcess;
  before(async () => {
    await seedStandard(data.dir);
    server = await startServer(data.dir);
  });
  after(async () => {
    await server?.stop();
    data.remove();
  });

  test('a revoked token: the connection is ended with 4001 and signs in again with the kept credentials', async () => {
    const client = new PchatClient(server.url);
    await client.signIn(uri('bob'), PASSWORD);
    const conn = await client.connect({ reconnect: true });
    const dropped = new Promise<{ code: number }>((resolve) => conn.on('disconnected', (e) => resolve(e)));
    const reconnected = conn.next('reconnected');
    const old = client.token;
    const r = await fetch(`${server.url}/api/sessions/current`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${old}` },
    });
    assert.ok(r.status < 300);
    assert.equal((await dropped).code, 4001);
    await reconnected;
    assert.notEqual(client.token, old, 'a fresh token');
    await conn.close();
  });

  test('a changed password: the connection is ended and stops after one refused sign-in', async () => {
    const client = new PchatClient(server.url);
    await client.signIn(uri('carol'), PASSWORD);
    const conn = await client.connect({ reconnect: true });
    const errors: string[] = [];
    conn.on('error', (e) => void errors.push(e.code));
    const closed = new Promise<{ code: number }>((resolve) => conn.on('closed', (e) => resolve(e)));
    await withAdmin(data.dir, (admin) => admin.setUser(uri('carol'), { password: 'a brand new password' }));
    assert.equal((await closed).code, 4001);
    assert.equal(conn.state, 'closed');
    assert.deepEqual(errors, ['AUTH_FAILED'], 'one sign-in attempt with the old password, not a loop');
  });
});

describe('ending a SIP dialog when the password changes', () => {
  let fx: SipFixture;
  before(async () => {
    fx = await startSipFixture();
  });
  after(async () => fx?.close());

  test('the server sends BYE for the chat dialog and ends its chat session', async () => {
    const { client, dialog } = await fx.login('bob');
    // the dialog's chat session opens with its first command
    const rpl = await client.command(
      dialog,
      'bjoin',
      `<chanid key="0" domain="${SIP_DOMAIN}" value="${fx.rooms.general}"/>`,
    );
    assert.match(rpl, /SUCCESS_OK/);
    // a second connection whose chat dialog has not sent a command yet (no chat session behind it)
    const { client: idle } = await fx.login('bob');
    const web = fx.webUser('bob');
    const alice = fx.webUser('alice');
    const sessionsBefore = fx.chat.stats().sessions;
    await fx.admin.setUser(`sip:bob@${SIP_DOMAIN}`, { password: 'another password 1' });
    await eventually(() => client.arrivals.some((a) => a.startsWith('BYE')), 5000, 'BYE from the server');
    await eventually(() => idle.arrivals.some((a) => a.startsWith('BYE')), 5000, 'BYE on the idle dialog');
    await eventually(() => fx.chat.stats().sessions === sessionsBefore - 2, 5000, 'both bob sessions ended');
    assert.ok(web.events.some((e) => e.type === 'ended'));
    assert.equal(alice.events.length, 0);
    assert.doesNotThrow(() => fx.chat.core.liveSession(alice));
    // the registration ended with the old password: the connection must register again
    const sub = await client.subscribe();
    assert.equal(sub.status, 403);
  });
});
