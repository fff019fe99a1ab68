// Model rules that validate or derive state: names, categories, rooms, add-ins, configuration.
// Pure functions; they throw PchatError naming the field, and never change anything themselves.
import { invalid, PchatError } from './errors.js';
import {
  type Addin,
  type Category,
  type ChatConfig,
  LIMITS,
  PRIVACY,
  type PrincipalRef,
  ROOM_INVITATIONS,
  ROOM_TYPES,
  type Room,
} from './model.js';
import { refCovered, type Subject } from './principals.js';

/** What the ACL rules need to know of the directory, resolved by the caller. */
export interface AclContext {
  resolveUser(uri: string): Subject | undefined;
  groupAncestors(name: string): ReadonlySet<string>;
  /** Every user a group, OU or domain stands for today (optional: without it only entries themselves count). */
  usersOf?(ref: PrincipalRef): Subject[];
}

// ---- names ------------------------------------------------------------------------------------------------
//
// Names people pick (rooms, categories, add-ins, display names, sites) are stored in NFC with every kind of
// space folded to one U+0020, and refused when they hold characters that are invisible or reorder the text
// around them: controls (Cc), format characters (Cf: zero-width spaces, bidi embeddings, overrides and
// isolates, the word joiner, the soft hyphen, tags), line and paragraph separators, private-use and surrogate
// code points, and the other default-ignorable code points (Hangul fillers, combining grapheme joiner,
// variation selectors). Two joiners are kept where scripts and emoji need them: ZWJ/ZWNJ after a combining
// mark (a virama in Indic scripts) and ZWJ between pictographs (emoji sequences); VS15/VS16 after a pictograph.
//
// Look-alikes: a word (a run of letters, marks and digits) that mixes Latin, Cyrillic and Greek letters is
// refused ("Lobbу" with a Cyrillic у). Whole-script look-alikes ("Нот" in Cyrillic beside "HOT") are caught by
// the uniqueness key instead: nameKey() maps the Cyrillic and Greek letters that Unicode TR39's confusables
// data lists as identical to a Latin letter onto that letter, after NFKC and case folding, so two names that
// look the same get the same key and the second is refused as NAME_TAKEN.

const ZWNJ = '\u200c';
const ZWJ = '\u200d';
const MARK = /\p{M}/u;
const PICTO = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Emoji_Component}]/u;
// Everything refused outright (joiners and emoji variation selectors are judged by context below).
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}]/u;
const SPACES = /\p{Zs}+/gu;
// Only spaces are trimmed: a tab, newline or byte order mark at either end is refused like one inside.
const EDGE_SPACES = /^ +| +$/g;
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const LOOKALIKE_SCRIPTS = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
] as const;

function describeChar(ch: string): string {
  const cp = (ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
  if (/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(ch)) return `a bidirectional control character (U+${cp})`;
  if (/\p{Cc}/u.test(ch)) return `a control character (U+${cp})`;
  return `an invisible or formatting character (U+${cp})`;
}

/** The first character of `s` that a name must not hold, or undefined. */
function forbiddenChar(chars: readonly string[]): string | undefined {
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (!INVISIBLE.test(ch)) continue;
    const prev = chars[i - 1] ?? '';
    const next = chars[i + 1] ?? '';
    if ((ch === ZWJ || ch === ZWNJ) && MARK.test(prev) && /\p{L}/u.test(next)) continue;
    if (ch === ZWJ && PICTO.test(prev) && PICTO.test(next)) continue;
    if ((ch === '\ufe0e' || ch === '\ufe0f') && PICTO.test(prev)) continue;
    return ch;
  }
  return undefined;
}

/** The scripts among Latin, Cyrillic and Greek that `word` has letters of. */
function lookalikeScripts(word: string): string[] {
  const found = new Set<string>();
  for (const ch of word) {
    for (const [name, re] of LOOKALIKE_SCRIPTS) if (re.test(ch)) found.add(name);
  }
  return [...found];
}

/**
 * Validates and normalizes a name: NFC, spaces folded, trimmed, length-checked, no invisible or bidi control
 * characters, no word mixing Latin, Cyrillic and Greek letters. Returns the name to store.
 */
export function validateName(name: string, field = 'name'): string {
  if (typeof name !== 'string') throw invalid(field, 'must be text');
  const s = name.normalize('NFC').replace(SPACES, ' ').replace(EDGE_SPACES, '');
  if (s.length === 0) throw invalid(field, 'must not be empty');
  const chars = [...s];
  if (chars.length > LIMITS.nameLength) {
    throw new PchatError('NAME_TOO_LONG', `${field}: at most ${LIMITS.nameLength} characters`, { field });
  }
  const bad = forbiddenChar(chars);
  if (bad !== undefined) throw invalid(field, `must not contain ${describeChar(bad)}`);
  for (const word of s.match(WORD) ?? []) {
    const scripts = lookalikeScripts(word);
    if (scripts.length > 1)
      throw invalid(field, `"${word}" mixes ${scripts.join(' and ')} letters in one word (a look-alike name)`);
  }
  return s;
}

