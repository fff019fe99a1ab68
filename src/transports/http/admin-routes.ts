// The admin REST API (/api/admin/*): rooms, categories, users, groups, policies, add-ins, legacy endpoints,
// eligible principals and the chat configuration, each
// calling AdminService with the signed-in user as actor. AdminService decides who may change what (a
// room's managers may change it); listing the directory and reading settings are for administrators.
import { z } from 'zod';
import type { Actor, AdminService } from '../../admin/admin-service.js';
import type { ChatService } from '../../chat/chat-service.js';
import { PchatError } from '../../core/errors.js';
import { PRIVACY, ROOM_INVITATIONS, ROOM_TYPES } from '../../core/model.js';
import { type ListEdit, parseListEdit } from '../../core/principals.js';
import { bearerToken, requireUser } from './auth.js';
import { type Handler, qBool, qInt, qStr, type RequestContext, type Router, readJson } from './router.js';

/** A principal list on the wire: a list (replaces), {add, remove}, or the CLI's "+a,-b" / "a,b" string. */
const ListEditBody = z
  .union([
    z.array(z.string()),
    z.object({ add: z.array(z.string()).default([]), remove: z.array(z.string()).default([]) }),
    z.string(),
  ])
  .optional();

function listEdit(v: z.infer<typeof ListEditBody>, field: string): ListEdit | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return parseListEdit(v, field);
  if (Array.isArray(v)) return v.length === 0 ? { replace: [] } : parseListEdit(v.join(','), field);
  const parts = [...v.add.map((x) => `+${x}`), ...v.remove.map((x) => `-${x}`)];
  return parts.length === 0 ? undefined : parseListEdit(parts.join(','), field);
}

const RoomBody = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  category: z.string().optional(),
  privacy: z.enum(PRIVACY).optional(),
  type: z.enum(ROOM_TYPES).optional(),
  disabled: z.boolean().optional(),
  addin: z.string().nullable().optional(),
  invitations: z.enum(ROOM_INVITATIONS).optional(),
  members: ListEditBody,
  managers: ListEditBody,
  presenters: ListEditBody,
});

const GroupBody = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  members: ListEditBody,
});
const AddinBody = z.object({ name: z.string().optional(), url: z.string().optional() });
const EndpointBody = z.object({
  sipAddress: z.string(),
  displayName: z.string().optional(),
  pool: z.string().optional(),
});
const GrantBody = z.object({ user: z.string(), policy: z.string().nullable() });

const CategoryBody = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  invitations: z.boolean().optional(),
  fileUpload: z.boolean().optional(),
  chatHistory: z.boolean().optional(),
  allowedMembers: ListEditBody,
  deniedMembers: ListEditBody,
  creators: ListEditBody,
});

const UserBody = z.object({
  uri: z.string().optional(),
  displayName: z.string().optional(),
  email: z.string().nullable().optional(),
  ou: z.string().nullable().optional(),
  site: z.string().nullable().optional(),
  isAdmin: z.boolean().optional(),
  disabled: z.boolean().optional(),
  password: z.string().optional(),
});

const PolicyBody = z.object({ enablePersistentChat: z.boolean().optional(), description: z.string().optional() });

const ConfigBody = z
  .object({
    defaultChatHistory: z.number().int(),
    maxFileSizeKB: z.number().int(),
    participantUpdateLimit: z.number().int(),
    roomManagementUrl: z.string().nullable(),
    messageSizeLimit: z.number().int(),
    storySizeLimit: z.number().int(),
    searchLimit: z.number().int(),
  })
  .partial()
  .strict();

function roomInput(b: z.infer<typeof RoomBody>) {
  const { members, managers, presenters, ...rest } = b;
  return {
    ...rest,
    members: listEdit(members, 'members'),
    managers: listEdit(managers, 'managers'),
    presenters: listEdit(presenters, 'presenters'),
  };
}

