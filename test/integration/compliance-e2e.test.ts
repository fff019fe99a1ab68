// The "done when": a room's day through WebSocket and XCCOS (joins, posts, a history view, a search,
// a file up and down) comes out of the XML adapter exactly once after the run interval, valid against the XSD,
// and out of the JSON Lines adapter with the same events; a SIGKILL between the actions and the adapter run
// loses and duplicates nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { PchatClient } from '../../src/client/client.js';
import { verifyDirectory } from '../../src/compliance/chain.js';
import { parseComplianceConfig } from '../../src/compliance/config.js';
import { ComplianceStore } from '../../src/compliance/store.js';
import { xmllintValidate } from '../support/compliance-env.js';
import { DOMAIN, eventually, PASSWORD, seedStandard, startServer, tempDataDir, uri } from '../support/server.js';
import { SipClient } from '../support/sip-client.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function xccosLogin(port: number, name: string) {
  const client = await SipClient.connect(port, uri(name), PASSWORD);
  const reg = await client.register();
  assert.equal(reg.status, 200);
  const sub = await client.subscribe();
  const pool = /DefaultPersistentChatPoolUri">([^<]+)</.exec(sub.body.toString())?.[1] as string;
  const lookup = await client.invite(pool);
  const rpl = await client.command(lookup.dialog as NonNullable<typeof lookup.dialog>, 'requri');
  const chatUri = /<uib uri="([^"]+)"/.exec(rpl)?.[1] as string;
  await client.bye(lookup.dialog as NonNullable<typeof lookup.dialog>);
  const chat = await client.invite(chatUri);
  return { client, dialog: chat.dialog as NonNullable<typeof chat.dialog> };
}

interface Line {
  eventId: number;
  type: string;
  door: string;
  content: string;
  messageId: number | null;
}

