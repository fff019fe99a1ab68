// One XCCOS conversation (one SIP dialog): decodes the client's envelopes into chat-service calls, encodes the
// results as <rpl>s and the chat events as <ntc>/<grpchat>s. No rule lives here: every answer comes from
// ChatService. The chat session is opened on the first command that needs one (join, bjoin, part, grpchat),
// so the short pool dialog that only asks cmd:requri costs nothing.
//
// Ordering: envelopes are handled one at a time, in arrival order. While one is being handled, chat events are
// held back and sent after its reply, so a client never sees a room's traffic before the rpl:join for it.
// Envelope shapes (SIPE reads only the first kind of child): replies share one envelope, every notice and every
// grpchat gets its own.
import { createHash } from 'node:crypto';
import type { ChatService } from '../../chat/chat-service.js';
import type { ChatEvent, MessageView, Session } from '../../chat/types.js';
import { asPchatError, ERRORS, type ErrorCode, PchatError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../observability/log.js';
import {
  type ChatLine,
  type DecodedCommand,
  decodeCommand,
  encodeBccontextReply,
  encodeChansrchReply,
  encodeEmptyReply,
  encodeErrorReply,
  encodeGetprefReply,
  encodeGrpchat,
  encodeJoinNotice,
  encodeJoinReply,
  encodePartNotice,
  encodePartReply,
  encodePchatErrorReply,
  encodeRequriReply,
  encodeServerInfoReply,
  formatRoomUri,
  formatTimestamp,
  type GrpchatMessage,
  type JoinedRoom,
  type Pref,
  type RoomListing,
  type RoomRef,
} from './commands.js';
import {
  buildEnvelope,
  buildReply,
  type CommandRef,
  EnvidSequence,
  parseEnvelope,
  type XccosEnvelope,
} from './envelope.js';
import { el, type XmlFragment } from './xml.js';

export interface XccosSessionOptions {
  chat: ChatService;
  /** The authenticated user of the SIP connection (never the author attribute a client sends). */
  user: string;
  /** The deployment's domain: rooms are ma-chan://<domain>/<id>. */
  domain: string;
  /** The URI rpl:requri hands out: the client INVITEs it for the long-lived chat dialog. */
  chatServerUri: string;
  /** Sends one envelope (an INFO body) to the client. */
  send(envelope: string): void;
  /** The server ended the chat session (token revoked, password changed): the dialog should end (BYE). */
  onEnded?(reason: string): void;
  log?: Logger;
}

/** Answers the SIP INFO that carried an envelope: 200, or an error status (grpchat failures, bad envelopes). */
export type InfoResponder = (status: number, reason?: string) => void;

export class XccosSession {
  private readonly chat: ChatService;
  private readonly user: string;
  private readonly domain: string;
  private readonly log: Logger;
  private readonly envids = new EnvidSequence();
  private session: Session | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Envelopes received and not yet handled; events wait while this is above zero. */
  private inFlight = 0;
  private held: XmlFragment[] = [];
  private closed = false;

  constructor(private readonly opts: XccosSessionOptions) {
    this.chat = opts.chat;
    this.user = opts.user;
    this.domain = opts.domain.toLowerCase();
    this.log = opts.log ?? silentLogger;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The chat session, once one was needed. */
  get chatSession(): Session | undefined {
    return this.session;
  }

  /**
   * Handles the body of one INFO. `respond` is called exactly once: at once with 200 for commands (their result
   * travels in a later rpl), after the post for grpchat (so a failure reaches SIPE as "not delivered"), or with
   * 400 when the body is not an XCCOS envelope.
   */
  handleInfo(body: Buffer, respond: InfoResponder): void {
    if (this.closed) {
      respond(481);
      return;
    }
    if (body.length === 0) {
      respond(200);
      return;
    }
    const parsed = parseEnvelope(body);
    if (!parsed.ok) {
      respond(parsed.error.code === 'FRAME_TOO_LARGE' ? 413 : 400, 'Not an XCCOS envelope');
      return;
    }
    const envelope = parsed.value;
    const waitsForPost = envelope.items.some((i) => i.kind === 'grpchat');
    if (!waitsForPost) respond(200);
    this.inFlight++;
    this.queue = this.queue
      .then(() => this.process(envelope, waitsForPost ? respond : undefined))
      .catch((e: unknown) => this.log.error('xccos envelope failed', { err: e, user: this.user }))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) this.flushHeld();
      });
  }

  /** Ends the conversation: leaves every room (others see the part) and drops held events. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    if (this.session) {
      try {
        this.chat.closeSession(this.session);
      } catch (e) {
        this.log.warn('xccos close failed', { err: e });
      }
      this.session = undefined;
    }
  }

  // ---- incoming ------------------------------------------------------------------------------------------

  private async process(envelope: XccosEnvelope, respond: InfoResponder | undefined): Promise<void> {
    const replies: XmlFragment[] = [];
    let sipStatus = 200;
    let sipReason: string | undefined;
    for (const item of envelope.items) {
      if (this.closed) break;
      if (item.kind === 'rpl' || item.kind === 'ntc') continue; // a client's acknowledgements: nothing to do
      const decoded = decodeCommand(item, envelope.envid);
      if (!decoded.ok) {
        if (item.kind === 'grpchat') {
          sipStatus = 400;
          sipReason = decoded.error.message.slice(0, 100);
        } else
          replies.push(encodePchatErrorReply({ id: item.id, seqid: item.seqid, envid: envelope.envid }, decoded.error));
        continue;
      }
      if (decoded.value.command.type === 'grpchat') {
        const failure = await this.post(decoded.value.command.message);
        if (failure && sipStatus === 200) {
          sipStatus = sipStatusFor(failure.code);
          sipReason = failure.message.slice(0, 100);
        }
        continue;
      }
      replies.push(...(await this.run(decoded.value)));
    }
    if (replies.length > 0 && !this.closed) this.opts.send(buildEnvelope(this.envids.next(), replies));
    respond?.(sipStatus, sipReason);
  }

  /** Runs one command; returns its reply (several for a bjoin with failures). Never throws. */
  private async run({ ref, command }: DecodedCommand): Promise<XmlFragment[]> {
    try {
      switch (command.type) {
        case 'requri':
          return [encodeRequriReply(ref, this.opts.chatServerUri)];
        case 'getserverinfo':
          return [this.serverInfo(ref, command.infoType)];
        case 'getassociations':
          return [
            encodeChansrchReply(
              ref,
              this.chat.associations(this.user, 'member').map((r) => listing(r, this.domain)),
            ),
          ];
        case 'chansrch': {
          const limit = this.chat.serverInfo().config.searchLimit;
          const rooms = this.chat.searchRooms(this.user, { query: command.criteria, limit });
          return [
            encodeChansrchReply(
              ref,
              rooms.map((r) => listing(r, this.domain)),
            ),
          ];
        }
        case 'join':
        case 'bjoin':
          return await this.join(ref, command.rooms);
        case 'part': {
          const session = this.requireSession();
          await this.chat.part(session, this.roomId(command.room));
          return [encodePartReply(ref, command.room.uri)];
        }
        case 'bccontext':
          return [await this.backchat(ref, command.room, command.last)];
        case 'getinv':
          return [await this.invitations(ref, command.invites[0]?.inviteId)];
        case 'getpref':
          return [await this.getPrefs(ref, command.prefs)];
        case 'setpref':
          await this.setPrefs(command.prefs);
          return [encodeEmptyReply(ref)];
        case 'nodespermcreatechild':
          // Rooms are created in the web client or with the CLI, not from legacy clients.
          return [encodeErrorReply(ref, 403, 'Create rooms in the pchat web client.')];
        case 'grpchat':
          return [];
      }
    } catch (e) {
      const err = asPchatError(e);
      if (err.code === 'INTERNAL') this.log.error('xccos command failed', { err: e, command: ref.id });
      return [encodePchatErrorReply(ref, err)];
    }
  }

  private requireSession(): Session {
    if (this.closed) throw new PchatError('TOKEN_INVALID', 'the dialog is closed');
    this.session ??= this.chat.openSession(this.user, (e) => this.onEvent(e), 'xccos');
    return this.session;
  }

  /** The room id of a ma-chan URI in our domain; ROOM_NOT_FOUND for any other domain. */
  private roomId(room: RoomRef): string {
    if (room.domain !== this.domain)
      throw new PchatError('ROOM_NOT_FOUND', `room: ${room.uri} does not exist`, { field: 'room' });
    return room.roomId;
  }

  private async join(ref: CommandRef, rooms: readonly RoomRef[]): Promise<XmlFragment[]> {
    const session = this.requireSession();
    const ours = rooms.filter((r) => r.domain === this.domain);
    const outcomes =
      ours.length > 0
        ? await this.chat.join(
            session,
            ours.map((r) => r.roomId),
          )
        : [];
    const joined: JoinedRoom[] = [];
    const failures: XmlFragment[] = [];
    for (const room of rooms) {
      if (room.domain !== this.domain) {
        failures.push(encodeErrorReply(ref, ERRORS.ROOM_NOT_FOUND.sip, `${ERRORS.ROOM_NOT_FOUND.text} (${room.uri})`));
      }
    }
    for (const outcome of outcomes) {
      if (!outcome.ok) {
        const uri = formatRoomUri(this.domain, outcome.roomId);
        failures.push(encodeErrorReply(ref, ERRORS[outcome.code].sip, `${outcome.message} (${uri})`));
        continue;
      }
      const { room, roster } = outcome.joined;
      joined.push({
        uri: formatRoomUri(this.domain, room.id),
        name: room.name,
        description: room.description,
        topic: room.description || undefined,
        // A large room has no roster: show the user alone rather than a wrong list.
        members: roster ? roster.map((p) => p.uri) : [this.user],
        managers: room.manager ? [this.user] : [],
      });
    }
    // SIPE reads every <rpl> of an envelope: one success for the rooms joined, one error per room refused.
    if (joined.length === 0 && failures.length > 0) return failures;
    return [encodeJoinReply(ref, joined), ...failures];
  }

  private async backchat(ref: CommandRef, room: RoomRef, last: number | undefined): Promise<XmlFragment> {
    const roomId = this.roomId(room);
    // Capped at DefaultChatHistory: the administrator's "messages shown on join" applies to legacy clients too.
    const cap = this.chat.serverInfo().config.defaultChatHistory;
    const limit = Math.min(last ?? cap, cap);
    const messages = limit > 0 ? await this.chat.history(this.user, roomId, { limit }, 'xccos') : [];
    if (limit === 0) this.chat.roomDetails(this.user, roomId); // still refuse rooms the user may not see
    return encodeBccontextReply(
      ref,
      room.uri,
      messages.map((m) => this.line(m)),
    );
  }

  private async invitations(ref: CommandRef, inviteId: string | undefined): Promise<XmlFragment> {
    const from = inviteId !== undefined && /^\d{1,15}$/.test(inviteId) ? Number(inviteId) : 1;
    const list = await this.chat.invitations(this.user, Math.max(0, from - 1));
    // SIPE ignores the content; the shape follows the command's <inv inviteId domain/> and is not verified.
    return buildReply(ref, {
      data: list.map((i) =>
        el('inv', {
          inviteId: i.id,
          domain: this.domain,
          chanUri: formatRoomUri(this.domain, i.roomId),
          name: i.roomName,
          inviter: i.inviter,
          ts: formatTimestamp(new Date(i.ts)),
        }),
      ),
    });
  }

  private async getPrefs(ref: CommandRef, prefs: readonly Pref[]): Promise<XmlFragment> {
    const out: { label: string; seqid?: string; content: Buffer }[] = [];
    for (const p of prefs) {
      const stored = await this.chat.getPref(this.user, p.label);
      if (stored === undefined && !p.createDefault) continue;
      out.push({ label: p.label, seqid: p.seqid, content: Buffer.from(stored ?? '', 'base64') });
    }
    return encodeGetprefReply(ref, out);
  }

  private async setPrefs(prefs: readonly Pref[]): Promise<void> {
    for (const p of prefs) {
      if (!p.content)
        throw new PchatError('INVALID_VALUE', `content: pref ${p.label} has no content`, { field: 'content' });
    }
    for (const p of prefs) await this.chat.setPref(this.user, p.label, (p.content as Buffer).toString('base64'));
  }

  private serverInfo(ref: CommandRef, infoType: string | undefined): XmlFragment {
    const info = this.chat.serverInfo();
    return encodeServerInfoReply(ref, {
      infoType,
      serverTime: new Date(info.serverTime),
      searchLimit: info.config.searchLimit,
      messageSizeLimit: info.config.messageSizeLimit,
      storySizeLimit: info.config.storySizeLimit,
      rootUri: `ma-cat://${this.domain}/${stableGuid(`root-category:${this.domain}`)}`,
      dbVersion: info.version,
    });
  }

  /** Posts a grpchat as the dialog's user; returns the failure, if any. */
  private async post(message: GrpchatMessage): Promise<PchatError | undefined> {
    try {
      const session = this.requireSession();
      const text = message.text.replace(/\r\n?/g, '\n');
      await this.chat.post(session, this.roomId(message.room), { kind: 'regular', text });
      return undefined;
    } catch (e) {
      const err = asPchatError(e);
      if (err.code === 'INTERNAL') this.log.error('xccos post failed', { err: e });
      return err;
    }
  }

  // ---- outgoing ------------------------------------------------------------------------------------------

  private onEvent(e: ChatEvent): void {
    if (this.closed) return;
    if (e.type === 'ended') {
      // the chat service closes the session itself
      this.session = undefined;
      this.opts.onEnded?.(e.message);
      return;
    }
    let fragment: XmlFragment | undefined;
    try {
      fragment = this.encodeEvent(e);
    } catch (err) {
      this.log.warn('xccos event not encodable', { err, type: e.type });
    }
    if (!fragment) return;
    if (this.inFlight > 0) this.held.push(fragment);
    else this.opts.send(buildEnvelope(this.envids.next(), [fragment]));
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const fragment of held) {
      if (this.closed) return;
      this.opts.send(buildEnvelope(this.envids.next(), [fragment]));
    }
  }

  private encodeEvent(e: ChatEvent): XmlFragment | undefined {
    switch (e.type) {
      case 'message':
        return encodeGrpchat(this.line(e.message));
      case 'join':
        // The chat service sends joins only while the room is below ParticipantUpdateLimit.
        return encodeJoinNotice(e.user, { domain: this.domain, roomId: e.roomId });
      case 'part':
        return encodePartNotice(e.user, formatRoomUri(this.domain, e.roomId));
      case 'removed':
        // Removed by the server (membership revoked, room disabled): SIPE shows the user leaving the room.
        return encodePartNotice(this.user, formatRoomUri(this.domain, e.roomId));
      case 'message.removed':
      case 'message.replaced':
        // XCCOS has no way to take back a line a client shows: the server says so in the room, as itself.
        return encodeGrpchat({
          roomUri: formatRoomUri(this.domain, e.roomId),
          author: this.opts.chatServerUri,
          ts: new Date(),
          text: removalNotice(e.type === 'message.removed' ? 'removed' : 'replaced', e.ids.length),
        });
      default:
        // invitation, alert, room.updated, room.large: XCCOS clients have no notice for them (see
        // docs/legacy-clients.md).
        return undefined;
    }
  }

  private line(m: MessageView): ChatLine {
    return {
      roomUri: formatRoomUri(this.domain, m.roomId),
      author: m.author,
      ts: new Date(m.ts),
      text: toCrlf(renderText(m)),
    };
  }
}

