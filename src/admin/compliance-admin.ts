// Admin verbs for compliance, message administration, retention and legal hold (written once for the CLI and
// the admin API). Only administrators (or the local operator) may use them; a room manager may not.
import { isAbsolute, resolve } from 'node:path';
import { verifyDirectory } from '../compliance/chain.js';
import { type ComplianceConfig, ComplianceConfigSchema, parseComplianceConfig } from '../compliance/config.js';
import { detailsFromStore } from '../compliance/details.js';
import { ComplianceRecorder } from '../compliance/recorder.js';
import { RetentionJob, type RetentionOutcome } from '../compliance/retention.js';
import type { ComplianceStore } from '../compliance/store.js';
import type { NewComplianceEvent } from '../compliance/types.js';
import { ComplianceWorker, type RunOutcome } from '../compliance/worker.js';
import { invalid, PchatError } from '../core/errors.js';
import { normalizeSipUri } from '../core/principals.js';
import type { LegalHold, Store, StoredMessage } from '../store/port.js';
import type { Actor, AdminService } from './admin-service.js';

/** The original's default replacement text (Remove-CsPersistentChatMessage -ReplaceMessage). */
export const DEFAULT_REPLACEMENT = 'This message was replaced by the Persistent Chat administrator.';

export type MatchClause = 'all' | 'or' | 'exact';

export interface MessageRemoval {
  room: string;
  user?: string;
  /** ISO dates; an end date without a time means the end of that day (UTC). */
  startDate?: string;
  endDate?: string;
  filter?: string;
  match?: MatchClause;
  caseSensitive?: boolean;
  /** Replace the text with this instead of removing the message (DEFAULT_REPLACEMENT when ''). */
  replace?: string;
}

export interface ComplianceStatus {
  configured: boolean;
  enabled: boolean;
  adapterType: string | null;
  runIntervalSeconds: number | null;
  outputDirectory: string | null;
  pending: number;
  unexported: number;
  exported: number;
  aborted: number;
  batches: number;
  chainHead: string;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  failures: number;
  nextAttemptAt: string | null;
}

export interface ComplianceAdminOptions {
  /** Opens (once) the compliance store beside the chat store. */
  compliance: () => Promise<ComplianceStore>;
  /** Deletes a file's content from the file store. */
  removeFile: (storageKey: string) => Promise<void>;
  dataDir: string;
  domain: string;
  /** In a running server: its own worker, so a run asked for through the API counts in its /metrics. */
  worker?: () => ComplianceWorker;
}

const PAGE = 500;
const iso = (ms: number | null) => (ms === null || ms === 0 ? null : new Date(ms).toISOString());

/** Parses --start-date/--end-date: ISO 8601; a bare date at the end of a range covers that whole day. */
export function parseDate(field: string, s: string | undefined, endOfDay: boolean): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(t);
  const ms = Date.parse(dateOnly ? `${t}T00:00:00Z` : t);
  if (!Number.isFinite(ms))
    throw invalid(field, `"${s}" is not a date (use ISO 8601, e.g. 2026-12-01 or 2026-12-01T09:30:00Z)`);
  return dateOnly && endOfDay ? ms + 24 * 3600 * 1000 - 1 : ms;
}

