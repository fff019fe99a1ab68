// Compliance recording as a chat module: every join, part, post (message, alert, story), file upload, history
// view (backchat), search and file download, on every door, becomes a compliance event, durable before the
// action is acknowledged (docs/compliance.md):
// - posts and uploads: PostgreSQL writes the records through the batch's own transaction, on 'appended' (the
//   message ids are known there); SQLite writes them first as pending on 'committing' (before the messages
//   commit), then confirms them with their ids once 'posted' says the batch committed. A crash in between is
//   reconciled at the next start.
// - the others: an awaited notify handler writes the record before the core answers.
// Recording happens even in categories whose chat history is off.
import type { ComplianceRecorder } from '../compliance/recorder.js';
import type { NewComplianceEvent } from '../compliance/types.js';
import type { StoredMessage } from '../store/port.js';
import type { ChatCore } from './core.js';
import type { CommitItem } from './events.js';

function postEvent(item: CommitItem, messageId: number | null): NewComplianceEvent {
  const m = item.message;
  const upload = m.kind === 'file' && m.file !== null;
  return {
    door: item.who.door,
    type: upload ? 'FILEUPLOAD' : 'CHAT',
    roomId: item.where.id,
    sender: item.who.user,
    content: upload ? (m.file?.name ?? m.text) : m.text,
    messageId,
    ts: m.ts,
    data: {
      kind: m.kind,
      logged: m.logged,
      ...(m.title !== null ? { title: m.title } : {}),
      ...(upload && m.file
        ? { fileId: m.file.id, size: m.file.size, contentType: m.file.contentType, text: m.text }
        : {}),
    },
  };
}

export function registerComplianceRecorder(core: ChatCore, recorder: ComplianceRecorder): void {
  const sameTx = core.store.dialect === 'postgres' && recorder.compliance.dialect === 'postgres';
  const module = 'compliance';
  /** SQLite: the pending record of each queued post (a retried item keeps its record). */
  const pendingOf = new WeakMap<CommitItem, number>();
  /** SQLite: message id → pending record, filled in the transaction, confirmed once the batch committed. */
  const toConfirm = new Map<number, number>();
  let confirmQueue: { id: number; messageId: number }[] = [];
  let confirmScheduled = false;
  const flushConfirms = () => {
    confirmScheduled = false;
    const batch = confirmQueue;
    confirmQueue = [];
    recorder.compliance.confirm(batch).catch(() => {
      /* left pending: the periodic reconcile settles it */
    });
  };

  const { events } = core;
  events.on(
    'committing',
    async ({ items }) => {
      if (sameTx || !(await recorder.enabled())) return;
      const fresh = items.filter((i) => !pendingOf.has(i));
      const ids = await recorder.compliance.record(
        fresh.map((i) => postEvent(i, null)),
        { state: 'pending' },
      );
      fresh.forEach((item, k) => {
        pendingOf.set(item, ids[k] as number);
      });
    },
    { module },
  );
  events.on(
    'appended',
    async ({ items, stored, tx }) => {
      if (sameTx) {
        if (!(await recorder.enabled(tx.raw()))) return;
        await recorder.compliance.record(
          items.map((item, k) => postEvent(item, (stored[k] as StoredMessage).id)),
          { via: tx.raw() },
        );
        return;
      }
      // an id of a batch that rolled back is taken again by the next append on SQLite: whatever it left under that
      // id is replaced here, so 'posted' never confirms a refused post's record as another message
      items.forEach((item, k) => {
        const pending = pendingOf.get(item);
        const id = (stored[k] as StoredMessage).id;
        if (pending !== undefined) toConfirm.set(id, pending);
        else toConfirm.delete(id);
      });
    },
    { module },
  );
  events.on(
    'posted',
    ({ message }) => {
      const pending = toConfirm.get(message.id);
      if (pending === undefined) return;
      toConfirm.delete(message.id);
      confirmQueue.push({ id: pending, messageId: message.id });
      if (!confirmScheduled) {
        confirmScheduled = true;
        setImmediate(flushConfirms);
      }
    },
    { module },
  );

  const simple = (e: NewComplianceEvent) => recorder.record([e]);
  events.on(
    'joined',
    (ev) =>
      simple({
        door: ev.who.door,
        type: 'JOIN',
        roomId: ev.room.id,
        sender: ev.who.user,
        content: '',
        messageId: null,
        ts: ev.at,
      }),
    { module },
  );
  events.on(
    'parted',
    (ev) =>
      simple({
        door: ev.who.door,
        type: 'PART',
        roomId: ev.where.id,
        sender: ev.who.user,
        content: '',
        messageId: null,
        ts: ev.at,
        data: { reason: ev.reason },
      }),
    { module },
  );
  events.on(
    'history.viewed',
    (ev) =>
      simple({
        door: ev.who.door,
        type: 'BACKCHAT',
        roomId: ev.where.id,
        sender: ev.who.user,
        content: '',
        messageId: null,
        ts: ev.at,
        data: {
          query: { ...ev.query },
          count: ev.messages.length,
          ...(ev.messages.length > 0
            ? { firstId: ev.messages[0]?.id, lastId: ev.messages[ev.messages.length - 1]?.id }
            : {}),
        },
      }),
    { module },
  );
  events.on(
    'searched',
    (ev) =>
      simple({
        door: ev.who.door,
        type: 'SEARCH',
        roomId: ev.query.roomId ?? '',
        sender: ev.who.user,
        content: ev.query.text ?? '',
        messageId: null,
        ts: ev.at,
        data: { query: { ...ev.query }, rooms: ev.roomIds.length, count: ev.count },
      }),
    { module },
  );
  events.on(
    'downloaded',
    (ev) =>
      simple({
        door: ev.who.door,
        type: 'FILEDOWNLOAD',
        roomId: ev.where.id,
        sender: ev.who.user,
        content: ev.file.name,
        messageId: null,
        ts: ev.at,
        data: { fileId: ev.file.id, size: ev.file.size, contentType: ev.file.contentType },
      }),
    { module },
  );
}
