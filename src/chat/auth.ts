// Sign-in and tokens, for every door: password checks (with the password-guessing lock), bearer tokens for
// REST and WebSocket, and ending the live sessions of a token that is revoked. SIP Digest and NTLM use
// checkPassword / loginLocked / noteLogin from here too.
import { createHash, randomBytes } from 'node:crypto';
import { PchatError } from '../core/errors.js';
import { normalizeSipUri } from '../core/principals.js';
import { verifyPassword } from '../directory/passwords.js';
import type { ChatCore } from './core.js';

/** Wrong passwords allowed per user per window before sign-in is refused for the rest of the window. */
export const LOGIN_FAILURES = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;

export const hashToken = (t: string): string => createHash('sha256').update(t).digest('hex');

export class SignIn {
  private readonly failedLogins = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly core: ChatCore,
    private readonly opts: { tokenTtlSeconds: number },
  ) {}

  /** Checks a password; returns the user's URI. Only users whose policy enables persistent chat may sign in. */
  async checkPassword(userInput: string, password: string): Promise<string> {
    this.core.opts.admit?.();
    const { store, model } = this.core;
    let uri: string;
    try {
      uri = normalizeSipUri(userInput, 'user');
    } catch {
      throw new PchatError('AUTH_FAILED');
    }
    if (this.loginLocked(uri)) {
      throw new PchatError('RATE_LIMITED', 'Too many failed sign-ins for this user; try again in a few minutes.');
    }
    const ok = await verifyPassword(await store.users.getPasswordHash(uri), password);
    const user = model.directory.users.get(uri) ?? (await store.users.get(uri));
    if (!ok || !user || user.disabled) {
      this.noteLogin(uri, false);
      throw new PchatError('AUTH_FAILED');
    }
    this.noteLogin(uri, true);
    if (!model.directory.resolveUser(uri)) await model.poll();
    this.core.subject(uri);
    return uri;
  }

  /**
   * Password guessing, for every door (REST, WebSocket, SIP Digest): after LOGIN_FAILURES wrong passwords for
   * one user within LOGIN_WINDOW_MS, sign-in for that user is refused without checking until the window ends.
   */
  loginLocked(uri: string): boolean {
    const f = this.failedLogins.get(uri);
    if (!f) return false;
    if (Date.now() - f.since > LOGIN_WINDOW_MS) {
      this.failedLogins.delete(uri);
      return false;
    }
    return f.count >= LOGIN_FAILURES;
  }

  noteLogin(uri: string, ok: boolean): void {
    if (ok) {
      this.failedLogins.delete(uri);
      return;
    }
    const f = this.failedLogins.get(uri) ?? { count: 0, since: Date.now() };
    f.count += 1;
    this.failedLogins.set(uri, f);
    if (this.failedLogins.size > 100_000) this.failedLogins.clear(); // bounded memory under a spray
  }

  async signIn(userInput: string, password: string): Promise<{ token: string; user: string; expiresAt: number }> {
    const uri = await this.checkPassword(userInput, password);
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
