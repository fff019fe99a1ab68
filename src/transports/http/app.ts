// The HTTP front door on Fastify: the REST API (/api, every route with zod schemas for params, query, body and
// response), the WebSocket endpoint (/ws, `ws` on the same node:http server), health (/healthz), readiness
// (/readyz), Prometheus metrics (/metrics), the generated OpenAPI document (/api/openapi.json) and the web
// client's static files (/). Every error leaves as {"error": {code, message, field?}} with the registry's status.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { AdminService } from '../../admin/admin-service.js';
import type { ChatService } from '../../chat/chat-service.js';
import type { UserRateLimiter } from '../../chat/user-rate-limiter.js';
import { PchatError } from '../../core/errors.js';
import { type FileStore, probeWritable } from '../../files/file-store.js';
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Store } from '../../store/port.js';
import { mountAdminRoutes } from './admin-routes.js';
import { drain } from './drain.js';
import { errorBody, httpError } from './errors.js';
import { mountFileRoutes } from './file-routes.js';
import { mountChatRoutes } from './rest.js';
import { RouteTable } from './route-table.js';
import { securityHeaders, staticCacheHeaders } from './static-headers.js';
import { WsGateway, type WsOptions } from './ws.js';

export interface HttpDeps {
  chat: ChatService;
  admin: AdminService;
  store: Store;
  files: FileStore;
  metrics: Metrics;
  log: Logger;
  limiter: UserRateLimiter;
  ws?: Partial<WsOptions>;
  /** The web client's built files, served at / (default dist/web beside the package, when it exists). */
  webDir?: string;
  /** The SQLite data directory, checked for free space by /readyz. */
  dataDir?: string;
  /** Largest accepted request header block, in bytes (larger: 431). */
  maxHeaderBytes?: number;
}

export interface HttpApp {
  app: FastifyInstance;
  ws: WsGateway;
}

/** Largest JSON body (1 MiB). */
export const MAX_JSON_BODY = 1024 * 1024;

/** dist/web of the package: src/transports/http → ../../../dist/web from source, dist/src/… → ../../../../dist/web built. */
function defaultWebDir(): string {
  const candidates = ['../../../dist/web/', '../../../../dist/web/'].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  return candidates.find((p) => existsSync(p)) ?? (candidates[0] as string);
}