function categoryInput(b: z.infer<typeof CategoryBody>) {
  const { allowedMembers, deniedMembers, creators, ...rest } = b;
  return {
    ...rest,
    allowedMembers: listEdit(allowedMembers, 'allowedMembers'),
    deniedMembers: listEdit(deniedMembers, 'deniedMembers'),
    creators: listEdit(creators, 'creators'),
  };
}

export function mountAdminRoutes(parent: Router, deps: { chat: ChatService; admin: AdminService }): void {
  const { chat, admin } = deps;
  // After a change, the chat service reads the change stream before answering, so the caller's next request
  // (post in the new room, join after being added) already sees it.
  const after =
    (h: Handler): Handler =>
    async (ctx) => {
      const out = await h(ctx);
      await chat.model.poll();
      return out;
    };
  const router = {
    get: (p: string, h: Handler) => parent.get(p, h),
    post: (p: string, h: Handler) => parent.post(p, after(h)),
    put: (p: string, h: Handler) => parent.put(p, after(h)),
    patch: (p: string, h: Handler) => parent.patch(p, after(h)),
    delete: (p: string, h: Handler) => parent.delete(p, after(h)),
  };

  const actor = async (ctx: RequestContext): Promise<Actor> => {
    const { user } = await requireUser(chat, bearerToken(ctx.req));
    return { kind: 'user', uri: user };
  };
  /** Reads of the directory and settings: administrators only. */
  const adminActor = async (ctx: RequestContext): Promise<Actor> => {
    const a = await actor(ctx);
    await admin.requireAdmin(a);
    return a;
  };

  // ---- rooms -----------------------------------------------------------------------------------------------
  router.get('/api/admin/rooms', async (ctx) => {
    await adminActor(ctx);
    const q = ctx.query;
    const privacy = qStr(q, 'privacy');
    const type = qStr(q, 'type');
    const rooms = await admin.listRooms({
      filter: qStr(q, 'filter'),
      searchDescription: qBool(q, 'searchDescription'),
      member: qStr(q, 'member'),
      manager: qStr(q, 'manager'),
      category: qStr(q, 'category'),
      disabled: qBool(q, 'disabled'),
      privacy: privacy !== undefined ? z.enum(PRIVACY).parse(privacy) : undefined,
      type: type !== undefined ? z.enum(ROOM_TYPES).parse(type) : undefined,
      resultSize: qInt(q, 'limit'),
    });
    return { rooms };
  });
  router.post('/api/admin/rooms', async (ctx) => {
    const a = await actor(ctx);
    const b = RoomBody.parse(await readJson(ctx.req));
    if (b.name === undefined) throw new PchatError('INVALID_VALUE', 'name: a room needs a name', { field: 'name' });
    if (b.category === undefined)
      throw new PchatError('INVALID_VALUE', 'category: a room needs a category', { field: 'category' });
    const input = roomInput(b);
    ctx.status = 201;
    return { room: await admin.newRoom({ ...input, name: b.name, category: b.category }, a) };
  });
  router.get('/api/admin/rooms/:key', async (ctx) => {
    await adminActor(ctx);
    return { room: await admin.getRoom(ctx.params.key as string) };
  });
  const setRoom = async (ctx: RequestContext) => {
    const a = await actor(ctx);
    const b = RoomBody.parse(await readJson(ctx.req));
    return { room: await admin.setRoom(ctx.params.key as string, roomInput(b), a) };
  };
  router.put('/api/admin/rooms/:key', setRoom);
  router.patch('/api/admin/rooms/:key', setRoom);
  router.delete('/api/admin/rooms/:key', async (ctx) => {
    await admin.removeRoom(ctx.params.key as string, await actor(ctx));
    return undefined;
  });

  // ---- categories ------------------------------------------------------------------------------------------
  router.get('/api/admin/categories', async (ctx) => {
    await adminActor(ctx);
    return { categories: await admin.listCategories() };
  });
  router.post('/api/admin/categories', async (ctx) => {
    const a = await actor(ctx);
    const b = CategoryBody.parse(await readJson(ctx.req));
    if (b.name === undefined) throw new PchatError('INVALID_VALUE', 'name: a category needs a name', { field: 'name' });
    ctx.status = 201;
    return { category: await admin.newCategory({ ...categoryInput(b), name: b.name }, a) };
  });
  router.get('/api/admin/categories/:key', async (ctx) => {
    await adminActor(ctx);
    return { category: await admin.getCategory(ctx.params.key as string) };
  });
  const setCategory = async (ctx: RequestContext) => {
    const a = await actor(ctx);
    const b = CategoryBody.parse(await readJson(ctx.req));
    return { category: await admin.setCategory(ctx.params.key as string, categoryInput(b), a) };
  };
  router.put('/api/admin/categories/:key', setCategory);
  router.patch('/api/admin/categories/:key', setCategory);
  router.delete('/api/admin/categories/:key', async (ctx) => {
    await admin.removeCategory(ctx.params.key as string, await actor(ctx));
    return undefined;
  });

  // ---- users -----------------------------------------------------------------------------------------------
  router.get('/api/admin/users', async (ctx) => {
    await adminActor(ctx);
    return { users: await admin.listUsers(qStr(ctx.query, 'filter')) };
  });
  router.post('/api/admin/users', async (ctx) => {
    const a = await actor(ctx);
    const { uri, ...input } = UserBody.parse(await readJson(ctx.req));
    if (uri === undefined) throw new PchatError('INVALID_VALUE', 'uri: a user needs a SIP URI', { field: 'uri' });
    ctx.status = 201;
    return { user: await admin.addUser(uri, input, a) };
  });
  router.get('/api/admin/users/:uri', async (ctx) => {
    await adminActor(ctx);
    return { user: await admin.getUser(ctx.params.uri as string) };
  });
  const setUser = async (ctx: RequestContext) => {
    const a = await actor(ctx);
    const { uri: _ignored, ...input } = UserBody.parse(await readJson(ctx.req));
    return { user: await admin.setUser(ctx.params.uri as string, input, a) };
  };
  router.put('/api/admin/users/:uri', setUser);
  router.patch('/api/admin/users/:uri', setUser);
  router.delete('/api/admin/users/:uri', async (ctx) => {
    await admin.removeUser(ctx.params.uri as string, await actor(ctx));
    return undefined;
  });

  // ---- policies --------------------------------------------------------------------------------------------
  router.get('/api/admin/policies', async (ctx) => {
    await adminActor(ctx);
    return { policies: await admin.listPolicies() };
  });
  router.put('/api/admin/policies/:identity', async (ctx) => {
    const a = await actor(ctx);
    const b = PolicyBody.parse(await readJson(ctx.req));
    const identity = ctx.params.identity as string;
    const exists = await admin.getPolicy(identity).then(
      () => true,
      () => false,
    );
    return { policy: exists ? await admin.setPolicy(identity, b, a) : await admin.newPolicy(identity, b, a) };
  });

  router.delete('/api/admin/policies/:identity', async (ctx) => {
    await admin.removePolicy(ctx.params.identity as string, await actor(ctx));
    return undefined;
  });
  router.post('/api/admin/policy-grants', async (ctx) => {
    const a = await actor(ctx);
    const b = GrantBody.parse(await readJson(ctx.req));
    return { user: await admin.grantPolicy(b.user, b.policy, a) };
  });

  // ---- groups ----------------------------------------------------------------------------------------------
  router.get('/api/admin/groups', async (ctx) => {
    await adminActor(ctx);
    return { groups: await admin.listGroups() };
  });
  router.post('/api/admin/groups', async (ctx) => {
    const a = await actor(ctx);
    const b = GroupBody.parse(await readJson(ctx.req));
    if (b.name === undefined) throw new PchatError('INVALID_VALUE', 'name: a group needs a name', { field: 'name' });
    ctx.status = 201;
    const members = listEdit(b.members, 'members');
    return {
      group: await admin.addGroup(
        b.name,
        { ...(b.description !== undefined ? { description: b.description } : {}), ...(members ? { members } : {}) },
        a,
      ),
    };
  });
  router.get('/api/admin/groups/:name', async (ctx) => {
    await adminActor(ctx);
    return { group: await admin.getGroup(ctx.params.name as string) };
  });
  const setGroup = async (ctx: RequestContext) => {
    const a = await actor(ctx);
    const b = GroupBody.parse(await readJson(ctx.req));
    const members = listEdit(b.members, 'members');
    return {
      group: await admin.setGroup(
        ctx.params.name as string,
        { ...(b.description !== undefined ? { description: b.description } : {}), ...(members ? { members } : {}) },
        a,
      ),
    };
  };
  router.put('/api/admin/groups/:name', setGroup);
  router.patch('/api/admin/groups/:name', setGroup);
  router.delete('/api/admin/groups/:name', async (ctx) => {
    await admin.removeGroup(ctx.params.name as string, await actor(ctx));
    return undefined;
  });

  // ---- add-ins ---------------------------------------------------------------------------------------------
  router.get('/api/admin/addins', async (ctx) => {
    await adminActor(ctx);
    return { addins: await admin.listAddins() };
  });
  router.post('/api/admin/addins', async (ctx) => {
    const a = await actor(ctx);
    const b = AddinBody.parse(await readJson(ctx.req));
    if (b.name === undefined || b.url === undefined) {
      throw new PchatError('INVALID_VALUE', 'name, url: an add-in needs a name and a URL', { field: 'url' });
    }
    ctx.status = 201;
    return { addin: await admin.newAddin({ name: b.name, url: b.url }, a) };
  });
  router.put('/api/admin/addins/:name', async (ctx) => {
    const a = await actor(ctx);
    const b = AddinBody.parse(await readJson(ctx.req));
    return { addin: await admin.setAddin(ctx.params.name as string, b.url !== undefined ? { url: b.url } : {}, a) };
  });
  router.delete('/api/admin/addins/:name', async (ctx) => {
    await admin.removeAddin(ctx.params.name as string, await actor(ctx));
    return undefined;
  });

  // ---- legacy SIP endpoints --------------------------------------------------------------------------------
  router.get('/api/admin/endpoints', async (ctx) => {
    await adminActor(ctx);
    return { endpoints: await admin.listEndpoints() };
  });
  router.post('/api/admin/endpoints', async (ctx) => {
    const a = await actor(ctx);
    const b = EndpointBody.parse(await readJson(ctx.req));
    ctx.status = 201;
    return { endpoint: await admin.newEndpoint(b, a) };
  });
  router.delete('/api/admin/endpoints/:sipAddress', async (ctx) => {
    await admin.removeEndpoint(ctx.params.sipAddress as string, await actor(ctx));
    return undefined;
  });

  // ---- eligible principals ---------------------------------------------------------------------------------
  router.get('/api/admin/eligible', async (ctx) => {
    await adminActor(ctx);
    const category = qStr(ctx.query, 'category');
    const room = qStr(ctx.query, 'room');
    const users = await admin.eligiblePrincipals({
      ...(category !== undefined ? { category } : {}),
      ...(room !== undefined ? { room } : {}),
      presenters: qBool(ctx.query, 'presenters') ?? false,
    });
    return { users };
  });

  // ---- configuration ---------------------------------------------------------------------------------------
  router.get('/api/admin/config', async (ctx) => {
    await adminActor(ctx);
    return { config: await admin.getConfig() };
  });
  const setConfig = async (ctx: RequestContext) => {
    const a = await actor(ctx);
    const b = ConfigBody.parse(await readJson(ctx.req));
    return { config: await admin.setConfig(b, a) };
  };
  router.put('/api/admin/config', setConfig);
  router.patch('/api/admin/config', setConfig);
}
