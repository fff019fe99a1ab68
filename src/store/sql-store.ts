// The one SQL implementation of the store port, over either adapter (sqlite.ts, postgres.ts).
// Dialect differences are confined to the two capability functions at the top: id allocation and search.
import type { Addin, Category, ChatConfig, Endpoint, Group, MessageKind, Policy, Room, User } from '../core/model.js';
import { DEFAULT_CONFIG } from '../core/model.js';
import { nameKey } from '../core/rules.js';
import { isCjkBigram } from './bigrams.js';
import type { Db, Param, Row } from './db.js';
import { migrate } from './migrations.js';
import { moderationStore } from './moderation.js';
import type {
  ChangeEvent,
  Crud,
  FeedFilter,
  FileRef,
  Invitation,
  MessageRemoval,
  MessageSearch,
  NewMessage,
  SearchResult,
  Store,
  StoredFile,
  StoredMessage,
} from './port.js';

// ---- capabilities -----------------------------------------------------------------------------------------

/**
 * A transaction that appends to the id space: in call order, one at a time, ids committed in id order on every
 * engine and across a pool (Db.serialTx; on PostgreSQL a local FIFO lock then an advisory lock, on SQLite the
 * single writer).
 */
export function writeTx<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.serialTx(fn);
}

/** Reserves `n` consecutive ids of the shared id space; call it only inside `writeTx`. */
async function allocIds(tx: Db, n: number): Promise<number[]> {
  if (tx.caps.dialect === 'sqlite') {
    const r = await tx.get<{ last: number }>('UPDATE id_seq SET last = last + ? WHERE one = 1 RETURNING last', [n]);
    const top = Number(r?.last);
    return Array.from({ length: n }, (_, i) => top - n + 1 + i);
  }
  const rows = await tx.all<{ id: number }>("SELECT nextval('id_seq') AS id FROM generate_series(1, ?)", [n]);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The room-list and text conditions of a search, in the engine's own full-text form. */
function searchConditions(db: Db, q: MessageSearch): { from: string; order: string; where: string[]; params: Param[] } {
  let from = 'messages m';
  let order = 'm.id';
  const where: string[] = ['m.logged = 1'];
  const params: Param[] = [];
  const sqlite = db.caps.dialect === 'sqlite';
  where.push(
    sqlite
      ? 'm.room_id IN (SELECT value FROM json_each(?))'
      : 'm.room_id IN (SELECT jsonb_array_elements_text(?::jsonb))',
  );
  params.push(JSON.stringify(q.roomIds));
  const text = q.text?.trim() ?? '';
  if (text.length > 0) {
    const terms = q.exactPhrase ? [text] : text.split(/\s+/u).filter((t) => t.length > 0);
    // The same expression as the PostgreSQL trigram index, so that index serves ILIKE.
    const haystack = "(coalesce(m.body, '') || ' ' || coalesce(m.title, ''))";
    const indexed = sqlite ? terms.filter((t) => [...t].length >= 3) : [];
    const bigrams = sqlite ? terms.filter(isCjkBigram) : [];
    const ftsQuery = (ts: string[]) => ts.map((t) => `"${t.replace(/"/g, '""')}"`).join(' AND ');
    // FTS5 trigram: each term as a quoted string is a substring match, case-insensitive. Driving the query
    // from an FTS table in rowid order lets it stop after LIMIT matches instead of collecting them all.
    if (indexed.length > 0) {
      from = 'messages_fts f JOIN messages m ON m.id = f.rowid';
      order = 'f.rowid';
      where.push('messages_fts MATCH ?');
      params.push(ftsQuery(indexed));
    }
    if (bigrams.length > 0) {
      if (indexed.length === 0) {
        from = 'messages_bigram b JOIN messages m ON m.id = b.rowid';
        order = 'b.rowid';
        where.push('messages_bigram MATCH ?');
      } else where.push('m.id IN (SELECT rowid FROM messages_bigram WHERE messages_bigram MATCH ?)');
      params.push(ftsQuery(bigrams));
    }
    for (const t of terms) {
      if (q.caseSensitive) {
        where.push(sqlite ? `instr(${haystack}, ?) > 0` : `strpos(${haystack}, ?) > 0`);
        params.push(t);
      } else if (!sqlite) {
        where.push(`${haystack} ILIKE ? ESCAPE '\\'`);
        params.push(`%${escapeLike(t)}%`);
      } else if (!indexed.includes(t) && !bigrams.includes(t)) {
        where.push(`${haystack} LIKE ? ESCAPE '\\'`);
        params.push(`%${escapeLike(t)}%`);
      }
    }
  }
  const anyOf = (q.anyOf ?? []).filter((t) => t.length > 0);
  if (anyOf.length > 0) {
    // One condition for all keywords. SQLite: keywords of 3+ characters through the trigram index in one FTS
    // OR query, shorter ones by LIKE on the row; PostgreSQL: ILIKE alternatives the trigram index serves.
    const haystack = "(coalesce(m.body, '') || ' ' || coalesce(m.title, ''))";
    const alternatives: string[] = [];
    if (sqlite) {
      const long = anyOf.filter((t) => [...t].length >= 3);
      const short = anyOf.filter((t) => [...t].length < 3);
      if (long.length > 0) {
        alternatives.push('m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)');
        params.push(long.map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR '));
      }
      for (const t of short) {
        alternatives.push(`${haystack} LIKE ? ESCAPE '\\'`);
        params.push(`%${escapeLike(t)}%`);
      }
    } else {
      for (const t of anyOf) {
        alternatives.push(`${haystack} ILIKE ? ESCAPE '\\'`);
        params.push(`%${escapeLike(t)}%`);
      }
    }
    where.push(`(${alternatives.join(' OR ')})`);
  }
  if (q.authors && q.authors.length > 0) {
    where.push(`m.author IN (${q.authors.map(() => '?').join(', ')})`);
    params.push(...q.authors);
  }
  if (q.since !== undefined) {
    where.push('m.ts >= ?');
    params.push(q.since);
  }
  if (q.until !== undefined) {
    where.push('m.ts < ?');
    params.push(q.until);
  }
  return { from, order, where, params };
}

// ---- row mapping ------------------------------------------------------------------------------------------

const bool = (v: unknown) => Number(v) === 1;
const int = (b: boolean) => (b ? 1 : 0);

/** The `messages` columns (id, room_id, author, ts, kind, logged, body, title, rich, file) of one message; an
 * unlogged message keeps its id and kind but none of its content. */
function messageRow(id: number, m: NewMessage): Param[] {
  return [
    id,
    m.roomId,
    m.author,
    m.ts,
    m.kind,
    int(m.logged),
    m.logged ? m.text : null,
    m.logged ? m.title : null,
    m.logged ? m.rich : null,
    m.logged && m.file ? JSON.stringify(m.file) : null,
  ];
}
const list = (v: unknown): string[] => JSON.parse(String(v)) as string[];
const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function userFrom(r: Row): User {
  return {
    uri: str(r.uri),
    displayName: str(r.display_name),
    email: strOrNull(r.email),
    ou: strOrNull(r.ou),
    site: strOrNull(r.site),
    policy: strOrNull(r.policy),
    isAdmin: bool(r.is_admin),
    disabled: bool(r.disabled),
    createdAt: Number(r.created_at),
  };
}

function categoryFrom(r: Row): Category {
  return {
    id: str(r.id),
    name: str(r.name),
    description: str(r.description),
    invitations: bool(r.invitations),
    fileUpload: bool(r.file_upload),
    chatHistory: bool(r.chat_history),
    allowedMembers: list(r.allowed_members),
    deniedMembers: list(r.denied_members),
    creators: list(r.creators),
  };
}

function roomFrom(r: Row): Room {
  return {
    id: str(r.id),
    name: str(r.name),
    description: str(r.description),
    categoryId: str(r.category_id),
    privacy: str(r.privacy) as Room['privacy'],
    type: str(r.type) as Room['type'],
    disabled: bool(r.disabled),
    addin: strOrNull(r.addin),
    invitations: str(r.invitations) as Room['invitations'],
    members: list(r.members),
    managers: list(r.managers),
    presenters: list(r.presenters),
    createdAt: Number(r.created_at),
  };
}

export function messageFrom(r: Row): StoredMessage {
  return {
    id: Number(r.id),
    roomId: str(r.room_id),
    author: str(r.author),
    ts: Number(r.ts),
    kind: str(r.kind) as MessageKind,
    text: str(r.body ?? ''),
    title: strOrNull(r.title),
    rich: strOrNull(r.rich),
    file: r.file ? (JSON.parse(str(r.file)) as FileRef) : null,
  };
}

export const MESSAGE_COLUMNS = 'm.id, m.room_id, m.author, m.ts, m.kind, m.body, m.title, m.rich, m.file';

// ---- the store ----------------------------------------------------------------------------------------------

export async function appendChange(
  tx: Db,
  type: string,
  subject: string,
  data: Record<string, unknown>,
): Promise<number> {
  const [id] = await allocIds(tx, 1);
  await tx.run('INSERT INTO changes (id, type, subject, ts, data) VALUES (?, ?, ?, ?, ?)', [
    id as number,
    type,
    subject,
    Date.now(),
    JSON.stringify(data),
  ]);
  return id as number;
}

/** A table whose rows map to one model type, with a change event per write. */
function crud<T>(
  db: Db,
  spec: {
    kind: string;
    table: string;
    key: string;
    from: (r: Row) => T;
    keyOf: (v: T) => string;
    columns: (v: T) => Record<string, Param>;
    order: string;
  },
): Crud<T> {
  return {
    async get(key: string) {
      const r = await db.get(`SELECT * FROM ${spec.table} WHERE ${spec.key} = ?`, [key]);
      return r ? spec.from(r) : undefined;
    },
    async list() {
      return (await db.all(`SELECT * FROM ${spec.table} ORDER BY ${spec.order}`)).map(spec.from);
    },
    async put(value: T) {
      const cols = spec.columns(value);
      const names = Object.keys(cols);
      const updates = names.filter((n) => n !== spec.key).map((n) => `${n} = excluded.${n}`);
      return writeTx(db, async (tx) => {
        await tx.run(
          `INSERT INTO ${spec.table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})
           ON CONFLICT (${spec.key}) DO UPDATE SET ${updates.join(', ')}`,
          Object.values(cols),
        );
        return appendChange(tx, `${spec.kind}.put`, spec.keyOf(value), {});
      });
    },
    async remove(key: string) {
      return writeTx(db, async (tx) => {
        const r = await tx.run(`DELETE FROM ${spec.table} WHERE ${spec.key} = ?`, [key]);
        if (r.changes === 0) return false;
        await appendChange(tx, `${spec.kind}.removed`, key, {});
        return true;
      });
    },
  };
}

export async function openSqlStore(db: Db): Promise<Store> {
  await migrate(db);
  return buildStore(db);
}

/** The store over `db`, which is either the adapter itself or one transaction of it (see `atomically`). */
function buildStore(db: Db): Store {
  const users = crud<User>(db, {
    kind: 'user',
    table: 'users',
    key: 'uri',
    from: userFrom,
    keyOf: (u) => u.uri,
    order: 'uri',
    columns: (u) => ({
      uri: u.uri,
      display_name: u.displayName,
      email: u.email,
      ou: u.ou,
      site: u.site,
      policy: u.policy,
      is_admin: int(u.isAdmin),
      disabled: int(u.disabled),
      created_at: u.createdAt,
    }),
  });

  const categories = crud<Category>(db, {
    kind: 'category',
    table: 'categories',
    key: 'id',
    from: categoryFrom,
    keyOf: (c) => c.id,
    order: 'name',
    columns: (c) => ({
      id: c.id,
      name: c.name,
      name_key: nameKey(c.name),
      description: c.description,
      invitations: int(c.invitations),
      file_upload: int(c.fileUpload),
      chat_history: int(c.chatHistory),
      allowed_members: JSON.stringify(c.allowedMembers),
      denied_members: JSON.stringify(c.deniedMembers),
      creators: JSON.stringify(c.creators),
    }),
  });

  const rooms = crud<Room>(db, {
    kind: 'room',
    table: 'rooms',
    key: 'id',
    from: roomFrom,
    keyOf: (r) => r.id,
    order: 'name',
    columns: (r) => ({
      id: r.id,
      name: r.name,
      name_key: nameKey(r.name),
      description: r.description,
      category_id: r.categoryId,
      privacy: r.privacy,
      type: r.type,
      disabled: int(r.disabled),
      addin: r.addin,
      invitations: r.invitations,
      members: JSON.stringify(r.members),
      managers: JSON.stringify(r.managers),
      presenters: JSON.stringify(r.presenters),
      created_at: r.createdAt,
    }),
  });

  const addins = crud<Addin>(db, {
    kind: 'addin',
    table: 'addins',
    key: 'name',
    from: (r) => ({ name: str(r.name), url: str(r.url) }),
    keyOf: (a) => a.name,
    order: 'name',
    columns: (a) => ({ name: a.name, name_key: nameKey(a.name), url: a.url }),
  });

  const store: Store = {
    dialect: db.caps.dialect,
    users: {
      ...users,
      async getPasswordHash(uri) {
        const r = await db.get('SELECT password_hash FROM users WHERE uri = ?', [uri]);
        return r?.password_hash ? str(r.password_hash) : undefined;
      },
      async setPasswordHash(uri, hash) {
        await writeTx(db, async (tx) => {
          await tx.run('UPDATE users SET password_hash = ? WHERE uri = ?', [hash, uri]);
          await appendChange(tx, 'user.password', uri, {});
        });
      },
    },
    groups: crud<Group>(db, {
      kind: 'group',
      table: 'groups_',
      key: 'name',
      from: (r) => ({ name: str(r.name), description: str(r.description), members: list(r.members) }),
      keyOf: (g) => g.name,
      order: 'name',
      columns: (g) => ({ name: g.name, description: g.description, members: JSON.stringify(g.members) }),
    }),
    categories: {
      ...categories,
      async getByName(name) {
        const r = await db.get('SELECT * FROM categories WHERE name_key = ?', [nameKey(name)]);
        return r ? categoryFrom(r) : undefined;
      },
      async countRooms(id) {
        const r = await db.get<{ n: number }>('SELECT count(*) AS n FROM rooms WHERE category_id = ?', [id]);
        return Number(r?.n ?? 0);
      },
    },
    rooms: {
      ...rooms,
      async getByName(name) {
        const r = await db.get('SELECT * FROM rooms WHERE name_key = ?', [nameKey(name)]);
        return r ? roomFrom(r) : undefined;
      },
    },
    addins: {
      ...addins,
      async getByName(name) {
        const r = await db.get('SELECT * FROM addins WHERE name_key = ?', [nameKey(name)]);
        return r ? { name: str(r.name), url: str(r.url) } : undefined;
      },
    },
    policies: crud<Policy>(db, {
      kind: 'policy',
      table: 'policies',
      key: 'identity',
      from: (r) => ({
        identity: str(r.identity),
        enablePersistentChat: bool(r.enable_persistent_chat),
        description: str(r.description),
      }),
      keyOf: (p) => p.identity,
      order: 'identity',
      columns: (p) => ({
        identity: p.identity,
        enable_persistent_chat: int(p.enablePersistentChat),
        description: p.description,
      }),
    }),
    endpoints: crud<Endpoint>(db, {
      kind: 'endpoint',
      table: 'endpoints',
      key: 'sip_address',
      from: (r) => ({ sipAddress: str(r.sip_address), displayName: str(r.display_name), pool: str(r.pool) }),
      keyOf: (e) => e.sipAddress,
      order: 'sip_address',
      columns: (e) => ({ sip_address: e.sipAddress, display_name: e.displayName, pool: e.pool }),
    }),
    config: {
      async get() {
        const r = await db.get('SELECT body FROM config WHERE id = 1');
        return r ? { ...DEFAULT_CONFIG, ...(JSON.parse(str(r.body)) as Partial<ChatConfig>) } : { ...DEFAULT_CONFIG };
      },
      async put(c) {
        return writeTx(db, async (tx) => {
          await tx.run(
            'INSERT INTO config (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body',
            [JSON.stringify(c)],
          );
          return appendChange(tx, 'config.put', 'global', {});
        });
      },
    },
    messages: {
      async append(batch: NewMessage[]) {
        if (batch.length === 0) return [];
        return writeTx(db, async (tx) => {
          const ids = await allocIds(tx, batch.length);
          const out: StoredMessage[] = [];
          for (let i = 0; i < batch.length; i++) {
            const m = batch[i] as NewMessage;
            const id = ids[i] as number;
            await tx.run(
              `INSERT INTO messages (id, room_id, author, ts, kind, logged, body, title, rich, file)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
              messageRow(id, m),
            );
            const { logged: _logged, ...rest } = m;
            out.push({ ...rest, id });
          }
          return out;
        });
      },
      async before(roomId, limit, beforeId) {
        const rows = await db.all(
          `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.room_id = ? AND m.logged = 1 AND m.id < ?
           ORDER BY m.id DESC LIMIT ?`,
          [roomId, beforeId ?? Number.MAX_SAFE_INTEGER, limit],
        );
        return rows.map(messageFrom).reverse();
      },
      async after(roomId, afterId, limit) {
        const rows = await db.all(
          `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.room_id = ? AND m.logged = 1 AND m.id > ?
           ORDER BY m.id ASC LIMIT ?`,
          [roomId, afterId, limit],
        );
        return rows.map(messageFrom);
      },
      async lastIdBefore(roomId, id) {
        const r = await db.get<{ p: number | string | null }>(
          'SELECT max(id) AS p FROM messages WHERE room_id = ? AND id < ?',
          [roomId, id],
        );
        return Number(r?.p ?? 0);
      },
      async get(id) {
        const r = await db.get(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = ? AND m.logged = 1`, [id]);
        return r ? messageFrom(r) : undefined;
      },
      async search(q): Promise<SearchResult> {
        if (q.roomIds.length === 0) return { messages: [], count: 0, exceededLimit: false };
        const { from, order, where, params } = searchConditions(db, q);
        const cap = q.countLimit ?? q.limit;
        const countRow = q.noCount
          ? undefined
          : await db.get<{ n: number }>(
              `SELECT count(*) AS n FROM (SELECT 1 FROM ${from} WHERE ${where.join(' AND ')} LIMIT ?) AS c`,
              [...params, cap + 1],
            );
        const pageWhere = q.beforeId !== undefined ? [...where, 'm.id < ?'] : where;
        const pageParams = q.beforeId !== undefined ? [...params, q.beforeId] : params;
        const rows = await db.all(
          `SELECT ${MESSAGE_COLUMNS} FROM ${from} WHERE ${pageWhere.join(' AND ')} ORDER BY ${order} DESC LIMIT ?`,
          [...pageParams, q.limit],
        );
        const count = countRow ? Number(countRow.n ?? 0) : rows.length;
        return { messages: rows.map(messageFrom), count: Math.min(count, cap), exceededLimit: count > cap };
      },
      async countAfter(pairs) {
        const out = new Map<string, number>();
        for (const p of pairs) {
          const r = await db.get<{ n: number }>(
            'SELECT count(*) AS n FROM messages WHERE room_id = ? AND logged = 1 AND id > ?',
            [p.roomId, p.afterId],
          );
          out.set(p.roomId, Number(r?.n ?? 0));
        }
        return out;
      },
      async latestId() {
        const r = await db.get<{ n: number | null }>('SELECT max(id) AS n FROM messages');
        return Number(r?.n ?? 0);
      },
    },
    changes: {
      async since(afterId, limit): Promise<ChangeEvent[]> {
        const rows = await db.all('SELECT * FROM changes WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
        return rows.map((r) => ({
          id: Number(r.id),
          type: str(r.type),
          subject: str(r.subject),
          ts: Number(r.ts),
          data: JSON.parse(str(r.data)) as Record<string, unknown>,
        }));
      },
      async latestId() {
        const r = await db.get<{ n: number | null }>('SELECT max(id) AS n FROM changes');
        return Number(r?.n ?? 0);
      },
    },
    follows: {
      async list(user) {
        const rows = await db.all('SELECT room_id, last_read_id FROM follows WHERE user_uri = ? ORDER BY room_id', [
          user,
        ]);
        return rows.map((r) => ({ roomId: str(r.room_id), lastReadId: Number(r.last_read_id) }));
      },
      async follow(user, roomId) {
        await db.run(
          'INSERT INTO follows (user_uri, room_id, last_read_id) VALUES (?, ?, 0) ON CONFLICT (user_uri, room_id) DO NOTHING',
          [user, roomId],
        );
      },
      async unfollow(user, roomId) {
        await db.run('DELETE FROM follows WHERE user_uri = ? AND room_id = ?', [user, roomId]);
      },
      async markRead(user, roomId, messageId) {
        await db.run(
          `UPDATE follows SET last_read_id = CASE WHEN last_read_id > ? THEN last_read_id ELSE ? END
           WHERE user_uri = ? AND room_id = ?`,
          [messageId, messageId, user, roomId],
        );
      },
    },
    invitations: {
      async create(user, roomId, inviter) {
        return writeTx(db, async (tx) => {
          const [id] = await allocIds(tx, 1);
          const ts = Date.now();
          await tx.run('INSERT INTO invitations (id, user_uri, room_id, inviter, ts) VALUES (?, ?, ?, ?, ?)', [
            id as number,
            user,
            roomId,
            inviter,
            ts,
          ]);
          await appendChange(tx, 'invitation.created', user, { invitationId: id, roomId, inviter });
          return { id: id as number, user, roomId, inviter, ts };
        });
      },
      async since(user, afterId, limit): Promise<Invitation[]> {
        const rows = await db.all('SELECT * FROM invitations WHERE user_uri = ? AND id > ? ORDER BY id LIMIT ?', [
          user,
          afterId,
          limit,
        ]);
        return rows.map((r) => ({
          id: Number(r.id),
          user: str(r.user_uri),
          roomId: str(r.room_id),
          inviter: str(r.inviter),
          ts: Number(r.ts),
        }));
      },
    },
    feeds: {
      async list(user) {
        return (await db.all('SELECT * FROM feeds WHERE user_uri = ? ORDER BY name', [user])).map(feedFrom);
      },
      async listAll() {
        return (await db.all('SELECT * FROM feeds ORDER BY id')).map(feedFrom);
      },
      async put(f) {
        await db.run(
          `INSERT INTO feeds (id, user_uri, name, keywords, authors, room_ids, alert) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, keywords = excluded.keywords,
             authors = excluded.authors, room_ids = excluded.room_ids, alert = excluded.alert`,
          [
            f.id,
            f.user,
            f.name,
            JSON.stringify(f.keywords),
            JSON.stringify(f.authors),
            JSON.stringify(f.roomIds),
            int(f.alert),
          ],
        );
      },
      async remove(user, id) {
        return (await db.run('DELETE FROM feeds WHERE user_uri = ? AND id = ?', [user, id])).changes > 0;
      },
    },
    files: {
      async put(f: StoredFile) {
        await db.run(
          `INSERT INTO files (id, room_id, uploader, name, size, content_type, ts, storage_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [f.id, f.roomId, f.uploader, f.name, f.size, f.contentType, f.ts, f.storageKey],
        );
      },
      async get(id) {
        const r = await db.get('SELECT * FROM files WHERE id = ?', [id]);
        if (!r) return undefined;
        return {
          id: str(r.id),
          roomId: str(r.room_id),
          uploader: str(r.uploader),
          name: str(r.name),
          size: Number(r.size),
          contentType: str(r.content_type),
          ts: Number(r.ts),
          storageKey: str(r.storage_key),
        };
      },
    },
    tokens: {
      async put(t) {
        await db.run('INSERT INTO tokens (token_hash, user_uri, created_at, expires_at) VALUES (?, ?, ?, ?)', [
          t.tokenHash,
          t.user,
          t.createdAt,
          t.expiresAt,
        ]);
      },
      async get(tokenHash) {
        const r = await db.get('SELECT * FROM tokens WHERE token_hash = ?', [tokenHash]);
        return r
          ? {
              tokenHash: str(r.token_hash),
              user: str(r.user_uri),
              createdAt: Number(r.created_at),
              expiresAt: Number(r.expires_at),
            }
          : undefined;
      },
      async remove(tokenHash) {
        await db.run('DELETE FROM tokens WHERE token_hash = ?', [tokenHash]);
      },
      async removeForUser(user) {
        await db.run('DELETE FROM tokens WHERE user_uri = ?', [user]);
      },
    },
    prefs: {
      async get(user, label) {
        const r = await db.get('SELECT content FROM prefs WHERE user_uri = ? AND label = ?', [user, label]);
        return r ? str(r.content) : undefined;
      },
      async usage(user) {
        const r = await db.get<{ n: number; c: number | null }>(
          'SELECT count(*) AS n, sum(length(content)) AS c FROM prefs WHERE user_uri = ?',
          [user],
        );
        return { count: Number(r?.n ?? 0), chars: Number(r?.c ?? 0) };
      },
      async set(user, label, content) {
        await db.run(
          `INSERT INTO prefs (user_uri, label, content) VALUES (?, ?, ?)
           ON CONFLICT (user_uri, label) DO UPDATE SET content = excluded.content`,
          [user, label, content],
        );
      },
    },
    signInFailures: {
      async get(userKey, source) {
        const r = await db.get('SELECT * FROM sign_in_failures WHERE user_key = ? AND source = ?', [userKey, source]);
        return r ? failureFrom(r) : undefined;
      },
      async fromSource(source, since) {
        const r = await db.get<{ n: number | null; oldest: number | null }>(
          'SELECT sum(failures) AS n, min(last_at) AS oldest FROM sign_in_failures WHERE source = ? AND last_at >= ?',
          [source, since],
        );
        return {
          failures: Number(r?.n ?? 0),
          oldestAt: r?.oldest === null || r?.oldest === undefined ? null : Number(r.oldest),
        };
      },
      async record(userKey, source, now, restartBefore) {
        const r = await db.get(
          `INSERT INTO sign_in_failures (user_key, source, failures, first_at, last_at) VALUES (?, ?, 1, ?, ?)
           ON CONFLICT (user_key, source) DO UPDATE SET
             failures = CASE WHEN sign_in_failures.last_at < ? THEN 1 ELSE sign_in_failures.failures + 1 END,
             first_at = CASE WHEN sign_in_failures.last_at < ? THEN excluded.first_at ELSE sign_in_failures.first_at END,
             last_at = excluded.last_at
           RETURNING failures, first_at, last_at`,
          [userKey, source, now, now, restartBefore, restartBefore],
        );
        return failureFrom(r ?? {});
      },
      async clear(userKey, source) {
        await db.run('DELETE FROM sign_in_failures WHERE user_key = ? AND source = ?', [userKey, source]);
      },
      async prune(before, maxRows) {
        let n = (await db.run('DELETE FROM sign_in_failures WHERE last_at < ?', [before])).changes;
        const total = Number((await db.get<{ n: number }>('SELECT count(*) AS n FROM sign_in_failures'))?.n ?? 0);
        if (total > maxRows) {
          const cut = await db.get<{ t: number }>(
            'SELECT last_at AS t FROM sign_in_failures ORDER BY last_at DESC LIMIT 1 OFFSET ?',
            [maxRows],
          );
          if (cut) n += (await db.run('DELETE FROM sign_in_failures WHERE last_at <= ?', [Number(cut.t)])).changes;
        }
        return n;
      },
      async count() {
        return Number((await db.get<{ n: number }>('SELECT count(*) AS n FROM sign_in_failures'))?.n ?? 0);
      },
    },
    archive: {
      async messagePage(roomId, afterId, limit, since) {
        const rows = await db.all(
          `SELECT ${MESSAGE_COLUMNS}, m.logged FROM messages m WHERE m.room_id = ? AND m.id > ? AND m.ts >= ?
           ORDER BY m.id LIMIT ?`,
          [roomId, afterId, since ?? Number.MIN_SAFE_INTEGER, limit],
        );
        return rows.map((r) => ({ ...messageFrom(r), logged: bool(r.logged) }));
      },
      async filePage(roomId, afterId, limit, since) {
        const rows = await db.all('SELECT * FROM files WHERE room_id = ? AND id > ? AND ts >= ? ORDER BY id LIMIT ?', [
          roomId,
          afterId,
          since ?? Number.MIN_SAFE_INTEGER,
          limit,
        ]);
        return rows.map(storedFileFrom);
      },
      async maxId() {
        const r =
          db.caps.dialect === 'sqlite'
            ? await db.get<{ n: number }>('SELECT last AS n FROM id_seq WHERE one = 1')
            : await db.get<{ n: number }>('SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM id_seq');
        return Number(r?.n ?? 0);
      },
      async reserveIds(id) {
        await writeTx(db, async (tx) => {
          if (tx.caps.dialect === 'sqlite')
            await tx.run('UPDATE id_seq SET last = CASE WHEN last > ? THEN last ELSE ? END WHERE one = 1', [id, id]);
          else if (id > 0)
            await tx.get(
              `SELECT setval('id_seq', GREATEST(?, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM id_seq)))
               AS v`,
              [id],
            );
        });
      },
      async newIds(n) {
        return n <= 0 ? [] : writeTx(db, (tx) => allocIds(tx, n));
      },
      async messageRooms(ids) {
        const out = new Map<number, string>();
        if (ids.length === 0) return out;
        const rows = await db.all(
          `SELECT id, room_id FROM messages WHERE id IN (${ids.map(() => '?').join(', ')})`,
          ids,
        );
        for (const r of rows) out.set(Number(r.id), str(r.room_id));
        return out;
      },
      async putMessages(batch) {
        if (batch.length === 0) return;
        await writeTx(db, async (tx) => {
          // Delete then insert (not an upsert), so the full-text triggers see the old row go and the new come.
          // 100 rows per statement keeps well inside both engines' parameter limits.
          for (let i = 0; i < batch.length; i += 100) {
            const part = batch.slice(i, i + 100);
            await tx.run(
              `DELETE FROM messages WHERE id IN (${part.map(() => '?').join(', ')})`,
              part.map((m) => m.id),
            );
            await tx.run(
              `INSERT INTO messages (id, room_id, author, ts, kind, logged, body, title, rich, file)
               VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
              part.flatMap((m) => messageRow(m.id, m)),
            );
          }
        });
      },
      async putFile(f) {
        await db.run(
          `INSERT INTO files (id, room_id, uploader, name, size, content_type, ts, storage_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET room_id = excluded.room_id, uploader = excluded.uploader,
             name = excluded.name, size = excluded.size, content_type = excluded.content_type, ts = excluded.ts,
             storage_key = excluded.storage_key`,
          [f.id, f.roomId, f.uploader, f.name, f.size, f.contentType, f.ts, f.storageKey],
        );
      },
      async removals() {
        const out = new Map<string, Map<number, MessageRemoval[]>>();
        const rows = await db.all("SELECT subject, ts, data FROM changes WHERE type = 'message.removed' ORDER BY id");
        for (const r of rows) {
          const data = JSON.parse(str(r.data)) as { ids?: unknown; by?: unknown; replacement?: unknown };
          if (!Array.isArray(data.ids)) continue;
          const room = out.get(str(r.subject)) ?? new Map<number, MessageRemoval[]>();
          out.set(str(r.subject), room);
          const removal: MessageRemoval = {
            ts: Number(r.ts),
            by: String(data.by ?? 'system'),
            replacement: typeof data.replacement === 'string' ? data.replacement : null,
          };
          for (const id of data.ids) {
            const list = room.get(Number(id)) ?? [];
            list.push(removal);
            room.set(Number(id), list);
          }
        }
        return out;
      },
      async putRemovals(roomId, removals) {
        if (removals.size === 0) return;
        await writeTx(db, async (tx) => {
          const key = (id: number, r: MessageRemoval) => JSON.stringify([id, r.ts, r.by, r.replacement]);
          const have = new Set<string>();
          const rows = await tx.all("SELECT ts, data FROM changes WHERE type = 'message.removed' AND subject = ?", [
            roomId,
          ]);
          for (const r of rows) {
            const data = JSON.parse(str(r.data)) as { ids?: unknown; by?: unknown; replacement?: unknown };
            if (!Array.isArray(data.ids)) continue;
            const removal: MessageRemoval = {
              ts: Number(r.ts),
              by: String(data.by ?? 'system'),
              replacement: typeof data.replacement === 'string' ? data.replacement : null,
            };
            for (const id of data.ids) have.add(key(Number(id), removal));
          }
          // One change per (time, author, replacement), in time order, as the original rewrite wrote them.
          const groups = new Map<string, { r: MessageRemoval; ids: number[] }>();
          for (const [id, list] of removals)
            for (const r of list) {
              if (have.has(key(id, r))) continue;
              const k = JSON.stringify([r.ts, r.by, r.replacement]);
              const g = groups.get(k) ?? { r, ids: [] };
              g.ids.push(id);
              groups.set(k, g);
            }
          const ordered = [...groups.values()].sort((a, b) => a.r.ts - b.r.ts);
          if (ordered.length === 0) return;
          const ids = await allocIds(tx, ordered.length);
          for (const [i, g] of ordered.entries())
            await tx.run('INSERT INTO changes (id, type, subject, ts, data) VALUES (?, ?, ?, ?, ?)', [
              ids[i] as number,
              'message.removed',
              roomId,
              g.r.ts,
              JSON.stringify({ ids: g.ids.sort((a, b) => a - b), replacement: g.r.replacement, by: g.r.by }),
            ]);
        });
      },
      async follows() {
        const rows = await db.all('SELECT * FROM follows ORDER BY user_uri, room_id');
        return rows.map((r) => ({ user: str(r.user_uri), roomId: str(r.room_id), lastReadId: Number(r.last_read_id) }));
      },
      async putFollow(f) {
        await db.run(
          `INSERT INTO follows (user_uri, room_id, last_read_id) VALUES (?, ?, ?)
           ON CONFLICT (user_uri, room_id) DO UPDATE SET last_read_id = excluded.last_read_id`,
          [f.user, f.roomId, f.lastReadId],
        );
      },
      async prefs() {
        const rows = await db.all('SELECT * FROM prefs ORDER BY user_uri, label');
        return rows.map((r) => ({ user: str(r.user_uri), label: str(r.label), content: str(r.content) }));
      },
      async getProgress(key) {
        const r = await db.get('SELECT line, state FROM import_progress WHERE archive = ?', [key]);
        return r ? { line: Number(r.line), state: str(r.state) as 'running' | 'done' } : undefined;
      },
      async setProgress(key, p) {
        await db.run(
          `INSERT INTO import_progress (archive, line, state, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (archive) DO UPDATE SET line = excluded.line, state = excluded.state,
             updated_at = excluded.updated_at`,
          [key, p.line, p.state, Date.now()],
        );
      },
    },
    async schemaVersion() {
      const r = await db.get<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
      return Number(r?.v ?? 0);
    },
    moderation: moderationStore(db),
    raw: () => db,
    atomically: (fn) => writeTx(db, (tx) => fn(buildStore(tx))),
    close: () => db.close(),
  };
  return store;
}

function failureFrom(r: Row): { failures: number; firstAt: number; lastAt: number } {
  return { failures: Number(r.failures), firstAt: Number(r.first_at), lastAt: Number(r.last_at) };
}

function storedFileFrom(r: Row): StoredFile {
  return {
    id: str(r.id),
    name: str(r.name),
    size: Number(r.size),
    contentType: str(r.content_type),
    roomId: str(r.room_id),
    uploader: str(r.uploader),
    ts: Number(r.ts),
    storageKey: str(r.storage_key),
  };
}

function feedFrom(r: Row): FeedFilter {
  return {
    id: str(r.id),
    user: str(r.user_uri),
    name: str(r.name),
    keywords: list(r.keywords),
    authors: list(r.authors),
    roomIds: list(r.room_ids),
    alert: bool(r.alert),
  };
}
