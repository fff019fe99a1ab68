// Live effects of admin changes: when the change stream shows a change to a room, or to what decides access
// everywhere (categories, users, groups, policies), the rooms with local sessions are rechecked; a session
// that may no longer be in a room is removed with a 'removed' notice, and the others get 'room.updated'.
// The change goes out on the bus as 'room.changed' (keyed by its change id), so every server of a pool
// rechecks its own sessions once.
import { decideRoom } from '../core/access.js';
import { PchatError } from '../core/errors.js';
import type { ChangeEvent } from '../store/port.js';
import type { ChatCore } from './core.js';
import { PRIORITY } from './events.js';

export function registerLiveEffects(core: ChatCore): void {
  core.model.onChange((changes: ChangeEvent[]) => {
    let everywhere = false;
    const rooms = new Set<string>();
    for (const c of changes) {
      const kind = c.type.split('.')[0];
      if (kind === 'room') rooms.add(c.subject);
      else if (kind === 'category' || kind === 'user' || kind === 'group' || kind === 'policy') everywhere = true;
    }
    const last = (changes[changes.length - 1] as ChangeEvent).id;
    const targets = everywhere ? [...core.liveRooms()].map((lr) => lr.id) : [...rooms];
    for (const roomId of targets) if (core.liveRoom(roomId)) core.publishRoomChange(roomId, last);
  });

  core.events.on(
    'room.changed',
    (ev) => {
      const roomId = ev.where.id;
      const lr = core.liveRoom(roomId);
      if (!lr) return;
      const room = ev.room;
      const category = room ? core.model.categories.get(room.categoryId) : undefined;
      for (const s of [...lr.sessions]) {
        const subject = core.model.directory.resolveUser(s.user);
        const d =
          room && category && subject
            ? decideRoom(subject, room, category, 'join')
            : { allowed: false, code: 'ROOM_NOT_FOUND' as const };
        if (d.allowed) continue;
        const code = d.code ?? 'NOT_A_MEMBER';
        core.events.emit('parted', core.leave(s, roomId, 'removed'));
        core.deliver(s, { type: 'removed', roomId, code, message: new PchatError(code).message });
      }
      const still = core.liveRoom(roomId);
      if (room && category && still) {
        for (const s of still.sessions) {
          const subject = core.model.directory.resolveUser(s.user);
          if (subject) core.deliver(s, { type: 'room.updated', room: core.view(subject, room, category) });
        }
      }
    },
    { priority: PRIORITY.access, module: 'live-effects' },
  );
}
