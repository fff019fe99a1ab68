// The REST API of the chat service (JSON under /api). Each route decodes the request, calls ChatService and
// encodes the answer; the rules live in the service.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { ChatService } from '../../chat/chat-service.js';
import type { SearchQuery } from '../../chat/types.js';
import { invalid, PchatError } from '../../core/errors.js';
import { MESSAGE_KINDS } from '../../core/model.js';
import { type Authed, bearerToken, requireUser } from './auth.js';
import type { Logger } from './log.js';
import { qBool, qInt, qStr, qTime, RESPONDED, type RequestContext, type Router, readJson } from './router.js';

export interface RestDeps {
  chat: ChatService;
  log: Logger;
}

const SignIn = z.object({ user: z.string().min(1).max(512), password: z.string().max(1024) });
const PostBody = z.object({
  kind: z.enum(MESSAGE_KINDS).optional(),
  text: z.string(),
  title: z.string().nullish(),
  rich: z.string().nullish(),
});
const MarkRead = z.object({ messageId: z.number().int().min(0) });
const FeedBody = z.object({
  name: z.string(),
  keywords: z.array(z.string()).default([]),
  authors: z.array(z.string()).default([]),
  roomIds: z.array(z.string()).default([]),
  alert: z.boolean().default(true),
});
const PrefBody = z.object({ content: z.string() });

/** How much of an upload body we read and discard after refusing it, so the client can see the answer. */
const DRAIN_LIMIT = 32 * 1024 * 1024;

