// The bench runner: each scenario against the bare baseline relay and against pchat in the same run, so
// every figure is also a ratio to this machine's limit measured minutes apart.
//
//   bench/run.sh [scenario ...] [--loadgens N] [--seconds S] [--in-flight K] [--users U] [--cpu-prof DIR] [--idle-seconds S]
//                [--targets pchat,pchat-pool-w1,pchat-pool-w2,baseline-grouped,…] [--out FILE.json] [--no-baseline]
//   scenarios: fanout-saturation fanout-latency fanout-500x10 model-20k history-1m (default: all, in that order)
//   targets: baseline-per-message, baseline-grouped (the bare relay), pchat (embedded SQLite), pchat-pool-w<N>
//   (`pchat serve --workers N` on PostgreSQL + NATS; PCHAT_BENCH_PG / PCHAT_BENCH_NATS, see bench/lib/pool-env.ts)
//
// Every result carries the load generators' own CPU beside the server's (all its processes) and says which side
// was the limit: a process of either side at ≥ 85 % of a core, or the machine's cores all busy.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { runHistory } from './history.js';
import { Histogram } from './lib/histogram.js';
import type { ClientSpec, RunReport, SendPlan, Target } from './lib/ipc.js';
import { poolEnv } from './lib/pool-env.js';
import { hwmBytes, machineBusySeconds, ProcSampler, processTree } from './lib/proc-stats.js';
import { seedPchat } from './lib/seed.js';
import { type ServerProc, startBaseline, startPchat } from './lib/servers.js';
import { LoadGen } from './lib/workers.js';

// ---- options -----------------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}
function has(name: string): boolean {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) argv.splice(i, 1);
  return i >= 0;
}
/** Load-generator processes (`--workers` is the old name). */
const WORKERS = Number(opt('loadgens') ?? opt('workers') ?? 2);
const CORES = availableParallelism();
/** A single-threaded process at or above this share of a core is taken as saturated. */
const BUSY = 0.85;
const SECONDS = Number(opt('seconds') ?? 10);
const IN_FLIGHT = Number(opt('in-flight') ?? 32);
const USERS_20K = opt('users');
const CPU_PROF = opt('cpu-prof');
const OUT = opt('out');
const NO_BASELINE = has('no-baseline');
const TARGETS_OPT = opt('targets');
const ROUNDS = Number(opt('rounds') ?? 1);
const QUIET_WAIT = Number(opt('quiet-wait') ?? 30);
/** How long the server's idle CPU is sampled after every client connected. */
const IDLE_MS = Number(opt('idle-seconds') ?? 3) * 1000;

/** Waits (at most QUIET_WAIT s) until the rest of the machine uses under half a core; returns what it used. */
async function waitForQuiet(): Promise<number> {
  const until = Date.now() + QUIET_WAIT * 1000;
  for (;;) {
    const b0 = machineBusySeconds();
    await sleep(2000);
    const busy = (machineBusySeconds() - b0) / 2;
    if (busy < 0.5 || Date.now() > until) return busy;
  }
}
const ALL = ['fanout-saturation', 'fanout-latency', 'fanout-500x10', 'model-20k', 'history-1m'];
const scenarios = argv.length > 0 ? argv : ALL;
for (const s of scenarios) {
  if (!ALL.includes(s)) {
    process.stderr.write(`unknown scenario ${s}; one of ${ALL.join(', ')}\n`);
    process.exit(2);
  }
}

