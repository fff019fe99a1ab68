// SipeClient: drives the real SIPE libpurple plugin (Lync/OCS client) through bitlbee's IRC gateway, so interop tests
// can log in to pchat's SIP endpoint, list/join persistent chat rooms, post and read messages.
//
//   const alice = await SipeClient.start({ nick: 'alice' });
//   await alice.login('alice@example.com', 'secret', sipPort);
//   const ch = await alice.joinRoom('General');
//   alice.say(ch, 'hello');
//   await bob.waitForMessage(ch, /hello/, { from: 'alice' });
//   await alice.close();
//
// Every step has a timeout (default 15 s, PCHAT_INTEROP_STEP_TIMEOUT overrides) and fails with diagnostics: the IRC
// transcript tail and the tail of SIPE's debug log (full SIP messages). Things bitlbee does not show on IRC:
//   - our own messages echoed back by the server (libpurple flags them SEND, bitlbee drops those) -> waitForSip();
//   - SIPE error dialogs ("Error joining chat room: …") -> a join then just times out; see the SIP log.
import { Bitlbee, type SipLogEntry } from './bitlbee.js';
import { BitlbeeIrc, type ChatRoom, type IrcMessage, LoginFailedError, sameChannel } from './irc.js';

export type { ChatRoom } from './irc.js';
export { LoginFailedError } from './irc.js';

export interface SipeClientOptions {
  /** Use a shared daemon (several clients, one log). Default: a private bitlbee, stopped by close(). */
  bitlbee?: Bitlbee;
  /** IRC nick; also names libpurple's per-user state dir. Default: sipe<N>. */
  nick?: string;
  /** Timeout of each step in ms (default 15000 or $PCHAT_INTEROP_STEP_TIMEOUT). */
  stepTimeoutMs?: number;
}

export interface LoginOptions {
  /** SIP server host (default 127.0.0.1). */
  host?: string;
  /** SIPE "Group Chat Proxy" (groupchat_user); default: from provisioning (DefaultPersistentChatPoolUri). */
  groupchatUser?: string;
  /** SIPE `transport`: tcp (default) or tls. */
  transport?: 'tcp' | 'tls';
  /** SIPE `authentication`: ntlm, krb5, tls-dsk or auto; unset leaves SIPE's default. */
  authentication?: string;
  /**
   * Answer libpurple's "Accept certificate for …?" request with yes, as a user trying a self-signed server
   * certificate would (bitlbee shows it as "New request: …"). Default: on for TLS.
   */
  acceptCertificate?: boolean;
  /** Extra `account <tag> set <key> <value>` settings. */
  settings?: Record<string, string>;
  timeoutMs?: number;
}

export interface ChatMessage {
  nick: string;
  /** "nick!user@host" as bitlbee shows it (user/host come from the SIP URI). */
  prefix: string;
  text: string;
  raw: string;
}

