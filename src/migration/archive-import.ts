// `pchat import`: reads a pchat archive into the store in two passes.
//   1. Check (all that --what-if does): every line is parsed and validated, the structure is checked (header
//      first, each room's content between its room and room-end lines, blobs complete with the right SHA-256,
//      the end line's count), and every conflict with the target store is listed. Nothing is written; a
//      malformed archive is refused here, before any change.
//   2. Apply: the same lines in bounded transactions (at most BATCH lines each). Each transaction also stores
//      the last line it covers under the archive's SHA-256, so an import that crashed resumes after its last
//      commit. A room's own row is written in the transaction of its room-end line, so a room whose content
//      is half imported does not exist yet. Items with the same name as existing ones overwrite them (the
//      existing id is kept, so links to it stay valid), as Import-CsPersistentChatData did.
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PchatError } from '../core/errors.js';
import { refKind } from '../core/principals.js';
import { validateDescription, validateName } from '../core/rules.js';
import type { FileStore } from '../files/file-store.js';
import type { MessageRemoval, Store, StoredFile } from '../store/port.js';
import type { ArchiveRecord, RecordOf } from './archive-format.js';
import { archiveError, parseRecord, readLines } from './archive-reader.js';

export const BATCH = 500;

export interface ImportFinding {
  line: number;
  kind: string;
  name: string;
  message: string;
}

export interface ImportReport {
  file: string;
  sha256: string;
  whatIf: boolean;
  /** Items that will overwrite (or did overwrite) existing ones. */
  conflicts: ImportFinding[];
  warnings: ImportFinding[];
  /** Problems that stop a real import (what-if lists them all). */
  errors: ImportFinding[];
  counts: Record<string, number>;
  /** The line a resumed import started after (0 for a fresh one). */
  resumedAfter: number;
  alreadyImported: boolean;
  transactions: number;
}

export interface ImportOptions {
  whatIf?: boolean;
  /** Called after each committed transaction with the last line it covered (progress, tests). */
  onCommit?: (line: number) => void | Promise<void>;
}

interface Pending {
  room: RecordOf<'room'>['room'];
  line: number;
}

