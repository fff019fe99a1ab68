// The compliance store, kept apart from the chat store: its own SQLite file (compliance.db in the data
// directory) or its own schema (pchat_compliance) on the chat store's PostgreSQL server.
//
// Durability before acknowledgement:
// - PostgreSQL: `record(events, tx)` writes through the chat action's own transaction (the schema is on the
//   same server), so the record and the action commit together or not at all.
// - SQLite: a commit across attached files is not atomic in WAL mode, so an event that depends on a chat
//   write (a CHAT, a FILEUPLOAD) is written first as `pending`, the chat write follows, then `confirm` marks it
//   committed. `reconcile` at start settles what a crash left pending: confirmed when the chat store holds
//   the message, `aborted` (kept, never exported) when it does not.
//
// The worker reads committed, not yet exported events in id order and marks them with the batch that carried
// them, only after the adapter succeeded. A lease row makes one worker of a pool run at a time.
import { join } from 'node:path';
import { invalid } from '../core/errors.js';
import type { Db, Row } from '../store/db.js';
import type { Store } from '../store/port.js';
import { openSqliteDb } from '../store/sqlite.js';
import { type ComplianceConfig, parseComplianceConfig } from './config.js';
import type { ComplianceEvent, ComplianceEventType, NewComplianceEvent } from './types.js';

export type EventState = 'pending' | 'committed' | 'aborted';

export interface WorkerState {
  chainHead: string;
  batchSeq: number;
  leaseOwner: string | null;
  leaseUntil: number;
  lastRunAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  failures: number;
  nextAttemptAt: number;
  exportedTotal: number;
}

export interface ComplianceLocation {
  db?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema of the compliance tables (default pchat_compliance). */
  pgSchema?: string;
}

interface Migration {
  version: number;
  name: string;
  sql: (t: (name: string) => string, dialect: 'sqlite' | 'postgres') => string[];
}

// Frozen in time, like the chat store's migrations: only add steps.
const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'compliance events, configuration and worker state',
    sql: (t, d) => [
      `CREATE TABLE ${t('events')} (
        id ${d === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'},
        door TEXT NOT NULL, type TEXT NOT NULL, room_id TEXT NOT NULL, sender TEXT NOT NULL, content TEXT NOT NULL,
        message_id BIGINT, ts BIGINT NOT NULL, data TEXT NOT NULL, state TEXT NOT NULL, exported_batch BIGINT)`,
      `CREATE INDEX events_unexported ON ${t('events')} (id) WHERE exported_batch IS NULL`,
      `CREATE INDEX events_message ON ${t('events')} (message_id)`,
      `CREATE TABLE ${t('config')} (identity TEXT PRIMARY KEY, body TEXT NOT NULL)`,
      `CREATE TABLE ${t('worker')} (one INTEGER PRIMARY KEY, chain_head TEXT NOT NULL, batch_seq BIGINT NOT NULL,
        lease_owner TEXT, lease_until BIGINT NOT NULL, last_run_at BIGINT, last_success_at BIGINT, last_error TEXT,
        failures INTEGER NOT NULL, next_attempt_at BIGINT NOT NULL, exported_total BIGINT NOT NULL)`,
      `INSERT INTO ${t('worker')} (one, chain_head, batch_seq, lease_until, failures, next_attempt_at, exported_total)
        VALUES (1, '', 0, 0, 0, 0, 0)`,
    ],
  },
  {
    version: 2,
    name: 'index of pending events',
    sql: (t) => [`CREATE INDEX events_pending ON ${t('events')} (id) WHERE state = 'pending'`],
  },
];

