// The real SIPE client (Debian's pidgin-sipe, driven through bitlbee-libpurple) against the real pchat server
// process with SIP enabled, chatting with a WebSocket client (the SDK). See test/interop/README.md for the harness.
//
// The suite runs three times: SIP Digest over TCP (server sip.auth=digest), and NTLM over TCP and over TLS (the
// default sip.auth=both, SIPE with `authentication ntlm`, as it is set up for a real Lync pool; TLS with the
// server's self-signed certificate). With NTLM, SIPE drops every server message without a valid signature, so the
// history and live-message steps prove that the server signs everything; the log checks make it explicit.
//
// One server per run (SIP and HTTP on free ports, domain example.com, Digest realm "pchat"); the steps run in
// order and share state: a failing step makes the later ones fail fast rather than hang. Every SIPE step is bounded
// by the harness (STEP_MS) and fails with the IRC transcript and the SIP log tail; WebSocket waits are bounded too.
// Outside CI a machine without bitlbee/SIPE/gcc skips the suite (and says so); under CI it fails.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { PchatClient, type PchatConnection } from '../../src/client/index.js';
import type { ChatEvent } from '../../src/client/types.js';
import { openStore } from '../../src/store/open.js';
import { type ServerProcess, startServer, tempDataDir } from '../support/server.js';
import { BITLBEE_BIN, freePort, SIPE_PLUGIN } from './support/bitlbee.js';
import { buildSipeShim } from './support/shim.js';
import { SipeClient } from './support/sipe-client.js';

const DOMAIN = 'example.com';
const REALM = 'pchat';
const PASSWORD = 'secret-pw-1';
const STEP_MS = Number(process.env.PCHAT_INTEROP_STEP_TIMEOUT) || 20_000;
const sip = (name: string) => `sip:${name}@${DOMAIN}`;
const account = (name: string) => `${name}@${DOMAIN}`;

function missingTools(): string | undefined {
  for (const f of [BITLBEE_BIN, SIPE_PLUGIN, '/usr/include/libxml2/libxml/parser.h']) {
    if (!existsSync(f)) return `${f} not found`;
  }
  return undefined;
}
const missing = missingTools();
if (missing && process.env.CI) throw new Error(`CI requires the interop packages: ${missing}`);
if (missing) console.log(`# SKIPPED SIPE interop: ${missing} (apt-get install pidgin-sipe bitlbee-libpurple gcc)`);

