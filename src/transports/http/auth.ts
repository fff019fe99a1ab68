// Where a request's token comes from: `Authorization: Bearer <token>` on REST calls; for the WebSocket and
// for file downloads (links a browser follows) also `?token=`. Checking the token is ChatService's job.
import type { IncomingMessage } from 'node:http';
import type { ChatService } from '../../chat/chat-service.js';
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
