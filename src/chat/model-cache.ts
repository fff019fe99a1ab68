// The chat service's in-memory picture of the model (rooms, categories, add-ins, configuration, directory),
// kept current by reading the store's change stream. Admin changes made by another process (the CLI, another
// server of the pool) arrive here within one poll interval, and listeners apply their live effects.
import type { Addin, Category, ChatConfig, Room } from '../core/model.js';
import { DirectorySnapshot } from '../directory/snapshot.js';
import type { ChangeEvent, Store } from '../store/port.js';

export type ChangeListener = (changes: ChangeEvent[]) => void | Promise<void>;

export class ModelCache {
  rooms = new Map<string, Room>();
  categories = new Map<string, Category>();
  addins = new Map<string, Addin>();
  directory!: DirectorySnapshot;
  config!: ChatConfig;
  private lastChangeId = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly listeners: ChangeListener[] = [];

  /**
   * `onListenerError` hears of a listener that failed on a batch; the other listeners still get the batch (the
   * change is applied here already, and is not read again).
   */
  constructor(
    private readonly store: Store,
    private readonly onListenerError: (err: unknown, changes: ChangeEvent[]) => void = () => {},
  ) {}

  /** The id of the newest store change applied to this picture. */
  get seenChangeId(): number {
    return this.lastChangeId;
  }

  async load(): Promise<void> {
    this.lastChangeId = await this.store.changes.latestId();
    const [rooms, categories, addins, directory, config] = await Promise.all([
      this.store.rooms.list(),
      this.store.categories.list(),
      this.store.addins.list(),
      DirectorySnapshot.load(this.store),
      this.store.config.get(),
    ]);
    this.rooms = new Map(rooms.map((r) => [r.id, r]));
    this.categories = new Map(categories.map((c) => [c.id, c]));
    this.addins = new Map(addins.map((a) => [a.name, a]));
    this.directory = directory;
    this.config = config;
  }

  onChange(l: ChangeListener): void {
    this.listeners.push(l);
  }

  start(intervalMs = 200): void {
    // a failed read (store briefly unavailable) is retried at the next tick, never an unhandled rejection
    this.timer = setInterval(() => {
      if (!this.polling) this.poll().catch(() => {});
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Reads new changes, refreshes what they touch, then tells the listeners. Safe to call at any time; when a
   * poll is already running it waits for it and reads again, so a change written before the call is applied
   * when the returned promise settles.
   */
  async poll(): Promise<void> {
    while (this.polling) await this.polling.catch(() => {});
    const p = this.readChanges();
    this.polling = p;
    try {
      await p;
    } finally {
      if (this.polling === p) this.polling = undefined;
    }
  }

  private async readChanges(): Promise<void> {
    for (;;) {
      const changes = await this.store.changes.since(this.lastChangeId, 500);
      if (changes.length === 0) return;
      this.lastChangeId = (changes[changes.length - 1] as ChangeEvent).id;
      await this.apply(changes);
      for (const l of this.listeners) {
        try {
          await l(changes);
        } catch (e) {
          this.onListenerError(e, changes);
        }
      }
    }
  }

  private async apply(changes: ChangeEvent[]): Promise<void> {
    let directory = false;
    for (const c of changes) {
      const [kind, what] = c.type.split('.') as [string, string];
      if (kind === 'room') await this.refresh(this.rooms, c.subject, what, () => this.store.rooms.get(c.subject));
      else if (kind === 'category')
        await this.refresh(this.categories, c.subject, what, () => this.store.categories.get(c.subject));
      else if (kind === 'addin')
        await this.refresh(this.addins, c.subject, what, () => this.store.addins.get(c.subject));
      else if (kind === 'config') this.config = await this.store.config.get();
      else if (kind === 'user' || kind === 'group' || kind === 'policy') directory = true;
    }
    if (directory) this.directory = await DirectorySnapshot.load(this.store);
  }

  private async refresh<T>(
    map: Map<string, T>,
    key: string,
    what: string,
    load: () => Promise<T | undefined>,
  ): Promise<void> {
    const v = what === 'removed' ? undefined : await load();
    if (v === undefined) map.delete(key);
    else map.set(key, v);
  }
}
