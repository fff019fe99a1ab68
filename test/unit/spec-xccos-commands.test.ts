// Specification of XCCOS command decoding (every command the decoder handles, field defaults, refusals with
// their field and message), timestamps, room URIs, and the attributes the encoders must write.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeCommand,
  encodeBccontextReply,
  encodeChansrchReply,
  encodeGrpchat,
  encodeJoinNotice,
  encodeJoinReply,
  formatRoomUri,
  parseRoomUri,
  parseTimestamp,
  type XccosCommand,
} from '../../src/transports/xccos/commands.js';
import { parseEnvelope, type XccosError, type XccosItem } from '../../src/transports/xccos/envelope.js';
import type { XmlElement, XmlFragment } from '../../src/transports/xccos/xml.js';

function item(xml: string): XccosItem {
  const env = parseEnvelope(`<xccos ver="1" envid="77" xmlns="urn:parlano:xml:ns:xccos">${xml}</xccos>`);
  assert.ok(env.ok, env.ok ? '' : env.error.message);
  return env.value.items[0] as XccosItem;
}

function decoded(xml: string): XccosCommand {
  const r = decodeCommand(item(xml), '77');
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value.command;
}

function refused(xml: string): XccosError {
  const r = decodeCommand(item(xml), '77');
  assert.ok(!r.ok, `accepted ${xml}`);
  return r.error;
}

function parsed(fragment: XmlFragment): XmlElement {
  const env = parseEnvelope(`<xccos envid="1">${fragment.xml}</xccos>`);
  assert.ok(env.ok, env.ok ? '' : env.error.message);
  return (env.value.items[0] as XccosItem).element;
}

const R = (domain: string, roomId: string) => ({ domain, roomId, uri: `ma-chan://${domain}/${roomId}` });

describe('decoding each command, with the defaults of absent fields', () => {
  const table: { name: string; xml: string; command: unknown }[] = [
    {
      name: 'getserverinfo without <sib> has no domain or infoType',
      xml: '<cmd id="cmd:getserverinfo"/>',
      command: { type: 'getserverinfo', domain: undefined, infoType: undefined },
    },
    {
      name: 'chansrch: qtype defaults to BYNAME, criteria to empty, extended to false',
      xml: '<cmd id="cmd:chansrch"><data><qib/></data></cmd>',
      command: { type: 'chansrch', qtype: 'BYNAME', criteria: '', extended: false },
    },
    {
      name: 'chansrch: qtype is upper-cased, extended read case-insensitively',
      xml: '<cmd id="cmd:chansrch"><data><qib qtype="byname" criteria="x" extended="TRUE"/></data></cmd>',
      command: { type: 'chansrch', qtype: 'BYNAME', criteria: 'x', extended: true },
    },
    {
      name: 'bjoin without <data> names no rooms',
      xml: '<cmd id="cmd:bjoin"/>',
      command: { type: 'bjoin', rooms: [] },
    },
    {
      name: 'bjoin ignores children other than chanid and chanib',
      xml: '<cmd id="cmd:bjoin"><data><other uri="x"/><chanib uri="ma-chan://d.example/r"/></data></cmd>',
      command: { type: 'bjoin', rooms: [R('d.example', 'r')] },
    },
    {
      name: 'getinv without <data> lists no invitations',
      xml: '<cmd id="cmd:getinv"/>',
      command: { type: 'getinv', invites: [] },
    },
    {
      name: 'getinv: an invitation without inviteId has an empty one',
      xml: '<cmd id="cmd:getinv"><data><inv domain="d"/></data></cmd>',
      command: { type: 'getinv', invites: [{ inviteId: '', domain: 'd' }] },
    },
    {
      name: 'bccontext: cnt is trimmed and capped',
      xml: '<cmd id="cmd:bccontext"><data><chanib uri="ma-chan://d/r"/><bcq><last cnt=" 5 "/></bcq></data></cmd>',
      command: { type: 'bccontext', room: R('d', 'r'), last: 5 },
    },
    {
      name: 'setpref: base64 content may hold whitespace and line breaks',
      xml: '<cmd id="cmd:setpref"><data><pref label="l" content="aGVs&#10;bG8g d29y bGQ="/></data></cmd>',
      command: {
        type: 'setpref',
        prefs: [{ label: 'l', seqid: undefined, createDefault: false, content: Buffer.from('hello world') }],
      },
    },
    {
      name: 'nodespermcreatechild',
      xml: '<cmd id="cmd:nodespermcreatechild"/>',
      command: { type: 'nodespermcreatechild' },
    },
  ];
  for (const t of table) {
    it(t.name, () => assert.deepEqual(decoded(t.xml), t.command));
  }

  it('getassociations keeps its <data> element as sent', () => {
    const c = decoded('<cmd id="cmd:getassociations"><data><assoc x="1"/></data></cmd>');
    assert.equal(c.type, 'getassociations');
    assert.ok(c.type === 'getassociations');
    assert.equal(c.data?.name, 'data');
    assert.equal(c.data?.children[0]?.attrs.get('x'), '1');
    const none = decoded('<cmd id="cmd:getassociations"/>');
    assert.deepEqual(none, { type: 'getassociations', data: undefined });
  });
});

