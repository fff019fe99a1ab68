#!/usr/bin/env node
// npm run test:mutation [-- scope ...]: runs StrykerJS once per scope (stryker.config.mjs lists them), one after
// the other with one test process, each with its own incremental file in reports/mutation/, then prints the
// score per scope. `--report` only prints the scores and survivors recorded by the last runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const ALL = ['core', 'directory', 'xccos', 'digest', 'store', 'chat', 'http-auth'];
/** Scopes that split a folder so its halves can run side by side; the folder's score adds them up. */
const HALVES = { chat: ['chat-core', 'chat-modules'] };
const KNOWN = [...ALL, ...Object.values(HALVES).flat()];
const args = process.argv.slice(2);
const FLAGS = ['--report', '--survivors', '--live', '--help'];
const USAGE = `usage: npm run test:mutation -- [scope ...] [--report] [--survivors]
  scope       one or more of ${KNOWN.join(', ')} (default: ${ALL.join(', ')}), run one after the other
  --report    print the scores recorded by the last runs (reports/mutation/*.incremental.json); run nothing
  --survivors with --report: also print every surviving and uncovered mutant
  --live      for a run still going: the mutants decided so far and every survivor among them (from the events
              that stryker.config.mjs records in .tmp/mutation-events/<scope>/); run nothing`;
if (args.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
for (const a of args) {
  if (a.startsWith('--') && !FLAGS.includes(a)) {
    console.error(`unknown option ${a}\n${USAGE}`);
    process.exit(2);
  }
}
const live = args.includes('--live');
const reportOnly = args.includes('--report') || live;
const survivors = args.includes('--survivors');
const scopes = args.filter((a) => !a.startsWith('--'));
const chosen = scopes.length > 0 ? scopes : ALL;
for (const s of chosen) {
  if (!KNOWN.includes(s)) {
    console.error(`unknown scope ${s}; one of ${KNOWN.join(', ')}`);
    process.exit(2);
  }
}

/**
 * Counts mutants ({ path, lines, m }: the file, its source lines, the mutant) by status, and lists every surviving and
 * uncovered one as `path:line mutator "replacement" | source line`.
 */
function tally(mutants) {
  const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  const left = [];
  for (const { path, lines, m } of mutants) {
    if (m.status in n) n[m.status]++;
    if (m.status === 'Survived' || m.status === 'NoCoverage') {
      const line = m.location.start.line;
      left.push(
        `  ${path}:${line} ${m.mutatorName} ${JSON.stringify(m.replacement ?? '')} | ${lines[line - 1]?.trim()}`,
      );
    }
  }
  const detected = n.Killed + n.Timeout;
  const total = detected + n.Survived + n.NoCoverage;
  return { n, left, total, score: total === 0 ? 100 : (100 * detected) / total };
}

if (live) {
  for (const scope of chosen) {
    const dir = `.tmp/mutation-events/${scope}`;
    const events = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('-onMutantTested.json')) : [];
    const plan = existsSync(dir)
      ? readdirSync(dir).find((f) => f.endsWith('-onMutationTestingPlanReady.json'))
      : undefined;
    const planned = plan ? JSON.parse(readFileSync(`${dir}/${plan}`, 'utf8')).mutantPlans.length : '?';
    // the mutants' files as they are now, each read once
    const sources = new Map();
    const linesOf = (path) => {
      if (!sources.has(path)) sources.set(path, readFileSync(path, 'utf8').split('\n'));
      return sources.get(path);
    };
    const { n, left, total, score } = tally(
      events.map((f) => {
        const m = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
        return { path: relative(process.cwd(), m.fileName), lines: linesOf(m.fileName), m };
      }),
    );
    const sofar = total === 0 ? 'nothing decided yet' : `${score.toFixed(2)} % so far`;
    console.log(
      `${scope}: ${events.length} of ${planned} decided, ${sofar} (killed ${n.Killed}, timeout ${n.Timeout}, survived ${n.Survived}, no coverage ${n.NoCoverage})`,
    );
    for (const l of left.sort()) console.log(l);
  }
  process.exit(0);
}

let failed = false;
if (!reportOnly) {
  for (const scope of chosen) {
    console.log(`\n=== mutation: ${scope} ===`);
    const r = spawnSync('npx', ['stryker', 'run'], {
      stdio: 'inherit',
      // CI=true: a suite whose PostgreSQL half cannot connect fails instead of skipping, so a skip never passes
      // for a killed mutant's absence (test/support/pg.ts)
      env: { ...process.env, CI: process.env.CI ?? 'true', PCHAT_MUTATION_SCOPE: scope },
    });
    if (r.status !== 0) {
      console.error(`stryker failed for ${scope} (exit ${r.status})`);
      failed = true;
    }
  }
}

console.log('\nscope       score   killed timeout survived no-cov  total');
for (const scope of chosen) {
  const own = `reports/mutation/${scope}.incremental.json`;
  // a folder measured in halves: the halves' files together
  const files = existsSync(own)
    ? [own]
    : (HALVES[scope] ?? []).map((h) => `reports/mutation/${h}.incremental.json`).filter((f) => existsSync(f));
  if (files.length === 0) {
    console.log(`${scope.padEnd(11)} (not run)`);
    continue;
  }
  const entries = files.flatMap((file) => Object.entries(JSON.parse(readFileSync(file, 'utf8')).files));
  const { n, left, total, score } = tally(
    entries.flatMap(([path, f]) => {
      const lines = f.source.split('\n');
      return f.mutants.map((m) => ({ path, lines, m }));
    }),
  );
  console.log(
    `${scope.padEnd(11)} ${score.toFixed(2).padStart(6)} ${String(n.Killed).padStart(8)} ${String(n.Timeout).padStart(7)} ${String(n.Survived).padStart(8)} ${String(n.NoCoverage).padStart(6)} ${String(total).padStart(6)}`,
  );
  if (survivors) for (const l of left) console.log(l);
}
process.exit(failed ? 1 : 0);
