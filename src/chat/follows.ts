// Following rooms and unread counts: a user follows rooms, marks what they have read, and sees per followed
// room how many messages came after. Followed rooms the user may no longer read are left out.
import { invalid } from '../core/errors.js';
import type { ChatCore } from './core.js';
import type { FollowView, JoinOutcome, Session } from './types.js';

export class Follows {
  constructor(private readonly core: ChatCore) {}

  async follows(user: string): Promise<FollowView[]> {
    const { core } = this;
    const s = core.subject(user);
    const list = await core.store.follows.list(user);
    const visible = list.filter((f) => core.may(s, f.roomId, 'read'));
    const counts = await core.store.messages.countAfter(
      visible.map((f) => ({ roomId: f.roomId, afterId: f.lastReadId })),
    );
    return visible.map((f) => {
      const { room, category } = core.roomAndCategory(f.roomId);
      return { room: core.view(s, room, category), unread: counts.get(f.roomId) ?? 0, lastReadId: f.lastReadId };
    });
  }

  async follow(user: string, roomId: string, on: boolean): Promise<void> {
    const s = this.core.subject(user);
    if (on) {
      this.core.require(s, roomId, 'read');
      await this.core.store.follows.follow(user, roomId);
    } else await this.core.store.follows.unfollow(user, roomId);
  }

  async markRead(user: string, roomId: string, messageId: number): Promise<void> {
    const s = this.core.subject(user);
    this.core.require(s, roomId, 'read');
    if (!Number.isSafeInteger(messageId) || messageId < 0) throw invalid('messageId', 'must be a message id');
    await this.core.store.follows.markRead(user, roomId, messageId);
  }

  /** Joins every room the user follows (bjoin at sign-in); followed rooms they may no longer read are skipped. */
  async joinFollowed(session: Session): Promise<JoinOutcome[]> {
    const s = this.core.subject(session.user);
    const readable = (await this.core.store.follows.list(session.user)).filter((f) =>
      this.core.may(s, f.roomId, 'join'),
    );
    return this.core.join(
      session,
      readable.map((f) => f.roomId),
    );
  }
}
