// A tiny change notifier and the Preact hook that re-renders a component when it fires.
import { useEffect, useState } from 'preact/hooks';

export class Observable {
  private readonly subs = new Set<() => void>();
  version = 0;

  subscribe(fn: () => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  protected changed(): void {
    this.version++;
    for (const fn of [...this.subs]) fn();
  }
}

/** Re-renders the calling component whenever `o` changes. */
export function useObservable(o: Observable | null | undefined): void {
  const [, setTick] = useState(0);
  useEffect(() => (o ? o.subscribe(() => setTick((v) => v + 1)) : undefined), [o]);
}