describe('refused commands name the field and the fault', () => {
  const long = 'x'.repeat(300);
  const table: { name: string; xml: string; reason: string; field?: string; message: string }[] = [
    {
      name: 'a reply from a client',
      xml: '<rpl id="rpl:join"/>',
      reason: 'unknown-command',
      message: 'a client may not send <rpl>',
    },
    {
      name: 'a notice from a client',
      xml: '<ntc id="ntc:x"/>',
      reason: 'unknown-command',
      message: 'a client may not send <ntc>',
    },
    {
      name: 'an unknown command, its id cut to 64 characters',
      xml: `<cmd id="cmd:${long}"/>`,
      reason: 'unknown-command',
      message: `unknown command ${JSON.stringify(`cmd:${long}`.slice(0, 64))}`,
    },
    {
      name: 'chansrch without qib',
      xml: '<cmd id="cmd:chansrch"><data/></cmd>',
      reason: 'bad-field',
      field: 'qib',
      message: 'chansrch needs <qib>',
    },
    {
      name: 'join without data',
      xml: '<cmd id="cmd:join"/>',
      reason: 'bad-field',
      field: 'chanid',
      message: 'join names no room',
    },
    {
      name: 'join with a chanid lacking domain and value',
      xml: '<cmd id="cmd:join"><data><chanid/></data></cmd>',
      reason: 'bad-field',
      field: 'chanid',
      message: 'not a room URI (ma-chan://domain/id): "ma-chan:///"',
    },
    {
      name: 'bjoin with a chanib lacking uri',
      xml: '<cmd id="cmd:bjoin"><data><chanib/></data></cmd>',
      reason: 'bad-field',
      field: 'chanib',
      message: 'not a room URI (ma-chan://domain/id): ""',
    },
    {
      name: 'a bad room URI is quoted up to 200 characters',
      xml: `<cmd id="cmd:part"><data><chanib uri="http://${long}"/></data></cmd>`,
      reason: 'bad-field',
      field: 'chanib',
      message: `not a room URI (ma-chan://domain/id): ${JSON.stringify(`http://${long}`.slice(0, 200))}`,
    },
    {
      name: 'part without chanib uri',
      xml: '<cmd id="cmd:part"><data><chanib/></data></cmd>',
      reason: 'bad-field',
      field: 'chanib',
      message: 'the command needs <chanib uri>',
    },
    {
      name: 'bccontext cnt with trailing junk',
      xml: '<cmd id="cmd:bccontext"><data><chanib uri="ma-chan://d/r"/><bcq><last cnt="12x"/></bcq></data></cmd>',
      reason: 'bad-field',
      field: 'cnt',
      message: 'cnt must be a non-negative integer, got "12x"',
    },
    {
      name: 'bccontext cnt quoted up to 20 characters',
      xml: `<cmd id="cmd:bccontext"><data><chanib uri="ma-chan://d/r"/><bcq><last cnt="-${'9'.repeat(30)}"/></bcq></data></cmd>`,
      reason: 'bad-field',
      field: 'cnt',
      message: `cnt must be a non-negative integer, got ${JSON.stringify(`-${'9'.repeat(19)}`)}`,
    },
    {
      name: 'pref without label',
      xml: '<cmd id="cmd:getpref"><data><pref/></data></cmd>',
      reason: 'bad-field',
      field: 'label',
      message: 'pref needs a label',
    },
    {
      name: 'grpchat without chanUri',
      xml: '<grpchat><chat>x</chat></grpchat>',
      reason: 'bad-field',
      field: 'chanUri',
      message: 'grpchat needs chanUri',
    },
    {
      name: 'grpchat with a bad chanUri',
      xml: '<grpchat chanUri="nope"><chat>x</chat></grpchat>',
      reason: 'bad-field',
      field: 'chanUri',
      message: 'not a room URI (ma-chan://domain/id): "nope"',
    },
    {
      name: 'grpchat without chat',
      xml: '<grpchat chanUri="ma-chan://d/r"/>',
      reason: 'bad-field',
      field: 'chat',
      message: 'grpchat needs <chat>',
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const e = refused(t.xml);
      assert.equal(e.reason, t.reason);
      assert.equal(e.code, t.reason === 'bad-field' ? 'INVALID_VALUE' : 'UNKNOWN_TYPE');
      assert.equal(e.field, t.field);
      assert.equal(e.message, t.message);
    });
  }

  const base64Table = ['abc', '!!!!', 'AA=A', 'A===', '=AAA'];
  for (const content of base64Table) {
    it(`pref content ${JSON.stringify(content)} is not base64`, () => {
      const e = refused(`<cmd id="cmd:setpref"><data><pref label="l" content="${content}"/></data></cmd>`);
      assert.equal(e.field, 'content');
      assert.equal(e.message, 'content is not base64');
    });
  }

  it('an item the decoder cannot read gives a bad-field error instead of throwing', () => {
    const broken = { kind: 'grpchat', id: 'grpchat', seqid: '1', element: {} } as unknown as XccosItem;
    const r = decodeCommand(broken, '1');
    assert.ok(!r.ok);
    assert.equal(r.error.reason, 'bad-field');
    assert.equal(r.error.code, 'INVALID_VALUE');
    assert.equal(r.error.message, 'the command could not be read');
  });
});

