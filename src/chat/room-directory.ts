// The room directory: browse and search rooms by name and description, a user's rooms (getassociations),
// and one room's details. Secret rooms appear only to those who may see them.

import { decideRoom } from '../core/access.js';
import { checkText } from '../core/input.js';
import type { Category } from '../core/model.js';
import { subjectMatches } from '../core/principals.js';
import type { ChatCore } from './core.js';
import { clampLimit } from './limits.js';
import type { RoomView } from './types.js';

export class RoomDirectory {
  constructor(private readonly core: ChatCore) {}

  /** Browse or search rooms by name and description, among those the caller may see. */
  searchRooms(user: string, q: { query?: string; limit?: number } = {}): RoomView[] {
    const { core } = this;
    const s = core.subject(user);
    const text = q.query !== undefined ? checkText('q', q.query).trim().toLowerCase() : '';
    const limit = clampLimit(q.limit, 100, 1000);
    return core
      .visibleRooms(s)
      .filter((r) => !text || r.name.toLowerCase().includes(text) || r.description.toLowerCase().includes(text))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, limit)
      .map((r) => core.view(s, r, core.model.categories.get(r.categoryId) as Category));
  }

  /** Rooms where the caller is a member (or, with 'manager', a manager): getassociations. */
  associations(user: string, role: 'member' | 'manager' = 'member'): RoomView[] {
    const { core } = this;
    const s = core.subject(user);
    return [...core.model.rooms.values()]
      .filter((r) => subjectMatches(s, role === 'member' ? r.members : r.managers))
      .filter((r) => {
        const c = core.model.categories.get(r.categoryId);
        return c !== undefined && decideRoom(s, r, c, role === 'member' ? 'see' : 'manage').allowed;
      })
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => core.view(s, r, core.model.categories.get(r.categoryId) as Category));
  }

  roomDetails(user: string, roomId: string): RoomView {
    const s = this.core.subject(user);
    const { room, category } = this.core.require(s, roomId, 'see');
    return this.core.view(s, room, category);
  }
}
