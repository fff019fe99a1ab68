// Invitations: an admin change that adds members to a room with invitations on creates them (in its own
// transaction, see admin/); this module lists a user's invitations and delivers new ones to their sessions.
import type { ChangeEvent } from '../store/port.js';
import type { ChatCore } from './core.js';
import { clampLimit } from './limits.js';

export class Invitations {
  constructor(private readonly core: ChatCore) {}

  register(): this {
    this.core.model.onChange((changes) => {
      for (const c of changes) if (c.type === 'invitation.created') this.deliver(c);
    });
    return this;
  }

  /**
   * The user's invitations. A room's name is shown only while the user may still see the room: after being
   * taken out of a secret room (or its deletion) the invitation shows the room's id only, so later renames do
   * not leak to someone who may no longer know of it.
   */
  async invitations(user: string, afterId = 0, limit = 100) {
    const s = this.core.subject(user);
    const list = await this.core.store.invitations.since(user, afterId, clampLimit(limit, 100, 1000));
    return list.map((i) => ({ ...i, roomName: this.roomName(s, i.roomId) }));
  }

  /** The room's name while the subject may see the room, else its id (the same rule live and in the listing). */
  private roomName(s: ReturnType<ChatCore['subject']>, roomId: string): string {
    const room = this.core.model.rooms.get(roomId);
    return room !== undefined && this.core.may(s, roomId, 'see') ? room.name : roomId;
  }

  private deliver(c: ChangeEvent): void {
    const sessions = this.core.sessionsOf(c.subject);
    if (sessions.size === 0) return;
    const d = c.data as { invitationId: number; roomId: string; inviter: string };
    // a user removed or with chat turned off in the same batch gets nothing: their sessions are being ended (and
    // a listener must not throw, or the listeners after it miss the batch)
    const subject = this.core.model.directory.resolveUser(c.subject);
    if (!subject?.chatEnabled) return;
    // the model has applied the whole batch of changes: a user taken out of a secret room in the same batch, or
    // before the poll, gets its id, as the listing shows it
    const roomName = this.roomName(subject, d.roomId);
    for (const s of sessions) {
      this.core.deliver(s, {
        type: 'invitation',
        invitation: { id: d.invitationId, user: c.subject, roomId: d.roomId, inviter: d.inviter, ts: c.ts, roomName },
      });
    }
  }
}
