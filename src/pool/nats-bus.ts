// The NATS adapter of the bus port (bus.ts), for a pool of front-end servers. Each envelope is delivered to this
// server's own handlers at once (in publish order, with its in-process `local` object, as the in-process bus
// does) and sent to NATS for the other servers; `noEcho` keeps a server from receiving its own envelopes back.
//
// Subjects: `pchat.<pool>.<kind>.<token>`, where <kind> is the bus subject's first part (`room`, `user`) and
// <token> is the rest, hex-encoded so that ids and SIP URIs (dots, `*`, `>`) are always one NATS token. Core NATS
// keeps the order of one publisher's messages; the order between servers is restored by the room sequencer
// (room-sequencer.ts) from the store ids the envelopes carry. While NATS is unreachable the client buffers and
// reconnects by itself; `onResync` tells the chat core to catch up from the store once the link is back.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Bus, BusEnvelope, BusHandler } from './bus.js';

export interface NatsBusOptions {
  /** nats://host:port (a comma-separated list for a NATS cluster). */
  url: string;
  /** The pool's name: servers of one pool share subjects; several pools can share one NATS. */
  pool: string;
  serverId: string;
  /** Called after the connection to NATS came back (envelopes may have been missed meanwhile). */
  onResync?: () => void;
  onStatus?: (status: 'connected' | 'disconnected' | 'reconnecting') => void;
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex').toString('utf8');

/** A NATS-safe subject name part for a pool name: letters, digits, `-` and `_` only. */
export function poolToken(pool: string): string {
  return pool.replace(/[^A-Za-z0-9_-]/g, '_');
}

export class NatsBus implements Bus {
  private readonly handlers: { prefix: string; handler: BusHandler }[] = [];
  private readonly base: string;
  private closing = false;
  connected = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsBusOptions,
  ) {
    this.base = `pchat.${poolToken(opts.pool)}`;
    this.watchStatus();
  }

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({
      servers: opts.url.split(',').map((s) => s.trim()),
      name: `pchat ${opts.pool}/${opts.serverId}`,
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      maxPingOut: 2,
    });
    return new NatsBus(nc, opts);
  }

  get serverId(): string {
    return this.opts.serverId;
  }

  /** The underlying connection, for the server registry (registry.ts) to share. */
  get connection(): NatsConnection {
    return this.nc;
  }

  publish(envelope: BusEnvelope): void {
    for (const h of this.handlers) if (envelope.subject.startsWith(h.prefix)) h.handler(envelope);
    // while NATS is away nothing is queued here: the other servers read what they missed from the store when the
    // link is back (onResync), which also covers a server that dies with envelopes still in its buffer
    if (this.closing || !this.connected) return;
    const { local: _local, ...wire } = envelope;
    try {
      this.nc.publish(this.natsSubject(envelope.subject), JSON.stringify(wire));
    } catch {
      // closed or draining: the other servers catch up from the store (onResync) when the link is back
    }
  }

  subscribe(prefix: string, handler: BusHandler): () => void {
    const entry = { prefix, handler };
    this.handlers.push(entry);
    const kind = prefix.replace(/\.$/, '');
    const sub = this.nc.subscribe(`${this.base}.${kind}.>`, {
      callback: (err, msg) => {
        if (err) return;
        let env: BusEnvelope;
        try {
          env = JSON.parse(msg.string()) as BusEnvelope;
        } catch {
          return; // not ours
        }
        if (env.origin === this.opts.serverId) return;
        const rest = msg.subject.slice(this.base.length + 1 + kind.length + 1);
        const subject = `${kind}.${unhex(rest)}`;
        if (subject !== env.subject || !subject.startsWith(prefix)) return;
        handler(env);
      },
    });
    return () => {
      const i = this.handlers.indexOf(entry);
      if (i >= 0) this.handlers.splice(i, 1);
      sub.unsubscribe();
    };
  }

  /** Waits until everything published so far has reached the NATS server. */
  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.handlers.length = 0;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close().catch(() => {});
    }
  }

  private natsSubject(subject: string): string {
    const dot = subject.indexOf('.');
    const kind = dot < 0 ? subject : subject.slice(0, dot);
    const rest = dot < 0 ? '' : subject.slice(dot + 1);
    return `${this.base}.${kind}.${hex(rest) || '_'}`;
  }

  private watchStatus(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          this.opts.onStatus?.('disconnected');
        } else if (s.type === 'reconnecting') {
          this.opts.onStatus?.('reconnecting');
        } else if (s.type === 'reconnect') {
          this.connected = true;
          this.opts.onStatus?.('connected');
          this.opts.onResync?.();
        }
      }
    })().catch(() => {});
  }
}
