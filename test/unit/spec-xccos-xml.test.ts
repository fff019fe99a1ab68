// Specification of the XCCOS XML reader and writer: what is accepted, what is refused and with which error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  childrenNamed,
  el,
  escapeXmlAttr,
  fragments,
  localName,
  parseXml,
  stripInvalidXmlChars,
  type XmlElement,
  XmlError,
} from '../../src/transports/xccos/xml.js';

function root(xml: string | Buffer, limits = {}): XmlElement {
  const r = parseXml(xml, limits);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.root;
}

function refusal(xml: string | Buffer, limits = {}): XmlError {
  const r = parseXml(xml, limits);
  assert.equal(r.ok, false, `accepted ${String(xml).slice(0, 80)}`);
  return (r as { ok: false; error: XmlError }).error;
}

describe('malformed XML is refused with a reason, a message naming the fault and the offset', () => {
  const table: { input: string; reason: string; message: string; offset?: number }[] = [
    { input: '', reason: 'syntax', message: 'expected a root element at offset 0', offset: 0 },
    { input: '  text', reason: 'syntax', message: 'expected a root element at offset 2', offset: 2 },
    { input: '<a/>x', reason: 'syntax', message: 'content after the root element at offset 4', offset: 4 },
    { input: '<', reason: 'syntax', message: 'expected a name at offset 1', offset: 1 },
    { input: '<1a/>', reason: 'syntax', message: 'expected a name at offset 1', offset: 1 },
    { input: '<a', reason: 'syntax', message: "expected whitespace, '>' or '/>' in <a> at offset 2", offset: 2 },
    { input: '<a x="1"y="2"/>', reason: 'syntax', message: "expected whitespace, '>' or '/>' in <a>" },
    { input: '<a x "1"/>', reason: 'syntax', message: "expected '=' at offset 5", offset: 5 },
    { input: '<a x=1/>', reason: 'syntax', message: 'attribute x needs a quoted value at offset 5', offset: 5 },
    { input: '<a x="1/>', reason: 'syntax', message: 'unterminated value of attribute x at offset 6', offset: 6 },
    { input: '<a x="<"/>', reason: 'syntax', message: "'<' in the value of attribute x" },
    { input: '<a x="1" x="2"/>', reason: 'syntax', message: 'duplicate attribute x' },
    { input: '<a>text', reason: 'syntax', message: '<a> is not closed at offset 7', offset: 7 },
    { input: '<a><b>', reason: 'syntax', message: '<b> is not closed' },
    { input: '<a><b></a></b>', reason: 'syntax', message: '</a> closes <b>' },
    { input: '<a></a x>', reason: 'syntax', message: "expected '>'" },
    { input: '<a><![CDATA[ x</a>', reason: 'syntax', message: 'unterminated CDATA section' },
    { input: '<a>x]]>y</a>', reason: 'syntax', message: "']]>' in text" },
    { input: '<a><!-- x</a>', reason: 'syntax', message: 'unterminated comment' },
    { input: '<a><?pi x</a>', reason: 'syntax', message: 'unterminated processing instruction' },
    { input: '<?xml version="1.0"', reason: 'syntax', message: 'unterminated processing instruction' },
    { input: '<a>fish & chips</a>', reason: 'syntax', message: "'&' must start an entity reference" },
    { input: '<a>&amp</a>', reason: 'syntax', message: "'&' must start an entity reference" },
    // A reference of 11 characters is still read as one (and is unknown); 12 characters is not a reference.
    { input: '<a>&abcdefghijk;</a>', reason: 'syntax', message: 'unknown entity &abcdefghijk;' },
    { input: '<a>&abcdefghijkl;</a>', reason: 'syntax', message: "'&' must start an entity reference" },
    { input: '<a>&nbsp;</a>', reason: 'syntax', message: 'unknown entity &nbsp;' },
    { input: '<a>&#65x;</a>', reason: 'syntax', message: 'unknown entity &#65x;' },
    { input: '<a>&x#65;</a>', reason: 'syntax', message: 'unknown entity &x#65;' },
    { input: '<a>\u0001</a>', reason: 'syntax', message: 'character not allowed in XML' },
    { input: '<a x="\uFFFE"/>', reason: 'syntax', message: 'character not allowed in XML' },
    { input: '<!DOCTYPE a><a/>', reason: 'doctype', message: '<!DOCTYPE> is not allowed at offset 0', offset: 0 },
    { input: '<!doctype a><a/>', reason: 'doctype', message: '<!DOCTYPE> is not allowed' },
    { input: '<a><!ENTITY e "x"></a>', reason: 'doctype', message: '<!ENTITY> is not allowed at offset 3', offset: 3 },
    { input: '<a><!ELEMENT a ANY></a>', reason: 'doctype', message: '<!ELEMENT> is not allowed' },
    { input: '<a><!ATTLIST a x CDATA></a>', reason: 'doctype', message: '<!ATTLIST> is not allowed' },
    { input: '<a><!FOO></a>', reason: 'doctype', message: 'markup declarations are not allowed' },
    { input: '<a><!<!ENTITY x></a>', reason: 'doctype', message: 'markup declarations are not allowed' },
  ];
  for (const t of table) {
    it(`${JSON.stringify(t.input)}: ${t.reason}, "${t.message}"`, () => {
      const e = refusal(t.input);
      assert.ok(e instanceof XmlError);
      assert.equal(e.name, 'XmlError');
      assert.equal(e.reason, t.reason);
      assert.equal(e.code, 'BAD_REQUEST');
      assert.ok(e.message.includes(t.message), `${e.message} lacks ${t.message}`);
      assert.match(e.message, / at offset \d+$/);
      if (t.offset !== undefined) assert.equal(e.offset, t.offset);
      assert.deepEqual(e.details, { reason: t.reason, offset: e.offset });
    });
  }

  it('invalid UTF-8 in a Buffer is an encoding error', () => {
    const e = refusal(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]));
    assert.equal(e.reason, 'encoding');
    assert.equal(e.message, 'XML body is not valid UTF-8');
    assert.deepEqual(e.details, { reason: 'encoding', offset: 0 });
  });

  it('a failure inside the reader (stack exhausted without a depth limit) is still a typed syntax error', () => {
    const n = 200_000;
    const e = refusal(`${'<a>'.repeat(n)}${'</a>'.repeat(n)}`, { maxDepth: Number.POSITIVE_INFINITY, maxBytes: 1e8 });
    assert.equal(e.reason, 'syntax');
    assert.equal(e.message, 'XML could not be read');
  });
});

