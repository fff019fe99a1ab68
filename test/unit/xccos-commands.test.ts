import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import {
  type DecodedCommand,
  decodeCommand,
  encodeBccontextReply,
  encodeChansrchReply,
  encodeGetinvReply,
  encodeGetprefReply,
  encodeGrpchat,
  encodeJoinNotice,
  encodeJoinReply,
  encodePartNotice,
  encodePartReply,
  encodePchatErrorReply,
  encodeRequriReply,
  encodeServerInfoReply,
  formatRoomUri,
  formatTimestamp,
  parseRoomUri,
  parseTimestamp,
  type XccosCommand,
} from '../../src/transports/xccos/commands.js';
import { buildEnvelope, parseEnvelope, type XccosRpl } from '../../src/transports/xccos/envelope.js';
import { child, childrenNamed, type XmlFragment } from '../../src/transports/xccos/xml.js';

const D = 'example.com';
const ROOM = 'ma-chan://example.com/1111-5555';

function wrap(item: string): string {
  return `<xccos ver="1" envid="1135667916" xmlns="urn:parlano:xml:ns:xccos">${item}</xccos>`;
}

function decode(item: string): DecodedCommand {
  const env = parseEnvelope(wrap(item));
  assert.ok(env.ok, env.ok ? '' : env.error.message);
  const first = env.value.items[0];
  assert.ok(first);
  const r = decodeCommand(first, env.value.envid);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function decodeError(item: string): { reason: string; code: string; field: string | undefined } {
  const env = parseEnvelope(wrap(item));
  assert.ok(env.ok, env.ok ? '' : env.error.message);
  const first = env.value.items[0];
  assert.ok(first);
  const r = decodeCommand(first, env.value.envid);
  assert.ok(!r.ok, 'expected a decode error');
  return { reason: r.error.reason, code: r.error.code, field: r.error.field };
}

/** Parses a built reply back, as a client would. */
function reply(fragment: XmlFragment): XccosRpl {
  const env = parseEnvelope(buildEnvelope('99', [fragment]));
  assert.ok(env.ok, env.ok ? '' : env.error.message);
  const rpl = env.value.items[0];
  assert.ok(rpl && rpl.kind === 'rpl');
  return rpl;
}

const room = { uri: ROOM, domain: D, roomId: '1111-5555' };

describe('decodeCommand: what SIPE sends', () => {
  const table: { name: string; item: string; command: XccosCommand }[] = [
    { name: 'requri', item: '<cmd id="cmd:requri" seqid="1"><data/></cmd>', command: { type: 'requri' } },
    {
      name: 'join with chanid',
      item: '<cmd id="cmd:join" seqid="1"><data><chanid key="0" domain="example.com" value="1111-5555"/></data></cmd>',
      command: { type: 'join', rooms: [room] },
    },
    {
      name: 'join with chanib (Lync form)',
      item: `<cmd id="cmd:join" seqid="1"><data><chanib uri="${ROOM}"/></data></cmd>`,
      command: { type: 'join', rooms: [room] },
    },
    {
      name: 'bjoin with several rooms, duplicates dropped, domain lower-cased',
      item:
        '<cmd id="cmd:bjoin" seqid="1"><data><chanid key="0" domain="Example.COM" value="1111-5555"/>' +
        '<chanid key="1" domain="example.com" value="2"/><chanid key="2" domain="example.com" value="1111-5555"/></data></cmd>',
      command: { type: 'bjoin', rooms: [room, { uri: 'ma-chan://example.com/2', domain: D, roomId: '2' }] },
    },
    {
      name: 'bjoin with none',
      item: '<cmd id="cmd:bjoin" seqid="1"><data/></cmd>',
      command: { type: 'bjoin', rooms: [] },
    },
    {
      name: 'getinv',
      item: '<cmd id="cmd:getinv" seqid="1"><data><inv inviteId="1" domain="example.com"/></data></cmd>',
      command: { type: 'getinv', invites: [{ inviteId: '1', domain: D }] },
    },
    {
      name: 'chansrch',
      item: '<cmd id="cmd:chansrch" seqid="1"><data><qib qtype="BYNAME" criteria="" extended="false"/></data></cmd>',
      command: { type: 'chansrch', qtype: 'BYNAME', criteria: '', extended: false },
    },
    {
      name: 'chansrch with criteria',
      item: '<cmd id="cmd:chansrch" seqid="1"><data><qib qtype="bydesc" criteria="eng &amp; ops" extended="TRUE"/></data></cmd>',
      command: { type: 'chansrch', qtype: 'BYDESC', criteria: 'eng & ops', extended: true },
    },
    {
      name: 'bccontext',
      item: `<cmd id="cmd:bccontext" seqid="1"><data><chanib uri="${ROOM}"/><bcq><last cnt="25"/></bcq></data></cmd>`,
      command: { type: 'bccontext', room, last: 25 },
    },
    {
      name: 'bccontext without bcq',
      item: `<cmd id="cmd:bccontext" seqid="1"><data><chanib uri="${ROOM}"/></data></cmd>`,
      command: { type: 'bccontext', room, last: undefined },
    },
    {
      name: 'bccontext count capped',
      item: `<cmd id="cmd:bccontext" seqid="1"><data><chanib uri="${ROOM}"/><bcq><last cnt="999999999"/></bcq></data></cmd>`,
      command: { type: 'bccontext', room, last: 10_000 },
    },
    {
      name: 'part',
      item: `<cmd id="cmd:part" seqid="1"><data><chanib uri="${ROOM}"/></data></cmd>`,
      command: { type: 'part', room },
    },
    {
      name: 'getserverinfo',
      item: '<cmd id="cmd:getserverinfo" seqid="1"><data><sib domain="example.com" infoType="123"/></data></cmd>',
      command: { type: 'getserverinfo', domain: D, infoType: '123' },
    },
    {
      name: 'getpref',
      item: '<cmd id="cmd:getpref" seqid="3"><data><pref label="kedzie.GroupChannels" seqid="71" createdefault="true"/></data></cmd>',
      command: {
        type: 'getpref',
        prefs: [{ label: 'kedzie.GroupChannels', seqid: '71', createDefault: true, content: undefined }],
      },
    },
    {
      name: 'setpref with base64 content',
      item: '<cmd id="cmd:setpref" seqid="1"><data><pref label="l" seqid="2" createdefault="false" content="aGVsbG8="/></data></cmd>',
      command: {
        type: 'setpref',
        prefs: [{ label: 'l', seqid: '2', createDefault: false, content: Buffer.from('hello') }],
      },
    },
    {
      name: 'nodespermcreatechild',
      item: '<cmd id="cmd:nodespermcreatechild" seqid="1"><data/></cmd>',
      command: { type: 'nodespermcreatechild' },
    },
    {
      name: 'grpchat from SIPE 1.25 (CRLF lines, escaped text)',
      item: `<grpchat id="grpchat" seqid="1" chanUri="${ROOM}" author="sip:alice@example.com" ts="2026-01-01T10:00:00Z"><chat>one &lt;b&gt;\r\ntwo &amp; three</chat></grpchat>`,
      command: {
        type: 'grpchat',
        message: {
          room,
          claimedAuthor: 'sip:alice@example.com',
          ts: new Date('2026-01-01T10:00:00Z'),
          text: 'one <b>\ntwo & three',
        },
      },
    },
    {
      name: 'grpchat from old SIPE (no ts)',
      item: `<grpchat id="grpchat" seqid="1" chanUri="${ROOM}" author="sip:alice@example.com"><chat>hi</chat></grpchat>`,
      command: {
        type: 'grpchat',
        message: { room, claimedAuthor: 'sip:alice@example.com', ts: undefined, text: 'hi' },
      },
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const decoded = decode(t.item);
      assert.deepEqual(decoded.command, t.command);
      assert.equal(decoded.ref.envid, '1135667916');
    });
  }

  it('keeps the ids a reply must echo', () => {
    assert.deepEqual(decode('<cmd id="cmd:part" seqid="7"><data><chanib uri="ma-chan://d.com/x"/></data></cmd>').ref, {
      id: 'cmd:part',
      seqid: '7',
      envid: '1135667916',
    });
    assert.deepEqual(decode(`<grpchat seqid="1" chanUri="${ROOM}"><chat>x</chat></grpchat>`).ref.id, 'grpchat');
  });
});

