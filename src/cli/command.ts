// The shape of a `pchat` command (noun → verbs) and the context a verb runs in: its parsed options, the
// output, and the admin service over the chosen store, opened on first use and closed by main.
import type { AdminService } from '../admin/admin-service.js';
import { invalid, PchatError } from '../core/errors.js';
import type { Store } from '../store/port.js';
import { type OptSpec, type OptValues, optString, UsageError } from './args.js';
import type { Output } from './output.js';

export interface VerbDef {
  summary: string;
  /** Positional words after the verb, e.g. `[NAME]`; shown in help. */
  args?: string;
  /** How many positional words the verb takes (default 0). */
  maxPositionals?: number;
  options: OptSpec[];
  /** The Lync cmdlet it replaces (help and docs). */
  replaces?: string;
  example?: string;
  /** True for verbs that need no store (serve opens its own). */
  noStore?: boolean;
  run(ctx: Context): Promise<void>;
}

export interface NounDef {
  name: string;
  summary: string;
  verbs: Record<string, VerbDef>;
}

/** Options every verb takes. */
export const GLOBAL_OPTIONS: OptSpec[] = [
  { name: 'json', kind: 'flag', description: 'print machine-readable JSON on stdout' },
  {
    name: 'data',
    kind: 'string',
    value: 'DIR',
    description: 'data directory of the SQLite store (default ./data, env PCHAT_DATA_DIR)',
  },
  {
    name: 'db',
    kind: 'string',
    value: 'URL',
    description: 'postgres://… URL: use PostgreSQL instead of SQLite (env PCHAT_DB)',
  },
  { name: 'help', kind: 'flag', description: 'show this help' },
];

export class Context {
  private store: Store | undefined;
  private service: AdminService | undefined;
  private filesDir: string | undefined;

  constructor(
    readonly command: string,
    readonly opts: OptValues,
    readonly positionals: string[],
    readonly out: Output,
  ) {}

  get json(): boolean {
    return this.opts.json === true;
  }

  /** The object's key: the first positional word or --identity (exactly one of them). */
  key(what: string): string | undefined {
    const pos = this.positionals[0];
    const id = optString(this.opts, 'identity');
    if (pos !== undefined && id !== undefined)
      throw new UsageError(`give the ${what} once, as a word or with --identity`, this.command);
    return pos ?? id;
  }

  requireKey(what: string): string {
    const k = this.key(what);
    if (k === undefined || k.trim() === '') throw new UsageError(`name the ${what}`, this.command);
    return k;
  }

  async admin(): Promise<AdminService> {
    if (this.service) return this.service;
    // Loaded on first use, so help and usage errors do not pay for the store, zod and the database drivers.
    const [{ AdminService, adminOptionsFrom }, { loadConfig }, { isPostgresUrl, openStore }] = await Promise.all([
      import('../admin/admin-service.js'),
      import('../config/config.js'),
      import('../store/open.js'),
    ]);
    const config = loadConfig({ dataDir: optString(this.opts, 'data'), db: optString(this.opts, 'db') });
    if (config.db !== undefined && config.db !== '' && !isPostgresUrl(config.db))
      throw invalid('db', `"${config.db}" is not a postgres:// URL`);
    try {
      this.store = await openStore({ db: config.db, dataDir: config.dataDir });
    } catch (e) {
      if (e instanceof PchatError) throw e;
      throw new PchatError('STORE_UNAVAILABLE', `db: cannot open the store: ${(e as Error).message}`, {
        field: 'db',
      });
    }
    this.service = new AdminService(this.store, adminOptionsFrom(config));
    this.filesDir = config.filesDir;
    return this.service;
  }

  /** The store itself and the file store's directory, for the bulk verbs (export, import, migrate). */
  async storeAndFiles(): Promise<{ store: Store; filesDir: string }> {
    await this.admin();
    return { store: this.store as Store, filesDir: this.filesDir as string };
  }

  async close(): Promise<void> {
    const s = this.store;
    this.store = undefined;
    this.service = undefined;
    await s?.close();
  }
}
