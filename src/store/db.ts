// The small slice of a SQL driver that sql-store.ts needs. SQL is written once with `?` placeholders;
// each adapter translates what it must. Dialect differences live in Capabilities, not in scattered ifs.
import type { Dialect } from './port.js';

export type Param = string | number | null;
export type Row = Record<string, unknown>;

export interface Capabilities {
  dialect: Dialect;
  /** Full-text search engine the message search uses. */
  fullText: 'fts5-trigram' | 'pg-trgm';
}

export interface Db {
  readonly caps: Capabilities;
  all<T extends Row = Row>(sql: string, params?: Param[]): Promise<T[]>;
  get<T extends Row = Row>(sql: string, params?: Param[]): Promise<T | undefined>;
  run(sql: string, params?: Param[]): Promise<{ changes: number }>;
  /** Runs `fn` in one transaction on one connection; other callers wait until it ends. */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /**
   * A transaction that appends to the shared id space: such transactions start in the order they are asked for
   * and commit one at a time in id order, across every server of a pool (see postgres.ts). Nested calls join.
   */
  serialTx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A FIFO async lock: one transaction at a time on a single-connection driver. */
export class AsyncLock {
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  get locked(): boolean {
    return this.held;
  }

  /** Waits for every earlier holder, then holds the lock until the returned release is called. */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => {
      release = r;
    });
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    this.held = true;
    return () => {
      this.held = false;
      release();
    };
  }

  /** Resolves when nobody holds or waits for the lock. */
  idle(): Promise<void> {
    return this.tail;
  }
}