describe('decodeCommand: refusals', () => {
  const table: { name: string; item: string; reason: string; code: string; field?: string }[] = [
    {
      name: 'unknown command',
      item: '<cmd id="cmd:getfutok" seqid="1"><data/></cmd>',
      reason: 'unknown-command',
      code: 'UNKNOWN_TYPE',
    },
    { name: 'empty id', item: '<cmd seqid="1"><data/></cmd>', reason: 'unknown-command', code: 'UNKNOWN_TYPE' },
    {
      name: 'a reply from the client',
      item: '<rpl id="rpl:join" seqid="1"/>',
      reason: 'unknown-command',
      code: 'UNKNOWN_TYPE',
    },
    { name: 'a notice from the client', item: '<ntc id="ntc:join"/>', reason: 'unknown-command', code: 'UNKNOWN_TYPE' },
    {
      name: 'join without rooms',
      item: '<cmd id="cmd:join" seqid="1"><data/></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'chanid',
    },
    {
      name: 'join with a slash in the id',
      item: '<cmd id="cmd:join" seqid="1"><data><chanid key="0" domain="example.com" value="a/b"/></data></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'chanid',
    },
    {
      name: 'join with a bad domain',
      item: '<cmd id="cmd:join" seqid="1"><data><chanid key="0" domain="ex ample" value="1"/></data></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
    },
    {
      name: 'part without chanib',
      item: '<cmd id="cmd:part" seqid="1"><data/></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'chanib',
    },
    {
      name: 'part with a SIP uri',
      item: '<cmd id="cmd:part" seqid="1"><data><chanib uri="sip:a@b"/></data></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
    },
    {
      name: 'bccontext with negative cnt',
      item: `<cmd id="cmd:bccontext" seqid="1"><data><chanib uri="${ROOM}"/><bcq><last cnt="-1"/></bcq></data></cmd>`,
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'cnt',
    },
    {
      name: 'chansrch without qib',
      item: '<cmd id="cmd:chansrch" seqid="1"><data/></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'qib',
    },
    {
      name: 'setpref with bad base64',
      item: '<cmd id="cmd:setpref" seqid="1"><data><pref label="l" content="!!!"/></data></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'content',
    },
    {
      name: 'pref without label',
      item: '<cmd id="cmd:getpref" seqid="1"><data><pref/></data></cmd>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'label',
    },
    {
      name: 'grpchat without chanUri',
      item: '<grpchat><chat>x</chat></grpchat>',
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'chanUri',
    },
    {
      name: 'grpchat without chat',
      item: `<grpchat chanUri="${ROOM}"/>`,
      reason: 'bad-field',
      code: 'INVALID_VALUE',
      field: 'chat',
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const e = decodeError(t.item);
      assert.equal(e.reason, t.reason);
      assert.equal(e.code, t.code);
      if (t.field) assert.equal(e.field, t.field);
    });
  }
});

