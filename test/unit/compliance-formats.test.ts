// The XML and JSON Lines adapters' output, and the hash chain's verification, on files in a temp directory.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { BatchEvent, ComplianceBatch } from '../../src/compliance/adapters/adapter.js';
import { JsonLinesAdapter } from '../../src/compliance/adapters/jsonl.js';
import { attr, dotNetTicks, XmlAdapter } from '../../src/compliance/adapters/xml.js';
import { batchPrefix, verifyDirectory, writeManifest } from '../../src/compliance/chain.js';
import { parseComplianceConfig } from '../../src/compliance/config.js';
import { xmllintValidate } from '../support/compliance-env.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'pchat-fmt-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ev = (id: number, over: Partial<BatchEvent> = {}): BatchEvent => ({
  id,
  door: 'xccos',
  type: 'CHAT',
  roomId: 'room-a',
  sender: 'sip:alice@contoso.com',
  content: `message ${id}`,
  messageId: 100 + id,
  ts: 1_764_600_000_000 + id,
  data: {},
  room: {
    id: 'room-a',
    name: 'Alpha',
    uri: 'ma-chan://contoso.com/room-a',
    logged: true,
    description: 'd',
    category: 'Eng',
  },
  senderDetails: { uri: 'sip:alice@contoso.com', displayName: 'Alice', email: 'alice@contoso.com', internal: true },
  ...over,
});

const batch = (seq: number, events: BatchEvent[]): ComplianceBatch => ({
  seq,
  events,
  startTime: Math.min(...events.map((e) => e.ts)),
  endTime: Math.max(...events.map((e) => e.ts)),
});

