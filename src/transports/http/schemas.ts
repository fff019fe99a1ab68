// The wire shapes of the REST API as zod schemas: request parts (strict: an unknown field is refused) and
// responses (a field that is not in the schema is never sent). The OpenAPI document is generated from these.
import { z } from 'zod';
import { ERRORS, type ErrorCode } from '../../core/errors.js';
import { MESSAGE_KINDS, PRIVACY, ROOM_INVITATIONS, ROOM_TYPES } from '../../core/model.js';

// ---- query-string values (always strings on the wire) -----------------------------------------------------

/** A whole number in a query string, within the safe integer range. */
export const qInt = z
  .string()
  .regex(/^-?\d{1,16}$/, 'must be a whole number')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), 'must be a whole number in the safe range');

/** true/false (also 1/0, yes/no, on/off). */
export const qBool = z
  .string()
  .regex(/^(1|0|true|false|yes|no|on|off)$/i, 'must be true or false')
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()));

/** A time bound: milliseconds since the epoch, or an ISO date. */
export const qTime = z
  .string()
  .refine(
    (v) =>
      (/^\d{1,16}$/.test(v) && Number.isSafeInteger(Number(v))) || (!/^\d+$/.test(v) && !Number.isNaN(Date.parse(v))),
    'must be milliseconds or an ISO date',
  )
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)));

/** A non-empty string query value (an empty one counts as absent). */
export const qStr = z.string().max(4096);

export const Empty = z.strictObject({});

// ---- errors ---------------------------------------------------------------------------------------------------

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      field: z.string().optional(),
    }),
  })
  .meta({ id: 'Error' });

/** The error answers every route may give (documented in OpenAPI). */
export const errorResponses = { '4XX': ErrorBody, '5XX': ErrorBody } as const;

// ---- entities -------------------------------------------------------------------------------------------------

const principals = z.array(z.string());

export const UserSchema = z
  .object({
    uri: z.string(),
    displayName: z.string(),
    email: z.string().nullable(),
    ou: z.string().nullable(),
    site: z.string().nullable(),
    policy: z.string().nullable(),
    isAdmin: z.boolean(),
    disabled: z.boolean(),
    createdAt: z.number(),
  })
  .meta({ id: 'User' });

export const GroupSchema = z
  .object({ name: z.string(), description: z.string(), members: principals })
  .meta({ id: 'Group' });

export const CategorySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    invitations: z.boolean(),
    fileUpload: z.boolean(),
    chatHistory: z.boolean(),
    allowedMembers: principals,
    deniedMembers: principals,
    creators: principals,
  })
  .meta({ id: 'Category' });

export const RoomSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    categoryId: z.string(),
    privacy: z.enum(PRIVACY),
    type: z.enum(ROOM_TYPES),
    disabled: z.boolean(),
    addin: z.string().nullable(),
    invitations: z.enum(ROOM_INVITATIONS),
    members: principals,
    managers: principals,
    presenters: principals,
    createdAt: z.number(),
  })
  .meta({ id: 'Room' });

export const AddinSchema = z.object({ name: z.string(), url: z.string() }).meta({ id: 'Addin' });

export const PolicySchema = z
  .object({ identity: z.string(), enablePersistentChat: z.boolean(), description: z.string() })
  .meta({ id: 'Policy' });

export const ChatConfigSchema = z
  .object({
    defaultChatHistory: z.number(),
    maxFileSizeKB: z.number(),
    participantUpdateLimit: z.number(),
    roomManagementUrl: z.string().nullable(),
    messageSizeLimit: z.number(),
    storySizeLimit: z.number(),
    searchLimit: z.number(),
  })
  .meta({ id: 'ChatConfig' });

export const EndpointSchema = z
  .object({ sipAddress: z.string(), displayName: z.string(), pool: z.string() })
  .meta({ id: 'Endpoint' });

export const RoomViewSchema = z
  .object({
    id: z.string(),
    uri: z.string(),
    name: z.string(),
    description: z.string(),
    categoryId: z.string(),
    categoryName: z.string(),
    privacy: z.enum(PRIVACY),
    type: z.enum(ROOM_TYPES),
    disabled: z.boolean(),
    addin: z.object({ name: z.string(), url: z.string() }).nullable(),
    invitations: z.boolean(),
    fileUpload: z.boolean(),
    chatHistory: z.boolean(),
    participants: z.number(),
    member: z.boolean(),
    manager: z.boolean(),
    presenter: z.boolean(),
    canPost: z.boolean(),
  })
  .meta({ id: 'RoomView' });

export const LinkSchema = z.object({
  kind: z.enum(['url', 'room']),
  text: z.string(),
  href: z.string(),
  roomId: z.string().optional(),
});

export const MessageSchema = z
  .object({
    id: z.number(),
    roomId: z.string(),
    author: z.string(),
    authorName: z.string(),
    ts: z.number(),
    kind: z.enum(MESSAGE_KINDS),
    text: z.string(),
    title: z.string().nullable(),
    rich: z.string().nullable(),
    file: z
      .object({ id: z.string(), name: z.string(), size: z.number(), contentType: z.string(), url: z.string() })
      .nullable(),
    links: z.array(LinkSchema),
  })
  .meta({ id: 'Message' });

export const FeedSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    keywords: z.array(z.string()),
    authors: z.array(z.string()),
    roomIds: z.array(z.string()),
    alert: z.boolean(),
  })
  .meta({ id: 'Feed' });

export const InvitationSchema = z
  .object({
    id: z.number(),
    user: z.string(),
    roomId: z.string(),
    inviter: z.string(),
    ts: z.number(),
    roomName: z.string(),
  })
  .meta({ id: 'Invitation' });

export const FollowSchema = z
  .object({ room: RoomViewSchema, unread: z.number(), lastReadId: z.number() })
  .meta({ id: 'Follow' });
