// The adapter interface: what the worker hands an adapter every RunInterval, and what it must answer.
// The built-in adapters (xml.ts, jsonl.ts) implement it, and so does a custom adapter module loaded by path
// (docs/compliance.md, docs/example-compliance-adapter.mjs).
import type { ComplianceConfig } from '../config.js';
import type { ComplianceEvent, RoomDetails, UserDetails } from '../types.js';

/** An event with the room and sender details the adapter may write. */
export interface BatchEvent extends ComplianceEvent {
  room: RoomDetails | null;
  senderDetails: UserDetails;
}

export interface ComplianceBatch {
  /** 1, 2, 3, … across the pool's whole history: the batch's place in the hash chain. */
  seq: number;
  /** In id order; never empty. */
  events: BatchEvent[];
  /** Earliest and latest event time in the batch (ms since 1970). */
  startTime: number;
  endTime: number;
}

export interface AdapterContext {
  /** Absolute output directory (created before the adapter runs). */
  outputDirectory: string;
  /**
   * Every file the adapter writes in outputDirectory must start with this (e.g. `batch-000042`). A retry of
   * the same batch after a crash writes the same names again; the worker removes any earlier attempt's files
   * with this prefix first.
   */
  filePrefix: string;
  config: ComplianceConfig;
}

export interface AdapterResult {
  /** The files written, relative to outputDirectory; the batch manifest hashes each of them. */
  files: string[];
}

export interface ComplianceAdapter {
  readonly name: string;
  /** Writes the batch. Resolve only when it is durable; throw to have the worker retry the batch later. */
  write(batch: ComplianceBatch, ctx: AdapterContext): Promise<AdapterResult>;
}

/** What a custom adapter module exports as default. */
export type AdapterFactory = (config: ComplianceConfig) => ComplianceAdapter | Promise<ComplianceAdapter>;
