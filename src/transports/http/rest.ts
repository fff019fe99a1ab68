// The REST API of the chat service (JSON under /api). Each route declares its params, query, body and
// response schemas, decodes the request, calls ChatService and encodes the answer; the rules live in the
// service.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SearchQuery } from '../../chat/types.js';
import { PchatError } from '../../core/errors.js';
import { MESSAGE_KINDS } from '../../core/model.js';
import { type ApiDeps, authRequest } from './auth.js';
import {
  ChatConfigSchema,
  errorResponses,
  FeedSchema,
  FollowSchema,
  InvitationSchema,
  MessageSchema,
  qBool,
  qInt,
  qStr,
  qTime,
  RoomViewSchema,
} from './schemas.js';

const SignIn = z.strictObject({ user: z.string().min(1).max(512), password: z.string().max(1024) });
const PostBody = z.strictObject({
  kind: z.enum(MESSAGE_KINDS).optional(),
  text: z.string(),
  title: z.string().nullish(),
  rich: z.string().nullish(),
});
const MarkRead = z.strictObject({ messageId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });
const FeedBody = z.strictObject({
  name: z.string(),
  keywords: z.array(z.string()).default([]),
  authors: z.array(z.string()).default([]),
  roomIds: z.array(z.string()).default([]),
  alert: z.boolean().default(true),
});
const PrefBody = z.strictObject({ content: z.string() });

const key = z.string().min(1).max(1024);
const RoomParams = z.strictObject({ id: key });
const RoomIdParams = z.strictObject({ roomId: key });
const IdParams = z.strictObject({ id: key });
const LabelParams = z.strictObject({ label: key });
const NoQuery = z.strictObject({});
const none = { 204: z.null().describe('No content'), ...errorResponses };

const SignInResult = z.object({ token: z.string(), user: z.string(), expiresAt: z.number() });
const ServerInfoSchema = z.object({
  domain: z.string(),
  config: ChatConfigSchema,
  serverTime: z.number(),
  version: z.string(),
});