const str = (v: unknown) => String(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function eventFrom(r: Row): ComplianceEvent {
  return {
    id: Number(r.id),
    door: str(r.door),
    type: str(r.type) as ComplianceEventType,
    roomId: str(r.room_id),
    sender: str(r.sender),
    content: str(r.content),
    messageId: numOrNull(r.message_id),
    ts: Number(r.ts),
    data: JSON.parse(str(r.data)) as Record<string, unknown>,
  };
}

export class ComplianceStore {
  private constructor(
    private readonly dbSource: () => Db,
    /** Schema-qualified table name. */
    private readonly t: (name: string) => string,
    private readonly ownsDb: boolean,
  ) {}

  /** The connection: its own, or (PostgreSQL beside a server's chat store) the chat store's current one. */
  get db(): Db {
    return this.dbSource();
  }

  get dialect(): 'sqlite' | 'postgres' {
    return this.db.caps.dialect;
  }

  /**
   * Opens (and migrates) the compliance store next to the chat store `loc` names. On PostgreSQL, `shareWith`
   * (the server's chat store) makes it use that store's connections instead of a pool of its own: then it
   * follows the chat store through a failover to the backup database, where replication has its schema too.
   */
  static async open(loc: ComplianceLocation, opts: { shareWith?: Store } = {}): Promise<ComplianceStore> {
    if (loc.db !== undefined && /^postgres(ql)?:\/\//.test(loc.db)) {
      const schema = loc.pgSchema ?? 'pchat_compliance';
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw invalid('pgSchema', `"${schema}" is not a plain schema name`);
      const shared = opts.shareWith;
      let s: ComplianceStore;
      if (shared && shared.dialect === 'postgres')
        s = new ComplianceStore(
          () => shared.raw(),
          (n) => `${schema}.${n}`,
          false,
        );
      else {
        const { openPgDb } = await import('../store/postgres.js');
        const db = await openPgDb(loc.db, { max: 4 });
        s = new ComplianceStore(
          () => db,
          (n) => `${schema}.${n}`,
          true,
        );
      }
      await s.migrate(schema);
      return s;
    }
    const db = openSqliteDb(join(loc.dataDir, 'compliance.db'));
    const s = new ComplianceStore(
      () => db,
      (n) => n,
      true,
    );
    await s.migrate(undefined);
    return s;
  }

  private async migrate(schema: string | undefined): Promise<void> {
    await this.db.tx(async (tx) => {
      if (schema) {
        await tx.get('SELECT pg_advisory_xact_lock(72627010) AS locked');
        await tx.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      }
      await tx.run(
        `CREATE TABLE IF NOT EXISTS ${this.t('schema_version')} (version INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
      );
      const row = await tx.get<{ v: number | null }>(`SELECT max(version) AS v FROM ${this.t('schema_version')}`);
      const current = Number(row?.v ?? 0);
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        for (const sql of m.sql(this.t, this.dialect)) await tx.run(sql);
        await tx.run(`INSERT INTO ${this.t('schema_version')} (version, name, applied_at) VALUES (?, ?, ?)`, [
          m.version,
          m.name,
          Date.now(),
        ]);
      }
    });
  }

  /**
   * Records events durably. On PostgreSQL, pass the chat action's transaction as `via` and the events commit
   * with it. `state` pending is for SQLite events whose chat write is still to come (see `confirm`).
   * Returns the events' ids, in order.
   */
  async record(events: NewComplianceEvent[], opts: { via?: Db; state?: EventState } = {}): Promise<number[]> {
    if (events.length === 0) return [];
    const db = opts.via && opts.via.caps.dialect === 'postgres' && this.dialect === 'postgres' ? opts.via : this.db;
    const state = opts.state ?? 'committed';
    const write = async (tx: Db) => {
      const ids: number[] = [];
      for (const e of events) {
        const r = await tx.get<{ id: number }>(
          `INSERT INTO ${this.t('events')} (door, type, room_id, sender, content, message_id, ts, data, state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
          [e.door, e.type, e.roomId, e.sender, e.content, e.messageId, e.ts, JSON.stringify(e.data ?? {}), state],
        );
        ids.push(Number(r?.id));
      }
      return ids;
    };
    return db === this.db ? this.db.tx(write) : write(db);
  }

  /** Marks pending events committed, with the chat message id each one turned out to have. */
  async confirm(pairs: { id: number; messageId: number | null }[]): Promise<void> {
    if (pairs.length === 0) return;
    await this.db.tx(async (tx) => {
      for (const p of pairs)
        await tx.run(
          `UPDATE ${this.t('events')} SET state = 'committed', message_id = coalesce(?, message_id) WHERE id = ? AND state = 'pending'`,
          [p.messageId, p.id],
        );
    });
  }

  /** Marks pending events aborted: the action they announced failed, so it was never acknowledged. */
  async abort(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.tx(async (tx) => {
      for (const id of ids)
        await tx.run(`UPDATE ${this.t('events')} SET state = 'aborted' WHERE id = ? AND state = 'pending'`, [id]);
    });
  }

  /** Pending events, oldest first; `recordedBefore` keeps only those recorded (ts) before that time. */
  async pending(recordedBefore?: number): Promise<ComplianceEvent[]> {
    const rows = await this.db.all(`SELECT * FROM ${this.t('events')} WHERE state = 'pending' ORDER BY id LIMIT 1000`);
    const all = rows.map(eventFrom);
    return recordedBefore === undefined ? all : all.filter((e) => e.ts < recordedBefore);
  }

  /**
   * Settles what a crash left pending (SQLite). `find` looks the announced chat write up in the chat store and
   * returns its message id (null: committed, no message id), or undefined when it never committed.
   */
  async reconcile(
    find: (e: ComplianceEvent) => Promise<number | null | undefined>,
    recordedBefore?: number,
  ): Promise<{
    confirmed: number;
    aborted: number;
  }> {
    const pending = await this.pending(recordedBefore);
    const confirmed: { id: number; messageId: number | null }[] = [];
    const aborted: number[] = [];
    for (const e of pending) {
      const messageId = await find(e);
      if (messageId === undefined) aborted.push(e.id);
      else confirmed.push({ id: e.id, messageId });
    }
    await this.confirm(confirmed);
    await this.abort(aborted);
    return { confirmed: confirmed.length, aborted: aborted.length };
  }

  /** The oldest `limit` committed events no batch has carried yet, in id order, after `afterId`. */
  async unexported(limit: number, afterId = 0): Promise<ComplianceEvent[]> {
    const rows = await this.db.all(
      `SELECT * FROM ${this.t('events')} WHERE exported_batch IS NULL AND state = 'committed' AND id > ?
       ORDER BY id LIMIT ?`,
      [afterId, limit],
    );
    return rows.map(eventFrom);
  }

  async counts(): Promise<{ pending: number; unexported: number; exported: number; aborted: number }> {
    const rows = await this.db.all<{ k: string; n: number }>(
      `SELECT CASE WHEN state <> 'committed' THEN state WHEN exported_batch IS NULL THEN 'unexported'
         ELSE 'exported' END AS k, count(*) AS n FROM ${this.t('events')} GROUP BY 1`,
    );
    const out = { pending: 0, unexported: 0, exported: 0, aborted: 0 };
    for (const r of rows) out[r.k as keyof typeof out] = Number(r.n);
    return out;
  }

  /** Every event about these chat messages (a removal keeps the original in the record). */
  async forMessages(messageIds: number[]): Promise<ComplianceEvent[]> {
    if (messageIds.length === 0) return [];
    const rows = await this.db.all(
      `SELECT * FROM ${this.t('events')} WHERE message_id IN (${messageIds.map(() => '?').join(', ')}) ORDER BY id`,
      messageIds,
    );
    return rows.map(eventFrom);
  }

  /** All events (tests and tools); `afterId` pages. */
  async list(afterId = 0, limit = 1000): Promise<(ComplianceEvent & { state: EventState; batch: number | null })[]> {
    const rows = await this.db.all(`SELECT * FROM ${this.t('events')} WHERE id > ? ORDER BY id LIMIT ?`, [
      afterId,
      limit,
    ]);
    return rows.map((r) => ({
      ...eventFrom(r),
      state: str(r.state) as EventState,
      batch: numOrNull(r.exported_batch),
    }));
  }

  /**
   * The largest chat message id below which every CHAT/FILEUPLOAD event has been handed to an adapter: retention
   * may purge messages with smaller ids. Infinity when nothing waits.
   */
  async exportedBelow(): Promise<number> {
    const r = await this.db.get<{ m: number | null }>(
      `SELECT min(message_id) AS m FROM ${this.t('events')}
       WHERE message_id IS NOT NULL AND state <> 'aborted' AND exported_batch IS NULL`,
    );
    return r?.m === null || r?.m === undefined ? Number.POSITIVE_INFINITY : Number(r.m);
  }

  // ---- configuration ----------------------------------------------------------------------------------------

  /** `via`: read through this transaction (PostgreSQL, a chat transaction) instead of another connection. */
  async getConfig(identity = 'global', via?: Db): Promise<ComplianceConfig | undefined> {
    const db = via && via.caps.dialect === 'postgres' && this.dialect === 'postgres' ? via : this.db;
    const r = await db.get(`SELECT body FROM ${this.t('config')} WHERE identity = ?`, [identity]);
    return r ? parseComplianceConfig(JSON.parse(str(r.body))) : undefined;
  }

  async putConfig(c: ComplianceConfig, identity = 'global'): Promise<void> {
    await this.db.run(
      `INSERT INTO ${this.t('config')} (identity, body) VALUES (?, ?)
       ON CONFLICT (identity) DO UPDATE SET body = excluded.body`,
      [identity, JSON.stringify(c)],
    );
  }

  async removeConfig(identity = 'global'): Promise<boolean> {
    return (await this.db.run(`DELETE FROM ${this.t('config')} WHERE identity = ?`, [identity])).changes > 0;
  }

  // ---- worker state -----------------------------------------------------------------------------------------

  async workerState(): Promise<WorkerState> {
    const r = (await this.db.get(`SELECT * FROM ${this.t('worker')} WHERE one = 1`)) as Row;
    return {
      chainHead: str(r.chain_head),
      batchSeq: Number(r.batch_seq),
      leaseOwner: r.lease_owner === null ? null : str(r.lease_owner),
      leaseUntil: Number(r.lease_until),
      lastRunAt: numOrNull(r.last_run_at),
      lastSuccessAt: numOrNull(r.last_success_at),
      lastError: r.last_error === null ? null : str(r.last_error),
      failures: Number(r.failures),
      nextAttemptAt: Number(r.next_attempt_at),
      exportedTotal: Number(r.exported_total),
    };
  }

  /** Takes (or renews) the pool-wide worker lease; false when another server holds it. */
  async takeLease(owner: string, now: number, ms: number): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE ${this.t('worker')} SET lease_owner = ?, lease_until = ?
       WHERE one = 1 AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)`,
      [owner, now + ms, owner, now],
    );
    return r.changes === 1;
  }

  async releaseLease(owner: string): Promise<void> {
    await this.db.run(
      `UPDATE ${this.t('worker')} SET lease_owner = NULL, lease_until = 0 WHERE one = 1 AND lease_owner = ?`,
      [owner],
    );
  }

  /**
   * After the adapter succeeded: marks the batch's events and advances the chain, in one transaction, only
   * while `owner` still holds the lease (otherwise another server has taken over and will write the batch
   * again, to the same file names). Returns false when the lease was lost.
   */
  async completeBatch(owner: string, seq: number, hash: string, eventIds: number[], now: number): Promise<boolean> {
    return this.db
      .tx(async (tx) => {
        const held = await tx.run(
          `UPDATE ${this.t('worker')} SET batch_seq = ?, chain_head = ?, exported_total = exported_total + ?,
           last_success_at = ?, last_error = NULL, failures = 0
         WHERE one = 1 AND lease_owner = ? AND batch_seq = ?`,
          [seq, hash, eventIds.length, now, owner, seq - 1],
        );
        if (held.changes !== 1) throw new LeaseLost();
        for (let i = 0; i < eventIds.length; i += 500) {
          const slice = eventIds.slice(i, i + 500);
          await tx.run(
            `UPDATE ${this.t('events')} SET exported_batch = ? WHERE id IN (${slice.map(() => '?').join(', ')})
           AND exported_batch IS NULL`,
            [seq, ...slice],
          );
        }
        return true;
      })
      .catch((e) => {
        if (e instanceof LeaseLost) return false;
        throw e;
      });
  }

  async noteRun(now: number, error: string | null, nextAttemptAt: number): Promise<void> {
    await this.db.run(
      error === null
        ? `UPDATE ${this.t('worker')} SET last_run_at = ?, next_attempt_at = ?, last_error = NULL, failures = 0
           WHERE one = 1`
        : `UPDATE ${this.t('worker')} SET last_run_at = ?, next_attempt_at = ?, last_error = ?, failures = failures + 1
           WHERE one = 1`,
      error === null ? [now, nextAttemptAt] : [now, nextAttemptAt, error],
    );
  }

  async close(): Promise<void> {
    if (this.ownsDb) await this.db.close();
  }
}

class LeaseLost extends Error {}
