// Test entry: runs the real server in its own process, like `pchat serve`, with a few test-only knobs.
//   node --import tsx test/support/serve-entry.ts --data DIR [--port 0] [--host 127.0.0.1]
// (--host: the address to listen on, e.g. a network namespace's own address in test/support/netns.ts)
// env: PCHAT_TEST_POLL_MS (change-stream poll), PCHAT_TEST_WS_RATE / PCHAT_TEST_WS_BURST (token bucket),
//      PCHAT_TEST_WS_HEARTBEAT_MS, PCHAT_TEST_SIP_PORT (enables SIP on 127.0.0.1:<port>; off by default),
//      plus every PCHAT_* setting loadConfig reads.
import { loadConfig } from '../../src/config/config.js';
import { runServer } from '../../src/server.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (v: string | undefined) => (v !== undefined && v !== '' ? Number(v) : undefined);

const sipPort = process.env.PCHAT_TEST_SIP_PORT;
const config = loadConfig({
  dataDir: flag('data'),
  port: flag('port') ?? '0',
  host: flag('host') ?? '127.0.0.1',
  sip: sipPort ? { enabled: true, host: '127.0.0.1', port: sipPort } : { enabled: false },
});
const ws: Record<string, number> = {};
const rate = num(process.env.PCHAT_TEST_WS_RATE);
const burst = num(process.env.PCHAT_TEST_WS_BURST);
const hb = num(process.env.PCHAT_TEST_WS_HEARTBEAT_MS);
if (rate !== undefined) ws.ratePerSecond = rate;
if (burst !== undefined) ws.rateBurst = burst;
if (hb !== undefined) ws.heartbeatMs = hb;

runServer(config, { ws, pollMs: num(process.env.PCHAT_TEST_POLL_MS) ?? 50 }).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`serve-entry: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
