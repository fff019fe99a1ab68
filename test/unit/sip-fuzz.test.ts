// Seeded fuzzing of the SIP stream parser: every input ends in messages, keepalives or one typed framing error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SipFramingError,
  SipHeaders,
  type SipMessage,
  type SipParseEvent,
  SipStreamParser,
  serializeSipMessage,
} from '../../src/transports/sip/codec.js';

/** mulberry32: small, fast, deterministic. */
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

const METHODS = ['INVITE', 'ACK', 'BYE', 'INFO', 'REGISTER', 'SUBSCRIBE', 'UPDATE', 'OPTIONS'];
const HEADER_NAMES = [
  'Via',
  'v',
  'From',
  'f',
  'To',
  't',
  'Call-ID',
  'i',
  'CSeq',
  'Contact',
  'm',
  'Content-Type',
  'c',
  'Supported',
  'X-Custom',
];
const CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789 :;=<>@."\\,-_/\t';

function randomText(r: Rand, max: number): string {
  let s = '';
  const n = int(r, max);
  for (let i = 0; i < n; i++) s += CHARS[int(r, CHARS.length)];
  return s.trim() || 'x';
}

function randomMessage(r: Rand): SipMessage {
  const headers = new SipHeaders();
  const count = 1 + int(r, 8);
  for (let i = 0; i < count; i++) headers.append(pick(r, HEADER_NAMES), randomText(r, 40));
  const body = Buffer.from(randomText(r, 200).repeat(1 + int(r, 3)));
  const withBody = r() < 0.6;
  if (r() < 0.5) {
    return {
      kind: 'request',
      method: pick(r, METHODS),
      uri: `sip:${randomText(r, 10).replace(/\s/g, '')}@h`,
      headers,
      body: withBody ? body : Buffer.alloc(0),
    };
  }
  return { kind: 'response', status: 100 + int(r, 600), reason: 'R', headers, body: withBody ? body : Buffer.alloc(0) };
}

function feed(parser: SipStreamParser, input: Buffer, r: Rand): SipParseEvent[] {
  const events: SipParseEvent[] = [];
  let i = 0;
  while (i < input.length) {
    const size = 1 + int(r, r() < 0.3 ? 4 : 400);
    events.push(...parser.push(input.subarray(i, i + size)));
    i += size;
  }
  return events;
}

const REASONS = new Set(['header-too-large', 'body-too-large', 'bad-content-length', 'bad-start-line', 'bad-header']);

/** The invariants every run must satisfy, whatever the input. */
function checkEvents(events: SipParseEvent[]): void {
  const errorAt = events.findIndex((e) => e.type === 'error');
  if (errorAt >= 0) {
    assert.equal(errorAt, events.length - 1, 'nothing may follow a framing error');
    const e = events[errorAt];
    assert.ok(e && e.type === 'error' && e.error instanceof SipFramingError);
    assert.ok(REASONS.has(e.error.reason), e.error.reason);
    assert.ok(e.error.sipStatus === 400 || e.error.sipStatus === 413);
  }
  for (const e of events) {
    if (e.type === 'message') assert.ok(e.message.body.length <= 1024 * 1024);
  }
}

const MUTATIONS: ((s: string, r: Rand) => string)[] = [
  (s, r) => s.slice(0, int(r, s.length)), // truncated
  (s) => s.replace(/Content-Length: \d+/, 'Content-Length: -1'),
  (s) => s.replace(/Content-Length: \d+/, 'Content-Length: 99999999999999999999'),
  (s) => s.replace(/Content-Length: \d+/, 'Content-Length: 2000000'),
  (s) => s.replace(/Content-Length: \d+/, 'Content-Length: abc'),
  (s) => s.replace(/Content-Length: \d+/, 'Content-Length: 0x10'),
  (s) => s.replace(/Content-Length: \d+\r\n/, ''), // missing Content-Length with a body
  (s) => s.replace(/\r\n/, '\r\n\tfolded continuation\r\n'),
  (s, r) => s.replace(/\r\n[^\r]*\r\n/, `\r\n${randomText(r, 30)}\r\n`), // a header line without colon, maybe
  (s) => `\r\n\r\n\r\n${s}`,
  (s) => s.replace(/\r\n/g, '\n'),
  (s, r) => `${s.slice(0, int(r, s.length))}${String.fromCharCode(int(r, 256))}${s.slice(int(r, s.length))}`,
  (s) => `${s}${'X-Pad: y\r\n'.repeat(3000)}`,
  (s) => s.replace('SIP/2.0', 'SIP/9.9'),
  (s) => s + s,
];

describe('SIP parser fuzz', () => {
  it('reads back 1500 random valid messages exactly, whatever the chunking', { timeout: 30_000 }, () => {
    const r = prng(0x5eed);
    for (let n = 0; n < 1500; n++) {
      const msgs = [randomMessage(r), randomMessage(r)];
      const wire = Buffer.concat(msgs.map(serializeSipMessage));
      const events = feed(new SipStreamParser(), wire, r);
      checkEvents(events);
      const got = events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
      assert.equal(got.length, 2, `case ${n}: ${JSON.stringify(events.map((e) => e.type))}`);
      for (let i = 0; i < 2; i++) {
        const want = msgs[i] as SipMessage;
        const have = got[i] as SipMessage;
        assert.equal(have.kind, want.kind);
        assert.deepEqual(have.body, want.body, `case ${n} body`);
        assert.deepEqual(
          have.headers.getAll('content-type'),
          want.headers.getAll('content-type').map((v) => v.trim()),
        );
      }
    }
  });

  it('ends 3000 mutated inputs in messages, keepalives or one typed error, without throwing', {
    timeout: 60_000,
  }, () => {
    const r = prng(0xbadc0de);
    const stats = { message: 0, keepalive: 0, error: 0 };
    for (let n = 0; n < 3000; n++) {
      let text = serializeSipMessage(randomMessage(r)).toString('latin1');
      const rounds = 1 + int(r, 3);
      for (let k = 0; k < rounds; k++) text = pick(r, MUTATIONS)(text, r);
      const started = performance.now();
      const events = feed(new SipStreamParser(), Buffer.from(text, 'latin1'), r);
      assert.ok(performance.now() - started < 1000, `case ${n} took too long`);
      checkEvents(events);
      for (const e of events) stats[e.type]++;
    }
    // The mutations must actually reach every outcome, or the fuzz is not testing anything.
    assert.ok(stats.message > 100 && stats.keepalive > 10 && stats.error > 300, JSON.stringify(stats));
  });

  it('survives random bytes', { timeout: 30_000 }, () => {
    const r = prng(7);
    for (let n = 0; n < 1000; n++) {
      const bytes = Buffer.alloc(int(r, 600));
      for (let i = 0; i < bytes.length; i++) bytes[i] = r() < 0.2 ? pick(r, [13, 10, 32, 58]) : int(r, 256);
      checkEvents(feed(new SipStreamParser(), bytes, r));
    }
  });
});