/** Checks the archive against its format and the target store; writes nothing. */
async function check(store: Store, path: string): Promise<ImportReport> {
  const hash = createHash('sha256');
  const report: ImportReport = {
    file: path,
    sha256: '',
    whatIf: true,
    conflicts: [],
    warnings: [],
    errors: [],
    counts: {},
    resumedAfter: 0,
    alreadyImported: false,
    transactions: 0,
  };
  const users = new Set((await store.users.list()).map((u) => u.uri));
  const groups = new Set((await store.groups.list()).map((g) => g.name));
  const addins = new Set((await store.addins.list()).map((a) => a.name));
  const categories = new Map((await store.categories.list()).map((c) => [c.id, c.name]));
  const catByName = new Map([...categories].map(([id, name]) => [name, id]));
  const archiveCats = new Map<string, string>();
  let header: RecordOf<'header'> | undefined;
  let pending: Pending | undefined;
  let blob: { file: StoredFile; sha: string; got: number; h: ReturnType<typeof createHash> } | undefined;
  let roomCounts = { messages: 0, files: 0 };
  let lastMessageId = 0;
  let ended = false;
  let records = 0;
  let idChecks: { id: number; roomId: string; line: number }[] = [];
  const roomTarget = new Map<string, string>();

  const flushIds = async () => {
    const found = await store.archive.messageRooms(idChecks.map((c) => c.id));
    for (const c of idChecks) {
      const other = found.get(c.id);
      if (other !== undefined && other !== c.roomId)
        report.warnings.push({
          line: c.line,
          kind: 'message',
          name: String(c.id),
          message: `message id ${c.id} is taken by another room's message; it will get a new id`,
        });
    }
    idChecks = [];
  };
  const refsKnown = (line: number, kind: string, name: string, list: readonly string[]) => {
    for (const ref of list) {
      const k = refKind(ref);
      const missing = (k === 'user' && !users.has(ref)) || (k === 'group' && !groups.has(ref.slice('group:'.length)));
      if (missing)
        report.warnings.push({ line, kind, name, message: `${ref} is neither in the archive nor in the store` });
    }
  };

  for await (const raw of readLines(path, hash)) {
    if (ended) throw archiveError(raw.line, 'text after the end record');
    const r = parseRecord(raw);
    const line = raw.line;
    if (line === 1 && r.type !== 'header') throw archiveError(1, 'the first line must be the header');
    if (line > 1 && r.type === 'header') throw archiveError(line, 'a second header');
    if (blob && r.type !== 'blob') throw archiveError(line, `file ${blob.file.id} is incomplete`);
    if (pending && !['file', 'blob', 'message', 'room-end'].includes(r.type))
      throw archiveError(line, `room ${pending.room.id} has no room-end line before this ${r.type}`);
    report.counts[r.type] = (report.counts[r.type] ?? 0) + 1;
    switch (r.type) {
      case 'header':
        header = r;
        break;
      case 'user':
        if (users.has(r.user.uri))
          report.conflicts.push({ line, kind: 'user', name: r.user.uri, message: 'overwrites the existing user' });
        users.add(r.user.uri);
        break;
      case 'group':
        if (groups.has(r.group.name))
          report.conflicts.push({ line, kind: 'group', name: r.group.name, message: 'overwrites the existing group' });
        groups.add(r.group.name);
        break;
      case 'addin':
        addins.add(r.addin.name);
        break;
      case 'category': {
        checkNames(line, r.category.name, r.category.description);
        const existing = catByName.get(r.category.name);
        if (existing !== undefined)
          report.conflicts.push({
            line,
            kind: 'category',
            name: r.category.name,
            message: 'overwrites the existing category of the same name',
          });
        archiveCats.set(r.category.id, existing ?? r.category.id);
        refsKnown(line, 'category', r.category.name, [
          ...r.category.allowedMembers,
          ...r.category.deniedMembers,
          ...r.category.creators,
        ]);
        break;
      }
      case 'room': {
        checkNames(line, r.room.name, r.room.description);
        pending = { room: r.room, line };
        roomCounts = { messages: 0, files: 0 };
        lastMessageId = 0;
        const existing = await store.rooms.getByName(r.room.name);
        if (existing)
          report.conflicts.push({
            line,
            kind: 'room',
            name: r.room.name,
            message: 'overwrites the existing room of the same name (content is added to it)',
          });
        roomTarget.set(r.room.id, existing?.id ?? r.room.id);
        if (!archiveCats.has(r.room.categoryId) && !categories.has(r.room.categoryId))
          report.errors.push({
            line,
            kind: 'room',
            name: r.room.name,
            message: `its category ${r.room.categoryId} is neither in the archive nor in the store`,
          });
        if (r.room.addin !== null && !addins.has(r.room.addin))
          report.warnings.push({ line, kind: 'room', name: r.room.name, message: `add-in ${r.room.addin} is unknown` });
        refsKnown(line, 'room', r.room.name, [...r.room.members, ...r.room.managers, ...r.room.presenters]);
        break;
      }
      case 'file':
        if (!pending || r.file.roomId !== pending.room.id)
          throw archiveError(line, `file ${r.file.id} is not inside the room it belongs to`);
        roomCounts.files++;
        blob = { file: r.file, sha: r.sha256, got: 0, h: createHash('sha256') };
        if (r.file.size === 0) blob = endBlob(line, blob);
        break;
      case 'blob': {
        if (!blob || blob.file.id !== r.id) throw archiveError(line, `blob of ${r.id} without its file line`);
        const bytes = Buffer.from(r.data, 'base64');
        blob.got += bytes.length;
        blob.h.update(bytes);
        if (blob.got > blob.file.size) throw archiveError(line, `file ${r.id} has more bytes than its size`);
        if (blob.got === blob.file.size) blob = endBlob(line, blob);
        break;
      }
      case 'message':
        if (!pending || r.message.roomId !== pending.room.id)
          throw archiveError(line, `message ${r.message.id} is not inside the room it belongs to`);
        if (r.message.id <= lastMessageId)
          throw archiveError(line, `message ids must increase within a room (${r.message.id} after ${lastMessageId})`);
        lastMessageId = r.message.id;
        checkRemovals(line, r.message);
        roomCounts.messages++;
        idChecks.push({ id: r.message.id, roomId: roomTarget.get(pending.room.id) ?? pending.room.id, line });
        if (idChecks.length >= BATCH) await flushIds();
        break;
      case 'room-end':
        if (!pending || pending.room.id !== r.id) throw archiveError(line, `room-end of ${r.id} without its room`);
        if (r.messages !== roomCounts.messages || r.files !== roomCounts.files)
          throw archiveError(line, `room ${r.id} should hold ${r.messages} messages and ${r.files} files`);
        pending = undefined;
        break;
      case 'end':
        if (r.records !== records) throw archiveError(line, `${records} records before the end, not ${r.records}`);
        ended = true;
        break;
      default:
        break;
    }
    records++;
  }
  await flushIds();
  if (!header) throw archiveError(1, 'the archive is empty');
  if (!ended) throw archiveError(records + 1, 'no end record: the archive is truncated');
  report.sha256 = hash.digest('hex');
  return report;

  function checkNames(line: number, name: string, description: string) {
    try {
      validateName(name);
      validateDescription(description);
    } catch (e) {
      throw archiveError(line, (e as Error).message);
    }
  }
  // The last removal record must agree with the message: removed ones have no content, replaced ones show
  // the replacement (anything else would resurrect removed content or lose a replacement).
  function checkRemovals(line: number, m: RecordOf<'message'>['message']) {
    const last = m.removals?.[m.removals.length - 1];
    if (!last) return;
    if (last.replacement === null && (m.logged || m.text !== '' || m.title !== null || m.rich !== null || m.file))
      throw archiveError(line, `message ${m.id} is marked removed but still has content`);
    if (last.replacement !== null && (!m.logged || m.text !== last.replacement))
      throw archiveError(line, `message ${m.id} is marked replaced but its text is not the replacement`);
  }
  function endBlob(line: number, b: NonNullable<typeof blob>): undefined {
    if (b.h.digest('hex') !== b.sha) throw archiveError(line, `file ${b.file.id} does not match its SHA-256`);
    return undefined;
  }
}