// Cyrillic and Greek letters that TR39's confusables data maps to a single Latin letter (both cases, since the
// mapping runs before case folding: Cyrillic "Н" looks like Latin "H" though "н" does not look like "h").
const CONFUSABLE_PAIRS: readonly (readonly [string, string])[] = [
  // Cyrillic capitals
  ['А', 'A'],
  ['В', 'B'],
  ['Е', 'E'],
  ['Ѕ', 'S'],
  ['І', 'I'],
  ['Ј', 'J'],
  ['К', 'K'],
  ['М', 'M'],
  ['Н', 'H'],
  ['О', 'O'],
  ['Р', 'P'],
  ['С', 'C'],
  ['Т', 'T'],
  ['Х', 'X'],
  ['Ү', 'Y'],
  ['Ԁ', 'D'],
  ['Ԛ', 'Q'],
  ['Ԝ', 'W'],
  ['Ӏ', 'l'],
  ['Һ', 'H'],
  ['Ѵ', 'V'],
  // Cyrillic small letters
  ['а', 'a'],
  ['е', 'e'],
  ['о', 'o'],
  ['р', 'p'],
  ['с', 'c'],
  ['у', 'y'],
  ['х', 'x'],
  ['ѕ', 's'],
  ['і', 'i'],
  ['ј', 'j'],
  ['һ', 'h'],
  ['ԁ', 'd'],
  ['ԛ', 'q'],
  ['ԝ', 'w'],
  ['ӏ', 'l'],
  ['ѵ', 'v'],
  ['ү', 'y'],
  ['ɡ', 'g'],
  // Greek capitals
  ['Α', 'A'],
  ['Β', 'B'],
  ['Ε', 'E'],
  ['Ζ', 'Z'],
  ['Η', 'H'],
  ['Ι', 'I'],
  ['Κ', 'K'],
  ['Μ', 'M'],
  ['Ν', 'N'],
  ['Ο', 'O'],
  ['Ρ', 'P'],
  ['Τ', 'T'],
  ['Υ', 'Y'],
  ['Χ', 'X'],
  // Greek small letters
  ['ο', 'o'],
  ['ν', 'v'],
  ['ι', 'i'],
  ['α', 'a'],
  ['ρ', 'p'],
  ['υ', 'u'],
  ['κ', 'k'],
  ['χ', 'x'],
  ['γ', 'y'],
];
const CONFUSABLE = new Map(CONFUSABLE_PAIRS);
const CONFUSABLE_RE = new RegExp(`[${CONFUSABLE_PAIRS.map(([c]) => c).join('')}]`, 'gu');
const IGNORABLE_ALL = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * The uniqueness key of a name: what two names that look alike have in common. NFKC (fullwidth and other
 * compatibility forms fold to their plain letters), invisible characters dropped, spaces folded, Cyrillic and
 * Greek look-alikes mapped to Latin, then case-folded. Used for the unique index of room, category and add-in
 * names and for look-ups by name, so "lobby" finds "Lobby" as the original's case-insensitive collation did.
 */
export function nameKey(name: string): string {
  return name
    .normalize('NFKC')
    .replace(IGNORABLE_ALL, '')
    .replace(SPACES, ' ')
    .trim()
    .replace(CONFUSABLE_RE, (c) => CONFUSABLE.get(c) ?? c)
    .toUpperCase()
    .toLowerCase()
    .normalize('NFC');
}

export function validateDescription(d: string, field = 'description'): string {
  if ([...d].length > LIMITS.descriptionLength) throw invalid(field, `at most ${LIMITS.descriptionLength} characters`);
  return d;
}

