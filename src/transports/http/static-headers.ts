// Headers for the web client's files and every answer: cache rules (content-hashed assets are immutable,
// index.html is revalidated) and a strict Content-Security-Policy (scripts, styles and connections to this
// origin only; no inline scripts; frames may show add-in pages on http(s)).
import type { FastifyReply } from 'fastify';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  'frame-src https: http:',
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

/** A file name with a content hash (app-3f9a1c2b.js, index.BkX9_2aQ.css): its content never changes. */
const HASHED = /[.-][A-Za-z0-9_]{8,}\.(?:js|mjs|css|woff2?|ttf|png|jpe?g|gif|svg|webp|ico|map|wasm)$/;

export function staticCacheHeaders(reply: FastifyReply, path: string): void {
  if (path.endsWith('.html')) reply.header('cache-control', 'no-cache');
  else if (HASHED.test(path)) reply.header('cache-control', 'public, max-age=31536000, immutable');
  else reply.header('cache-control', 'public, max-age=300');
}

export function securityHeaders(reply: FastifyReply, url: string): void {
  if (
    !reply.hasHeader('cache-control') &&
    (url.startsWith('/api') || url.startsWith('/readyz') || url.startsWith('/healthz'))
  )
    reply.header('cache-control', 'no-store');
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
}
