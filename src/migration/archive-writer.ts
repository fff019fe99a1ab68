// `pchat export`: writes the store (or the part a level and scope select) as a pchat archive, streaming: rooms,
// messages and files are read a page at a time and file blobs a chunk at a time, so an archive larger than
// memory works. The archive is written to a temporary name and renamed when complete.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { PchatError } from '../core/errors.js';
import type { Category, Room } from '../core/model.js';
import type { FileStore } from '../files/file-store.js';
import type { Store } from '../store/port.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, type ArchiveRecord, BLOB_CHUNK, type ExportLevel } from './archive-format.js';

export interface ExportOptions {
  level: ExportLevel;
  /** Category names: only these categories and their rooms. */
  scope?: string[];
  /** Content (messages, files) from this time on, ms. */
  startDate?: number;
  /** Disable every exported room afterwards, as Export-CsPersistentChatData -DisableExportedNodes did. */
  disableExportedNodes?: boolean;
}

export interface ExportReport {
  file: string;
  level: ExportLevel;
  counts: Record<string, number>;
  rooms: string[];
  disabledRooms: string[];
  /** Files whose metadata exists but whose blob is missing from the file store (not exported). */
  missingBlobs: string[];
}

const PAGE = 500;

/** What each level holds (inventory §5: Export-CsPersistentChatData -Level). */
export function levelParts(level: ExportLevel) {
  const all = level === 'all';
  return {
    config: all,
    principals: all || level === 'user',
    addins: all || level === 'roomdirectory',
    endpoints: all,
    categories: all || level === 'category' || level === 'roomdirectory',
    rooms: all || level === 'roomdirectory' || level === 'content',
    content: all || level === 'content',
    userData: all,
  };
}

class LineSink {
  private readonly file: Writable;
  private readonly out: Writable;
  records = 0;

  constructor(path: string, gzip: boolean) {
    // Owner-only: the archive holds password hashes and every room's history.
    this.file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.out = gzip ? createGzip() : this.file;
    if (gzip) this.out.pipe(this.file);
  }

