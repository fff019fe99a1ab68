import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  child,
  deepText,
  el,
  escapeXmlAttr,
  escapeXmlText,
  parseXml,
  type XmlElement,
} from '../../src/transports/xccos/xml.js';

function root(xml: string | Buffer): XmlElement {
  const r = parseXml(xml);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.root;
}

describe('parseXml accepts', () => {
  it('elements, attributes, text and self-closing tags', () => {
    const r = root('<?xml version="1.0"?><a x="1" y=\'two\'><b/><c>text</c></a>');
    assert.equal(r.name, 'a');
    assert.deepEqual(
      [...r.attrs],
      [
        ['x', '1'],
        ['y', 'two'],
      ],
    );
    assert.deepEqual(
      r.children.map((c) => c.name),
      ['b', 'c'],
    );
    assert.equal(child(r, 'c')?.text, 'text');
  });

  it('the five entities and character references', () => {
    const r = root('<a t="&lt;&amp;&quot;&apos;&gt;">&lt;b&gt; &#65;&#x42; &#x1F600;</a>');
    assert.equal(r.attrs.get('t'), `<&"'>`);
    assert.equal(r.text, '<b> AB 😀');
  });

  it('CDATA, comments and processing instructions inside content', () => {
    const r = root('<a><!-- c --><![CDATA[<raw & stuff>]]><?pi x?>tail</a>');
    assert.equal(r.text, '<raw & stuff>tail');
  });

  it('normalizes CRLF in text to LF and whitespace in attributes to spaces', () => {
    const r = root('<a v="x\ty\r\nz">line1\r\nline2\rline3</a>');
    assert.equal(r.text, 'line1\nline2\nline3');
    assert.equal(r.attrs.get('v'), 'x y z');
  });

  it('prefixed names, a BOM and whitespace around the root', () => {
    const r = root('\uFEFF\n <x:a xmlns:x="u"><x:b/></x:a>\n<!-- after -->\n');
    assert.equal(r.name, 'x:a');
    assert.equal(child(r, 'b')?.name, 'x:b');
  });

  it('UTF-8 in a Buffer', () => {
    assert.equal(root(Buffer.from('<a>héllo €</a>', 'utf8')).text, 'héllo €');
  });

  it('deepText collects nested text', () => {
    assert.equal(deepText(root('<chat>a<b>b</b><i>c</i></chat>')), 'abc');
  });
});

describe('parseXml refuses', () => {
  const table: { name: string; input: string | Buffer; reason: string; limits?: object }[] = [
    { name: 'DOCTYPE', input: '<!DOCTYPE a><a/>', reason: 'doctype' },
    {
      name: 'entity bomb',
      input: '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
      reason: 'doctype',
    },
    {
      name: 'external entity',
      input: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
      reason: 'doctype',
    },
    { name: 'DOCTYPE inside content', input: '<a><!DOCTYPE a></a>', reason: 'doctype' },
    { name: 'undeclared entity', input: '<a>&nbsp;</a>', reason: 'syntax' },
    { name: 'bare ampersand', input: '<a>fish & chips</a>', reason: 'syntax' },
    { name: 'mismatched close', input: '<a><b></a></b>', reason: 'syntax' },
    { name: 'unclosed', input: '<a><b>', reason: 'syntax' },
    { name: 'two roots', input: '<a/><b/>', reason: 'syntax' },
    { name: 'text before root', input: 'x<a/>', reason: 'syntax' },
    { name: 'empty', input: '', reason: 'syntax' },
    { name: 'unquoted attribute', input: '<a x=1/>', reason: 'syntax' },
    { name: 'duplicate attribute', input: '<a x="1" x="2"/>', reason: 'syntax' },
    { name: '< in attribute', input: '<a x="<"/>', reason: 'syntax' },
    { name: 'attributes without space', input: '<a x="1"y="2"/>', reason: 'syntax' },
    { name: 'NUL character reference', input: '<a>&#0;</a>', reason: 'syntax' },
    { name: 'control character', input: '<a>\u0001</a>', reason: 'syntax' },
    { name: 'surrogate reference', input: '<a>&#xD800;</a>', reason: 'syntax' },
    { name: 'invalid UTF-8', input: Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]), reason: 'encoding' },
    { name: 'too deep', input: `${'<a>'.repeat(40)}${'</a>'.repeat(40)}`, reason: 'too-deep' },
    {
      name: 'too many elements',
      input: `<a>${'<b/>'.repeat(30)}</a>`,
      reason: 'too-many-elements',
      limits: { maxElements: 10 },
    },
    { name: 'too large', input: `<a>${'x'.repeat(2000)}</a>`, reason: 'too-large', limits: { maxBytes: 1000 } },
    { name: 'unterminated comment', input: '<a><!-- x</a>', reason: 'syntax' },
    { name: 'unterminated CDATA', input: '<a><![CDATA[ x</a>', reason: 'syntax' },
  ];
  for (const t of table) {
    it(t.name, () => {
      const r = parseXml(t.input, t.limits ?? {});
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.reason, t.reason, r.error.message);
        assert.ok(r.error.code === 'BAD_REQUEST' || r.error.code === 'FRAME_TOO_LARGE');
      }
    });
  }

  it('a very deep document returns an error instead of overflowing the stack', () => {
    const r = parseXml(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`, { maxBytes: 10_000_000 });
    assert.equal(r.ok, false);
  });
});

describe('XML writing', () => {
  it('escapes text and attributes strictly', () => {
    assert.equal(escapeXmlText(`a<b>&"'\r`), `a&lt;b&gt;&amp;"'&#13;`);
    assert.equal(escapeXmlAttr(`a<b>&"'\t\n`), 'a&lt;b&gt;&amp;&quot;&apos;&#9;&#10;');
    assert.equal(escapeXmlText('x\u0000\u0007y\uD800z'), 'xyz');
  });

  it('builds elements whose text and attributes survive a round trip', () => {
    const nasty = `</chat><inject a="1"/>&amp; "quoted" 'single' \u0001`;
    const xml = el('msg', { author: nasty, skip: undefined, n: 3, b: true }, el('chat', {}, nasty)).xml;
    const r = root(xml);
    assert.equal(r.attrs.get('author'), nasty.replace('\u0001', ''));
    assert.equal(r.attrs.has('skip'), false);
    assert.equal(r.attrs.get('n'), '3');
    assert.equal(r.attrs.get('b'), 'true');
    assert.equal(r.children.length, 1);
    assert.equal(child(r, 'chat')?.text, nasty.replace('\u0001', ''));
  });

  it('writes an empty element self-closed and refuses unsafe names', () => {
    assert.equal(el('data').xml, '<data/>');
    assert.throws(() => el('a b'));
    assert.throws(() => el('a', { 'x="1"': 'y' }));
  });
});
