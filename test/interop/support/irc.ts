// A small promise-based IRC client over node:net, plus helpers for bitlbee's control channel (&bitlbee).
// Every received line is kept, so a timed-out wait can print the transcript tail. Waits take a `since` index
// (from mark()) so an answer that arrives before the wait starts is never missed:
//   const m = irc.mark(); irc.send('…'); await irc.waitFor(/…/, { since: m });
import net from 'node:net';

export interface IrcMessage {
  /** Index of this line in the transcript. */
  index: number;
  raw: string;
  /** "nick!user@host" or "server", without the leading colon. */
  prefix: string;
  nick: string;
  command: string;
  /** Middle params plus the trailing one (last). */
  params: string[];
  /** The trailing parameter (message text) with mIRC formatting codes stripped; '' if none. */
  text: string;
}

export interface WaitOptions {
  /** Default: the client's stepTimeoutMs. */
  timeoutMs?: number;
  /** Transcript index to start searching at (default: lines received after the call). */
  since?: number;
  /** Describes what is awaited, for the timeout message. */
  what?: string;
}

export class IrcTimeoutError extends Error {
  override name = 'IrcTimeoutError';
}

const FORMATTING = /[\x02\x0f\x16\x1d\x1f]|\x03(?:\d{1,2}(?:,\d{1,2})?)?/g;

export function parseIrcLine(raw: string, index = -1): IrcMessage {
  let rest = raw;
  let prefix = '';
  if (rest.startsWith(':')) {
    const sp = rest.indexOf(' ');
    prefix = sp < 0 ? rest.slice(1) : rest.slice(1, sp);
    rest = sp < 0 ? '' : rest.slice(sp + 1);
  }
  const params: string[] = [];
  let trailing: string | undefined;
  const t = rest.indexOf(' :');
  if (t >= 0) {
    trailing = rest.slice(t + 2);
    rest = rest.slice(0, t);
  }
  const words = rest.split(' ').filter((w) => w !== '');
  const command = (words.shift() ?? '').toUpperCase();
  params.push(...words);
  if (trailing !== undefined) params.push(trailing);
  const nick = prefix.includes('!') ? prefix.slice(0, prefix.indexOf('!')) : prefix;
  const text = (trailing ?? (command === 'JOIN' || command === 'PART' ? '' : (words.at(-1) ?? ''))).replace(
    FORMATTING,
    '',
  );
  return { index, raw, prefix, nick, command, params, text };
}

