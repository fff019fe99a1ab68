// name-addr values (From, To, Contact, …) and SIP URIs: display name, <uri>, header params such as ;tag=.

export interface NameAddr {
  /** Unquoted display name, or undefined when there was none. */
  displayName: string | undefined;
  /** The URI without angle brackets, e.g. `sip:alice@example.com;transport=tcp`. */
  uri: string;
  /** Header parameters after the address, names lower-cased, in order; a flag parameter has value ''. */
  params: Map<string, string>;
}

/**
 * Parses `"Alice" <sip:alice@example.com>;tag=abc`, `<sip:a@b>;tag=x`, `Alice <sip:a@b>` or a bare
 * `sip:a@b;tag=x` (where, per RFC 3261 §20, the ;params belong to the header, not the URI).
 * Returns undefined when the value is not a name-addr.
 */
export function parseNameAddr(value: string): NameAddr | undefined {
  const s = value.trim();
  if (!s) return undefined;
  let displayName: string | undefined;
  let rest = s;
  if (s.startsWith('"')) {
    const quoted = readQuoted(s, 0);
    if (!quoted) return undefined;
    displayName = quoted.value;
    rest = s.slice(quoted.end).trimStart();
    if (!rest.startsWith('<')) return undefined;
  } else {
    const lt = s.indexOf('<');
    if (lt > 0) {
      displayName = s.slice(0, lt).trim() || undefined;
      rest = s.slice(lt);
    }
  }
  let uri: string;
  let paramText: string;
  if (rest.startsWith('<')) {
    const gt = rest.indexOf('>');
    if (gt < 0) return undefined;
    uri = rest.slice(1, gt).trim();
    paramText = rest.slice(gt + 1);
  } else {
    const semi = rest.indexOf(';');
    uri = (semi < 0 ? rest : rest.slice(0, semi)).trim();
    paramText = semi < 0 ? '' : rest.slice(semi);
    if (/[\s,"]/.test(uri)) return undefined;
  }
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S/.test(uri)) return undefined;
  const params = parseParams(paramText);
  if (!params) return undefined;
  return { displayName, uri, params };
}

/** Writes a name-addr, always with angle brackets and a quoted, escaped display name. */
export function formatNameAddr(addr: {
  displayName?: string | undefined;
  uri: string;
  params?: Map<string, string>;
}): string {
  const name = addr.displayName ? `"${addr.displayName.replace(/[\r\n]/g, ' ').replace(/(["\\])/g, '\\$1')}" ` : '';
  let out = `${name}<${addr.uri}>`;
  for (const [k, v] of addr.params ?? []) out += v === '' ? `;${k}` : `;${k}=${formatParamValue(v)}`;
  return out;
}

function formatParamValue(v: string): string {
  if (/^[A-Za-z0-9!%*_+`'~.:[\]-]+$/.test(v)) return v;
  return `"${v.replace(/[\r\n]/g, ' ').replace(/(["\\])/g, '\\$1')}"`;
}

/** The `tag` parameter of a From/To value, or undefined. */
export function getTag(headerValue: string | undefined): string | undefined {
  if (headerValue === undefined) return undefined;
  const tag = parseNameAddr(headerValue)?.params.get('tag');
  return tag ? tag : undefined;
}

/** The header value with `;tag=` set (replacing an existing tag). Values that do not parse are returned with `;tag=` appended. */
export function withTag(headerValue: string, tag: string): string {
  const addr = parseNameAddr(headerValue);
  if (!addr) return `${headerValue};tag=${tag}`;
  addr.params.set('tag', tag);
  return formatNameAddr(addr);
}

export interface SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  host: string;
  port: number | undefined;
  /** URI parameters (`;transport=tcp`), names lower-cased. */
  params: Map<string, string>;
}

/** Parses `sip:user@host:port;params?headers`. Undefined for other schemes or malformed URIs. */
export function parseSipUri(uri: string): SipUri | undefined {
  const m = /^(sips?):(?:([^@;?]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?((?:;[^?]*)?)(?:\?.*)?$/i.exec(
    uri.trim(),
  );
  if (!m) return undefined;
  const params = parseParams(m[5] ?? '');
  if (!params) return undefined;
  const port = m[4] === undefined ? undefined : Number(m[4]);
  if (port !== undefined && port > 65535) return undefined;
  const user = m[2] === undefined ? undefined : safeDecode(m[2]);
  return {
    scheme: (m[1] as string).toLowerCase() as 'sip' | 'sips',
    user,
    host: (m[3] as string).toLowerCase(),
    port,
    params,
  };
}

/** `user@host` (host lower-cased, user as sent) from a SIP URI or a name-addr; undefined when there is no user part. */
export function userAtHost(value: string): string | undefined {
  const uri = parseNameAddr(value)?.uri ?? value;
  const parsed = parseSipUri(uri);
  if (!parsed?.user) return undefined;
  const user = parsed.user.split(';')[0] ?? parsed.user;
  return `${user}@${parsed.host}`;
}

/** The address of record `sip:user@host`, lower-cased, from a URI or name-addr; undefined without a user part. */
export function addressOfRecord(value: string): string | undefined {
  const uh = userAtHost(value);
  return uh ? `sip:${uh.toLowerCase()}` : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function readQuoted(s: string, start: number): { value: string; end: number } | undefined {
  let out = '';
  for (let i = start + 1; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === '\\') {
      if (i + 1 >= s.length) return undefined;
      out += s[++i];
    } else if (ch === '"') return { value: out, end: i + 1 };
    else out += ch;
  }
  return undefined;
}

/** `;a=1;b;c="x y"` → Map; undefined when malformed. Leading text before the first `;` must be blank. */
function parseParams(text: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  let i = 0;
  const s = text;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
    if (i >= s.length) break;
    if (s[i] !== ';') return undefined;
    i++;
    const nameMatch = /^\s*([A-Za-z0-9!%*_+`'~.-]+)\s*/.exec(s.slice(i));
    if (!nameMatch) return undefined;
    const name = (nameMatch[1] as string).toLowerCase();
    i += nameMatch[0].length;
    let value = '';
    if (s[i] === '=') {
      i++;
      while (i < s.length && /\s/.test(s[i] as string)) i++;
      if (s[i] === '"') {
        const q = readQuoted(s, i);
        if (!q) return undefined;
        value = q.value;
        i = q.end;
      } else {
        const v = /^[^;\s]*/.exec(s.slice(i));
        value = v ? v[0] : '';
        i += value.length;
      }
    }
    params.set(name, value);
  }
  return params;
}
