// Files: an upload streams into the file store (MaxFileSizeKB enforced while streaming) and is posted to the
// room as a 'file' message through the core's commit pipeline; a download is allowed to whoever may read the
// room's history, and a file in a room the user may not read is answered as missing.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { invalid, PchatError } from '../core/errors.js';
import type { FileStore } from '../files/file-store.js';
import type { ChatCore } from './core.js';
import type { Door } from './events.js';
import type { MessageView, Session, UploadInput } from './types.js';

export class Files {
  constructor(
    private readonly core: ChatCore,
    private readonly files: FileStore,
  ) {}

  async upload(session: Session, input: UploadInput): Promise<MessageView> {
    const { core } = this;
    const s = core.liveSession(session);
    const subject = core.subject(s.user);
    const { room, category } = core.require(subject, input.roomId, 'post');
    if (!category.fileUpload) throw new PchatError('FILE_UPLOAD_DISABLED');
    const name = sanitizeFileName(input.name);
    const maxBytes = core.model.config.maxFileSizeKB * 1024;
    if (input.size !== undefined && input.size > maxBytes) {
      input.body.resume();
      throw new PchatError('FILE_TOO_LARGE', `file: larger than ${core.model.config.maxFileSizeKB} KB`, {
        field: 'file',
      });
    }
    const who = core.who(s);
    const contentType = /^[\w.+-]+\/[\w.+-]+$/.test(input.contentType) ? input.contentType : 'application/octet-stream';
    try {
      await core.events.veto('upload.before', { who, subject, room, category, name, contentType, size: input.size });
    } catch (e) {
      input.body.resume();
      throw e;
    }
    const saved = await this.files.save(input.body, maxBytes);
    const id = randomUUID();
    await core.store.files.put({
      id,
      roomId: input.roomId,
      uploader: s.user,
      name,
      size: saved.size,
      contentType,
      ts: Date.now(),
      storageKey: saved.key,
    });
    const file = { id, name, size: saved.size, contentType };
    const where = { id: room.id, name: room.name };
    const message = await core.enqueue({
      who,
      where,
      message: {
        roomId: input.roomId,
        author: s.user,
        ts: Date.now(),
        kind: 'file',
        text: name,
        title: null,
        rich: null,
        file,
        logged: category.chatHistory,
      },
    });
    await core.events.notify('uploaded', { who, where, at: Date.now(), file, message });
    return message;
  }

  /** A file's metadata and content, if the user may read its room's history. */
  async download(
    user: string,
    fileId: string,
    door: Door = 'rest',
  ): Promise<{ name: string; size: number; contentType: string; body: Readable }> {
    const { core } = this;
    const subject = core.subject(user);
    const f = await core.store.files.get(fileId);
    if (!f) throw new PchatError('FILE_NOT_FOUND', `file: ${fileId} does not exist`, { field: 'file' });
    let rc: ReturnType<ChatCore['require']>;
    try {
      rc = core.require(subject, f.roomId, 'read');
    } catch (e) {
      // do not reveal that a file exists in a room the user may not read
      if (e instanceof PchatError && e.code === 'ROOM_NOT_FOUND')
        throw new PchatError('FILE_NOT_FOUND', `file: ${fileId} does not exist`, { field: 'file' });
      throw e;
    }
    const who = core.who(user, door);
    await core.events.veto('download.before', { who, subject, room: rc.room, category: rc.category, file: f });
    const ref = { id: f.id, name: f.name, size: f.size, contentType: f.contentType };
    await core.events.notify('downloaded', {
      who,
      where: { id: rc.room.id, name: rc.room.name },
      at: Date.now(),
      file: ref,
    });
    return { name: f.name, size: f.size, contentType: f.contentType, body: this.files.open(f.storageKey) };
  }
}

function sanitizeFileName(name: string): string {
  const base = String(name ?? '')
    .replace(/[\u0000-\u001f/\\]/g, '_')
    .replace(/[\uD800-\uDFFF]/g, '_')
    .trim()
    .slice(0, 255);
  if (!base || base === '.' || base === '..') throw invalid('name', 'a file needs a name');
  return base;
}