  async write(r: ArchiveRecord): Promise<void> {
    this.records++;
    if (!this.out.write(`${JSON.stringify(r)}\n`)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    const done = once(this.file, 'close');
    this.out.end();
    await done;
  }

  destroy(): void {
    this.out.destroy();
    this.file.destroy();
  }
}

export async function exportArchive(
  store: Store,
  files: FileStore,
  path: string,
  opts: ExportOptions,
): Promise<ExportReport> {
  const parts = levelParts(opts.level);
  const categories = await store.categories.list();
  let scoped: Category[] = categories;
  if (opts.scope && opts.scope.length > 0) {
    const byName = new Map(categories.map((c) => [c.name.toLowerCase(), c]));
    scoped = opts.scope.map((n) => {
      const c = byName.get(n.trim().toLowerCase());
      if (!c) throw new PchatError('CATEGORY_NOT_FOUND', `scope: category "${n}" does not exist`, { field: 'scope' });
      return c;
    });
    scoped.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const inScope = new Set(scoped.map((c) => c.id));
  const rooms: Room[] = parts.rooms ? (await store.rooms.list()).filter((r) => inScope.has(r.categoryId)) : [];
  const roomIds = new Set(rooms.map((r) => r.id));
  const report: ExportReport = {
    file: path,
    level: opts.level,
    counts: {},
    rooms: rooms.map((r) => r.name),
    disabledRooms: [],
    missingBlobs: [],
  };
  const tmp = `${path}.partial-${process.pid}`;
  const sink = new LineSink(tmp, path.endsWith('.gz'));
  const put = async (r: ArchiveRecord) => {
    report.counts[r.type] = (report.counts[r.type] ?? 0) + 1;
    await sink.write(r);
  };
  try {
    await put({
      type: 'header',
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      level: opts.level,
      scope: opts.scope && opts.scope.length > 0 ? scoped.map((c) => c.name) : null,
      startDate: opts.startDate ?? null,
      maxId: await store.messages.latestId(),
    });
    if (parts.config) await put({ type: 'config', config: await store.config.get() });
    if (parts.principals) {
      for (const policy of await store.policies.list()) await put({ type: 'policy', policy });
    }
    if (parts.addins) for (const addin of await store.addins.list()) await put({ type: 'addin', addin });
    if (parts.endpoints) for (const endpoint of await store.endpoints.list()) await put({ type: 'endpoint', endpoint });
    if (parts.principals) {
      const users = await store.users.list();
      const ous = new Set<string>();
      for (const user of users) {
        await put({ type: 'user', user, passwordHash: (await store.users.getPasswordHash(user.uri)) ?? null });
        if (user.ou) ous.add(user.ou);
      }
      for (const path of [...ous].sort()) await put({ type: 'ou', path });
      for (const group of await store.groups.list()) await put({ type: 'group', group });
    }
    if (parts.categories) for (const category of scoped) await put({ type: 'category', category });
    // Removal records are few next to messages; read once, attached to their messages below.
    const removals = parts.content ? await store.archive.removals() : new Map();
    for (const room of rooms) {
      await put({ type: 'room', room });
      let nFiles = 0;
      let nMessages = 0;
      if (parts.content) {
        nFiles = await exportFiles(store, files, room.id, opts.startDate, put, report);
        for (let after = 0; ; ) {
          const page = await store.archive.messagePage(room.id, after, PAGE, opts.startDate);
          const roomRemovals = removals.get(room.id);
          for (const message of page) {
            const list = roomRemovals?.get(message.id);
            await put({ type: 'message', message: list ? { ...message, removals: list } : message });
          }
          nMessages += page.length;
          if (page.length < PAGE) break;
          after = (page[page.length - 1] as { id: number }).id;
        }
      }
      await put({ type: 'room-end', id: room.id, messages: nMessages, files: nFiles });
    }
    if (parts.userData) {
      for (const follow of await store.archive.follows())
        if (roomIds.has(follow.roomId)) await put({ type: 'follow', follow });
      for (const feed of await store.feeds.listAll()) await put({ type: 'feed', feed });
      for (const pref of await store.archive.prefs()) await put({ type: 'pref', pref });
    }
    await put({ type: 'end', records: sink.records });
    await sink.close();
    await rename(tmp, path);
  } catch (e) {
    sink.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
  if (opts.disableExportedNodes) {
    for (const r of rooms) {
      if (r.disabled) continue;
      await store.rooms.put({ ...r, disabled: true });
      report.disabledRooms.push(r.name);
    }
  }
  return report;
}

async function exportFiles(
  store: Store,
  files: FileStore,
  roomId: string,
  since: number | undefined,
  put: (r: ArchiveRecord) => Promise<void>,
  report: ExportReport,
): Promise<number> {
  let n = 0;
  for (let after = ''; ; ) {
    const page = await store.archive.filePage(roomId, after, PAGE, since);
    for (const file of page) {
      if (!(await files.exists(file.storageKey))) {
        report.missingBlobs.push(file.id);
        continue;
      }
      const sha256 = await hashOf(files, file.storageKey);
      await put({ type: 'file', file, sha256 });
      n++;
      // Fixed-size chunks whatever the read stream yields, so the archive does not depend on I/O timing.
      let pending = Buffer.alloc(0);
      for await (const chunk of files.open(file.storageKey)) {
        pending = Buffer.concat([pending, chunk as Buffer]);
        while (pending.length >= BLOB_CHUNK) {
          await put({ type: 'blob', id: file.id, data: pending.subarray(0, BLOB_CHUNK).toString('base64') });
          pending = pending.subarray(BLOB_CHUNK);
        }
      }
      if (pending.length > 0) await put({ type: 'blob', id: file.id, data: pending.toString('base64') });
    }
    if (page.length < PAGE) break;
    after = (page[page.length - 1] as { id: string }).id;
  }
  return n;
}

async function hashOf(files: FileStore, key: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of files.open(key)) h.update(chunk as Buffer);
  return h.digest('hex');
}
