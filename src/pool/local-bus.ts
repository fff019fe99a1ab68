// The in-process bus: a single server publishes to itself. Delivery is synchronous, in publish order, so a
// committed message reaches local sessions in the same event-loop turn as its commit (no extra hop).
import type { Bus, BusEnvelope, BusHandler } from './bus.js';

export class LocalBus implements Bus {
  private readonly handlers: { prefix: string; handler: BusHandler }[] = [];

  constructor(readonly serverId = 'local') {}

  publish(envelope: BusEnvelope): void {
    for (const h of this.handlers) {
      if (envelope.subject.startsWith(h.prefix)) h.handler(envelope);
    }
  }

  subscribe(prefix: string, handler: BusHandler): () => void {
    const entry = { prefix, handler };
    this.handlers.push(entry);
    return () => {
      const i = this.handlers.indexOf(entry);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
  }
}
