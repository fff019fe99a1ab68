// Every admin verb, written once: the CLI, the REST admin API and room-management pages call these.
// Each verb validates everything before it writes anything, so bad input changes nothing.
import { randomUUID } from 'node:crypto';
import {
  decideCreateRoom,
  decideRoom,
  inCategoryScope,
  invitationsInEffect,
  isRoomManager,
  isRoomMember,
} from '../core/access.js';
import { invalid, PchatError } from '../core/errors.js';
import type {
  Addin,
  Category,
  ChatConfig,
  Endpoint,
  Group,
  Policy,
  PrincipalRef,
  Privacy,
  Room,
  RoomInvitations,
  RoomType,
  User,
} from '../core/model.js';
import {
  applyListEdit,
  type ListEdit,
  normalizeGroupName,
  normalizeOuPath,
  normalizeSipUri,
  type Subject,
  sipDomain,
  subjectMatches,
} from '../core/principals.js';
import {
  roomForCategory,
  validateAddin,
  validateCategory,
  validateConfig,
  validateDescription,
  validateName,
  validateRoom,
} from '../core/rules.js';
import { ALL_SCHEMES, type CredentialSchemes, makeCredential, schemesFor } from '../directory/passwords.js';
import { DirectorySnapshot } from '../directory/snapshot.js';
import type { Store } from '../store/port.js';

/** Who is acting: the local operator (full rights, as the CLI on the server host) or a signed-in user. */
export type Actor = { kind: 'system' } | { kind: 'user'; uri: string };
export const SYSTEM: Actor = { kind: 'system' };

export interface UserInput {
  displayName?: string;
  email?: string | null;
  ou?: string | null;
  site?: string | null;
  isAdmin?: boolean;
  disabled?: boolean;
  password?: string;
}

export interface CategoryInput {
  name?: string;
  description?: string;
  invitations?: boolean;
  fileUpload?: boolean;
  chatHistory?: boolean;
  allowedMembers?: ListEdit;
  deniedMembers?: ListEdit;
  creators?: ListEdit;
}

export interface RoomInput {
  name?: string;
  description?: string;
  category?: string; // id or name
  privacy?: Privacy;
  type?: RoomType;
  disabled?: boolean;
  addin?: string | null;
  invitations?: RoomInvitations;
  members?: ListEdit;
  managers?: ListEdit;
  presenters?: ListEdit;
}

export interface RoomFilter {
  /** Substring of the name (and of the description with searchDescription). Case-insensitive. */
  filter?: string;
  searchDescription?: boolean;
  member?: string;
  manager?: string;
  category?: string;
  addin?: string;
  disabled?: boolean;
  privacy?: Privacy;
  type?: RoomType;
  invitations?: RoomInvitations;
  resultSize?: number;
}

export interface AdminOptions {
  /** The SIP Digest realm passwords are hashed for. */
  realm: string;
  /** The deployment's SIP domain (default endpoint address). */
  domain: string;
  /** The pool's FQDN (`--pool`, like the original's -PersistentChatPoolFqdn). */
  pool: string;
  /** Which legacy SIP secrets a new password gets (`sip.auth`): Digest HA1, NT hash. Default both. */
  schemes?: CredentialSchemes;
}

/**
 * The admin service's settings from the server configuration: the Digest realm, the SIP domain, the pool FQDN
 * (sip.targetName, else the domain) and the schemes of sip.auth.
 */
export function adminOptionsFrom(config: {
  domain: string;
  sip: { realm: string; auth?: 'ntlm' | 'digest' | 'both'; targetName?: string | undefined };
}): AdminOptions {
  return {
    realm: config.sip.realm,
    domain: config.domain,
    pool: (config.sip.targetName ?? config.domain).toLowerCase(),
    schemes: schemesFor(config.sip.auth ?? 'both'),
  };
}

export class AdminService {
  constructor(
    readonly store: Store,
    readonly opts: AdminOptions,
  ) {}

  private directory(): Promise<DirectorySnapshot> {
    return DirectorySnapshot.load(this.store);
  }

  private async actorSubject(actor: Actor, dir: DirectorySnapshot): Promise<Subject | undefined> {
    if (actor.kind === 'system') return undefined;
    const s = dir.resolveUser(actor.uri);
    if (!s) throw new PchatError('USER_NOT_FOUND', `user ${actor.uri} does not exist`);
    return s;
  }

