// The wire types of the JSON API, shared with the server (type-only imports: nothing of the server is
// bundled into a client).
export type {
  ChatEvent,
  FollowView,
  JoinedRoom,
  JoinOutcome,
  Link,
  MessageView,
  RoomView,
  SearchView,
  ServerInfo,
} from '../chat/types.js';
export type {
  Addin,
  Category,
  ChatConfig,
  Endpoint,
  Group,
  MessageKind,
  Policy,
  Privacy,
  Room,
  RoomType,
  User,
} from '../core/model.js';
export type { FeedFilter, FileRef, Invitation } from '../store/port.js';

import type { MessageKind } from '../core/model.js';
import type { Invitation } from '../store/port.js';

export interface SignInResult {
  token: string;
  user: string;
  expiresAt: number;
}

export interface Me {
  user: string;
  displayName: string;
  isAdmin: boolean;
}

export interface PostInput {
  kind?: Exclude<MessageKind, 'file'>;
  text: string;
  title?: string | null;
  rich?: string | null;
}

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit?: number;
}

export interface SearchInput {
  text?: string;
  room?: string;
  authors?: string[];
  /** ms since the epoch */
  since?: number;
  until?: number;
  exact?: boolean;
  case?: boolean;
  before?: number;
  limit?: number;
}

export interface FeedInput {
  name: string;
  keywords?: string[];
  authors?: string[];
  roomIds?: string[];
  alert?: boolean;
}

export type InvitationView = Invitation & { roomName: string };

/** A principal list edit in the admin API: a list replaces; {add, remove} edits. */
export type ListEditInput = string[] | { add?: string[]; remove?: string[] };
