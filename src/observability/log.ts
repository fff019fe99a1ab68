// The one logger of every door and service: pino, JSON lines on stderr ({level, time, msg, ...fields}), with
// secrets redacted (Authorization headers, tokens, passwords, `?token=` in URLs). A child logger adds fields
// (door, user, request id) to every line. In development on a terminal the lines go through pino-pretty.
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every record. */
  child(fields: Record<string, unknown>): Logger;
  /** The pino logger underneath (Fastify logs through it). */
  readonly pino: PinoLogger;
}

export interface LoggerOptions {
  /** Where the JSON lines go (default stderr). */
  destination?: DestinationStream;
  /** Human-readable lines through pino-pretty (default: stderr is a terminal and NODE_ENV is not production). */
  pretty?: boolean;
}

const CENSOR = '[redacted]';

/** Paths pino blanks out wherever they appear in a record. */
export const REDACT_PATHS = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

/** `?token=…` (and `&token=…`) in a URL, replaced by the censor. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password)=)[^&#\s]*/gi, `$1${CENSOR}`);
}

const serializers = {
  err: pino.stdSerializers.err,
  url: (u: unknown) => (typeof u === 'string' ? redactUrl(u) : u),
  req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
    ...(req.id !== undefined ? { id: req.id } : {}),
  }),
};

function prettyStream(): DestinationStream | undefined {
  try {
    // pino-pretty is a development dependency: absent in production installs, where JSON lines are wanted anyway.
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
    return pretty({ destination: 2, colorize: true, sync: true });
  } catch {
    return undefined;
  }
}

export function createLogger(level: LogLevel = 'info', opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? (process.stderr.isTTY === true && process.env.NODE_ENV !== 'production');
  const destination =
    opts.destination ?? (pretty ? prettyStream() : undefined) ?? pino.destination({ dest: 2, sync: true });
  const p = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      serializers,
    },
    destination,
  );
  return wrap(p);
}

/** Our (msg, fields) call shape over a pino logger. */
export function wrap(p: PinoLogger): Logger {
  return {
    debug: (m, f) => (f ? p.debug(f, m) : p.debug(m)),
    info: (m, f) => (f ? p.info(f, m) : p.info(m)),
    warn: (m, f) => (f ? p.warn(f, m) : p.warn(m)),
    error: (m, f) => (f ? p.error(f, m) : p.error(m)),
    child: (fields) => wrap(p.child(fields)),
    pino: p,
  };
}

export const silentLogger: Logger = createLogger('silent', { pretty: false });