  /** NOT_ADMIN unless `actor` is the local operator or an enabled administrator. */
  async requireAdmin(actor: Actor): Promise<void> {
    if (actor.kind === 'system') return;
    const u = await this.store.users.get(actor.uri);
    if (!u?.isAdmin || u.disabled) throw new PchatError('NOT_ADMIN');
  }

  /** Entries being added must name existing users and groups (entries already stored are left alone). */
  private checkPrincipalsExist(
    dir: DirectorySnapshot,
    refs: readonly PrincipalRef[],
    field: string,
    before: readonly PrincipalRef[] = [],
  ): void {
    for (const r of refs) {
      if (before.includes(r)) continue;
      if (!dir.exists(r)) throw new PchatError('PRINCIPAL_NOT_FOUND', `${field}: ${r} does not exist`, { field });
    }
  }

  // ---- users ---------------------------------------------------------------------------------------------

  async addUser(uriInput: string, input: UserInput, actor: Actor = SYSTEM): Promise<User> {
    await this.requireAdmin(actor);
    const uri = normalizeSipUri(uriInput);
    if (await this.store.users.get(uri))
      throw new PchatError('NAME_TAKEN', `uri: user ${uri} already exists`, { field: 'uri' });
    const user = this.userFrom(
      {
        uri,
        displayName: uri.slice(4),
        email: null,
        ou: null,
        site: null,
        policy: null,
        isAdmin: false,
        disabled: false,
        createdAt: Date.now(),
      },
      input,
    );
    if (await this.store.endpoints.get(uri)) {
      throw new PchatError('NAME_TAKEN', `uri: ${uri} is the address of a legacy chat endpoint`, { field: 'uri' });
    }
    const cred =
      input.password !== undefined
        ? await makeCredential(uri, input.password, this.opts.realm, this.opts.schemes ?? ALL_SCHEMES)
        : undefined;
    await this.store.atomically(async (tx) => {
      await tx.users.put(user);
      if (cred) await tx.users.setPasswordHash(uri, cred);
    });
    return user;
  }

  async setUser(uriInput: string, input: UserInput, actor: Actor = SYSTEM): Promise<User> {
    await this.requireAdmin(actor);
    const current = await this.getUser(uriInput);
    const user = this.userFrom(current, input);
    const cred =
      input.password !== undefined
        ? await makeCredential(user.uri, input.password, this.opts.realm, this.opts.schemes ?? ALL_SCHEMES)
        : undefined;
    await this.store.atomically(async (tx) => {
      await tx.users.put(user);
      if (cred) await tx.users.setPasswordHash(user.uri, cred);
      // a new password or a disabled account ends every session
      if (cred || user.disabled) await tx.tokens.removeForUser(user.uri);
    });
    return user;
  }

  private userFrom(base: User, input: UserInput): User {
    const u = { ...base };
    if (input.displayName !== undefined) u.displayName = validateName(input.displayName, 'displayName');
    if (input.email !== undefined) {
      if (input.email !== null && !/^[^@\s]+@[^@\s]+$/.test(input.email))
        throw invalid('email', `"${input.email}" is not an email address`);
      u.email = input.email;
    }
    if (input.ou !== undefined) u.ou = input.ou === null || input.ou === '' ? null : normalizeOuPath(input.ou);
    if (input.site !== undefined)
      u.site = input.site === null || input.site === '' ? null : validateName(input.site, 'site');
    if (input.isAdmin !== undefined) u.isAdmin = input.isAdmin;
    if (input.disabled !== undefined) u.disabled = input.disabled;
    return u;
  }

  async getUser(uriInput: string): Promise<User> {
    const uri = normalizeSipUri(uriInput);
    const u = await this.store.users.get(uri);
    if (!u) throw new PchatError('USER_NOT_FOUND', `uri: user ${uri} does not exist`, { field: 'uri' });
    return u;
  }

  async listUsers(filter?: string): Promise<User[]> {
    const f = filter?.toLowerCase();
    return (await this.store.users.list()).filter(
      (u) => !f || u.uri.includes(f) || u.displayName.toLowerCase().includes(f),
    );
  }

  async removeUser(uriInput: string, actor: Actor = SYSTEM): Promise<void> {
    await this.requireAdmin(actor);
    const u = await this.getUser(uriInput);
    await this.store.atomically(async (tx) => {
      await tx.tokens.removeForUser(u.uri);
      await scrubPrincipal(tx, u.uri);
      await tx.users.remove(u.uri);
    });
  }

  // ---- groups --------------------------------------------------------------------------------------------