describe('character references: exactly the characters XML 1.0 allows', () => {
  const table: { ref: string; allowed: boolean }[] = [
    { ref: '#0', allowed: false },
    { ref: '#x8', allowed: false },
    { ref: '#x9', allowed: true },
    { ref: '#xA', allowed: true },
    { ref: '#xB', allowed: false },
    { ref: '#xC', allowed: false },
    { ref: '#xD', allowed: true },
    { ref: '#x1F', allowed: false },
    { ref: '#x20', allowed: true },
    { ref: '#xD7FF', allowed: true },
    { ref: '#xD800', allowed: false },
    { ref: '#xDFFF', allowed: false },
    { ref: '#xE000', allowed: true },
    { ref: '#xFFFD', allowed: true },
    { ref: '#xFFFE', allowed: false },
    { ref: '#xFFFF', allowed: false },
    { ref: '#x10000', allowed: true },
    { ref: '#1114111', allowed: true },
    { ref: '#x110000', allowed: false },
  ];
  for (const t of table) {
    it(`&${t.ref}; is ${t.allowed ? 'read' : 'refused'}`, () => {
      const code = t.ref.startsWith('#x') ? Number.parseInt(t.ref.slice(2), 16) : Number(t.ref.slice(1));
      if (t.allowed) assert.equal(root(`<a>&${t.ref};</a>`).text, String.fromCodePoint(code));
      else {
        const e = refusal(`<a>&${t.ref};</a>`);
        assert.equal(e.reason, 'syntax');
        assert.ok(e.message.startsWith(`character reference &${t.ref}; is not allowed`), e.message);
      }
    });
  }

  it('a character reference to a tab or line feed in an attribute keeps it (literal ones become spaces)', () => {
    assert.equal(root('<a v="x&#9;y&#10;z\tw"/>').attrs.get('v'), 'x\ty\nz w');
  });
});

