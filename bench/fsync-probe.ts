// What the disk under a directory makes a durable commit wait: writes 8 KiB and fdatasync()s it every 20 ms for a
// while, then prints the distribution of the fdatasync times. Every post waits for one such sync (SQLite's
// synchronous=FULL, or PostgreSQL's WAL flush), so this distribution's tail is a floor under the p99 of anything
// that is delivered after its commit.
//
//   node --import tsx bench/fsync-probe.ts [--dir DIR] [--seconds S]     (default: the system's temp directory, 15 s)
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { dir: { type: 'string', default: tmpdir() }, seconds: { type: 'string', default: '15' } },
});
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds: a positive number');

const dir = mkdtempSync(join(values.dir, 'pchat-fsync-probe-'));
const fd = openSync(join(dir, 'probe.bin'), 'w');
const page = Buffer.alloc(8192, 1);
const times: number[] = [];
const pause = new Int32Array(new SharedArrayBuffer(4));
try {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    writeSync(fd, page);
    const t0 = performance.now();
    fdatasyncSync(fd);
    times.push(performance.now() - t0);
    // a steady pace, as a server committing 50 times a second; a blocking wait, so the probe holds no core
    Atomics.wait(pause, 0, 0, 20);
  }
} finally {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
const at = (q: number) => Number((times[Math.floor(q * (times.length - 1))] ?? 0).toFixed(2));
console.log(
  JSON.stringify({
    dir: values.dir,
    syncs: times.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: Number((times.at(-1) ?? 0).toFixed(1)),
  }),
);