/** The line a legacy client sees when messages it may be showing were removed or replaced. */
export function removalNotice(what: 'removed' | 'replaced', count: number): string {
  return `${count === 1 ? 'A message' : `${count} messages`} in this room ${count === 1 ? 'was' : 'were'} ${what} by the Persistent Chat administrator.`;
}

/** What a legacy client shows for a message: stories as title + body, files by name. */
export function renderText(m: MessageView): string {
  if (m.kind === 'story' && m.title) return `${m.title}\n\n${m.text}`;
  if (m.kind === 'file' && m.file)
    return `[file] ${m.file.name} (${m.file.size} bytes; open it in the pchat web client)`;
  return m.text;
}

/** SIPE joins and splits lines with CRLF; XML reading turns CRLF into LF, so write CRLF back. */
export function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

/** The SIP status for a failed grpchat: SIPE shows "not delivered" for any non-200; 401/407/481/487 mean other things to it. */
function sipStatusFor(code: ErrorCode): number {
  const sip: number = ERRORS[code].sip;
  return sip === 401 || sip === 407 || sip === 481 || sip === 487 ? 403 : sip;
}

function listing(
  r: {
    id: string;
    name: string;
    description: string;
    participants: number;
    privacy: string;
    fileUpload: boolean;
    invitations: boolean;
    chatHistory: boolean;
  },
  domain: string,
): RoomListing {
  return {
    uri: formatRoomUri(domain, r.id),
    name: r.name,
    description: r.description,
    userCount: r.participants,
    isPrivate: r.privacy !== 'open',
    filePost: r.fileUpload,
    invite: r.invitations,
    logged: r.chatHistory,
  };
}

/** A GUID-shaped id derived from a name, the same on every server. */
function stableGuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