/** One scripted day; returns the exported events as [type, door, content] triples, in event order. */
async function roomDay(adapterType: 'xml' | 'jsonl', killBeforeExport: boolean): Promise<string[][]> {
  const data = tempDataDir(`pchat-e2e-${adapterType}-`);
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  const stores: ComplianceStore[] = [];
  try {
    const seeded = await seedStandard(data.dir);
    const cs = await ComplianceStore.open({ dataDir: data.dir });
    await cs.putConfig(parseComplianceConfig({ adapterType, runIntervalSeconds: 60, adapterOutputDirectory: 'out' }));
    await cs.close();
    const sipPort = await freePort();
    const env = { PCHAT_TEST_SIP_PORT: String(sipPort), PCHAT_COMPLIANCE_CHECK_MS: '200', PCHAT_DOMAIN: DOMAIN };
    servers.push(await startServer(data.dir, { env }));
    const hold = await ComplianceStore.open({ dataDir: data.dir });
    stores.push(hold);
    // the worker's first run at start finds nothing; the next is due a RunInterval (60 s) later
    await eventually(async () => (await hold.workerState()).lastRunAt !== null, 10_000, 'first worker run');
    const firstRun = (await hold.workerState()).lastRunAt as number;
    const room = seeded.closed;
    const roomUri = `ma-chan://${DOMAIN}/${room}`;

    const alice = new PchatClient((servers[0] as (typeof servers)[number]).url);
    await alice.signIn(uri('alice'), PASSWORD);
    const ws = await alice.connect({ reconnect: false });
    await ws.join(room);
    const bob = await xccosLogin(sipPort, 'bob');
    await bob.client.command(bob.dialog, 'bjoin', `<chanib uri="${roomUri}"/>`);
    await ws.post(room, { text: 'good morning' });
    assert.equal(await bob.client.say(bob.dialog, roomUri, 'morning from SIPE'), 200);
    await bob.client.command(bob.dialog, 'bccontext', `<chanib uri="${roomUri}"/><bcq><last cnt="25"/></bcq>`);
    await ws.history(room, { limit: 10 });
    await ws.search({ room, text: 'morning' });
    const up = await alice.upload(room, {
      name: 'agenda.txt',
      contentType: 'text/plain',
      body: new TextEncoder().encode('1. coffee'),
    });
    await alice.download(up.file?.id as string);
    await bob.client.command(bob.dialog, 'part', `<chanib uri="${roomUri}"/>`);
    await ws.part(room);
    await ws.close();
    bob.client.close();

    const recorded = (await hold.list()).filter((e) => e.roomId === room || e.type === 'SEARCH');
    assert.deepEqual(await hold.pending(), [], 'every acknowledged action is committed in the record');
    assert.equal((await hold.counts()).exported, 0, 'nothing exported before the run interval');
    if (killBeforeExport) {
      await (servers[0] as (typeof servers)[number]).kill();
      servers.push(await startServer(data.dir, { env }));
    }
    // the run interval comes: the (restarted) server's worker exports everything, once
    const out = join(data.dir, 'out');
    await eventually(
      async () => (await hold.counts()).unexported === 0 && (await hold.workerState()).batchSeq > 0,
      90_000,
      'export after the run interval',
    );
    const exportedAt = (await hold.workerState()).lastSuccessAt as number;
    assert.ok(exportedAt >= firstRun + 60_000, 'not before the run interval');

    const files = readdirSync(out)
      .filter((n) => n.endsWith(adapterType === 'xml' ? '.xml' : '.jsonl'))
      .sort();
    let lines: Line[];
    if (adapterType === 'xml') {
      const parser = new XMLParser({
        ignoreAttributes: false,
        attributeNamePrefix: '',
        isArray: (n) => n === 'Message' || n === 'Conversation',
      });
      lines = files.flatMap((f) => {
        xmllintValidate(join(out, f));
        const doc = parser.parse(readFileSync(join(out, f), 'utf8')) as {
          Conversations: {
            Conversation?: {
              Messages: { Message: (Omit<Line, 'eventId' | 'messageId'> & { eventid: string; id?: string })[] };
            }[];
          };
        };
        return (doc.Conversations.Conversation ?? []).flatMap((c) =>
          c.Messages.Message.map((m) => ({
            eventId: Number(m.eventid),
            type: m.type,
            door: m.door,
            content: m.content,
            messageId: m.id ? Number(m.id) : null,
          })),
        );
      });
    } else
      lines = files.flatMap((f) =>
        readFileSync(join(out, f), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Line),
      );
    lines.sort((a, b) => a.eventId - b.eventId);
    assert.equal(new Set(lines.map((l) => l.eventId)).size, lines.length, 'no event exported twice');
    const expected = recorded.map((e) => e.id);
    assert.deepEqual(
      lines.filter((l) => expected.includes(l.eventId)).map((l) => l.eventId),
      expected,
      'every recorded event, once',
    );
    assert.equal((await verifyDirectory(out)).ok, true);
    return lines.filter((l) => expected.includes(l.eventId)).map((l) => [l.type, l.door, l.content]);
  } finally {
    for (const s of servers) await s.kill();
    for (const s of stores) await s.close().catch(() => {});
    data.remove();
  }
}

describe('compliance end to end', { timeout: 180_000 }, () => {
  test('a day in a room through WebSocket and XCCOS, exported once as XML (after a SIGKILL) and as JSON Lines', async () => {
    // both days at once: each waits a whole RunInterval (the minimum is a minute)
    const [xml, jsonl] = await Promise.all([roomDay('xml', true), roomDay('jsonl', false)]);
    const types = xml.map(([t, d]) => `${t}/${d}`);
    for (const want of [
      'JOIN/ws',
      'JOIN/xccos',
      'CHAT/ws',
      'CHAT/xccos',
      'BACKCHAT/xccos',
      'BACKCHAT/ws',
      'SEARCH/ws',
      'FILEUPLOAD/rest',
      'FILEDOWNLOAD/rest',
      'PART/xccos',
      'PART/ws',
    ])
      assert.ok(types.includes(want), `${want} in ${types.join(', ')}`);
    assert.ok(xml.some(([t, , c]) => t === 'CHAT' && c === 'morning from SIPE'));
    assert.deepEqual(jsonl, xml, 'the JSON Lines adapter carries the same events');
  });
});