/** Users alice/bob/carol, chat enabled globally; category Engineering; General (all three) and Private (alice). */
async function seed(dataDir: string): Promise<{ general: string; priv: string }> {
  const store = await openStore({ dataDir });
  try {
    const admin = new AdminService(store, { realm: REALM, domain: DOMAIN, pool: DOMAIN });
    await admin.setPolicy('global', { enablePersistentChat: true });
    for (const name of ['alice', 'bob', 'carol']) {
      await admin.addUser(sip(name), { displayName: name, password: PASSWORD });
    }
    const cat = await admin.newCategory({ name: 'Engineering', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
    const general = await admin.newRoom({
      name: 'General',
      description: 'general talk',
      category: cat.id,
      privacy: 'closed',
      members: { replace: [sip('alice'), sip('bob'), sip('carol')] },
    });
    const priv = await admin.newRoom({
      name: 'Private',
      category: cat.id,
      privacy: 'closed',
      members: { replace: [sip('alice')] },
    });
    return { general: general.id, priv: priv.id };
  } finally {
    await store.close();
  }
}

/**
 * A history line as bitlbee shows it: "[2026-01-01 10:00:00] text" for messages older than a minute, the bare
 * text for newer ones (bitlbee's irc_format_timestamp drops timestamps under 60 s old).
 */
const history = (text: string) =>
  new RegExp(`^(?:\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\] )?${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** Chat events seen on a WebSocket, with a bounded wait. */
class EventLog {
  readonly events: ChatEvent[] = [];
  private readonly waiters = new Set<() => void>();
  constructor(conn: PchatConnection) {
    conn.on('event', (e) => {
      this.events.push(e);
      for (const w of [...this.waiters]) w();
    });
  }
  async waitFor(what: string, test: (e: ChatEvent) => boolean, timeoutMs = STEP_MS): Promise<ChatEvent> {
    const found = () => this.events.find(test);
    const hit = found();
    if (hit) return hit;
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = found();
        if (!e) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.events.map((e) => JSON.stringify(e)).join('\n');
        reject(new Error(`WebSocket: timed out after ${timeoutMs} ms waiting for ${what}; events seen:\n${seen}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}

interface Mode {
  name: string;
  auth: 'digest' | 'ntlm';
  transport: 'tcp' | 'tls';
}

const MODES: Mode[] = [
  { name: 'Digest over TCP', auth: 'digest', transport: 'tcp' },
  { name: 'NTLM over TCP', auth: 'ntlm', transport: 'tcp' },
  { name: 'NTLM over TLS', auth: 'ntlm', transport: 'tls' },
];

/** SIPE's log lines that mean it dropped or rejected a server message for its signature. */
const SIGNATURE_TROUBLE = /message without authentication data - ignoring|signature of incoming message is invalid/;

// PCHAT_INTEROP_ONLY="NTLM over TLS" runs one mode (matched against the name).
const only = process.env.PCHAT_INTEROP_ONLY;
for (const mode of MODES) if (!only || mode.name.includes(only)) suite(mode);

function suite(mode: Mode): void {
  describe(`SIPE (Lync Group Chat client) against the pchat server process: ${mode.name}`, { skip: missing }, () => {
    const data = tempDataDir('pchat-interop-');
    let server: ServerProcess | undefined;
    let sipPort = 0;
    let tlsPort = 0;
    /** The port SIPE connects to, and how it signs in. */
    const login = (c: SipeClient, name: string, extra: { groupchatUser?: string } = {}) =>
      c.login(account(name), PASSWORD, mode.transport === 'tls' ? tlsPort : sipPort, {
        transport: mode.transport,
        ...(mode.auth === 'ntlm' ? { authentication: 'ntlm' } : {}),
        ...extra,
      });
    let rooms: { general: string; priv: string };
    const clients: SipeClient[] = [];
    let bob: PchatClient;
    let bobWs: PchatConnection | undefined;
    let bobEvents: EventLog;
    // SIPE clients and their IRC channel for General, shared by the ordered steps below.
    let alice: SipeClient;
    let aliceCh = '';
    let carol: SipeClient;
    let carolCh = '';

    const sipeClient = async (nick: string) => {
      const c = await SipeClient.start({ nick, stepTimeoutMs: STEP_MS });
      clients.push(c);
      return c;
    };
    /** Adds the server's stderr to a failure, so a server-side error is visible next to SIPE's view. */
    const withServerLog = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (e) {
        const tail = (server?.stderr() ?? '').split('\n').slice(-30).join('\n');
        (e as Error).message += `\n--- pchat server stderr tail ---\n${tail}`;
        throw e;
      }
    };

    before(async () => {
      await buildSipeShim(); // fail early with the install hint
      rooms = await seed(data.dir);
      // A port picked by freePort() can be taken before the server binds it: try another one then.
      for (let attempt = 1; !server; attempt++) {
        sipPort = await freePort();
        tlsPort = await freePort();
        try {
          server = await startServer(data.dir, {
            env: {
              PCHAT_TEST_SIP_PORT: String(sipPort),
              PCHAT_DOMAIN: DOMAIN,
              PCHAT_SIP_REALM: REALM,
              // Digest run: Digest only (SIPE would pick NTLM from a 401 offering both). NTLM runs: the default.
              PCHAT_SIP_AUTH: mode.auth === 'digest' ? 'digest' : 'both',
              ...(mode.transport === 'tls'
                ? { PCHAT_SIP_TLS_PORT: String(tlsPort), PCHAT_SIP_SELF_SIGNED_TLS: '1' }
                : {}),
              PCHAT_LOG_LEVEL: 'info', // shown on failure (withServerLog)
            },
          });
        } catch (e) {
          if (attempt >= 3) throw e;
        }
      }
      // History posted through the JSON API before any SIPE client is there.
      bob = new PchatClient(server.url);
      await bob.signIn(sip('bob'), PASSWORD);
      await bob.post(rooms.general, { text: 'history one' });
      await bob.post(rooms.general, { text: 'history two' });
    });

    after(async () => {
      await bobWs?.close().catch(() => undefined);
      await Promise.all(clients.map((c) => c.close()));
      await server?.stop();
      data.remove();
    });

    it(`refuses a wrong password with 403 (${mode.auth === 'digest' ? 'one Digest challenge, no 407 loop' : 'after the NTLM handshake'})`, () =>
      withServerLog(async () => {
        const mallory = await sipeClient('mallory');
        const port = mode.transport === 'tls' ? tlsPort : sipPort;
        const reason = await mallory.loginShouldFail(account('alice'), 'wrong-password', port, {
          transport: mode.transport,
          ...(mode.auth === 'ntlm' ? { authentication: 'ntlm' } : {}),
        });
        // SIPE shows the 403's Warning text (without one: "no reason given")
        assert.equal(reason, 'You have been rejected by the server: Wrong user name or password');
        const received = (await mallory.bitlbee.sipMessages()).filter((m) => m.direction === 'in');
        if (mode.auth === 'digest') {
          assert.equal(received.filter((m) => / 407 /.test(m.startLine)).length, 1, 'exactly one challenge');
        } else {
          // the NTLM offer, then the CHALLENGE; the AUTHENTICATE is refused
          assert.equal(received.filter((m) => / 401 /.test(m.startLine)).length, 2, 'two 401s');
        }
        assert.ok(received.some((m) => / 403 /.test(m.startLine)));
        await mallory.close();
      }));

    it(`logs in with ${mode.auth === 'digest' ? 'Digest' : 'NTLM'} and lists the rooms it may see`, () =>
      withServerLog(async () => {
        alice = await sipeClient('alice');
        await login(alice, 'alice');
        const messages = await alice.bitlbee.sipMessages();
        const sent = messages.filter((m) => m.direction === 'out');
        if (mode.auth === 'digest') {
          assert.ok(
            sent.some((m) => /^REGISTER /.test(m.startLine) && /Proxy-Authorization: Digest /i.test(m.text)),
            'SIPE answered the Digest challenge',
          );
        } else {
          assert.ok(
            sent.some(
              (m) =>
                /^REGISTER /.test(m.startLine) && /Authorization: NTLM [^\r\n]*gssapi-data="TlRMTVNTUAAD/i.test(m.text),
            ),
            'SIPE sent an NTLM AUTHENTICATE',
          );
          const ok = messages.find((m) => m.direction === 'in' && /^SIP\/2\.0 200 /.test(m.startLine));
          assert.match(ok?.text ?? '', /Authentication-Info: NTLM rspauth="[0-9A-F]{32}"/, 'the 200 is signed');
        }
        if (mode.transport === 'tls') {
          assert.ok(
            sent.some((m) => /^REGISTER /.test(m.startLine) && /^Via: SIP\/2\.0\/tls /im.test(m.text)),
            'SIPE came over TLS',
          );
        }
        const listed = await alice.listRooms({ minRooms: 2 });
        assert.deepEqual(listed.map((r) => r.title).sort(), ['General', 'Private']);
      }));

    it('joins a room and gets the history posted through the JSON API', () =>
      withServerLog(async () => {
        aliceCh = await alice.joinRoom('General');
        // SIPE asks cmd:bccontext after the join; the history comes back in rpl:bccontext with the original times.
        await alice.waitForSip({
          direction: 'in',
          match: /<rpl id="rpl:bccontext"[\s\S]*author="sip:bob@example\.com" ts="[^"]+Z"><chat>history one<\/chat>/,
        });
        await alice.waitForMessage(aliceCh, history('history one'), { from: 'bob' });
        await alice.waitForMessage(aliceCh, history('history two'), { from: 'bob' });
      }));

    it('sees the WebSocket user join', () =>
      withServerLog(async () => {
        bobWs = await bob.connect({ reconnect: false });
        bobEvents = new EventLog(bobWs);
        const [joined] = await bobWs.join(rooms.general);
        assert.ok(joined?.ok, JSON.stringify(joined));
        await alice.waitForJoin(aliceCh, 'bob');
      }));

    it('posts a message that the WebSocket client receives', () =>
      withServerLog(async () => {
        alice.say(aliceCh, 'hello from sipe');
        const e = await bobEvents.waitFor(
          'alice\'s "hello from sipe"',
          (x) => x.type === 'message' && x.message.text === 'hello from sipe',
        );
        assert.equal(e.type === 'message' && e.message.author, sip('alice'));
        // SIPE never shows its own post: the server's echo is what it displays (bitlbee drops it as "sent").
        await alice.waitForSip({
          direction: 'in',
          match: /<grpchat [^>]*author="sip:alice@example\.com"[^>]*>[\s\S]*hello from sipe/,
        });
      }));

    it('receives a message the WebSocket client posts', () =>
      withServerLog(async () => {
        const m = await bobWs!.post(rooms.general, { text: 'hello from websocket' });
        assert.equal(m.author, sip('bob'));
        await alice.waitForMessage(aliceCh, /^hello from websocket$/, { from: 'bob' });
      }));

    it("a second SIPE client in the room sees the join and receives the first one's message", () =>
      withServerLog(async () => {
        carol = await sipeClient('carol');
        // Over TLS carol is set up as for the old Lync pool: NTLM, TLS and the old well-known Group Chat address
        // (the legacy endpoint, here the default sip:ocschat@…) instead of the provisioned pool URI.
        const oldAddress = mode.transport === 'tls' ? `ocschat@${DOMAIN}` : undefined;
        await login(carol, 'carol', oldAddress ? { groupchatUser: oldAddress } : {});
        carolCh = await carol.joinRoom('General');
        if (oldAddress) {
          const log = await carol.bitlbee.sipMessages();
          assert.ok(
            log.some((m) => m.direction === 'out' && m.startLine.startsWith(`INVITE sip:${oldAddress} `)),
            'SIPE INVITEd the old address',
          );
          const ok = log.find(
            (m) => m.direction === 'in' && /^SIP\/2\.0 200 /.test(m.startLine) && /CSeq: \d+ INVITE/i.test(m.text),
          );
          assert.match(ok?.text ?? '', new RegExp(`To: "Persistent Chat" <sip:${oldAddress}>;tag=`), 'display name');
        }
        await alice.waitForJoin(aliceCh, 'carol');
        // carol's history shows what alice said before (her own client never shows it)
        await carol.waitForMessage(carolCh, history('hello from sipe'), { from: 'alice' });
        const since = carol.mark();
        alice.say(aliceCh, 'sipe to sipe');
        await carol.waitForMessage(carolCh, /^sipe to sipe$/, { from: 'alice', since });
        carol.say(carolCh, 'carol answers');
        await alice.waitForMessage(aliceCh, /^carol answers$/, { from: 'carol' });
        await bobEvents.waitFor(
          'carol\'s "carol answers"',
          (x) => x.type === 'message' && x.message.text === 'carol answers' && x.message.author === sip('carol'),
        );
      }));

    it('leaves the room, and the WebSocket client sees the part', () =>
      withServerLog(async () => {
        await alice.leave(aliceCh);
        await bobEvents.waitFor(
          'alice leaving General',
          (x) => x.type === 'part' && x.user === sip('alice') && x.roomId === rooms.general,
        );
        await carol.waitForPart(carolCh, 'alice');
      }));

    it('neither side dropped a message for its signature', { skip: mode.auth !== 'ntlm' }, () =>
      withServerLog(async () => {
        // the server refused none of SIPE's signed requests and responses (it logs each refusal)
        assert.doesNotMatch(server?.stderr() ?? '', /signature refused/);
        assert.match(server?.stderr() ?? '', /sip ntlm sign-in/);
        for (const c of [alice, carol]) {
          const log = await c.bitlbee.debugLog();
          assert.doesNotMatch(log, SIGNATURE_TROUBLE);
          assert.match(log, /signature of incoming message validated/);
          // every INFO the server sent carried a signature
          const infos = (await c.bitlbee.sipMessages()).filter(
            (m) => m.direction === 'in' && /^INFO /.test(m.startLine),
          );
          assert.ok(infos.length > 0);
          for (const m of infos) assert.match(m.text, /Authentication-Info: NTLM rspauth=/);
        }
      }),
    );
  });
}
