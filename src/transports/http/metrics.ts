// Prometheus metrics in the text exposition format (version 0.0.4), written by hand: counters, gauges and
// histograms, plus the ChatObserver that feeds the chat service's timings into them.
import type { ChatObserver } from '../../chat/chat-service.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= (this.buckets[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        break;
      }
    }
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i] as number;
      lines.push(`${this.name}_bucket{le="${this.buckets[i]}"} ${cumulative}`);
    }
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${this.name}_sum ${num(this.sum)}`);
    lines.push(`${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

function num(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toFixed(9))) : '0';
}

function simple(name: string, type: 'counter' | 'gauge', help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${num(value)}`;
}

export interface GaugeSource {
  /** Open WebSocket connections. */
  connections(): number;
  /** Chat service statistics. */
  chat(): { sessions: number; users: number; activeRooms: number; joins: number };
}

export class Metrics {
  messagesPosted = 0;
  deliveries = 0;
  httpRequests = 0;
  wsRequests = 0;
  wsRateLimited = 0;
  wsClosedSlow = 0;
  readonly fanout = new Histogram('pchat_fanout_seconds', 'Time to hand one commit batch to every recipient.');
  readonly storeCommit = new Histogram('pchat_store_commit_seconds', 'Time to commit one batch of messages.');
  readonly started = Date.now();
  private rate = 0;
  private lastSample = { at: Date.now(), posted: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly source?: GaugeSource) {}

  /** Starts sampling the per-second message rate. */
  start(): void {
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const now = Date.now();
    const dt = (now - this.lastSample.at) / 1000;
    if (dt <= 0) return;
    this.rate = (this.messagesPosted - this.lastSample.posted) / dt;
    this.lastSample = { at: now, posted: this.messagesPosted };
  }

  observer(): ChatObserver {
    return {
      storeCommit: (ms) => this.storeCommit.observe(ms / 1000),
      fanout: (ms, deliveries) => {
        this.fanout.observe(ms / 1000);
        this.deliveries += deliveries;
      },
      posted: () => {
        this.messagesPosted++;
      },
    };
  }

  render(): string {
    const chat = this.source?.chat() ?? { sessions: 0, users: 0, activeRooms: 0, joins: 0 };
    const parts = [
      simple('pchat_connections', 'gauge', 'Open WebSocket connections.', this.source?.connections() ?? 0),
      simple('pchat_sessions', 'gauge', 'Open chat sessions (all transports).', chat.sessions),
      simple('pchat_users_online', 'gauge', 'Users with at least one session.', chat.users),
      simple('pchat_rooms_active', 'gauge', 'Rooms with at least one participant.', chat.activeRooms),
      simple('pchat_rooms_joined', 'gauge', 'Room joins held by open sessions.', chat.joins),
      simple('pchat_messages_posted_total', 'counter', 'Messages committed and delivered.', this.messagesPosted),
      simple('pchat_messages_per_second', 'gauge', 'Messages posted per second (1 s sample).', this.rate),
      simple('pchat_deliveries_total', 'counter', 'Events handed to sessions by message fan-out.', this.deliveries),
      simple('pchat_http_requests_total', 'counter', 'HTTP requests served.', this.httpRequests),
      simple('pchat_ws_requests_total', 'counter', 'WebSocket requests handled.', this.wsRequests),
      simple(
        'pchat_ws_rate_limited_total',
        'counter',
        'WebSocket requests refused by the rate limit.',
        this.wsRateLimited,
      ),
      simple(
        'pchat_ws_closed_slow_total',
        'counter',
        'WebSockets closed for too much buffered data.',
        this.wsClosedSlow,
      ),
      simple('pchat_uptime_seconds', 'gauge', 'Seconds since the server started.', (Date.now() - this.started) / 1000),
      this.fanout.render(),
      this.storeCommit.render(),
    ];
    return `${parts.join('\n')}\n`;
  }
}
