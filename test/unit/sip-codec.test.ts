import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalHeaderName,
  createResponse,
  parseCSeq,
  SipHeaders,
  type SipMessage,
  type SipParseEvent,
  SipStreamParser,
  serializeSipMessage,
  splitHeaderList,
} from '../../src/transports/sip/codec.js';

const INFO =
  'INFO sip:127.0.0.1:5060;transport=tcp SIP/2.0\r\n' +
  'Via: SIP/2.0/tcp 127.0.0.1:38540\r\n' +
  'From: <sip:alice@example.com>;tag=a1\r\n' +
  'To: <sip:chatserver@example.com>;tag=s1\r\n' +
  'Call-ID: abc123\r\n' +
  'CSeq: 5 INFO\r\n' +
  'Content-Type: text/plain\r\n' +
  'Content-Length: 5\r\n' +
  '\r\n' +
  'hello';

function parseAll(input: string | Buffer, chunkSize = 0, limits = {}): SipParseEvent[] {
  const parser = new SipStreamParser(limits);
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (!chunkSize) return parser.push(buf);
  const events: SipParseEvent[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) events.push(...parser.push(buf.subarray(i, i + chunkSize)));
  return events;
}

function messages(events: SipParseEvent[]): SipMessage[] {
  return events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
}

describe('SipStreamParser framing', () => {
  it('parses a request with its body', () => {
    const [msg] = messages(parseAll(INFO));
    assert.ok(msg && msg.kind === 'request');
    assert.equal(msg.method, 'INFO');
    assert.equal(msg.uri, 'sip:127.0.0.1:5060;transport=tcp');
    assert.equal(msg.headers.get('call-id'), 'abc123');
    assert.equal(msg.headers.get('CALL-ID'), 'abc123');
    assert.equal(msg.body.toString(), 'hello');
  });

  for (const size of [1, 2, 3, 7, 64]) {
    it(`gives the same result when fed in ${size}-byte chunks`, () => {
      const events = parseAll(INFO + INFO, size);
      const msgs = messages(events);
      assert.equal(events.length, 2);
      assert.equal(msgs.length, 2);
      for (const m of msgs) assert.equal(m.body.toString(), 'hello');
    });
  }

  it('parses a response status line', () => {
    const [msg] = messages(parseAll('SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n'));
    assert.ok(msg && msg.kind === 'response');
    assert.equal(msg.status, 200);
    assert.equal(msg.reason, 'OK');
  });

  it('treats a missing Content-Length as an empty body and parses what follows as the next message', () => {
    const events = parseAll('OPTIONS sip:x SIP/2.0\r\nCall-ID: 1\r\n\r\nOPTIONS sip:y SIP/2.0\r\nCall-ID: 2\r\n\r\n');
    const msgs = messages(events);
    assert.equal(msgs.length, 2);
    assert.equal(msgs[0]?.body.length, 0);
    assert.equal(msgs[1]?.headers.get('call-id'), '2');
  });

  it('keeps a message incomplete until its whole body arrives', () => {
    const parser = new SipStreamParser();
    assert.deepEqual(parser.push(Buffer.from(INFO.slice(0, -2))), []);
    const events = parser.push(Buffer.from(INFO.slice(-2)));
    assert.equal(messages(events).length, 1);
  });

  it('counts the body in bytes, not characters', () => {
    const body = Buffer.from('héllo €', 'utf8');
    const raw = Buffer.concat([Buffer.from(`INFO sip:x SIP/2.0\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    const [msg] = messages(parseAll(raw, 3));
    assert.equal(msg?.body.toString('utf8'), 'héllo €');
  });

  it('does not re-copy a large body on every small chunk (1 MiB in 64-byte chunks, bounded time)', () => {
    const body = Buffer.alloc(1024 * 1024, 0x61);
    const wire = Buffer.concat([Buffer.from(`INFO sip:x SIP/2.0\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    const started = performance.now();
    const [msg] = messages(parseAll(wire, 64));
    assert.ok(performance.now() - started < 2000, 'took too long');
    assert.equal(msg?.body.length, body.length);
  });

  it('does not rescan a trickled header section from the start (bounded time)', () => {
    const head = `INFO sip:x SIP/2.0\r\n${'X-Pad: abcdefghijklmnopqrstuvwxyz\r\n'.repeat(450)}\r\n`;
    const started = performance.now();
    const events = parseAll(head, 1);
    assert.ok(performance.now() - started < 2000, 'took too long');
    assert.equal(messages(events).length, 1);
  });

  it('accepts bare LF line ends', () => {
    const [msg] = messages(parseAll('OPTIONS sip:x SIP/2.0\nCall-ID: lf\nContent-Length: 2\n\nok'));
    assert.equal(msg?.headers.get('call-id'), 'lf');
    assert.equal(msg?.body.toString(), 'ok');
  });
});

describe('SipStreamParser keepalives', () => {
  const table: { name: string; input: string; keepalives: number; msgs: number }[] = [
    { name: 'CRLFCRLF ping alone', input: '\r\n\r\n', keepalives: 1, msgs: 0 },
    { name: 'single CRLF pong is skipped', input: '\r\n', keepalives: 0, msgs: 0 },
    { name: 'two pings', input: '\r\n\r\n\r\n\r\n', keepalives: 2, msgs: 0 },
    { name: 'ping then message', input: `\r\n\r\n${INFO}`, keepalives: 1, msgs: 1 },
    { name: 'pong then message', input: `\r\n${INFO}`, keepalives: 0, msgs: 1 },
    { name: 'message then ping', input: `${INFO}\r\n\r\n`, keepalives: 1, msgs: 1 },
  ];
  for (const t of table) {
    for (const chunk of [0, 1]) {
      it(`${t.name}${chunk ? ' (byte by byte)' : ''}`, () => {
        const events = parseAll(t.input, chunk);
        assert.equal(events.filter((e) => e.type === 'keepalive').length, t.keepalives);
        assert.equal(messages(events).length, t.msgs);
        assert.equal(events.filter((e) => e.type === 'error').length, 0);
      });
    }
  }
});

describe('SipStreamParser headers', () => {
  it('expands compact forms', () => {
    const raw =
      'INFO sip:x SIP/2.0\r\nv: SIP/2.0/TCP h\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: cid\r\nm: <sip:a@1.2.3.4>\r\nc: text/plain\r\nl: 2\r\n\r\nhi';
    const [msg] = messages(parseAll(raw));
    assert.ok(msg);
    assert.equal(msg.headers.get('Via'), 'SIP/2.0/TCP h');
    assert.equal(msg.headers.get('From'), '<sip:a@b>;tag=1');
    assert.equal(msg.headers.get('To'), '<sip:c@d>');
    assert.equal(msg.headers.get('Call-ID'), 'cid');
    assert.equal(msg.headers.get('Contact'), '<sip:a@1.2.3.4>');
    assert.equal(msg.headers.get('Content-Type'), 'text/plain');
    assert.equal(msg.body.toString(), 'hi');
    assert.deepEqual(
      msg.headers.entries().map((h) => h.name),
      ['Via', 'From', 'To', 'Call-ID', 'Contact', 'Content-Type', 'Content-Length'],
    );
  });

  it('joins folded continuation lines', () => {
    const raw = 'OPTIONS sip:x SIP/2.0\r\nSubject: first\r\n  second\r\n\tthird\r\nContent-Length: 0\r\n\r\n';
    const [msg] = messages(parseAll(raw));
    assert.equal(msg?.headers.get('subject'), 'first second third');
  });

  it('keeps repeated headers in order', () => {
    const raw = 'OPTIONS sip:x SIP/2.0\r\nVia: one\r\nX-A: a\r\nvia: two\r\nv: three\r\nContent-Length: 0\r\n\r\n';
    const [msg] = messages(parseAll(raw));
    assert.deepEqual(msg?.headers.getAll('VIA'), ['one', 'two', 'three']);
  });

  it('splits comma lists outside quotes and angle brackets', () => {
    assert.deepEqual(splitHeaderList('a, b ,c'), ['a', 'b', 'c']);
    assert.deepEqual(splitHeaderList('"x, y" <sip:a@b;p=1,2>, <sip:c@d>'), ['"x, y" <sip:a@b;p=1,2>', '<sip:c@d>']);
    const h = new SipHeaders([
      ['Supported', 'gruu-10, adhoclist'],
      ['k', 'msrtc-event-categories'],
    ]);
    assert.deepEqual(h.getList('supported'), ['gruu-10', 'adhoclist', 'msrtc-event-categories']);
  });

  it('set replaces every line in place; delete removes all', () => {
    const h = new SipHeaders([
      ['X-A', '1'],
      ['X-B', '2'],
      ['x-a', '3'],
    ]);
    h.set('x-A', 'x');
    assert.deepEqual(
      h.entries().map((e) => `${e.name}=${e.value}`),
      ['X-A=x', 'X-B=2'],
    );
    h.delete('X-B');
    assert.equal(h.has('x-b'), false);
    // single letters are compact forms: `b` is Referred-By, not a header named B
    assert.equal(new SipHeaders([['b', '<sip:a@b>']]).entries()[0]?.name, 'Referred-By');
  });

  it('parses CSeq', () => {
    assert.deepEqual(parseCSeq('12 info'), { seq: 12, method: 'INFO' });
    assert.equal(parseCSeq('x INFO'), undefined);
    assert.equal(parseCSeq('99999999999 INFO'), undefined);
    assert.equal(parseCSeq(undefined), undefined);
  });

  it('canonicalizes names', () => {
    assert.equal(canonicalHeaderName('call-id'), 'Call-ID');
    assert.equal(canonicalHeaderName('CSEQ'), 'CSeq');
    assert.equal(canonicalHeaderName('l'), 'Content-Length');
    assert.equal(canonicalHeaderName('proxy-authorization'), 'Proxy-Authorization');
    assert.equal(canonicalHeaderName('www-authenticate'), 'WWW-Authenticate');
  });
});

describe('SipStreamParser errors', () => {
  const table: { name: string; input: string; reason: string; status: number; limits?: object }[] = [
    {
      name: 'negative Content-Length',
      input: 'INFO sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n',
      reason: 'bad-content-length',
      status: 400,
    },
    {
      name: 'non-numeric Content-Length',
      input: 'INFO sip:x SIP/2.0\r\nContent-Length: ten\r\n\r\n',
      reason: 'bad-content-length',
      status: 400,
    },
    {
      name: 'fractional Content-Length',
      input: 'INFO sip:x SIP/2.0\r\nContent-Length: 1.5\r\n\r\n',
      reason: 'bad-content-length',
      status: 400,
    },
    {
      name: 'conflicting Content-Length',
      input: 'INFO sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\n',
      reason: 'bad-content-length',
      status: 400,
    },
    {
      name: 'huge Content-Length',
      input: 'INFO sip:x SIP/2.0\r\nContent-Length: 99999999999999\r\n\r\n',
      reason: 'bad-content-length',
      status: 400,
    },
    {
      name: 'body over 1 MiB',
      input: 'INFO sip:x SIP/2.0\r\nContent-Length: 1048577\r\n\r\n',
      reason: 'body-too-large',
      status: 413,
    },
    { name: 'garbage start line', input: 'HELLO WORLD\r\n\r\n', reason: 'bad-start-line', status: 400 },
    { name: 'wrong version', input: 'INFO sip:x SIP/3.0\r\n\r\n', reason: 'bad-start-line', status: 400 },
    { name: 'header without colon', input: 'INFO sip:x SIP/2.0\r\nNoColon\r\n\r\n', reason: 'bad-header', status: 400 },
    { name: 'continuation first', input: 'INFO sip:x SIP/2.0\r\n folded\r\n\r\n', reason: 'bad-header', status: 400 },
    {
      name: 'header section over the limit',
      input: `INFO sip:x SIP/2.0\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
      reason: 'header-too-large',
      status: 413,
    },
    {
      name: 'endless header section without blank line',
      input: `INFO sip:x SIP/2.0\r\n${'X-A: b\r\n'.repeat(3000)}`,
      reason: 'header-too-large',
      status: 413,
    },
    {
      name: 'smaller configured body limit',
      input: 'INFO sip:x SIP/2.0\r\nl: 11\r\n\r\n',
      reason: 'body-too-large',
      status: 413,
      limits: { maxBodyBytes: 10 },
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const events = parseAll(t.input, 0, t.limits ?? {});
      const last = events.at(-1);
      assert.ok(last && last.type === 'error', `expected an error, got ${JSON.stringify(events.map((e) => e.type))}`);
      assert.equal(last.error.reason, t.reason);
      assert.equal(last.error.sipStatus, t.status);
      assert.equal(messages(events).length, 0);
    });
  }

  it('is dead after an error', () => {
    const parser = new SipStreamParser();
    assert.equal(parser.push(Buffer.from('BAD\r\n\r\n'))[0]?.type, 'error');
    assert.ok(parser.isFailed);
    assert.deepEqual(parser.push(Buffer.from(INFO)), []);
  });

  it('keeps the parsed head of a request whose body is refused, so it can be answered', () => {
    const events = parseAll(
      'INFO sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nCall-ID: c\r\nContent-Length: 9999999\r\n\r\n',
    );
    const e = events[0];
    assert.ok(e && e.type === 'error');
    assert.equal(e.error.partial?.kind, 'request');
    assert.equal(e.error.partial?.headers.get('call-id'), 'c');
    assert.equal(e.error.code, 'FRAME_TOO_LARGE');
  });
});

describe('serializeSipMessage', () => {
  it('writes full names and a correct Content-Length, dropping a wrong one', () => {
    const msg: SipMessage = {
      kind: 'request',
      method: 'INFO',
      uri: 'sip:alice@127.0.0.1:38540;transport=tcp',
      headers: new SipHeaders([
        ['i', 'c1'],
        ['l', '999'],
        ['c', 'text/plain'],
      ]),
      body: Buffer.from('<xccos/>'),
    };
    const text = serializeSipMessage(msg).toString();
    assert.equal(
      text,
      'INFO sip:alice@127.0.0.1:38540;transport=tcp SIP/2.0\r\nCall-ID: c1\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n<xccos/>',
    );
  });

  it('round-trips through the parser', () => {
    const [parsed] = messages(parseAll(INFO));
    assert.ok(parsed);
    const [again] = messages(parseAll(serializeSipMessage(parsed)));
    assert.deepEqual(again?.headers.entries(), parsed.headers.entries());
    assert.deepEqual(again?.body, parsed.body);
  });

  it('cannot be made to inject a header through a value', () => {
    const h = new SipHeaders([['Subject', 'x\r\nEvil: 1']]);
    const text = serializeSipMessage({
      kind: 'response',
      status: 200,
      reason: 'OK',
      headers: h,
      body: Buffer.alloc(0),
    }).toString();
    assert.ok(!text.includes('\r\nEvil:'));
  });
});

describe('createResponse', () => {
  it('echoes Via lines, From, To (+tag), Call-ID and CSeq', () => {
    const [req] = messages(
      parseAll(INFO.replace('Via: SIP/2.0/tcp 127.0.0.1:38540\r\n', 'Via: v1\r\nVia: v2\r\n').replace(';tag=s1', '')),
    );
    assert.ok(req && req.kind === 'request');
    const res = createResponse(req, 200, { toTag: 'srv', headers: [['Contact', '<sip:srv@h>']] });
    assert.equal(res.reason, 'OK');
    assert.deepEqual(res.headers.getAll('via'), ['v1', 'v2']);
    assert.equal(res.headers.get('to'), '<sip:chatserver@example.com>;tag=srv');
    assert.equal(res.headers.get('cseq'), '5 INFO');
    assert.equal(res.headers.get('contact'), '<sip:srv@h>');
  });

  it('does not add a second To tag', () => {
    const [req] = messages(parseAll(INFO));
    assert.ok(req && req.kind === 'request');
    assert.equal(createResponse(req, 481, { toTag: 'other' }).headers.get('to'), '<sip:chatserver@example.com>;tag=s1');
    assert.equal(createResponse(req, 481).reason, 'Call/Transaction Does Not Exist');
  });
});
