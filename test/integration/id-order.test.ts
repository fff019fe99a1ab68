// Issue #9 item 2: posts sent in order commit in order, and catch-up by id never skips a late commit, on both
// engines. Against real servers (WebSocket and REST) and against the store itself (two stores = a pool).
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { PchatClient, type PchatConnection } from '../../src/client/index.js';
import type { NewMessage, Store } from '../../src/store/port.js';
import { DIALECTS, type Engine, freshEngine } from '../support/engines.js';
import { DOMAIN, PASSWORD, type ServerProcess, startServer, uri } from '../support/server.js';
import { engineUnavailable, newMessage } from '../support/spec-engines.js';

const msg = (roomId: string, text: string): NewMessage =>
  newMessage(roomId, text, { author: uri('alice'), ts: Date.now() });

/** POST over one kept-alive socket (requests queue on it in the order they are made). */
function postOn(agent: Agent, base: string, path: string, token: string, body: unknown): Promise<number> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': data.length,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 201 && res.statusCode !== 200) reject(new Error(`${res.statusCode} ${text}`));
          else resolve(Number((JSON.parse(text) as { message: { id: number } }).message.id));
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

for (const dialect of DIALECTS) {
  describe(`id order: ${dialect}`, { timeout: 120_000 }, () => {
    let engine: Engine | undefined;
    let server: ServerProcess | undefined;
    let roomId = '';
    const conns: PchatConnection[] = [];

    before(async () => {
      engine = await freshEngine(dialect, 'id order');
      if (!engine) return;
      const store = await engine.open();
      try {
        const admin = new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN });
        await admin.setPolicy('global', { enablePersistentChat: true });
        await admin.addUser(uri('alice'), { password: PASSWORD });
        const cat = await admin.newCategory({ name: 'Engineering', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
        roomId = (await admin.newRoom({ name: 'order', category: cat.id, privacy: 'open' })).id;
      } finally {
        await store.close();
      }
      server = await startServer(engine.location.dataDir, {
        env: {
          ...(engine.location.db ? { PCHAT_DB: engine.location.db } : {}),
          PCHAT_TEST_WS_RATE: '100000',
          PCHAT_TEST_WS_BURST: '100000',
          PCHAT_RATE_LIMIT_PER_SECOND: '100000',
          PCHAT_RATE_LIMIT_BURST: '100000',
        },
      });
    });
    after(async () => {
      for (const c of conns) await c.close();
      await server?.stop();
      await engine?.cleanup();
    });

    test('120 posts back to back on one WebSocket get strictly increasing ids in send order, 5 rounds', async (t) => {
      if (!server) return engineUnavailable(t, dialect);
      const client = new PchatClient(server.url);
      await client.signIn(uri('alice'), PASSWORD);
      const conn = await client.connect({ reconnect: false });
      conns.push(conn);
      await conn.join(roomId);
      let last = 0;
      for (let round = 0; round < 5; round++) {
        const sent = Array.from({ length: 120 }, (_, i) => conn.post(roomId, { text: `r${round} #${i}` }));
        const got = await Promise.all(sent);
        for (let i = 0; i < got.length; i++) {
          const m = got[i] as { id: number; text: string };
          assert.equal(m.text, `r${round} #${i}`);
          assert.ok(m.id > last, `round ${round}: post #${i} got id ${m.id} after id ${last}`);
          last = m.id;
        }
      }
      // history, which pages by id, shows them in the order they were sent
      const history = await client.history(roomId, { limit: 120 });
      assert.deepEqual(
        history.map((m) => m.text),
        Array.from({ length: 120 }, (_, i) => `r4 #${i}`),
      );
    });

    test('120 posts back to back on one REST connection get increasing ids in send order', async (t) => {
      if (!server) return engineUnavailable(t, dialect);
      const client = new PchatClient(server.url);
      const token = (await client.signIn(uri('alice'), PASSWORD)).token;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const ids = await Promise.all(
          Array.from({ length: 120 }, (_, i) =>
            postOn(agent, server?.url as string, `/api/rooms/${roomId}/messages`, token, { text: `rest #${i}` }),
          ),
        );
        for (let i = 1; i < ids.length; i++) assert.ok((ids[i] as number) > (ids[i - 1] as number), `ids ${ids}`);
      } finally {
        agent.destroy();
      }
    });
  });

  describe(`id order in the store: ${dialect}`, { timeout: 120_000 }, () => {
    let engine: Engine | undefined;
    const stores: Store[] = [];
    before(async () => {
      engine = await freshEngine(dialect, 'id order in the store');
    });
    after(async () => {
      for (const s of stores) await s.close();
      await engine?.cleanup();
    });

    test('appends made back to back commit in call order', async (t) => {
      if (!engine) return engineUnavailable(t, dialect);
      const store = await engine.open();
      stores.push(store);
      for (let round = 0; round < 3; round++) {
        const batches = await Promise.all(
          Array.from({ length: 40 }, (_, i) => store.messages.append([msg('r', `a${i}`), msg('r', `b${i}`)])),
        );
        const ids = batches.flat().map((m) => m.id);
        for (let i = 1; i < ids.length; i++) assert.ok((ids[i] as number) > (ids[i - 1] as number), `${ids}`);
      }
    });

    test('a reader catching up by id never skips a message that commits late (two writers, one reader)', async (t) => {
      if (!engine) return engineUnavailable(t, dialect);
      // on PostgreSQL two stores on one database are two servers of a pool; SQLite serves one server (two
      // writers there are two callers of one store), read here through a second connection to the file
      const a = await engine.open();
      const b = dialect === 'postgres' ? await engine.open() : a;
      const reader = await engine.open();
      stores.push(...new Set([a, b, reader]));
      const room = `catchup-${dialect}`;
      const written: number[] = [];
      let writing = true;
      const writer = async (s: Store, tag: string) => {
        for (let i = 0; i < 60; i++) {
          // a transaction that lingers after taking its ids: the other writer must wait, not commit past it
          const out = await s.atomically(async (tx) => {
            const m = await tx.messages.append([msg(room, `${tag}${i}`)]);
            if (i % 5 === 0) await new Promise((r) => setTimeout(r, 5));
            return m;
          });
          written.push(...out.map((m) => m.id));
        }
      };
      const seen: number[] = [];
      const read = async () => {
        let lastId = 0;
        for (;;) {
          // read the flag before the query: a query already under way when the last write commits may not see
          // it, so only an empty page asked for after the writers finished ends the catch-up
          const finished = !writing;
          const page = await reader.messages.after(room, lastId, 1000);
          for (const m of page) seen.push(m.id);
          if (page.length > 0) lastId = (page[page.length - 1] as { id: number }).id;
          if (finished && page.length === 0) return;
          await new Promise((r) => setImmediate(r));
        }
      };
      const reading = read();
      await Promise.all([writer(a, 'a'), writer(b, 'b')]);
      writing = false;
      await reading;
      const missed = written.filter((id) => !seen.includes(id));
      assert.deepEqual(missed, [], `the reader skipped ids ${missed} (it read up to ${Math.max(...seen)})`);
      assert.equal(seen.length, 120, 'the reader saw every message exactly once');
      assert.deepEqual(
        [...seen].sort((x, y) => x - y),
        [...written].sort((x, y) => x - y),
      );
    });
  });
}
