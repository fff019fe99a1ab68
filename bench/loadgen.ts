// A load-generator process, started by bench/run.ts with an IPC channel (child_process.fork), so the
// generator never shares the server's event loop. It opens client connections with the SDK (PchatClient:
// token sign-in over the WebSocket, then one bjoin of all the client's rooms), sends posts at fixed rates or
// at saturation (K posts unacknowledged), times every delivery per recipient, and reports histograms.
//
// The send time travels in the message text ("bench <monotonic µs> <seq>"); CLOCK_MONOTONIC is shared by
// every process on the machine, so delivery latency = receive time − send time, per recipient.

import type { PchatConnection } from '../src/client/index.js';
import { PchatClient } from '../src/client/index.js';
import { benchSocketClass, benchText, nowUs, type ParseMode, parseBenchText } from './lib/bench-socket.js';
import { Histogram } from './lib/histogram.js';
import type { ClientSpec, FromWorker, RunReport, SendPlan, Target, ToWorker } from './lib/ipc.js';

interface Client {
  spec: ClientSpec;
  conn: PchatConnection;
  rooms: string[];
}

/** Indexed like the spec list of the connect command (a failed connection leaves a hole). */
const clients: (Client | undefined)[] = [];
let closedSockets = 0;

// ---- measurement state ---------------------------------------------------------------------------------------
let measuring = false;
let windowStartUs = Number.POSITIVE_INFINITY;
let deliveries = 0;
let windowMessageDeliveries = 0;
let otherEvents = 0;
let latency = new Histogram();
let latencyByTag = new Map<number, Histogram>();

const sink = {
  delivery(sentUs: number, recvUs: number, tag: number): void {
    if (measuring) deliveries++;
    if (sentUs >= windowStartUs) {
      windowMessageDeliveries++;
      latency.record(recvUs - sentUs);
      let h = latencyByTag.get(tag);
      if (!h) {
        h = new Histogram();
        latencyByTag.set(tag, h);
      }
      h.record(recvUs - sentUs);
    }
  },
  otherEvent(): void {
    otherEvents++;
  },
};

function send(m: FromWorker): void {
  process.send?.(m);
}

async function connectAll(url: string, specs: ClientSpec[], concurrency: number, parse: ParseMode): Promise<void> {
  const Socket = benchSocketClass(sink, parse);
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  let joinFailures = 0;
  const errors: string[] = [];
  const base = clients.length;
  const one = async (spec: ClientSpec, index: number) => {
    const client = new PchatClient(url, { token: spec.token });
    const conn = await client.connect({ reconnect: false, WebSocket: Socket, requestTimeoutMs: 300_000 });
    conn.on('closed', () => closedSockets++);
    if (parse === 'sdk')
      conn.on('message', (m) => {
        const recv = nowUs();
        const s = parseBenchText(m.text);
        sink.delivery(s.sentUs, recv, s.tag);
      });
    const joined: string[] = [];
    for (let i = 0; i < spec.rooms.length; i += 1000) {
      for (const o of await conn.join(spec.rooms.slice(i, i + 1000))) {
        if (o.ok) joined.push(o.joined.room.id);
        else {
          joinFailures++;
          if (errors.length < 5) errors.push(`join ${o.roomId}: ${o.code}`);
        }
      }
    }
    clients[index] = { spec, conn, rooms: joined };
  };
  const lane = async () => {
    while (next < specs.length) {
      const index = next++;
      try {
        await one(specs[index] as ClientSpec, base + index);
        ok++;
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push(String((e as Error).message ?? e));
      }
      if ((ok + failed) % 1000 === 0) send({ type: 'progress', done: ok + failed });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, lane));
  send({
    type: 'connected',
    ok,
    failed,
    joinFailures,
    ms: performance.now() - t0,
    errors,
    rss: process.memoryUsage().rss,
  });
}

const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)] as T;