type Waiter = {
  test: (m: IrcMessage) => boolean;
  resolve: (m: IrcMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
};

export interface IrcConnectOptions {
  host?: string;
  port: number;
  nick: string;
  user?: string;
  realname?: string;
  /** Default timeout of every wait (default 15 s). */
  stepTimeoutMs?: number;
  /** Echo every line to stderr (also enabled by PCHAT_INTEROP_TRACE=1). */
  trace?: boolean;
}

export class IrcClient {
  readonly lines: IrcMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private buf = '';
  private closedError: Error | undefined;
  readonly stepTimeoutMs: number;
  readonly trace: boolean;
  nick: string;

  protected constructor(
    protected readonly socket: net.Socket,
    opts: IrcConnectOptions,
  ) {
    this.nick = opts.nick;
    this.stepTimeoutMs = opts.stepTimeoutMs ?? 15_000;
    this.trace = opts.trace ?? process.env.PCHAT_INTEROP_TRACE === '1';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('close', () => this.onClosed(new Error('IRC connection closed')));
    socket.on('error', (e) => this.onClosed(e));
  }

  /** Connects, registers with NICK/USER and waits for RPL_WELCOME (001). */
  static async connect(opts: IrcConnectOptions): Promise<IrcClient> {
    const socket = await openSocket(opts.host ?? '127.0.0.1', opts.port);
    const c = new IrcClient(socket, opts);
    await c.register(opts);
    return c;
  }

  protected async register(opts: IrcConnectOptions): Promise<void> {
    const m = this.mark();
    this.send(`NICK ${opts.nick}`);
    this.send(`USER ${opts.user ?? opts.nick} 0 * :${opts.realname ?? 'pchat interop'}`);
    const welcome = await this.waitFor((l) => l.command === '001' || l.command === '433' || l.command === '432', {
      since: m,
      what: 'IRC welcome (001)',
    });
    if (welcome.command !== '001') throw new Error(`IRC nick ${opts.nick} rejected: ${welcome.raw}`);
    this.nick = welcome.params[0] ?? opts.nick;
  }

  /** Transcript index of the next line to arrive. */
  mark(): number {
    return this.lines.length;
  }

  send(line: string): void {
    if (/[\r\n]/.test(line)) throw new Error(`IRC line must not contain CR/LF: ${JSON.stringify(line)}`);
    if (this.closedError) throw new Error(`cannot send on a closed IRC connection: ${line}`);
    if (this.trace) process.stderr.write(`irc> ${line}\n`);
    this.lines.push(parseIrcLine(`>>> ${line}`, this.lines.length));
    this.socket.write(`${line}\r\n`);
  }

  /**
   * Resolves with the first received line (from `since`) that matches. A RegExp is tested against the raw line.
   * Lines we sent ourselves are in the transcript (prefixed ">>> ") but never match.
   */
  waitFor(match: RegExp | ((m: IrcMessage) => boolean), opts: WaitOptions = {}): Promise<IrcMessage> {
    const test = (m: IrcMessage) =>
      !m.raw.startsWith('>>> ') && (typeof match === 'function' ? match(m) : match.test(m.raw));
    const since = opts.since ?? this.lines.length;
    for (let i = since; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (test(l)) return Promise.resolve(l);
    }
    if (this.closedError)
      return Promise.reject(this.failure(`${this.closedError.message} while waiting for`, match, opts));
    const timeoutMs = opts.timeoutMs ?? this.stepTimeoutMs;
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        test,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(this.failure(`timed out after ${timeoutMs} ms waiting for`, match, opts));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Sends a line and waits for a reply matching `match` that arrives after it. */
  async sendAndWait(
    line: string,
    match: RegExp | ((m: IrcMessage) => boolean),
    opts: Omit<WaitOptions, 'since'> = {},
  ): Promise<IrcMessage> {
    const m = this.mark();
    this.send(line);
    return this.waitFor(match, { ...opts, since: m });
  }

  /** All received lines matching a predicate, from `since`. */
  collect(pred: (m: IrcMessage) => boolean, since = 0): IrcMessage[] {
    return this.lines.slice(since).filter((l) => !l.raw.startsWith('>>> ') && pred(l));
  }

  transcriptTail(n = 40): string {
    return this.lines
      .slice(-n)
      .map((l) => l.raw)
      .join('\n');
  }

  async close(quitMessage = 'bye'): Promise<void> {
    if (!this.closedError) {
      try {
        this.send(`QUIT :${quitMessage}`);
      } catch {
        /* closed meanwhile */
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.socket.destroy();
          resolve();
        }, 1000);
        this.socket.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        this.socket.end();
      });
    }
    this.onClosed(new Error('IRC connection closed by us'));
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  private failure(reason: string, match: unknown, opts: WaitOptions): IrcTimeoutError {
    const what = opts.what ?? String(match);
    return new IrcTimeoutError(
      `${reason} ${what}\n--- IRC transcript tail (${this.nick}) ---\n${this.transcriptTail(30)}`,
    );
  }

  private onData(d: string): void {
    this.buf += d;
    for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
      const raw = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      if (raw === '') continue;
      if (this.trace) process.stderr.write(`irc< ${raw}\n`);
      const msg = parseIrcLine(raw, this.lines.length);
      this.lines.push(msg);
      if (msg.command === 'PING') {
        this.send(`PONG :${msg.params.at(-1) ?? ''}`);
        continue;
      }
      for (const w of [...this.waiters]) {
        if (w.test(msg)) {
          this.waiters.delete(w);
          clearTimeout(w.timer);
          w.resolve(msg);
        }
      }
    }
  }

  private onClosed(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.reject(new Error(`${e.message}\n--- IRC transcript tail (${this.nick}) ---\n${this.transcriptTail(30)}`));
    }
  }
}

