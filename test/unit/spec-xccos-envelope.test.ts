// Specification of the XCCOS envelope: the fields read from <xccos> and its items, refusals, and built replies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildReply,
  parseEnvelope,
  replyIdFor,
  SUCCESS_TEXT,
  type XccosEnvelope,
  XccosError,
  type XccosItem,
} from '../../src/transports/xccos/envelope.js';
import { XmlError } from '../../src/transports/xccos/xml.js';

const NS = 'urn:parlano:xml:ns:xccos';

function envelope(body: string): XccosEnvelope {
  const r = parseEnvelope(body);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function only(inner: string): XccosItem {
  const items = envelope(`<xccos ver="1" envid="7" xmlns="${NS}">${inner}</xccos>`).items;
  assert.equal(items.length, 1);
  return items[0] as XccosItem;
}

describe('envelope fields and their defaults', () => {
  it('ver is read as written and is empty when absent', () => {
    assert.equal(envelope(`<xccos ver="1" envid="5"><cmd id="cmd:requri"/></xccos>`).ver, '1');
    assert.equal(envelope(`<xccos envid="5"><cmd id="cmd:requri"/></xccos>`).ver, '');
  });

  it('item id and seqid: as written; id empty and seqid "1" when absent', () => {
    const table: { xml: string; id: string; seqid: string }[] = [
      { xml: '<cmd id="cmd:join" seqid="3"/>', id: 'cmd:join', seqid: '3' },
      { xml: '<cmd/>', id: '', seqid: '1' },
      { xml: '<rpl/>', id: '', seqid: '1' },
      { xml: '<grpchat chanUri="ma-chan://d/r"/>', id: 'grpchat', seqid: '1' },
      { xml: '<grpchat id="grpchat" seqid="2"/>', id: 'grpchat', seqid: '2' },
      { xml: '<grpchat id="other"/>', id: 'other', seqid: '1' },
    ];
    for (const t of table) {
      const item = only(t.xml);
      assert.equal(item.id, t.id, t.xml);
      if (item.kind !== 'ntc') assert.equal(item.seqid, t.seqid, t.xml);
    }
    assert.equal(only('<ntc/>').id, '');
  });

  it('a reply commandid lacking seqid or envid reads them as empty', () => {
    const table: { xml: string; commandId: { seqid: string; envid: string } | undefined }[] = [
      { xml: '<rpl id="rpl:x"><commandid seqid="1" envid="9"/></rpl>', commandId: { seqid: '1', envid: '9' } },
      { xml: '<rpl id="rpl:x"><commandid/></rpl>', commandId: { seqid: '', envid: '' } },
      { xml: '<rpl id="rpl:x"/>', commandId: undefined },
    ];
    for (const t of table) {
      const item = only(t.xml);
      assert.ok(item.kind === 'rpl');
      assert.deepEqual(item.commandId, t.commandId, t.xml);
    }
  });
});

describe('envelope refusals name the fault', () => {
  const table: { body: string; message: string }[] = [
    { body: '<foo envid="1"><cmd/></foo>', message: 'root element is <foo>, not <xccos>' },
    { body: '<xccos envid="1" xmlns="urn:other"><cmd/></xccos>', message: 'unexpected namespace urn:other' },
    { body: '<xccos><cmd/></xccos>', message: 'envid must be a decimal number' },
    { body: '<xccos envid="x12"><cmd/></xccos>', message: 'envid must be a decimal number' },
    { body: '<xccos envid="12x"><cmd/></xccos>', message: 'envid must be a decimal number' },
    { body: '<xccos envid="123456789012345678901"><cmd/></xccos>', message: 'envid must be a decimal number' },
    { body: '<xccos envid="1"><other/></xccos>', message: 'the envelope holds no cmd, rpl, ntc or grpchat' },
  ];
  for (const t of table) {
    it(t.message, () => {
      const r = parseEnvelope(t.body);
      assert.ok(!r.ok);
      assert.ok(r.error instanceof XccosError);
      assert.equal(r.error.name, 'XccosError');
      assert.equal(r.error.reason, 'envelope');
      assert.equal(r.error.code, 'BAD_REQUEST');
      assert.equal(r.error.message, t.message);
      assert.equal(r.error.field, undefined);
      assert.deepEqual(r.error.details, { reason: 'envelope' });
    });
  }

  it('an XML fault keeps the XML error as its cause, and its code', () => {
    const r = parseEnvelope('<xccos envid="1"><cmd></xccos>');
    assert.ok(!r.ok);
    assert.equal(r.error.reason, 'xml');
    assert.ok(r.error.cause instanceof XmlError);
    assert.equal(r.error.message, (r.error.cause as XmlError).message);
    const big = parseEnvelope(`<xccos envid="1"><cmd/>${' '.repeat(300_000)}</xccos>`);
    assert.ok(!big.ok);
    assert.equal(big.error.code, 'FRAME_TOO_LARGE');
  });

  it('errors of a field carry the field and the reason', () => {
    const e = new XccosError('bad-field', 'm', { field: 'chanid' });
    assert.equal(e.field, 'chanid');
    assert.deepEqual(e.details, { reason: 'bad-field' });
    assert.equal(e.code, 'INVALID_VALUE');
    assert.equal(new XccosError('unknown-command', 'm').code, 'UNKNOWN_TYPE');
  });
});

describe('building replies', () => {
  const cmd = { id: 'cmd:join', seqid: '1', envid: '42' };

  it('resp text defaults to SUCCESS_OK for 200 and ERROR otherwise; data defaults to empty', () => {
    const table: { opts: Parameters<typeof buildReply>[1]; resp: string }[] = [
      { opts: {}, resp: `<resp code="200">${SUCCESS_TEXT}</resp><data/>` },
      { opts: { code: 500 }, resp: '<resp code="500">ERROR</resp><data/>' },
      { opts: { code: 404, text: 'gone' }, resp: '<resp code="404">gone</resp><data/>' },
    ];
    for (const t of table) {
      assert.equal(
        buildReply(cmd, t.opts).xml,
        `<rpl id="rpl:join" seqid="1"><commandid seqid="1" envid="42"/>${t.resp}</rpl>`,
      );
    }
  });

  it('replyIdFor maps a command id to its reply id', () => {
    const table: [string, string][] = [
      ['cmd:join', 'rpl:join'],
      ['cmd:getserverinfo', 'rpl:getservinfo'],
      ['join', 'rpl:join'],
      ['cmdx', 'rpl:cmdx'],
    ];
    for (const [id, rpl] of table) assert.equal(replyIdFor(id), rpl, id);
  });
});