let counter = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SipeClient {
  /** bitlbee account tag of the SIPE account, set by login(). */
  tag: string | undefined;
  private roomsListed = false;
  private channelCounter = 0;
  private readonly channels = new Map<string, string>();

  private constructor(
    readonly irc: BitlbeeIrc,
    readonly bitlbee: Bitlbee,
    private readonly ownsBitlbee: boolean,
    readonly stepTimeoutMs: number,
  ) {}

  static async start(opts: SipeClientOptions = {}): Promise<SipeClient> {
    const stepTimeoutMs = opts.stepTimeoutMs ?? (Number(process.env.PCHAT_INTEROP_STEP_TIMEOUT) || 15_000);
    const bitlbee = opts.bitlbee ?? (await Bitlbee.start());
    try {
      const irc = await BitlbeeIrc.connect({
        host: bitlbee.host,
        port: bitlbee.port,
        nick: opts.nick ?? `sipe${++counter}`,
        stepTimeoutMs,
      });
      return new SipeClient(irc, bitlbee, !opts.bitlbee, stepTimeoutMs);
    } catch (e) {
      const log = await bitlbee.logTail(40);
      if (!opts.bitlbee) await bitlbee.stop();
      throw new Error(`${(e as Error).message}\n--- bitlbee log tail ---\n${log}`);
    }
  }

  get nick(): string {
    return this.irc.nick;
  }

  /** Adds the SIPE account and logs in; resolves on "Logged in", throws (with diagnostics) on a login error. */
  async login(user: string, password: string, sipPort: number, opts: LoginOptions = {}): Promise<void> {
    await this.step(`login ${user}`, async () => {
      await this.configure(user, password, sipPort, opts);
      this.acceptCertificateRequest(opts);
      await this.irc.accountOn(this.tag!, { timeoutMs: opts.timeoutMs ?? this.stepTimeoutMs });
    });
  }

  /**
   * Logs in expecting rejection; returns bitlbee's reason text, e.g. "You have been rejected by the server: …".
   * Throws if the login succeeds. Note: a server that answers a wrong password with another 407 makes SIPE retry
   * (up to 30 times) and then hang in "Connecting" without any error; that surfaces here as a timeout.
   */
  async loginShouldFail(user: string, password: string, sipPort: number, opts: LoginOptions = {}): Promise<string> {
    return this.step(`login ${user} (expected to fail)`, async () => {
      await this.configure(user, password, sipPort, opts);
      this.acceptCertificateRequest(opts);
      try {
        await this.irc.accountOn(this.tag!, { timeoutMs: opts.timeoutMs ?? this.stepTimeoutMs });
      } catch (e) {
        if (e instanceof LoginFailedError) {
          await this.irc.accountOff(this.tag!); // no reconnect loop after non-fatal errors
          return e.reason;
        }
        throw e;
      }
      throw new Error(`login of ${user} succeeded but was expected to fail`);
    });
  }

  /** Watches for the certificate question of the next login and answers yes (see LoginOptions). */
  private acceptCertificateRequest(opts: LoginOptions): void {
    if (!(opts.acceptCertificate ?? opts.transport === 'tls')) return;
    this.irc
      .waitFor((m) => this.irc.isRootMessage(m) && /New request: .*Accept certificate for/.test(m.text), {
        timeoutMs: opts.timeoutMs ?? this.stepTimeoutMs,
        what: 'the certificate question',
      })
      .then(
        () => this.irc.root('yes'),
        () => undefined, // no question (already trusted): nothing to answer
      );
  }

  private async configure(user: string, password: string, sipPort: number, opts: LoginOptions): Promise<void> {
    if (this.tag) throw new Error(`this client already has account ${this.tag}; use a new SipeClient`);
    // SIPE's username field is "sign-in address,login"; the comma with an empty login is the documented form.
    const account = user.includes(',') ? user : `${user},`;
    this.tag = await this.irc.accountAdd('sipe', account, password);
    await this.irc.accountSet(this.tag, 'server', `${opts.host ?? '127.0.0.1'}:${sipPort}`);
    await this.irc.accountSet(this.tag, 'transport', opts.transport ?? 'tcp');
    if (opts.authentication) await this.irc.accountSet(this.tag, 'authentication', opts.authentication);
    if (opts.groupchatUser) await this.irc.accountSet(this.tag, 'groupchat_user', opts.groupchatUser);
    for (const [k, v] of Object.entries(opts.settings ?? {})) await this.irc.accountSet(this.tag, k, v);
  }

  /**
   * `chat list` (SIPE sends cmd:chansrch). Right after login SIPE's group chat session may not be up yet (it
   * answers "No existing chatrooms"), so this retries until at least `minRooms` rooms (default 1) are listed.
   */
  async listRooms(opts: { minRooms?: number; timeoutMs?: number } = {}): Promise<ChatRoom[]> {
    const tag = this.requireTag();
    const minRooms = opts.minRooms ?? 1;
    const deadline = Date.now() + (opts.timeoutMs ?? this.stepTimeoutMs);
    return this.step('list rooms', async () => {
      for (;;) {
        const rooms = await this.irc.chatList(tag, { timeoutMs: Math.max(1000, deadline - Date.now()) });
        this.roomsListed = true;
        if (rooms.length >= minRooms) return rooms;
        if (Date.now() > deadline) {
          throw new Error(`chat list returned ${rooms.length} room(s), wanted at least ${minRooms}`);
        }
        await sleep(500);
      }
    });
  }

  /**
   * Joins a room by title (as listed): `chat add sipe <title> #chan`, then JOIN. Lists rooms first if needed (SIPE
   * only knows room URIs from a prior room list). Resolves with the IRC channel name once bitlbee shows our JOIN.
   */
  async joinRoom(title: string, opts: { channel?: string; timeoutMs?: number } = {}): Promise<string> {
    const tag = this.requireTag();
    return this.step(`join room "${title}"`, async () => {
      if (!this.roomsListed) await this.listRooms();
      let channel = this.channels.get(title);
      if (!channel) {
        channel = opts.channel ?? this.channelName(title);
        await this.irc.chatAdd(tag, title, channel);
        this.channels.set(title, channel);
      }
      await this.irc.join(channel, { timeoutMs: opts.timeoutMs ?? this.stepTimeoutMs });
      return channel;
    });
  }

  /**
   * Waits for a channel message whose text matches. Searches from `since` (default 0: the whole session, so a
   * message that arrived before the call is found; use unique texts or pass since: client.mark()).
   * History replayed on join looks like "[2024-01-01 10:00:00] text".
   */
  async waitForMessage(
    channel: string,
    match: RegExp,
    opts: { from?: string | RegExp; since?: number; timeoutMs?: number } = {},
  ): Promise<ChatMessage> {
    const l = await this.step(`wait for message ${match} in ${channel}`, () =>
      this.irc.waitFor(
        (m) =>
          m.command === 'PRIVMSG' &&
          sameChannel(m.params[0], channel) &&
          match.test(m.text) &&
          (opts.from === undefined || matchesUser(m, opts.from)),
        { since: opts.since ?? 0, timeoutMs: opts.timeoutMs, what: `PRIVMSG ${channel} ${match}` },
      ),
    );
    return { nick: l.nick, prefix: l.prefix, text: l.text, raw: l.raw };
  }

  /** All messages seen in a channel so far (excluding our own, which bitlbee doesn't echo). */
  messages(channel: string, since = 0): ChatMessage[] {
    return this.irc
      .collect((m) => m.command === 'PRIVMSG' && sameChannel(m.params[0], channel), since)
      .map((l) => ({ nick: l.nick, prefix: l.prefix, text: l.text, raw: l.raw }));
  }

  /** Posts a message (SIPE sends a grpchat INFO). Newlines are not allowed on IRC; send lines separately. */
  say(channel: string, text: string): void {
    this.irc.privmsg(channel, text);
  }

  /** Waits until `who` (substring of nick!user@host, case-insensitive, or a RegExp) is shown joining the channel. */
  async waitForJoin(channel: string, who: string | RegExp, opts: { since?: number; timeoutMs?: number } = {}) {
    return this.step(`wait for ${who} to join ${channel}`, () =>
      this.irc.waitFor((m) => m.command === 'JOIN' && sameChannel(m.params[0], channel) && matchesUser(m, who), {
        since: opts.since ?? 0,
        timeoutMs: opts.timeoutMs,
        what: `JOIN ${channel} by ${who}`,
      }),
    );
  }

  /** Waits until `who` is shown leaving the channel (PART, or QUIT). */
  async waitForPart(channel: string, who: string | RegExp, opts: { since?: number; timeoutMs?: number } = {}) {
    return this.step(`wait for ${who} to leave ${channel}`, () =>
      this.irc.waitFor(
        (m) =>
          ((m.command === 'PART' && sameChannel(m.params[0], channel)) || m.command === 'QUIT') &&
          matchesUser(m, who) &&
          !this.irc.isSelf(m),
        { since: opts.since ?? 0, timeoutMs: opts.timeoutMs, what: `PART ${channel} by ${who}` },
      ),
    );
  }

  /** Nicks bitlbee currently shows in a channel (NAMES). */
  async names(channel: string): Promise<string[]> {
    return this.step(`NAMES ${channel}`, async () => {
      const since = this.irc.mark();
      this.irc.send(`NAMES ${channel}`);
      const end = await this.irc.waitFor((m) => m.command === '366', { since, what: `end of NAMES ${channel}` });
      return this.irc
        .collect((m) => m.command === '353', since)
        .filter((m) => m.index < end.index)
        .flatMap((m) => m.text.split(' '))
        .filter((n) => n !== '')
        .map((n) => n.replace(/^[@%+]/, ''));
    });
  }

  /** PART (SIPE sends cmd:part when libpurple destroys the conversation). Resolves on bitlbee's PART echo. */
  async leave(channel: string): Promise<void> {
    await this.step(`leave ${channel}`, () => this.irc.part(channel));
  }

  /** Transcript index to pass as `since`. */
  mark(): number {
    return this.irc.mark();
  }

  /**
   * Polls SIPE's debug log for a SIP message (e.g. the server's echo of our own grpchat, which IRC never shows):
   *   await alice.waitForSip({ direction: 'in', match: /<grpchat[^>]*>.*hello/s })
   * With a shared bitlbee the log holds every client's traffic.
   */
  async waitForSip(opts: { direction?: 'in' | 'out'; match: RegExp; timeoutMs?: number }): Promise<SipLogEntry> {
    return this.step(`wait for SIP ${opts.direction ?? ''} ${opts.match}`, async () => {
      const deadline = Date.now() + (opts.timeoutMs ?? this.stepTimeoutMs);
      for (;;) {
        const hit = (await this.bitlbee.sipMessages()).find(
          (e) => (!opts.direction || e.direction === opts.direction) && opts.match.test(e.text),
        );
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no SIP message matching ${opts.match} in the SIPE debug log`);
        await sleep(200);
      }
    });
  }

  /** IRC transcript tail plus the last SIP messages / debug lines SIPE logged. */
  async diagnostics(opts: { ircLines?: number; sipMessages?: number; logLines?: number } = {}): Promise<string> {
    const log = await this.bitlbee.debugLog();
    const sip = (await this.bitlbee.sipMessages()).slice(-(opts.sipMessages ?? 8));
    const debugLines = log
      .split('\n')
      .filter((l) => l.startsWith('DEBUG '))
      .slice(-(opts.logLines ?? 25));
    return [
      `--- IRC transcript tail (${this.nick}) ---`,
      this.irc.transcriptTail(opts.ircLines ?? 30),
      `--- last ${sip.length} SIP messages in SIPE's log (${this.bitlbee.stderrLog}) ---`,
      ...sip.map((e) => `${e.direction === 'out' ? '>>> SIPE sent' : '<<< SIPE received'}\n${e.text}`),
      '--- SIPE debug tail ---',
      ...debugLines,
    ].join('\n');
  }

  /** Logs the account off, quits IRC and stops a private bitlbee. Never throws. */
  async close(): Promise<void> {
    try {
      if (this.tag && !this.irc.closed) await this.irc.accountOff(this.tag);
    } catch {
      /* best effort */
    }
    await this.irc.close().catch(() => undefined);
    if (this.ownsBitlbee) await this.bitlbee.stop().catch(() => undefined);
  }

  private requireTag(): string {
    if (!this.tag) throw new Error('login() first');
    return this.tag;
  }

  private channelName(title: string): string {
    const base =
      title
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, '_')
        .replace(/^_+|_+$/g, '') || 'room';
    return `#${base.slice(0, 16)}${++this.channelCounter > 1 ? this.channelCounter : ''}`;
  }

  /** Runs a step; on failure rethrows with the step name and full diagnostics appended (once). */
  private async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = e as Error;
      if ((err as { sipeDiagnostics?: boolean }).sipeDiagnostics) throw err;
      // IRC errors carry their own transcript tail; the diagnostics below include it, so keep only the headline.
      const headline = err.message.split('\n--- IRC transcript tail')[0];
      const wrapped = new Error(
        `SipeClient(${this.nick}) step "${name}" failed: ${headline}\n${await this.diagnostics()}`,
        {
          cause: err,
        },
      );
      (wrapped as Error & { sipeDiagnostics?: boolean }).sipeDiagnostics = true;
      if (err instanceof LoginFailedError) (wrapped as Error & { reason?: string }).reason = err.reason;
      throw wrapped;
    }
  }
}

/** True if `who` (case-insensitive substring, or RegExp) matches the message's nick!user@host. */
export function matchesUser(m: IrcMessage, who: string | RegExp): boolean {
  return typeof who === 'string' ? m.prefix.toLowerCase().includes(who.toLowerCase()) : who.test(m.prefix);
}