export async function importArchive(
  store: Store,
  files: FileStore,
  path: string,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const report = await check(store, path);
  const progress = await store.archive.getProgress(report.sha256);
  if (progress?.state === 'done') report.alreadyImported = true;
  if (opts.whatIf || report.alreadyImported) return report;
  if (report.errors.length > 0) {
    const first = report.errors[0] as ImportFinding;
    throw new PchatError('IMPORT_REFUSED', `file: line ${first.line}: ${first.kind} ${first.name}: ${first.message}`, {
      field: 'file',
      details: { errors: report.errors },
    });
  }
  report.whatIf = false;
  report.resumedAfter = progress?.line ?? 0;
  await apply(store, files, path, report, opts);
  return report;
}

type Op = (tx: Store) => Promise<void>;

async function apply(store: Store, files: FileStore, path: string, report: ImportReport, opts: ImportOptions) {
  const skipTo = report.resumedAfter;
  const catMap = new Map<string, string>();
  const roomMap = new Map<string, string>();
  let ops: Op[] = [];
  let lastLine = 0;
  let linesInBatch = 0;
  let pending: Pending | undefined;
  let blob: { file: StoredFile; tmp: string; out: WriteStream; got: number } | undefined;
  let messages: RecordOf<'message'>['message'][] = [];

  const commit = async () => {
    if (messages.length > 0) await flushMessages();
    if (lastLine <= skipTo || linesInBatch === 0) {
      ops = [];
      return;
    }
    const batch = ops;
    const line = lastLine;
    ops = [];
    linesInBatch = 0;
    await store.atomically(async (tx) => {
      for (const op of batch) await op(tx);
      await tx.archive.setProgress(report.sha256, { line, state: 'running' });
    });
    report.transactions++;
    await opts.onCommit?.(line);
  };
  // Messages are written in their room's batch; ids taken by another room's messages are renumbered.
  const flushMessages = async () => {
    const batch = messages;
    messages = [];
    ops.push(async (tx) => {
      const taken = await tx.archive.messageRooms(batch.map((m) => m.id));
      const clash = batch.filter((m) => {
        const other = taken.get(m.id);
        return other !== undefined && other !== m.roomId;
      });
      const fresh = await tx.archive.newIds(clash.length);
      const renumber = new Map(clash.map((m, i) => [m.id, fresh[i] as number]));
      await tx.archive.putMessages(batch.map((m) => ({ ...m, id: renumber.get(m.id) ?? m.id })));
      // The removal records follow their messages (under the ids they got), grouped by room.
      const removals = new Map<string, Map<number, MessageRemoval[]>>();
      for (const m of batch) {
        if (!m.removals) continue;
        const room = removals.get(m.roomId) ?? new Map<number, MessageRemoval[]>();
        room.set(renumber.get(m.id) ?? m.id, m.removals);
        removals.set(m.roomId, room);
      }
      for (const [roomId, room] of removals) await tx.archive.putRemovals(roomId, room);
    });
  };

  let header: RecordOf<'header'> | undefined;
  for await (const raw of readLines(path)) {
    const r = parseRecord(raw) as ArchiveRecord;
    const skip = raw.line <= skipTo;
    lastLine = raw.line;
    switch (r.type) {
      case 'header':
        header = r;
        if (!skip) ops.push((tx) => tx.archive.reserveIds(r.maxId));
        break;
      case 'config':
        if (!skip) ops.push(async (tx) => void (await tx.config.put(r.config)));
        break;
      case 'policy':
        if (!skip) ops.push(async (tx) => void (await tx.policies.put(r.policy)));
        break;
      case 'addin':
        if (!skip) ops.push(async (tx) => void (await tx.addins.put(r.addin)));
        break;
      case 'endpoint':
        if (!skip) ops.push(async (tx) => void (await tx.endpoints.put(r.endpoint)));
        break;
      case 'user':
        if (!skip)
          ops.push(async (tx) => {
            await tx.users.put(r.user);
            if (r.passwordHash !== null) await tx.users.setPasswordHash(r.user.uri, r.passwordHash);
          });
        break;
      case 'group':
        if (!skip) ops.push(async (tx) => void (await tx.groups.put(r.group)));
        break;
      case 'category': {
        // Same name, other id: overwrite the existing category and keep its id.
        const existing = await store.categories.getByName(r.category.name);
        const id = existing?.id ?? r.category.id;
        catMap.set(r.category.id, id);
        if (!skip) ops.push(async (tx) => void (await tx.categories.put({ ...r.category, id })));
        break;
      }
      case 'room': {
        const existing = await store.rooms.getByName(r.room.name);
        const id = existing?.id ?? r.room.id;
        roomMap.set(r.room.id, id);
        pending = {
          room: { ...r.room, id, categoryId: catMap.get(r.room.categoryId) ?? r.room.categoryId },
          line: raw.line,
        };
        break;
      }
      case 'file': {
        const roomId = roomMap.get(r.file.roomId) ?? r.file.roomId;
        const file = { ...r.file, roomId };
        if (skip) break;
        const tmp = join(files.dir, 'tmp', `import-${randomUUID()}`);
        await mkdir(dirname(tmp), { recursive: true });
        blob = { file, tmp, out: createWriteStream(tmp), got: 0 };
        if (file.size === 0) await endBlob();
        break;
      }
      case 'blob': {
        if (!blob) break; // a skipped file's bytes
        const bytes = Buffer.from(r.data, 'base64');
        blob.got += bytes.length;
        if (!blob.out.write(bytes)) await once(blob.out, 'drain');
        if (blob.got === blob.file.size) await endBlob();
        break;
      }
      case 'message':
        if (!skip) {
          messages.push({ ...r.message, roomId: roomMap.get(r.message.roomId) ?? r.message.roomId });
          if (messages.length >= BATCH) await flushMessages();
        }
        break;
      case 'room-end': {
        const room = pending?.room;
        pending = undefined;
        if (!skip && room) {
          if (messages.length > 0) await flushMessages();
          ops.push(async (tx) => void (await tx.rooms.put(room)));
        }
        break;
      }
      case 'follow':
        if (!skip)
          ops.push((tx) =>
            tx.archive.putFollow({ ...r.follow, roomId: roomMap.get(r.follow.roomId) ?? r.follow.roomId }),
          );
        break;
      case 'feed':
        if (!skip)
          ops.push((tx) => tx.feeds.put({ ...r.feed, roomIds: r.feed.roomIds.map((id) => roomMap.get(id) ?? id) }));
        break;
      case 'pref':
        if (!skip) ops.push((tx) => tx.prefs.set(r.pref.user, r.pref.label, r.pref.content));
        break;
      default:
        break;
    }
    // Commit at a bounded size, never inside a file's bytes.
    if (!skip) linesInBatch++;
    if (!blob && linesInBatch >= BATCH) await commit();
  }
  await commit();
  await store.archive.setProgress(report.sha256, { line: lastLine, state: 'done' });
  if (!header) throw archiveError(1, 'the archive is empty');

  async function endBlob() {
    const b = blob as NonNullable<typeof blob>;
    blob = undefined;
    const closed = once(b.out, 'close');
    b.out.end();
    await closed;
    const target = join(files.dir, b.file.storageKey);
    await mkdir(dirname(target), { recursive: true });
    await rename(b.tmp, target).catch(async (e) => {
      await rm(b.tmp, { force: true });
      throw e;
    });
    ops.push((tx) => tx.archive.putFile(b.file));
  }
}
