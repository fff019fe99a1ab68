// SIPp load against a real pchat server process: seeds N users (one scrypt hash, per-user Digest HA1) and a few
// rooms straight into a fresh SQLite store, starts `pchat serve` with SIP on a free port, runs the
// login → join → post scenario with sipp, and prints SIPp's final statistics with calls/s and failures.
//   node --import tsx bench/sipp/run.ts [--users 1000] [--rooms 10] [--rate 100] [--limit 200] [--transport t1|tn]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminService } from '../../src/admin/admin-service.js';
import { parseListEdit } from '../../src/core/principals.js';
import { digestUserName, makeCredential, md5 } from '../../src/directory/passwords.js';
import { openStore } from '../../src/store/open.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    rooms: { type: 'string', default: '10' },
    rate: { type: 'string', default: '100' },
    limit: { type: 'string', default: '200' },
    transport: { type: 'string', default: 't1' },
  },
});
const USERS = Number(values.users);
const ROOMS = Number(values.rooms);
const DOMAIN = 'pchat.local';
const PASSWORD = 'bench-secret';
const REALM = 'pchat';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'pchat-sipp-'));
const store = await openStore({ dataDir: dir });
const admin = new AdminService(store, { realm: REALM, domain: DOMAIN, pool: DOMAIN });
await admin.setPolicy('global', { enablePersistentChat: true });
await admin.newCategory({ name: 'Bench', allowedMembers: parseListEdit(`domain:${DOMAIN}`, 'allowedMembers') });
const roomIds: string[] = [];
for (let r = 0; r < ROOMS; r++) {
  roomIds.push((await admin.newRoom({ name: `bench-room-${r}`, category: 'Bench', privacy: 'open' })).id);
}
// one scrypt for everybody; the Digest HA1 depends on the user name, so it is computed per user
const template = JSON.parse(await makeCredential(`sip:template@${DOMAIN}`, PASSWORD, REALM)) as Record<string, string>;
const csv = ['SEQUENTIAL'];
for (let i = 1; i <= USERS; i++) {
  const uri = `sip:bench${String(i).padStart(5, '0')}@${DOMAIN}`;
  await store.users.put({
    uri,
    displayName: uri.slice(4),
    email: null,
    ou: null,
    site: null,
    policy: null,
    isAdmin: false,
    disabled: false,
    createdAt: Date.now(),
  });
  const name = digestUserName(uri);
  await store.users.setPasswordHash(uri, JSON.stringify({ ...template, ha1: md5(`${name}:${REALM}:${PASSWORD}`) }));
  const room = roomIds[i % ROOMS] as string;
  csv.push(
    `${name};${PASSWORD};${DOMAIN};sip:pchatpool-chat@${DOMAIN};${room};[authentication username=${name} password=${PASSWORD}]`,
  );
}
await store.close();
const users = join(dir, 'users.csv');
writeFileSync(users, `${csv.join('\n')}\n`);

const sipPort = await freePort();
const server = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'serve',
    '--data',
    dir,
    '--port',
    '0',
    '--domain',
    DOMAIN,
    '--sip-port',
    String(sipPort),
    // the SIPp scenario answers SIPE's 407 Digest exchange
    '--sip-auth',
    'digest',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PCHAT_LOG_LEVEL: 'warn' } },
);
await new Promise<void>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('pchat sip listening')) resolve();
  });
  server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
});

const scenario = join(import.meta.dirname, 'pchat-login-join-post.xml');
const stats = join(dir, 'stats.csv');
const started = Date.now();
const r = spawnSync(
  'sipp',
  [
    `127.0.0.1:${sipPort}`,
    '-sf',
    scenario,
    '-inf',
    users,
    '-t',
    String(values.transport),
    ...(values.transport === 'tn' ? ['-max_socket', String(Math.max(USERS, 100))] : []),
    '-aa',
    '-m',
    String(USERS),
    '-r',
    String(values.rate),
    '-l',
    String(values.limit),
    '-nostdin',
    '-timeout',
    '300',
    '-timeout_error',
    '-trace_stat',
    '-stf',
    stats,
  ],
  { encoding: 'utf8', cwd: dir, timeout: 360_000 },
);
const seconds = (Date.now() - started) / 1000;
const cpu = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(' ');
const cpuSeconds = (Number(cpu[13]) + Number(cpu[14])) / 100;
const rss = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1];
server.kill('SIGTERM');
const lines = readFileSync(stats, 'utf8').trim().split('\n');
const header = (lines[0] as string).split(';');
const last = (lines[lines.length - 1] as string).split(';');
const col = (name: string) => last[header.indexOf(name)];
console.log(
  JSON.stringify(
    {
      users: USERS,
      rooms: ROOMS,
      rate: Number(values.rate),
      limit: Number(values.limit),
      transport: values.transport,
      sippExit: r.status,
      seconds,
      successfulCalls: Number(col('SuccessfulCall(C)')),
      failedCalls: Number(col('FailedCall(C)')),
      callsPerSecond: Number(col('SuccessfulCall(C)')) / seconds,
      serverCpuSeconds: cpuSeconds,
      serverPeakRssMiB: rss ? Math.round(Number(rss) / 1024) : null,
    },
    null,
    2,
  ),
);
rmSync(dir, { recursive: true, force: true });
