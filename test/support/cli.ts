// Runs the `pchat` CLI from the source tree in a child process, with none of the outer PCHAT_* settings (a
// developer's PCHAT_DB must not leak into a test), and collects what it printed. Below the runner: what the CLI
// suites share to run many commands against one store and to check what a command printed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pchat ...args`; `input` is written to its stdin, which is then closed (a verb never waits on it). */
export function runPchat(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PCHAT_')));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...clean, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

export interface RunOpts {
  env?: Record<string, string>;
  input?: string;
}

export type StoreRunner = (args: string[], opts?: RunOpts) => Promise<CliResult>;

/** A runner for one store: `store` (`--data DIR`, `--db URL`, …) is appended to every command's arguments. */
export function pchatOn(store: readonly string[]): StoreRunner {
  return (args, opts = {}) => runPchat([...args, ...store], opts.env, opts.input);
}

// More processes than cores: part of each start-up is I/O, and the stages are short.
const PARALLEL = Math.max(4, Math.min(8, cpus().length + 2));

/** Runs commands with bounded parallelism, results in order. */
export async function all<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
  return out;
}

/** The command succeeded: exit 0 and nothing on stderr. */
export function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  assert.equal(r.stderr, '', `${what} wrote to stderr`);
  return r;
}

/** The command succeeded and printed JSON: the parsed value. */
export function json<T = Record<string, unknown>>(r: CliResult, what: string): T {
  ok(r, what);
  return JSON.parse(r.stdout) as T;
}

/** A refused or mistyped command: the exit code, nothing on stdout, one error line naming the code and field. */
export function failed(r: CliResult, exit: 1 | 2, code: string, field: RegExp, what: string): void {
  assert.equal(r.code, exit, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: wrote to stdout`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: stderr is not one line: ${r.stderr}`);
  const line = lines[0] as string;
  assert.ok(line.startsWith(`pchat: error ${code}: `), `${what}: ${line}`);
  assert.match(line.slice(`pchat: error ${code}: `.length), field, `${what}: ${line}`);
}

export const names = (rooms: { name: string }[]) => rooms.map((r) => r.name).sort();
export const uris = (users: { uri: string }[]) => users.map((u) => u.uri).sort();

/** The users of the CLI suites' Contoso directory. */
export const CONTOSO = {
  A: 'sip:alice@contoso.com',
  B: 'sip:bob@contoso.com',
  C: 'sip:carol@contoso.com',
  D: 'sip:dave@contoso.com',
  E: 'sip:erin@contoso.com',
  G: 'sip:gina@contoso.com',
} as const;
