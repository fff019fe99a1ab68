// File upload and download. An upload is either the raw file as the body (X-File-Name, Content-Type) or a
// multipart/form-data form with one file part; either way the bytes stream to the file store, which counts
// them and refuses past MaxFileSizeKB while streaming. A client that goes away part-way fails the stream, so
// the session, descriptor and temp file are released at once. These routes live in their own Fastify scope:
// their bodies are never parsed as JSON.
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserRateLimiter } from '../../chat/user-rate-limiter.js';
import { invalid, PchatError } from '../../core/errors.js';
import type { Logger } from '../../observability/log.js';
import { type ApiDeps, authRequest } from './auth.js';
import { drain } from './drain.js';
import { errorResponses, MessageSchema } from './schemas.js';

export interface FileRouteDeps extends ApiDeps {
  limiter: UserRateLimiter;
  log: Logger;
}

export async function mountFileRoutes(scope: FastifyInstance, deps: FileRouteDeps): Promise<void> {
  const { chat } = deps;
  // Raw bodies stay unread for the handler; multipart/form-data is read by @fastify/multipart.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
  await scope.register(fastifyMultipart, {
    limits: { files: 1, fields: 4, fieldSize: 4096, parts: 6, headerPairs: 50 },
    throwFileSizeLimit: false,
  });
  const r = scope.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/rooms/:id/files',
    {
      schema: {
        tags: ['files'],
        summary:
          'Upload a file to a room: the raw file as the body (X-File-Name, Content-Type), or multipart/form-data ' +
          'with one file part. Refused past MaxFileSizeKB while streaming.',
        params: z.strictObject({ id: z.string().min(1).max(1024) }),
        querystring: z.strictObject({}),
        headers: z.object({ 'x-file-name': z.string().max(1024).optional() }),
        response: { 201: z.object({ message: MessageSchema }), ...errorResponses },
      },
    },
    async (req, reply) => {
      let user: string;
      try {
        user = (await authRequest(deps, req)).user;
      } catch (e) {
        await drain(req.raw);
        throw e;
      }
      const upload = req.isMultipart() ? await multipartFile(req) : rawFile(req);
      if (upload instanceof PchatError) {
        await drain(req.raw);
        throw upload;
      }
      const session = chat.openSession(user, () => {}, 'rest');
      try {
        const message = await chat.upload(session, { roomId: req.params.id, ...upload });
        reply.status(201);
        return { message };
      } catch (e) {
        req.raw.unpipe();
        upload.body.destroy();
        // The client went away part-way: nobody will read the answer; say so in the log, not as a store fault.
        if (!req.raw.complete && (req.raw.destroyed || req.raw.socket?.destroyed))
          throw new PchatError('BAD_REQUEST', 'The upload was cut off by the client.');
        await drain(req.raw);
        throw e;
      } finally {
        chat.closeSession(session);
      }
    },
  );

  r.get(
    '/api/files/:id',
    {
      schema: {
        tags: ['files'],
        summary: 'Download a file (the token may be in ?token= for links a browser follows).',
        params: z.strictObject({ id: z.string().min(1).max(1024) }),
        querystring: z.strictObject({ token: z.string().max(1024).optional() }),
        response: { 200: z.any().describe('The file content'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { user } = await authRequest(deps, req, req.query.token);
      const f = await chat.download(user, req.params.id);
      // An fs stream opens asynchronously: wait for it, so a missing file is an error and not a broken 200.
      if ((f.body as Readable & { pending?: boolean }).pending === true) {
        try {
          await once(f.body, 'ready');
        } catch {
          throw new PchatError('FILE_NOT_FOUND', 'file: its content is missing', { field: 'file' });
        }
      }
      reply.raw.writeHead(200, {
        'content-type': f.contentType,
        'content-length': f.size,
        'content-disposition': contentDisposition(f.name),
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
        'cache-control': 'private, max-age=3600',
        'x-request-id': req.id,
      });
      reply.hijack();
      if (req.method === 'HEAD') {
        f.body.destroy();
        reply.raw.end();
        return;
      }
      f.body.on('error', () => reply.raw.destroy());
      reply.raw.on('close', () => f.body.destroy());
      f.body.pipe(reply.raw);
    },
  );
}

interface Upload {
  name: string;
  contentType: string;
  size: number | undefined;
  body: Readable;
}

/** The raw-body upload: the request stream itself (it fails when the client goes away). */
function rawFile(req: FastifyRequest): Upload | PchatError {
  const rawName = req.headers['x-file-name'];
  const contentType = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]?.trim() ?? '';
  const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined;
  if (typeof rawName !== 'string' || rawName === '') return invalid('name', 'send the file name in X-File-Name');
  if (contentType.startsWith('multipart/'))
    return new PchatError('BAD_REQUEST', 'A multipart upload must be multipart/form-data with one file part.');
  // The body reaches the file store through a PassThrough, so a refusal while streaming (FILE_TOO_LARGE) can
  // unpipe and still drain the request and answer; a client that goes away part-way fails the PassThrough.
  const body = new PassThrough();
  // the file store's pipeline reports the error; after a refusal nobody listens, and that must not crash
  body.on('error', () => {});
  const raw = req.raw;
  raw.pipe(body);
  raw.once('close', () => {
    if (!raw.complete) body.destroy(new PchatError('BAD_REQUEST', 'The upload was cut off by the client.'));
  });
  return {
    name: decodeHeader(rawName),
    contentType,
    size: declared !== undefined && Number.isFinite(declared) ? declared : undefined,
    body,
  };
}

/** The first file part of a multipart/form-data body. */
async function multipartFile(req: FastifyRequest): Promise<Upload | PchatError> {
  let part: Awaited<ReturnType<FastifyRequest['file']>>;
  try {
    part = await req.file();
  } catch (e) {
    return new PchatError('BAD_REQUEST', `The multipart body is malformed: ${(e as Error).message}`);
  }
  if (!part) return invalid('file', 'the form has no file part');
  if (part.filename === '') return invalid('name', 'the file part has no file name');
  return {
    name: part.filename,
    contentType: part.mimetype || 'application/octet-stream',
    size: undefined,
    body: part.file,
  };
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
