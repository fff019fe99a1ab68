// The messages between the bench runner (bench/run.ts) and its load-generator processes (bench/loadgen.ts).

import type { ParseMode } from './bench-socket.js';
import type { HistogramData } from './histogram.js';

export interface ClientSpec {
  /** A session token (seeded in the store for pchat; anything for the baseline relay). */
  token: string;
  rooms: string[];
}

/** Where posts go: a random target, from a random one of its senders (indexes into this process's clients). */
export interface Target {
  room: string;
  senders: number[];
}

export interface SendPlan {
  /** Fixed-rate streams (messages per second from this process). */
  streams?: { ratePerSec: number; targets: Target[]; tag?: string }[];
  /** Saturation: keep `inFlight` posts unacknowledged at all times, round-robin over the targets' senders. */
  saturation?: { inFlight: number; targets: Target[] };
  /** Joins per second during the run: a random client parts one of its rooms and joins it again. */
  churnPerSec?: number;
  warmupMs: number;
  durationMs: number;
  /** After the window: stop sending and wait this long for deliveries still on their way. */
  graceMs: number;
}

export type ToWorker =
  | { type: 'connect'; url: string; clients: ClientSpec[]; concurrency: number; parse: ParseMode }
  | { type: 'run'; plan: SendPlan }
  | { type: 'close' };

export interface HistJson {
  data: HistogramData;
  max: number;
  min: number;
  sum: number;
}

export interface RunReport {
  type: 'report';
  /** The measured window in seconds (after the warm-up). */
  windowSec: number;
  /** Deliveries received inside the window, whatever their send time. */
  deliveries: number;
  /** Deliveries of messages sent inside the window (their latency is in `latency`). */
  windowMessageDeliveries: number;
  latency: HistJson;
  /** The same, per post tag (room class). */
  latencyByTag: Record<string, HistJson>;
  ackLatency: HistJson;
  joinLatency: HistJson;
  postsSent: number;
  /** Posts sent inside the window and acknowledged, per room. */
  ackedByRoom: Record<string, number>;
  postErrors: number;
  errorSamples: string[];
  joins: number;
  joinErrors: number;
  otherEvents: number;
  closedSockets: number;
  /** This load generator's own CPU use in the window (user+system seconds per wall second). */
  loadgenCpuUtil: number;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'connected'; ok: number; failed: number; joinFailures: number; ms: number; errors: string[]; rss: number }
  | { type: 'progress'; done: number }
  | RunReport
  | { type: 'fatal'; error: string };
