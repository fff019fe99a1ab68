// A small HTTP router: routes are `METHOD /path/:param` patterns; a handler gets a context and returns the
// JSON body to send (undefined → 204), or sends the response itself and returns RESPONDED.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PchatError } from '../../core/errors.js';

export const RESPONDED = Symbol('responded');

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Status of a JSON answer (default 200). */
  status: number;
}

export type Handler<C extends RequestContext = RequestContext> = (
  ctx: C,
) => Promise<unknown | typeof RESPONDED> | unknown | typeof RESPONDED;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export type Match =
  | { kind: 'found'; handler: Handler; params: Record<string, string> }
  | { kind: 'method'; allowed: string[] }
  | { kind: 'none' };

export interface RouteInfo {
  method: string;
  /** The pattern as registered, e.g. `/api/rooms/:id`. */
  path: string;
}

export class Router {
  private readonly routes: Route[] = [];
  private readonly patterns: RouteInfo[] = [];

  /** Every route, in the order added (tests walk it so that a new route cannot be left out of a check). */
  list(): RouteInfo[] {
    return this.patterns.map((r) => ({ ...r }));
  }

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), segments: split(pattern), handler });
    this.patterns.push({ method: method.toUpperCase(), path: pattern });
    return this;
  }
  get(p: string, h: Handler): this {
    return this.add('GET', p, h);
  }
  post(p: string, h: Handler): this {
    return this.add('POST', p, h);
  }
  put(p: string, h: Handler): this {
    return this.add('PUT', p, h);
  }
  patch(p: string, h: Handler): this {
    return this.add('PATCH', p, h);
  }
  delete(p: string, h: Handler): this {
    return this.add('DELETE', p, h);
  }

  /** Literal segments win over parameters, so `/rooms/associations` is not `/rooms/:id`. */
  match(method: string, path: string): Match {
    const parts = split(path);
    let best: { route: Route; params: Record<string, string>; score: number } | undefined;
    const allowed = new Set<string>();
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let score = 0;
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith(':')) {
          let value: string;
          try {
            value = decodeURIComponent(part);
          } catch {
            ok = false;
            break;
          }
          params[seg.slice(1)] = value;
        } else if (seg === part) score++;
        else {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allowed.add(route.method);
        continue;
      }
      if (!best || score > best.score) best = { route, params, score };
    }
    if (best) return { kind: 'found', handler: best.route.handler, params: best.params };
    if (allowed.size > 0) return { kind: 'method', allowed: [...allowed] };
    return { kind: 'none' };
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

// ---- request helpers -------------------------------------------------------------------------------------

export const MAX_JSON_BODY = 1024 * 1024;

/** Past this much a refused body is no longer read to its end; the connection is closed after the answer. */
const DISCARD_LIMIT = 16 * 1024 * 1024;

/** Reads a JSON body of at most `limit` bytes; an empty body is `{}`. */
export async function readJson(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<unknown> {
  const tooLarge = () => new PchatError('FRAME_TOO_LARGE', `body: at most ${limit} bytes`);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  const buf = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // A body over the limit is read on and discarded (up to DISCARD_LIMIT), so the client gets the 413.
    let over = Number.isFinite(declared) && declared > limit;
    const finish = (err?: PchatError) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (!over && size > limit) {
        over = true;
        chunks.length = 0;
      }
      if (over) {
        if (size > DISCARD_LIMIT) {
          req.pause();
          finish(tooLarge());
        }
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(over ? tooLarge() : undefined);
    const onError = () => finish(new PchatError('BAD_REQUEST', 'The request body was cut off.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
  const text = buf.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new PchatError('BAD_REQUEST', 'The body is not valid JSON.');
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

// ---- query helpers ---------------------------------------------------------------------------------------

export function qInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new PchatError('INVALID_VALUE', `${name}: must be a whole number`, { field: name });
  return Number(v);
}

export function qStr(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null || v === '' ? undefined : v;
}

export function qBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
  throw new PchatError('INVALID_VALUE', `${name}: must be true or false`, { field: name });
}

/** A time bound: milliseconds since the epoch, or an ISO date. */
export function qTime(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new PchatError('INVALID_VALUE', `${name}: must be milliseconds or an ISO date`, { field: name });
  return t;
}
