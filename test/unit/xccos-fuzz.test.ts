// Seeded fuzzing of the XCCOS reader: every body ends in an envelope or a typed XccosError, quickly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCommand } from '../../src/transports/xccos/commands.js';
import { parseEnvelope, XccosError } from '../../src/transports/xccos/envelope.js';
import { escapeXmlAttr, escapeXmlText } from '../../src/transports/xccos/xml.js';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = ReturnType<typeof prng>;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, list: readonly T[]): T => list[int(r, list.length)] as T;

const TEXT_CHARS = 'abcXYZ019 <>&"\'/\\\r\n\t;:=-_.é€😀';
function randomString(r: Rand, max: number): string {
  let s = '';
  const n = int(r, max);
  for (let i = 0; i < n; i++) s += pick(r, [...TEXT_CHARS]);
  return s;
}

const ROOM = 'ma-chan://example.com/1111-5555';

/** Well-formed items for every command a client sends, with random (escaped) values. */
const ITEMS: ((r: Rand) => string)[] = [
  () => '<cmd id="cmd:requri" seqid="1"><data/></cmd>',
  (r) =>
    `<cmd id="cmd:join" seqid="1"><data><chanid key="0" domain="example.com" value="${escapeXmlAttr(randomString(r, 12))}"/></data></cmd>`,
  (r) =>
    `<cmd id="cmd:bjoin" seqid="1"><data>${'<chanid key="0" domain="example.com" value="r1"/>'.repeat(int(r, 5))}</data></cmd>`,
  (r) =>
    `<cmd id="cmd:chansrch" seqid="1"><data><qib qtype="BYNAME" criteria="${escapeXmlAttr(randomString(r, 20))}" extended="false"/></data></cmd>`,
  (r) =>
    `<cmd id="cmd:bccontext" seqid="1"><data><chanib uri="${ROOM}"/><bcq><last cnt="${int(r, 100)}"/></bcq></data></cmd>`,
  () => `<cmd id="cmd:part" seqid="1"><data><chanib uri="${ROOM}"/></data></cmd>`,
  () => '<cmd id="cmd:getinv" seqid="1"><data><inv inviteId="1" domain="example.com"/></data></cmd>',
  () => '<cmd id="cmd:getserverinfo" seqid="1"><data><sib domain="example.com" infoType="123"/></data></cmd>',
  (r) =>
    `<cmd id="cmd:setpref" seqid="1"><data><pref label="l" seqid="1" createdefault="false" content="${Buffer.from(randomString(r, 30)).toString('base64')}"/></data></cmd>`,
  (r) =>
    `<grpchat id="grpchat" seqid="1" chanUri="${ROOM}" author="sip:a@example.com" ts="2026-01-01T10:00:00Z"><chat>${escapeXmlText(randomString(r, 80))}</chat></grpchat>`,
  (r) => `<cmd id="cmd:${randomString(r, 8).replace(/[^a-z]/g, '') || 'nope'}" seqid="1"><data/></cmd>`,
];

function validEnvelope(r: Rand): string {
  const items = Array.from({ length: 1 + int(r, 3) }, () => pick(r, ITEMS)(r)).join('');
  return `<xccos ver="1" envid="${int(r, 2 ** 31)}" xmlns="urn:parlano:xml:ns:xccos">${items}</xccos>`;
}

const BOMBS = [
  '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
  '<!DOCTYPE xccos SYSTEM "http://example.com/x.dtd">',
  '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
  '<!ENTITY a "b">',
];