describe('timestamps', () => {
  const table: { ts: string; iso: string | undefined }[] = [
    { ts: '2026-01-01T10:00:00Z', iso: '2026-01-01T10:00:00.000Z' },
    { ts: ' 2026-01-01T10:00:00Z ', iso: '2026-01-01T10:00:00.000Z' },
    { ts: '2026-01-01T10:00:00+0530', iso: '2026-01-01T04:30:00.000Z' },
    { ts: '2026-01-01T10:00:00-01:00', iso: '2026-01-01T11:00:00.000Z' },
    { ts: '2026-01-01T10:00:00.123456789Z', iso: '2026-01-01T10:00:00.123Z' },
    { ts: 'x2026-01-01T10:00:00Z', iso: undefined },
    { ts: '2026-01-01T10:00:00Zx', iso: undefined },
    { ts: '2026-01-01T10:00:00+05', iso: undefined },
  ];
  for (const t of table) {
    it(`${JSON.stringify(t.ts)} reads as ${t.iso ?? 'nothing'}`, () => {
      assert.equal(parseTimestamp(t.ts)?.toISOString(), t.iso);
    });
  }

  it('a stamp without a zone is UTC whatever the server time zone', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      assert.equal(parseTimestamp('2026-01-01T10:00:00')?.toISOString(), '2026-01-01T10:00:00.000Z');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('room URIs', () => {
  const table: { uri: string; ok: boolean }[] = [
    { uri: 'ma-chan://a.b/x', ok: true },
    { uri: 'ma-chan://a.b.c/x', ok: true },
    { uri: 'ma-chan://chat.example.info/x', ok: true },
    { uri: ' ma-chan://example.com/x ', ok: true },
    { uri: 'xma-chan://example.com/x', ok: false },
    { uri: 'ma-chan://-a.com/x', ok: false },
    { uri: 'ma-chan://a..com/x', ok: false },
  ];
  for (const t of table) {
    it(`${JSON.stringify(t.uri)} is ${t.ok ? '' : 'not '}a room URI`, () => {
      const addr = parseRoomUri(t.uri);
      if (t.ok) assert.deepEqual(addr, { domain: t.uri.trim().slice(10).split('/')[0], roomId: 'x' });
      else assert.equal(addr, undefined);
    });
  }

  it('formatRoomUri names what it cannot write', () => {
    assert.throws(() => formatRoomUri('bad domain', 'x'), { message: 'invalid room domain: bad domain' });
    assert.throws(() => formatRoomUri('d', 'a/b'), { message: 'invalid room id: a/b' });
  });
});

describe('encoded attributes', () => {
  const cmd = { id: 'cmd:bjoin', seqid: '1', envid: '5' };

  it('rpl:join lists several chanops comma-separated', () => {
    const rpl = parsed(
      encodeJoinReply(cmd, [
        { uri: 'ma-chan://d/r', name: 'R', members: ['sip:a@d'], managers: ['sip:b@d', 'sip:c@d'] },
      ]),
    );
    const chanib = rpl.children.find((c) => c.name === 'data')?.children.find((c) => c.name === 'chanib');
    const aibs = chanib?.children.map((a) => [a.attrs.get('key'), a.attrs.get('value')]);
    assert.deepEqual(aibs, [
      ['3984', '0'],
      ['12276', '1,2'],
    ]);
  });

  it('rpl:chansrch writes visibility as public or private', () => {
    const listing = {
      uri: 'ma-chan://d/r',
      name: 'R',
      description: '',
      userCount: 1,
      filePost: true,
      invite: false,
      logged: true,
    };
    for (const [isPrivate, visibility] of [
      [false, 'public'],
      [true, 'private'],
    ] as const) {
      const rpl = parsed(encodeChansrchReply(cmd, [{ ...listing, isPrivate }]));
      const infos = rpl.children.find((c) => c.name === 'data')?.children[0]?.children;
      const vis = infos?.find((i) => i.attrs.get('id') === 'urn:parlano:ma:info:visibilty');
      assert.equal(vis?.text, visibility);
    }
  });

  it('rpl:bccontext wraps the messages in <chanib uri>', () => {
    const rpl = parsed(encodeBccontextReply(cmd, 'ma-chan://d/r', []));
    const chanib = rpl.children.find((c) => c.name === 'data')?.children[0];
    assert.equal(chanib?.name, 'chanib');
    assert.equal(chanib?.attrs.get('uri'), 'ma-chan://d/r');
  });

  it('ntc:join names the user in <uib uri>', () => {
    const ntc = parsed(encodeJoinNotice('sip:a@d', { domain: 'd', roomId: 'r' }));
    const uib = ntc.children[0]?.children[0];
    assert.equal(uib?.name, 'uib');
    assert.equal(uib?.attrs.get('uri'), 'sip:a@d');
  });

  it('a delivered grpchat has id "grpchat" and seqid "1"', () => {
    const g = parsed(encodeGrpchat({ roomUri: 'ma-chan://d/r', author: 'sip:a@d', ts: new Date(0), text: 'hi' }));
    assert.equal(g.attrs.get('id'), 'grpchat');
    assert.equal(g.attrs.get('seqid'), '1');
    assert.equal(g.attrs.get('ts'), '1970-01-01T00:00:00Z');
  });
});