describe('message removal, live', { timeout: 120_000 }, () => {
  test('WebSocket and XCCOS participants see the removal at once; history, search and feeds drop it; the record keeps it', async () => {
    const data = tempDataDir('pchat-e2e-remove-');
    const servers: Awaited<ReturnType<typeof startServer>>[] = [];
    try {
      const seeded = await seedStandard(data.dir);
      const cs = await ComplianceStore.open({ dataDir: data.dir });
      await cs.putConfig(parseComplianceConfig({ runIntervalSeconds: 3600 }));
      await cs.close();
      const sipPort = await freePort();
      const server = await startServer(data.dir, {
        env: { PCHAT_TEST_SIP_PORT: String(sipPort), PCHAT_DOMAIN: DOMAIN },
      });
      servers.push(server);
      const room = seeded.closed;
      const roomUri = `ma-chan://${DOMAIN}/${room}`;
      const alice = new PchatClient(server.url);
      await alice.signIn(uri('alice'), PASSWORD);
      const feed = await alice.createFeed({
        name: 'deals',
        keywords: ['merger'],
        authors: [],
        roomIds: [room],
        alert: false,
      });
      const ws = await alice.connect({ reconnect: false });
      await ws.join(room);
      const seen: { type: string; ids?: number[]; text?: string }[] = [];
      ws.on('event', (e) => {
        if (e.type === 'message.removed' || e.type === 'message.replaced') seen.push(e);
      });
      const bob = await xccosLogin(sipPort, 'bob');
      await bob.client.command(bob.dialog, 'bjoin', `<chanib uri="${roomUri}"/>`);
      const secret = await ws.post(room, { text: 'the merger closes friday' });
      const kept = await ws.post(room, { text: 'lunch at noon' });
      await eventually(async () => (await alice.feedMessages(feed.id)).length === 1, 5000, 'feed match');

      // an administrator removes it from another process (the CLI)
      const cli = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'message',
          'remove',
          '--room',
          room,
          '--filter',
          'merger',
          '--remove',
          '--json',
          '--data',
          data.dir,
        ],
        { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8', env: { ...process.env, PCHAT_DOMAIN: DOMAIN } },
      );
      assert.equal(cli.status, 0, cli.stderr);
      assert.equal(JSON.parse(cli.stdout).count, 1);

      await eventually(() => seen.length > 0, 10_000, 'the WebSocket notice');
      assert.deepEqual(seen, [{ type: 'message.removed', roomId: room, ids: [secret.id] }]);
      const notice = await bob.client.waitInfo(
        (b) => b.includes('removed by the Persistent Chat administrator'),
        10_000,
      );
      assert.match(notice.body, /A message in this room was removed/);
      const history = await alice.history(room, { limit: 50 });
      assert.deepEqual(
        history.map((m) => m.id),
        [kept.id],
      );
      assert.equal((await alice.search({ room, text: 'merger' })).messages.length, 0);
      assert.deepEqual(await alice.feedMessages(feed.id), []);
      // a new join's recent messages (backchat) no longer carry it
      const ws2 = await alice.connect({ reconnect: false });
      const [rejoin] = await ws2.join(room);
      await ws2.close();
      assert.ok(rejoin?.ok);
      if (rejoin?.ok)
        assert.deepEqual(
          rejoin.joined.history.map((m) => m.id),
          [kept.id],
        );
      // the record keeps the original and who removed it
      const rec = await ComplianceStore.open({ dataDir: data.dir });
      const events = await rec.forMessages([secret.id]);
      await rec.close();
      assert.deepEqual(
        events.map((e) => [e.type, e.content]),
        [
          ['CHAT', 'the merger closes friday'],
          ['REMOVE', 'the merger closes friday'],
        ],
      );
      assert.equal(events[1]?.sender, 'system');
      await ws.close();
      bob.client.close();
    } finally {
      for (const s of servers) await s.kill();
      data.remove();
    }
  });
});
