// Specification of link recognition in plain message text (src/core/links.ts): http and https URLs up to white
// space, <, > or a double quote, and room links ma-chan://domain/id, found in any letter case, in order; sentence
// punctuation at the end of a link is not part of it, nor is a closing bracket the link did not open; a room URI
// is split into its domain (lower-cased) and its room id (kept as written); roomUri builds what parseRoomUri splits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extractLinks, type FoundLink, parseRoomUri, roomUri } from '../../src/core/links.js';

const url = (href: string): FoundLink => ({ kind: 'url', text: href, href });
const room = (href: string, roomId: string): FoundLink => ({ kind: 'room', text: href, href, roomId });

describe('extractLinks: the links found in a message text', () => {
  const cases: [string, FoundLink[]][] = [
    ['', []],
    ['no links here', []],
    ['see https://example.com', [url('https://example.com')]],
    ['see http://example.com/a?b=c#d', [url('http://example.com/a?b=c#d')]],
    ['HTTPS://EXAMPLE.COM/Path', [url('HTTPS://EXAMPLE.COM/Path')]],
    ['Http://example.com', [url('Http://example.com')]],
    ['ftp://example.com and mailto:a@example.com are not links', []],
    ['https:// alone is not a link', []],
    ['xhttps://example.com does not start at a word boundary', []],
    ['(https://example.com)', [url('https://example.com')]],
    ['<https://example.com/a>', [url('https://example.com/a')]],
    ['"https://example.com/q"', [url('https://example.com/q')]],
    ['a link ends at white space: https://a.example/x\tnext', [url('https://a.example/x')]],
    // sentence punctuation at the end is dropped, however much of it there is
    ['go to https://example.com/a.', [url('https://example.com/a')]],
    ['is it https://example.com/a?', [url('https://example.com/a')]],
    ['wow https://example.com/a!!!', [url('https://example.com/a')]],
    ['(see https://example.com/a).', [url('https://example.com/a')]],
    ["it's at 'https://example.com/a'.", [url('https://example.com/a')]],
    ['[https://example.com/a], {https://example.com/b};', [url('https://example.com/a'), url('https://example.com/b')]],
    [
      'first https://example.com/a, then https://example.com/b:',
      [url('https://example.com/a'), url('https://example.com/b')],
    ],
    // punctuation inside a link stays
    ['https://example.com/a.b,c;d:e!f?g', [url('https://example.com/a.b,c;d:e!f?g')]],
    // a closing bracket the link opened is part of it; one it did not open is punctuation
    ['https://en.example.org/wiki/Foo_(bar)', [url('https://en.example.org/wiki/Foo_(bar)')]],
    ['(see https://en.example.org/wiki/Foo_(bar)).', [url('https://en.example.org/wiki/Foo_(bar)')]],
    ['https://example.com/a_(b)_(c)?', [url('https://example.com/a_(b)_(c)')]],
    ['https://example.com/q[0]', [url('https://example.com/q[0]')]],
    ['[https://example.com/q[0]]', [url('https://example.com/q[0]')]],
    ['https://example.com/{id}', [url('https://example.com/{id}')]],
    ['{https://example.com/{id}}.', [url('https://example.com/{id}')]],
    ['https://example.com/a(b]', [url('https://example.com/a(b')]],
    ["https://example.com/a(b)'", [url('https://example.com/a(b)')]],
    // room links
    ['join ma-chan://contoso.com/room-1', [room('ma-chan://contoso.com/room-1', 'room-1')]],
    ['join ma-chan://chat.contoso.com/Ab9._~-z.', [room('ma-chan://chat.contoso.com/Ab9._~-z', 'Ab9._~-z')]],
    ['MA-CHAN://Contoso.COM/R1', [room('MA-CHAN://Contoso.COM/R1', 'R1')]],
    ['ma-chan://x/y', [room('ma-chan://x/y', 'y')]],
    [
      'ma-chan://contoso.com/r1?x=1 stops at a character a room id cannot hold',
      [room('ma-chan://contoso.com/r1', 'r1')],
    ],
    ['ma-chan://contoso.com/ has no room id', []],
    ['ma-chan://contoso_com/r1 has a character a domain cannot hold', []],
    ['ma-chan:/contoso.com/r1', []],
    // several, mixed, in the order written
    [
      'ma-chan://contoso.com/a then https://example.com, then ma-chan://fabrikam.com/b!',
      [room('ma-chan://contoso.com/a', 'a'), url('https://example.com'), room('ma-chan://fabrikam.com/b', 'b')],
    ],
    ['https://example.com https://example.com', [url('https://example.com'), url('https://example.com')]],
  ];
  for (const [text, links] of cases) {
    test(`${JSON.stringify(text)} → ${links.map((l) => `${l.kind} ${l.href}`).join(', ') || 'no links'}`, () => {
      assert.deepEqual(extractLinks(text), links);
    });
  }

  test('a text is read anew each time (the pattern keeps no state between calls)', () => {
    const text = 'a https://example.com/x b';
    assert.deepEqual(extractLinks(text), [url('https://example.com/x')]);
    assert.deepEqual(extractLinks(text), [url('https://example.com/x')]);
  });
});

describe('room URIs: ma-chan://domain/id', () => {
  const parses: [string, { domain: string; roomId: string } | undefined][] = [
    ['ma-chan://contoso.com/room-1', { domain: 'contoso.com', roomId: 'room-1' }],
    ['ma-chan://Chat.Contoso.COM/RoomId', { domain: 'chat.contoso.com', roomId: 'RoomId' }],
    ['MA-CHAN://contoso.com/r', { domain: 'contoso.com', roomId: 'r' }],
    ['  ma-chan://contoso.com/r1\n', { domain: 'contoso.com', roomId: 'r1' }],
    ['ma-chan://localhost:8443/0f3a', { domain: 'localhost:8443', roomId: '0f3a' }],
    ['ma-chan://c/r', { domain: 'c', roomId: 'r' }],
    ['ma-chan://contoso.com/r1/extra', undefined],
    ['ma-chan://contoso.com/', undefined],
    ['ma-chan:///r1', undefined],
    ['ma-chan://contoso.com', undefined],
    ['ma-chan://con toso.com/r1', undefined],
    ['ma-chan://contoso.com/r 1', undefined],
    ['see ma-chan://contoso.com/r1', undefined],
    ['xma-chan://contoso.com/r1', undefined],
    ['ma-chan://contoso.com/r1 and more', undefined],
    ['https://contoso.com/r1', undefined],
    ['', undefined],
  ];
  for (const [uri, parsed] of parses) {
    test(`parseRoomUri(${JSON.stringify(uri)}) is ${parsed ? `${parsed.domain} / ${parsed.roomId}` : 'not a room URI'}`, () => {
      assert.deepEqual(parseRoomUri(uri), parsed);
    });
  }

  const built: [string, string, string][] = [
    ['contoso.com', 'room-1', 'ma-chan://contoso.com/room-1'],
    ['chat.fabrikam.com', '5e2f', 'ma-chan://chat.fabrikam.com/5e2f'],
  ];
  for (const [domain, roomId, uri] of built) {
    test(`roomUri(${domain}, ${roomId}) is ${uri}, which parses back and is found as a room link`, () => {
      assert.equal(roomUri(domain, roomId), uri);
      assert.deepEqual(parseRoomUri(roomUri(domain, roomId)), { domain, roomId });
      assert.deepEqual(extractLinks(`join ${roomUri(domain, roomId)}.`), [room(uri, roomId)]);
    });
  }
});
