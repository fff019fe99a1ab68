// The chat service's contract with every transport (WebSocket, REST, XCCOS). A transport decodes its wire
// format into these calls and encodes the results and events back; no rule lives in a transport.
import type { Readable } from 'node:stream';
import type { ErrorCode } from '../core/errors.js';
import type { ChatConfig, MessageKind, Privacy, RoomType } from '../core/model.js';
import type { FeedFilter, FileRef, Invitation } from '../store/port.js';

export interface Link {
  kind: 'url' | 'room';
  /** The text as it appears in the message. */
  text: string;
  /** For url links: the URL. For room links: the room URI (ma-chan://domain/id). */
  href: string;
  roomId?: string;
}

/** A message as every transport sees it. */
export interface MessageView {
  id: number;
  roomId: string;
  author: string;
  authorName: string;
  ts: number;
  kind: MessageKind;
  text: string;
  title: string | null;
  rich: string | null;
  file: (FileRef & { url: string }) | null;
  links: Link[];
}

export interface RoomView {
  id: string;
  /** ma-chan://<domain>/<id> */
  uri: string;
  name: string;
  description: string;
  categoryId: string;
  categoryName: string;
  privacy: Privacy;
  type: RoomType;
  disabled: boolean;
  addin: { name: string; url: string } | null;
  /** Are invitations in effect (room inherit and category on)? */
  invitations: boolean;
  fileUpload: boolean;
  chatHistory: boolean;
  participants: number;
  /** The caller's relation to the room. */
  member: boolean;
  manager: boolean;
  presenter: boolean;
  canPost: boolean;
}

export interface JoinedRoom {
  room: RoomView;
  /** The last DefaultChatHistory messages, oldest first. */
  history: MessageView[];
  /** Participants' URIs; null in a large room (above ParticipantUpdateLimit), where no roster is sent. */
  roster: { uri: string; displayName: string }[] | null;
  large: boolean;
}

export type JoinOutcome =
  | { ok: true; joined: JoinedRoom }
  | { ok: false; roomId: string; code: ErrorCode; message: string };

export type ChatEvent =
  | { type: 'message'; message: MessageView }
  | { type: 'join'; roomId: string; user: string; displayName: string }
  | { type: 'part'; roomId: string; user: string }
  /** The server removed the session from a room (room disabled, membership revoked, category denied…). */
  | { type: 'removed'; roomId: string; code: ErrorCode; message: string }
  | { type: 'invitation'; invitation: Invitation & { roomName: string } }
  | { type: 'alert'; filterId: string; filterName: string; message: MessageView }
  | { type: 'room.updated'; room: RoomView }
  /**
   * A join took the room past ParticipantUpdateLimit: it is large now. Drop its participant list; no join or part
   * events follow while it stays large. Sent to the sessions already in the room (a joiner reads `large` in its
   * join answer).
   */
  | { type: 'room.large'; roomId: string; participants: number }
  /** An administrator removed these messages (or retention purged them): drop them from the view. */
  | { type: 'message.removed'; roomId: string; ids: number[] }
  /** An administrator replaced the text of these messages. */
  | { type: 'message.replaced'; roomId: string; ids: number[]; text: string }
  /**
   * The server ended the session (its token was revoked, the user's password changed): the door closes the
   * connection (WebSocket close 4001, SIP BYE). Always the last event of a session.
   */
  | { type: 'ended'; code: ErrorCode; message: string };

/** Where a session's events go. Called synchronously; the transport queues/serializes as it likes. */
export type EventSink = (event: ChatEvent) => void;

export interface Session {
  readonly id: string;
  readonly user: string;
  readonly displayName: string;
  readonly transport: string;
  /** Rooms this session is in. */
  readonly rooms: ReadonlySet<string>;
}

export interface PostInput {
  kind?: MessageKind; // default regular; 'file' is only made by uploads
  text: string;
  title?: string | null; // stories
  rich?: string | null;
}

export interface HistoryQuery {
  beforeId?: number;
  afterId?: number;
  limit?: number;
}

export interface SearchQuery {
  /** One room, or omitted: every room the caller may read. */
  roomId?: string;
  text?: string;
  exactPhrase?: boolean;
  caseSensitive?: boolean;
  authors?: string[];
  since?: number;
  until?: number;
  beforeId?: number;
  limit?: number;
}

export interface SearchView {
  messages: MessageView[];
  count: number;
  exceededLimit: boolean;
}

export interface FollowView {
  room: RoomView;
  unread: number;
  lastReadId: number;
}

/** A feed to keep: a name and at least one of keywords, authors, rooms; lists left out are empty, alert is on. */
export type FeedInput = Pick<FeedFilter, 'name'> &
  Partial<Pick<FeedFilter, 'keywords' | 'authors' | 'roomIds' | 'alert'>> & { id?: string };

export interface UploadInput {
  roomId: string;
  name: string;
  contentType: string;
  /** Declared size when known (Content-Length); the limit is enforced while streaming either way. */
  size?: number;
  body: Readable;
}

export interface ServerInfo {
  domain: string;
  config: ChatConfig;
  serverTime: number;
  version: string;
}