function openSocket(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// bitlbee

export const CONTROL_CHANNEL = '&bitlbee';

/** Quotes a root-command argument for bitlbee's parser when it holds spaces or quotes. */
export function quoteArg(s: string): string {
  if (s !== '' && !/[\s"'\\]/.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface ChatRoom {
  index: number;
  title: string;
  topic: string;
}

export class LoginFailedError extends Error {
  override name = 'LoginFailedError';
  constructor(
    /** The text after "<tag> - Login error: " (or "Error: "), e.g. "You have been rejected by the server: …". */
    readonly reason: string,
    readonly line: string,
    transcript: string,
  ) {
    super(`login failed: ${reason}\n--- IRC transcript tail ---\n${transcript}`);
  }
}

/**
 * bitlbee's account messages on &bitlbee, as printed by bitlbee 3.6 (imcb_log/imcb_error in protocols/nogaim.c),
 * e.g. for tag "sipe":
 *   sipe - Logging in: Connecting
 *   sipe - Logging in: Logged in                                      <- success
 *   sipe - Login error: You have been rejected by the server: no reason given   <- SIP 403 to REGISTER
 *   sipe - Login error: Could not connect                             <- nothing listening
 *   sipe - Logging in: Signing off..
 *   sipe - Logging in: Reconnecting in 5 seconds..                    <- only after non-fatal errors
 * After login, errors read "sipe - Error: …" and log lines "sipe - …".
 */
export const LOGIN_SUCCESS = (tag: string) => new RegExp(`^${escapeRe(tag)} - (?:Logging in: )?Logged in$`);
export const LOGIN_ERROR = (tag: string) => new RegExp(`^${escapeRe(tag)} - (?:Login error|Error): (.*)$`);

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class BitlbeeIrc extends IrcClient {
  /** Connects to bitlbee, registers, waits until &bitlbee is joined and switches to umode +b (tab-separated lists). */
  static override async connect(opts: IrcConnectOptions): Promise<BitlbeeIrc> {
    const socket = await openSocket(opts.host ?? '127.0.0.1', opts.port);
    const c = new BitlbeeIrc(socket, opts);
    const m = c.mark();
    await c.register(opts);
    await c.waitFor((l) => l.command === 'JOIN' && l.nick === c.nick && l.params[0] === CONTROL_CHANNEL, {
      since: m,
      what: `JOIN ${CONTROL_CHANNEL}`,
    });
    // umode b: machine-readable lists ("1\tTitle\tTopic" instead of a 20-column table that truncates titles).
    await c.sendAndWait(`MODE ${c.nick} +b`, (l) => l.command === 'MODE' && l.params[0] === c.nick, {
      what: 'MODE +b',
    });
    return c;
  }

  isRootMessage(l: IrcMessage): boolean {
    return (
      (l.command === 'PRIVMSG' || l.command === 'NOTICE') &&
      l.nick === 'root' &&
      (l.params[0] === CONTROL_CHANNEL || l.params[0] === this.nick)
    );
  }

  /** Sends a command to the root user on &bitlbee (no waiting). Returns the transcript mark before sending. */
  root(command: string): number {
    const m = this.mark();
    this.send(`PRIVMSG ${CONTROL_CHANNEL} :${command}`);
    return m;
  }

  /** Sends a root command and waits for a root reply whose text matches one of `ok` (resolves) or `fail` (throws). */
  async rootCommand(command: string, ok: RegExp, fail?: RegExp, opts: Omit<WaitOptions, 'since'> = {}) {
    const since = this.root(command);
    const reply = await this.waitFor((l) => this.isRootMessage(l) && (ok.test(l.text) || !!fail?.test(l.text)), {
      ...opts,
      since,
      what: opts.what ?? `reply to "${command}" matching ${ok}`,
    });
    if (!ok.test(reply.text)) {
      throw new Error(
        `bitlbee rejected "${command}": ${reply.text}\n--- IRC transcript tail ---\n${this.transcriptTail(20)}`,
      );
    }
    return reply;
  }

  /** `account add <protocol> <user> <password>`; returns the account tag (e.g. "sipe"). */
  async accountAdd(protocol: string, user: string, password: string): Promise<string> {
    const reply = await this.rootCommand(
      `account add ${protocol} ${quoteArg(user)} ${quoteArg(password)}`,
      /^Account successfully added with tag (\S+)/,
      /^(?:Unknown protocol|Not enough parameters|Account already exists|.*already exists)/i,
    );
    return /with tag (\S+)/.exec(reply.text)![1]!;
  }

  /** `account <tag> set <key> <value>`; bitlbee answers "key = `value'" (or "(hidden)" for passwords). */
  async accountSet(tag: string, key: string, value: string): Promise<void> {
    await this.rootCommand(
      `account ${tag} set ${key} ${quoteArg(value)}`,
      new RegExp(`^${escapeRe(key)} = `),
      /^(?:Setting `.*' does not exist|Failed to change setting|This setting can|Could not find account|Invalid)/,
    );
  }

  /** `account <tag> on`, then waits for "Logged in" or a login error (throws LoginFailedError). */
  async accountOn(tag: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const since = this.root(`account ${tag} on`);
    await this.waitForLogin(tag, { ...opts, since });
  }

  async waitForLogin(tag: string, opts: { timeoutMs?: number; since?: number } = {}): Promise<void> {
    const ok = LOGIN_SUCCESS(tag);
    const bad = LOGIN_ERROR(tag);
    const l = await this.waitFor((m) => this.isRootMessage(m) && (ok.test(m.text) || bad.test(m.text)), {
      ...opts,
      what: `"${tag} - Logging in: Logged in" or "${tag} - Login error: …"`,
    });
    const err = bad.exec(l.text);
    if (err) throw new LoginFailedError(err[1]!, l.raw, this.transcriptTail(20));
  }

  /** `account <tag> off` (stops reconnect loops too). Waits briefly for the sign-off notice. */
  async accountOff(tag: string): Promise<void> {
    await this.rootCommand(
      `account ${tag} off`,
      new RegExp(`^(?:${escapeRe(tag)} - (?:Logging in: )?Signing off|Account already offline|Reconnect cancelled)`),
      undefined,
      { timeoutMs: 5000 },
    ).catch(() => undefined);
  }

  /** `chat list <tag>`: the room list as bitlbee prints it (umode +b). Empty when "No existing chatrooms". */
  async chatList(tag: string, opts: { timeoutMs?: number } = {}): Promise<ChatRoom[]> {
    const end = new RegExp(`^\\d+ ${escapeRe(tag)} chatrooms$`);
    const fail = /^(?:Listing chatrooms not supported|Room listing unsupported|Invalid account|Not logged in)/;
    const since = this.root(`chat list ${tag}`);
    const last = await this.waitFor(
      (l) => this.isRootMessage(l) && (end.test(l.text) || l.text === 'No existing chatrooms' || fail.test(l.text)),
      { ...opts, since, what: `end of "chat list ${tag}"` },
    );
    if (fail.test(last.text)) throw new Error(`chat list ${tag}: ${last.text}`);
    const rooms: ChatRoom[] = [];
    for (const l of this.collect((x) => this.isRootMessage(x), since)) {
      if (l.index > last.index) break;
      const m = /^(\d+)\t([^\t]*)\t(.*)$/.exec(l.text) ?? /^\s*(\d+) {2}(.{1,20}?) {2,}(.*)$/.exec(l.text);
      if (m) rooms.push({ index: Number(m[1]), title: m[2]!.trimEnd(), topic: m[3]! });
    }
    return rooms;
  }

  /** `chat add <tag> <room> <#channel>` (room = a title from chat list, or !index). */
  async chatAdd(tag: string, room: string, channel: string): Promise<void> {
    await this.rootCommand(
      `chat add ${tag} ${quoteArg(room)} ${channel}`,
      /^Chatroom successfully added/,
      /^(?:Could not add chatroom|A channel named|Invalid account|Named chatrooms not supported|Invalid chatroom index|Error)/,
    );
  }

  isSelf(l: IrcMessage): boolean {
    return l.nick.toLowerCase() === this.nick.toLowerCase();
  }

  /**
   * JOIN and wait for our own JOIN echo (bitlbee sends it once libpurple has opened the chat). Fails at once on an
   * IRC error numeric for the channel, e.g. bitlbee's "403 … :Error joining channel (check control channel?)" after
   * "sipe - Error: Can't join <title>. The following settings are required: uri" (title not in the room list).
   */
  async join(channel: string, opts: { timeoutMs?: number } = {}): Promise<IrcMessage> {
    const l = await this.sendAndWait(
      `JOIN ${channel}`,
      (m) =>
        (m.command === 'JOIN' && this.isSelf(m) && sameChannel(m.params[0], channel)) ||
        (/^4\d\d$/.test(m.command) && sameChannel(m.params[1], channel)),
      { ...opts, what: `own JOIN ${channel}` },
    );
    if (l.command !== 'JOIN') {
      const why = this.collect((m) => this.isRootMessage(m) && / - Error: /.test(m.text), Math.max(0, l.index - 5));
      throw new Error(
        `JOIN ${channel} refused: ${l.text}${why.length ? ` (${why.at(-1)!.text})` : ''}\n--- IRC transcript tail ---\n${this.transcriptTail(20)}`,
      );
    }
    return l;
  }

  async part(channel: string, reason = 'bye', opts: { timeoutMs?: number } = {}): Promise<IrcMessage> {
    return this.sendAndWait(
      `PART ${channel} :${reason}`,
      (l) => l.command === 'PART' && this.isSelf(l) && sameChannel(l.params[0], channel),
      { ...opts, what: `own PART ${channel}` },
    );
  }

  privmsg(target: string, text: string): void {
    this.send(`PRIVMSG ${target} :${text}`);
  }
}

export function sameChannel(a: string | undefined, b: string): boolean {
  return (a ?? '').toLowerCase() === b.toLowerCase();
}
