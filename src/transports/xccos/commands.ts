// Typed XCCOS commands: decoders for what SIPE and Lync-era clients send, encoders for the replies and notices
// they understand (shapes from docs/reference xccos-sip.md §1.4/1.5), and ma-chan:// room URI helpers.
import { ERRORS, type PchatError } from '../../core/errors.js';
import { buildNotice, buildReply, type CommandRef, type Result, XccosError, type XccosItem } from './envelope.js';
import { child, childrenNamed, deepText, el, localName, type XmlElement, type XmlFragment } from './xml.js';

// ---------------------------------------------------------------------------------------------
// Room URIs

export interface RoomAddress {
  /** Lower-cased domain. */
  domain: string;
  /** Room id; never contains '/' (clients split the URI on it). */
  roomId: string;
}

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const ROOM_ID = /^[^/\s"<>&\\\u0000-\u001F]{1,128}$/;

/** True when `id` can be used as the last segment of a ma-chan:// URI. */
export function isValidRoomId(id: string): boolean {
  return ROOM_ID.test(id);
}

/** `ma-chan://<domain>/<roomId>`; throws on a domain or id that cannot be written (a programming error). */
export function formatRoomUri(domain: string, roomId: string): string {
  const d = domain.toLowerCase();
  if (!DOMAIN.test(d)) throw new Error(`invalid room domain: ${domain}`);
  if (!isValidRoomId(roomId)) throw new Error(`invalid room id: ${roomId}`);
  return `ma-chan://${d}/${roomId}`;
}

/** Parses `ma-chan://<domain>/<roomId>`; undefined when it is anything else. */
export function parseRoomUri(uri: string): RoomAddress | undefined {
  const m = /^ma-chan:\/\/([^/]+)\/([^/]+)$/i.exec(uri.trim());
  if (!m) return undefined;
  const domain = (m[1] as string).toLowerCase();
  const roomId = m[2] as string;
  if (!DOMAIN.test(domain) || !isValidRoomId(roomId)) return undefined;
  return { domain, roomId };
}

export interface RoomRef extends RoomAddress {
  /** Canonical `ma-chan://domain/id`. */
  uri: string;
}

// ---------------------------------------------------------------------------------------------
// Decoded commands

export interface Pref {
  label: string;
  seqid: string | undefined;
  createDefault: boolean;
  /** Decoded `content` (base64 on the wire); undefined when absent. */
  content: Buffer | undefined;
}

export interface GrpchatMessage {
  room: RoomRef;
  /** The `author` attribute as sent (the server must not trust it: the author is the dialog's user). */
  claimedAuthor: string | undefined;
  /** Parsed `ts`; undefined when absent or unreadable (use the server's time anyway). */
  ts: Date | undefined;
  /** Plain text; SIPE joins lines with CRLF, which XML reading turns into LF. */
  text: string;
}

export type XccosCommand =
  | { type: 'requri' }
  | { type: 'getserverinfo'; domain: string | undefined; infoType: string | undefined }
  /** Form not verified; the raw <data> is kept. */
  | { type: 'getassociations'; data: XmlElement | undefined }
  | { type: 'chansrch'; qtype: string; criteria: string; extended: boolean }
  | { type: 'join'; rooms: RoomRef[] }
  | { type: 'bjoin'; rooms: RoomRef[] }
  | { type: 'part'; room: RoomRef }
  /** `last`: how many recent messages (`<bcq><last cnt/></bcq>`); undefined when not given. */
  | { type: 'bccontext'; room: RoomRef; last: number | undefined }
  | { type: 'getinv'; invites: { inviteId: string; domain: string | undefined }[] }
  | { type: 'getpref'; prefs: Pref[] }
  | { type: 'setpref'; prefs: Pref[] }
  | { type: 'nodespermcreatechild' }
  | { type: 'grpchat'; message: GrpchatMessage };

export type XccosCommandType = XccosCommand['type'];

export interface DecodedCommand {
  /** Echo this in the reply (`buildReply` / the encoders below). For grpchat: id `grpchat`. */
  ref: CommandRef;
  command: XccosCommand;
}

/** Max `cnt` accepted in bccontext; the chat layer applies its own (smaller) history limits. */
export const MAX_BACKCHAT_COUNT = 10_000;

/**
 * Decodes one item of a client envelope. `envid` is the envelope's. Replies and notices from a client are
 * not commands and give `unknown-command`. Never throws.
 */
export function decodeCommand(item: XccosItem, envid: string): Result<DecodedCommand> {
  try {
    if (item.kind === 'grpchat') {
      const ref = { id: 'grpchat', seqid: item.seqid, envid };
      return ok(ref, { type: 'grpchat', message: decodeGrpchatElement(item.element) });
    }
    if (item.kind !== 'cmd') throw new XccosError('unknown-command', `a client may not send <${item.kind}>`);
    const ref = { id: item.id, seqid: item.seqid, envid };
    const data = item.data;
    switch (item.id) {
      case 'cmd:requri':
        return ok(ref, { type: 'requri' });
      case 'cmd:getserverinfo': {
        const sib = child(data, 'sib');
        return ok(ref, {
          type: 'getserverinfo',
          domain: sib?.attrs.get('domain'),
          infoType: sib?.attrs.get('infoType'),
        });
      }
      case 'cmd:getassociations':
        return ok(ref, { type: 'getassociations', data });
      case 'cmd:chansrch': {
        const qib = child(data, 'qib');
        if (!qib) throw badField('qib', 'chansrch needs <qib>');
        return ok(ref, {
          type: 'chansrch',
          qtype: (qib.attrs.get('qtype') ?? 'BYNAME').toUpperCase(),
          criteria: qib.attrs.get('criteria') ?? '',
          extended: qib.attrs.get('extended')?.toLowerCase() === 'true',
        });
      }
      case 'cmd:join': {
        const rooms = roomsOf(data);
        if (rooms.length === 0) throw badField('chanid', 'join names no room');
        return ok(ref, { type: 'join', rooms });
      }
      case 'cmd:bjoin':
        return ok(ref, { type: 'bjoin', rooms: roomsOf(data) });
      case 'cmd:part':
        return ok(ref, { type: 'part', room: chanibRoom(data) });
      case 'cmd:bccontext': {
        const room = chanibRoom(data);
        const cnt = child(child(data, 'bcq'), 'last')?.attrs.get('cnt');
        return ok(ref, { type: 'bccontext', room, last: cnt === undefined ? undefined : count(cnt) });
      }
      case 'cmd:getinv':
        return ok(ref, {
          type: 'getinv',
          invites: childrenNamed(data, 'inv').map((inv) => ({
            inviteId: inv.attrs.get('inviteId') ?? '',
            domain: inv.attrs.get('domain'),
          })),
        });
      case 'cmd:getpref':
        return ok(ref, { type: 'getpref', prefs: prefsOf(data) });
      case 'cmd:setpref':
        return ok(ref, { type: 'setpref', prefs: prefsOf(data) });
      case 'cmd:nodespermcreatechild':
        return ok(ref, { type: 'nodespermcreatechild' });
      default:
        throw new XccosError('unknown-command', `unknown command ${JSON.stringify(item.id.slice(0, 64))}`);
    }
  } catch (e) {
    if (e instanceof XccosError) return { ok: false, error: e };
    return { ok: false, error: new XccosError('bad-field', 'the command could not be read') };
  }
}

/** Decodes a `<grpchat>` or history `<msg id="grpchat">` element. Throws XccosError (use decodeCommand for a Result). */
function decodeGrpchatElement(element: XmlElement): GrpchatMessage {
  const chanUri = element.attrs.get('chanUri');
  if (chanUri === undefined) throw badField('chanUri', 'grpchat needs chanUri');
  const room = roomFromUri(chanUri, 'chanUri');
  const chat = child(element, 'chat');
  if (!chat) throw badField('chat', 'grpchat needs <chat>');
  return {
    room,
    claimedAuthor: element.attrs.get('author'),
    ts: parseTimestamp(element.attrs.get('ts')),
    text: deepText(chat),
  };
}

function ok(ref: CommandRef, command: XccosCommand): Result<DecodedCommand> {
  return { ok: true, value: { ref, command } };
}

function badField(field: string, message: string): XccosError {
  return new XccosError('bad-field', message, { field });
}

function roomFromUri(uri: string, field: string): RoomRef {
  const addr = parseRoomUri(uri);
  if (!addr) throw badField(field, `not a room URI (ma-chan://domain/id): ${JSON.stringify(uri.slice(0, 200))}`);
  return { ...addr, uri: formatRoomUri(addr.domain, addr.roomId) };
}

/** Rooms named by `<chanid domain value/>` (SIPE) or `<chanib uri/>` children of <data>, in order, without duplicates. */
function roomsOf(data: XmlElement | undefined): RoomRef[] {
  const rooms: RoomRef[] = [];
  for (const node of data?.children ?? []) {
    let room: RoomRef | undefined;
    if (localName(node.name) === 'chanid') {
      const domain = node.attrs.get('domain') ?? '';
      const value = node.attrs.get('value') ?? '';
      room = roomFromUri(`ma-chan://${domain}/${value}`, 'chanid');
    } else if (localName(node.name) === 'chanib') {
      room = roomFromUri(node.attrs.get('uri') ?? '', 'chanib');
    }
    if (room && !rooms.some((r) => r.uri === room.uri)) rooms.push(room);
  }
  return rooms;
}

function chanibRoom(data: XmlElement | undefined): RoomRef {
  const uri = child(data, 'chanib')?.attrs.get('uri');
  if (uri === undefined) throw badField('chanib', 'the command needs <chanib uri>');
  return roomFromUri(uri, 'chanib');
}

function count(raw: string): number {
  if (!/^\d{1,9}$/.test(raw.trim()))
    throw badField('cnt', `cnt must be a non-negative integer, got ${JSON.stringify(raw.slice(0, 20))}`);
  return Math.min(Number(raw.trim()), MAX_BACKCHAT_COUNT);
}

function prefsOf(data: XmlElement | undefined): Pref[] {
  return childrenNamed(data, 'pref').map((pref) => {
    const label = pref.attrs.get('label');
    if (!label) throw badField('label', 'pref needs a label');
    const content = pref.attrs.get('content');
    return {
      label,
      seqid: pref.attrs.get('seqid'),
      createDefault: pref.attrs.get('createdefault')?.toLowerCase() === 'true',
      content: content === undefined ? undefined : base64(content),
    };
  });
}

function base64(raw: string): Buffer {
  const s = raw.replace(/\s+/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw badField('content', 'content is not base64');
  return Buffer.from(s, 'base64');
}

/** ISO-8601; a time without a zone is UTC (as SIPE reads it). */
export function parseTimestamp(ts: string | undefined): Date | undefined {
  if (!ts) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/.exec(ts.trim());
  if (!m) return undefined;
  const zone = m[8] ?? 'Z';
  const frac = m[7] ? m[7].slice(0, 4) : '';
  const d = new Date(
    `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`,
  );
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `2026-01-01T10:00:00Z` (UTC, no fraction: the form SIPE itself writes). */
export function formatTimestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Replies and notices (each returns one <rpl>/<ntc>/<grpchat>; wrap with buildEnvelope)

/** Attribute key SIPE reads as the member list of a room, and (its guess) the chanop list. */
export const AIB_MEMBERS = '3984';
export const AIB_CHANOPS = '12276';

export const INFO_USER_COUNT = 'urn:parlano:ma:info:ucnt';
/** Spelled this way by the protocol (and SIPE). */
export const INFO_VISIBILITY = 'urn:parlano:ma:info:visibilty';
export const PROP_FILEPOST = 'urn:parlano:ma:prop:filepost';
export const PROP_INVITE = 'urn:parlano:ma:prop:invite';
export const PROP_LOGGED = 'urn:parlano:ma:prop:logged';

/** rpl:requri: `<uib uri="sip:chatserver@domain"/>`, the URI the client INVITEs next. */
export function encodeRequriReply(cmd: CommandRef, chatServerUri: string): XmlFragment {
  return buildReply(cmd, { data: [el('uib', { uri: chatServerUri })] });
}

export interface JoinedRoom {
  uri: string;
  name: string;
  description?: string;
  topic?: string;
  /** SIP URIs of the users to show in the room (usually those present). */
  members: readonly string[];
  /** SIP URIs shown as chanops (room managers); a subset of, or in addition to, members. */
  managers?: readonly string[];
}

/**
 * rpl:join / rpl:bjoin (id follows cmd.id): one `<uib id uri/>` per distinct user over all rooms, then per room
 * `<chanib name description uri topic><aib key="3984" value="0,1"/><aib key="12276" value="…"/></chanib>`.
 */
export function encodeJoinReply(cmd: CommandRef, rooms: readonly JoinedRoom[]): XmlFragment {
  const ids = new Map<string, number>();
  const idOf = (uri: string): number => {
    let id = ids.get(uri);
    if (id === undefined) {
      id = ids.size;
      ids.set(uri, id);
    }
    return id;
  };
  const chanibs = rooms.map((room) => {
    const members = room.members.map(idOf);
    const managers = (room.managers ?? []).map(idOf);
    return el(
      'chanib',
      { name: room.name, description: room.description ?? '', uri: room.uri, topic: room.topic },
      el('aib', { key: AIB_MEMBERS, value: members.join(',') }),
      managers.length > 0 && el('aib', { key: AIB_CHANOPS, value: managers.join(',') }),
    );
  });
  const uibs = [...ids].map(([uri, id]) => el('uib', { id, uri }));
  return buildReply(cmd, { data: [...uibs, ...chanibs] });
}

export interface RoomListing {
  uri: string;
  name: string;
  description: string;
  userCount: number;
  /** Shown as private (closed/secret) rooms. */
  isPrivate: boolean;
  filePost: boolean;
  invite: boolean;
  logged: boolean;
}

/** rpl:chansrch: `<chanib name description uri>` with ucnt/visibilty infos and filepost/invite/logged props. */
export function encodeChansrchReply(cmd: CommandRef, rooms: readonly RoomListing[]): XmlFragment {
  return buildReply(cmd, {
    data: rooms.map((r) =>
      el(
        'chanib',
        { name: r.name, description: r.description, uri: r.uri },
        el('info', { id: INFO_USER_COUNT }, String(r.userCount)),
        el('info', { id: INFO_VISIBILITY }, r.isPrivate ? 'private' : 'public'),
        el('prop', { id: PROP_FILEPOST }, String(r.filePost)),
        el('prop', { id: PROP_INVITE }, String(r.invite)),
        el('prop', { id: PROP_LOGGED }, String(r.logged)),
      ),
    ),
  });
}

export interface ChatLine {
  roomUri: string;
  /** SIP URI of the author. */
  author: string;
  ts: Date;
  text: string;
}

/** rpl:bccontext: `<chanib uri><msg id="grpchat" chanUri author ts><chat>…</chat></msg>…</chanib>`, oldest first. */
export function encodeBccontextReply(cmd: CommandRef, roomUri: string, messages: readonly ChatLine[]): XmlFragment {
  const msgs = messages.map((m) =>
    el(
      'msg',
      { id: 'grpchat', chanUri: m.roomUri, author: m.author, ts: formatTimestamp(m.ts) },
      el('chat', {}, m.text),
    ),
  );
  return buildReply(cmd, { data: [el('chanib', { uri: roomUri }, ...msgs)] });
}

/** rpl:part: `<chanib uri/>`. */
export function encodePartReply(cmd: CommandRef, roomUri: string): XmlFragment {
  return buildReply(cmd, { data: [el('chanib', { uri: roomUri })] });
}

/** rpl:getinv with no invitations (SIPE ignores its content). */
export function encodeGetinvReply(cmd: CommandRef): XmlFragment {
  return buildReply(cmd);
}

export interface ServerInfo {
  infoType?: string;
  serverTime: Date;
  searchLimit: number;
  messageSizeLimit: number;
  storySizeLimit: number;
  /** `ma-cat://<domain>/<guid>` of the root category. */
  rootUri: string;
  dbVersion: string;
}

/** rpl:getservinfo: `<sib infoType serverTime searchLimit messageSizeLimit storySizeLimit rootUri dbVersion/>`. */
export function encodeServerInfoReply(cmd: CommandRef, info: ServerInfo): XmlFragment {
  return buildReply(cmd, {
    data: [
      el('sib', {
        infoType: info.infoType,
        serverTime: info.serverTime.toISOString(),
        searchLimit: info.searchLimit,
        messageSizeLimit: info.messageSizeLimit,
        storySizeLimit: info.storySizeLimit,
        rootUri: info.rootUri,
        dbVersion: info.dbVersion,
      }),
    ],
  });
}

/** rpl:getpref: one `<pref label seqid content="base64"/>` per stored preference (shape not verified against a client). */
export function encodeGetprefReply(
  cmd: CommandRef,
  prefs: readonly { label: string; seqid?: string; content: Buffer }[],
): XmlFragment {
  return buildReply(cmd, {
    data: prefs.map((p) => el('pref', { label: p.label, seqid: p.seqid, content: p.content.toString('base64') })),
  });
}

/** 200 with empty data: setpref, nodespermcreatechild, getassociations. */
export function encodeEmptyReply(cmd: CommandRef): XmlFragment {
  return buildReply(cmd);
}

/** A failed command: `<resp code="…">text</resp>`. SIPE shows the text (e.g. "Error joining chat room: <text>"). */
export function encodeErrorReply(cmd: CommandRef, code: number, text: string): XmlFragment {
  return buildReply(cmd, { code, text });
}

/** A failed command from a PchatError: the registry's `sip` code and the error's sentence. */
export function encodePchatErrorReply(cmd: CommandRef, error: PchatError): XmlFragment {
  return encodeErrorReply(cmd, ERRORS[error.code].sip, error.message);
}

/** ntc:join: `<uib uri="sip:u@D"><aib key="3984" domain="D" value="ID"/></uib>` (SIPE rebuilds the room URI from it). */
export function encodeJoinNotice(userUri: string, room: RoomAddress, opts: { asManager?: boolean } = {}): XmlFragment {
  return buildNotice('ntc:join', [
    el(
      'uib',
      { uri: userUri },
      el('aib', { key: opts.asManager ? AIB_CHANOPS : AIB_MEMBERS, domain: room.domain, value: room.roomId }),
    ),
  ]);
}

/** ntc:part: `<chanib uri="ma-chan://…"><uib uri="sip:u@D"/></chanib>`. */
export function encodePartNotice(userUri: string, roomUri: string): XmlFragment {
  return buildNotice('ntc:part', [el('chanib', { uri: roomUri }, el('uib', { uri: userUri }))]);
}

/** A chat message to deliver: `<grpchat id="grpchat" seqid="1" chanUri author ts><chat>text</chat></grpchat>`. */
export function encodeGrpchat(line: ChatLine): XmlFragment {
  return el(
    'grpchat',
    { id: 'grpchat', seqid: '1', chanUri: line.roomUri, author: line.author, ts: formatTimestamp(line.ts) },
    el('chat', {}, line.text),
  );
}
