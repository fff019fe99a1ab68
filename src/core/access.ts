// The access check (inventory section 7), written once. Every transport and the admin service ask these functions.
//
//   policy enabled → in the category's scope (AllowedMembers) and not DeniedMembers
//     → open rooms need no membership; closed and secret rooms need membership
//     → posting in an auditorium needs Presenter
//   secret rooms are invisible to non-members (a room's managers still see it, to manage it); managers manage but
//   do not join unless they are members;
//   administrators manage everything and are not limited by Creators or AllowedMembers (DeniedMembers still
//   keeps them out of a room's conversation: an ethical wall holds for everyone).
import type { ErrorCode } from './errors.js';
import type { Category, Room } from './model.js';
import { type Subject, subjectMatches } from './principals.js';

export type RoomAction = 'see' | 'join' | 'read' | 'post' | 'manage';

export interface Decision {
  allowed: boolean;
  /** Why not, when not allowed. */
  code?: ErrorCode;
}

const ALLOW: Decision = { allowed: true };
const deny = (code: ErrorCode): Decision => ({ allowed: false, code });

export function inCategoryScope(s: Subject, c: Category): boolean {
  if (subjectMatches(s, c.deniedMembers)) return false;
  return s.isAdmin || subjectMatches(s, c.allowedMembers);
}

export function isRoomMember(s: Subject, r: Room): boolean {
  return subjectMatches(s, r.members);
}

export function isRoomManager(s: Subject, r: Room): boolean {
  return subjectMatches(s, r.managers);
}

export function isRoomPresenter(s: Subject, r: Room): boolean {
  return subjectMatches(s, r.presenters);
}

/** One decision: may `s` do `action` in room `r` of category `c`? */
export function decideRoom(s: Subject, r: Room, c: Category, action: RoomAction): Decision {
  if (action === 'manage') {
    if (s.isAdmin) return ALLOW;
    if (!s.chatEnabled) return deny('POLICY_DISABLED');
    if (!inCategoryScope(s, c)) return deny('NOT_IN_CATEGORY_SCOPE');
    return isRoomManager(s, r) ? ALLOW : deny('NOT_A_MANAGER');
  }
  if (!s.chatEnabled) return deny('POLICY_DISABLED');
  const member = isRoomMember(s, r);
  if (action === 'see') {
    // Existence of a secret room is not revealed to non-members: the caller reports ROOM_NOT_FOUND.
    if (r.privacy === 'secret' && !member && !isRoomManager(s, r)) return deny('ROOM_NOT_FOUND');
    if (!inCategoryScope(s, c)) return deny('NOT_IN_CATEGORY_SCOPE');
    if (r.disabled) return deny('ROOM_DISABLED');
    return ALLOW;
  }
  if (r.privacy === 'secret' && !member && !isRoomManager(s, r)) return deny('ROOM_NOT_FOUND');
  if (!inCategoryScope(s, c)) return deny('NOT_IN_CATEGORY_SCOPE');
  if (r.disabled) return deny('ROOM_DISABLED');
  if (r.privacy !== 'open' && !member) return deny('NOT_A_MEMBER');
  if (action === 'post' && r.type === 'auditorium' && !isRoomPresenter(s, r)) return deny('NOT_A_PRESENTER');
  return ALLOW;
}

/** Bulk form: the ids of `rooms` that `s` may act on; rooms whose category is missing are left out. */
export function allowedRooms(
  s: Subject,
  rooms: readonly Room[],
  categories: ReadonlyMap<string, Category>,
  action: RoomAction,
): Room[] {
  const out: Room[] = [];
  for (const r of rooms) {
    const c = categories.get(r.categoryId);
    if (c && decideRoom(s, r, c, action).allowed) out.push(r);
  }
  return out;
}

/** May `s` create a room in category `c`? Creators must also be in scope; administrators always may. */
export function decideCreateRoom(s: Subject, c: Category): Decision {
  if (s.isAdmin) return ALLOW;
  if (!s.chatEnabled) return deny('POLICY_DISABLED');
  if (!inCategoryScope(s, c)) return deny('NOT_IN_CATEGORY_SCOPE');
  return subjectMatches(s, c.creators) ? ALLOW : deny('NOT_A_CREATOR');
}

/** Are a room's invitations in effect? Inherit from the category; never on when the category's are off. */
export function invitationsInEffect(r: Room, c: Category): boolean {
  return c.invitations && r.invitations === 'inherit';
}