async function run(plan: SendPlan): Promise<void> {
  latency = new Histogram();
  latencyByTag = new Map();
  const ackLatency = new Histogram();
  const joinLatency = new Histogram();
  const ackedByRoom: Record<string, number> = {};
  const errorSamples: string[] = [];
  let postsSent = 0;
  let postErrors = 0;
  let joins = 0;
  let joinErrors = 0;
  let seq = 0;
  let sending = true;
  deliveries = 0;
  windowMessageDeliveries = 0;
  otherEvents = 0;
  windowStartUs = Number.POSITIVE_INFINITY;
  const closedAtStart = closedSockets;

  const post = async (target: Target, sender: number, tag = 'x'): Promise<void> => {
    const c = clients[sender];
    if (!c) return;
    const sentUs = nowUs();
    postsSent++;
    try {
      await c.conn.post(target.room, { text: benchText(sentUs, tag, ++seq) });
      if (sentUs >= windowStartUs) {
        ackLatency.record(nowUs() - sentUs);
        ackedByRoom[target.room] = (ackedByRoom[target.room] ?? 0) + 1;
      }
    } catch (e) {
      postErrors++;
      if (errorSamples.length < 5) errorSamples.push(String((e as Error).message ?? e));
    }
  };

  const timers: NodeJS.Timeout[] = [];
  const t0 = performance.now();
  // fixed-rate streams
  for (const s of plan.streams ?? []) {
    if (s.ratePerSec <= 0 || s.targets.length === 0) continue;
    let sent = 0;
    timers.push(
      setInterval(() => {
        const due = Math.floor(((performance.now() - t0) / 1000) * s.ratePerSec) - sent;
        for (let i = 0; i < due; i++) {
          sent++;
          const t = pick(s.targets);
          void post(t, pick(t.senders), s.tag);
        }
      }, 2),
    );
  }
  // saturation: K in flight
  const loops: Promise<void>[] = [];
  if (plan.saturation && plan.saturation.targets.length > 0) {
    const { inFlight, targets } = plan.saturation;
    const senders = targets.flatMap((t) => t.senders.map((s) => ({ t, s })));
    let rr = 0;
    for (let k = 0; k < inFlight; k++) {
      loops.push(
        (async () => {
          while (sending) {
            const x = senders[rr++ % senders.length];
            if (!x) return;
            await post(x.t, x.s);
          }
        })(),
      );
    }
  }
  // join churn
  if (plan.churnPerSec && plan.churnPerSec > 0) {
    const rate = plan.churnPerSec;
    let done = 0;
    const withRooms = clients.filter((c): c is Client => c !== undefined && c.rooms.length > 0);
    timers.push(
      setInterval(() => {
        const due = Math.floor(((performance.now() - t0) / 1000) * rate) - done;
        for (let i = 0; i < due && withRooms.length > 0; i++) {
          done++;
          const c = pick(withRooms);
          const room = pick(c.rooms);
          void (async () => {
            try {
              await c.conn.part(room);
              const j0 = nowUs();
              const [o] = await c.conn.join(room);
              if (!o?.ok) throw new Error(`join: ${o && !o.ok ? o.code : 'no answer'}`);
              joins++;
              if (measuring) joinLatency.record(nowUs() - j0);
            } catch (e) {
              joinErrors++;
              if (errorSamples.length < 5) errorSamples.push(String((e as Error).message ?? e));
            }
          })();
        }
      }, 5),
    );
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(plan.warmupMs);
  measuring = true;
  windowStartUs = nowUs();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(plan.durationMs);
  measuring = false;
  const windowSec = (performance.now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  sending = false;
  for (const t of timers) clearInterval(t);
  await sleep(plan.graceMs);
  await Promise.race([Promise.all(loops), sleep(5000)]);
  const report: RunReport = {
    type: 'report',
    windowSec,
    deliveries,
    windowMessageDeliveries,
    latency: latency.toJSON(),
    latencyByTag: Object.fromEntries([...latencyByTag].map(([k, h]) => [String.fromCharCode(k), h.toJSON()])),
    ackLatency: ackLatency.toJSON(),
    joinLatency: joinLatency.toJSON(),
    postsSent,
    ackedByRoom,
    postErrors,
    errorSamples,
    joins,
    joinErrors,
    otherEvents,
    closedSockets: closedSockets - closedAtStart,
    loadgenCpuUtil: (cpu.user + cpu.system) / 1e6 / windowSec,
  };
  windowStartUs = Number.POSITIVE_INFINITY;
  send(report);
}

async function closeAll(): Promise<void> {
  await Promise.race([
    Promise.all(clients.map((c) => c?.conn.close().catch(() => {}))),
    new Promise((r) => setTimeout(r, 5000)),
  ]);
  process.exit(0);
}

if (!process.send) {
  process.stderr.write('bench/loadgen.ts is started by bench/run.ts (it needs an IPC channel)\n');
  process.exit(2);
}
process.on('message', (m: ToWorker) => {
  const fail = (e: unknown) => send({ type: 'fatal', error: String((e as Error)?.stack ?? e) });
  if (m.type === 'connect') connectAll(m.url, m.clients, m.concurrency, m.parse).catch(fail);
  else if (m.type === 'run') run(m.plan).catch(fail);
  else if (m.type === 'close') void closeAll();
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