describe('room URIs and timestamps', () => {
  it('formats and parses ma-chan URIs', () => {
    assert.equal(formatRoomUri('Example.com', 'abc-1'), 'ma-chan://example.com/abc-1');
    assert.deepEqual(parseRoomUri('ma-chan://Example.com/abc-1'), { domain: D, roomId: 'abc-1' });
    for (const bad of [
      'ma-chan://example.com/a/b',
      'ma-chan://example.com/',
      'ma-cat://example.com/1',
      'ma-chan:///1',
      'ma-chan://ex ample/1',
    ]) {
      assert.equal(parseRoomUri(bad), undefined, bad);
    }
    assert.throws(() => formatRoomUri(D, 'a/b'));
    assert.throws(() => formatRoomUri('bad domain', '1'));
  });

  it('parses ISO-8601 stamps, zone-less as UTC', () => {
    assert.equal(parseTimestamp('2026-01-01T10:00:00Z')?.toISOString(), '2026-01-01T10:00:00.000Z');
    assert.equal(parseTimestamp('2026-01-01T10:00:00')?.toISOString(), '2026-01-01T10:00:00.000Z');
    assert.equal(parseTimestamp('2010-09-14T14:26:17.6206356Z')?.toISOString(), '2010-09-14T14:26:17.620Z');
    assert.equal(parseTimestamp('2026-01-01T12:00:00+02:00')?.toISOString(), '2026-01-01T10:00:00.000Z');
    assert.equal(parseTimestamp('yesterday'), undefined);
    assert.equal(parseTimestamp('2026-13-45T10:00:00Z'), undefined);
    assert.equal(formatTimestamp(new Date('2026-01-01T10:00:00.123Z')), '2026-01-01T10:00:00Z');
  });
});

