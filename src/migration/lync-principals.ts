// Principals as the legacy system writes them, mapped to pchat's. Pure functions.
//
// A multi-valued column (Members, Managers, Presenters, AllowedMembers, DeniedMembers, Creators) reaches the
// CSV in one of these forms:
// - joined by the administrator, as docs/migration.md asks: `@{n='Members';e={$_.Members -join ';'}}` gives
//   `sip:a@x;CN=Eng,OU=Groups,DC=x,DC=com`; newlines (`-join "`n"`) and `|` work too;
// - a PowerShell array as formatted for display: `{sip:a@x, sip:b@x}`;
// - not at all: Export-Csv writes a collection-valued property as its .NET type name
//   (`System.Collections.Generic.List`1[System.String]`, `System.Object[]`), the values are lost, and the
//   reader says so (the column must be exported again with -join).
// Each entry is a SIP URI (`sip:alice@contoso.com`, or bare `alice@contoso.com`) or an AD distinguished name:
// `CN=…,OU=…,DC=…` for a user or group, `OU=…,…,DC=…` for an OU, `DC=contoso,DC=com` for a domain.
import type { PrincipalRef, User } from '../core/model.js';
import { normalizeGroupName, normalizeSipUri, sipDomain } from '../core/principals.js';

/** A collection that Export-Csv wrote as its type name. */
export function isTypeName(v: string): boolean {
  return /^(System|Microsoft)\.[\w.`]+(\[[\w.`, [\]]*\])?$/.test(v.trim());
}

/** Splits one multi-valued cell into its entries. Throws (with a message) for a type name. */
export function splitMultiValue(v: string): string[] {
  let s = v.trim();
  if (s === '' || s === '{}') return [];
  if (isTypeName(s)) throw new Error(`holds the type name "${s}" instead of its values (export it with -join ';')`);
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const parts = s.split(/[;|\r\n]+/);
  const out: string[] = [];
  for (const p of parts) {
    const t = p.trim();
    if (t === '') continue;
    // `{a, b}` or `a, b`: split at a comma only where a new entry starts after a complete one (a SIP URI, or a
    // DN that has reached its DC= components).
    out.push(...t.split(/(?<=(?:@[^,\s]+|DC=[^,=]+))\s*,\s*(?=(?:sip:|CN=|OU=|[^\s,=]+@))/i).map((x) => x.trim()));
  }
  return out.filter((x) => x !== '');
}

export interface Rdn {
  type: string; // upper case: CN, OU, DC, …
  value: string;
}

/** Parses a distinguished name (RFC 4514 escapes: `\,`, `\\`, `\"`, `\+`, hex pairs). Null when it is not one. */
export function parseDn(dn: string): Rdn[] | null {
  const out: Rdn[] = [];
  let i = 0;
  const s = dn.trim();
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq === -1) return null;
    const type = s.slice(i, eq).trim().toUpperCase();
    if (!/^[A-Z][A-Z0-9-]*$/.test(type)) return null;
    let value = '';
    let j = eq + 1;
    for (; j < s.length; j++) {
      const c = s[j] as string;
      if (c === '\\') {
        const hex = /^[0-9a-fA-F]{2}/.exec(s.slice(j + 1, j + 3));
        if (hex) {
          value += String.fromCharCode(Number.parseInt(hex[0], 16));
          j += 2;
        } else value += s[++j] ?? '';
      } else if (c === ',') break;
      else value += c;
    }
    out.push({ type, value: value.trim() });
    i = j + 1;
  }
  return out.length > 0 ? out : null;
}

/** What pchat knows of its directory while a migration is planned. */
export interface DirectoryView {
  users: ReadonlyMap<string, User>;
  groups: ReadonlySet<string>;
  /** SIP domains of the organisation; users of any other domain are federated. */
  internalDomains: ReadonlySet<string>;
  /** Display names seen in the compliance archives (uri → name). */
  knownNames: ReadonlyMap<string, string>;
}

export type Mapped = { ref: PrincipalRef; create?: User; federated?: boolean } | { unmapped: string };

/** Maps one legacy principal entry to a pchat principal. */
export function mapPrincipal(entry: string, dir: DirectoryView, now: number): Mapped {
  const e = entry.trim().replace(/^"(.*)"$/, '$1');
  if (/^sip:/i.test(e) || (e.includes('@') && !e.includes('='))) {
    let uri: string;
    try {
      uri = normalizeSipUri(e);
    } catch {
      return { unmapped: 'not a valid SIP URI' };
    }
    if (dir.users.has(uri)) return { ref: uri, federated: !dir.internalDomains.has(sipDomain(uri)) };
    const federated = !dir.internalDomains.has(sipDomain(uri));
    return { ref: uri, federated, create: newUser(uri, dir.knownNames.get(uri), federated, now) };
  }
  const rdns = parseDn(e);
  if (!rdns) return { unmapped: 'neither a SIP URI nor a distinguished name' };
  const ous = rdns.filter((r) => r.type === 'OU').map((r) => r.value);
  const dcs = rdns.filter((r) => r.type === 'DC').map((r) => r.value.toLowerCase());
  const first = rdns[0] as Rdn;
  if (first.type === 'CN') {
    const ouPath = [...ous].reverse().join('/');
    const name = first.value;
    let group: string | undefined;
    try {
      group = normalizeGroupName(name);
    } catch {
      group = undefined;
    }
    if (group !== undefined && dir.groups.has(group)) return { ref: `group:${group}` };
    const lower = name.toLowerCase();
    const matches = [...dir.users.values()].filter(
      (u) => u.displayName.toLowerCase() === lower && (ous.length === 0 || u.ou === null || u.ou === ouPath),
    );
    if (matches.length === 1) return { ref: (matches[0] as User).uri };
    if (matches.length > 1) return { unmapped: `${matches.length} pchat users are named "${name}"` };
    return { unmapped: `no pchat user or group is named "${name}"` };
  }
  if (first.type === 'OU') return { ref: `ou:${[...ous].reverse().join('/')}` };
  if (first.type === 'DC' && dcs.length > 0 && rdns.every((r) => r.type === 'DC'))
    return { ref: `domain:${dcs.join('.')}` };
  return { unmapped: `a ${first.type}= name pchat has no principal for` };
}

function newUser(uri: string, name: string | undefined, federated: boolean, now: number): User {
  return {
    uri,
    displayName: name ?? uri.slice(4, uri.indexOf('@')),
    email: null,
    ou: null,
    site: null,
    policy: null,
    isAdmin: false,
    // Rooms with federated users migrate, but those users lose access (inventory §6).
    disabled: federated,
    createdAt: now,
  };
}
