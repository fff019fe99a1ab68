// The admin REST API (/api/admin/*): rooms, categories, users, groups, policies, add-ins, legacy endpoints,
// eligible principals and the chat configuration, each calling AdminService with the signed-in user as actor.
// AdminService decides who may change what (a room's managers may change it); listing the directory and
// reading settings are for administrators. Every filter and option of the CLI's verbs is here too
// (test/integration/http-schemas.test.ts walks them).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Actor, AdminService } from '../../admin/admin-service.js';
import { PchatError } from '../../core/errors.js';
import { PRIVACY, ROOM_INVITATIONS, ROOM_TYPES } from '../../core/model.js';
import { type ListEdit, normalizeSipUri, parseListEdit } from '../../core/principals.js';
import { type ApiDeps, authRequest } from './auth.js';
import {
  AddinSchema,
  CategorySchema,
  ChatConfigSchema,
  EndpointSchema,
  errorResponses,
  GroupSchema,
  PolicySchema,
  qBool,
  qInt,
  qStr,
  RoomSchema,
  UserSchema,
} from './schemas.js';

/** A principal list on the wire: a list (replaces), {add, remove}, or the CLI's "+a,-b" / "a,b" string. */
const ListEditBody = z
  .union([
    z.array(z.string()),
    z.strictObject({ add: z.array(z.string()).default([]), remove: z.array(z.string()).default([]) }),
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

const RoomBody = z.strictObject({
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

const RoomQuery = z.strictObject({
  filter: qStr.optional(),
  searchDescription: qBool.optional(),
  member: qStr.optional(),
  manager: qStr.optional(),
  category: qStr.optional(),
  addin: qStr.optional(),
  disabled: qBool.optional(),
  privacy: z.enum(PRIVACY).optional(),
  type: z.enum(ROOM_TYPES).optional(),
  invitations: z.enum(ROOM_INVITATIONS).optional(),
  resultSize: qInt.optional(),
  /** The older name of resultSize. */
  limit: qInt.optional(),
});

const GroupBody = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  members: ListEditBody,
});
const AddinBody = z.strictObject({ name: z.string().optional(), url: z.string().optional() });
const EndpointBody = z.strictObject({
  sipAddress: z.string(),
  displayName: z.string().optional(),
  pool: z.string().optional(),
});
const GrantBody = z.strictObject({ user: z.string(), policy: z.string().nullable() });

const CategoryBody = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  invitations: z.boolean().optional(),
  fileUpload: z.boolean().optional(),
  chatHistory: z.boolean().optional(),
  allowedMembers: ListEditBody,
  deniedMembers: ListEditBody,
  creators: ListEditBody,
});

const UserBody = z.strictObject({
  uri: z.string().optional(),
  displayName: z.string().optional(),
  email: z.string().nullable().optional(),
  ou: z.string().nullable().optional(),
  site: z.string().nullable().optional(),
  isAdmin: z.boolean().optional(),
  disabled: z.boolean().optional(),
  password: z.string().optional(),
});

const PolicyBody = z.strictObject({
  enablePersistentChat: z.boolean().optional(),
  description: z.string().optional(),
});

const ConfigBody = z
  .strictObject({
    defaultChatHistory: z.number().int(),
    maxFileSizeKB: z.number().int(),
    participantUpdateLimit: z.number().int(),
    roomManagementUrl: z.string().nullable(),
    messageSizeLimit: z.number().int(),
    storySizeLimit: z.number().int(),
    searchLimit: z.number().int(),
  })
  .partial();

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

const key = z.string().min(1).max(1024);
const NoQuery = z.strictObject({});
const none = { 204: z.null().describe('No content'), ...errorResponses };
const ok = <T extends z.ZodType>(name: string, schema: T) => ({ 200: z.object({ [name]: schema }), ...errorResponses });
const created = <T extends z.ZodType>(name: string, schema: T) => ({
  201: z.object({ [name]: schema }),
  ...errorResponses,
});