  async addGroup(
    nameInput: string,
    input: { description?: string; members?: ListEdit },
    actor: Actor = SYSTEM,
  ): Promise<Group> {
    await this.requireAdmin(actor);
    const name = normalizeGroupName(nameInput, 'name');
    if (await this.store.groups.get(name))
      throw new PchatError('NAME_TAKEN', `name: group ${name} already exists`, { field: 'name' });
    return this.saveGroup({ name, description: '', members: [] }, input, actor);
  }

  async setGroup(
    nameInput: string,
    input: { description?: string; members?: ListEdit },
    actor: Actor = SYSTEM,
  ): Promise<Group> {
    await this.requireAdmin(actor);
    return this.saveGroup(await this.getGroup(nameInput), input, actor);
  }

  private async saveGroup(
    base: Group,
    input: { description?: string; members?: ListEdit },
    actor: Actor,
  ): Promise<Group> {
    const g = { ...base };
    if (input.description !== undefined) g.description = validateDescription(input.description);
    const dir = await this.directory();
    if (input.members) {
      g.members = applyListEdit(g.members, input.members);
      this.checkPrincipalsExist(dir, g.members, 'members', base.members);
      for (const m of g.members) {
        if (m.startsWith('ou:') || m.startsWith('domain:'))
          throw invalid('members', `${m}: groups hold users and groups only`);
        if (dir.wouldCycle(g.name, m))
          throw new PchatError('GROUP_CYCLE', `members: ${m} would make ${g.name} contain itself`, {
            field: 'members',
          });
      }
    }
    // People the group brings into rooms that list it (directly or through nesting) are invited there, as if
    // they had been added to each room.
    const invitations: { uri: string; roomId: string }[] = [];
    if (input.members) {
      const after = new DirectorySnapshot(
        [...dir.users.values()],
        [...dir.groups.values()].filter((x) => x.name !== g.name).concat(g),
        [...dir.policies.values()],
      );
      const categories = new Map((await this.store.categories.list()).map((c) => [c.id, c]));
      for (const r of await this.store.rooms.list()) {
        const c = categories.get(r.categoryId);
        if (!c || r.disabled || !invitationsInEffect(r, c) || !r.members.some((m) => m.startsWith('group:'))) continue;
        for (const uri of newMembers(dir, r.members, after, r.members)) invitations.push({ uri, roomId: r.id });
      }
    }
    const inviter = actor.kind === 'user' ? actor.uri : 'system';
    await this.store.atomically(async (tx) => {
      await tx.groups.put(g);
      for (const i of invitations) await tx.invitations.create(i.uri, i.roomId, inviter);
    });
    return g;
  }

  async getGroup(nameInput: string): Promise<Group> {
    const name = normalizeGroupName(nameInput, 'name');
    const g = await this.store.groups.get(name);
    if (!g) throw new PchatError('GROUP_NOT_FOUND', `name: group ${name} does not exist`, { field: 'name' });
    return g;
  }

  listGroups(): Promise<Group[]> {
    return this.store.groups.list();
  }

  async removeGroup(nameInput: string, actor: Actor = SYSTEM): Promise<void> {
    await this.requireAdmin(actor);
    const g = await this.getGroup(nameInput);
    await this.store.atomically(async (tx) => {
      await scrubPrincipal(tx, `group:${g.name}`);
      await tx.groups.remove(g.name);
    });
  }

  // ---- categories ----------------------------------------------------------------------------------------

  async newCategory(input: CategoryInput & { name: string }, actor: Actor = SYSTEM): Promise<Category> {
    await this.requireAdmin(actor);
    const name = validateName(input.name);
    await this.assertNameFree(name, {});
    const base: Category = {
      id: randomUUID(),
      name,
      description: '',
      invitations: true,
      fileUpload: true,
      chatHistory: true,
      allowedMembers: [],
      deniedMembers: [],
      creators: [],
    };
    return this.saveCategory(base, { ...input, name: undefined });
  }

  async setCategory(key: string, input: CategoryInput, actor: Actor = SYSTEM): Promise<Category> {
    await this.requireAdmin(actor);
    const current = await this.getCategory(key);
    if (input.name !== undefined && validateName(input.name) !== current.name)
      await this.assertNameFree(validateName(input.name), { categoryId: current.id });
    return this.saveCategory(current, input);
  }

