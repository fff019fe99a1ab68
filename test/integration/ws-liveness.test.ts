// The SDK's liveness checks against a server that goes silent without a TCP reset, as one cut off from the
// network does: a real server process behind a TCP relay of the test's own that can stop forwarding (a
// "black hole": the sockets stay open, nothing gets through, nothing is reset). The connection notices through
// its idle ping, or through a request that times out, drops the socket and reconnects: to the pool's next
// server when it knows one, else to the same server once it answers again.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PchatApiError } from '../../src/client/errors.js';
import { PchatClient, type PchatConnection } from '../../src/client/index.js';
import {
  eventually,
  PASSWORD,
  type Seeded,
  type ServerProcess,
  seedStandard,
  startServer,
  tempDataDir,
  uri,
} from '../support/server.js';

/** A TCP relay to `port` that can be made to swallow everything (and to forward again). */
class BlackHoleRelay {
  private holed = false;
  /** Bytes forwarded from the clients to the server. */
  upBytes = 0;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly all = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async to(port: number): Promise<BlackHoleRelay> {
    const server = createServer();
    server.on('error', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const relay = new BlackHoleRelay(server, (server.address() as { port: number }).port);
    server.on('connection', (down) => relay.accept(down, port));
    return relay;
  }

  private accept(down: Socket, port: number): void {
    down.on('error', () => {});
    this.all.add(down);
    down.on('close', () => this.all.delete(down));
    if (this.holed) return; // accepted, never answered: a connection to a host that is cut off
    const up = tcpConnect(port, '127.0.0.1');
    up.on('error', () => down.destroy());
    const pair: [Socket, Socket] = [down, up];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (d: Buffer) => {
        if (this.holed) return;
        if (from === down) this.upBytes += d.length;
        to.write(d);
      });
    forward(down, up);
    forward(up, down);
    down.on('close', () => {
      up.destroy();
      this.pairs.delete(pair);
    });
    up.on('close', () => down.destroy());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** From now on nothing gets through, in either direction, and nothing is closed. */
  hole(): void {
    this.holed = true;
  }

  /** Forwards again: on the connections made from now on (the old ones lost what was swallowed). */
  mend(): void {
    this.holed = false;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    for (const s of this.all) s.destroy();
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    for (const s of this.all) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('liveness of an SDK connection to a server that goes silent', () => {
  const data = tempDataDir();
  let ids: Seeded;
  let server: ServerProcess;
  const relays: BlackHoleRelay[] = [];
  const conns: PchatConnection[] = [];

  before(async () => {
    ids = await seedStandard(data.dir);
    server = await startServer(data.dir);
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => {});
    for (const r of relays) await r.close();
    await server?.stop();
    data.remove();
  });

  async function joined(
    base: string,
    name: string,
    opts: Parameters<PchatClient['connect']>[0],
    servers: string[] = [],
  ): Promise<{ client: PchatClient; conn: PchatConnection; got: number[] }> {
    const client = new PchatClient(base, { servers });
    await client.signIn(uri(name), PASSWORD);
    const conn = await client.connect(opts);
    conns.push(conn);
    const got: number[] = [];
    conn.on('message', (m) => {
      if (m.roomId === ids.open) got.push(m.id);
    });
    const [j] = await conn.join(ids.open);
    assert.equal(j?.ok, true);
    return { client, conn, got };
  }

  test('an idle connection pings, drops the silent socket and moves to the next server, catching up', async () => {
    const relay = await BlackHoleRelay.to(server.port);
    relays.push(relay);
    const bob = await joined(
      relay.url,
      'bob',
      { minDelayMs: 50, maxDelayMs: 200, pingIntervalMs: 300, pingTimeoutMs: 400, connectTimeoutMs: 500 },
      [server.url],
    );
    const carol = await joined(server.url, 'carol', { reconnect: false });
    const before = await carol.conn.post(ids.open, { text: 'before the hole' });
    await eventually(() => bob.got.includes(before.id), 5000, 'bob has the first message');
    const disconnected = bob.conn.next('disconnected', () => true, 5000);
    const reconnected = bob.conn.next('reconnected', () => true, 10_000);
    relay.hole();
    const during = await carol.conn.post(ids.open, { text: 'while bob is cut off' });
    const d = await disconnected; // no frame arrives and no reset: only the unanswered ping can tell
    assert.equal(d.code, 4000);
    await reconnected;
    assert.equal(bob.client.baseUrl, server.url, 'bob moved to the server that answers');
    const afterMove = await carol.conn.post(ids.open, { text: 'after the move' });
    await eventually(() => bob.got.includes(afterMove.id), 5000, 'bob receives after the move');
    assert.deepEqual(bob.got, [before.id, during.id, afterMove.id], 'each once, in order, the gap caught up');
  });

  test('a request that times out drops the socket; the connection comes back when the server answers again', async () => {
    const relay = await BlackHoleRelay.to(server.port);
    relays.push(relay);
    const dave = await joined(relay.url, 'dave', {
      minDelayMs: 100,
      maxDelayMs: 300,
      pingIntervalMs: 0,
      requestTimeoutMs: 600,
      connectTimeoutMs: 400,
    });
    const disconnected = dave.conn.next('disconnected', () => true, 5000);
    relay.hole();
    const t0 = Date.now();
    await assert.rejects(dave.conn.post(ids.open, { text: 'into the void' }), (e: unknown) => {
      assert.ok(e instanceof PchatApiError);
      assert.equal(e.code, 'TIMEOUT');
      return true;
    });
    await disconnected;
    assert.ok(Date.now() - t0 < 3000, 'dropped right after the timeout');
    assert.equal(dave.conn.state, 'reconnecting');
    // reconnect attempts to the silent server give up after connectTimeoutMs and try again
    const failed = await dave.conn.next('error', () => true, 5000);
    assert.equal(failed.code, 'TIMEOUT');
    const reconnected = dave.conn.next('reconnected', () => true, 10_000);
    relay.mend();
    await reconnected;
    const m = await dave.conn.post(ids.open, { text: 'back' });
    await eventually(() => dave.got.includes(m.id), 5000, 'dave receives again');
  });

  test('a healthy idle connection pings and stays up', async () => {
    const relay = await BlackHoleRelay.to(server.port);
    relays.push(relay);
    const frank = await joined(relay.url, 'frank', { pingIntervalMs: 200, pingTimeoutMs: 1000 });
    let drops = 0;
    frank.conn.on('disconnected', () => drops++);
    const sent = relay.upBytes;
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(relay.upBytes > sent, 'pings went out while idle');
    assert.equal(drops, 0, 'answered pings keep the socket');
    assert.equal(frank.conn.state, 'open');
  });
});
