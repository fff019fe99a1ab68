// The pool's control plane on NATS JetStream key-value buckets, so it lives apart from the database (a pool that
// fails over to its backup database still knows its state):
//   pchat_<pool>_servers  one key per front-end server, rewritten every heartbeat; the bucket's TTL drops the key
//                         of a server that stopped beating (it died);
//   pchat_<pool>_control  `active-servers` (the list that may accept new connections; absent = every server) and
//                         `pool-state` (normal | failed-over), which every server watches.
// Lync's Set-CsPersistentChatActiveServer and Set-CsPersistentChatState become `pchat pool active-servers` and
// `pchat pool state set`, writing the same keys.
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { PchatError } from '../core/errors.js';
import { poolToken } from './nats-bus.js';

export type PoolState = 'normal' | 'failed-over';

export interface ServerBeat {
  id: string;
  /** The HTTP base URL clients use for this server. */
  url: string;
  /** SIP listen address (host:port), when the legacy endpoint runs here. */
  sip?: string;
  connections: number;
  startedAt: number;
  heartbeatAt: number;
  /** The database this server currently uses: primary, or backup after a failover. */
  database: 'primary' | 'backup';
}

export interface ServerStatus extends ServerBeat {
  /** active: in the active list (or no list is set); standby: running, but not accepting new connections. */
  role: 'active' | 'standby';
  /** false when the last heartbeat is older than three intervals (the key has not yet expired). */
  alive: boolean;
}

export interface PoolStateRecord {
  state: PoolState;
  changedAt: number;
}

export const HEARTBEAT_MS = 2_000;
const SERVER_TTL_MS = 15_000;
const ACTIVE_KEY = 'active-servers';
const STATE_KEY = 'pool-state';

const decode = <T>(e: { string(): string } | null): T | undefined => {
  if (!e) return undefined;
  const s = e.string();
  if (s === '') return undefined;
  try {
    return JSON.parse(s) as T;
  } catch {
    return undefined;
  }
};

export class PoolRegistry {
  private constructor(
    readonly pool: string,
    private readonly servers: KV,
    private readonly control: KV,
  ) {}

  static async open(nc: NatsConnection, pool: string): Promise<PoolRegistry> {
    const kvm = new Kvm(nc);
    const t = poolToken(pool);
    try {
      const servers = await kvm.create(`pchat_${t}_servers`, { ttl: SERVER_TTL_MS, history: 1 });
      const control = await kvm.create(`pchat_${t}_control`, { history: 5 });
      return new PoolRegistry(pool, servers, control);
    } catch (e) {
      throw new PchatError('BUS_UNAVAILABLE', `bus: NATS JetStream is needed for a pool: ${(e as Error).message}`, {
        field: 'bus',
      });
    }
  }

  async beat(b: ServerBeat): Promise<void> {
    await this.servers.put(`server.${b.id}`, JSON.stringify(b));
  }

  async leave(id: string): Promise<void> {
    await this.servers.delete(`server.${id}`).catch(() => {});
  }

  async list(now = Date.now()): Promise<ServerStatus[]> {
    const active = await this.activeServers();
    const out: ServerStatus[] = [];
    const keys = await this.servers.keys('server.>');
    const names: string[] = [];
    for await (const k of keys) names.push(k);
    for (const k of names.sort()) {
      const b = decode<ServerBeat>(await this.servers.get(k));
      if (!b) continue;
      out.push({
        ...b,
        role: active === undefined || active.includes(b.id) ? 'active' : 'standby',
        alive: now - b.heartbeatAt <= 3 * HEARTBEAT_MS + 1_000,
      });
    }
    return out;
  }

  /** The active list, or undefined when none was set (then every server is active). */
  async activeServers(): Promise<string[] | undefined> {
    return decode<string[]>(await this.control.get(ACTIVE_KEY));
  }

  async setActiveServers(ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids.map((s) => s.trim()).filter((s) => s !== ''))].sort();
    if (unique.length === 0) throw new PchatError('INVALID_VALUE', 'the pool needs at least one active server');
    await this.control.put(ACTIVE_KEY, JSON.stringify(unique));
    return unique;
  }

  async isActive(id: string): Promise<boolean> {
    const active = await this.activeServers();
    return active === undefined || active.includes(id);
  }

  async state(): Promise<PoolStateRecord> {
    return decode<PoolStateRecord>(await this.control.get(STATE_KEY)) ?? { state: 'normal', changedAt: 0 };
  }

  async setState(state: PoolState): Promise<PoolStateRecord> {
    const rec = { state, changedAt: Date.now() };
    await this.control.put(STATE_KEY, JSON.stringify(rec));
    return rec;
  }

  /** Calls `onChange` whenever the active list or the pool state changes (and once with the current values). */
  async watch(onChange: (c: { active: string[] | undefined; state: PoolStateRecord }) => void): Promise<() => void> {
    const w = await this.control.watch();
    let stopped = false;
    void (async () => {
      for await (const _e of w) {
        if (stopped) break;
        try {
          onChange({ active: await this.activeServers(), state: await this.state() });
        } catch {
          // the bus is away: the next change after it is back is seen again
        }
      }
    })().catch(() => {});
    return () => {
      stopped = true;
      w.stop();
    };
  }
}

/** `pool active-servers` edits: --add S, --remove S, --swap (standby ↔ active among the running servers). */
export function editActiveList(
  current: string[] | undefined,
  running: string[],
  edit: { add?: string[]; remove?: string[]; swap?: boolean },
): string[] {
  let list = current ?? running;
  if (edit.swap) list = running.filter((s) => !list.includes(s));
  for (const s of edit.add ?? []) if (!list.includes(s)) list = [...list, s];
  for (const s of edit.remove ?? []) list = list.filter((x) => x !== s);
  return list;
}