export function mountAdminRoutes(app: FastifyInstance, deps: ApiDeps & { admin: AdminService }): void {
  const { chat, admin } = deps;
  const r = app.withTypeProvider<ZodTypeProvider>();
  // After a change, the chat service reads the change stream before answering, so the caller's next request
  // (post in the new room, join after being added) already sees it.
  const changed = async <T>(out: T): Promise<T> => {
    await chat.model.poll();
    return out;
  };
  const actor = async (req: FastifyRequest): Promise<Actor> => {
    const { user } = await authRequest(deps, req);
    return { kind: 'user', uri: user };
  };
  /** Reads of the directory and settings: administrators only. */
  const adminActor = async (req: FastifyRequest): Promise<Actor> => {
    const a = await actor(req);
    await admin.requireAdmin(a);
    return a;
  };
  const tags = ['admin'];

  // ---- rooms -----------------------------------------------------------------------------------------------
  r.get(
    '/api/admin/rooms',
    {
      schema: {
        tags,
        summary: 'List rooms matching the filters (pchat room get).',
        querystring: RoomQuery,
        response: ok('rooms', z.array(RoomSchema)),
      },
    },
    async (req) => {
      await adminActor(req);
      const { limit, resultSize, filter, member, manager, category, addin, ...rest } = req.query;
      const rooms = await admin.listRooms({
        ...rest,
        ...(filter ? { filter } : {}),
        ...(member ? { member } : {}),
        ...(manager ? { manager } : {}),
        ...(category ? { category } : {}),
        ...(addin !== undefined ? { addin } : {}),
        resultSize: resultSize ?? limit,
      });
      return { rooms };
    },
  );
  r.post(
    '/api/admin/rooms',
    {
      schema: {
        tags,
        summary: 'Create a room (pchat room new).',
        querystring: NoQuery,
        body: RoomBody,
        response: created('room', RoomSchema),
      },
    },
    async (req, reply) => {
      const a = await actor(req);
      const b = req.body;
      if (b.name === undefined) throw new PchatError('INVALID_VALUE', 'name: a room needs a name', { field: 'name' });
      if (b.category === undefined)
        throw new PchatError('INVALID_VALUE', 'category: a room needs a category', { field: 'category' });
      const room = await admin.newRoom({ ...roomInput(b), name: b.name, category: b.category }, a);
      reply.status(201);
      return changed({ room });
    },
  );
  r.get(
    '/api/admin/rooms/:key',
    {
      schema: {
        tags,
        summary: 'One room by name or id.',
        params: z.strictObject({ key }),
        querystring: NoQuery,
        response: ok('room', RoomSchema),
      },
    },
    async (req) => {
      await adminActor(req);
      return { room: await admin.getRoom(req.params.key) };
    },
  );
  for (const method of ['PUT', 'PATCH'] as const) {
    r.route({
      method,
      url: '/api/admin/rooms/:key',
      schema: {
        tags,
        summary: "Change a room's settings, lists or category (pchat room set).",
        params: z.strictObject({ key }),
        querystring: NoQuery,
        body: RoomBody,
        response: ok('room', RoomSchema),
      },
      handler: async (req) => {
        const a = await actor(req);
        return changed({ room: await admin.setRoom(req.params.key, roomInput(req.body), a) });
      },
    });
  }
  r.delete(
    '/api/admin/rooms/:key',
    {
      schema: {
        tags,
        summary: 'Delete a room and its content.',
        params: z.strictObject({ key }),
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await admin.removeRoom(req.params.key, await actor(req));
      await changed(undefined);
      reply.status(204).send(null);
    },
  );

  // ---- categories ------------------------------------------------------------------------------------------
  r.get(
    '/api/admin/categories',
    {
      schema: {
        tags,
        summary: 'List categories.',
        querystring: NoQuery,
        response: ok('categories', z.array(CategorySchema)),
      },
    },
    async (req) => {
      await adminActor(req);
      return { categories: await admin.listCategories() };
    },
  );
  r.post(
    '/api/admin/categories',
    {
      schema: {
        tags,
        summary: 'Create a category.',
        querystring: NoQuery,
        body: CategoryBody,
        response: created('category', CategorySchema),
      },
    },
    async (req, reply) => {
      const a = await actor(req);
      const b = req.body;
      if (b.name === undefined)
        throw new PchatError('INVALID_VALUE', 'name: a category needs a name', { field: 'name' });
      const category = await admin.newCategory({ ...categoryInput(b), name: b.name }, a);
      reply.status(201);
      return changed({ category });
    },
  );
  r.get(
    '/api/admin/categories/:key',
    {
      schema: {
        tags,
        summary: 'One category by name or id.',
        params: z.strictObject({ key }),
        querystring: NoQuery,
        response: ok('category', CategorySchema),
      },
    },
    async (req) => {
      await adminActor(req);
      return { category: await admin.getCategory(req.params.key) };
    },
  );
  for (const method of ['PUT', 'PATCH'] as const) {
    r.route({
      method,
      url: '/api/admin/categories/:key',
      schema: {
        tags,
        summary: "Change a category's settings and lists.",
        params: z.strictObject({ key }),
        querystring: NoQuery,
        body: CategoryBody,
        response: ok('category', CategorySchema),
      },
      handler: async (req) => {
        const a = await actor(req);
        return changed({ category: await admin.setCategory(req.params.key, categoryInput(req.body), a) });
      },
    });
  }
  r.delete(
    '/api/admin/categories/:key',
    {
      schema: {
        tags,
        summary: 'Delete an empty category.',
        params: z.strictObject({ key }),
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await admin.removeCategory(req.params.key, await actor(req));
      await changed(undefined);
      reply.status(204).send(null);
    },
  );

  // ---- users -----------------------------------------------------------------------------------------------
  r.get(
    '/api/admin/users',
    {
      schema: {
        tags,
        summary: 'List users whose URI or name contains the filter.',
        querystring: z.strictObject({ filter: qStr.optional() }),
        response: ok('users', z.array(UserSchema)),
      },
    },
    async (req) => {
      await adminActor(req);
      return { users: await admin.listUsers(req.query.filter || undefined) };
    },
  );
  r.post(
    '/api/admin/users',
    {
      schema: {
        tags,
        summary: 'Add a user.',
        querystring: NoQuery,
        body: UserBody,
        response: created('user', UserSchema),
      },
    },
    async (req, reply) => {
      const a = await actor(req);
      const { uri, ...input } = req.body;
      if (uri === undefined) throw new PchatError('INVALID_VALUE', 'uri: a user needs a SIP URI', { field: 'uri' });
      const user = await admin.addUser(uri, input, a);
      reply.status(201);
      return changed({ user });
    },
  );
  r.get(
    '/api/admin/users/:uri',
    {
      schema: {
        tags,
        summary: 'One user.',
        params: z.strictObject({ uri: key }),
        querystring: NoQuery,
        response: ok('user', UserSchema),
      },
    },
    async (req) => {
      await adminActor(req);
      return { user: await admin.getUser(req.params.uri) };
    },
  );
  for (const method of ['PUT', 'PATCH'] as const) {
    r.route({
      method,
      url: '/api/admin/users/:uri',
      schema: {
        tags,
        summary: "Change a user's settings or password.",
        params: z.strictObject({ uri: key }),
        querystring: NoQuery,
        body: UserBody,
        response: ok('user', UserSchema),
      },
      handler: async (req) => {
        const a = await actor(req);
        const { uri: _ignored, ...input } = req.body;
        return changed({ user: await admin.setUser(req.params.uri, input, a) });
      },
    });
  }
  r.delete(
    '/api/admin/users/:uri',
    {
      schema: {
        tags,
        summary: 'Remove a user.',
        params: z.strictObject({ uri: key }),
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await admin.removeUser(req.params.uri, await actor(req));
      await changed(undefined);
      reply.status(204).send(null);
    },
  );

  // ---- policies --------------------------------------------------------------------------------------------
  r.get(
    '/api/admin/policies',
    {
      schema: {
        tags,
        summary: 'List policies.',
        querystring: NoQuery,
        response: ok('policies', z.array(PolicySchema)),
      },
    },
    async (req) => {
      await adminActor(req);
      return { policies: await admin.listPolicies() };
    },
  );
  r.get(
    '/api/admin/policies/:identity',
    {
      schema: {
        tags,
        summary: 'One policy (global, site:NAME or tag:NAME).',
        params: z.strictObject({ identity: key }),
        querystring: NoQuery,
        response: ok('policy', PolicySchema),
      },
    },
    async (req) => {
      await adminActor(req);
      return { policy: await admin.getPolicy(req.params.identity) };
    },
  );
  r.put(
    '/api/admin/policies/:identity',
    {
      schema: {
        tags,
        summary: 'Create or change a policy (pchat policy new / set).',
        params: z.strictObject({ identity: key }),
        querystring: NoQuery,
        body: PolicyBody,
        response: ok('policy', PolicySchema),
      },
    },
    async (req) => {
      const a = await actor(req);
      const identity = req.params.identity;
      const exists = await admin.getPolicy(identity).then(
        () => true,
        () => false,
      );
      const policy = exists
        ? await admin.setPolicy(identity, req.body, a)
        : await admin.newPolicy(identity, req.body, a);
      return changed({ policy });
    },
  );
  r.delete(
    '/api/admin/policies/:identity',
    {
      schema: {
        tags,
        summary: 'Remove a policy.',
        params: z.strictObject({ identity: key }),
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await admin.removePolicy(req.params.identity, await actor(req));
      await changed(undefined);
      reply.status(204).send(null);
    },
  );
  r.post(
    '/api/admin/policy-grants',
    {
      schema: {
        tags,
        summary: 'Grant a tag policy to a user (null removes it).',
        querystring: NoQuery,
        body: GrantBody,
        response: ok('user', UserSchema),
      },
    },
    async (req) => {
      const a = await actor(req);
      return changed({ user: await admin.grantPolicy(req.body.user, req.body.policy, a) });
    },
  );

  // ---- groups ----------------------------------------------------------------------------------------------
  const groupInput = (b: z.infer<typeof GroupBody>) => {
    const members = listEdit(b.members, 'members');
    return { ...(b.description !== undefined ? { description: b.description } : {}), ...(members ? { members } : {}) };
  };
  r.get(
    '/api/admin/groups',
    { schema: { tags, summary: 'List groups.', querystring: NoQuery, response: ok('groups', z.array(GroupSchema)) } },
    async (req) => {
      await adminActor(req);
      return { groups: await admin.listGroups() };
    },
  );
  r.post(
    '/api/admin/groups',
    {
      schema: {
        tags,
        summary: 'Add a group.',
        querystring: NoQuery,
        body: GroupBody,
        response: created('group', GroupSchema),
      },
    },
    async (req, reply) => {
      const a = await actor(req);
      const b = req.body;
      if (b.name === undefined) throw new PchatError('INVALID_VALUE', 'name: a group needs a name', { field: 'name' });
      const group = await admin.addGroup(b.name, groupInput(b), a);
      reply.status(201);
      return changed({ group });
    },
  );
  r.get(
    '/api/admin/groups/:name',
    {
      schema: {
        tags,
        summary: 'One group.',
        params: z.strictObject({ name: key }),
        querystring: NoQuery,
        response: ok('group', GroupSchema),
      },
    },
    async (req) => {
      await adminActor(req);
      return { group: await admin.getGroup(req.params.name) };
    },
  );
  for (const method of ['PUT', 'PATCH'] as const) {
    r.route({
      method,
      url: '/api/admin/groups/:name',
      schema: {
        tags,
        summary: "Change a group's description or members.",
        params: z.strictObject({ name: key }),
        querystring: NoQuery,
        body: GroupBody,
        response: ok('group', GroupSchema),
      },
      handler: async (req) => {
        const a = await actor(req);
        return changed({ group: await admin.setGroup(req.params.name, groupInput(req.body), a) });
      },
    });
  }
  r.delete(
    '/api/admin/groups/:name',
    {
      schema: {
        tags,
        summary: 'Remove a group.',
        params: z.strictObject({ name: key }),
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await admin.removeGroup(req.params.name, await actor(req));
      await changed(undefined);
      reply.status(204).send(null);
    },
  );

  // ---- add-ins ---------------------------------------------------------------------------------------------
  r.get(
    '/api/admin/addins',
    { schema: { tags, summary: 'List add-ins.', querystring: NoQuery, response: ok('addins', z.array(AddinSchema)) } },
    async (req) => {
      await adminActor(req);
      return { addins: await admin.listAddins() };
    },
  );
  r.get(
    '/api/admin/addins/:name',
    {
      schema: {
        tags,
        summary: 'One add-in.',
        params: z.strictObject({ name: key }),
        querystring: NoQuery,
        response: ok('addin', AddinSchema),
      },
    },
    async (req) => {
      await adminActor(req);
      return { addin: await admin.getAddin(req.params.name) };
    },
  );
  r.post(
    '/api/admin/addins',
    {
      schema: {
        tags,
        summary: 'Add an add-in.',
        querystring: NoQuery,
        body: AddinBody,
        response: created('addin', AddinSchema),
      },
    },
    async (req, reply) => {
      const a = await actor(req);
      const b = req.body;
      if (b.name === undefined || b.url === undefined) {
        throw new PchatError('INVALID_VALUE', 'name, url: an add-in needs a name and a URL', { field: 'url' });
      }
      const addin = await admin.newAddin({ name: b.name, url: b.url }, a);
      reply.status(201);
      return changed({ addin });
    },
  );
  r.put(
    '/api/admin/addins/:name',
    {
      schema: {
        tags,
        summary: "Change an add-in's URL.",
        params: z.strictObject({ name: key }),
        querystring: NoQuery,
        body: AddinBody,
        response: ok('addin', AddinSchema),
      },
    },
    async (req) => {
      const a = await actor(req);
      return changed({
        addin: await admin.setAddin(req.params.name, req.body.url !== undefined ? { url: req.body.url } : {}, a),
      });
    },
  );
  r.delete(
    '/api/admin/addins/:name',
    {
      schema: {
        tags,
        summary: 'Remove an add-in.',
        params: z.strictObject({ name: key }),
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await admin.removeAddin(req.params.name, await actor(req));
      await changed(undefined);
      reply.status(204).send(null);
    },
  );

  // ---- legacy SIP endpoints --------------------------------------------------------------------------------
  r.get(
    '/api/admin/endpoints',
    {
      schema: {
        tags,
        summary: 'List legacy SIP endpoints.',
        querystring: NoQuery,
        response: ok('endpoints', z.array(EndpointSchema)),
      },
    },
    async (req) => {
      await adminActor(req);
      return { endpoints: await admin.listEndpoints() };
    },
  );
  r.get(
    '/api/admin/endpoints/:sipAddress',
    {
      schema: {
        tags,
        summary: 'One legacy SIP endpoint.',
        params: z.strictObject({ sipAddress: key }),
        querystring: NoQuery,
        response: ok('endpoint', EndpointSchema),
      },
    },
    async (req) => {
      await adminActor(req);
      const wanted = normalizeSipUri(req.params.sipAddress, 'sipAddress');
      const e = (await admin.listEndpoints()).find((x) => x.sipAddress === wanted);
      if (!e)
        throw new PchatError('ENDPOINT_NOT_FOUND', `sipAddress: endpoint ${wanted} does not exist`, {
          field: 'sipAddress',
        });
      return { endpoint: e };
    },
  );
  r.post(
    '/api/admin/endpoints',
    {
      schema: {
        tags,
        summary: 'Add a legacy SIP endpoint.',
        querystring: NoQuery,
        body: EndpointBody,
        response: created('endpoint', EndpointSchema),
      },
    },
    async (req, reply) => {
      const a = await actor(req);
      const endpoint = await admin.newEndpoint(req.body, a);
      reply.status(201);
      return changed({ endpoint });
    },
  );
  r.delete(
    '/api/admin/endpoints/:sipAddress',
    {
      schema: {
        tags,
        summary: 'Remove a legacy SIP endpoint.',
        params: z.strictObject({ sipAddress: key }),
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await admin.removeEndpoint(req.params.sipAddress, await actor(req));
      await changed(undefined);
      reply.status(204).send(null);
    },
  );

  // ---- eligible principals ---------------------------------------------------------------------------------
  r.get(
    '/api/admin/eligible',
    {
      schema: {
        tags,
        summary: 'Users who may be members (or presenters) of a category or room.',
        querystring: z.strictObject({ category: qStr.optional(), room: qStr.optional(), presenters: qBool.optional() }),
        response: ok('users', z.array(UserSchema)),
      },
    },
    async (req) => {
      await adminActor(req);
      const { category, room, presenters } = req.query;
      const users = await admin.eligiblePrincipals({
        ...(category ? { category } : {}),
        ...(room ? { room } : {}),
        presenters: presenters ?? false,
      });
      return { users };
    },
  );

  // ---- configuration ---------------------------------------------------------------------------------------
  r.get(
    '/api/admin/config',
    {
      schema: {
        tags,
        summary: 'The chat configuration.',
        querystring: NoQuery,
        response: ok('config', ChatConfigSchema),
      },
    },
    async (req) => {
      await adminActor(req);
      return { config: await admin.getConfig() };
    },
  );
  for (const method of ['PUT', 'PATCH'] as const) {
    r.route({
      method,
      url: '/api/admin/config',
      schema: {
        tags,
        summary: 'Change chat settings.',
        querystring: NoQuery,
        body: ConfigBody,
        response: ok('config', ChatConfigSchema),
      },
      handler: async (req) => {
        const a = await actor(req);
        return changed({ config: await admin.setConfig(req.body, a) });
      },
    });
  }
}