  /**
   * Category and room names share one namespace in a pool, compared by their look-alike key (nameKey: case,
   * spacing, compatibility forms and Cyrillic/Greek look-alikes ignored). The answer never says what holds the
   * name, so a creator who may not see a secret room learns only that the name is unavailable, exactly as for a
   * name held by a category or a room they can see (docs/protocol.md, "Names").
   */
  private async assertNameFree(name: string, except: { roomId?: string; categoryId?: string }): Promise<void> {
    const c = await this.store.categories.getByName(name);
    const r = await this.store.rooms.getByName(name);
    if ((c && c.id !== except.categoryId) || (r && r.id !== except.roomId))
      throw new PchatError(
        'NAME_TAKEN',
        `name: "${name}" is not available (names are compared ignoring case, spacing and look-alike letters)`,
        { field: 'name' },
      );
  }

  private async saveCategory(base: Category, input: CategoryInput): Promise<Category> {
    const c: Category = { ...base };
    if (input.name !== undefined) c.name = validateName(input.name);
    if (input.description !== undefined) c.description = input.description;
    if (input.invitations !== undefined) c.invitations = input.invitations;
    if (input.fileUpload !== undefined) c.fileUpload = input.fileUpload;
    if (input.chatHistory !== undefined) c.chatHistory = input.chatHistory;
    if (input.allowedMembers) c.allowedMembers = applyListEdit(c.allowedMembers, input.allowedMembers);
    if (input.deniedMembers) c.deniedMembers = applyListEdit(c.deniedMembers, input.deniedMembers);
    if (input.creators) c.creators = applyListEdit(c.creators, input.creators);
    const dir = await this.directory();
    this.checkPrincipalsExist(dir, c.allowedMembers, 'allowedMembers', base.allowedMembers);
    this.checkPrincipalsExist(dir, c.deniedMembers, 'deniedMembers', base.deniedMembers);
    this.checkPrincipalsExist(dir, c.creators, 'creators', base.creators);
    validateCategory(c, dir);
    // Rooms follow the category: invitations forced off when the category's go off; entries the narrowed scope
    // disallows are purged from its rooms.
    const rooms = (await this.store.rooms.list()).filter((r) => r.categoryId === c.id);
    const updated = rooms
      .map((r) => roomForCategory(r, c, dir))
      .filter((x, i) => JSON.stringify(x.room) !== JSON.stringify(rooms[i]));
    await this.store.atomically(async (tx) => {
      await tx.categories.put(c);
      for (const u of updated) await tx.rooms.put(u.room);
    });
    return c;
  }

  async getCategory(key: string): Promise<Category> {
    const c = (await this.store.categories.get(key)) ?? (await this.store.categories.getByName(key.trim()));
    if (!c) throw new PchatError('CATEGORY_NOT_FOUND', `category: "${key}" does not exist`, { field: 'category' });
    return c;
  }

  listCategories(): Promise<Category[]> {
    return this.store.categories.list();
  }

  async removeCategory(key: string, actor: Actor = SYSTEM): Promise<void> {
    await this.requireAdmin(actor);
    const c = await this.getCategory(key);
    const n = await this.store.categories.countRooms(c.id);
    if (n > 0)
      throw new PchatError('CATEGORY_NOT_EMPTY', `category: "${c.name}" still holds ${n} room(s)`, {
        field: 'category',
      });
    await this.store.categories.remove(c.id);
  }

  // ---- rooms ---------------------------------------------------------------------------------------------

  async newRoom(input: RoomInput & { name: string; category: string }, actor: Actor = SYSTEM): Promise<Room> {
    const name = validateName(input.name);
    const category = await this.getCategory(input.category);
    const dir = await this.directory();
    const subject = await this.actorSubject(actor, dir);
    if (subject) {
      const d = decideCreateRoom(subject, category);
      if (!d.allowed) throw new PchatError(d.code ?? 'NOT_A_CREATOR');
    }
    await this.assertNameFree(name, {});
    const base: Room = {
      id: randomUUID(),
      name,
      description: '',
      categoryId: category.id,
      privacy: 'closed',
      type: 'normal',
      disabled: false,
      addin: null,
      invitations: category.invitations ? 'inherit' : 'false',
      members: [],
      // Creators become managers of the rooms they create.
      managers: subject && !subject.isAdmin ? [subject.uri] : [],
      presenters: [],
      createdAt: Date.now(),
    };
    return this.saveRoom(base, { ...input, name: undefined, category: undefined }, dir, category, actor);
  }