describe('compliance formats', () => {
  test('.NET ticks and attribute escaping', () => {
    assert.equal(dotNetTicks(0), '621355968000000000');
    assert.equal(dotNetTicks(1_700_000_000_000), '638355968000000000');
    assert.equal(attr('a&b<c>"d"\ne\tf'), 'a&amp;b&lt;c&gt;&quot;d&quot;&#10;e&#9;f');
    assert.equal(attr('bell\u0007 lone\uD800 ok\uD83D\uDE00'), 'bell\uFFFD lone\uFFFD ok\uD83D\uDE00');
  });

  test('XML with every option: one file per room, details, attachments manifest; all valid against the XSD', async () => {
    const dir = tmp();
    const config = parseComplianceConfig({
      addChatRoomDetails: true,
      addUserDetails: true,
      oneChatRoomPerOutputFile: true,
      createFileAttachmentsManifest: true,
    });
    const events = [
      ev(1, { type: 'JOIN', content: '', messageId: null }),
      ev(2),
      ev(3, {
        roomId: 'room-b',
        room: { id: 'room-b', name: 'Beta', uri: 'ma-chan://contoso.com/room-b', logged: false },
        type: 'FILEUPLOAD',
        content: 'plan.pdf',
        data: { fileId: 'f-1', size: 12, contentType: 'application/pdf', storageKey: 'ab/f-1' },
      }),
      ev(4, {
        type: 'SEARCH',
        roomId: '',
        room: null,
        content: 'budget',
        messageId: null,
        senderDetails: { uri: 'sip:x@fabrikam.com', displayName: 'sip:x@fabrikam.com', email: null, internal: false },
      }),
      ev(5, { type: 'REPLACE', content: 'secret', data: { replacement: 'This message was replaced' } }),
    ];
    const out = await new XmlAdapter().write(batch(7, events), {
      outputDirectory: dir,
      filePrefix: batchPrefix(7),
      config,
    });
    assert.deepEqual(out.files.sort(), [
      'batch-00000007-all-rooms.xml',
      'batch-00000007-room-a.xml',
      'batch-00000007-room-b.xml',
      'batch-00000007.ATTACH',
    ]);
    for (const f of out.files.filter((n) => n.endsWith('.xml'))) xmllintValidate(join(dir, f));
    const a = readFileSync(join(dir, 'batch-00000007-room-a.xml'), 'utf8');
    assert.match(
      a,
      /<Channel uri="ma-chan:\/\/contoso.com\/room-a" name="Alpha" islogged="true" id="room-a" description="d" category="Eng"\/>/,
    );
    assert.match(a, /<FirstMessage type="JOIN" content="" eventid="1" door="xccos">/);
    assert.match(a, /<Message type="CHAT" content="message 2" id="102" eventid="2" door="xccos">/);
    assert.match(
      a,
      /<Sender UserName="Alice" id="sip:alice@contoso.com" email="alice@contoso.com" internal="true" uri="sip:alice@contoso.com"\/>/,
    );
    assert.match(a, /replacement="This message was replaced"/);
    assert.match(readFileSync(join(dir, 'batch-00000007-all-rooms.xml'), 'utf8'), /internal="false"/);
    const attach = readFileSync(join(dir, 'batch-00000007.ATTACH'), 'utf8').trim().split('\n');
    assert.equal(attach.length, 2);
    assert.deepEqual(attach[1]?.split('\t'), [
      '103',
      'f-1',
      'plan.pdf',
      '12',
      'application/pdf',
      'ab/f-1',
      'room-b',
      'sip:alice@contoso.com',
    ]);
  });

  test('JSON Lines keeps the exact text and the same events', async () => {
    const dir = tmp();
    const events = [ev(1, { content: 'nul-free but \u0007 bell and \uD800' }), ev(2)];
    const out = await new JsonLinesAdapter().write(batch(1, events), {
      outputDirectory: dir,
      filePrefix: batchPrefix(1),
      config: parseComplianceConfig({}),
    });
    const lines = readFileSync(join(dir, out.files[0] as string), 'utf8')
      .trim()
      .split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { eventId: number; content: string; sender: object });
    assert.deepEqual(
      parsed.map((p) => p.eventId),
      [1, 2],
    );
    assert.equal(parsed[0]?.content, 'nul-free but \u0007 bell and \uD800');
    assert.deepEqual(parsed[1]?.sender, { uri: 'sip:alice@contoso.com', displayName: 'Alice' });
  });

  test('verify names the file for an edit, a deletion, an extra file and a broken link', async () => {
    const dir = tmp();
    let prev = '';
    for (let seq = 1; seq <= 3; seq++) {
      const out = await new XmlAdapter().write(batch(seq, [ev(seq)]), {
        outputDirectory: dir,
        filePrefix: batchPrefix(seq),
        config: parseComplianceConfig({}),
      });
      const m = await writeManifest(
        dir,
        { seq, adapter: 'xml', firstEventId: seq, lastEventId: seq, events: 1, startTime: 'a', endTime: 'b', prev },
        out.files,
      );
      prev = m.hash;
    }
    const good = await verifyDirectory(dir);
    assert.equal(good.ok, true, good.problems.join('; '));
    assert.equal(good.head, prev);
    writeFileSync(join(dir, 'stray.txt'), 'x');
    assert.deepEqual((await verifyDirectory(dir)).problems, ['stray.txt: not listed by any batch manifest']);
    unlinkSync(join(dir, 'stray.txt'));
    // a whole batch removed: the next one names the gap
    unlinkSync(join(dir, 'batch-00000002.xml'));
    unlinkSync(join(dir, 'batch-00000002.manifest.json'));
    assert.deepEqual((await verifyDirectory(dir)).problems, [
      'batch-00000003.manifest.json: batch 2 is missing before it',
    ]);
    // a manifest edited to hide a change no longer matches its own hash
    const m3 = join(dir, 'batch-00000003.manifest.json');
    const j = JSON.parse(readFileSync(m3, 'utf8')) as { events: number };
    j.events = 99;
    writeFileSync(m3, JSON.stringify(j));
    assert.ok(
      (await verifyDirectory(dir)).problems.includes(
        'batch-00000003.manifest.json: manifest hash does not match its content',
      ),
    );
    assert.ok(readdirSync(dir).length > 0);
  });
});
