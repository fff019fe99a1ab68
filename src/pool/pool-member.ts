// One front-end server's membership of a pool: the NATS bus its chat core publishes on, its heartbeat in the
// pool's registry, whether it may take new connections (the active list), and the pool state (normal, or
// failed-over to the backup database). server.ts builds one only when `bus` is configured; the embedded
// single server never loads this file.

import type { UserRateLimiter } from '../chat/user-rate-limiter.js';
import { PchatError } from '../core/errors.js';
import type { Store } from '../store/port.js';
import { NatsBus } from './nats-bus.js';
import { HEARTBEAT_MS, type PoolRegistry, type PoolState, PoolRegistry as Registry } from './registry.js';
import { type SharedLimits, shareLimits } from './shared-limits.js';
import type { SwitchableStore } from './switchable-store.js';

export interface PoolSettings {
  /** nats://… of the pool's NATS. */
  bus: string;
  /** This server's name in the pool (unique per pool). */
  serverId: string;
  /** The pool's name (its FQDN). */
  pool: string;
}

export interface PoolLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface MemberRuntime {
  /** The HTTP base URL clients use for this server. */
  url: string;
  sip?: string;
  connections(): number;
  /** Catch up after the bus was away or the database changed (the chat core's resync). */
  resync(): Promise<void>;
  /** Present when a backup database is configured: the store failover switches. */
  failover?: { switchable: SwitchableStore; openPrimary(): Promise<Store>; openBackup(): Promise<Store> };
}

export class PoolMember {
  private active = true;
  private activeUrls: string[] = [];
  private state: PoolState = 'normal';
  private runtime: MemberRuntime | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  private readonly startedAt = Date.now();
  private switching: Promise<void> = Promise.resolve();

  private constructor(
    readonly settings: PoolSettings,
    readonly bus: NatsBus,
    readonly registry: PoolRegistry,
    private readonly log: PoolLog,
  ) {}

  /** Connects to the pool's NATS and opens its registry (before the chat core is built: it needs the bus). */
  static async connect(settings: PoolSettings, log: PoolLog): Promise<PoolMember> {
    let member: PoolMember | undefined;
    let bus: NatsBus;
    try {
      bus = await NatsBus.connect({
        url: settings.bus,
        pool: settings.pool,
        serverId: settings.serverId,
        onResync: () => {
          log.info('bus link is back: catching up from the store');
          void member?.runtime?.resync();
        },
        onStatus: (s) => {
          if (s === 'disconnected') log.warn('lost the pool bus; chat between servers pauses until it is back');
        },
      });
    } catch (e) {
      throw new PchatError('BUS_UNAVAILABLE', `bus: cannot reach ${settings.bus}: ${(e as Error).message}`, {
        field: 'bus',
      });
    }
    try {
      const registry = await Registry.open(bus.connection, settings.pool);
      member = new PoolMember(settings, bus, registry, log);
      const [active, state] = await Promise.all([registry.activeServers(), registry.state()]);
      member.active = active === undefined || active.includes(settings.serverId);
      member.state = state.state;
      return member;
    } catch (e) {
      await bus.close();
      throw e;
    }
  }

  /** The pool state at start: a server that starts while the pool is failed over opens the backup first. */
  get poolState(): PoolState {
    return this.state;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** For the chat core: refuses new sessions and sign-ins while this server is on standby. */
  readonly admit = (): void => {
    if (this.active) return;
    const where = this.activeUrls.length > 0 ? `: ${this.activeUrls.join(', ')}` : '';
    throw new PchatError(
      'SERVER_STANDBY',
      `server ${this.settings.serverId} is on standby; connect to an active server of the pool${where}`,
      { details: { activeServers: this.activeUrls } },
    );
  };

  /** Starts the heartbeat and follows the active list and the pool state. */
  async start(runtime: MemberRuntime): Promise<void> {
    this.runtime = runtime;
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    this.stopWatch = await this.registry.watch(({ active, state }) => {
      const was = this.active;
      this.active = active === undefined || active.includes(this.settings.serverId);
      if (was !== this.active)
        this.log.info(this.active ? 'this server is active' : 'this server is now standby: new sign-ins refused');
      if (state.state !== this.state) {
        this.state = state.state;
        this.switching = this.switching.then(() => this.applyState(state.state));
      }
    });
    if (runtime.failover && this.state === 'failed-over') await this.applyState('failed-over');
  }

  private async applyState(state: PoolState): Promise<void> {
    const f = this.runtime?.failover;
    if (!f) {
      this.log.warn(`pool state is ${state}, but this server has no backup database configured (--backup-db)`);
      return;
    }
    const want = state === 'failed-over' ? 'backup' : 'primary';
    if (f.switchable.which === want) return;
    try {
      const next = want === 'backup' ? await f.openBackup() : await f.openPrimary();
      await f.switchable.switchTo(next, want);
      this.log.info(`pool state ${state}: now on the ${want} database`);
      await this.runtime?.resync();
      await this.beat();
    } catch (e) {
      this.log.error(`pool state ${state}: cannot open the ${want} database`, { err: e });
    }
  }

  private async beat(): Promise<void> {
    const r = this.runtime;
    if (!r) return;
    try {
      await this.registry.beat({
        id: this.settings.serverId,
        url: r.url,
        ...(r.sip !== undefined ? { sip: r.sip } : {}),
        connections: r.connections(),
        startedAt: this.startedAt,
        heartbeatAt: Date.now(),
        database: r.failover?.switchable.which ?? 'primary',
      });
      const servers = await this.registry.list();
      this.activeUrls = servers.filter((s) => s.role === 'active' && s.alive).map((s) => s.url);
    } catch {
      // the bus is away; the next beat tries again
    }
  }

  private limits: SharedLimits | undefined;

  /** Makes every user's request budget one budget across the pool (counts shared over the bus). */
  shareLimits(limiter: UserRateLimiter): void {
    this.limits?.stop();
    this.limits = shareLimits(this.bus, this.settings.pool, limiter);
  }

  /** Leaves the registry and closes the bus (after the chat core has stopped). */
  async close(): Promise<void> {
    this.limits?.stop();
    if (this.timer) clearInterval(this.timer);
    this.stopWatch?.();
    await this.registry.leave(this.settings.serverId);
    await this.bus.close();
  }
}
