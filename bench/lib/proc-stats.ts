// CPU time and memory of a process from /proc (Linux): utime+stime in CPU-seconds, VmRSS / VmHWM in bytes.
import { readFileSync } from 'node:fs';

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

/** Samples a process's RSS every `everyMs` and keeps the peak; also the CPU-seconds between start and stop. */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  peakRss = 0;
  private cpu0 = 0;
  private t0 = 0;

  constructor(
    readonly pid: number,
    readonly everyMs = 200,
  ) {}

  start(): void {
    this.cpu0 = cpuSeconds(this.pid);
    this.t0 = performance.now();
    this.peakRss = rssBytes(this.pid);
    this.timer = setInterval(() => {
      try {
        this.peakRss = Math.max(this.peakRss, rssBytes(this.pid));
      } catch {
        // the process exited
      }
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): { cpuSeconds: number; wallSeconds: number; cpuUtil: number; peakRss: number; rss: number } {
    if (this.timer) clearInterval(this.timer);
    const cpu = cpuSeconds(this.pid) - this.cpu0;
    const wall = (performance.now() - this.t0) / 1000;
    const rss = rssBytes(this.pid);
    this.peakRss = Math.max(this.peakRss, rss);
    return { cpuSeconds: cpu, wallSeconds: wall, cpuUtil: cpu / wall, peakRss: this.peakRss, rss };
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
