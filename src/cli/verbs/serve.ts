// pchat serve — loads the configuration and runs the server (src/server.ts).
import { optString } from '../args.js';
import type { VerbDef } from '../command.js';

export const serveVerb: VerbDef = {
  summary: 'run the chat server',
  noStore: true,
  options: [
    { name: 'config', kind: 'string', value: 'FILE', description: 'JSON config file (default <data>/pchat.json)' },
    {
      name: 'host',
      kind: 'string',
      value: 'HOST',
      description: 'HTTP listen address (default 127.0.0.1, env PCHAT_HOST)',
    },
    { name: 'port', kind: 'string', value: 'PORT', description: 'HTTP port (default 8080, env PCHAT_PORT)' },
    { name: 'domain', kind: 'string', value: 'DOMAIN', description: 'SIP domain of the deployment (env PCHAT_DOMAIN)' },
    { name: 'sip-port', kind: 'string', value: 'PORT', description: 'SIP port (default 5060, env PCHAT_SIP_PORT)' },
    {
      name: 'bus',
      kind: 'string',
      value: 'URL',
      description: "pool mode: the pool's NATS, nats://host:4222 (env PCHAT_BUS; needs --db postgres://…)",
    },
    {
      name: 'server-id',
      kind: 'string',
      value: 'ID',
      description: "pool mode: this server's name (env PCHAT_SERVER_ID)",
    },
    { name: 'pool', kind: 'string', value: 'FQDN', description: "pool mode: the pool's name (env PCHAT_POOL)" },
    {
      name: 'backup-db',
      kind: 'string',
      value: 'URL',
      description: 'pool mode: the backup database for failover (env PCHAT_BACKUP_DB)',
    },
    {
      name: 'workers',
      kind: 'string',
      value: 'N',
      description:
        'server processes sharing the HTTP port (default 1, env PCHAT_WORKERS); N > 1 needs --db postgres://… and --bus',
    },
    {
      name: 'public-url',
      kind: 'string',
      value: 'URL',
      description: 'the URL clients use for this server (env PCHAT_PUBLIC_URL)',
    },
    {
      name: 'sip-tls-port',
      kind: 'string',
      value: 'PORT',
      description: 'SIP over TLS port (default 5061, env PCHAT_SIP_TLS_PORT); needs a certificate',
    },
    {
      name: 'sip-auth',
      kind: 'string',
      value: 'ntlm|digest|both',
      description: 'sign-in schemes of the SIP door (default both, env PCHAT_SIP_AUTH)',
    },
    {
      name: 'self-signed-tls',
      kind: 'flag',
      description:
        'make and use a self-signed certificate for SIP over TLS (first try only; see docs/legacy-clients.md)',
    },
  ],
  example:
    'pchat serve --data /var/lib/pchat --domain contoso.com --port 8080\n' +
    '  pchat serve --db postgres://pchat@db1/pchat --bus nats://nats1:4222 --server-id fe1 --pool chat.contoso.com\n' +
    '  pchat serve --db postgres://pchat@db1/pchat --bus nats://nats1:4222 --server-id fe1 --workers 2',
  async run(ctx) {
    const o = ctx.opts;
    const sip: Record<string, unknown> = {};
    const sipPort = optString(o, 'sip-port');
    const sipTlsPort = optString(o, 'sip-tls-port');
    const sipAuth = optString(o, 'sip-auth');
    if (sipPort !== undefined) sip.port = sipPort;
    if (sipTlsPort !== undefined) sip.tlsPort = sipTlsPort;
    if (sipAuth !== undefined) sip.auth = sipAuth;
    if (o['self-signed-tls'] === true) sip.selfSignedTls = true;
    const flags: Record<string, unknown> = {
      dataDir: optString(o, 'data'),
      db: optString(o, 'db'),
      host: optString(o, 'host'),
      port: optString(o, 'port'),
      domain: optString(o, 'domain'),
      bus: optString(o, 'bus'),
      serverId: optString(o, 'server-id'),
      pool: optString(o, 'pool'),
      backupDb: optString(o, 'backup-db'),
      publicUrl: optString(o, 'public-url'),
      ...(Object.keys(sip).length > 0 ? { sip } : {}),
    };
    // Loaded here, not at the top: help and the admin verbs need neither the config schema nor the server.
    const { loadConfig } = await import('../../config/config.js');
    const config = loadConfig(flags, process.env, optString(o, 'config'));
    const { runServer } = await import('../../server.js');
    const cl = await import('../../cluster.js');
    const index = cl.workerIndex();
    if (index !== undefined) {
      // a worker of `pchat serve --workers N` (the primary checked the configuration)
      const wc = cl.workerConfig(config, index, process.env[cl.WORKER_BASE_ID_ENV] ?? 'pchat');
      try {
        await runServer(wc, { announce: (server) => cl.announceWorker(index, wc.serverId as string, server) });
      } finally {
        // the IPC channel to the primary would keep a stopped (or failed) worker alive
        if (process.connected) process.disconnect();
      }
      return;
    }
    const workers = cl.parseWorkers(optString(o, 'workers') ?? process.env.PCHAT_WORKERS);
    cl.checkWorkers(config, workers);
    if (workers === 1) await runServer(config);
    else await cl.runPrimary(config, workers);
  },
};
