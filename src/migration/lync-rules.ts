// The migration rules of inventory §6 as pure functions: legacy categories and rooms (as read from the
// cmdlets' CSV) in, pchat categories, rooms and users out, with a finding for every change a rule made and
// every principal that could not be mapped.
//   - Nested categories are flattened: a subcategory's name is prefixed with its parents' names (the root
//     category's own name is not a prefix). A subcategory with no AllowedMembers of its own takes its
//     parent's; DeniedMembers add up down the tree (a deny above still denies).
//   - Managers of the legacy root category become managers of every room.
//   - Rooms of a category with invitations off get invitations off.
//   - Federated users (outside the organisation's SIP domains) become disabled principals: the rooms keep
//     them, but they lose access.
//   - Names stay within 256 characters; rooms and categories share one namespace, so a room whose name is
//     taken is prefixed with its category's name, and shortened (keeping it unique) when that is too long.

import { PchatError } from '../core/errors.js';
import type {
  Addin,
  Category,
  Endpoint,
  PrincipalRef,
  Privacy,
  Room,
  RoomInvitations,
  RoomType,
  User,
} from '../core/model.js';
import { LIMITS } from '../core/model.js';
import { dedupe, refCovered } from '../core/principals.js';
import { type AclContext, roomForCategory, validateCategory, validateRoom } from '../core/rules.js';
import { type DirectoryView, type Mapped, mapPrincipal } from './lync-principals.js';

export interface LegacyCategory {
  file: string;
  line: number;
  name: string;
  parent: string | null;
  description: string;
  invitations: boolean;
  fileUpload: boolean;
  chatHistory: boolean;
  allowedMembers: string[];
  deniedMembers: string[];
  creators: string[];
  /** Group Chat categories had managers; the root's become managers of every room. */
  managers: string[];
}

export interface LegacyRoom {
  file: string;
  line: number;
  name: string;
  description: string;
  category: string;
  privacy: Privacy;
  type: RoomType;
  addin: string | null;
  disabled: boolean;
  invitations: RoomInvitations;
  members: string[];
  managers: string[];
  presenters: string[];
  /** The id part of the legacy room URI (ma-chan://pool/<id>), when known. */
  legacyId: string | null;
}

export interface Finding {
  kind: 'category' | 'room' | 'user' | 'principal' | 'content' | 'addin' | 'endpoint';
  name: string;
  message: string;
  file?: string;
  line?: number;
}

export interface LyncInput {
  categories: LegacyCategory[];
  rooms: LegacyRoom[];
  addins: Addin[];
  endpoints: Endpoint[];
  rootCategory?: string;
}

export interface Existing {
  categoriesByName: ReadonlyMap<string, Category>;
  roomsByName: ReadonlyMap<string, Room>;
}

export interface LyncPlan {
  categories: Category[];
  rooms: Room[];
  /** Users the migration creates (federated ones disabled). */
  users: User[];
  addins: Addin[];
  endpoints: Endpoint[];
  /** Changes the rules made (renames, forced settings, purged entries): worth reading, not errors. */
  notes: Finding[];
  /** Principals that could not be mapped (left out of the lists they were in). */
  unmapped: Finding[];
  /** Items that cannot be migrated as they are (left out). */
  errors: Finding[];
  /** Room name (lower case) and legacy id → pchat room id, for the content. */
  roomIndex: Map<string, string>;
  /** Users the rules mark as federated. */
  federated: Set<string>;
}

export const NAME_SEPARATOR = ' - ';

/** Cuts `name` to the name limit (in characters, not UTF-16 units). */
export function fitName(name: string, limit: number = LIMITS.nameLength): string {
  const chars = [...name];
  return chars.length <= limit ? name : chars.slice(0, limit).join('');
}