  async setRoom(key: string, input: RoomInput, actor: Actor = SYSTEM): Promise<Room> {
    const dir = await this.directory();
    const current = await this.visibleRoom(key, actor, dir);
    const subject = await this.actorSubject(actor, dir);
    const currentCategory = await this.getCategory(current.categoryId);
    if (subject) {
      const d = decideRoom(subject, current, currentCategory, 'manage');
      if (!d.allowed) throw new PchatError(d.code ?? 'NOT_A_MANAGER');
    }
    if (input.name !== undefined && validateName(input.name) !== current.name)
      await this.assertNameFree(validateName(input.name), { roomId: current.id });
    let base = current;
    let category = currentCategory;
    if (input.category !== undefined) {
      const target = await this.getCategory(input.category);
      if (target.id !== current.categoryId) {
        // Moving needs an administrator, or a manager who is also a creator in the target category.
        if (subject && !subject.isAdmin && !decideCreateRoom(subject, target).allowed)
          throw new PchatError('NOT_A_CREATOR', 'category: moving a room needs creator rights in the target category', {
            field: 'category',
          });
        base = roomForCategory(current, target, dir).room;
        category = target;
      }
    }
    return this.saveRoom(base, { ...input, category: undefined }, dir, category, actor);
  }

  private async saveRoom(
    base: Room,
    input: RoomInput,
    dir: DirectorySnapshot,
    category: Category,
    actor: Actor,
  ): Promise<Room> {
    const r: Room = { ...base };
    if (input.name !== undefined) r.name = validateName(input.name);
    if (input.description !== undefined) r.description = validateDescription(input.description);
    if (input.privacy !== undefined) r.privacy = input.privacy;
    if (input.type !== undefined) r.type = input.type;
    if (input.disabled !== undefined) r.disabled = input.disabled;
    if (input.invitations !== undefined) r.invitations = input.invitations;
    if (input.addin !== undefined) {
      if (input.addin === null || input.addin === '') r.addin = null;
      else {
        const a = await this.store.addins.getByName(input.addin);
        if (!a) throw new PchatError('ADDIN_NOT_FOUND', `addin: "${input.addin}" does not exist`, { field: 'addin' });
        r.addin = a.name;
      }
    }
    if (input.members) r.members = applyListEdit(r.members, input.members);
    if (input.managers) r.managers = applyListEdit(r.managers, input.managers);
    if (input.presenters) r.presenters = applyListEdit(r.presenters, input.presenters);
    this.checkPrincipalsExist(dir, r.members, 'members', base.members);
    this.checkPrincipalsExist(dir, r.managers, 'managers', base.managers);
    this.checkPrincipalsExist(dir, r.presenters, 'presenters', base.presenters);
    validateRoom(r, category, dir);
    // With invitations in effect, everyone the change makes a member is invited (stored; delivered live by the
    // chat service from the change stream, or fetched later with getinv / GET /api/invitations).
    const invite = invitationsInEffect(r, category) && !r.disabled ? newMembers(dir, base.members, dir, r.members) : [];
    const inviter = actor.kind === 'user' ? actor.uri : 'system';
    await this.store.atomically(async (tx) => {
      await tx.rooms.put(r);
      for (const uri of invite) await tx.invitations.create(uri, r.id, inviter);
    });
    return r;
  }

  /** A room by id or name; with a user actor, a secret room they may not see is reported as missing. */
  async getRoom(key: string, actor: Actor = SYSTEM): Promise<Room> {
    return this.visibleRoom(key, actor, actor.kind === 'system' ? undefined : await this.directory());
  }

  /**
   * The room `key` names, as `actor` may know it: a secret room whose members and managers do not include a
   * (non-administrator) actor answers exactly as a missing room does (same code, same message), so no admin
   * verb tells a stranger that a secret room of that name or id exists.
   */
  private async visibleRoom(key: string, actor: Actor, dir: DirectorySnapshot | undefined): Promise<Room> {
    const missing = () => new PchatError('ROOM_NOT_FOUND', `room: "${key}" does not exist`, { field: 'room' });
    if (typeof key !== 'string' || key.trim().length === 0) throw missing();
    const r = (await this.store.rooms.get(key)) ?? (await this.store.rooms.getByName(key.trim()));
    if (!r) throw missing();
    if (actor.kind === 'user' && r.privacy === 'secret') {
      const s = (dir ?? (await this.directory())).resolveUser(actor.uri);
      if (!s || (!s.isAdmin && !isRoomMember(s, r) && !isRoomManager(s, r))) throw missing();
    }
    return r;
  }

