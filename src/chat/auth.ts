// Sign-in and tokens, for every door: password checks (throttled per user and source address by
// directory/sign-in-throttle.ts), bearer tokens for REST and WebSocket, and ending the live sessions of a token
// that is revoked. SIP Digest and NTLM use checkPassword / mayTry / noteLogin from here too.
import { createHash, randomBytes } from 'node:crypto';
import { PchatError } from '../core/errors.js';
import { normalizeSipUri } from '../core/principals.js';
import { verifyPassword } from '../directory/passwords.js';
import { SignInThrottle, type ThrottleOptions } from '../directory/sign-in-throttle.js';
import type { ChatCore } from './core.js';

export const hashToken = (t: string): string => createHash('sha256').update(t).digest('hex');

export class SignIn {
  readonly throttle: SignInThrottle;

  constructor(
    private readonly core: ChatCore,
    private readonly opts: { tokenTtlSeconds: number; throttle?: Partial<ThrottleOptions> },
  ) {
    this.throttle = new SignInThrottle(core.store, opts.throttle);
  }

  /**
   * Checks a password; returns the user's URI. Only users whose policy enables persistent chat may sign in.
   * `source` is the client's address: failures are counted per (user, source), so a stranger elsewhere cannot
   * slow this user down. Every attempt that gets as far as a password costs one scrypt, whether the user
   * exists or not (the name's shape included), so timing does not tell which users exist.
   */
  async checkPassword(userInput: string, password: string, source?: string): Promise<string> {
    this.core.opts.admit?.();
    const { store, model } = this.core;
    let uri: string | undefined;
    try {
      uri = normalizeSipUri(userInput, 'user');
    } catch {
      uri = undefined;
    }
    const key = uri ?? String(userInput);
    await this.throttle.assertMayTry(key, source);
    const ok = await verifyPassword(uri ? await store.users.getPasswordHash(uri) : undefined, password);
    const user = uri ? (model.directory.users.get(uri) ?? (await store.users.get(uri))) : undefined;
    if (!ok || !uri || !user || user.disabled) {
      await this.throttle.failed(key, source);
      throw new PchatError('AUTH_FAILED');
    }
    await this.throttle.succeeded(uri, source);
    if (!model.directory.resolveUser(uri)) await model.poll();
    this.core.subject(uri);
    return uri;
  }

  /** For doors that check credentials themselves (SIP Digest): may `uri` try from `source` now? */
  async mayTry(uri: string, source?: string): Promise<boolean> {
    return (await this.throttle.check(uri, source)).allowed;
  }

  /** For doors that check credentials themselves: the outcome of one attempt. */
  async noteLogin(uri: string, ok: boolean, source?: string): Promise<void> {
    if (ok) await this.throttle.succeeded(uri, source);
    else await this.throttle.failed(uri, source);
  }

  async signIn(
    userInput: string,
    password: string,
    source?: string,
  ): Promise<{ token: string; user: string; expiresAt: number }> {
    const uri = await this.checkPassword(userInput, password, source);
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const expiresAt = now + this.opts.tokenTtlSeconds * 1000;
    await this.core.store.tokens.put({ tokenHash: hashToken(token), user: uri, createdAt: now, expiresAt });
    return { token, user: uri, expiresAt };
  }

  /** Revokes the token and ends, on every server, the live sessions opened with it (WebSocket, REST). */
  async signOut(token: string): Promise<void> {
    const tokenHash = hashToken(token);
    const t = await this.core.store.tokens.get(tokenHash);
    await this.core.store.tokens.remove(tokenHash);
    if (t) this.core.revokeSessions(t.user, 'The session token was revoked.', tokenHash);
  }

  /** The user a token belongs to; TOKEN_INVALID when unknown or expired, POLICY_DISABLED when chat was turned off. */
  async authenticate(token: string): Promise<string> {
    const t = await this.core.store.tokens.get(hashToken(token));
    if (!t || t.expiresAt < Date.now()) throw new PchatError('TOKEN_INVALID');
    this.core.subject(t.user);
    return t.user;
  }

  /**
   * A password change (user.password in the change stream, from any server or the CLI) ends every live session
   * of that user on every door: its tokens are gone, and SIP dialogs were opened with the old password.
   */
  register(): this {
    this.core.model.onChange((changes) => {
      for (const c of changes) {
        if (c.type === 'user.password') this.core.endSessions(c.subject, 'The password was changed.');
      }
    });
    return this;
  }
}
