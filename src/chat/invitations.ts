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
    return list.map((i) => {
      const room = this.core.model.rooms.get(i.roomId);
      const visible = room !== undefined && this.core.may(s, i.roomId, 'see');
      return { ...i, roomName: visible ? room.name : i.roomId };
    });
  }

  private deliver(c: ChangeEvent): void {
    const sessions = this.core.sessionsOf(c.subject);
    if (sessions.size === 0) return;
    const d = c.data as { invitationId: number; roomId: string; inviter: string };
    const roomName = this.core.model.rooms.get(d.roomId)?.name ?? d.roomId;
    for (const s of sessions) {
      this.core.deliver(s, {
        type: 'invitation',
        invitation: { id: d.invitationId, user: c.subject, roomId: d.roomId, inviter: d.inviter, ts: c.ts, roomName },
      });
    }
  }
}
