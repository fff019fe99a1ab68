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

export function validateName(name: string, field = 'name'): string {
  const s = name.trim();
  if (s.length === 0) throw invalid(field, 'must not be empty');
  if ([...s].length > LIMITS.nameLength) {
    throw new PchatError('NAME_TOO_LONG', `${field}: at most ${LIMITS.nameLength} characters`, { field });
  }
  if (/[\u0000-\u001f]/.test(s)) throw invalid(field, 'must not contain control characters');
  return s;
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