const MUTATIONS: ((s: string, r: Rand) => string)[] = [
  (s, r) => s.slice(0, int(r, s.length)),
  (s, r) => s.slice(int(r, s.length)),
  (s, r) => {
    const at = int(r, s.length);
    return (
      s.slice(0, at) +
      pick(r, ['<', '>', '&', '"', "'", '/', '<!--', ']]>', '&#0;', '&bogus;', '<a>', '</b>', '\u0000']) +
      s.slice(at)
    );
  },
  (s, r) => {
    const at = int(r, s.length);
    return s.slice(0, at) + s.slice(at + 1 + int(r, 10));
  },
  (s, r) => pick(r, BOMBS) + s,
  (s) => s.replace('<data>', `<data>${'<x>'.repeat(200)}${'</x>'.repeat(200)}`),
  (s) => s.replace('<data>', `<data>${'<y/>'.repeat(6000)}`),
  (s) => s.replace('<data/>', `<data>${'<x>'.repeat(60)}`),
  (s) => s.replace('seqid="1"', `seqid="1" big="${'z'.repeat(300_000)}"`),
  (s) => s.replace(/envid="\d+"/, 'envid="-1"'),
  (s) => s.replace('xccos', 'xcc0s'),
  (s) => s.replace('<chat>', '<chat><![CDATA[').replace('</chat>', ']]></chat>'),
];

const ENVELOPE_REASONS = new Set(['xml', 'envelope']);
const DECODE_REASONS = new Set(['unknown-command', 'bad-field']);

function runCase(body: string | Buffer): 'ok' | 'envelope-error' {
  const started = performance.now();
  const env = parseEnvelope(body);
  if (!env.ok) {
    assert.ok(env.error instanceof XccosError);
    assert.ok(ENVELOPE_REASONS.has(env.error.reason), env.error.reason);
    assert.ok(performance.now() - started < 1000, 'parse took too long');
    return 'envelope-error';
  }
  for (const item of env.value.items) {
    const decoded = decodeCommand(item, env.value.envid);
    if (!decoded.ok) {
      assert.ok(decoded.error instanceof XccosError);
      assert.ok(DECODE_REASONS.has(decoded.error.reason), decoded.error.reason);
    }
  }
  assert.ok(performance.now() - started < 1000, 'parse took too long');
  return 'ok';
}

describe('XCCOS fuzz', () => {
  it('decodes 1000 random well-formed envelopes', { timeout: 30_000 }, () => {
    const r = prng(42);
    let known = 0;
    for (let n = 0; n < 1000; n++) {
      const body = validEnvelope(r);
      const env = parseEnvelope(body);
      assert.ok(env.ok, `case ${n}: ${env.ok ? '' : env.error.message}\n${body.slice(0, 300)}`);
      for (const item of env.value.items) {
        const d = decodeCommand(item, env.value.envid);
        if (d.ok) known++;
        else assert.ok(DECODE_REASONS.has(d.error.reason));
      }
    }
    assert.ok(known > 1000, `only ${known} items decoded`);
  });

  it('ends 3000 mutated bodies in an envelope or a typed error', { timeout: 60_000 }, () => {
    const r = prng(0xfeed);
    const outcomes = { ok: 0, 'envelope-error': 0 };
    for (let n = 0; n < 3000; n++) {
      let body = validEnvelope(r);
      const rounds = 1 + int(r, 2);
      for (let k = 0; k < rounds; k++) body = pick(r, MUTATIONS)(body, r);
      outcomes[runCase(body)]++;
    }
    assert.ok(outcomes.ok > 100 && outcomes['envelope-error'] > 1000, JSON.stringify(outcomes));
  });

  it('refuses every entity-expansion bomb', () => {
    for (const bomb of BOMBS) {
      const env = parseEnvelope(`${bomb}<xccos envid="1"><cmd id="cmd:requri"/></xccos>`);
      assert.ok(!env.ok && env.error.reason === 'xml');
    }
  });

  it('survives random bytes', { timeout: 30_000 }, () => {
    const r = prng(99);
    for (let n = 0; n < 1000; n++) {
      const bytes = Buffer.alloc(int(r, 400));
      for (let i = 0; i < bytes.length; i++)
        bytes[i] = r() < 0.3 ? pick(r, [0x3c, 0x3e, 0x2f, 0x22, 0x26, 0x3d]) : int(r, 256);
      runCase(bytes);
    }
  });
});
