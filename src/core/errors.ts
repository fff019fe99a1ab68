// The one error registry: every failure a client or admin can see has a stable code, an HTTP status,
// an XCCOS/SIP resp code and a sentence for people. Codes are never renamed or reused once shipped.
// docs/errors.md lists them all; test/unit/errors.test.ts checks that it does.

export const ERRORS = {
  // input
  BAD_REQUEST: { status: 400, sip: 400, text: 'The request is malformed.' },
  INVALID_VALUE: { status: 400, sip: 400, text: 'A field has an invalid value.' },
  NAME_TOO_LONG: { status: 400, sip: 400, text: 'The name is too long.' },
  UNKNOWN_TYPE: { status: 400, sip: 400, text: 'Unknown message or command type.' },
  FRAME_TOO_LARGE: { status: 413, sip: 413, text: 'The frame or body is larger than allowed.' },
  MESSAGE_TOO_LARGE: { status: 413, sip: 413, text: 'The message is longer than MessageSizeLimit.' },
  STORY_TOO_LARGE: { status: 413, sip: 413, text: 'The story is longer than StorySizeLimit.' },
  FILE_TOO_LARGE: { status: 413, sip: 413, text: 'The file is larger than MaxFileSizeKB.' },
  RATE_LIMITED: { status: 429, sip: 503, text: 'Too many requests; slow down.' },
  HEADERS_TOO_LARGE: { status: 431, sip: 400, text: 'The request headers are larger than allowed.' },
  // identity
  AUTH_REQUIRED: { status: 401, sip: 401, text: 'Sign in first.' },
  AUTH_FAILED: { status: 401, sip: 403, text: 'Wrong user name or password.' },
  TOKEN_INVALID: { status: 401, sip: 401, text: 'The session token is invalid or expired.' },
  POLICY_DISABLED: { status: 403, sip: 403, text: 'Persistent chat is not enabled for this user by policy.' },
  NOT_ADMIN: { status: 403, sip: 403, text: 'Only a persistent chat administrator may do this.' },
  // not found
  USER_NOT_FOUND: { status: 404, sip: 404, text: 'No such user.' },
  GROUP_NOT_FOUND: { status: 404, sip: 404, text: 'No such group.' },
  CATEGORY_NOT_FOUND: { status: 404, sip: 404, text: 'No such category.' },
  ROOM_NOT_FOUND: { status: 404, sip: 404, text: 'No such room.' },
  ADDIN_NOT_FOUND: { status: 404, sip: 404, text: 'No such add-in.' },
  POLICY_NOT_FOUND: { status: 404, sip: 404, text: 'No such policy.' },
  ENDPOINT_NOT_FOUND: { status: 404, sip: 404, text: 'No such endpoint.' },
  FILE_NOT_FOUND: { status: 404, sip: 404, text: 'No such file.' },
  FILTER_NOT_FOUND: { status: 404, sip: 404, text: 'No such feed filter.' },
  PRINCIPAL_NOT_FOUND: { status: 404, sip: 404, text: 'A named principal does not exist.' },
  COMPLIANCE_NOT_CONFIGURED: { status: 404, sip: 404, text: 'No compliance configuration exists.' },
  HOLD_NOT_FOUND: { status: 404, sip: 404, text: 'No such legal hold.' },
  // conflicts and model rules
  NAME_TAKEN: { status: 409, sip: 409, text: 'That name is already in use.' },
  COMPLIANCE_CONFIG_EXISTS: { status: 409, sip: 409, text: 'A compliance configuration already exists.' },
  HOLD_EXISTS: { status: 409, sip: 409, text: 'That room or user is already under legal hold.' },
  ENDPOINT_EXISTS: { status: 409, sip: 409, text: 'The pool already has a legacy endpoint.' },
  CATEGORY_NOT_EMPTY: { status: 409, sip: 409, text: 'A category can be deleted only when it holds no rooms.' },
  GROUP_CYCLE: { status: 409, sip: 409, text: 'A group cannot contain itself.' },
  CREATOR_NOT_ALLOWED: {
    status: 409,
    sip: 409,
    text: "Every creator must be in the category's allowed members and not in its denied members.",
  },
  PRESENTER_NOT_MEMBER: { status: 409, sip: 409, text: 'Presenters must be members of the room.' },
  PRESENTERS_IN_NORMAL_ROOM: { status: 409, sip: 409, text: 'A normal room has no presenters.' },
  INVITATIONS_DISABLED_BY_CATEGORY: {
    status: 409,
    sip: 409,
    text: "Room invitations cannot be on while the category's invitations are off.",
  },
  FILE_UPLOAD_DISABLED: { status: 403, sip: 403, text: "The room's category does not allow file uploads." },
  // access
  NOT_IN_CATEGORY_SCOPE: {
    status: 403,
    sip: 403,
    text: "You are not in the room category's allowed members, or you are denied.",
  },
  NOT_A_MEMBER: { status: 403, sip: 403, text: 'Only members of this room may do this.' },
  NOT_A_PRESENTER: { status: 403, sip: 403, text: 'Only presenters may post in an auditorium room.' },
  NOT_A_MANAGER: { status: 403, sip: 403, text: 'Only managers of this room may do this.' },
  NOT_A_CREATOR: { status: 403, sip: 403, text: 'Only creators of the category may create rooms in it.' },
  ROOM_DISABLED: { status: 403, sip: 403, text: 'The room is disabled.' },
  NOT_JOINED: { status: 409, sip: 409, text: 'Join the room first.' },
  // compliance
  COMPLIANCE_ADAPTER_FAILED: {
    status: 502,
    sip: 502,
    text: 'The compliance adapter failed; it is retried with backoff.',
  },
  TEST_FAILED: { status: 500, sip: 500, text: 'A step of the synthetic test failed.' },
  VERIFY_FAILED: { status: 409, sip: 409, text: 'The compliance outputs do not match their chained hashes.' },
  // migration (export, import, pchat migrate lync)
  ARCHIVE_INVALID: { status: 400, sip: 400, text: 'The archive is malformed or incomplete.' },
  ARCHIVE_VERSION_UNSUPPORTED: {
    status: 400,
    sip: 400,
    text: 'The archive was written in a format version this pchat does not read.',
  },
  IMPORT_REFUSED: { status: 409, sip: 409, text: 'The import cannot be applied to this store as it is.' },
  LEGACY_INPUT_INVALID: { status: 400, sip: 400, text: 'A legacy input file (CSV or compliance XML) is malformed.' },
  // server
  STORE_UNAVAILABLE: { status: 503, sip: 503, text: 'The store is unavailable.' },
  // pool
  BUS_UNAVAILABLE: { status: 503, sip: 503, text: "The pool's message bus is unavailable." },
  SERVER_STANDBY: {
    status: 503,
    sip: 480,
    text: 'This server is on standby; connect to an active server of the pool.',
  },
  STORAGE_FULL: { status: 507, sip: 503, text: 'The server is out of storage space; try again later.' },
  INTERNAL: { status: 500, sip: 500, text: 'Internal server error.' },
} as const satisfies Record<string, { status: number; sip: number; text: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class PchatError extends Error {
  readonly code: ErrorCode;
  /** The input field the error is about, when there is one (CLI and API name it). */
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    // `cause` (the driver error behind a STORE_UNAVAILABLE, say) is for logs; toJSON never sends it to clients.
    super(message ?? ERRORS[code].text, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'PchatError';
    this.code = code;
    this.field = opts.field;
    this.details = opts.details;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  toJSON(): { code: ErrorCode; message: string; field?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.field ? { field: this.field } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERRORS, s);
}

/** An invalid field value: one clear line naming the field. */
export function invalid(field: string, message: string): PchatError {
  return new PchatError('INVALID_VALUE', `${field}: ${message}`, { field });
}

/** Converts anything thrown into a PchatError without leaking internals; the thrown value is kept as its cause. */
export function asPchatError(e: unknown): PchatError {
  if (e instanceof PchatError) return e;
  return fromDriverError(e) ?? new PchatError('INTERNAL', undefined, { cause: e });
}

/** PostgreSQL SQLSTATEs of a server going away: admin/crash shutdown, cannot connect now, too many clients. */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '53100', '58030']);
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * The one place driver and file-system failures get their codes: a full disk is STORAGE_FULL (507), a store
 * that is down, restarting or unwritable is STORE_UNAVAILABLE (503). Anything else is undefined (a bug).
 * The error and its chain of causes are looked at (each once, so a cycle of causes ends); the thrown value is
 * kept as the result's cause, for logs.
 */
export function fromDriverError(e: unknown): PchatError | undefined {
  const seen = new Set<object>();
  for (
    let cur = e;
    typeof cur === 'object' && cur !== null && !seen.has(cur);
    cur = (cur as { cause?: unknown }).cause
  ) {
    seen.add(cur);
    const code = driverCode(cur);
    if (code) return new PchatError(code, undefined, { cause: e });
  }
  return undefined;
}

function driverCode(e: object): 'STORAGE_FULL' | 'STORE_UNAVAILABLE' | undefined {
  const code = String((e as { code?: unknown }).code ?? '');
  const message = String((e as { message?: unknown }).message ?? '');
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'STORAGE_FULL';
  if (
    PG_UNAVAILABLE.has(code) ||
    code.startsWith('08') ||
    NET_UNAVAILABLE.has(code) ||
    code === 'SQLITE_FULL' ||
    code === 'SQLITE_READONLY' ||
    code === 'SQLITE_BUSY' ||
    code.startsWith('SQLITE_IOERR') ||
    code === 'SQLITE_CANTOPEN' ||
    /Connection terminated|connection (?:is )?(?:closed|ended)|Client has encountered a connection error/i.test(message)
  )
    return 'STORE_UNAVAILABLE';
  return undefined;
}
