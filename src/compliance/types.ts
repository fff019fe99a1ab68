// The compliance record's shapes: one event per recorded action, in a store kept apart from the chat store.

/** What happened. The first seven are the original's events (plus searches); the rest record administration. */
export const COMPLIANCE_EVENT_TYPES = [
  'JOIN',
  'PART',
  'CHAT',
  'BACKCHAT',
  'SEARCH',
  'FILEUPLOAD',
  'FILEDOWNLOAD',
  'REMOVE',
  'REPLACE',
  'PURGE',
] as const;
export type ComplianceEventType = (typeof COMPLIANCE_EVENT_TYPES)[number];

/** The door the action came through; `admin` for the CLI and admin API, `system` for background jobs. */
export type Door = 'rest' | 'ws' | 'xccos' | 'admin' | 'system' | (string & {});

export interface NewComplianceEvent {
  door: Door;
  type: ComplianceEventType;
  /** The room id ('' for a search over every room, or a purge across rooms). */
  roomId: string;
  /** The acting user's SIP URI (`system` for background jobs). */
  sender: string;
  /** The message text, the search terms, the file name, or for REMOVE/REPLACE the original text. */
  content: string;
  /** The chat message id (CHAT, FILEUPLOAD, REMOVE, REPLACE), when there is one. */
  messageId: number | null;
  ts: number;
  /** Anything else worth keeping: message kind, story title, file id, the replacement text, the search filters. */
  data?: Record<string, unknown>;
}

export interface ComplianceEvent extends NewComplianceEvent {
  /** Strictly increasing within the compliance store. */
  id: number;
  data: Record<string, unknown>;
}

/** A recorded event joined with what the adapters may add (room and user details). */
export interface RoomDetails {
  id: string;
  name: string;
  uri: string;
  /** Is the room's chat history kept (its category's ChatHistory)? */
  logged: boolean;
  description?: string;
  category?: string;
}

export interface UserDetails {
  uri: string;
  displayName: string;
  email: string | null;
  /** false for users outside the deployment's domain (federated). */
  internal: boolean;
}