describe('encoders', () => {
  const cmd = (id: string) => ({ id, seqid: '1', envid: '1135667916' });

  it('rpl:requri carries the chat server URI', () => {
    const r = reply(encodeRequriReply(cmd('cmd:requri'), 'sip:chatserver@example.com'));
    assert.equal(r.id, 'rpl:requri');
    assert.deepEqual(r.commandId, { seqid: '1', envid: '1135667916' });
    assert.deepEqual(r.resp, { code: 200, text: 'SUCCESS_OK' });
    assert.equal(child(r.data, 'uib')?.attrs.get('uri'), 'sip:chatserver@example.com');
  });

  it('rpl:bjoin has the §1.5 shape: a user map and aib index lists per room', () => {
    const frag = encodeJoinReply(cmd('cmd:bjoin'), [
      {
        uri: ROOM,
        name: 'General',
        description: 'General room',
        topic: 'hello topic',
        members: ['sip:alice@example.com', 'sip:bob@example.com'],
        managers: ['sip:bob@example.com'],
      },
      { uri: 'ma-chan://example.com/2', name: 'Other', members: ['sip:carol@example.com', 'sip:alice@example.com'] },
    ]);
    assert.equal(
      frag.xml,
      '<rpl id="rpl:bjoin" seqid="1"><commandid seqid="1" envid="1135667916"/><resp code="200">SUCCESS_OK</resp><data>' +
        '<uib id="0" uri="sip:alice@example.com"/><uib id="1" uri="sip:bob@example.com"/><uib id="2" uri="sip:carol@example.com"/>' +
        `<chanib name="General" description="General room" uri="${ROOM}" topic="hello topic"><aib key="3984" value="0,1"/><aib key="12276" value="1"/></chanib>` +
        '<chanib name="Other" description="" uri="ma-chan://example.com/2"><aib key="3984" value="2,0"/></chanib>' +
        '</data></rpl>',
    );
    assert.equal(reply(frag).id, 'rpl:bjoin');
  });

  it('rpl:chansrch lists rooms with infos and props', () => {
    const r = reply(
      encodeChansrchReply(cmd('cmd:chansrch'), [
        {
          uri: ROOM,
          name: 'General',
          description: 'd & d',
          userCount: 3,
          isPrivate: true,
          filePost: true,
          invite: false,
          logged: true,
        },
      ]),
    );
    const chanib = child(r.data, 'chanib');
    assert.ok(chanib);
    assert.equal(chanib.attrs.get('description'), 'd & d');
    const infos = Object.fromEntries(childrenNamed(chanib, 'info').map((i) => [i.attrs.get('id'), i.text]));
    assert.deepEqual(infos, { 'urn:parlano:ma:info:ucnt': '3', 'urn:parlano:ma:info:visibilty': 'private' });
    const props = Object.fromEntries(childrenNamed(chanib, 'prop').map((p) => [p.attrs.get('id'), p.text]));
    assert.deepEqual(props, {
      'urn:parlano:ma:prop:filepost': 'true',
      'urn:parlano:ma:prop:invite': 'false',
      'urn:parlano:ma:prop:logged': 'true',
    });
  });

  it('rpl:bccontext holds msg id="grpchat" entries with escaped text', () => {
    const r = reply(
      encodeBccontextReply(cmd('cmd:bccontext'), ROOM, [
        { roomUri: ROOM, author: 'sip:bob@example.com', ts: new Date('2026-01-01T10:00:00Z'), text: '</chat> & <b>' },
      ]),
    );
    const msg = child(child(r.data, 'chanib'), 'msg');
    assert.equal(msg?.attrs.get('id'), 'grpchat');
    assert.equal(msg?.attrs.get('chanUri'), ROOM);
    assert.equal(msg?.attrs.get('ts'), '2026-01-01T10:00:00Z');
    assert.equal(child(msg, 'chat')?.text, '</chat> & <b>');
  });

  it('rpl:part, rpl:getinv, rpl:getservinfo, rpl:getpref', () => {
    assert.equal(child(reply(encodePartReply(cmd('cmd:part'), ROOM)).data, 'chanib')?.attrs.get('uri'), ROOM);
    assert.equal(reply(encodeGetinvReply(cmd('cmd:getinv'))).resp?.code, 200);
    const sib = child(
      reply(
        encodeServerInfoReply(cmd('cmd:getserverinfo'), {
          infoType: '123',
          serverTime: new Date('2026-01-01T00:00:00Z'),
          searchLimit: 999,
          messageSizeLimit: 512,
          storySizeLimit: 4096,
          rootUri: 'ma-cat://example.com/root',
          dbVersion: 'v1',
        }),
      ).data,
      'sib',
    );
    assert.deepEqual(Object.fromEntries(sib?.attrs ?? []), {
      infoType: '123',
      serverTime: '2026-01-01T00:00:00.000Z',
      searchLimit: '999',
      messageSizeLimit: '512',
      storySizeLimit: '4096',
      rootUri: 'ma-cat://example.com/root',
      dbVersion: 'v1',
    });
    const pref = child(
      reply(encodeGetprefReply(cmd('cmd:getpref'), [{ label: 'l', seqid: '71', content: Buffer.from('hi') }])).data,
      'pref',
    );
    assert.equal(pref?.attrs.get('content'), 'aGk=');
  });

  it('error replies use the registry code and sentence', () => {
    const r = reply(encodePchatErrorReply(cmd('cmd:join'), new PchatError('ROOM_NOT_FOUND')));
    assert.equal(r.id, 'rpl:join');
    assert.deepEqual(r.resp, { code: 404, text: 'No such room.' });
  });

  it('ntc:join lets the client rebuild the room URI; ntc:part names room and user', () => {
    const join = parseEnvelope(
      buildEnvelope('5', [encodeJoinNotice('sip:bob@example.com', { domain: D, roomId: '1111-5555' })]),
    );
    assert.ok(join.ok);
    const ntc = join.value.items[0];
    assert.ok(ntc && ntc.kind === 'ntc');
    assert.equal(ntc.id, 'ntc:join');
    const aib = child(child(ntc.data, 'uib'), 'aib');
    assert.equal(`ma-chan://${aib?.attrs.get('domain')}/${aib?.attrs.get('value')}`, ROOM);
    assert.equal(aib?.attrs.get('key'), '3984');
    assert.equal(
      encodePartNotice('sip:bob@example.com', ROOM).xml,
      `<ntc id="ntc:part"><data><chanib uri="${ROOM}"><uib uri="sip:bob@example.com"/></chanib></data></ntc>`,
    );
  });

  it('grpchat round-trips through decodeCommand', () => {
    const line = {
      roomUri: ROOM,
      author: 'sip:bob@example.com',
      ts: new Date('2026-01-01T10:00:00Z'),
      text: 'a "quoted" <line>\nand more',
    };
    const env = parseEnvelope(buildEnvelope('6', [encodeGrpchat(line)]));
    assert.ok(env.ok);
    const item = env.value.items[0];
    assert.ok(item);
    const decoded = decodeCommand(item, env.value.envid);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.command, {
      type: 'grpchat',
      message: { room, claimedAuthor: line.author, ts: line.ts, text: line.text },
    });
  });
});