  async listRooms(f: RoomFilter = {}): Promise<Room[]> {
    const dir = await this.directory();
    const category = f.category !== undefined ? await this.getCategory(f.category) : undefined;
    const text = f.filter?.toLowerCase();
    const member = f.member !== undefined ? dir.resolveUser(normalizeSipUri(f.member, 'member')) : undefined;
    const manager = f.manager !== undefined ? dir.resolveUser(normalizeSipUri(f.manager, 'manager')) : undefined;
    if (f.member !== undefined && !member)
      throw new PchatError('USER_NOT_FOUND', `member: ${f.member} does not exist`, { field: 'member' });
    if (f.manager !== undefined && !manager)
      throw new PchatError('USER_NOT_FOUND', `manager: ${f.manager} does not exist`, { field: 'manager' });
    const rooms = (await this.store.rooms.list()).filter(
      (r) =>
        (!text ||
          r.name.toLowerCase().includes(text) ||
          (f.searchDescription === true && r.description.toLowerCase().includes(text))) &&
        (!member || subjectMatches(member, r.members)) &&
        (!manager || subjectMatches(manager, r.managers)) &&
        (!category || r.categoryId === category.id) &&
        (f.addin === undefined || r.addin === f.addin) &&
        (f.disabled === undefined || r.disabled === f.disabled) &&
        (f.privacy === undefined || r.privacy === f.privacy) &&
        (f.type === undefined || r.type === f.type) &&
        (f.invitations === undefined || r.invitations === f.invitations),
    );
    return f.resultSize !== undefined ? rooms.slice(0, f.resultSize) : rooms;
  }

  async removeRoom(key: string, actor: Actor = SYSTEM): Promise<void> {
    await this.requireAdmin(actor); // managers may disable a room, never delete it
    const r = await this.getRoom(key, actor);
    await this.store.rooms.remove(r.id);
  }

  // ---- add-ins -------------------------------------------------------------------------------------------

  async newAddin(a: Addin, actor: Actor = SYSTEM): Promise<Addin> {
    await this.requireAdmin(actor);
    const addin = { name: validateName(a.name), url: a.url.trim() };
    validateAddin(addin);
    if (await this.store.addins.getByName(addin.name))
      throw new PchatError(
        'NAME_TAKEN',
        `name: add-in "${addin.name}" already exists (names are compared ignoring case, spacing and look-alike letters)`,
        { field: 'name' },
      );
    await this.store.addins.put(addin);
    return addin;
  }

  async setAddin(name: string, input: { url?: string }, actor: Actor = SYSTEM): Promise<Addin> {
    await this.requireAdmin(actor);
    const a = { ...(await this.getAddin(name)) };
    if (input.url !== undefined) a.url = input.url.trim();
    validateAddin(a);
    await this.store.addins.put(a);
    return a;
  }

  async getAddin(name: string): Promise<Addin> {
    const a = typeof name === 'string' ? await this.store.addins.getByName(name) : undefined;
    if (!a) throw new PchatError('ADDIN_NOT_FOUND', `name: add-in "${name}" does not exist`, { field: 'name' });
    return a;
  }

  listAddins(): Promise<Addin[]> {
    return this.store.addins.list();
  }

  async removeAddin(name: string, actor: Actor = SYSTEM): Promise<void> {
    await this.requireAdmin(actor);
    const a = await this.getAddin(name);
    const using = (await this.store.rooms.list()).filter((r) => r.addin === a.name);
    await this.store.atomically(async (tx) => {
      for (const r of using) await tx.rooms.put({ ...r, addin: null });
      await tx.addins.remove(a.name);
    });
  }

  // ---- policies ------------------------------------------------------------------------------------------

  /** `global`, `site:<name>` or `tag:<name>`; a bare name means a tag policy. */
  static policyIdentity(input: string): string {
    const s = input.trim();
    if (s.toLowerCase() === 'global') return 'global';
    const m = /^(site|tag):(.+)$/i.exec(s);
    const [scope, name] = m ? [(m[1] as string).toLowerCase(), m[2] as string] : ['tag', s];
    return `${scope}:${validateName(name, 'identity')}`;
  }

  async newPolicy(
    identityInput: string,
    input: { enablePersistentChat?: boolean; description?: string },
    actor: Actor = SYSTEM,
  ): Promise<Policy> {
    await this.requireAdmin(actor);
    const identity = AdminService.policyIdentity(identityInput);
    if (await this.store.policies.get(identity))
      throw new PchatError('NAME_TAKEN', `identity: policy ${identity} already exists`, { field: 'identity' });
    const p: Policy = {
      identity,
      enablePersistentChat: input.enablePersistentChat ?? false,
      description: input.description ?? '',
    };
    await this.store.policies.put(p);
    return p;
  }

