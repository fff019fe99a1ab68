// Where a request's token comes from: `Authorization: Bearer <token>` on REST calls; for the WebSocket and
// for file downloads (links a browser follows) also `?token=`. Checking the token is ChatService's job; the
// per-user rate limit (shared with the other doors) is taken here, once the user is known.
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { ChatService } from '../../chat/chat-service.js';
import type { UserRateLimiter } from '../../chat/user-rate-limiter.js';
import { PchatError } from '../../core/errors.js';

export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

export interface Authed {
  user: string;
  token: string;
}

/** The signed-in user, or AUTH_REQUIRED / TOKEN_INVALID / POLICY_DISABLED. */
export async function requireUser(chat: ChatService, token: string | undefined): Promise<Authed> {
  if (!token) throw new PchatError('AUTH_REQUIRED');
  const user = await chat.authenticate(token);
  return { user, token };
}

export interface ApiDeps {
  chat: ChatService;
  limiter: UserRateLimiter;
}

/** Signs the request in (bearer token, or `?token=` where allowed), takes one request from the user's budget. */
export async function authRequest(deps: ApiDeps, req: FastifyRequest, queryToken?: string): Promise<Authed> {
  const a = await requireUser(deps.chat, bearerToken(req.raw) ?? queryToken);
  req.log = req.log.child({ user: a.user });
  deps.limiter.check(a.user);
  return a;
}
