// CPU time and memory of a process from /proc (Linux): utime+stime in CPU-seconds, VmRSS / VmHWM in bytes.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on Linux x86-64 and arm64

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name may contain spaces: fields start after the closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLK_TCK;
}

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export const rssBytes = (pid: number) => statusField(pid, 'VmRSS');
export const hwmBytes = (pid: number) => statusField(pid, 'VmHWM');

/** `pid` and every process below it (the workers of `pchat serve --workers N`), from /proc/<pid>/stat. */
export function processTree(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const kids = parent.get(ppid) ?? [];
      kids.push(Number(d));
      parent.set(ppid, kids);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const k of parent.get(p) ?? []) walk(k);
  };
  walk(pid);
  return out;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

const sumOver = (pids: number[], f: (pid: number) => number) =>
  pids.reduce((a, p) => {
    try {
      return a + f(p);
    } catch {
      return a; // exited
    }
  }, 0);

/**
 * Samples the RSS of a process and its children (summed) every `everyMs` and keeps the peak; also their
 * CPU-seconds between start and stop, in total and per process.
 */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  peakRss = 0;
  private pids: number[] = [];
  private helpers = new Set<number>();
  private cpu0 = new Map<number, number>();
  private t0 = 0;

  constructor(
    readonly pid: number,
    readonly everyMs = 200,
  ) {}

  start(): void {
    // tsx's esbuild service is a child too: counted in the total, left out of the per-process list
    this.pids = processTree(this.pid);
    this.helpers = new Set(this.pids.filter((p) => comm(p) === 'esbuild'));
    for (const p of this.pids) this.cpu0.set(p, sumOver([p], cpuSeconds));
    this.t0 = performance.now();
    this.peakRss = sumOver(this.pids, rssBytes);
    this.timer = setInterval(() => {
      this.peakRss = Math.max(this.peakRss, sumOver(this.pids, rssBytes));
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): {
    cpuSeconds: number;
    wallSeconds: number;
    cpuUtil: number;
    /** CPU-seconds per wall second of each node process (the first is `pid`). */
    perProcessUtil: number[];
    peakRss: number;
    rss: number;
  } {
    if (this.timer) clearInterval(this.timer);
    const wall = (performance.now() - this.t0) / 1000;
    const per = this.pids.map((p) => sumOver([p], cpuSeconds) - (this.cpu0.get(p) ?? 0));
    const cpu = per.reduce((a, b) => a + b, 0);
    const rss = sumOver(this.pids, rssBytes);
    this.peakRss = Math.max(this.peakRss, rss);
    return {
      cpuSeconds: cpu,
      wallSeconds: wall,
      cpuUtil: cpu / wall,
      perProcessUtil: per.filter((_, i) => !this.helpers.has(this.pids[i] as number)).map((c) => c / wall),
      peakRss: this.peakRss,
      rss,
    };
  }
}

/** Busy CPU-seconds of the whole machine so far (all cores, from /proc/stat). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return (total - idle) / CLK_TCK;
}
