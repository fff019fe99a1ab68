// A small, strict XML reader and writer for XCCOS bodies.
// Reads elements, attributes, text, CDATA, comments and the XML declaration; refuses DOCTYPE and ENTITY
// declarations outright (no entity expansion beyond the five predefined ones and character references).
// Bounded by byte size, nesting depth and element count; bad input returns a typed error, never throws.
import { PchatError } from '../../core/errors.js';

export interface XmlElement {
  /** Qualified name as written (`xccos`, `xsi:type`). */
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Direct text content (text and CDATA children joined), line ends normalized to LF. */
  readonly text: string;
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
  maxAttributes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxElements: 20_000,
  maxAttributes: 64,
};

export type XmlErrorReason = 'too-large' | 'too-deep' | 'too-many-elements' | 'doctype' | 'encoding' | 'syntax';

export class XmlError extends PchatError {
  readonly reason: XmlErrorReason;
  /** Character offset in the input where reading stopped. */
  readonly offset: number;

  constructor(reason: XmlErrorReason, message: string, offset = 0) {
    super(reason === 'too-large' ? 'FRAME_TOO_LARGE' : 'BAD_REQUEST', message, { details: { reason, offset } });
    this.name = 'XmlError';
    this.reason = reason;
    this.offset = offset;
  }
}

export type XmlResult = { ok: true; root: XmlElement } | { ok: false; error: XmlError };

// ---------------------------------------------------------------------------------------------
// Reading

const NAME_START = /[A-Za-z_:\u00C0-\uFFFD]/;
const NAME_CHAR = /[A-Za-z0-9_:.\u00B7\u00C0-\uFFFD-]/;
const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

interface MutableElement {
  name: string;
  attrs: Map<string, string>;
  children: MutableElement[];
  text: string;
}

/** Parses one XML document. Accepts a Buffer (must be UTF-8) or a string. */
export function parseXml(input: Buffer | string, limits: Partial<XmlLimits> = {}): XmlResult {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > lim.maxBytes) return fail('too-large', `XML body of ${size} bytes exceeds ${lim.maxBytes}`, 0);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      return fail('encoding', 'XML body is not valid UTF-8', 0);
    }
  }
  try {
    return { ok: true, root: new Reader(text, lim).document() };
  } catch (e) {
    if (e instanceof XmlError) return { ok: false, error: e };
    // A bug in the reader must still not escape as an untyped throw.
    return fail('syntax', 'XML could not be read', 0);
  }
}

function fail(reason: XmlErrorReason, message: string, offset: number): XmlResult {
  return { ok: false, error: new XmlError(reason, message, offset) };
}

class Reader {
  private pos = 0;
  private elements = 0;

  constructor(
    private readonly s: string,
    private readonly lim: XmlLimits,
  ) {}

  document(): XmlElement {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.misc(true);
    if (this.s[this.pos] !== '<') this.error('syntax', 'expected a root element');
    const root = this.element(1);
    this.misc(false);
    if (this.pos < this.s.length) this.error('syntax', 'content after the root element');
    return root;
  }