describe('what is read', () => {
  it('an empty element has empty text and no children', () => {
    const r = root('<a/>');
    assert.equal(r.text, '');
    assert.equal(r.children.length, 0);
    assert.equal(root('<a><b/></a>').children[0]?.text, '');
  });

  it('tab, CR and LF each separate attributes and surround the root', () => {
    for (const sp of [' ', '\t', '\r', '\n']) {
      const r = root(`${sp}<a${sp}x="1"${sp}y="2"${sp}/>${sp}`);
      assert.deepEqual(
        [...r.attrs],
        [
          ['x', '1'],
          ['y', '2'],
        ],
      );
    }
  });

  it('a CDATA section ends at the first ]]> after its start, not at one earlier in the document', () => {
    const r = root('<a x="]]>]]>"><![CDATA[q]]></a>');
    assert.equal(r.attrs.get('x'), ']]>]]>');
    assert.equal(r.text, 'q');
  });

  it('a comment ends at the first --> after <!--, and adjacent comments and PIs are each skipped', () => {
    assert.equal(root('<a><!-->x--></a>').text, '');
    assert.equal(root('<?xml version="1.0"?><?p q?><!--x--><!--y--><a><!--1--><!--2--><?p?><?q?>t</a>').text, 't');
  });

  it('limits: exactly the maximum is accepted, one more is refused', () => {
    const nest = (n: number) => `${'<a>'.repeat(n)}${'</a>'.repeat(n)}`;
    root(nest(4), { maxDepth: 4 });
    const deep = refusal(nest(5), { maxDepth: 4 });
    assert.equal(deep.reason, 'too-deep');
    assert.ok(deep.message.startsWith('elements nested deeper than 4'), deep.message);

    const many = (n: number) => `<r>${'<b/>'.repeat(n - 1)}</r>`;
    root(many(5), { maxElements: 5 });
    const wide = refusal(many(6), { maxElements: 5 });
    assert.equal(wide.reason, 'too-many-elements');
    assert.ok(wide.message.startsWith('more than 5 elements'), wide.message);

    root('<a x="1" y="2"/>', { maxAttributes: 2 });
    const attrs = refusal('<a x="1" y="2" z="3"/>', { maxAttributes: 2 });
    assert.equal(attrs.reason, 'too-many-elements');
    assert.ok(attrs.message.startsWith('more than 2 attributes'), attrs.message);
  });

  it('the byte limit counts UTF-8 bytes of a string, and a body of exactly the limit is accepted', () => {
    const body = '<a>€€€</a>'; // 10 characters, 16 bytes
    root(body, { maxBytes: 16 });
    root(Buffer.from(body), { maxBytes: 16 });
    for (const input of [body, Buffer.from(body)]) {
      const e = refusal(input, { maxBytes: 15 });
      assert.equal(e.reason, 'too-large');
      assert.equal(e.code, 'FRAME_TOO_LARGE');
      assert.equal(e.message, 'XML body of 16 bytes exceeds 15');
    }
  });
});

describe('navigation helpers', () => {
  it('localName drops everything up to the first colon', () => {
    const table: [string, string][] = [
      ['a', 'a'],
      ['x:a', 'a'],
      [':a', 'a'],
      ['x:y:a', 'y:a'],
    ];
    for (const [name, local] of table) assert.equal(localName(name), local, name);
  });

  it('childrenNamed of no element is an empty list', () => {
    assert.deepEqual(childrenNamed(undefined, 'x'), []);
  });
});

describe('writing', () => {
  it('stripInvalidXmlChars keeps surrogate pairs and drops lone surrogates wherever they are', () => {
    const table: [string, string][] = [
      ['a😀b', 'a😀b'],
      ['\uDC00x', 'x'],
      ['x\uDC00y', 'xy'],
      ['x\uD800y', 'xy'],
      ['x\uD800', 'x'],
      ['\uFFFEx\uFFFF', 'x'],
    ];
    for (const [input, output] of table) assert.equal(stripInvalidXmlChars(input), output, JSON.stringify(input));
  });

  it('escapeXmlAttr writes CR as a character reference so it survives attribute normalization', () => {
    assert.equal(escapeXmlAttr('a\rb'), 'a&#13;b');
    assert.equal(root(`<a v="${escapeXmlAttr('a\r\nb')}"/>`).attrs.get('v'), 'a\r\nb');
  });

  it('el and fragments leave out undefined and false children and escape strings', () => {
    assert.equal(el('a', {}, undefined, 'x<', false, el('b')).xml, '<a>x&lt;<b/></a>');
    assert.equal(el('a', {}, undefined, false).xml, '<a/>');
    assert.equal(fragments([undefined, 'x&', false, el('b')]).xml, 'x&amp;<b/>');
    assert.equal(fragments([undefined, false]).xml, '');
  });

  it('el refuses names that are not plain XML names, naming them', () => {
    assert.throws(() => el('1a'), { message: 'invalid XML element name: 1a' });
    assert.throws(() => el('a', { 'b c': '1' }), { message: 'invalid XML attribute name: b c' });
  });
});
