// Principal references and the membership test behind every access-control list.
import { invalid } from './errors.js';
import type { PrincipalKind, PrincipalRef } from './model.js';

const SIP_URI = /^sip:[a-z0-9._%+'-]+@[a-z0-9.-]+\.?[a-z0-9-]*$/;
const NAME = /^[a-z0-9][a-z0-9._ -]{0,127}$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Normalizes a SIP URI (`alice@x.com` or `sip:Alice@X.com` → `sip:alice@x.com`); throws on anything else. */
export function normalizeSipUri(input: string, field = 'uri'): string {
  let s = input.trim().toLowerCase();
  if (!s.startsWith('sip:')) s = `sip:${s}`;
  if (!SIP_URI.test(s)) throw invalid(field, `"${input}" is not a SIP URI such as sip:alice@contoso.com`);
  return s;
}

export function sipDomain(uri: string): string {
  return uri.slice(uri.indexOf('@') + 1);
}

export function normalizeOuPath(input: string, field = 'ou'): string {
  const segments = input
    .split('/')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (segments.length === 0 || segments.some((s) => s.length > 128 || /[,:]/.test(s))) {
    throw invalid(field, `"${input}" is not an OU path such as Contoso/Engineering`);
  }
  return segments.join('/');
}

export function normalizeGroupName(input: string, field = 'group'): string {
  const s = input.trim().toLowerCase();
  if (!NAME.test(s)) throw invalid(field, `"${input}" is not a valid group name`);
  return s;
}

/** Parses and normalizes a principal reference; throws INVALID_VALUE naming the field. */
export function normalizeRef(input: string, field: string): PrincipalRef {
  const s = input.trim();
  const colon = s.indexOf(':');
  const prefix = colon > 0 ? s.slice(0, colon).toLowerCase() : '';
  const rest = s.slice(colon + 1);
  switch (prefix) {
    case 'sip':
      return normalizeSipUri(s, field);
    case 'group':
      return `group:${normalizeGroupName(rest, field)}`;
    case 'ou':
      return `ou:${normalizeOuPath(rest, field)}`;
    case 'domain': {
      const d = rest.trim().toLowerCase();
      if (!DOMAIN.test(d)) throw invalid(field, `"${input}" is not a domain reference such as domain:contoso.com`);
      return `domain:${d}`;
    }
    default:
      if (s.includes('@')) return normalizeSipUri(s, field);
      throw invalid(
        field,
        `"${input}" is not a principal (sip:user@domain, group:name, ou:Path/To/Unit or domain:example.com)`,
      );
  }
}

export function refKind(ref: PrincipalRef): PrincipalKind {
  if (ref.startsWith('sip:')) return 'user';
  if (ref.startsWith('group:')) return 'group';
  if (ref.startsWith('ou:')) return 'ou';
  return 'domain';
}

/**
 * Who someone is, with group and OU membership already expanded. Built once per check batch by
 * the directory (which does the I/O); every rule below takes it as plain data.
 */
export interface Subject {
  uri: string;
  domain: string;
  ou: string | null;
  /** Every group the user is in, directly or through nesting. */
  groups: ReadonlySet<string>;
  isAdmin: boolean;
  /** EnablePersistentChat of the user's effective policy. */
  chatEnabled: boolean;
}

function ouContains(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

/** True when one entry of `refs` names the subject: the user, a group they are in, their OU or an ancestor OU, their domain. */
export function subjectMatches(subject: Subject, refs: readonly PrincipalRef[]): boolean {
  for (const ref of refs) {
    if (ref === subject.uri) return true;
    if (ref.startsWith('group:')) {
      if (subject.groups.has(ref.slice(6))) return true;
    } else if (ref.startsWith('ou:')) {
      if (subject.ou !== null && ouContains(ref.slice(3), subject.ou)) return true;
    } else if (ref.startsWith('domain:')) {
      if (ref.slice(7) === subject.domain) return true;
    }
  }
  return false;
}

/**
 * True when every principal `ref` stands for is also covered by `refs`.
 * A user is covered as a subject; a group by itself or an enclosing group; an OU by itself or an ancestor OU;
 * a domain by itself; and, when `usersOf` is given, any group, OU or domain all of whose users are covered. `groupAncestors(name)` lists the groups that contain `name`, transitively.
 */
export function refCovered(
  ref: PrincipalRef,
  refs: readonly PrincipalRef[],
  resolveUser: (uri: string) => Subject | undefined,
  groupAncestors: (name: string) => ReadonlySet<string>,
  usersOf?: (ref: PrincipalRef) => Subject[],
): boolean {
  if (refs.includes(ref)) return true;
  const kind = refKind(ref);
  if (kind === 'user') {
    const s = resolveUser(ref);
    return s !== undefined && subjectMatches(s, refs);
  }
  if (kind === 'group') {
    const up = groupAncestors(ref.slice(6));
    if (refs.some((r) => r.startsWith('group:') && up.has(r.slice(6)))) return true;
  } else if (kind === 'ou') {
    if (refs.some((r) => r.startsWith('ou:') && ouContains(r.slice(3), ref.slice(3)))) return true;
  }
  // Otherwise a group, OU or domain is covered when every user it stands for today is (a group of
  // contoso.com people under domain:contoso.com). Access is still checked per user when it is used.
  if (!usersOf) return false;
  const users = usersOf(ref);
  return users.length > 0 && users.every((s) => subjectMatches(s, refs));
}

/** A list parameter: either a full replacement or `+add`/`-remove` modifiers (PSListModifier). */
export type ListEdit = { replace: PrincipalRef[] } | { add: PrincipalRef[]; remove: PrincipalRef[] };

/** Parses `+sip:a@x,-sip:b@x` (modifiers) or `sip:a@x,sip:b@x` (replacement); mixing the two forms is an error. */
export function parseListEdit(input: string, field: string): ListEdit {
  const items = input
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const modifiers = items.filter((s) => s.startsWith('+') || s.startsWith('-'));
  if (modifiers.length > 0 && modifiers.length !== items.length) {
    throw invalid(field, 'use either +add/-remove entries or a plain list, not both');
  }
  if (modifiers.length === 0) return { replace: dedupe(items.map((s) => normalizeRef(s, field))) };
  return {
    add: dedupe(items.filter((s) => s.startsWith('+')).map((s) => normalizeRef(s.slice(1), field))),
    remove: dedupe(items.filter((s) => s.startsWith('-')).map((s) => normalizeRef(s.slice(1), field))),
  };
}

export function applyListEdit(current: readonly PrincipalRef[], edit: ListEdit): PrincipalRef[] {
  if ('replace' in edit) return [...edit.replace];
  const removed = new Set(edit.remove);
  return dedupe([...current.filter((r) => !removed.has(r)), ...edit.add]);
}

export function dedupe<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
