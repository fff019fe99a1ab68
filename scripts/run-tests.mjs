#!/usr/bin/env node
// Runs every *.test.ts file below the given folders (or the given files) with node's test runner and tsx, each file
// in its own process group, a few at a time, so that no test and no file can hang the run:
//   - every test, and every file as a whole, has a timeout (PCHAT_TEST_TIMEOUT_MS, default 600 s; node's
//     --test-timeout, which in Node 20 bounds each file as well as each test in it). A file that is still running
//     then, for example because a socket or timer keeps its process alive after its tests ended, is reported by
//     name and its process ended;
//   - behind that, a wall-clock limit per file (the timeout plus 60 s) kills the file's whole process group (with
//     any server it started) and reports it as TIMED OUT;
//   - a file whose process dies without a test failure (an uncaught error outside a test) also fails the run.
// Each file's TAP output is printed whole when the file ends, so parallel files never interleave. The closing lines
// add up every file's counts in node's TAP summary form, then the plain "N passed, N failed" line.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const TEST_TIMEOUT_MS = Number(process.env.PCHAT_TEST_TIMEOUT_MS ?? 600_000);
const FILE_TIMEOUT_MS = TEST_TIMEOUT_MS + 60_000;
const CONCURRENCY = Math.max(1, Number(process.env.PCHAT_TEST_CONCURRENCY ?? 2));
const KILL_GRACE_MS = 5_000;

function collect(path, out) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return out;
  }
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) {
    const p = join(path, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const files = args.flatMap((d) => collect(d, []));
if (files.length === 0) {
  console.error(`no test files under ${args.join(', ')}`);
  process.exit(1);
}

const COUNTERS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];
const total = Object.fromEntries(COUNTERS.map((k) => [k, 0]));
const broken = []; // { file, why }: files that failed outside their tests
const failing = []; // files with failed or cancelled tests
const running = new Set();

/** Reads node's TAP summary ("# pass 12") from the end of a file's output. */
function counts(output) {
  const found = {};
  for (const line of output.split('\n')) {
    const m = /^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)\s*$/.exec(line);
    if (m) found[m[1]] = Number(m[2]);
  }
  return found;
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=tap', `--test-timeout=${TEST_TIMEOUT_MS}`, file],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: process.env },
    );
    running.add(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
    }, FILE_TIMEOUT_MS);
    child.on('error', (e) => {
      out += `\n# could not start: ${e.message}\n`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      // whatever the file left behind (a server it spawned) goes with it
      killGroup(child, 'SIGKILL');
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const c = counts(out);
      for (const k of COUNTERS) total[k] += c[k] ?? 0;
      const name = relative(process.cwd(), file);
      let why;
      if (timedOut) why = `TIMED OUT after ${FILE_TIMEOUT_MS / 1000} s (killed with its process group)`;
      else if (code !== 0 && !(c.fail > 0 || c.cancelled > 0)) why = `exited with ${signal ?? code} outside a test`;
      else if (c.tests === undefined) why = 'printed no test summary';
      if (why) broken.push({ file: name, why });
      else if (c.fail > 0 || c.cancelled > 0)
        failing.push(
          `${name}: ${c.fail ?? 0} failed, ${c.cancelled ?? 0} cancelled${c.cancelled > 0 ? ' (timed out)' : ''}`,
        );
      process.stdout.write(`# ---- ${name} (${seconds} s)${why ? ` ${why}` : ''}\n${out}`);
      if (!out.endsWith('\n')) process.stdout.write('\n');
      resolve();
    });
  });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const child of running) killGroup(child, 'SIGKILL');
    process.exit(130);
  });
}

const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runFile(file);
  }),
);

console.log(`# files ${files.length}`);
for (const { file, why } of broken) console.log(`# FILE FAILED ${file}: ${why}`);
for (const line of failing) console.log(`# FAILED ${line}`);
for (const k of COUNTERS) console.log(`# ${k} ${total[k]}`);
const failed = total.fail + total.cancelled + broken.length;
console.log(`${total.pass} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
