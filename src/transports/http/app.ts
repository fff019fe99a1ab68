// The HTTP front door: one node:http server carrying the REST API (/api), the WebSocket endpoint (/ws),
// health (/healthz), readiness (/readyz) and Prometheus metrics (/metrics). Every request is wrapped: an
// error becomes a JSON error body and never reaches the process.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AdminService } from '../../admin/admin-service.js';
import type { ChatService } from '../../chat/chat-service.js';
import { PchatError } from '../../core/errors.js';
import type { Store } from '../../store/port.js';
import { mountAdminRoutes } from './admin-routes.js';
import { routeNotFound, sendError, toPchatError } from './errors.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { mountChatRoutes } from './rest.js';
import { RESPONDED, type RequestContext, type RouteInfo, Router, sendJson } from './router.js';
import { WsGateway, type WsOptions } from './ws.js';

export interface HttpDeps {
  chat: ChatService;
  admin: AdminService;
  store: Store;
  metrics: Metrics;
  log: Logger;
  ws?: Partial<WsOptions>;
  /** Path of the OpenAPI document served at /api/openapi.json. */
  openapiPath?: string;
}

export interface HttpApp {
  server: Server;
  ws: WsGateway;
  /** Every HTTP route (method and pattern); the WebSocket upgrade at /ws is not among them. */
  routes(): RouteInfo[];
}

export function createHttpApp(deps: HttpDeps): HttpApp {
  const { chat, log, metrics } = deps;
  const router = new Router();
  const gateway = new WsGateway(chat, metrics, log, deps.ws);

  router.get('/healthz', () => ({ status: 'ok' }));
  router.get('/readyz', async (ctx) => {
    try {
      await deps.store.changes.latestId();
      return { status: 'ready' };
    } catch {
      ctx.status = 503;
      return { status: 'unavailable', error: { code: 'STORE_UNAVAILABLE', message: 'The store is unavailable.' } };
    }
  });
  router.get('/metrics', (ctx) => {
    const body = metrics.render();
    ctx.res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    ctx.res.end(body);
    return RESPONDED;
  });
  let openapi: string | undefined;
  router.get('/api/openapi.json', (ctx) => {
    if (openapi === undefined) {
      // src/transports/http → docs/ when run from source, dist/src/transports/http → docs/ when built
      const candidates = deps.openapiPath
        ? [deps.openapiPath]
        : ['../../../docs/openapi.json', '../../../../docs/openapi.json'].map((p) =>
            fileURLToPath(new URL(p, import.meta.url)),
          );
      for (const path of candidates) {
        try {
          openapi = readFileSync(path, 'utf8');
          break;
        } catch {
          // try the next place
        }
      }
      if (openapi === undefined)
        throw new PchatError('BAD_REQUEST', 'The OpenAPI document is not installed with this server.');
    }
    ctx.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    ctx.res.end(openapi);
    return RESPONDED;
  });
  mountChatRoutes(router, { chat, log });
  mountAdminRoutes(router, { chat, admin: deps.admin });

  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    metrics.httpRequests++;
    handle(router, req, res, log).catch((e) => {
      log.error('request handler crashed', { err: e });
      res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      gateway.handleUpgrade(req, socket, head, url.searchParams.get('token') ?? undefined);
    } catch (e) {
      log.error('upgrade failed', { err: e });
      socket.destroy();
    }
  });
  return { server, ws: gateway, routes: () => router.list() };
}

async function handle(router: Router, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  const started = performance.now();
  const method = (req.method ?? 'GET').toUpperCase();
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    sendError(res, new PchatError('BAD_REQUEST', 'The request target is malformed.'));
    return;
  }
  const path = url.pathname;
  const ctx: RequestContext = { req, res, method, path, params: {}, query: url.searchParams, status: 200 };
  try {
    const m = router.match(method, path);
    if (m.kind === 'none') {
      const { err, status } = routeNotFound(method, path);
      req.resume();
      sendError(res, err, status);
      return;
    }
    if (m.kind === 'method') {
      req.resume();
      res.setHeader('allow', m.allowed.join(', '));
      sendError(res, new PchatError('BAD_REQUEST', `${method} is not allowed on ${path}`), 405);
      return;
    }
    ctx.params = m.params;
    const out = await m.handler(ctx);
    if (out === RESPONDED) return;
    if (out === undefined) {
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
    } else sendJson(res, ctx.status, out);
  } catch (e) {
    const err = toPchatError(e);
    if (err.code === 'INTERNAL') log.error('request failed', { method, path, err: e });
    // A body we did not read to the end: close the connection after the answer.
    if (!req.readableEnded && !res.headersSent) res.setHeader('connection', 'close');
    sendError(res, err);
  } finally {
    log.debug('http', { method, path, status: res.statusCode, ms: Math.round(performance.now() - started) });
  }
}