export function parseEnum<T extends string>(value: string, allowed: readonly T[], field: string): T {
  const v = value.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) {
    throw invalid(field, `"${value}" is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

export const parsePrivacy = (v: string) => parseEnum(v, PRIVACY, 'privacy');
export const parseRoomType = (v: string) => parseEnum(v, ROOM_TYPES, 'type');
export const parseRoomInvitations = (v: string) => parseEnum(v, ROOM_INVITATIONS, 'invitations');

export function parseBool(value: string | boolean, field: string): boolean {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw invalid(field, `"${value}" is not true or false`);
}

function checkAclSize(list: readonly PrincipalRef[], field: string): void {
  if (list.length > LIMITS.aclEntries) throw invalid(field, `at most ${LIMITS.aclEntries} entries`);
}

/** Creators ⊆ AllowedMembers − DeniedMembers. */
export function validateCategory(c: Category, ctx: AclContext): void {
  validateName(c.name);
  validateDescription(c.description);
  checkAclSize(c.allowedMembers, 'allowedMembers');
  checkAclSize(c.deniedMembers, 'deniedMembers');
  checkAclSize(c.creators, 'creators');
  for (const creator of c.creators) {
    const allowed = covered(creator, c.allowedMembers, ctx);
    const denied = c.deniedMembers.includes(creator) || deniedBy(creator, c.deniedMembers, ctx);
    if (!allowed || denied) {
      throw new PchatError(
        'CREATOR_NOT_ALLOWED',
        `creators: ${creator} must be in allowedMembers and not in deniedMembers`,
        { field: 'creators' },
      );
    }
  }
}

/** refCovered with the directory's lookups (bound, so any AclContext object works). */
function covered(ref: PrincipalRef, refs: readonly PrincipalRef[], ctx: AclContext): boolean {
  return refCovered(
    ref,
    refs,
    (uri) => ctx.resolveUser(uri),
    (name) => ctx.groupAncestors(name),
    ctx.usersOf ? (r) => ctx.usersOf?.(r) ?? [] : undefined,
  );
}

function deniedBy(ref: PrincipalRef, denied: readonly PrincipalRef[], ctx: AclContext): boolean {
  return covered(ref, denied, ctx);
}

/** Is `ref` allowed to appear in a room of category `c` (in AllowedMembers and not in DeniedMembers)? */
export function refInCategoryScope(ref: PrincipalRef, c: Category, ctx: AclContext): boolean {
  return covered(ref, c.allowedMembers, ctx) && !deniedBy(ref, c.deniedMembers, ctx);
}

/** The whole-room rules: name, presenters, invitations. */
export function validateRoom(r: Room, c: Category, ctx: AclContext): void {
  validateName(r.name);
  validateDescription(r.description);
  if (r.id.includes('/')) throw invalid('id', 'must not contain "/"');
  checkAclSize(r.members, 'members');
  checkAclSize(r.managers, 'managers');
  checkAclSize(r.presenters, 'presenters');
  if (r.type === 'normal' && r.presenters.length > 0) {
    throw new PchatError('PRESENTERS_IN_NORMAL_ROOM', 'presenters: a normal room has no presenters', {
      field: 'presenters',
    });
  }
  for (const p of r.presenters) {
    if (!covered(p, r.members, ctx)) {
      throw new PchatError('PRESENTER_NOT_MEMBER', `presenters: ${p} is not a member of the room`, {
        field: 'presenters',
      });
    }
  }
  if (r.invitations === 'inherit' && !c.invitations) {
    throw new PchatError(
      'INVITATIONS_DISABLED_BY_CATEGORY',
      `invitations: category "${c.name}" has invitations off, so the room's must be false`,
      { field: 'invitations' },
    );
  }
  for (const field of ['members', 'managers', 'presenters'] as const) {
    for (const ref of r[field]) {
      if (!refInCategoryScope(ref, c, ctx)) {
        throw new PchatError(
          'NOT_IN_CATEGORY_SCOPE',
          `${field}: ${ref} is not in the allowed members of category "${c.name}" (or is denied)`,
          { field },
        );
      }
    }
  }
}

/**
 * Moving a room to another category: entries the target disallows are purged, and invitations are forced off
 * when the target's are off. Returns the room as it must be stored and the purged entries.
 */
export function roomForCategory(
  r: Room,
  target: Category,
  ctx: AclContext,
): { room: Room; purged: { field: 'members' | 'managers' | 'presenters'; ref: PrincipalRef }[] } {
  const purged: { field: 'members' | 'managers' | 'presenters'; ref: PrincipalRef }[] = [];
  const keep = (field: 'members' | 'managers' | 'presenters') =>
    r[field].filter((ref) => {
      const ok = refInCategoryScope(ref, target, ctx);
      if (!ok) purged.push({ field, ref });
      return ok;
    });
  const members = keep('members');
  const room: Room = {
    ...r,
    categoryId: target.id,
    members,
    managers: keep('managers'),
    presenters: keep('presenters').filter((p) => {
      // A presenter whose membership was purged is purged too (presenters must be members).
      const ok = covered(p, members, ctx);
      if (!ok) purged.push({ field: 'presenters', ref: p });
      return ok;
    }),
    invitations: target.invitations ? r.invitations : 'false',
  };
  return { room, purged };
}

export function validateAddin(a: Addin): void {
  validateName(a.name);
  let url: URL;
  try {
    url = new URL(a.url);
  } catch {
    throw invalid('url', `"${a.url}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('url', `add-in URLs must be http or https, not ${url.protocol.replace(':', '')}`);
  }
}

function intIn(v: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be a whole number from ${min} to ${max}`);
}

export function validateConfig(c: ChatConfig): void {
  intIn(c.defaultChatHistory, 1, 500, 'defaultChatHistory');
  intIn(c.maxFileSizeKB, 1, 10_000_000, 'maxFileSizeKB');
  intIn(c.participantUpdateLimit, 1, 1_000_000, 'participantUpdateLimit');
  intIn(c.messageSizeLimit, 1, 1_000_000, 'messageSizeLimit');
  intIn(c.storySizeLimit, 1, 10_000_000, 'storySizeLimit');
  intIn(c.searchLimit, 1, 100_000, 'searchLimit');
  if (c.roomManagementUrl !== null) {
    try {
      const u = new URL(c.roomManagementUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw invalid('roomManagementUrl', 'must be an http or https URL');
    }
  }
}

/** Large-room rule: roster notices stop above the limit and resume below 80 % of it. */
export function nextLargeRoomState(isLarge: boolean, participants: number, limit: number): boolean {
  if (!isLarge) return participants > limit;
  return participants >= Math.ceil(limit * 0.8);
}