/** Flattened category names: parents' names (except the root's) as a prefix. */
export function flattenNames(
  cats: readonly { name: string; parent: string | null }[],
  root: string | null,
): { names: Map<string, string>; cycles: string[] } {
  const byName = new Map(cats.map((c) => [c.name.toLowerCase(), c]));
  const names = new Map<string, string>();
  const cycles: string[] = [];
  for (const c of cats) {
    const path: string[] = [];
    const seen = new Set<string>();
    let cur: { name: string; parent: string | null } | undefined = c;
    while (cur) {
      const key = cur.name.toLowerCase();
      if (seen.has(key)) {
        cycles.push(c.name);
        break;
      }
      seen.add(key);
      if (root === null || key !== root.toLowerCase() || cur === c) path.unshift(cur.name);
      cur = cur.parent ? byName.get(cur.parent.toLowerCase()) : undefined;
    }
    names.set(c.name.toLowerCase(), path.join(NAME_SEPARATOR));
  }
  return { names, cycles };
}

/** The root category: named, or else the single top-level category that others nest under. */
export function findRoot(cats: readonly LegacyCategory[], named?: string): LegacyCategory | null {
  if (named !== undefined) return cats.find((c) => c.name.toLowerCase() === named.toLowerCase()) ?? null;
  const top = cats.filter((c) => !c.parent);
  if (top.length !== 1) return null;
  const t = top[0] as LegacyCategory;
  return cats.some((c) => c.parent?.toLowerCase() === t.name.toLowerCase()) ? t : null;
}

