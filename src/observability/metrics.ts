// Prometheus metrics through prom-client: the default process metrics (CPU, memory, heap, event-loop lag, GC,
// handles) and pchat's own (sessions by door, posts, deliveries, store commit and fan-out histograms, refused
// requests by error code, sign-in failures). Each server has its own registry, so several can run in one
// process (tests do). `observer()` feeds the chat service's timings in.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ChatObserver } from '../chat/chat-service.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface GaugeSource {
  /** Open WebSocket connections. */
  connections(): number;
  /** Chat service statistics. */
  chat(): { sessions: number; users: number; activeRooms: number; joins: number; byDoor?: Record<string, number> };
}

export class Metrics {
  readonly registry = new Registry();
  readonly messagesPosted: Counter;
  readonly deliveries: Counter;
  readonly httpRequests: Counter;
  readonly wsRequests: Counter;
  readonly wsRateLimited: Counter;
  readonly wsClosedSlow: Counter;
  /** Requests refused with an error code, by door and code. */
  readonly refused: Counter<'door' | 'code'>;
  readonly signInFailures: Counter<'door'>;
  readonly rateLimited: Counter<'door'>;
  readonly fanout: Histogram;
  readonly storeCommit: Histogram;
  readonly started = Date.now();
  private rate = 0;
  private posted = 0;
  private lastSample = { at: Date.now(), posted: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly source?: GaugeSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string = string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    const chat = () => this.source?.chat() ?? { sessions: 0, users: 0, activeRooms: 0, joins: 0 };

    this.messagesPosted = counter('pchat_messages_posted_total', 'Messages committed and delivered.');
    this.deliveries = counter('pchat_deliveries_total', 'Events handed to sessions by message fan-out.');
    this.httpRequests = counter('pchat_http_requests_total', 'HTTP requests served.');
    this.wsRequests = counter('pchat_ws_requests_total', 'WebSocket requests handled.');
    this.wsRateLimited = counter('pchat_ws_rate_limited_total', 'WebSocket requests refused by the rate limit.');
    this.wsClosedSlow = counter('pchat_ws_closed_slow_total', 'WebSockets closed for too much buffered data.');
    this.refused = counter('pchat_requests_refused_total', 'Requests refused with an error code.', ['door', 'code']);
    this.signInFailures = counter('pchat_signin_failures_total', 'Failed sign-ins (wrong user or password).', ['door']);
    this.rateLimited = counter('pchat_rate_limited_total', 'Requests refused by the per-user rate limit.', ['door']);
    this.fanout = new Histogram({
      name: 'pchat_fanout_seconds',
      help: 'Time to hand one commit batch to every recipient.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeCommit = new Histogram({
      name: 'pchat_store_commit_seconds',
      help: 'Time to commit one batch of messages.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    gauge('pchat_connections', 'Open WebSocket connections.', () => this.source?.connections() ?? 0);
    gauge('pchat_sessions', 'Open chat sessions (all doors).', () => chat().sessions);
    new Gauge({
      name: 'pchat_sessions_by_door',
      help: 'Open chat sessions by door (ws, rest, xccos).',
      labelNames: ['door'],
      registers,
      collect: () => {
        const g = this.registry.getSingleMetric('pchat_sessions_by_door') as Gauge<'door'>;
        g.reset();
        for (const [door, n] of Object.entries(chat().byDoor ?? {})) g.set({ door }, n);
      },
    });
    gauge('pchat_users_online', 'Users with at least one session.', () => chat().users);
    gauge('pchat_rooms_active', 'Rooms with at least one participant.', () => chat().activeRooms);
    gauge('pchat_rooms_joined', 'Room joins held by open sessions.', () => chat().joins);
    gauge('pchat_messages_per_second', 'Messages posted per second (1 s sample).', () => this.rate);
    gauge('pchat_uptime_seconds', 'Seconds since the server started.', () => (Date.now() - this.started) / 1000);
  }

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
    this.rate = (this.posted - this.lastSample.posted) / dt;
    this.lastSample = { at: now, posted: this.posted };
  }

  observer(): ChatObserver {
    return {
      storeCommit: (ms) => this.storeCommit.observe(ms / 1000),
      fanout: (ms, deliveries) => {
        this.fanout.observe(ms / 1000);
        this.deliveries.inc(deliveries);
      },
      posted: () => {
        this.posted++;
        this.messagesPosted.inc();
      },
    };
  }

  /** The text exposition format. */
  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
