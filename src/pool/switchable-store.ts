// A store that can be pointed at another database while the server runs: the pool's failover. Every property
// read goes to the current store; `switchTo` makes a new one current (reads and writes from then on go there)
// and closes the old one. Services hold this object, never the adapter behind it, so none of them needs to know
// a failover happened. A Proxy rather than a hand-written wrapper, so a sub-store added to the port later is
// forwarded too. Used only in pool mode with a backup database; the embedded default never wraps its store.
import type { Store } from '../store/port.js';

export interface SwitchableStore {
  readonly store: Store;
  /** Which database is current. */
  readonly which: 'primary' | 'backup';
  /** Makes `next` current and closes the previous store (calls still in flight on it may fail). */
  switchTo(next: Store, which: 'primary' | 'backup'): Promise<void>;
}

export function switchableStore(initial: Store): SwitchableStore {
  let current = initial;
  let which: 'primary' | 'backup' = 'primary';
  const store = new Proxy({} as Store, {
    get(_target, key) {
      if (key === 'close') return () => current.close();
      const v = Reflect.get(current, key, current);
      return typeof v === 'function' ? v.bind(current) : v;
    },
    has: (_target, key) => Reflect.has(current, key),
  });
  return {
    store,
    get which() {
      return which;
    },
    async switchTo(next, to) {
      const old = current;
      current = next;
      which = to;
      if (old !== next) await old.close().catch(() => {});
    },
  };
}
