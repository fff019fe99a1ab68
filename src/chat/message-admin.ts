// Live effects of message administration: when the change stream shows that an administrator removed or
// replaced messages (`message.removed`), cleared a room (`room.cleared`) or retention purged messages
// (`message.purged`), the change goes out on the bus (keyed by its change id, so each server of a pool applies
// it once); the core turns it into 'message.removed' / 'message.replaced' events, and this module tells the
// room's live sessions on every door, one notice per room and turn. Backchat drops its cached recent messages
// of the room on the same events, so a join never shows a removed message.
import { roomSubject } from '../pool/bus.js';
import type { ChangeEvent } from '../store/port.js';
import type { ChatCore } from './core.js';

export function registerMessageAdmin(core: ChatCore): void {
  core.model.onChange((changes: ChangeEvent[]) => {
    for (const c of changes) {
      if (c.type !== 'message.removed' && c.type !== 'room.cleared' && c.type !== 'message.purged') continue;
      const roomId = c.subject;
      if (!core.liveRoom(roomId)) continue;
      const ids = Array.isArray(c.data.ids) ? (c.data.ids as number[]) : [];
      if (ids.length === 0) continue;
      const replacement = typeof c.data.replacement === 'string' ? c.data.replacement : null;
      core.bus.publish({
        subject: roomSubject(roomId),
        key: `c:${c.id}`,
        origin: core.bus.serverId,
        body: { kind: 'messages.changed', roomId, ids, replacement, by: String(c.data.by ?? 'system') },
      });
    }
  });

  // one notice per room and kind per turn, however many messages it covers
  const removed = new Map<string, number[]>();
  const replaced = new Map<string, { text: string; ids: number[] }>();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (const [roomId, ids] of removed) {
      const lr = core.liveRoom(roomId);
      if (lr) core.emitRoom(lr, { type: 'message.removed', roomId, ids });
    }
    for (const [key, { text, ids }] of replaced) {
      const roomId = key.slice(0, key.indexOf('\n'));
      const lr = core.liveRoom(roomId);
      if (lr) core.emitRoom(lr, { type: 'message.replaced', roomId, ids, text });
    }
    removed.clear();
    replaced.clear();
  };
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(flush);
  };
  core.events.on(
    'message.removed',
    (ev) => {
      const list = removed.get(ev.where.id) ?? [];
      list.push(ev.message.id);
      removed.set(ev.where.id, list);
      later();
    },
    { module: 'message-admin' },
  );
  core.events.on(
    'message.replaced',
    (ev) => {
      const text = ev.replacement?.text ?? '';
      const key = `${ev.where.id}\n${text}`;
      const entry = replaced.get(key) ?? { text, ids: [] };
      entry.ids.push(ev.message.id);
      replaced.set(key, entry);
      later();
    },
    { module: 'message-admin' },
  );
}