export function mountChatRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { chat } = deps;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = (req: Parameters<typeof authRequest>[1]) => authRequest(deps, req);

  // ---- sessions --------------------------------------------------------------------------------------------
  r.post(
    '/api/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Sign in with a user name and password; answers a session token.',
        security: [],
        querystring: NoQuery,
        body: SignIn,
        response: { 201: SignInResult, ...errorResponses },
      },
    },
    async (req, reply) => {
      // the client address counts failed sign-ins per (user, source): see directory/sign-in-throttle.ts
      const out = await chat.signIn(req.body.user, req.body.password, req.ip);
      reply.status(201);
      return out;
    },
  );
  r.delete(
    '/api/sessions/current',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Sign out: the token stops working.',
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      const a = await auth(req);
      await chat.signOut(a.token);
      reply.status(204).header('cache-control', 'no-store').send(null);
    },
  );
  r.get(
    '/api/me',
    {
      schema: {
        tags: ['sessions'],
        summary: 'The signed-in user.',
        querystring: NoQuery,
        response: {
          200: z.object({ user: z.string(), displayName: z.string(), isAdmin: z.boolean() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      const u = chat.model.directory.users.get(user);
      return { user, displayName: u?.displayName ?? user, isAdmin: u?.isAdmin ?? false };
    },
  );
  r.get(
    '/api/server',
    {
      schema: {
        tags: ['sessions'],
        summary: "The server's domain, chat settings, time and version.",
        querystring: NoQuery,
        response: { 200: ServerInfoSchema, ...errorResponses },
      },
    },
    async (req) => {
      await auth(req);
      return chat.serverInfo();
    },
  );

  // ---- rooms -----------------------------------------------------------------------------------------------
  r.get(
    '/api/rooms',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Rooms the caller may find, by name.',
        querystring: z.strictObject({ q: qStr.optional(), limit: qInt.optional() }),
        response: { 200: z.object({ rooms: z.array(RoomViewSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { rooms: chat.searchRooms(user, { query: req.query.q || undefined, limit: req.query.limit }) };
    },
  );
  r.get(
    '/api/rooms/associations',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Rooms the caller is a member or manager of.',
        querystring: z.strictObject({ role: z.enum(['member', 'manager']).optional() }),
        response: { 200: z.object({ rooms: z.array(RoomViewSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { rooms: chat.associations(user, req.query.role ?? 'member') };
    },
  );
  r.get(
    '/api/rooms/:id',
    {
      schema: {
        tags: ['rooms'],
        summary: 'One room as the caller sees it.',
        params: RoomParams,
        querystring: NoQuery,
        response: { 200: z.object({ room: RoomViewSchema }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { room: chat.roomDetails(user, req.params.id) };
    },
  );
  r.get(
    '/api/rooms/:id/messages',
    {
      schema: {
        tags: ['messages'],
        summary: "A page of the room's history, by id (before/after).",
        params: RoomParams,
        querystring: z.strictObject({ before: qInt.optional(), after: qInt.optional(), limit: qInt.optional() }),
        response: { 200: z.object({ messages: z.array(MessageSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      const q = req.query;
      return {
        messages: await chat.history(user, req.params.id, { beforeId: q.before, afterId: q.after, limit: q.limit }),
      };
    },
  );
  r.post(
    '/api/rooms/:id/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'Post a message; answered once it is committed.',
        params: RoomParams,
        querystring: NoQuery,
        body: PostBody,
        response: { 201: z.object({ message: MessageSchema }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { user } = await auth(req);
      // A transient session: REST posts need no socket.
      const session = chat.openSession(user, () => {}, 'rest');
      try {
        const message = await chat.post(session, req.params.id, req.body);
        reply.status(201);
        return { message };
      } finally {
        chat.closeSession(session);
      }
    },
  );

  // ---- search ----------------------------------------------------------------------------------------------
  r.get(
    '/api/search',
    {
      schema: {
        tags: ['messages'],
        summary: 'Search the history of every room the caller may read (or one room).',
        querystring: z.strictObject({
          q: qStr.optional(),
          room: qStr.optional(),
          author: z.union([qStr, z.array(qStr).max(100)]).optional(),
          since: qTime.optional(),
          until: qTime.optional(),
          exact: qBool.optional(),
          case: qBool.optional(),
          before: qInt.optional(),
          limit: qInt.optional(),
        }),
        response: {
          200: z.object({ messages: z.array(MessageSchema), count: z.number(), exceededLimit: z.boolean() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      const q = req.query;
      const authors = (Array.isArray(q.author) ? q.author : q.author !== undefined ? [q.author] : []).flatMap((a) =>
        a
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      const query: SearchQuery = {
        text: q.q || undefined,
        roomId: q.room || undefined,
        authors: authors.length > 0 ? authors : undefined,
        since: q.since,
        until: q.until,
        exactPhrase: q.exact,
        caseSensitive: q.case,
        beforeId: q.before,
        limit: q.limit,
      };
      return chat.search(user, query);
    },
  );

  // ---- follows ---------------------------------------------------------------------------------------------
  r.get(
    '/api/follows',
    {
      schema: {
        tags: ['follows'],
        summary: 'Followed rooms with unread counts.',
        querystring: NoQuery,
        response: { 200: z.object({ follows: z.array(FollowSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { follows: await chat.follows(user) };
    },
  );
  r.get(
    '/api/follows/:roomId',
    {
      schema: {
        tags: ['follows'],
        summary: 'Whether the caller follows a room.',
        params: RoomIdParams,
        querystring: NoQuery,
        response: {
          200: z.object({
            following: z.boolean(),
            roomId: z.string(),
            unread: z.number().optional(),
            lastReadId: z.number().optional(),
            room: RoomViewSchema.optional(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      const roomId = req.params.roomId;
      const f = (await chat.follows(user)).find((x) => x.room.id === roomId);
      if (!f) {
        chat.roomDetails(user, roomId); // ROOM_NOT_FOUND etc. when the room cannot be seen
        return { following: false, roomId };
      }
      return { following: true, roomId, unread: f.unread, lastReadId: f.lastReadId, room: f.room };
    },
  );
  r.put(
    '/api/follows/:roomId',
    {
      schema: {
        tags: ['follows'],
        summary: 'Follow a room.',
        params: RoomIdParams,
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      const { user } = await auth(req);
      await chat.follow(user, req.params.roomId, true);
      reply.status(204).send(null);
    },
  );
  r.delete(
    '/api/follows/:roomId',
    {
      schema: {
        tags: ['follows'],
        summary: 'Stop following a room.',
        params: RoomIdParams,
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      const { user } = await auth(req);
      await chat.follow(user, req.params.roomId, false);
      reply.status(204).send(null);
    },
  );
  r.post(
    '/api/follows/:roomId/read',
    {
      schema: {
        tags: ['follows'],
        summary: 'Mark a followed room read up to a message id.',
        params: RoomIdParams,
        querystring: NoQuery,
        body: MarkRead,
        response: none,
      },
    },
    async (req, reply) => {
      const { user } = await auth(req);
      await chat.markRead(user, req.params.roomId, req.body.messageId);
      reply.status(204).send(null);
    },
  );

  // ---- invitations -----------------------------------------------------------------------------------------
  r.get(
    '/api/invitations',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Invitations to rooms, after an id.',
        querystring: z.strictObject({ after: qInt.optional(), limit: qInt.optional() }),
        response: { 200: z.object({ invitations: z.array(InvitationSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { invitations: await chat.invitations(user, req.query.after ?? 0, req.query.limit ?? 100) };
    },
  );

  // ---- feeds -----------------------------------------------------------------------------------------------
  r.get(
    '/api/feeds',
    {
      schema: {
        tags: ['feeds'],
        summary: "The caller's topic feeds.",
        querystring: NoQuery,
        response: { 200: z.object({ feeds: z.array(FeedSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { feeds: await chat.listFeeds(user) };
    },
  );
  r.post(
    '/api/feeds',
    {
      schema: {
        tags: ['feeds'],
        summary: 'Create a topic feed.',
        querystring: NoQuery,
        body: FeedBody,
        response: { 201: z.object({ feed: FeedSchema }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { user } = await auth(req);
      reply.status(201);
      return { feed: await chat.putFeed(user, req.body) };
    },
  );
  r.get(
    '/api/feeds/:id',
    {
      schema: {
        tags: ['feeds'],
        summary: 'One topic feed.',
        params: IdParams,
        querystring: NoQuery,
        response: { 200: z.object({ feed: FeedSchema }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      const feed = (await chat.listFeeds(user)).find((f) => f.id === req.params.id);
      if (!feed) throw new PchatError('FILTER_NOT_FOUND', `id: feed ${req.params.id} does not exist`, { field: 'id' });
      return { feed };
    },
  );
  r.put(
    '/api/feeds/:id',
    {
      schema: {
        tags: ['feeds'],
        summary: 'Replace a topic feed.',
        params: IdParams,
        querystring: NoQuery,
        body: FeedBody,
        response: { 200: z.object({ feed: FeedSchema }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { feed: await chat.putFeed(user, { ...req.body, id: req.params.id }) };
    },
  );
  r.delete(
    '/api/feeds/:id',
    {
      schema: {
        tags: ['feeds'],
        summary: 'Remove a topic feed.',
        params: IdParams,
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      const { user } = await auth(req);
      await chat.removeFeed(user, req.params.id);
      reply.status(204).send(null);
    },
  );
  r.get(
    '/api/feeds/:id/messages',
    {
      schema: {
        tags: ['feeds'],
        summary: "A page of the feed's matching messages.",
        params: IdParams,
        querystring: z.strictObject({ before: qInt.optional(), limit: qInt.optional() }),
        response: { 200: z.object({ messages: z.array(MessageSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      return { messages: await chat.feed(user, req.params.id, { beforeId: req.query.before, limit: req.query.limit }) };
    },
  );

  // ---- preferences -----------------------------------------------------------------------------------------
  r.get(
    '/api/prefs/:label',
    {
      schema: {
        tags: ['preferences'],
        summary: 'A stored client preference.',
        params: LabelParams,
        querystring: NoQuery,
        response: { 200: z.object({ label: z.string(), content: z.string().nullable() }), ...errorResponses },
      },
    },
    async (req) => {
      const { user } = await auth(req);
      const content = await chat.getPref(user, req.params.label);
      return { label: req.params.label, content: content ?? null };
    },
  );
  r.put(
    '/api/prefs/:label',
    {
      bodyLimit: 128 * 1024,
      schema: {
        tags: ['preferences'],
        summary: 'Store a client preference (at most 128 KiB).',
        params: LabelParams,
        querystring: NoQuery,
        body: PrefBody,
        response: none,
      },
    },
    async (req, reply) => {
      const { user } = await auth(req);
      await chat.setPref(user, req.params.label, req.body.content);
      reply.status(204).send(null);
    },
  );
}
