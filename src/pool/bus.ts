// The bus port: how committed events leave a server and reach every server of the pool (this one included).
// The chat core publishes each committed message, roster change and live admin effect once, to its room's
// subject; each server subscribes and delivers what arrives to its own local sessions. Two adapters: the
// in-process one (local-bus.ts, a single server) and NATS (a pool; same contract).
//
// Contract every adapter keeps:
// - subjects are per room (`roomSubject(id)`) or per user (`userSubject(uri)`);
// - on one subject, envelopes arrive in the order they were published, and messages and admin changes carry
//   their store id (one strictly increasing id space), so a receiver can tell order and catch up by id;
// - delivery is at least once: a receiver drops an envelope whose `key` it has already seen (`Dedupe`).

import type { StoredMessage } from '../store/port.js';

export type BusBody =
  /** A committed message (its store id is `message.id`); `logged` is false when the room keeps no history. */
  | {
      kind: 'message';
      roomId: string;
      message: StoredMessage;
      logged: boolean;
      /** Pool mode: the id of the room's previous message (0: none), for ordering across servers. */
      prevId?: number;
    }
  /** A user's first session joined a room / a user's last session left it (on the origin server). */
  | { kind: 'roster'; roomId: string; action: 'join' | 'part'; user: string; displayName: string; except?: string }
  /** An admin change touched this room (store change id): each server rechecks its local sessions. */
  | { kind: 'room.changed'; roomId: string; changeId: number }
  /** A user's credential was revoked: end that user's sessions that used it (or all, when tokenHash is absent). */
  | { kind: 'sessions.revoked'; user: string; tokenHash?: string; reason: string };

export interface BusEnvelope<T = unknown> {
  subject: string;
  /** Unique per event pool-wide: `m:<store id>` for messages, `c:<change id>`, `<server>:<seq>` otherwise. */
  key: string;
  /** The server that published it. */
  origin: string;
  body: BusBody;
  /**
   * The in-process object the origin built for its own local delivery (e.g. the message view), so a
   * single-server bus hands over one object per event instead of copying. Never sent across the wire: a
   * remote receiver rebuilds it from `body`.
   */
  local?: T;
}

export type BusHandler = (envelope: BusEnvelope) => void;

export interface Bus {
  /** This server's name on the bus. */
  readonly serverId: string;
  publish(envelope: BusEnvelope): void;
  /** Receives every envelope of subjects starting with `prefix` (e.g. 'room.'); returns the unsubscriber. */
  subscribe(prefix: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

export const roomSubject = (roomId: string): string => `room.${roomId}`;
export const userSubject = (uri: string): string => `user.${uri}`;

/**
 * Drops envelopes already seen (at-least-once delivery). Remembers the newest `window` subject/key pairs over
 * all subjects, so its memory is bounded however many rooms see traffic; a duplicate arrives soon after its
 * original (an adapter's redelivery), well inside the window.
 */
export class Dedupe {
  private readonly seen = new Set<string>();
  constructor(private readonly window = 16_384) {}

  /** True the first time a subject/key pair is offered; false for a duplicate. */
  first(subject: string, key: string): boolean {
    const k = `${subject}\n${key}`;
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    if (this.seen.size > this.window) {
      // a Set iterates in insertion order: drop the oldest
      this.seen.delete(this.seen.values().next().value as string);
    }
    return true;
  }
}
