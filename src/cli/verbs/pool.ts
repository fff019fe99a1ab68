// pchat pool status|active-servers|state — the pool's front-end servers and their state, on the pool's NATS
// (Lync: Get-CsPersistentChatState, Set-CsPersistentChatActiveServer, Set-CsPersistentChatState).
import { invalid, PchatError } from '../../core/errors.js';
import type { PoolRegistry } from '../../pool/registry.js';
import { type OptSpec, optFlag, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';

const BUS_OPTIONS: OptSpec[] = [
  { name: 'bus', kind: 'string', value: 'URL', description: "the pool's NATS, nats://host:4222 (env PCHAT_BUS)" },
  {
    name: 'pool',
    kind: 'string',
    value: 'FQDN',
    description: "the pool's name (default: the SIP domain; env PCHAT_POOL)",
  },
];

async function withRegistry<T>(ctx: Context, fn: (r: PoolRegistry) => Promise<T>): Promise<T> {
  const url = optString(ctx.opts, 'bus') ?? process.env.PCHAT_BUS;
  if (url === undefined || url.trim() === '')
    throw invalid('bus', "name the pool's NATS with --bus nats://… or PCHAT_BUS");
  if (!/^nats:\/\//.test(url)) throw invalid('bus', `"${url}" is not a nats:// URL`);
  const pool = optString(ctx.opts, 'pool') ?? process.env.PCHAT_POOL ?? process.env.PCHAT_DOMAIN ?? 'pchat.local';
  const [{ connect }, { PoolRegistry }] = await Promise.all([
    import('@nats-io/transport-node'),
    import('../../pool/registry.js'),
  ]);
  let nc: Awaited<ReturnType<typeof connect>>;
  try {
    nc = await connect({ servers: url, timeout: 5_000, maxReconnectAttempts: 0 });
  } catch (e) {
    throw new PchatError('BUS_UNAVAILABLE', `bus: cannot reach ${url}: ${(e as Error).message}`, { field: 'bus' });
  }
  try {
    return await fn(await PoolRegistry.open(nc, pool));
  } finally {
    await nc.close().catch(() => {});
  }
}

const words = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export const poolNoun: NounDef = {
  name: 'pool',
  summary: "the pool's front-end servers: status, active and standby servers, failover state",
  verbs: {
    status: {
      summary: 'each server of the pool: role, state, connections, last heartbeat',
      options: BUS_OPTIONS,
      noStore: true,
      replaces: 'Get-CsPersistentChatState / Get-CsPersistentChatActiveServer',
      example: 'pchat pool status --bus nats://10.0.0.5:4222 --pool chat.contoso.com',
      async run(ctx) {
        await withRegistry(ctx, async (r) => {
          const [servers, state, active] = await Promise.all([r.list(), r.state(), r.activeServers()]);
          if (ctx.json) {
            ctx.out.record({ pool: r.pool, state: state.state, activeServers: active ?? null, servers });
            return;
          }
          ctx.out.record({
            pool: r.pool,
            state: state.state,
            activeServers: active ?? '(not set: every server is active)',
          });
          ctx.out.table(
            servers.map((s) => ({ ...s, alive: s.alive ? 'up' : 'no heartbeat' })),
            [
              { key: 'id', label: 'server' },
              { key: 'role', label: 'role' },
              { key: 'alive', label: 'state' },
              { key: 'connections', label: 'connections' },
              { key: 'database', label: 'database' },
              { key: 'url', label: 'url' },
              { key: 'heartbeatAt', label: 'last heartbeat' },
            ],
            '(no server is running)',
          );
        });
      },
    },
    'active-servers': {
      summary: 'show or change which servers accept new connections (the others are standby)',
      options: [
        ...BUS_OPTIONS,
        { name: 'add', kind: 'string', value: 'S[,S…]', description: 'make these servers active' },
        { name: 'remove', kind: 'string', value: 'S[,S…]', description: 'make these servers standby' },
        { name: 'swap', kind: 'flag', description: 'standby servers become active and active ones standby' },
      ],
      noStore: true,
      replaces: 'Set-CsPersistentChatActiveServer',
      example: 'pchat pool active-servers --add fe3 --remove fe1 --bus nats://10.0.0.5:4222',
      async run(ctx) {
        const add = words(optString(ctx.opts, 'add'));
        const remove = words(optString(ctx.opts, 'remove'));
        const swap = optFlag(ctx.opts, 'swap');
        await withRegistry(ctx, async (r) => {
          const { editActiveList } = await import('../../pool/registry.js');
          let active = await r.activeServers();
          if (add.length > 0 || remove.length > 0 || swap) {
            const running = (await r.list()).map((s) => s.id);
            active = await r.setActiveServers(editActiveList(active, running, { add, remove, swap }));
          }
          ctx.out.record({ pool: r.pool, activeServers: active ?? '(not set: every server is active)' });
        });
      },
    },
    state: {
      summary: 'get or set the pool state: normal, or failed-over (every server uses the backup database)',
      args: 'get|set',
      maxPositionals: 1,
      options: [
        ...BUS_OPTIONS,
        { name: 'state', kind: 'string', value: 'normal|failed-over', description: 'with set' },
      ],
      noStore: true,
      replaces: 'Get-CsPersistentChatState / Set-CsPersistentChatState -PoolState',
      example: 'pchat pool state set --state failed-over --bus nats://10.0.0.5:4222',
      async run(ctx) {
        const action = ctx.positionals[0] ?? 'get';
        if (action !== 'get' && action !== 'set') throw new UsageError('say get or set', 'pchat pool state');
        const want = optString(ctx.opts, 'state');
        if (action === 'set' && want !== 'normal' && want !== 'failed-over')
          throw invalid('state', 'give --state normal or --state failed-over');
        await withRegistry(ctx, async (r) => {
          const rec = action === 'set' ? await r.setState(want as 'normal' | 'failed-over') : await r.state();
          ctx.out.record({ pool: r.pool, state: rec.state, changedAt: rec.changedAt || null });
        });
      },
    },
  },
};
