// The model: the shapes every layer agrees on. Pure types and constants; no I/O.

/**
 * A reference to a principal in an access-control list:
 * - `sip:alice@contoso.com`  a user (the SIP URI is the user's identity)
 * - `group:engineering`      a group (groups nest; membership is expanded when a rule is checked)
 * - `ou:Contoso/Engineering` an organizational unit, a path of segments; it contains its sub-OUs
 * - `domain:contoso.com`     every user whose SIP URI is in that domain
 */
export type PrincipalRef = string;
export type PrincipalKind = 'user' | 'group' | 'ou' | 'domain';

export const PRIVACY = ['open', 'closed', 'secret'] as const;
export type Privacy = (typeof PRIVACY)[number];
export const ROOM_TYPES = ['normal', 'auditorium'] as const;
export type RoomType = (typeof ROOM_TYPES)[number];
export const ROOM_INVITATIONS = ['inherit', 'false'] as const;
export type RoomInvitations = (typeof ROOM_INVITATIONS)[number];
export const MESSAGE_KINDS = ['regular', 'alert', 'story', 'file'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export interface User {
  uri: string; // sip:alice@contoso.com, lower case
  displayName: string;
  email: string | null;
  ou: string | null; // "Contoso/Engineering"
  site: string | null;
  policy: string | null; // a tag policy granted to this user, or null
  isAdmin: boolean;
  disabled: boolean;
  createdAt: number;
}

export interface Group {
  name: string;
  description: string;
  members: PrincipalRef[]; // users and other groups
}

export interface Category {
  id: string;
  name: string;
  description: string;
  invitations: boolean;
  fileUpload: boolean;
  chatHistory: boolean;
  allowedMembers: PrincipalRef[];
  deniedMembers: PrincipalRef[];
  creators: PrincipalRef[];
}

export interface Room {
  id: string; // never contains '/': XCCOS clients split ma-chan://domain/id on it
  name: string;
  description: string;
  categoryId: string;
  privacy: Privacy;
  type: RoomType;
  disabled: boolean;
  addin: string | null; // add-in name
  invitations: RoomInvitations;
  members: PrincipalRef[];
  managers: PrincipalRef[];
  presenters: PrincipalRef[];
  createdAt: number;
}

export interface Addin {
  name: string;
  url: string;
}

/** Policy identity: `global`, `site:<name>` or `tag:<name>` (granted to users). */
export interface Policy {
  identity: string;
  enablePersistentChat: boolean;
  description: string;
}

export interface ChatConfig {
  defaultChatHistory: number; // 1..500, messages sent on join
  maxFileSizeKB: number;
  participantUpdateLimit: number;
  roomManagementUrl: string | null;
  messageSizeLimit: number; // characters of a regular or alert message
  storySizeLimit: number; // characters of a story body
  searchLimit: number; // most results a search returns
}

export const DEFAULT_CONFIG: ChatConfig = {
  defaultChatHistory: 30,
  maxFileSizeKB: 20000,
  participantUpdateLimit: 75,
  roomManagementUrl: null,
  messageSizeLimit: 8000,
  storySizeLimit: 64000,
  searchLimit: 999,
};

/** A legacy SIP address (such as sip:ocschat@contoso.com) that reaches a pool. */
export interface Endpoint {
  sipAddress: string;
  displayName: string;
  pool: string;
}

export const LIMITS = {
  nameLength: 256,
  descriptionLength: 4096,
  aclEntries: 10000,
} as const;

/**
 * What one user may keep (docs/protocol.md, "Limits"): topic feeds and preferences. Bounded so that no user can
 * make feed reads, per-post keyword matching or the store grow without end.
 */
export const USER_STORAGE_LIMITS = {
  feedsPerUser: 50,
  feedNameLength: 128,
  keywordsPerFeed: 20,
  keywordLength: 64,
  authorsPerFeed: 50,
  roomsPerFeed: 100,
  prefsPerUser: 100,
  prefChars: 64 * 1024,
  prefTotalChars: 1024 * 1024,
} as const;