  async setPolicy(
    identityInput: string,
    input: { enablePersistentChat?: boolean; description?: string },
    actor: Actor = SYSTEM,
  ): Promise<Policy> {
    await this.requireAdmin(actor);
    const identity = AdminService.policyIdentity(identityInput);
    // The global policy always exists (EnablePersistentChat false until set).
    const current =
      (await this.store.policies.get(identity)) ??
      (identity === 'global' ? { identity, enablePersistentChat: false, description: '' } : undefined);
    if (!current)
      throw new PchatError('POLICY_NOT_FOUND', `identity: policy ${identity} does not exist`, { field: 'identity' });
    const p = {
      ...current,
      ...(input.enablePersistentChat !== undefined ? { enablePersistentChat: input.enablePersistentChat } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    };
    await this.store.policies.put(p);
    return p;
  }

  async getPolicy(identityInput: string): Promise<Policy> {
    const identity = AdminService.policyIdentity(identityInput);
    const p = await this.store.policies.get(identity);
    if (p) return p;
    if (identity === 'global') return { identity, enablePersistentChat: false, description: '' };
    throw new PchatError('POLICY_NOT_FOUND', `identity: policy ${identity} does not exist`, { field: 'identity' });
  }

  async listPolicies(): Promise<Policy[]> {
    const list = await this.store.policies.list();
    return list.some((p) => p.identity === 'global')
      ? list
      : [{ identity: 'global', enablePersistentChat: false, description: '' }, ...list];
  }

  async removePolicy(identityInput: string, actor: Actor = SYSTEM): Promise<void> {
    await this.requireAdmin(actor);
    const identity = AdminService.policyIdentity(identityInput);
    if (!(await this.store.policies.get(identity)))
      throw new PchatError('POLICY_NOT_FOUND', `identity: policy ${identity} does not exist`, { field: 'identity' });
    await this.store.atomically(async (tx) => {
      await tx.policies.remove(identity);
      if (identity.startsWith('tag:')) {
        for (const u of await tx.users.list())
          if (u.policy === identity.slice(4)) await tx.users.put({ ...u, policy: null });
      }
    });
  }

  /** Grants a tag policy to a user; `null` removes the user's assignment. */
  async grantPolicy(userUri: string, policy: string | null, actor: Actor = SYSTEM): Promise<User> {
    await this.requireAdmin(actor);
    const u = await this.getUser(userUri);
    let tag: string | null = null;
    if (policy !== null) {
      const identity = AdminService.policyIdentity(policy);
      if (!identity.startsWith('tag:'))
        throw invalid('policy', 'only tag policies are granted to users (global and site policies apply by scope)');
      if (!(await this.store.policies.get(identity)))
        throw new PchatError('POLICY_NOT_FOUND', `policy: ${identity} does not exist`, { field: 'policy' });
      tag = identity.slice(4);
    }
    const updated = { ...u, policy: tag };
    await this.store.users.put(updated);
    return updated;
  }

  // ---- configuration -------------------------------------------------------------------------------------

  getConfig(): Promise<ChatConfig> {
    return this.store.config.get();
  }

  async setConfig(input: Partial<ChatConfig>, actor: Actor = SYSTEM): Promise<ChatConfig> {
    await this.requireAdmin(actor);
    const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
    const c = { ...(await this.store.config.get()), ...defined };
    validateConfig(c);
    await this.store.config.put(c);
    return c;
  }

  // ---- principals ----------------------------------------------------------------------------------------

  /**
   * Get-CsPersistentChatEligiblePrincipal: the users who may be in rooms of a category (its allowed members
   * minus denied), or who may be members (or, with presenters, presenters) of a room.
   */
  async eligiblePrincipals(target: { category?: string; room?: string; presenters?: boolean }): Promise<User[]> {
    const dir = await this.directory();
    let category: Category;
    let room: Room | undefined;
    if (target.room !== undefined) {
      room = await this.getRoom(target.room);
      category = await this.getCategory(room.categoryId);
    } else if (target.category !== undefined) category = await this.getCategory(target.category);
    else throw invalid('target', 'name --category or --room');
    const members = room && target.presenters ? new Set(dir.expand(room.members).map((m) => m.uri)) : undefined;
    return [...dir.users.values()].filter((u) => {
      const s = dir.resolveUser(u.uri) as Subject;
      if (!s.chatEnabled || !inCategoryScope({ ...s, isAdmin: false }, category)) return false;
      return members === undefined || members.has(u.uri);
    });
  }

  // ---- endpoints -----------------------------------------------------------------------------------------

  async newEndpoint(
    input: { sipAddress: string; displayName?: string; pool?: string },
    actor: Actor = SYSTEM,
  ): Promise<Endpoint> {
    await this.requireAdmin(actor);
    const sipAddress = normalizeSipUri(input.sipAddress, 'sipAddress');
    if (await this.store.endpoints.get(sipAddress))
      throw new PchatError('NAME_TAKEN', `sipAddress: endpoint ${sipAddress} already exists`, { field: 'sipAddress' });
    if (await this.store.users.get(sipAddress))
      throw new PchatError('NAME_TAKEN', `sipAddress: ${sipAddress} is a user`, { field: 'sipAddress' });
    const pool = input.pool === undefined ? this.opts.pool : poolFqdn(input.pool);
    if (pool !== this.opts.pool.toLowerCase()) {
      throw invalid('pool', `unknown pool "${pool}" (this pool is "${this.opts.pool}")`);
    }
    // One legacy endpoint per pool, as in the original: the old clients all know the one address.
    const existing = (await this.store.endpoints.list()).find((e) => e.pool.toLowerCase() === pool);
    if (existing) {
      throw new PchatError(
        'ENDPOINT_EXISTS',
        `pool: pool ${pool} already has the legacy endpoint ${existing.sipAddress}; remove it first (pchat endpoint remove --sip-address ${existing.sipAddress})`,
        { field: 'pool', details: { existing: existing.sipAddress } },
      );
    }
    const e: Endpoint = {
      sipAddress,
      displayName: input.displayName !== undefined ? validateName(input.displayName, 'displayName') : 'Persistent Chat',
      pool,
    };
    await this.store.endpoints.put(e);
    return e;
  }

  listEndpoints(): Promise<Endpoint[]> {
    return this.store.endpoints.list();
  }

  async removeEndpoint(sipAddressInput: string, actor: Actor = SYSTEM): Promise<void> {
    await this.requireAdmin(actor);
    const sipAddress = normalizeSipUri(sipAddressInput, 'sipAddress');
    if (!(await this.store.endpoints.remove(sipAddress)))
      throw new PchatError('ENDPOINT_NOT_FOUND', `sipAddress: endpoint ${sipAddress} does not exist`, {
        field: 'sipAddress',
      });
  }

  /** One endpoint per pool exists by default: sip:ocschat@<domain>. Idempotent. */
  async ensureDefaultEndpoint(): Promise<void> {
    if ((await this.store.endpoints.list()).length > 0) return;
    const sipAddress = `sip:ocschat@${sipDomain(`x@${this.opts.domain.toLowerCase()}`)}`;
    await this.store.endpoints.put({ sipAddress, displayName: 'Persistent Chat', pool: this.opts.pool });
  }
}

/** A pool FQDN as `--pool` takes it (`pchat.contoso.com`), lower-cased; anything else is refused. */
function poolFqdn(input: string): string {
  const v = input.trim().toLowerCase();
  if (!/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/.test(v)) {
    throw invalid('pool', `"${input}" is not a pool FQDN (e.g. pchat.contoso.com)`);
  }
  return v;
}

/** Takes a removed user or group out of every group, category and room list that names it. */
async function scrubPrincipal(store: Store, ref: PrincipalRef): Promise<void> {
  const without = (list: PrincipalRef[]) => list.filter((r) => r !== ref);
  for (const g of await store.groups.list()) {
    if (g.members.includes(ref)) await store.groups.put({ ...g, members: without(g.members) });
  }
  for (const c of await store.categories.list()) {
    if ([c.allowedMembers, c.deniedMembers, c.creators].some((l) => l.includes(ref))) {
      await store.categories.put({
        ...c,
        allowedMembers: without(c.allowedMembers),
        deniedMembers: without(c.deniedMembers),
        creators: without(c.creators),
      });
    }
  }
  for (const r of await store.rooms.list()) {
    if ([r.members, r.managers, r.presenters].some((l) => l.includes(ref))) {
      await store.rooms.put({
        ...r,
        members: without(r.members),
        managers: without(r.managers),
        presenters: without(r.presenters),
      });
    }
  }
}

/**
 * The users a room's member list names after a change and did not name before (groups and OUs expanded, each
 * list in its own directory: a group change alters the directory, a room change the list).
 */
function newMembers(
  dirBefore: DirectorySnapshot,
  before: readonly PrincipalRef[],
  dirAfter: DirectorySnapshot,
  after: readonly PrincipalRef[],
): string[] {
  const had = new Set(dirBefore.expand(before).map((u) => u.uri));
  return dirAfter
    .expand(after)
    .map((u) => u.uri)
    .filter((uri) => !had.has(uri));
}
