// The pchat archive, version 1 (revision 1.1: messages may carry their removal records): one JSON Lines file (gzip-compressed when its name ends in .gz), one record
// per line, in a fixed order so a reader can stream it (docs/migration.md). The schemas here are the format's
// definition: the importer validates every line with them, and docs/migration-archive.schema.json is
// generated from them (test/unit/migration-archive.test.ts keeps the two in step).
import { z } from 'zod';
import { MESSAGE_KINDS, PRIVACY, ROOM_INVITATIONS, ROOM_TYPES } from '../core/model.js';

export const ARCHIVE_FORMAT = 'pchat-archive';
export const ARCHIVE_VERSION = 1;
/** Raw bytes per blob line (64 KiB of base64 text). */
export const BLOB_CHUNK = 48 * 1024;

export const EXPORT_LEVELS = ['all', 'user', 'category', 'roomdirectory', 'content'] as const;
export type ExportLevel = (typeof EXPORT_LEVELS)[number];

const text = z.string();
const ms = z.number().int();
const refs = z.array(z.string());

const user = z.object({
  uri: text,
  displayName: text,
  email: text.nullable(),
  ou: text.nullable(),
  site: text.nullable(),
  policy: text.nullable(),
  isAdmin: z.boolean(),
  disabled: z.boolean(),
  createdAt: ms,
});
const group = z.object({ name: text, description: text, members: refs });
const category = z.object({
  id: text,
  name: text,
  description: text,
  invitations: z.boolean(),
  fileUpload: z.boolean(),
  chatHistory: z.boolean(),
  allowedMembers: refs,
  deniedMembers: refs,
  creators: refs,
});
const room = z.object({
  id: text.refine((s) => !s.includes('/'), 'a room id never contains "/"'),
  name: text,
  description: text,
  categoryId: text,
  privacy: z.enum(PRIVACY),
  type: z.enum(ROOM_TYPES),
  disabled: z.boolean(),
  addin: text.nullable(),
  invitations: z.enum(ROOM_INVITATIONS),
  members: refs,
  managers: refs,
  presenters: refs,
  createdAt: ms,
});
const fileRef = z.object({ id: text, name: text, size: z.number().int().nonnegative(), contentType: text });
const message = z.object({
  id: z.number().int().positive(),
  roomId: text,
  author: text,
  ts: ms,
  kind: z.enum(MESSAGE_KINDS),
  text,
  title: text.nullable(),
  rich: text.nullable(),
  file: fileRef.nullable(),
  logged: z.boolean(),
  /**
   * Optional (added in 1.1): the store's records of administrators removing (`replacement` null) or replacing
   * the message, oldest first. The message's own fields already show the outcome; absent when there are none.
   */
  removals: z
    .array(z.object({ ts: ms, by: text, replacement: text.nullable() }))
    .min(1)
    .optional(),
});
const storedFile = z.object({
  id: text,
  name: text,
  size: z.number().int().nonnegative(),
  contentType: text,
  roomId: text,
  uploader: text,
  ts: ms,
  /** Path inside the file store: segments of letters, digits, `.`, `_`, `-` joined by `/` (never `.` or `..`). */
  storageKey: text.refine(
    (k) => /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(k) && !k.split('/').some((seg) => seg === '.' || seg === '..'),
    'a relative path inside the file store',
  ),
});
const config = z.object({
  defaultChatHistory: z.number().int(),
  maxFileSizeKB: z.number().int(),
  participantUpdateLimit: z.number().int(),
  roomManagementUrl: text.nullable(),
  messageSizeLimit: z.number().int(),
  storySizeLimit: z.number().int(),
  searchLimit: z.number().int(),
});

export const RECORD = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('header'),
    format: z.literal(ARCHIVE_FORMAT),
    version: z.number().int(),
    level: z.enum(EXPORT_LEVELS),
    scope: z.array(text).nullable(),
    startDate: ms.nullable(),
    /** The highest message id in the source: an importer keeps new ids above it. */
    maxId: z.number().int().nonnegative(),
  }),
  z.object({ type: z.literal('config'), config }),
  z.object({
    type: z.literal('policy'),
    policy: z.object({ identity: text, enablePersistentChat: z.boolean(), description: text }),
  }),
  z.object({ type: z.literal('addin'), addin: z.object({ name: text, url: text }) }),
  z.object({ type: z.literal('endpoint'), endpoint: z.object({ sipAddress: text, displayName: text, pool: text }) }),
  z.object({ type: z.literal('user'), user, passwordHash: text.nullable() }),
  z.object({ type: z.literal('ou'), path: text }),
  z.object({ type: z.literal('group'), group }),
  z.object({ type: z.literal('category'), category }),
  z.object({ type: z.literal('room'), room }),
  z.object({ type: z.literal('file'), file: storedFile, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.object({ type: z.literal('blob'), id: text, data: z.base64() }),
  z.object({ type: z.literal('message'), message }),
  z.object({
    type: z.literal('room-end'),
    id: text,
    messages: z.number().int().nonnegative(),
    files: z.number().int().nonnegative(),
  }),
  z.object({
    type: z.literal('follow'),
    follow: z.object({ user: text, roomId: text, lastReadId: z.number().int().nonnegative() }),
  }),
  z.object({
    type: z.literal('feed'),
    feed: z.object({
      id: text,
      user: text,
      name: text,
      keywords: z.array(text),
      authors: z.array(text),
      roomIds: z.array(text),
      alert: z.boolean(),
    }),
  }),
  z.object({ type: z.literal('pref'), pref: z.object({ user: text, label: text, content: text }) }),
  z.object({ type: z.literal('end'), records: z.number().int().nonnegative() }),
]);

export type ArchiveRecord = z.infer<typeof RECORD>;
export type RecordOf<T extends ArchiveRecord['type']> = Extract<ArchiveRecord, { type: T }>;

/** The JSON Schema of one archive line (docs/migration-archive.schema.json). */
export function archiveJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://pchat.example/schemas/migration-archive-v1.json',
    title: `pchat archive v${ARCHIVE_VERSION}: one line`,
    ...(z.toJSONSchema(RECORD, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>),
  };
}