  /** Whitespace, comments, processing instructions (the XML declaration) outside the root. */
  private misc(beforeRoot: boolean): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<?')) this.processingInstruction();
      else if (this.startsWith('<!--')) this.comment();
      else if (this.startsWith('<!')) this.refuseDeclaration();
      else return;
      if (!beforeRoot && this.pos >= this.s.length) return;
    }
  }

  private element(depth: number): MutableElement {
    if (depth > this.lim.maxDepth) this.error('too-deep', `elements nested deeper than ${this.lim.maxDepth}`);
    if (++this.elements > this.lim.maxElements)
      this.error('too-many-elements', `more than ${this.lim.maxElements} elements`);
    this.expect('<');
    const name = this.name();
    const el: MutableElement = { name, attrs: new Map(), children: [], text: '' };
    for (;;) {
      const hadSpace = this.skipSpace();
      if (this.startsWith('/>')) {
        this.pos += 2;
        return el;
      }
      if (this.s[this.pos] === '>') {
        this.pos++;
        break;
      }
      if (!hadSpace) this.error('syntax', `expected whitespace, '>' or '/>' in <${name}>`);
      this.attribute(el);
    }
    this.content(el, depth);
    return el;
  }

  private attribute(el: MutableElement): void {
    const name = this.name();
    this.skipSpace();
    this.expect('=');
    this.skipSpace();
    const quote = this.s[this.pos];
    if (quote !== '"' && quote !== "'") this.error('syntax', `attribute ${name} needs a quoted value`);
    this.pos++;
    const end = this.s.indexOf(quote, this.pos);
    if (end < 0) this.error('syntax', `unterminated value of attribute ${name}`);
    const raw = this.s.slice(this.pos, end);
    if (raw.includes('<')) this.error('syntax', `'<' in the value of attribute ${name}`);
    const value = this.decode(raw, true);
    this.pos = end + 1;
    if (el.attrs.has(name)) this.error('syntax', `duplicate attribute ${name}`);
    if (el.attrs.size >= this.lim.maxAttributes)
      this.error('too-many-elements', `more than ${this.lim.maxAttributes} attributes`);
    el.attrs.set(name, value);
  }

  private content(el: MutableElement, depth: number): void {
    let text = '';
    for (;;) {
      if (this.pos >= this.s.length) this.error('syntax', `<${el.name}> is not closed`);
      if (this.startsWith('</')) {
        this.pos += 2;
        const name = this.name();
        if (name !== el.name) this.error('syntax', `</${name}> closes <${el.name}>`);
        this.skipSpace();
        this.expect('>');
        el.text = text;
        return;
      }
      if (this.startsWith('<![CDATA[')) {
        const end = this.s.indexOf(']]>', this.pos + 9);
        if (end < 0) this.error('syntax', 'unterminated CDATA section');
        text += normalizeLineEnds(this.s.slice(this.pos + 9, end));
        this.pos = end + 3;
      } else if (this.startsWith('<!--')) this.comment();
      else if (this.startsWith('<?')) this.processingInstruction();
      else if (this.startsWith('<!')) this.refuseDeclaration();
      else if (this.s[this.pos] === '<') el.children.push(this.element(depth + 1));
      else {
        let end = this.s.indexOf('<', this.pos);
        if (end < 0) end = this.s.length;
        const raw = this.s.slice(this.pos, end);
        if (raw.includes(']]>')) this.error('syntax', "']]>' in text");
        text += this.decode(raw, false);
        this.pos = end;
      }
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) this.error('syntax', 'unterminated comment');
    this.pos = end + 3;
  }

  private processingInstruction(): void {
    const end = this.s.indexOf('?>', this.pos + 2);
    if (end < 0) this.error('syntax', 'unterminated processing instruction');
    this.pos = end + 2;
  }

  private refuseDeclaration(): never {
    const what = /^<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)/i.exec(this.s.slice(this.pos, this.pos + 10))?.[1]?.toUpperCase();
    return this.error('doctype', what ? `<!${what}> is not allowed` : 'markup declarations are not allowed');
  }

  private name(): string {
    const start = this.pos;
    if (!NAME_START.test(this.s[this.pos] ?? '')) this.error('syntax', 'expected a name');
    this.pos++;
    while (this.pos < this.s.length && NAME_CHAR.test(this.s[this.pos] as string)) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** Replaces entity and character references; refuses unknown entities and characters XML forbids. */
  private decode(raw: string, isAttribute: boolean): string {
    let out = '';
    let i = 0;
    while (i < raw.length) {
      const amp = raw.indexOf('&', i);
      const chunk = amp < 0 ? raw.slice(i) : raw.slice(i, amp);
      out += isAttribute ? chunk.replace(/\r\n|[\r\n\t]/g, ' ') : normalizeLineEnds(chunk);
      if (amp < 0) break;
      const semi = raw.indexOf(';', amp);
      if (semi < 0 || semi - amp > 12) this.error('syntax', "'&' must start an entity reference");
      const ref = raw.slice(amp + 1, semi);
      out += this.reference(ref);
      i = semi + 1;
    }
    if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(out))
      this.error('syntax', 'character not allowed in XML');
    return out;
  }

  private reference(ref: string): string {
    const named = PREDEFINED[ref];
    if (named !== undefined) return named;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (!m) return this.error('syntax', `unknown entity &${ref.slice(0, 20)};`);
    const code = m[1] !== undefined ? Number.parseInt(m[1], 16) : Number(m[2]);
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed) return this.error('syntax', `character reference &${ref}; is not allowed`);
    return String.fromCodePoint(code);
  }

  private skipSpace(): boolean {
    const start = this.pos;
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
    return this.pos > start;
  }

  private startsWith(token: string): boolean {
    return this.s.startsWith(token, this.pos);
  }

  private expect(ch: string): void {
    if (this.s[this.pos] !== ch) this.error('syntax', `expected '${ch}'`);
    this.pos++;
  }

  private error(reason: XmlErrorReason, message: string): never {
    throw new XmlError(reason, `${message} at offset ${this.pos}`, this.pos);
  }
}

function normalizeLineEnds(s: string): string {
  return s.replace(/\r\n?/g, '\n');
}

// ---------------------------------------------------------------------------------------------
// Navigation helpers

/** Local part of a qualified name: `xsi:type` → `type`. */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** First child element with this local name. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => localName(c.name) === name);
}

/** Every child element with this local name, in order. */
export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => localName(c.name) === name) : [];
}

/** Text of the element and all its descendants, in document order. */
export function deepText(el: XmlElement): string {
  // Direct text is kept apart from children, so interleaving is approximate: own text, then children's.
  return el.text + el.children.map(deepText).join('');
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Serialized XML that is already safe to embed; plain strings are always escaped as text. */
export interface XmlFragment {
  readonly xml: string;
}

/** Removes characters that XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/FFFF). */
export function stripInvalidXmlChars(s: string): string {
  return s.replace(
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '',
  );
}

export function escapeXmlText(s: string): string {
  return stripInvalidXmlChars(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

export function escapeXmlAttr(s: string): string {
  return stripInvalidXmlChars(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

export type XmlAttrs = Readonly<Record<string, string | number | boolean | undefined>>;
export type XmlChild = XmlFragment | string | undefined | false;

const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/**
 * Builds `<name a="v">children</name>` (or `<name a="v"/>` without children). Attribute values and string children
 * are escaped; undefined attributes and undefined/false children are left out. Names must be plain XML names.
 */
export function el(name: string, attrs: XmlAttrs = {}, ...children: XmlChild[]): XmlFragment {
  if (!SAFE_NAME.test(name)) throw new Error(`invalid XML element name: ${name}`);
  let out = `<${name}`;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (!SAFE_NAME.test(key)) throw new Error(`invalid XML attribute name: ${key}`);
    out += ` ${key}="${escapeXmlAttr(String(value))}"`;
  }
  const body = children
    .map((c) => (c === undefined || c === false ? '' : typeof c === 'string' ? escapeXmlText(c) : c.xml))
    .join('');
  return { xml: body ? `${out}>${body}</${name}>` : `${out}/>` };
}

/** Joins fragments without a wrapper element. */
export function fragments(list: readonly XmlChild[]): XmlFragment {
  return {
    xml: list
      .map((c) => (c === undefined || c === false ? '' : typeof c === 'string' ? escapeXmlText(c) : c.xml))
      .join(''),
  };
}
