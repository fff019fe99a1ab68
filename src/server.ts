// The composition root: opens the store, builds the chat and admin services and the file store, and starts
// the HTTP server (REST + WebSocket + health + metrics). `buildServer` is what tests and embedders call;
// `runServer` is `pchat serve`: it logs where it listens and shuts down cleanly on SIGINT/SIGTERM.
import type { AddressInfo } from 'node:net';
import { AdminService, adminOptionsFrom } from './admin/admin-service.js';
import { ComplianceAdmin } from './admin/compliance-admin.js';
import { ChatService } from './chat/chat-service.js';
import { type RateLimitOptions, UserRateLimiter } from './chat/user-rate-limiter.js';
import { type ComplianceRuntime, startCompliance } from './compliance/runtime.js';
import type { Config } from './config/config.js';
import { PchatError } from './core/errors.js';
import { FileStore } from './files/file-store.js';
import { createLogger, type Logger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import type { PoolMember } from './pool/pool-member.js';
import type { SwitchableStore } from './pool/switchable-store.js';
import { isPostgresUrl, openStore } from './store/open.js';
import type { Store } from './store/port.js';
import { createHttpApp, type RouteInfo } from './transports/http/app.js';
import type { WsOptions } from './transports/http/ws.js';
import { startSipServer } from './transports/sip/sip-server.js';

export interface BuildOptions {
  logger?: Logger;
  /** Where PCHAT_ADMIN_USER / PCHAT_ADMIN_PASSWORD are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  ws?: Partial<WsOptions>;
  /** How often the chat service reads the change stream (ms). */
  pollMs?: number;
  /** The per-user request budget shared by REST, WebSocket and SIP. */
  rateLimit?: Partial<RateLimitOptions>;
  /** The web client's files (default dist/web). */
  webDir?: string;
}

export interface PchatServer {
  url: string;
  port: number;
  chat: ChatService;
  admin: AdminService;
  store: Store;
  metrics: Metrics;
  /** Compliance recording, its worker and the retention job. */
  compliance: ComplianceRuntime;
  complianceAdmin: ComplianceAdmin;
  /** The OpenAPI document generated from the routes' schemas. */
  openapi(): unknown;
  /** The HTTP routes the server answers (method and pattern). */
  routes(): RouteInfo[];
  /** The SIP/XCCOS endpoint's ports, when it is enabled. */
  sip?: { port: number; tlsPort?: number; poolUri: string };
  close(): Promise<void>;
}

export async function buildServer(config: Config, opts: BuildOptions = {}): Promise<PchatServer> {
  const log = opts.logger ?? createLogger(config.logLevel);
  let store: Store;
  try {
    store = await openStore({ db: config.db, dataDir: config.dataDir, sqliteSync: config.sqliteSync });
  } catch (e) {
    if (e instanceof PchatError) throw e;
    throw new PchatError('STORE_UNAVAILABLE', `db: cannot open the store: ${(e as Error).message}`, { field: 'db' });
  }
  // Pool mode (--bus): the NATS bus and the pool registry; with --backup-db, a store failover can switch.
  let pool: PoolMember | undefined;
  let switchable: SwitchableStore | undefined;
  try {
    if (config.bus) {
      if (!isPostgresUrl(config.db))
        throw new PchatError('INVALID_VALUE', 'bus: a pool shares one PostgreSQL store: give --db postgres://…', {
          field: 'bus',
        });
      const { PoolMember } = await import('./pool/pool-member.js');
      pool = await PoolMember.connect(
        {
          bus: config.bus,
          serverId: config.serverId ?? `${(await import('node:os')).hostname()}-${config.port}`,
          pool: config.pool ?? config.domain,
        },
        log.child({ area: 'pool' }),
      );
      if (config.backupDb) {
        const { switchableStore } = await import('./pool/switchable-store.js');
        switchable = switchableStore(store);
        if (pool.poolState === 'failed-over') {
          await switchable.switchTo(await openStore({ db: config.backupDb, dataDir: config.dataDir }), 'backup');
        }
        store = switchable.store;
      }
    }
  } catch (e) {
    await pool?.close().catch(() => {});
    await store.close().catch(() => {});
    throw e;
  }
  let compliance: ComplianceRuntime | undefined;
  try {
    const admin = new AdminService(store, adminOptionsFrom(config));
    await admin.ensureDefaultEndpoint();
    await bootstrapAdmin(admin, opts.env ?? process.env, log);

    const files = new FileStore(config.filesDir ?? `${config.dataDir}/files`);
    const removeFile = (key: string) => files.remove(key);
    compliance = await startCompliance(store, {
      db: config.db,
      dataDir: config.dataDir,
      domain: config.domain,
      pgSchema: config.compliance.pgSchema,
      checkMs: config.compliance.checkMs,
      retentionEveryMs: config.compliance.retentionEveryMs,
      removeFile,
      onError: (what, e) => log.warn(`${what} failed`, { err: e }),
    });
    const complianceRuntime = compliance;
    if (compliance.reconciled.confirmed + compliance.reconciled.aborted > 0)
      log.info('compliance records reconciled at start', { ...compliance.reconciled });
    const complianceAdmin = new ComplianceAdmin(admin, {
      compliance: async () => complianceRuntime.store,
      removeFile,
      dataDir: config.dataDir,
      domain: config.domain,
      worker: () => complianceRuntime.worker,
    });
    await files.sweepTemp();
    let connections = () => 0;
    const metrics: Metrics = new Metrics({ connections: () => connections(), chat: () => chat.stats() });
    const chat: ChatService = new ChatService(store, files, {
      domain: config.domain,
      tokenTtlSeconds: config.tokenTtlSeconds,
      pollMs: opts.pollMs,
      observe: metrics.observer(),
      log: log.child({ area: 'chat' }),
      compliance: compliance.recorder,
      ...(pool ? { bus: pool.bus, poolOrder: {}, admit: pool.admit } : {}),
    });
    await chat.start();
    metrics.start();
    metrics.addCompliance(
      () => complianceRuntime.worker.counters,
      async () => (await complianceRuntime.store.counts()).unexported,
    );
    const limiter = new UserRateLimiter(
      opts.rateLimit ?? { ratePerSecond: config.rateLimit.perSecond, burst: config.rateLimit.burst },
    );
    pool?.shareLimits(limiter);

    const http = await createHttpApp({
      chat,
      admin,
      store,
      files,
      metrics,
      log,
      limiter,
      compliance: complianceAdmin,
      ws: opts.ws,
      ...(opts.webDir !== undefined ? { webDir: opts.webDir } : {}),
      ...(config.db === undefined || config.db.startsWith('sqlite') ? { dataDir: config.dataDir } : {}),
    });
    const app = { server: http.app.server, ws: http.ws };
    connections = () => app.ws.size;
    await new Promise<void>((resolve, reject) => {
      app.server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, config.host, config.port, 'http')));
      app.server.listen(config.port, config.host, () => {
        app.server.removeAllListeners('error');
        resolve();
      });
    });
    app.server.on('error', (e) => log.error('http server error', { err: e }));

    // The legacy endpoint: SIP (and SIP over TLS with a configured certificate) carrying XCCOS.
    const sip = config.sip.enabled
      ? await startSipServer({ config, chat, admin, limiter, log: log.child({ door: 'sip' }) }).catch((e) => {
          throw listenError(e, config.sip.host, config.sip.port, 'sip');
        })
      : undefined;

    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    if (pool) {
      const failoverDb = config.backupDb;
      await pool.start({
        url: config.publicUrl ?? `http://${host}:${address.port}`,
        ...(sip ? { sip: `${config.sip.host}:${sip.port}` } : {}),
        connections: () => chat.stats().sessions,
        resync: () => chat.core.resync(),
        ...(switchable && failoverDb
          ? {
              failover: {
                switchable,
                openPrimary: () => openStore({ db: config.db, dataDir: config.dataDir }),
                openBackup: () => openStore({ db: failoverDb, dataDir: config.dataDir }),
              },
            }
          : {}),
      });
    }
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${address.port}`,
      port: address.port,
      chat,
      admin,
      store,
      metrics,
      compliance,
      complianceAdmin,
      openapi: () => http.app.swagger(),
      routes: () => http.routes(),
      ...(sip
        ? {
            sip: {
              port: sip.port,
              ...(sip.tlsPort !== undefined ? { tlsPort: sip.tlsPort } : {}),
              poolUri: sip.poolUri,
            },
          }
        : {}),
      close: () => {
        closing ??= (async () => {
          await sip?.close();
          app.ws.close();
          const force = setTimeout(() => app.server.closeAllConnections(), 2000);
          force.unref();
          await new Promise<void>((resolve) => {
            app.server.close(() => resolve());
            app.server.closeIdleConnections();
          });
          clearTimeout(force);
          await http.app.close().catch(() => {});
          metrics.stop();
          await chat.stop();
          await complianceRuntime.close();
          await pool?.close().catch(() => {});
          await store.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await compliance?.close().catch(() => {});
    await pool?.close().catch(() => {});
    await store.close().catch(() => {});
    throw e;
  }
}

/** A listen failure a person can act on: which port, and which flag or variable changes it. */
function listenError(e: unknown, host: string, port: number, door: 'http' | 'sip'): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  const how =
    door === 'http'
      ? 'choose another with --port or PCHAT_PORT (0 picks a free one)'
      : 'choose another with --sip-port or PCHAT_SIP_PORT';
  if (code === 'EADDRINUSE')
    return new PchatError(
      'INVALID_VALUE',
      `${door === 'http' ? 'port' : 'sip.port'}: ${host}:${port} is already in use; ${how}`,
      {
        field: door === 'http' ? 'port' : 'sip.port',
      },
    );
  if (code === 'EACCES')
    return new PchatError(
      'INVALID_VALUE',
      `${door === 'http' ? 'port' : 'sip.port'}: not allowed to listen on ${host}:${port} (ports below 1024 need privileges); ${how}`,
      {
        field: door === 'http' ? 'port' : 'sip.port',
      },
    );
  if (code === 'EADDRNOTAVAIL')
    return new PchatError(
      'INVALID_VALUE',
      `host: ${host} is not an address of this machine; set --host or PCHAT_HOST`,
      {
        field: 'host',
      },
    );
  return e;
}

/**
 * A first start with an empty directory: PCHAT_ADMIN_USER + PCHAT_ADMIN_PASSWORD create an administrator
 * (and enable the global policy when it was never set); without them, say how to create one.
 */
async function bootstrapAdmin(admin: AdminService, env: NodeJS.ProcessEnv, log: Logger): Promise<void> {
  const users = await admin.listUsers();
  if (users.length > 0) return;
  const user = env.PCHAT_ADMIN_USER;
  const password = env.PCHAT_ADMIN_PASSWORD;
  if (user && password) {
    const u = await admin.addUser(user, { isAdmin: true, password });
    if (!(await admin.store.policies.get('global'))) await admin.setPolicy('global', { enablePersistentChat: true });
    log.info('created the first administrator from PCHAT_ADMIN_USER', { user: u.uri });
    return;
  }
  log.warn('the directory is empty: create the first administrator', {
    steps: [
      'pchat user add sip:admin@example.com --admin --password <password>',
      'pchat policy set global --enable-persistent-chat true',
    ],
    or: 'start with PCHAT_ADMIN_USER and PCHAT_ADMIN_PASSWORD set',
  });
  process.stderr.write(
    [
      '',
      'pchat: no users yet. Create the first administrator, then sign in:',
      '  pchat user add sip:admin@example.com --admin --password <password>',
      '  pchat policy set global --enable-persistent-chat true',
      'or start the server with PCHAT_ADMIN_USER=sip:admin@example.com PCHAT_ADMIN_PASSWORD=<password>.',
      '',
    ].join('\n'),
  );
}

export interface RunOptions extends BuildOptions {
  /** Says where the server listens in place of the "pchat listening <url>" lines (a `--workers` worker). */
  announce?: (server: PchatServer) => void;
}

/** `pchat serve`: runs until SIGINT or SIGTERM, then closes connections, flushes and closes the store. */
export async function runServer(config: Config, opts: RunOptions = {}): Promise<void> {
  const log = opts.logger ?? createLogger(config.logLevel);
  // Last line of defence: every handler catches its own errors; anything that still escapes is logged, and the
  // process keeps serving.
  const onRejection = (e: unknown) => log.error('unhandled rejection', { err: e });
  process.on('unhandledRejection', onRejection);
  const server = await buildServer(config, { ...opts, logger: log });
  log.info('pchat listening', { url: server.url, dataDir: config.dataDir, domain: config.domain });
  if (opts.announce) opts.announce(server);
  else {
    process.stdout.write(`pchat listening ${server.url}\n`);
    if (server.sip) {
      const tlsText = server.sip.tlsPort !== undefined ? `, tls ${server.sip.tlsPort}` : '';
      process.stdout.write(
        `pchat sip listening ${config.sip.host}:${server.sip.port}${tlsText} (pool ${server.sip.poolUri}, sign-in ${config.sip.auth})\n`,
      );
    }
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal });
      const force = setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, 10_000);
      force.unref();
      server
        .close()
        .catch((e) => log.error('shutdown failed', { err: e }))
        .finally(() => {
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          process.off('unhandledRejection', onRejection);
          resolve();
        });
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  log.info('pchat stopped');
}