export function mountChatRoutes(router: Router, deps: RestDeps): void {
  const { chat } = deps;
  const auth = (ctx: RequestContext): Promise<Authed> => requireUser(chat, bearerToken(ctx.req));

  // ---- sessions --------------------------------------------------------------------------------------------
  router.post('/api/sessions', async (ctx) => {
    const body = SignIn.parse(await readJson(ctx.req));
    const r = await chat.signIn(body.user, body.password, ctx.req.socket.remoteAddress);
    ctx.status = 201;
    return r;
  });
  router.delete('/api/sessions/current', async (ctx) => {
    const a = await auth(ctx);
    await chat.signOut(a.token);
    return undefined;
  });
  router.get('/api/me', async (ctx) => {
    const { user } = await auth(ctx);
    const u = chat.model.directory.users.get(user);
    return { user, displayName: u?.displayName ?? user, isAdmin: u?.isAdmin ?? false };
  });
  router.get('/api/server', async (ctx) => {
    await auth(ctx);
    return chat.serverInfo();
  });

  // ---- rooms -----------------------------------------------------------------------------------------------
  router.get('/api/rooms', async (ctx) => {
    const { user } = await auth(ctx);
    return { rooms: chat.searchRooms(user, { query: qStr(ctx.query, 'q'), limit: qInt(ctx.query, 'limit') }) };
  });
  router.get('/api/rooms/associations', async (ctx) => {
    const { user } = await auth(ctx);
    const role = qStr(ctx.query, 'role') ?? 'member';
    if (role !== 'member' && role !== 'manager') throw invalid('role', 'must be member or manager');
    return { rooms: chat.associations(user, role) };
  });
  router.get('/api/rooms/:id', async (ctx) => {
    const { user } = await auth(ctx);
    return { room: chat.roomDetails(user, ctx.params.id as string) };
  });
  router.get('/api/rooms/:id/messages', async (ctx) => {
    const { user } = await auth(ctx);
    const messages = await chat.history(user, ctx.params.id as string, {
      beforeId: qInt(ctx.query, 'before'),
      afterId: qInt(ctx.query, 'after'),
      limit: qInt(ctx.query, 'limit'),
    });
    return { messages };
  });
  router.post('/api/rooms/:id/messages', async (ctx) => {
    const { user } = await auth(ctx);
    const body = PostBody.parse(await readJson(ctx.req));
    // A transient session: REST posts need no socket.
    const session = chat.openSession(user, () => {}, 'rest');
    try {
      const message = await chat.post(session, ctx.params.id as string, body);
      ctx.status = 201;
      return { message };
    } finally {
      chat.closeSession(session);
    }
  });

  // ---- files -----------------------------------------------------------------------------------------------
  router.post('/api/rooms/:id/files', async (ctx) => {
    const { req } = ctx;
    let user: string;
    try {
      user = (await auth(ctx)).user;
    } catch (e) {
      await drain(req);
      throw e;
    }
    const rawName = req.headers['x-file-name'];
    const contentType = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]?.trim() ?? '';
    const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined;
    let name: string;
    try {
      if (typeof rawName !== 'string' || rawName === '') throw invalid('name', 'send the file name in X-File-Name');
      if (contentType.startsWith('multipart/'))
        throw new PchatError('BAD_REQUEST', 'Send the raw file as the body, with X-File-Name and Content-Type.');
      name = decodeHeader(rawName);
    } catch (e) {
      await drain(req);
      throw e;
    }
    const session = chat.openSession(user, () => {}, 'rest');
    const body = new PassThrough();
    req.pipe(body);
    try {
      const message = await chat.upload(session, {
        roomId: ctx.params.id as string,
        name,
        contentType,
        size: declared !== undefined && Number.isFinite(declared) ? declared : undefined,
        body,
      });
      ctx.status = 201;
      return { message };
    } catch (e) {
      req.unpipe(body);
      body.destroy();
      await drain(req);
      throw e;
    } finally {
      chat.closeSession(session);
    }
  });
  router.get('/api/files/:id', async (ctx) => {
    const token = bearerToken(ctx.req) ?? qStr(ctx.query, 'token');
    const { user } = await requireUser(chat, token);
    const f = await chat.download(user, ctx.params.id as string);
    // An fs stream opens asynchronously: wait for it, so a missing file is an error and not a broken 200.
    if ((f.body as Readable & { pending?: boolean }).pending === true) {
      try {
        await once(f.body, 'ready');
      } catch {
        throw new PchatError('FILE_NOT_FOUND', 'file: its content is missing', { field: 'file' });
      }
    }
    ctx.res.writeHead(200, {
      'content-type': f.contentType,
      'content-length': f.size,
      'content-disposition': contentDisposition(f.name),
      'x-content-type-options': 'nosniff',
      'cache-control': 'private, max-age=3600',
    });
    if (ctx.method === 'HEAD') {
      f.body.destroy();
      ctx.res.end();
      return RESPONDED;
    }
    await pipeline(f.body, ctx.res).catch(() => ctx.res.destroy());
    return RESPONDED;
  });

  // ---- search ----------------------------------------------------------------------------------------------
  router.get('/api/search', async (ctx) => {
    const { user } = await auth(ctx);
    const q = ctx.query;
    const authors = q.getAll('author').flatMap((a) =>
      a
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    const query: SearchQuery = {
      text: qStr(q, 'q'),
      roomId: qStr(q, 'room'),
      authors: authors.length > 0 ? authors : undefined,
      since: qTime(q, 'since'),
      until: qTime(q, 'until'),
      exactPhrase: qBool(q, 'exact'),
      caseSensitive: qBool(q, 'case'),
      beforeId: qInt(q, 'before'),
      limit: qInt(q, 'limit'),
    };
    return chat.search(user, query);
  });

  // ---- follows ---------------------------------------------------------------------------------------------
  router.get('/api/follows', async (ctx) => {
    const { user } = await auth(ctx);
    return { follows: await chat.follows(user) };
  });
  router.get('/api/follows/:roomId', async (ctx) => {
    const { user } = await auth(ctx);
    const roomId = ctx.params.roomId as string;
    const f = (await chat.follows(user)).find((x) => x.room.id === roomId);
    if (!f) {
      chat.roomDetails(user, roomId); // ROOM_NOT_FOUND etc. when the room cannot be seen
      return { following: false, roomId };
    }
    return { following: true, roomId, unread: f.unread, lastReadId: f.lastReadId, room: f.room };
  });
  router.put('/api/follows/:roomId', async (ctx) => {
    const { user } = await auth(ctx);
    await chat.follow(user, ctx.params.roomId as string, true);
    return undefined;
  });
  router.delete('/api/follows/:roomId', async (ctx) => {
    const { user } = await auth(ctx);
    await chat.follow(user, ctx.params.roomId as string, false);
    return undefined;
  });
  router.post('/api/follows/:roomId/read', async (ctx) => {
    const { user } = await auth(ctx);
    const body = MarkRead.parse(await readJson(ctx.req));
    await chat.markRead(user, ctx.params.roomId as string, body.messageId);
    return undefined;
  });

  // ---- invitations -----------------------------------------------------------------------------------------
  router.get('/api/invitations', async (ctx) => {
    const { user } = await auth(ctx);
    return {
      invitations: await chat.invitations(user, qInt(ctx.query, 'after') ?? 0, qInt(ctx.query, 'limit') ?? 100),
    };
  });

  // ---- feeds -----------------------------------------------------------------------------------------------
  router.get('/api/feeds', async (ctx) => {
    const { user } = await auth(ctx);
    return { feeds: await chat.listFeeds(user) };
  });
  router.post('/api/feeds', async (ctx) => {
    const { user } = await auth(ctx);
    const body = FeedBody.parse(await readJson(ctx.req));
    ctx.status = 201;
    return { feed: await chat.putFeed(user, body) };
  });
  router.get('/api/feeds/:id', async (ctx) => {
    const { user } = await auth(ctx);
    const feed = (await chat.listFeeds(user)).find((f) => f.id === ctx.params.id);
    if (!feed) throw new PchatError('FILTER_NOT_FOUND', `id: feed ${ctx.params.id} does not exist`, { field: 'id' });
    return { feed };
  });
  router.put('/api/feeds/:id', async (ctx) => {
    const { user } = await auth(ctx);
    const body = FeedBody.parse(await readJson(ctx.req));
    return { feed: await chat.putFeed(user, { ...body, id: ctx.params.id as string }) };
  });
  router.delete('/api/feeds/:id', async (ctx) => {
    const { user } = await auth(ctx);
    await chat.removeFeed(user, ctx.params.id as string);
    return undefined;
  });
  router.get('/api/feeds/:id/messages', async (ctx) => {
    const { user } = await auth(ctx);
    const messages = await chat.feed(user, ctx.params.id as string, {
      beforeId: qInt(ctx.query, 'before'),
      limit: qInt(ctx.query, 'limit'),
    });
    return { messages };
  });

  // ---- preferences -----------------------------------------------------------------------------------------
  router.get('/api/prefs/:label', async (ctx) => {
    const { user } = await auth(ctx);
    const content = await chat.getPref(user, ctx.params.label as string);
    return { label: ctx.params.label, content: content ?? null };
  });
  router.put('/api/prefs/:label', async (ctx) => {
    const { user } = await auth(ctx);
    const body = PrefBody.parse(await readJson(ctx.req, 128 * 1024));
    await chat.setPref(user, ctx.params.label as string, body.content);
    return undefined;
  });
}

function decodeHeader(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Reads and discards what is left of a request body (up to DRAIN_LIMIT), so an early refusal reaches the
 * client instead of a reset connection. Past the limit the app closes the connection after the answer.
 */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  await new Promise<void>((resolve) => {
    let n = 0;
    const done = () => {
      req.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      n += chunk.length;
      if (n > DRAIN_LIMIT) {
        req.pause();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}
