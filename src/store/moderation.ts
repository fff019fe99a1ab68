// Message administration and retention on the chat store: removal and replacement in place (the full-text
// indexes follow through migration 4's triggers on SQLite and the expression index on PostgreSQL), room
// clearing, expired-message purges that skip legal holds, and the retention and hold tables.
// The caller (admin/, compliance/) writes the compliance record; this file only changes the chat store.
import type { Db, Param, Row } from './db.js';
import type { LegalHold, LegalHoldKind, ModerationStore, StoredFile, StoredMessage } from './port.js';
import { appendChange, MESSAGE_COLUMNS, messageFrom, writeTx } from './sql-store.js';

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

function fileFrom(r: Row): StoredFile {
  return {
    id: String(r.id),
    roomId: String(r.room_id),
    uploader: String(r.uploader),
    name: String(r.name),
    size: Number(r.size),
    contentType: String(r.content_type),
    ts: Number(r.ts),
    storageKey: String(r.storage_key),
  };
}

/** The file records the given messages carry (file messages keep the file's id in their `file` column). */
async function filesOf(tx: Db, messages: StoredMessage[]): Promise<StoredFile[]> {
  const ids = messages.flatMap((m) => (m.file ? [m.file.id] : []));
  if (ids.length === 0) return [];
  return (await tx.all(`SELECT * FROM files WHERE id IN (${placeholders(ids.length)})`, ids)).map(fileFrom);
}

