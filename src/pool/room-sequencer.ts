// Delivers a room's messages to this server's sessions in store-id order, whichever server committed them.
//
// In a pool, each server publishes its own commits, so two servers' messages for one room can arrive in another
// order than their ids. Every message envelope carries `prevId`, the id of the room's previous message (the store
// commits ids in order across the pool, so that previous message is committed before this one). A message whose
// `prevId` is already delivered goes out at once; one that arrives ahead of its predecessor waits, for at most
// `holdMs`, and then the gap is filled from the store (the predecessor's envelope was lost or is late: a bus
// outage, a server that died between commit and publish). After a bus outage `resync()` fills every room's gap.
// Messages at or below the last delivered id are duplicates (at-least-once delivery) and are dropped.

export interface SequencerOptions<E> {
  /** How long a message may wait for its predecessor before the store is asked (default 100 ms). */
  holdMs?: number;
  /** The room's stored messages with afterId < id ≤ upToId (or all newer, without upToId), ascending. */
  fetchAfter(roomId: string, afterId: number, upToId?: number): Promise<{ id: number; event: E }[]>;
  deliver(roomId: string, event: E): void;
  onError?(roomId: string, err: unknown): void;
}

interface Pending<E> {
  id: number;
  prevId: number;
  event: E;
}

interface RoomState<E> {
  last: number;
  waiting: Pending<E>[]; // ascending by id
  timer: NodeJS.Timeout | undefined;
  filling: boolean;
}

export class RoomSequencer<E> {
  private readonly rooms = new Map<string, RoomState<E>>();
  private readonly holdMs: number;

  constructor(private readonly opts: SequencerOptions<E>) {
    this.holdMs = opts.holdMs ?? 100;
  }

  /** Starts ordering a room's messages after `lastId` (the newest message its sessions already have). */
  track(roomId: string, lastId: number): void {
    const st = this.rooms.get(roomId);
    if (st) {
      if (lastId > st.last) st.last = lastId;
      return;
    }
    this.rooms.set(roomId, { last: lastId, waiting: [], timer: undefined, filling: false });
  }

  /** Stops ordering a room (no local session is in it any more). */
  untrack(roomId: string): void {
    const st = this.rooms.get(roomId);
    if (st?.timer) clearTimeout(st.timer);
    this.rooms.delete(roomId);
  }

  isTracked(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  lastDelivered(roomId: string): number | undefined {
    return this.rooms.get(roomId)?.last;
  }

  /** Offers a committed message; `prevId` is the id of the room's message before it (0 when none). */
  offer(roomId: string, id: number, prevId: number, event: E): void {
    const st = this.rooms.get(roomId);
    if (!st) return;
    if (id <= st.last || st.waiting.some((w) => w.id === id)) return;
    if (prevId <= st.last && st.waiting.length === 0) {
      st.last = id;
      this.opts.deliver(roomId, event);
      return;
    }
    insertSorted(st.waiting, { id, prevId, event });
    this.drain(roomId, st);
    if (st.waiting.length > 0 && !st.timer && !st.filling) {
      st.timer = setTimeout(() => {
        st.timer = undefined;
        void this.fill(roomId, st);
      }, this.holdMs);
      st.timer.unref?.();
    }
  }

  /** Fills every tracked room's gap from the store (after a bus outage). */
  async resync(): Promise<void> {
    await Promise.all([...this.rooms.entries()].map(([roomId, st]) => this.fill(roomId, st, true)));
  }

  /** Delivers the waiting messages whose predecessor is delivered. */
  private drain(roomId: string, st: RoomState<E>): void {
    while (st.waiting.length > 0) {
      const next = st.waiting[0] as Pending<E>;
      if (next.id <= st.last) {
        st.waiting.shift();
        continue;
      }
      if (next.prevId > st.last) return;
      st.waiting.shift();
      st.last = next.id;
      this.opts.deliver(roomId, next.event);
    }
    if (st.timer) {
      clearTimeout(st.timer);
      st.timer = undefined;
    }
  }

  private async fill(roomId: string, st: RoomState<E>, all = false): Promise<void> {
    if (st.filling || this.rooms.get(roomId) !== st) return;
    st.filling = true;
    try {
      const upTo = all ? undefined : st.waiting[st.waiting.length - 1]?.id;
      if (!all && upTo === undefined) return;
      const fetched = await this.opts.fetchAfter(roomId, st.last, upTo);
      if (this.rooms.get(roomId) !== st) return;
      const byId = new Map<number, E>();
      for (const f of fetched) if (f.id > st.last) byId.set(f.id, f.event);
      // what waits up to the filled bound goes out with the fetched rows; what arrived beyond it keeps waiting
      const bound = upTo ?? Number.POSITIVE_INFINITY;
      for (const w of st.waiting) if (w.id <= bound && !byId.has(w.id)) byId.set(w.id, w.event);
      st.waiting = st.waiting.filter((w) => w.id > bound);
      for (const id of [...byId.keys()].sort((a, b) => a - b)) {
        if (id <= st.last) continue;
        st.last = id;
        this.opts.deliver(roomId, byId.get(id) as E);
      }
    } catch (e) {
      this.opts.onError?.(roomId, e);
      // the store is unreachable: deliver what is here in id order rather than hold it for ever
      const waiting = st.waiting;
      st.waiting = [];
      for (const w of waiting) {
        if (w.id <= st.last) continue;
        st.last = w.id;
        this.opts.deliver(roomId, w.event);
      }
    } finally {
      st.filling = false;
      if (st.waiting.length > 0 && this.rooms.get(roomId) === st) this.drain(roomId, st);
      if (st.waiting.length > 0 && !st.timer && this.rooms.get(roomId) === st) {
        st.timer = setTimeout(() => {
          st.timer = undefined;
          void this.fill(roomId, st);
        }, this.holdMs);
        st.timer.unref?.();
      }
    }
  }
}

function insertSorted<E>(list: Pending<E>[], p: Pending<E>): void {
  let i = list.length;
  while (i > 0 && (list[i - 1] as Pending<E>).id > p.id) i--;
  list.splice(i, 0, p);
}