export async function createHttpApp(deps: HttpDeps): Promise<HttpApp> {
  const { log, metrics } = deps;
  const httpLog = log.child({ door: 'http' });
  const maxHeaderSize = deps.maxHeaderBytes ?? 16 * 1024;
  const app = Fastify({
    loggerInstance: httpLog.pino as unknown as FastifyBaseLogger,
    // one debug line per request comes from our onResponse hook instead
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    bodyLimit: MAX_JSON_BODY,
    routerOptions: { maxParamLength: 2048 },
    return503OnClosing: false,
    // Errors Fastify raises before routing (a URL with bad percent-encoding, FST_ERR_BAD_URL) skip the error
    // handler; they get the same documented body as every other refusal.
    frameworkErrors: (e, _req, reply) => {
      const { err, status } = httpError(e);
      metrics.refused.inc({ door: 'http', code: err.code });
      const r = reply as unknown as FastifyReply;
      void r
        .status(status)
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send(errorBody(err));
    },
    serverFactory: (handler) => createServer({ maxHeaderSize }, handler),
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
      const status = tooBig ? 431 : 400;
      const body = JSON.stringify(
        errorBody(
          tooBig
            ? new PchatError('HEADERS_TOO_LARGE', `headers: at most ${maxHeaderSize} bytes`)
            : new PchatError('BAD_REQUEST', 'The request is malformed.'),
        ),
      );
      metrics.refused.inc({ door: 'http', code: tooBig ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST' });
      if (!socket.writable) return void socket.destroy();
      socket.end(
        `HTTP/1.1 ${status} ${tooBig ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // JSON bodies: an empty body is {}; any content type but multipart and the upload routes' is read as JSON.
  app.removeAllContentTypeParsers();
  const parseJson = (_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    if (body.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(body));
    } catch {
      done(new PchatError('BAD_REQUEST', 'The body is not valid JSON.'));
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJson);

  const routes = new RouteTable();
  app.addHook('onRoute', (r) => routes.add(r.method, r.url));

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'pchat API',
        version: '1',
        description:
          'The JSON API of pchat: chat (rooms, messages, files, search, follows, feeds, invitations, preferences) and ' +
          'administration (/api/admin). Errors are {"error": {"code", "message", "field"}}; see docs/errors.md.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  const gateway = new WsGateway(deps.chat, metrics, log.child({ door: 'ws' }), deps.ws, deps.limiter);

  app.addHook('onRequest', async (req, reply) => {
    metrics.httpRequests.inc();
    reply.header('x-request-id', req.id);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    securityHeaders(reply, req.url);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'http',
    );
  });

  app.setErrorHandler(async (e, req, reply) => {
    const { err, status } = httpError(e);
    if (err.code === 'INTERNAL') req.log.error({ err: e, method: req.method, url: req.url }, 'request failed');
    else if (err.code === 'STORE_UNAVAILABLE' || err.code === 'STORAGE_FULL')
      req.log.error({ err: e, code: err.code, method: req.method, url: req.url }, 'request refused: storage');
    metrics.refused.inc({ door: 'http', code: err.code });
    if (err.code === 'AUTH_FAILED') metrics.signInFailures.inc({ door: 'http' });
    if (err.code === 'RATE_LIMITED') metrics.rateLimited.inc({ door: 'http' });
    const retryAfter = err.details?.retryAfter;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    // A body we did not read to the end (too large, refused early): read and discard it so the answer
    // arrives; what is still unread past the drain limit closes the connection after the answer.
    if (!req.raw.readableEnded && !req.raw.destroyed) await drain(req.raw, 16 * 1024 * 1024);
    if (!req.raw.readableEnded) reply.header('connection', 'close');
    reply.header('cache-control', 'no-store');
    return reply.status(status).type('application/json; charset=utf-8').send(errorBody(err));
  });

  // ---- health, readiness, metrics, OpenAPI ---------------------------------------------------------------
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const problem = await readiness(deps);
    if (!problem) return { status: 'ready' };
    reply.status(503);
    return { status: 'unavailable', error: { code: problem.code, message: problem.message } };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const body = await metrics.render();
    reply.type(metrics.contentType()).header('cache-control', 'no-store');
    return body;
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async (_req, reply) => {
    reply.type('application/json; charset=utf-8');
    return JSON.stringify(app.swagger(), null, 2);
  });

  // ---- the API -----------------------------------------------------------------------------------------------
  const api = { chat: deps.chat, admin: deps.admin, limiter: deps.limiter };
  mountChatRoutes(app, api);
  mountAdminRoutes(app, api);
  await app.register(async (scope) => mountFileRoutes(scope, { ...api, log: httpLog }));

  // ---- the web client ----------------------------------------------------------------------------------------
  const webDir = deps.webDir ?? defaultWebDir();
  const hasWeb = existsSync(webDir);
  const hasIndex = hasWeb && existsSync(`${webDir.replace(/\/$/, '')}/index.html`);
  if (hasWeb) {
    await app.register(fastifyStatic, {
      root: webDir,
      prefix: '/',
      wildcard: true,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: staticCacheHeaders,
    });
  }

  app.setNotFoundHandler(async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '/';
    const isApi = path === '/api' || path.startsWith('/api/') || path === '/ws';
    if (!isApi && hasIndex && (req.method === 'GET' || req.method === 'HEAD')) {
      reply.header('cache-control', 'no-cache');
      return reply.type('text/html; charset=utf-8').sendFile('index.html', webDir);
    }
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      throw Object.assign(new PchatError('BAD_REQUEST', `${req.method} is not allowed on ${path}`), {
        httpStatus: 405,
      });
    }
    throw Object.assign(new PchatError('BAD_REQUEST', `No such route: ${req.method} ${path}`), { httpStatus: 404 });
  });

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      gateway.handleUpgrade(req, socket, head, url.searchParams.get('token') ?? undefined);
    } catch (e) {
      log.error('upgrade failed', { err: e, door: 'ws' });
      socket.destroy();
    }
  });

  await app.ready();
  return { app, ws: gateway };
}

/** Why the server is not ready (store or file store cannot write), or undefined when it is. */
async function readiness(deps: HttpDeps): Promise<PchatError | undefined> {
  try {
    await deps.store.changes.latestId();
  } catch {
    return new PchatError('STORE_UNAVAILABLE', 'The store is unavailable.');
  }
  for (const dir of [deps.files.dir, ...(deps.dataDir ? [deps.dataDir] : [])]) {
    try {
      await probeWritable(dir);
    } catch {
      return new PchatError(
        'STORAGE_FULL',
        `${dir === deps.files.dir ? 'The file store' : 'The data directory'} cannot write.`,
      );
    }
  }
  return undefined;
}
