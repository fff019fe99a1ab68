// What a driver error means to a client: the one mapping both adapters apply to everything they throw.
//
// - The engine is unreachable, restarting, out of disk or otherwise unable to serve (PostgreSQL connection
//   errors, SQLSTATE classes 08, 53, 57P, 58, serialization failures; SQLite FULL, IOERR, BUSY, READONLY, …):
//   STORE_UNAVAILABLE (503), with the driver error as its cause for the log. The request changed nothing.
// - A unique look-alike key already taken (a race between two creations of "Lobby" and "lobby"): NAME_TAKEN.
// - A value the engine refuses (PostgreSQL's data exceptions, class 22: a NUL in text, a number out of range):
//   INVALID_VALUE. The edge validates these first (core rules); this is the backstop, so no such value can
//   surface as 500 INTERNAL.
// Anything else is left as it is (a bug: the transports answer INTERNAL and log it).
import { PchatError } from '../core/errors.js';

const PG_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const PG_DOWN_MESSAGES = [
  'Connection terminated',
  'connection error',
  'timeout exceeded when trying to connect',
  'Client was closed',
  'Cannot use a pool after calling end',
  'not queryable',
];

const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|NOMEM|PROTOCOL|CORRUPT|NOTADB|PERM)/;

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Does this PostgreSQL driver error mean the connection (not the statement) is broken? */
export function isPgConnectionError(e: unknown): boolean {
  const code = codeOf(e);
  if (PG_NETWORK_CODES.has(code)) return true;
  if (/^(08|57P)/.test(code)) return true;
  if (code === '' && e instanceof Error) return PG_DOWN_MESSAGES.some((m) => e.message.includes(m));
  return false;
}

function unavailable(e: unknown): PchatError {
  return new PchatError('STORE_UNAVAILABLE', undefined, { cause: e });
}

const nameTaken = (e: unknown) =>
  new PchatError('NAME_TAKEN', 'name: that name is not available (compared ignoring case and look-alike letters)', {
    field: 'name',
    cause: e,
  });

export function mapPgError(e: unknown): unknown {
  if (e instanceof PchatError) return e;
  const code = codeOf(e);
  if (isPgConnectionError(e)) return unavailable(e);
  // 53: insufficient resources (disk full, out of memory, too many connections); 58: system/IO errors;
  // 40001/40P01: serialization failure/deadlock; 55P03: lock not available; 25006: read-only transaction
  // (a standby after failover).
  if (/^(53|58)/.test(code) || ['40001', '40P01', '55P03', '25006', '57014'].includes(code)) return unavailable(e);
  if (code === '23505') {
    const constraint = String((e as { constraint?: unknown }).constraint ?? '');
    if (/_lookalike$|^(rooms|categories)_name_key$/.test(constraint)) return nameTaken(e);
  }
  if (/^22/.test(code)) return new PchatError('INVALID_VALUE', 'A value cannot be stored.', { cause: e });
  return e;
}

export function mapSqliteError(e: unknown): unknown {
  if (e instanceof PchatError) return e;
  const code = codeOf(e);
  if (SQLITE_UNAVAILABLE.test(code)) return unavailable(e);
  if (code.startsWith('SQLITE_CONSTRAINT') && /\b(rooms|categories|addins)\.(name_key|name)\b/.test(messageOf(e)))
    return nameTaken(e);
  if (code === 'SQLITE_TOOBIG') return new PchatError('INVALID_VALUE', 'A value is too large to store.', { cause: e });
  return e;
}