const log = (s: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

type TargetKind = 'baseline-per-message' | 'baseline-grouped' | 'pchat' | `pchat-pool-w${number}`;

/** pchat-pool-w<N>: the number of server workers, else undefined. */
const poolWorkers = (k: TargetKind): number | undefined => {
  const m = /^pchat-pool-w(\d+)$/.exec(k);
  return m ? Number(m[1]) : undefined;
};

export interface FanoutResult {
  scenario: string;
  target: TargetKind;
  clients: number;
  connectSec: number;
  windowSec: number;
  deliveries: number;
  deliveriesPerSec: number;
  messagesPerSec: number;
  latencyMs: ReturnType<Histogram['summaryMs']>;
  /** Per room class (post tag: s small, m medium, l large, x one room). */
  latencyByTagMs: Record<string, ReturnType<Histogram['summaryMs']>>;
  ackMs: ReturnType<Histogram['summaryMs']>;
  joinMs: ReturnType<Histogram['summaryMs']>;
  /** Deliveries of the window's messages / (acknowledged posts × room size). */
  completeness: number;
  postErrors: number;
  errorSamples: string[];
  joins: number;
  joinErrors: number;
  closedSockets: number;
  serverCpuSec: number;
  serverCpuUtil: number;
  /** The server's CPU (cores) with every client connected and nothing sent, measured just before the run. */
  serverIdleCpuUtil: number;
  /** Per server process (the first is the one started; with --workers N the primary, then the workers). */
  serverProcessCpuUtil: number[];
  serverPeakRssMiB: number;
  serverRssAfterConnectMiB: number;
  serverHwmMiB: number;
  loadgenCpuUtil: number[];
  /** All load-generator processes together, in cores. */
  loadgenCpuTotal: number;
  /** True when the load generators used less than half the machine's cores. */
  loadgenUnderHalf: boolean;
  /** Which side bound the figure: server, load generator, cores (the machine), or the offered rate. */
  limit: string;
  /** Load average (1 min) when the measured window started, and the machine's cores. */
  loadavg1: number;
  cores: number;
  loadgenRssMiB: number[];
  /** CPU used on the machine by everything else than the server and the load generators (cores). */
  otherCpuUtil: number;
  notes: string[];
}

interface Layout {
  /** Client i's rooms (room keys: names, mapped to ids for pchat). */
  rooms: string[][];
  /** Fixed-rate streams over room keys, with the client indexes that may post there. */
  streams?: { ratePerSec: number; rooms: { room: string; senders: number[] }[]; tag?: string }[];
  saturation?: { inFlight: number; rooms: { room: string; senders: number[] }[] };
  churnPerSec?: number;
  roomSize: Map<string, number>;
  warmupMs: number;
  durationMs: number;
  graceMs: number;
  connectConcurrency: number;
}

async function startTarget(kind: TargetKind, layout: Layout, notes: string[]) {
  const roomKeys = [...layout.roomSize.keys()];
  const workers = poolWorkers(kind);
  if (workers !== undefined) {
    const data = mkdtempSync(join(tmpdir(), 'pchat-bench-'));
    const env = await poolEnv();
    log(`seeding ${layout.rooms.length} users, ${roomKeys.length} rooms on PostgreSQL`);
    const s0 = performance.now();
    const seeded = await seedPchat(data, { users: layout.rooms.length, rooms: roomKeys }, env.db);
    notes.push(`PostgreSQL + NATS, ${workers} worker(s); seeded in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    const nodeArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [];
    const server = await startPchat(data, { nodeArgs, pool: { ...env, workers } });
    return {
      server,
      tokens: seeded.tokens,
      roomId: (k: string) => seeded.roomIds.get(k) as string,
      cleanup: async () => {
        rmSync(data, { recursive: true, force: true });
        await env.drop().catch((e) => log(`  dropping the bench schema failed: ${e}`));
      },
    };
  }
  if (kind === 'pchat') {
    const data = mkdtempSync(join(tmpdir(), 'pchat-bench-'));
    log(`seeding ${layout.rooms.length} users, ${roomKeys.length} rooms`);
    const s0 = performance.now();
    const seeded = await seedPchat(data, { users: layout.rooms.length, rooms: roomKeys });
    const seedSec = (performance.now() - s0) / 1000;
    notes.push(`seeded ${layout.rooms.length} users + ${roomKeys.length} rooms in ${seedSec.toFixed(1)} s`);
    const nodeArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [];
    const server = await startPchat(data, { nodeArgs });
    return {
      server,
      tokens: seeded.tokens,
      roomId: (k: string) => seeded.roomIds.get(k) as string,
      cleanup: async () => rmSync(data, { recursive: true, force: true }),
    };
  }
  const server = await startBaseline(kind === 'baseline-grouped' ? 'grouped' : 'per-message');
  return {
    server,
    tokens: layout.rooms.map(() => 'baseline'),
    roomId: (k: string) => k,
    cleanup: async () => {},
  };
}

async function runLayout(scenario: string, kind: TargetKind, layout: Layout): Promise<FanoutResult> {
  const notes: string[] = [];
  const t = await startTarget(kind, layout, notes);
  const server: ServerProc = t.server;
  log(`${scenario} / ${kind}: server pid ${server.pid} at ${server.url}`);
  const n = layout.rooms.length;
  const W = Math.min(WORKERS, n);
  const quiet = await waitForQuiet();
  notes.push(`machine busy before the run: ${quiet.toFixed(2)} cores`);
  // with --cpu-prof the load generators are profiled too (into DIR/loadgen)
  const lgArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF, 'loadgen')] : [];
  const lg = await LoadGen.start(W, (w, done) => log(`  loadgen ${w}: ${done} connected`), lgArgs);
  try {
    // clients in contiguous slices, one per load generator
    const slice = Math.ceil(n / W);
    const owner = (i: number) => Math.floor(i / slice);
    const local = (i: number) => i - owner(i) * slice;
    const c0 = performance.now();
    for (let w = 0; w < W; w++) {
      const clients: ClientSpec[] = [];
      for (let i = w * slice; i < Math.min(n, (w + 1) * slice); i++) {
        clients.push({ token: t.tokens[i] as string, rooms: (layout.rooms[i] ?? []).map(t.roomId) });
      }
      lg.send(w, {
        type: 'connect',
        url: server.url,
        clients,
        concurrency: layout.connectConcurrency,
        parse: 'fast',
      });
    }
    const connected = await lg.collect('connected', 900_000);
    const connectSec = (performance.now() - c0) / 1000;
    const ok = connected.reduce((a, c) => a + c.ok, 0);
    const joinFailures = connected.reduce((a, c) => a + c.joinFailures, 0);
    log(`  connected ${ok}/${n} in ${connectSec.toFixed(1)} s; join failures ${joinFailures}`);
    for (const c of connected) for (const e of c.errors) notes.push(`connect: ${e}`);
    if (ok < n) notes.push(`${n - ok} of ${n} connections failed`);
    // what the server spends with every client connected and nobody posting (heartbeats, the change-stream
    // poll, timers): at low rates this fixed cost is a large share of the CPU per delivery
    const idleSampler = new ProcSampler(server.pid, 100);
    idleSampler.start();
    await sleep(IDLE_MS);
    const idle = idleSampler.stop();
    const afterConnect = idle.rss;

    // the per-worker send plans: each target's senders that live in that worker
    const perWorker = (rooms: { room: string; senders: number[] }[], w: number): Target[] =>
      rooms
        .map((r) => ({
          room: t.roomId(r.room),
          senders: r.senders.filter((i) => owner(i) === w).map(local),
        }))
        .filter((x) => x.senders.length > 0);
    for (let w = 0; w < W; w++) {
      const plan: SendPlan = {
        warmupMs: layout.warmupMs,
        durationMs: layout.durationMs,
        graceMs: layout.graceMs,
        churnPerSec: layout.churnPerSec ? layout.churnPerSec / W : undefined,
        streams: layout.streams?.map((s) => ({
          ratePerSec: s.ratePerSec / W,
          targets: perWorker(s.rooms, w),
          tag: s.tag,
        })),
        saturation: layout.saturation
          ? {
              inFlight: Math.max(1, Math.round(layout.saturation.inFlight / W)),
              targets: perWorker(layout.saturation.rooms, w),
            }
          : undefined,
      };
      lg.send(w, { type: 'run', plan });
    }
    await sleep(layout.warmupMs);
    const loadavg1 = loadavg()[0] ?? 0;
    const sampler = new ProcSampler(server.pid, 100);
    sampler.start();
    const busy0 = machineBusySeconds();
    await sleep(layout.durationMs);
    const srv = sampler.stop();
    const machineBusy = (machineBusySeconds() - busy0) / srv.wallSeconds;
    const reports: RunReport[] = await lg.collect('report', layout.graceMs + 60_000);
    const lat = new Histogram();
    const byTag = new Map<string, Histogram>();
    const ack = new Histogram();
    const joinH = new Histogram();
    let expected = 0;
    const keyOf = new Map([...layout.roomSize.keys()].map((k) => [t.roomId(k), k]));
    for (const r of reports) {
      lat.merge(r.latency);
      for (const [tag, h] of Object.entries(r.latencyByTag)) {
        const m = byTag.get(tag) ?? new Histogram();
        m.merge(h);
        byTag.set(tag, m);
      }
      ack.merge(r.ackLatency);
      joinH.merge(r.joinLatency);
      for (const [room, acked] of Object.entries(r.ackedByRoom)) {
        expected += acked * (layout.roomSize.get(keyOf.get(room) ?? room) ?? 0);
      }
    }
    const windowSec = Math.max(...reports.map((r) => r.windowSec));
    const lgTotal = reports.reduce((a, r) => a + r.loadgenCpuUtil, 0);
    // with --workers N the first process is the cluster primary (it only accepts): the workers are the rest
    const serving = (poolWorkers(kind) ?? 1) > 1 ? srv.perProcessUtil.slice(1) : srv.perProcessUtil.slice(0, 1);
    const limits: string[] = [];
    if (serving.some((u) => u >= BUSY)) limits.push('server');
    if (reports.some((r) => r.loadgenCpuUtil >= BUSY)) limits.push('load generator');
    if (machineBusy >= BUSY * CORES) limits.push('cores');
    const limit = limits.length > 0 ? limits.join(' + ') : 'offered rate';
    if (lgTotal >= CORES / 2)
      notes.push(`the load generators used ${lgTotal.toFixed(2)} of ${CORES} cores: half the machine or more`);
    const deliveries = reports.reduce((a, r) => a + r.deliveries, 0);
    const acked = reports.reduce((a, r) => a + Object.values(r.ackedByRoom).reduce((x, y) => x + y, 0), 0);
    const res: FanoutResult = {
      scenario,
      target: kind,
      clients: ok,
      connectSec,
      windowSec,
      deliveries,
      deliveriesPerSec: deliveries / windowSec,
      messagesPerSec: acked / windowSec,
      latencyMs: lat.summaryMs(),
      latencyByTagMs: Object.fromEntries([...byTag].map(([k, h]) => [k, h.summaryMs()])),
      ackMs: ack.summaryMs(),
      joinMs: joinH.summaryMs(),
      completeness: expected > 0 ? reports.reduce((a, r) => a + r.windowMessageDeliveries, 0) / expected : Number.NaN,
      postErrors: reports.reduce((a, r) => a + r.postErrors, 0),
      errorSamples: reports.flatMap((r) => r.errorSamples).slice(0, 5),
      joins: reports.reduce((a, r) => a + r.joins, 0),
      joinErrors: reports.reduce((a, r) => a + r.joinErrors, 0),
      closedSockets: reports.reduce((a, r) => a + r.closedSockets, 0),
      serverCpuSec: srv.cpuSeconds,
      serverCpuUtil: srv.cpuUtil,
      serverIdleCpuUtil: idle.cpuUtil,
      serverProcessCpuUtil: srv.perProcessUtil,
      serverPeakRssMiB: srv.peakRss / MiB,
      serverRssAfterConnectMiB: afterConnect / MiB,
      serverHwmMiB: processTree(server.pid).reduce((a, p) => a + hwmBytes(p), 0) / MiB,
      loadgenCpuUtil: reports.map((r) => r.loadgenCpuUtil),
      loadgenCpuTotal: lgTotal,
      loadgenUnderHalf: lgTotal < CORES / 2,
      limit,
      loadavg1,
      cores: CORES,
      loadgenRssMiB: connected.map((c) => c.rss / MiB),
      otherCpuUtil: machineBusy - srv.cpuUtil - reports.reduce((a, r) => a + r.loadgenCpuUtil, 0),
      notes,
    };
    log(
      `  ${kind}: ${Math.round(res.deliveriesPerSec)} deliveries/s, ${res.messagesPerSec.toFixed(1)} msg/s, ` +
        `p50 ${res.latencyMs.p50} p99 ${res.latencyMs.p99} max ${res.latencyMs.max} ms, ` +
        `complete ${(res.completeness * 100).toFixed(2)} %, server CPU ${res.serverCpuUtil.toFixed(2)}, ` +
        `(${res.serverProcessCpuUtil.map((x) => x.toFixed(2)).join('/')}), ` +
        `RSS ${res.serverPeakRssMiB.toFixed(0)} MiB, loadgen CPU ${res.loadgenCpuUtil.map((x) => x.toFixed(2)).join('/')} ` +
        `= ${lgTotal.toFixed(2)}${res.loadgenUnderHalf ? '' : ' (≥ half the machine)'}, ` +
        `idle CPU ${res.serverIdleCpuUtil.toFixed(2)}, others ${res.otherCpuUtil.toFixed(2)}, load ${loadavg1.toFixed(2)}; limit: ${limit}`,
    );
    if (byTag.size > 1) log(`  latency by room class: ${JSON.stringify(res.latencyByTagMs)}`);
    return res;
  } finally {
    await lg.close();
    await server.stop();
    await t.cleanup();
  }
}

// ---- scenarios -----------------------------------------------------------------------------------------------

function oneRoom(n: number): { rooms: string[][]; roomSize: Map<string, number> } {
  return { rooms: Array.from({ length: n }, () => ['room-0']), roomSize: new Map([['room-0', n]]) };
}

function fanoutSaturation(): Layout {
  const n = 1000;
  // 100 senders: pchat's per-connection token bucket (50/s) never binds
  const senders = Array.from({ length: 100 }, (_, i) => i * 10);
  return {
    ...oneRoom(n),
    saturation: { inFlight: IN_FLIGHT, rooms: [{ room: 'room-0', senders }] },
    warmupMs: 3000,
    durationMs: SECONDS * 1000,
    graceMs: 3000,
    connectConcurrency: 100,
  };
}

/** One room of `n` at a fixed `rate` msg/s from every tenth member: 1,000 × 50 (latency), 500 × 10 (CPU). */
function fanoutLatency(n = 1000, rate = 50): Layout {
  const senders = Array.from({ length: n / 10 }, (_, i) => i * 10);
  return {
    ...oneRoom(n),
    streams: [{ ratePerSec: rate, rooms: [{ room: 'room-0', senders }] }],
    warmupMs: 2000,
    durationMs: Math.max(SECONDS, 20) * 1000,
    graceMs: 2000,
    connectConcurrency: 100,
  };
}

/** A seeded shuffle of 0..n-1. */
function shuffled(n: number, seed: number): number[] {
  let x = seed | 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

export const MODEL = {
  smallSize: 30,
  smallPerUser: 18,
  mediumSize: 150,
  mediumPerUser: 3,
  largeSize: 16_000,
  largeRooms: 4,
  /** msg/s over all rooms of the class (the inventory's performance user model: 22.22 / 1.67 / ~0.15) */
  smallRate: 22.22,
  mediumRate: 1.67,
  largeRate: 0.15,
  joinsPerSec: 10,
};

function model20k(users: number): Layout {
  const rooms: string[][] = Array.from({ length: users }, () => []);
  const roomSize = new Map<string, number>();
  const members = new Map<string, number[]>();
  const add = (room: string, u: number) => {
    rooms[u]?.push(room);
    roomSize.set(room, (roomSize.get(room) ?? 0) + 1);
    let m = members.get(room);
    if (!m) {
      m = [];
      members.set(room, m);
    }
    m.push(u);
  };
  // small and medium: each layer is a shuffle of all users cut into rooms, so a user is in one room per layer
  const layer = (prefix: string, layers: number, size: number, seed: number) => {
    for (let l = 0; l < layers; l++) {
      const order = shuffled(users, seed + l * 7919);
      for (let k = 0; k < users; k++) add(`${prefix}-${l}-${Math.floor(k / size)}`, order[k] as number);
    }
  };
  layer('small', MODEL.smallPerUser, MODEL.smallSize, 17);
  layer('medium', MODEL.mediumPerUser, MODEL.mediumSize, 4243);
  // large: windows of 16,000 users, spread evenly over the user list
  const largeSize = Math.min(MODEL.largeSize, users);
  for (let k = 0; k < MODEL.largeRooms; k++) {
    const start = Math.floor((k * users) / MODEL.largeRooms);
    for (let j = 0; j < largeSize; j++) add(`large-${k}`, (start + j) % users);
  }
  const cls = (p: string) =>
    [...members.entries()].filter(([r]) => r.startsWith(p)).map(([room, senders]) => ({ room, senders }));
  return {
    rooms,
    roomSize,
    streams: [
      { ratePerSec: MODEL.smallRate, rooms: cls('small-'), tag: 's' },
      { ratePerSec: MODEL.mediumRate, rooms: cls('medium-'), tag: 'm' },
      { ratePerSec: MODEL.largeRate, rooms: cls('large-'), tag: 'l' },
    ],
    churnPerSec: MODEL.joinsPerSec,
    warmupMs: 5000,
    durationMs: Math.max(SECONDS, 60) * 1000,
    graceMs: 3000,
    connectConcurrency: 200,
  };
}

// ---- report ----------------------------------------------------------------------------------------------------

const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

function fanoutTable(rs: FanoutResult[]): string {
  const grouped = rs.find((r) => r.target === 'baseline-grouped');
  const lines = [
    '| target | clients | msg/s | deliveries/s | ratio to grouped baseline | p50 ms | p95 ms | p99 ms | max ms | ack p99 ms | complete | server CPU (s / util) | server CPU per process | server CPU µs per delivery | idle server CPU | µs per delivery net of idle | server peak RSS MiB | loadgen CPU (per process = total) | loadgen < ½ machine | other processes CPU | load avg | limit |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rs) {
    const ratio = grouped ? r.deliveriesPerSec / grouped.deliveriesPerSec : Number.NaN;
    lines.push(
      `| ${r.target} | ${f0(r.clients)} | ${f0(r.messagesPerSec)} | ${f0(r.deliveriesPerSec)} | ${f2(ratio)} | ${r.latencyMs.p50} | ${r.latencyMs.p95} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.ackMs.p99} | ${(r.completeness * 100).toFixed(2)} % | ${f2(r.serverCpuSec)} / ${f2(r.serverCpuUtil)} | ${r.serverProcessCpuUtil.map(f2).join(' / ')} | ${f2((r.serverCpuSec * 1e6) / Math.max(1, r.deliveries))} | ${f2(r.serverIdleCpuUtil)} | ${f2(((r.serverCpuUtil - r.serverIdleCpuUtil) * 1e6) / Math.max(1, r.deliveriesPerSec))} | ${f0(r.serverPeakRssMiB)} | ${r.loadgenCpuUtil.map(f2).join(' + ')} = ${f2(r.loadgenCpuTotal)} | ${r.loadgenUnderHalf ? 'yes' : '**no**'} | ${f2(r.otherCpuUtil)} | ${f2(r.loadavg1)} | ${r.limit} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const machine = {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    memGiB: totalmem() / 1024 ** 3,
    freeGiB: freemem() / 1024 ** 3,
    node: process.version,
    loadavg: loadavg(),
    workers: WORKERS,
  };
  log(`machine: ${JSON.stringify(machine)}`);
  const out: Record<string, unknown> = { machine, startedAt: new Date().toISOString(), results: {} };
  const results = out.results as Record<string, unknown>;
  const targets = (all: TargetKind[]): TargetKind[] => {
    if (TARGETS_OPT) {
      const ks = TARGETS_OPT.split(',') as TargetKind[];
      for (const k of ks)
        if (!['baseline-per-message', 'baseline-grouped', 'pchat'].includes(k) && poolWorkers(k) === undefined)
          throw new Error(`unknown target ${k}: baseline-per-message, baseline-grouped, pchat or pchat-pool-w<N>`);
      return ks;
    }
    return NO_BASELINE ? ['pchat'] : all;
  };
  const save = () => {
    if (OUT) writeFileSync(OUT, JSON.stringify(out, null, 2));
  };
  for (const s of scenarios) {
    log(
      `== ${s} (load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
    );
    if (s === 'history-1m') {
      results[s] = await runHistory({ cpuProf: CPU_PROF, log });
      save();
      continue;
    }
    const rs: FanoutResult[] = [];
    const kinds =
      s === 'model-20k'
        ? targets(['baseline-grouped', 'pchat'])
        : targets(['baseline-per-message', 'baseline-grouped', 'pchat']);
    for (let round = 0; round < (s === 'model-20k' ? 1 : ROUNDS); round++)
      for (const kind of kinds) {
        const layout =
          s === 'fanout-saturation'
            ? fanoutSaturation()
            : s === 'fanout-latency'
              ? fanoutLatency()
              : s === 'fanout-500x10'
                ? fanoutLatency(500, 10)
                : model20k(Number(USERS_20K ?? 19_900));
        if (s === 'model-20k' && kind === 'pchat') {
          // the report says how the model was laid out
          const perUser = layout.rooms.reduce((a, r) => a + r.length, 0) / layout.rooms.length;
          log(`  model: ${layout.rooms.length} users, ${layout.roomSize.size} rooms, ${perUser.toFixed(2)} rooms/user`);
        }
        try {
          rs.push(await runLayout(s, kind, layout));
        } catch (e) {
          log(`  ${kind} failed: ${(e as Error).stack ?? e}`);
        }
        results[s] = rs;
        save();
        await sleep(1000);
      }
    process.stdout.write(`\n### ${s}\n\n${fanoutTable(rs)}\n\n`);
  }
  save();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
