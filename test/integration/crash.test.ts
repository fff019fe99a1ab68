// Durability: clients post concurrently, the server process is SIGKILLed mid-stream and restarted; every
// post that was acknowledged is in history exactly once, and nothing is there twice.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PchatClient, type PchatConnection } from '../../src/client/index.js';
import type { MessageView } from '../../src/client/types.js';
import { PASSWORD, seedStandard, startServer, tempDataDir, uri } from '../support/server.js';

const data = tempDataDir();
after(() => data.remove());

async function fullHistory(c: PchatClient, room: string): Promise<MessageView[]> {
  const all: MessageView[] = [];
  let afterId = 0;
  for (;;) {
    const page = await c.history(room, { after: afterId, limit: 500 });
    all.push(...page);
    if (page.length < 500) return all;
    afterId = page.at(-1)?.id as number;
  }
}

test('every acknowledged message survives a SIGKILL exactly once', async () => {
  const ids = await seedStandard(data.dir);
  let server = await startServer(data.dir);
  const writers: { name: string; room: string }[] = [
    { name: 'alice', room: ids.closed },
    { name: 'bob', room: ids.closed },
    { name: 'carol', room: ids.open },
    { name: 'dave', room: ids.open },
    { name: 'frank', room: ids.open },
  ];
  const acked = new Map<number, string>();
  const attempted = new Set<string>();
  const conns: PchatConnection[] = [];
  for (const w of writers) {
    const c = new PchatClient(server.url);
    await c.signIn(uri(w.name), PASSWORD);
    conns.push(await c.connect({ reconnect: false }));
  }
  let stop = false;
  // each writer keeps 8 posts in flight until the server dies
  const loops = writers.flatMap((w, i) =>
    Array.from({ length: 8 }, async (_, lane) => {
      const conn = conns[i] as PchatConnection;
      for (let n = 0; !stop; n++) {
        const text = `${w.name}-${lane}-${n}`;
        attempted.add(text);
        try {
          const m = await conn.post(w.room, { text });
          assert.equal(m.text, text);
          acked.set(m.id, text);
        } catch (e) {
          assert.equal((e as { code: string }).code, 'DISCONNECTED', String(e));
          return;
        }
      }
    }),
  );
  while (acked.size < 400) await new Promise((r) => setTimeout(r, 5));
  await server.kill();
  stop = true;
  await Promise.all(loops);
  const ackedBeforeKill = acked.size;
  assert.ok(ackedBeforeKill >= 400);

  server = await startServer(data.dir);
  try {
    const reader = new PchatClient(server.url);
    await reader.signIn(uri('alice'), PASSWORD);
    const history = [...(await fullHistory(reader, ids.closed)), ...(await fullHistory(reader, ids.open))];
    const byId = new Map(history.map((m) => [m.id, m]));
    for (const [id, text] of acked) assert.equal(byId.get(id)?.text, text, `acknowledged message ${id} is missing`);
    const texts = history.map((m) => m.text);
    assert.equal(new Set(texts).size, texts.length, 'no message is stored twice');
    assert.equal(new Set(history.map((m) => m.id)).size, history.length);
    for (const t of texts) assert.ok(attempted.has(t), `unexpected message ${t}`);
    // at most the posts in flight at the kill were committed without an acknowledgement
    assert.ok(history.length >= acked.size && history.length <= acked.size + writers.length * 8);
  } finally {
    await server.stop();
  }
});
