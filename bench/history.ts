// history-1m: one room holding 1,000,000 messages (appended through store.messages.append in batches of
// 1,000), then, through the REST API over one keep-alive connection: the newest 50 (GET
// /api/rooms/:id/messages?limit=50), the page before a random point (before=), and full-text searches
// (GET /api/search?q=…&room=…) with terms found in few, many and very many messages, CJK included.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Histogram } from './lib/histogram.js';
import { ProcSampler } from './lib/proc-stats.js';
import { seedMessages, seedPchat, userUri } from './lib/seed.js';
import { startPchat } from './lib/servers.js';

const TOTAL = Number(process.env.BENCH_HISTORY_MESSAGES ?? 1_000_000);

/** The search terms and how many of the 1,000,000 messages hold them (by construction or measured). */
export const SEARCH_TERMS = [
  'zanzibar', // 10
  'quixotic', // 1,000
  '東京都', // 2,000 (CJK, 3 characters: served by the trigram index)
  '会議', // 5,000 (CJK, 2 characters: too short for the trigram index, LIKE scan)
  'invoice', // common
  'budget report', // two common words
  'the', // very common
  'nosuchwordanywhere', // none
];

function get(agent: Agent, base: URL, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: base.hostname, port: base.port, path, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export interface HistoryResult {
  messages: number;
  seedSec: number;
  dbMiB: number;
  newest50: ReturnType<Histogram['summaryMs']>;
  pageBefore: ReturnType<Histogram['summaryMs']>;
  searchDefaultLimit: ReturnType<Histogram['summaryMs']>;
  searchLimit50: ReturnType<Histogram['summaryMs']>;
  perTerm: { term: string; hits: number; exceeded: boolean; defaultLimit: unknown; limit50: unknown }[];
  serverPeakRssMiB: number;
  /** Over the timed requests: the server's CPU and the client's (this process, the load generator), in cores. */
  serverCpuUtil: number;
  clientCpuUtil: number;
}

export async function runHistory(opts: { cpuProf?: string; log: (s: string) => void }): Promise<HistoryResult> {
  const { log } = opts;
  const data = mkdtempSync(join(tmpdir(), 'pchat-bench-history-'));
  try {
    const seeded = await seedPchat(data, { users: 1, rooms: ['history'] });
    const roomId = seeded.roomIds.get('history') as string;
    const token = seeded.tokens[0] as string;
    log(`  appending ${TOTAL} messages in batches of 1,000`);
    const seedMs = await seedMessages(data, roomId, userUri(0), TOTAL);
    const db = join(data, 'pchat.db');
    const dbMiB = (statSync(db).size + (existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0)) / 1024 ** 2;
    log(`  seeded in ${(seedMs / 1000).toFixed(1)} s (${dbMiB.toFixed(0)} MiB)`);
    const server = await startPchat(data, {
      nodeArgs: opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : [],
      // one user sends every request of this scenario, as fast as answers come: the per-user budget (50/s by
      // default) is raised to its maximum so the figures are the store's and the HTTP door's, not the limiter's
      env: { PCHAT_RATE_LIMIT_PER_SECOND: '1000000', PCHAT_RATE_LIMIT_BURST: '10000000' },
    });
    const sampler = new ProcSampler(server.pid);
    sampler.start();
    const clientCpu0 = process.cpuUsage();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const base = new URL(server.url);
    try {
      const timed = async (path: string): Promise<{ us: number; body: string }> => {
        const t0 = performance.now();
        const r = await get(agent, base, path, token);
        const us = (performance.now() - t0) * 1000;
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body.slice(0, 300)}`);
        return { us, body: r.body };
      };
      const newestPath = `/api/rooms/${encodeURIComponent(roomId)}/messages?limit=50`;
      for (let i = 0; i < 100; i++) await timed(newestPath); // warm-up
      const first = JSON.parse((await timed(newestPath)).body) as { messages: { id: number }[] };
      if (first.messages.length !== 50) throw new Error(`expected 50 messages, got ${first.messages.length}`);
      // the floor of this path: an authenticated request that reads nothing, over the same connection
      const floor = new Histogram();
      for (let i = 0; i < 2000; i++) floor.record((await timed('/api/me')).us);
      log(`  floor, GET /api/me: ${JSON.stringify(floor.summaryMs())}`);
      const newest = new Histogram();
      for (let i = 0; i < 2000; i++) newest.record((await timed(newestPath)).us);
      log(`  newest 50: ${JSON.stringify(newest.summaryMs())}`);
      // a page from anywhere in the room
      const top = first.messages.at(-1)?.id ?? TOTAL;
      const before = new Histogram();
      for (let i = 0; i < 1000; i++) {
        const b = 1 + Math.floor(Math.random() * top);
        before.record((await timed(`${newestPath}&before=${b}`)).us);
      }
      log(`  page before a random id: ${JSON.stringify(before.summaryMs())}`);

      const searchAll = new Histogram();
      const search50 = new Histogram();
      const perTerm: HistoryResult['perTerm'] = [];
      for (const term of SEARCH_TERMS) {
        const q = `/api/search?q=${encodeURIComponent(term)}&room=${encodeURIComponent(roomId)}`;
        const hAll = new Histogram();
        const h50 = new Histogram();
        await timed(q); // warm-up
        let hits = 0;
        let exceeded = false;
        for (let i = 0; i < 25; i++) {
          const r = await timed(q);
          hAll.record(r.us);
          if (i === 0) {
            const body = JSON.parse(r.body) as { count: number; exceededLimit: boolean };
            hits = body.count;
            exceeded = body.exceededLimit;
          }
          h50.record((await timed(`${q}&limit=50`)).us);
        }
        searchAll.merge(hAll);
        search50.merge(h50);
        perTerm.push({ term, hits, exceeded, defaultLimit: hAll.summaryMs(), limit50: h50.summaryMs() });
        log(
          `  search "${term}" (${hits}${exceeded ? '+' : ''} hits): default limit ${JSON.stringify(hAll.summaryMs())}, limit=50 ${JSON.stringify(h50.summaryMs())}`,
        );
      }
      const srv = sampler.stop();
      const clientCpu = process.cpuUsage(clientCpu0);
      const clientCpuUtil = (clientCpu.user + clientCpu.system) / 1e6 / srv.wallSeconds;
      log(
        `  server CPU ${srv.cpuUtil.toFixed(2)} cores, client (load generator) CPU ${clientCpuUtil.toFixed(2)} cores`,
      );
      return {
        messages: TOTAL,
        seedSec: seedMs / 1000,
        dbMiB,
        newest50: newest.summaryMs(),
        pageBefore: before.summaryMs(),
        searchDefaultLimit: searchAll.summaryMs(),
        searchLimit50: search50.summaryMs(),
        perTerm,
        serverPeakRssMiB: srv.peakRss / 1024 ** 2,
        serverCpuUtil: srv.cpuUtil,
        clientCpuUtil,
      };
    } finally {
      agent.destroy();
      await server.stop();
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}
