import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addressOfRecord,
  formatNameAddr,
  getTag,
  parseNameAddr,
  parseSipUri,
  userAtHost,
  withTag,
} from '../../src/transports/sip/uri.js';

describe('parseNameAddr', () => {
  const table: { input: string; displayName?: string; uri: string; params: [string, string][] }[] = [
    { input: '<sip:alice@example.com>;tag=abc', uri: 'sip:alice@example.com', params: [['tag', 'abc']] },
    {
      input: '"Alice A." <sip:alice@example.com>;tag=1;epid=x',
      displayName: 'Alice A.',
      uri: 'sip:alice@example.com',
      params: [
        ['tag', '1'],
        ['epid', 'x'],
      ],
    },
    { input: 'Alice <sip:alice@example.com>', displayName: 'Alice', uri: 'sip:alice@example.com', params: [] },
    { input: 'sip:alice@example.com;tag=zz', uri: 'sip:alice@example.com', params: [['tag', 'zz']] },
    {
      input: '<sip:a@1.2.3.4:5060;transport=tcp>;expires=0',
      uri: 'sip:a@1.2.3.4:5060;transport=tcp',
      params: [['expires', '0']],
    },
    { input: '"Say \\"hi\\"" <sip:a@b>', displayName: 'Say "hi"', uri: 'sip:a@b', params: [] },
    {
      input: '<sip:a@b>;+sip.instance="<urn:uuid:1-2>";lr',
      uri: 'sip:a@b',
      params: [
        ['+sip.instance', '<urn:uuid:1-2>'],
        ['lr', ''],
      ],
    },
    { input: '<sip:a@b> ;TAG = q', uri: 'sip:a@b', params: [['tag', 'q']] },
  ];
  for (const t of table) {
    it(t.input, () => {
      const na = parseNameAddr(t.input);
      assert.ok(na);
      assert.equal(na.displayName, t.displayName);
      assert.equal(na.uri, t.uri);
      assert.deepEqual([...na.params], t.params);
    });
  }

  for (const bad of [
    '',
    '   ',
    '<sip:a@b',
    '"unterminated <sip:a@b>',
    'not a uri',
    '<sip:a@b>;=x',
    '<sip:a@b> junk',
    '"x" sip:a@b',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(parseNameAddr(bad), undefined));
  }
});

describe('tags', () => {
  it('reads and sets tags', () => {
    assert.equal(getTag('<sip:a@b>;tag=t1'), 't1');
    assert.equal(getTag('<sip:a@b;tag=inuri>'), undefined);
    assert.equal(getTag(undefined), undefined);
    assert.equal(withTag('"A" <sip:a@b>', 'new'), '"A" <sip:a@b>;tag=new');
    assert.equal(withTag('<sip:a@b>;tag=old;x=1', 'new'), '<sip:a@b>;tag=new;x=1');
  });

  it('formats a round-trippable name-addr with quoting', () => {
    const s = formatNameAddr({
      displayName: 'A "q" \\',
      uri: 'sip:a@b',
      params: new Map([['+sip.instance', '<urn:uuid:x>']]),
    });
    const back = parseNameAddr(s);
    assert.equal(back?.displayName, 'A "q" \\');
    assert.equal(back?.params.get('+sip.instance'), '<urn:uuid:x>');
  });
});

describe('SIP URIs', () => {
  it('parses user, host, port and params', () => {
    const u = parseSipUri('sip:Alice@Example.COM:5061;transport=tls');
    assert.deepEqual(u && { ...u, params: [...u.params] }, {
      scheme: 'sip',
      user: 'Alice',
      host: 'example.com',
      port: 5061,
      params: [['transport', 'tls']],
    });
    assert.equal(parseSipUri('sip:example.com')?.user, undefined);
    assert.equal(parseSipUri('sip:a@[::1]:5060')?.host, '[::1]');
    assert.equal(parseSipUri('ma-chan://example.com/1'), undefined);
    assert.equal(parseSipUri('sip:a@b:99999'), undefined);
  });

  it('extracts user@host and the address of record', () => {
    assert.equal(userAtHost('"Alice" <sip:Alice@Example.com;transport=tcp>;tag=1'), 'Alice@example.com');
    assert.equal(addressOfRecord('<sip:Alice@Example.com>'), 'sip:alice@example.com');
    assert.equal(addressOfRecord('sip:example.com'), undefined);
    assert.equal(addressOfRecord('sip:%61lice@example.com'), 'sip:alice@example.com');
  });
});
