import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildEnvelope,
  buildNotice,
  buildReply,
  EnvidSequence,
  parseEnvelope,
  replyIdFor,
  type XccosEnvelope,
} from '../../src/transports/xccos/envelope.js';
import { el } from '../../src/transports/xccos/xml.js';

function envelope(body: string): XccosEnvelope {
  const r = parseEnvelope(body);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

describe('parseEnvelope', () => {
  it('reads a SIPE command', () => {
    const env = envelope(
      '<xccos ver="1" envid="930660147" xmlns="urn:parlano:xml:ns:xccos"><cmd id="cmd:requri" seqid="1"><data/></cmd></xccos>',
    );
    assert.equal(env.ver, '1');
    assert.equal(env.envid, '930660147');
    assert.equal(env.items.length, 1);
    const cmd = env.items[0];
    assert.ok(cmd && cmd.kind === 'cmd');
    assert.equal(cmd.id, 'cmd:requri');
    assert.equal(cmd.seqid, '1');
    assert.equal(cmd.data?.name, 'data');
  });

  it('reads a real SfB reply with namespace prefixes and an envid above 2^53', () => {
    const env = envelope(
      '<xccos xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ver="1" envid="7962449779256945056" xmlns="urn:parlano:xml:ns:xccos">' +
        '<rpl id="rpl:getftok" seqid="1"><commandid seqid="1" envid="139132352"/><resp code="200">SUCCESS_OK</resp>' +
        '<data><token token="effab007" serveruri="https://x/PersistentChat/MGCWebService.asmx"/></data></rpl></xccos>',
    );
    assert.equal(env.envid, '7962449779256945056');
    const rpl = env.items[0];
    assert.ok(rpl && rpl.kind === 'rpl');
    assert.deepEqual(rpl.commandId, { seqid: '1', envid: '139132352' });
    assert.deepEqual(rpl.resp, { code: 200, text: 'SUCCESS_OK' });
  });

  it('keeps several items in order and skips unknown children', () => {
    const env = envelope(
      '<xccos ver="1" envid="5"><ntc id="ntc:join"><data/></ntc><unknown/><grpchat chanUri="ma-chan://d/1"><chat>x</chat></grpchat></xccos>',
    );
    assert.deepEqual(
      env.items.map((i) => i.kind),
      ['ntc', 'grpchat'],
    );
  });

  const bad: { name: string; body: string; reason: string }[] = [
    { name: 'not XML', body: 'hello', reason: 'xml' },
    { name: 'DOCTYPE', body: '<!DOCTYPE xccos><xccos envid="1"><cmd id="cmd:requri"/></xccos>', reason: 'xml' },
    { name: 'other root', body: '<xmpp envid="1"><cmd/></xmpp>', reason: 'envelope' },
    { name: 'other namespace', body: '<xccos envid="1" xmlns="urn:other"><cmd id="x"/></xccos>', reason: 'envelope' },
    { name: 'missing envid', body: '<xccos ver="1"><cmd id="cmd:requri"/></xccos>', reason: 'envelope' },
    { name: 'non-numeric envid', body: '<xccos envid="abc"><cmd id="cmd:requri"/></xccos>', reason: 'envelope' },
    { name: 'no items', body: '<xccos envid="1"/>', reason: 'envelope' },
  ];
  for (const t of bad) {
    it(`refuses ${t.name}`, () => {
      const r = parseEnvelope(t.body);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.reason, t.reason);
    });
  }

  it('applies the body size limit', () => {
    const body = `<xccos envid="1"><grpchat chanUri="ma-chan://d/1"><chat>${'x'.repeat(3000)}</chat></grpchat></xccos>`;
    const r = parseEnvelope(body, { maxBytes: 1000 });
    assert.ok(!r.ok && r.error.code === 'FRAME_TOO_LARGE');
  });
});

describe('building envelopes', () => {
  it('builds a reply echoing the command ids', () => {
    const xml = buildEnvelope('77', [
      buildReply(
        { id: 'cmd:requri', seqid: '1', envid: '930660147' },
        { data: [el('uib', { uri: 'sip:chat@example.com' })] },
      ),
    ]);
    assert.equal(
      xml,
      '<xccos ver="1" envid="77" xmlns="urn:parlano:xml:ns:xccos"><rpl id="rpl:requri" seqid="1"><commandid seqid="1" envid="930660147"/>' +
        '<resp code="200">SUCCESS_OK</resp><data><uib uri="sip:chat@example.com"/></data></rpl></xccos>',
    );
    const env = envelope(xml);
    const rpl = env.items[0];
    assert.ok(rpl && rpl.kind === 'rpl');
    assert.deepEqual(rpl.commandId, { seqid: '1', envid: '930660147' });
  });

  it('builds an error reply and a notice', () => {
    const rpl = buildReply({ id: 'cmd:join', seqid: '1', envid: '2' }, { code: 404, text: 'No such room & <more>' });
    assert.match(rpl.xml, /<resp code="404">No such room &amp; &lt;more&gt;<\/resp>/);
    assert.equal(buildNotice('ntc:part', []).xml, '<ntc id="ntc:part"><data/></ntc>');
  });

  it('maps command ids to reply ids', () => {
    assert.equal(replyIdFor('cmd:join'), 'rpl:join');
    assert.equal(replyIdFor('cmd:bjoin'), 'rpl:bjoin');
    assert.equal(replyIdFor('cmd:getserverinfo'), 'rpl:getservinfo');
  });

  it('counts envids upward from the start', () => {
    const seq = new EnvidSequence(41);
    assert.deepEqual([seq.next(), seq.next()], ['41', '42']);
    const big = new EnvidSequence(2n ** 63n);
    assert.equal(big.next(), '9223372036854775808');
    assert.match(new EnvidSequence().next(), /^\d+$/);
  });
});
