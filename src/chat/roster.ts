// Roster: who is in a room, and the large-room rule. Below ParticipantUpdateLimit a join answers the room's
// participants and everyone present sees joins and parts; above it (with hysteresis, see core/rules.ts) the
// room is "large": no roster, no join/part notices, as in the original.
import { nextLargeRoomState } from '../core/rules.js';
import type { ChatCore } from './core.js';
import { PRIORITY } from './events.js';

export function registerRoster(core: ChatCore): void {
  const limit = () => core.model.config.participantUpdateLimit;

  core.events.on(
    'joined',
    (ev) => {
      const lr = core.liveRoom(ev.room.id);
      if (!lr) return;
      const was = lr.large;
      lr.large = nextLargeRoomState(lr.large, lr.users.size, limit());
      // the sessions already here hold a roster that would go stale: they are told once, when the room turns large
      if (lr.large && !was) {
        const e = { type: 'room.large', roomId: ev.room.id, participants: lr.users.size } as const;
        // the joiner is skipped by id: a session closed during its own join is no longer a live session to look up
        const joiner = [...lr.sessions].find((x) => x.id === ev.session.id);
        core.emitRoom(lr, e, joiner);
      }
      if (ev.firstOfUser) core.publishRoster(ev.room.id, 'join', ev.session);
      ev.roster = lr.large ? null : [...lr.users.keys()].map((uri) => ({ uri, displayName: core.displayName(uri) }));
    },
    { priority: PRIORITY.access, module: 'roster' },
  );

  core.events.on(
    'parted',
    (ev) => {
      // the notice goes out with the room's state before this part (a part that makes a room small is not told)
      if (ev.lastOfUser) core.publishRoster(ev.where.id, 'part', ev.session);
      const lr = core.liveRoom(ev.where.id);
      if (lr) lr.large = nextLargeRoomState(lr.large, lr.users.size, limit());
    },
    { priority: PRIORITY.access, module: 'roster' },
  );
}