export function moderationStore(db: Db): ModerationStore {
  return {
    async select(q) {
      const where = ['m.room_id = ?', 'm.logged = 1', 'm.id > ?'];
      const params: Param[] = [q.roomId, q.afterId ?? 0];
      if (q.author !== undefined) {
        where.push('m.author = ?');
        params.push(q.author);
      }
      if (q.since !== undefined) {
        where.push('m.ts >= ?');
        params.push(q.since);
      }
      if (q.until !== undefined) {
        where.push('m.ts <= ?');
        params.push(q.until);
      }
      const rows = await db.all(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE ${where.join(' AND ')} ORDER BY m.id LIMIT ?`,
        [...params, q.limit],
      );
      return rows.map(messageFrom);
    },
    async rewrite(roomId, ids, text, by) {
      if (ids.length === 0) return { messages: [], files: [] };
      return writeTx(db, async (tx) => {
        const before = (
          await tx.all(
            `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.room_id = ? AND m.logged = 1
             AND m.id IN (${placeholders(ids.length)}) ORDER BY m.id`,
            [roomId, ...ids],
          )
        ).map(messageFrom);
        if (before.length === 0) return { messages: [], files: [] };
        const changed = before.map((m) => m.id);
        const files = await filesOf(tx, before);
        if (files.length > 0)
          await tx.run(
            `DELETE FROM files WHERE id IN (${placeholders(files.length)})`,
            files.map((f) => f.id),
          );
        if (text === null)
          await tx.run(
            `UPDATE messages SET logged = 0, body = NULL, title = NULL, rich = NULL, file = NULL
             WHERE id IN (${placeholders(changed.length)})`,
            changed,
          );
        else
          await tx.run(
            `UPDATE messages SET body = ?, title = NULL, rich = NULL, file = NULL, kind = 'regular'
             WHERE id IN (${placeholders(changed.length)})`,
            [text, ...changed],
          );
        await appendChange(tx, 'message.removed', roomId, { ids: changed, replacement: text, by });
        return { messages: before, files };
      });
    },
    async clearRoom(roomId, until, by, limit) {
      return writeTx(db, async (tx) => {
        const messages = (
          await tx.all(
            `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.room_id = ? AND m.ts <= ? ORDER BY m.id LIMIT ?`,
            [roomId, until, limit],
          )
        ).map(messageFrom);
        const files = (
          await tx.all('SELECT * FROM files WHERE room_id = ? AND ts <= ? ORDER BY ts LIMIT ?', [roomId, until, limit])
        ).map(fileFrom);
        if (messages.length > 0) {
          const ids = messages.map((m) => m.id);
          await tx.run(`DELETE FROM messages WHERE id IN (${placeholders(ids.length)})`, ids);
        }
        if (files.length > 0) {
          const fids = files.map((f) => f.id);
          await tx.run(`DELETE FROM files WHERE id IN (${placeholders(fids.length)})`, fids);
        }
        if (messages.length > 0 || files.length > 0)
          await appendChange(tx, 'room.cleared', roomId, { until, by, ids: messages.map((m) => m.id) });
        return { messages, files };
      });
    },
    async expired(q) {
      const inCategory = q.categoryId === null ? 'r.id IS NULL' : 'r.category_id = ?';
      const rows = await db.all(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m LEFT JOIN rooms r ON r.id = m.room_id
         WHERE ${inCategory} AND m.ts < ? AND m.id < ?
           AND m.room_id NOT IN (SELECT subject FROM holds WHERE kind = 'room')
           AND m.author NOT IN (SELECT subject FROM holds WHERE kind = 'user')
         ORDER BY m.id LIMIT ?`,
        [
          ...(q.categoryId === null ? [] : [q.categoryId]),
          q.before,
          Math.min(q.belowId, Number.MAX_SAFE_INTEGER),
          q.limit,
        ],
      );
      return rows.map(messageFrom);
    },
    async purge(ids) {
      if (ids.length === 0) return [];
      return writeTx(db, async (tx) => {
        const messages = (
          await tx.all(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id IN (${placeholders(ids.length)})`, ids)
        ).map(messageFrom);
        const files = await filesOf(tx, messages);
        await tx.run(`DELETE FROM messages WHERE id IN (${placeholders(ids.length)})`, ids);
        if (files.length > 0)
          await tx.run(
            `DELETE FROM files WHERE id IN (${placeholders(files.length)})`,
            files.map((f) => f.id),
          );
        const rooms = [...new Set(messages.map((m) => m.roomId))];
        for (const roomId of rooms)
          await appendChange(tx, 'message.purged', roomId, {
            ids: messages.filter((m) => m.roomId === roomId).map((m) => m.id),
          });
        return files;
      });
    },
    async retention() {
      const rows = await db.all('SELECT scope, days FROM retention ORDER BY scope');
      return new Map(rows.map((r) => [String(r.scope), Number(r.days)]));
    },
    async setRetention(scope, days) {
      await writeTx(db, async (tx) => {
        if (days === null) await tx.run('DELETE FROM retention WHERE scope = ?', [scope]);
        else
          await tx.run(
            'INSERT INTO retention (scope, days) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET days = excluded.days',
            [scope, days],
          );
        await appendChange(tx, 'retention.put', scope, { days });
      });
    },
    async holds() {
      const rows = await db.all('SELECT * FROM holds ORDER BY kind, subject');
      return rows.map(
        (r): LegalHold => ({
          kind: String(r.kind) as LegalHoldKind,
          subject: String(r.subject),
          reason: String(r.reason),
          createdBy: String(r.created_by),
          createdAt: Number(r.created_at),
        }),
      );
    },
    async addHold(h) {
      return writeTx(db, async (tx) => {
        const r = await tx.run(
          `INSERT INTO holds (kind, subject, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (kind, subject) DO NOTHING`,
          [h.kind, h.subject, h.reason, h.createdBy, h.createdAt],
        );
        if (r.changes === 0) return false;
        await appendChange(tx, 'hold.put', `${h.kind}:${h.subject}`, { by: h.createdBy });
        return true;
      });
    },
    async lease(name, owner, now, ms) {
      return writeTx(db, async (tx) => {
        await tx.run('INSERT INTO leases (name, owner, until_ts) VALUES (?, ?, 0) ON CONFLICT (name) DO NOTHING', [
          name,
          owner,
        ]);
        const r = await tx.run(
          'UPDATE leases SET owner = ?, until_ts = ? WHERE name = ? AND (owner = ? OR until_ts < ?)',
          [owner, now + ms, name, owner, now],
        );
        return r.changes === 1;
      });
    },
    async releaseLease(name, owner) {
      await db.run('UPDATE leases SET until_ts = 0 WHERE name = ? AND owner = ?', [name, owner]);
    },
    async removeHold(kind, subject) {
      return writeTx(db, async (tx) => {
        const r = await tx.run('DELETE FROM holds WHERE kind = ? AND subject = ?', [kind, subject]);
        if (r.changes === 0) return false;
        await appendChange(tx, 'hold.removed', `${kind}:${subject}`, {});
        return true;
      });
    },
  };
}