export function planLync(
  input: LyncInput,
  dir: DirectoryView,
  existing: Existing,
  makeAcl: (extraUsers: User[]) => AclContext,
  gen: { uuid: () => string; now: number },
): LyncPlan {
  const plan: LyncPlan = {
    categories: [],
    rooms: [],
    users: [],
    addins: input.addins,
    endpoints: input.endpoints,
    notes: [],
    unmapped: [],
    errors: [],
    roomIndex: new Map(),
    federated: new Set(),
  };
  const created = new Map<string, User>();
  const mapList = (
    list: readonly string[],
    where: { kind: Finding['kind']; name: string; file: string; line: number; column: string },
  ) => {
    const out: PrincipalRef[] = [];
    for (const entry of list) {
      const m: Mapped = mapPrincipal(entry, { ...dir, users: new Map([...dir.users, ...created]) }, gen.now);
      if ('unmapped' in m) {
        plan.unmapped.push({
          kind: 'principal',
          name: entry,
          message: `${where.kind} "${where.name}", ${where.column}: ${m.unmapped}`,
          file: where.file,
          line: where.line,
        });
        continue;
      }
      if (m.federated) plan.federated.add(m.ref);
      if (m.create && !created.has(m.ref)) {
        created.set(m.ref, m.create);
        plan.notes.push({
          kind: 'user',
          name: m.ref,
          message: m.create.disabled
            ? 'federated user: created disabled (keeps its place in the rooms, loses access)'
            : 'not in the pchat directory: created (give it a password or sign-in before use)',
          file: where.file,
          line: where.line,
        });
      }
      out.push(m.ref);
    }
    return dedupe(out);
  };

  // ---- categories -----------------------------------------------------------------------------------------
  const root = findRoot(input.categories, input.rootCategory);
  if (input.rootCategory !== undefined && !root)
    plan.errors.push({
      kind: 'category',
      name: input.rootCategory,
      message: 'the named root category is not in the categories file',
    });
  const { names, cycles } = flattenNames(input.categories, root?.name ?? null);
  for (const c of cycles) plan.errors.push({ kind: 'category', name: c, message: 'its parents form a cycle' });
  const byLegacy = new Map(input.categories.map((c) => [c.name.toLowerCase(), c]));
  const catByLegacyName = new Map<string, Category>();
  const mapped = new Map<string, { allowed: PrincipalRef[]; denied: PrincipalRef[] }>();
  const resolveAcl = (c: LegacyCategory, depth = 0): { allowed: PrincipalRef[]; denied: PrincipalRef[] } => {
    const key = c.name.toLowerCase();
    const done = mapped.get(key);
    if (done) return done;
    const where = { kind: 'category' as const, name: c.name, file: c.file, line: c.line };
    const own = {
      allowed: mapList(c.allowedMembers, { ...where, column: 'AllowedMembers' }),
      denied: mapList(c.deniedMembers, { ...where, column: 'DeniedMembers' }),
    };
    const parent = c.parent && depth < 64 ? byLegacy.get(c.parent.toLowerCase()) : undefined;
    let acl = own;
    if (parent) {
      const up = resolveAcl(parent, depth + 1);
      acl = {
        allowed: own.allowed.length > 0 ? own.allowed : up.allowed,
        denied: dedupe([...up.denied, ...own.denied]),
      };
    }
    mapped.set(key, acl);
    return acl;
  };
  const takenNames = new Map<string, string>(); // lower-case name → what holds it
  for (const c of input.categories) {
    if (c.parent && !byLegacy.has(c.parent.toLowerCase())) {
      plan.errors.push({
        kind: 'category',
        name: c.name,
        message: `its parent "${c.parent}" is not in the file`,
        file: c.file,
        line: c.line,
      });
      continue;
    }
    if (cycles.includes(c.name)) continue;
    let name = names.get(c.name.toLowerCase()) ?? c.name;
    if ([...name].length > LIMITS.nameLength) {
      const cut = fitName(name);
      plan.notes.push({
        kind: 'category',
        name: c.name,
        message: `flattened name shortened to 256 characters: "${cut}"`,
        file: c.file,
        line: c.line,
      });
      name = cut;
    }
    if (name !== c.name)
      plan.notes.push({
        kind: 'category',
        name: c.name,
        message: `nested category flattened to "${name}"`,
        file: c.file,
        line: c.line,
      });
    if (takenNames.has(name.toLowerCase())) {
      plan.errors.push({
        kind: 'category',
        name: c.name,
        message: `its name "${name}" is used twice`,
        file: c.file,
        line: c.line,
      });
      continue;
    }
    const acl = resolveAcl(c);
    const creators = mapList(c.creators, {
      kind: 'category',
      name: c.name,
      file: c.file,
      line: c.line,
      column: 'Creators',
    });
    const cat: Category = {
      id: existing.categoriesByName.get(name)?.id ?? gen.uuid(),
      name,
      description: c.description,
      invitations: c.invitations,
      fileUpload: c.fileUpload,
      chatHistory: c.chatHistory,
      allowedMembers: acl.allowed,
      deniedMembers: acl.denied,
      creators,
    };
    if (existing.categoriesByName.has(name))
      plan.notes.push({
        kind: 'category',
        name,
        message: 'overwrites the existing category of the same name',
        file: c.file,
        line: c.line,
      });
    takenNames.set(name.toLowerCase(), `category ${name}`);
    catByLegacyName.set(c.name.toLowerCase(), cat);
    plan.categories.push(cat);
  }
  const rootManagers = root
    ? mapList(root.managers, {
        kind: 'category',
        name: root.name,
        file: root.file,
        line: root.line,
        column: 'Managers',
      })
    : [];

  // ---- rooms ------------------------------------------------------------------------------------------------
  // Every list is mapped first, so the users the migration creates are known to the scope checks below.
  const mappedRooms: {
    r: LegacyRoom;
    cat: Category;
    members: PrincipalRef[];
    managers: PrincipalRef[];
    presenters: PrincipalRef[];
  }[] = [];
  for (const r of input.rooms) {
    const cat = catByLegacyName.get(r.category.toLowerCase());
    const where = { kind: 'room' as const, name: r.name, file: r.file, line: r.line };
    if (!cat) {
      plan.errors.push({ ...where, message: `its category "${r.category}" is not among the migrated categories` });
      continue;
    }
    mappedRooms.push({
      r,
      cat,
      members: mapList(r.members, { ...where, column: 'Members' }),
      managers: dedupe([...mapList(r.managers, { ...where, column: 'Managers' }), ...rootManagers]),
      presenters: mapList(r.presenters, { ...where, column: 'Presenters' }),
    });
  }
  const acl = makeAcl([...created.values()]);
  const roomsPlanned: { legacy: LegacyRoom; room: Room; cat: Category }[] = [];
  for (const { r, cat, managers, ...lists } of mappedRooms) {
    const where = { kind: 'room' as const, name: r.name, file: r.file, line: r.line };
    let { members, presenters } = lists;
    if (r.type === 'normal' && presenters.length > 0) {
      plan.notes.push({ ...where, message: 'a normal room has no presenters: its Presenters were dropped' });
      presenters = [];
    }
    // Presenters of an auditorium must be members: one not covered by the member list is added to it.
    for (const p of presenters)
      if (
        !refCovered(
          p,
          members,
          (u) => acl.resolveUser(u),
          (g) => acl.groupAncestors(g),
        )
      )
        members = [...members, p];
    const base: Room = {
      id: r.legacyId ?? gen.uuid(),
      name: r.name,
      description: r.description,
      categoryId: cat.id,
      privacy: r.privacy,
      type: r.type,
      disabled: r.disabled,
      addin: r.addin,
      invitations: r.invitations,
      members,
      managers,
      presenters,
      createdAt: gen.now,
    };
    // The category's rules: entries outside its scope are purged, invitations forced off when it has them off.
    const fitted = roomForCategory(base, cat, acl);
    for (const p of fitted.purged)
      plan.notes.push({
        ...where,
        message: `${p.ref} removed from ${p.field}: not in the allowed members of "${cat.name}" (or denied)`,
      });
    if (base.invitations !== fitted.room.invitations)
      plan.notes.push({ ...where, message: `invitations forced off: category "${cat.name}" has invitations off` });
    roomsPlanned.push({ legacy: r, room: fitted.room, cat });
  }
  if (rootManagers.length > 0)
    plan.notes.push({
      kind: 'category',
      name: root?.name ?? '',
      message: `managers of the root category (${rootManagers.join(', ')}) become managers of every room`,
    });
  for (const p of roomsPlanned) {
    let name = p.room.name;
    if (takenNames.has(name.toLowerCase())) {
      name = fitName(`${p.cat.name}${NAME_SEPARATOR}${p.room.name}`);
      for (let k = 2; takenNames.has(name.toLowerCase()); k++) {
        const suffix = ` (${k})`;
        name = `${fitName(`${p.cat.name}${NAME_SEPARATOR}${p.room.name}`, LIMITS.nameLength - suffix.length)}${suffix}`;
      }
      plan.notes.push({
        kind: 'room',
        name: p.room.name,
        message: `name taken by ${takenNames.get(p.room.name.toLowerCase())}: renamed "${name}"`,
        file: p.legacy.file,
        line: p.legacy.line,
      });
    } else if ([...name].length > LIMITS.nameLength) {
      name = fitName(name);
      plan.notes.push({
        kind: 'room',
        name: p.room.name,
        message: `name shortened to 256 characters`,
        file: p.legacy.file,
        line: p.legacy.line,
      });
    }
    const prior = existing.roomsByName.get(name);
    const room: Room = { ...p.room, name, id: prior?.id ?? p.room.id };
    if (prior)
      plan.notes.push({
        kind: 'room',
        name,
        message: 'overwrites the existing room of the same name',
        file: p.legacy.file,
        line: p.legacy.line,
      });
    try {
      validateRoom(room, p.cat, acl);
    } catch (e) {
      if (!(e instanceof PchatError)) throw e;
      plan.errors.push({ kind: 'room', name, message: e.message, file: p.legacy.file, line: p.legacy.line });
      continue;
    }
    takenNames.set(name.toLowerCase(), `room ${name}`);
    plan.rooms.push(room);
    plan.roomIndex.set(`name:${p.legacy.name.toLowerCase()}`, room.id);
    plan.roomIndex.set(`name:${name.toLowerCase()}`, room.id);
    if (p.legacy.legacyId) plan.roomIndex.set(`id:${p.legacy.legacyId.toLowerCase()}`, room.id);
  }
  for (const c of plan.categories) {
    try {
      validateCategory(c, acl);
    } catch (e) {
      if (!(e instanceof PchatError)) throw e;
      const allowedCreators = c.creators.filter((cr) => {
        try {
          validateCategory({ ...c, creators: [cr] }, acl);
          return true;
        } catch {
          return false;
        }
      });
      plan.notes.push({
        kind: 'category',
        name: c.name,
        message: `creators outside AllowedMembers dropped: ${c.creators.filter((x) => !allowedCreators.includes(x)).join(', ')}`,
      });
      c.creators = allowedCreators;
    }
  }
  plan.users = [...created.values()];
  return plan;
}
