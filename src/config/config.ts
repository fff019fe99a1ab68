// Server configuration: defaults < config file (JSON) < environment (PCHAT_*) < command-line flags.
// Validated once at start; a bad value stops start-up with one line naming the setting.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { invalid } from '../core/errors.js';

const port = z.coerce.number().int().min(0).max(65535);
const flag = z.preprocess(
  (v) => (typeof v === 'string' ? !['false', '0', 'no', 'off'].includes(v.trim().toLowerCase()) : v),
  z.boolean(),
);

export const ConfigSchema = z.object({
  dataDir: z.string().min(1).default('./data'),
  /** postgres://… to use PostgreSQL instead of the SQLite file in dataDir. */
  db: z.string().optional(),
  /** Pool mode: the pool's NATS (nats://host:4222). Requires a PostgreSQL `db` shared by the pool's servers. */
  bus: z.string().optional(),
  /** Pool mode: this server's name in the pool (default: the host name and HTTP port). */
  serverId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -')
    .optional(),
  /** Pool mode: the pool's name, its FQDN (default: the SIP domain). */
  pool: z.string().min(1).optional(),
  /** Pool mode: postgres://… of the backup database that `pchat pool state set --state failed-over` switches to. */
  backupDb: z.string().optional(),
  /** The HTTP URL clients use for this server (default: the listen address); pool status and standby say it. */
  publicUrl: z.string().url().optional(),
  host: z.string().default('127.0.0.1'),
  port: port.default(8080),
  /** The SIP domain of the deployment: room URIs are ma-chan://<domain>/<id>. */
  domain: z.string().min(1).default('pchat.local'),
  /** Directory of uploaded files; default <dataDir>/files. */
  filesDir: z.string().optional(),
  sip: z
    .object({
      enabled: flag.default(true),
      host: z.string().default('127.0.0.1'),
      port: port.default(5060),
      tlsPort: port.default(5061),
      tlsCert: z.string().optional(),
      tlsKey: z.string().optional(),
      realm: z.string().default('pchat'),
      /** Sign-in schemes the SIP door offers: NTLM ([MS-SIPAE], signed messages), Digest, or both. */
      auth: z.enum(['ntlm', 'digest', 'both']).default('both'),
      /** The NTLM `targetname` (the pool's FQDN as clients know it); default: the domain. */
      targetName: z.string().optional(),
      /** Generate (once, into <dataDir>/tls) and use a self-signed certificate when no tlsCert/tlsKey is set. */
      selfSignedTls: flag.default(false),
      /** The pool's own SIP user (the provisioned DefaultPersistentChatPoolUri), e.g. sip:pchatpool@<domain>. */
      poolUser: z.string().default('pchatpool'),
    })
    .prefault({}),
  compliance: z
    .object({
      /** PostgreSQL schema of the compliance store (its own schema beside the chat store's). */
      pgSchema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/)
        .default('pchat_compliance'),
      /** How often the compliance worker checks whether a run is due (ms). */
      checkMs: z.coerce.number().int().min(100).default(5000),
      /** How often the retention job runs (ms); it does nothing until a retention period is set. */
      retentionEveryMs: z.coerce.number().int().min(100).default(60_000),
    })
    .prefault({}),
  /** One request budget per user, shared by REST, WebSocket and SIP: a token bucket of `burst`, refilled at `perSecond`. */
  rateLimit: z
    .object({
      perSecond: z.coerce.number().positive().max(1_000_000).default(50),
      burst: z.coerce.number().int().min(1).max(10_000_000).default(200),
    })
    .prefault({}),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /**
   * Where the embedded store's commit waits for the disk: 'inline' (SQLite's synchronous=FULL, on the event loop)
   * or 'thread-pool' (the WAL fdatasync on libuv's thread pool, store/sqlite.ts). Both are durable before the
   * answer; 'inline' measured faster on a disk whose fdatasync takes a fraction of a millisecond
   * (docs/performance.md), 'thread-pool' is for disks whose syncs take milliseconds.
   */
  sqliteSync: z.enum(['inline', 'thread-pool']).default('inline'),
  /** Sign-in token lifetime in seconds. */
  tokenTtlSeconds: z.coerce
    .number()
    .int()
    .min(60)
    .default(7 * 24 * 3600),
});

export type Config = z.infer<typeof ConfigSchema>;

const ENV: Record<string, string[]> = {
  PCHAT_DATA_DIR: ['dataDir'],
  PCHAT_DB: ['db'],
  PCHAT_BUS: ['bus'],
  PCHAT_SERVER_ID: ['serverId'],
  PCHAT_POOL: ['pool'],
  PCHAT_BACKUP_DB: ['backupDb'],
  PCHAT_PUBLIC_URL: ['publicUrl'],
  PCHAT_HOST: ['host'],
  PCHAT_PORT: ['port'],
  PCHAT_DOMAIN: ['domain'],
  PCHAT_FILES_DIR: ['filesDir'],
  PCHAT_SIP_ENABLED: ['sip', 'enabled'],
  PCHAT_SIP_HOST: ['sip', 'host'],
  PCHAT_SIP_PORT: ['sip', 'port'],
  PCHAT_SIP_TLS_PORT: ['sip', 'tlsPort'],
  PCHAT_SIP_TLS_CERT: ['sip', 'tlsCert'],
  PCHAT_SIP_TLS_KEY: ['sip', 'tlsKey'],
  PCHAT_SIP_REALM: ['sip', 'realm'],
  PCHAT_SIP_AUTH: ['sip', 'auth'],
  PCHAT_SIP_TARGET_NAME: ['sip', 'targetName'],
  PCHAT_SIP_SELF_SIGNED_TLS: ['sip', 'selfSignedTls'],
  PCHAT_LOG_LEVEL: ['logLevel'],
  PCHAT_SQLITE_SYNC: ['sqliteSync'],
  PCHAT_COMPLIANCE_PG_SCHEMA: ['compliance', 'pgSchema'],
  PCHAT_COMPLIANCE_CHECK_MS: ['compliance', 'checkMs'],
  PCHAT_RETENTION_EVERY_MS: ['compliance', 'retentionEveryMs'],
  PCHAT_RATE_LIMIT_PER_SECOND: ['rateLimit', 'perSecond'],
  PCHAT_RATE_LIMIT_BURST: ['rateLimit', 'burst'],
};

type Json = Record<string, unknown>;

function setPath(obj: Json, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Json;
  }
  o[path[path.length - 1] as string] = value;
}

function merge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? merge((a[k] as Json) ?? {}, v as Json) : v;
  }
  return out;
}

/**
 * Builds the configuration. `flags` use the same (nested) keys as the file; the file is `configFile`, or
 * `<dataDir>/pchat.json` when it exists.
 */
export function loadConfig(flags: Json = {}, env: NodeJS.ProcessEnv = process.env, configFile?: string): Config {
  const fromEnv: Json = {};
  for (const [name, path] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(fromEnv, path, v);
  }
  const dataDir = String(flags.dataDir ?? fromEnv.dataDir ?? './data');
  const file = configFile ?? join(dataDir, 'pchat.json');
  let fromFile: Json = {};
  try {
    fromFile = JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (configFile || err.code !== 'ENOENT') throw invalid('config', `cannot read ${file}: ${err.message}`);
  }
  const parsed = ConfigSchema.safeParse(merge(merge(fromFile, fromEnv), flags));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? 'config';
    throw invalid(field, issue?.message ?? 'invalid');
  }
  const c = parsed.data;
  return { ...c, dataDir: resolve(c.dataDir), filesDir: resolve(c.filesDir ?? join(c.dataDir, 'files')) };
}