/** A RunInterval as written by people: `900`, `90s`, `15m`, `2h`, `30d` → seconds. */
export function parseInterval(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)\s*([smhd]?)$/i.exec(v.trim());
  if (!m) throw invalid('runInterval', `"${v}" is not a duration (e.g. 900, 15m, 2h, 30d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? '').toLowerCase()] as number;
  return Number(m[1]) * unit;
}

/** The text test of Remove-CsPersistentChatMessage: all words, any word, or the exact phrase. */
export function textMatcher(filter: string | undefined, match: MatchClause, caseSensitive: boolean) {
  if (filter === undefined || filter.trim() === '') return () => true;
  const norm = (s: string) => (caseSensitive ? s : s.toLocaleLowerCase());
  const f = norm(filter.trim());
  const words = f.split(/\s+/u);
  return (text: string) => {
    const t = norm(text);
    if (match === 'exact') return t.includes(f);
    if (match === 'or') return words.some((w) => t.includes(w));
    return words.every((w) => t.includes(w));
  };
}

export class ComplianceAdmin {
  private recorderP: Promise<ComplianceRecorder> | undefined;

  constructor(
    readonly admin: AdminService,
    private readonly opts: ComplianceAdminOptions,
  ) {}

  private get store(): Store {
    return this.admin.store;
  }

  private recorder(): Promise<ComplianceRecorder> {
    this.recorderP ??= this.opts.compliance().then((c) => new ComplianceRecorder(c));
    return this.recorderP;
  }

  private async compliance(): Promise<ComplianceStore> {
    return (await this.recorder()).compliance;
  }

  private by(actor: Actor): string {
    return actor.kind === 'user' ? actor.uri : 'system';
  }

  // ---- configuration ----------------------------------------------------------------------------------------

  async getComplianceConfig(actor: Actor): Promise<ComplianceConfig> {
    await this.admin.requireAdmin(actor);
    const c = await (await this.compliance()).getConfig();
    if (!c) throw new PchatError('COMPLIANCE_NOT_CONFIGURED');
    return c;
  }

  async newComplianceConfig(actor: Actor, input: Partial<ComplianceConfig>): Promise<ComplianceConfig> {
    await this.admin.requireAdmin(actor);
    const cs = await this.compliance();
    if (await cs.getConfig()) throw new PchatError('COMPLIANCE_CONFIG_EXISTS');
    const c = parseComplianceConfig(input);
    await cs.putConfig(c);
    (await this.recorder()).invalidate();
    return c;
  }

  async setComplianceConfig(actor: Actor, input: Partial<ComplianceConfig>): Promise<ComplianceConfig> {
    await this.admin.requireAdmin(actor);
    const cs = await this.compliance();
    const current = await cs.getConfig();
    if (!current) throw new PchatError('COMPLIANCE_NOT_CONFIGURED');
    const c = parseComplianceConfig({ ...current, ...input });
    await cs.putConfig(c);
    (await this.recorder()).invalidate();
    return c;
  }

  async removeComplianceConfig(actor: Actor): Promise<void> {
    await this.admin.requireAdmin(actor);
    if (!(await (await this.compliance()).removeConfig())) throw new PchatError('COMPLIANCE_NOT_CONFIGURED');
    (await this.recorder()).invalidate();
  }

  /** The option names `config set` accepts (for the CLI's help and the API schema). */
  static configKeys(): string[] {
    return Object.keys(ComplianceConfigSchema.shape);
  }

  // ---- worker -----------------------------------------------------------------------------------------------

  async complianceStatus(actor: Actor): Promise<ComplianceStatus> {
    await this.admin.requireAdmin(actor);
    const cs = await this.compliance();
    const [c, counts, w] = await Promise.all([cs.getConfig(), cs.counts(), cs.workerState()]);
    return {
      configured: c !== undefined,
      enabled: c?.enabled ?? false,
      adapterType: c?.adapterType ?? null,
      runIntervalSeconds: c?.runIntervalSeconds ?? null,
      outputDirectory: c ? this.outputDirectory(c) : null,
      ...counts,
      batches: w.batchSeq,
      chainHead: w.chainHead,
      lastRunAt: iso(w.lastRunAt),
      lastSuccessAt: iso(w.lastSuccessAt),
      lastError: w.lastError,
      failures: w.failures,
      nextAttemptAt: iso(w.nextAttemptAt),
    };
  }

  outputDirectory(c: ComplianceConfig): string {
    return isAbsolute(c.adapterOutputDirectory)
      ? c.adapterOutputDirectory
      : resolve(this.opts.dataDir, c.adapterOutputDirectory);
  }

  /** A worker over this store (the server runs one on a timer; `run-now` runs one pass). */
  async worker(): Promise<ComplianceWorker> {
    return new ComplianceWorker(await this.compliance(), {
      baseDir: this.opts.dataDir,
      details: detailsFromStore(this.store, this.opts.domain),
    });
  }

  async runComplianceNow(actor: Actor): Promise<RunOutcome> {
    await this.admin.requireAdmin(actor);
    const c = await (await this.compliance()).getConfig();
    if (!c) throw new PchatError('COMPLIANCE_NOT_CONFIGURED');
    return (this.opts.worker?.() ?? (await this.worker())).tick(true);
  }

  async verifyOutputs(actor: Actor, dir?: string) {
    await this.admin.requireAdmin(actor);
    let target = dir;
    if (target === undefined) {
      const c = await (await this.compliance()).getConfig();
      if (!c)
        throw new PchatError('COMPLIANCE_NOT_CONFIGURED', 'name the directory to verify, or configure compliance');
      target = this.outputDirectory(c);
    }
    try {
      return { directory: resolve(target), ...(await verifyDirectory(resolve(target))) };
    } catch (e) {
      throw invalid('directory', `cannot read ${target}: ${(e as Error).message}`);
    }
  }

  // ---- message administration -------------------------------------------------------------------------------

  /** Remove-CsPersistentChatMessage: removes or replaces the selected messages of a room. */
  async removeMessages(actor: Actor, input: MessageRemoval): Promise<{ room: string; count: number; ids: number[] }> {
    await this.admin.requireAdmin(actor);
    const room = await this.admin.getRoom(input.room);
    const author = input.user !== undefined ? normalizeSipUri(input.user, 'user') : undefined;
    const since = parseDate('startDate', input.startDate, false);
    const until = parseDate('endDate', input.endDate, true);
    if (since !== undefined && until !== undefined && since > until) throw invalid('endDate', 'is before startDate');
    const match = input.match ?? 'all';
    if (!['all', 'or', 'exact'].includes(match)) throw invalid('match', 'must be all, or or exact');
    const test = textMatcher(input.filter, match, input.caseSensitive === true);
    const replacement = input.replace === undefined ? null : input.replace.trim() || DEFAULT_REPLACEMENT;
    const rec = await this.recorder();
    const by = this.by(actor);
    const ids: number[] = [];
    let afterId = 0;
    for (;;) {
      const page = await this.store.moderation.select({
        roomId: room.id,
        ...(author !== undefined ? { author } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        afterId,
        limit: PAGE,
      });
      if (page.length === 0) break;
      afterId = (page[page.length - 1] as StoredMessage).id;
      const chosen = page.filter((m) => test(`${m.title ?? ''}\n${m.text}`) && m.text !== replacement);
      if (chosen.length > 0) {
        const now = Date.now();
        const events: NewComplianceEvent[] = chosen.map((m) => ({
          door: 'admin',
          type: replacement === null ? 'REMOVE' : 'REPLACE',
          roomId: room.id,
          sender: by,
          content: m.text,
          messageId: m.id,
          ts: now,
          data: {
            author: m.author,
            postedAt: m.ts,
            kind: m.kind,
            ...(m.title !== null ? { title: m.title } : {}),
            ...(m.file ? { file: m.file } : {}),
            ...(replacement !== null ? { replacement } : {}),
          },
        }));
        const out = await rec.around(this.store, events, (tx) =>
          tx.moderation.rewrite(
            room.id,
            chosen.map((m) => m.id),
            replacement,
            by,
          ),
        );
        for (const f of out.files) await this.opts.removeFile(f.storageKey).catch(() => {});
        ids.push(...out.messages.map((m) => m.id));
      }
      if (page.length < PAGE) break;
    }
    return { room: room.name, count: ids.length, ids };
  }

  /** Clear-CsPersistentChatRoom: removes all content of a room up to the end date, files included. */
  async clearRoom(
    actor: Actor,
    roomKey: string,
    endDate: string,
  ): Promise<{ room: string; messages: number; files: number }> {
    await this.admin.requireAdmin(actor);
    const room = await this.admin.getRoom(roomKey);
    const until = parseDate('endDate', endDate, true) as number;
    const rec = await this.recorder();
    const by = this.by(actor);
    let messages = 0;
    let files = 0;
    for (;;) {
      const candidates = await this.store.moderation.select({ roomId: room.id, until, limit: PAGE });
      const now = Date.now();
      const events: NewComplianceEvent[] = candidates.map((m) => ({
        door: 'admin',
        type: 'REMOVE',
        roomId: room.id,
        sender: by,
        content: m.text,
        messageId: m.id,
        ts: now,
        data: { author: m.author, postedAt: m.ts, kind: m.kind, clear: true, until },
      }));
      const out = await rec.around(this.store, events, (tx) => tx.moderation.clearRoom(room.id, until, by, PAGE));
      for (const f of out.files) await this.opts.removeFile(f.storageKey).catch(() => {});
      messages += out.messages.length;
      files += out.files.length;
      if (out.messages.length < PAGE && out.files.length < PAGE) break;
    }
    return { room: room.name, messages, files };
  }

  // ---- retention and legal hold -----------------------------------------------------------------------------

  async getRetention(actor: Actor): Promise<{ scope: string; category: string | null; days: number }[]> {
    await this.admin.requireAdmin(actor);
    const out = [];
    for (const [scope, days] of await this.store.moderation.retention()) {
      const c = scope === 'global' ? undefined : await this.store.categories.get(scope);
      out.push({ scope, category: c?.name ?? null, days });
    }
    return out;
  }

  /** Sets (days) or removes (null) the retention period of a category, or the global default. */
  async setRetention(actor: Actor, category: string | null, days: number | null): Promise<void> {
    await this.admin.requireAdmin(actor);
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > 36500))
      throw invalid('days', 'must be a whole number of days from 1 to 36500');
    const scope = category === null ? 'global' : (await this.admin.getCategory(category)).id;
    await this.store.moderation.setRetention(scope, days);
  }

  async runRetentionNow(actor: Actor): Promise<RetentionOutcome> {
    await this.admin.requireAdmin(actor);
    return this.retentionJob(await this.recorder()).run();
  }

  retentionJob(recorder: ComplianceRecorder): RetentionJob {
    return new RetentionJob(this.store, { removeFile: this.opts.removeFile, recorder });
  }

  private async holdSubject(target: {
    room?: string;
    user?: string;
  }): Promise<{ kind: 'room' | 'user'; subject: string }> {
    if ((target.room === undefined) === (target.user === undefined))
      throw invalid('hold', 'name exactly one room or one user');
    if (target.room !== undefined) return { kind: 'room', subject: (await this.admin.getRoom(target.room)).id };
    return { kind: 'user', subject: normalizeSipUri(target.user as string, 'user') };
  }

  async addHold(actor: Actor, target: { room?: string; user?: string }, reason = ''): Promise<LegalHold> {
    await this.admin.requireAdmin(actor);
    const { kind, subject } = await this.holdSubject(target);
    if (reason.length > 4096) throw invalid('reason', 'is longer than 4096 characters');
    const h: LegalHold = { kind, subject, reason, createdBy: this.by(actor), createdAt: Date.now() };
    if (!(await this.store.moderation.addHold(h))) throw new PchatError('HOLD_EXISTS');
    return h;
  }

  async removeHold(actor: Actor, target: { room?: string; user?: string }): Promise<void> {
    await this.admin.requireAdmin(actor);
    const { kind, subject } = await this.holdSubject(target);
    if (!(await this.store.moderation.removeHold(kind, subject))) throw new PchatError('HOLD_NOT_FOUND');
  }

  async listHolds(actor: Actor): Promise<LegalHold[]> {
    await this.admin.requireAdmin(actor);
    return this.store.moderation.holds();
  }
}
