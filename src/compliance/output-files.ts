// Writing output files so a crash leaves either the whole file or none: a temporary name, fsync, rename.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function writeFileDurably(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  // make the rename itself durable
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** A file-name-safe form of a room id. */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || '_';
}

/** Groups a batch's events by room (first appearance order), for OneChatRoomPerOutputFile. */
export function byRoom<T extends { roomId: string }>(events: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const e of events) {
    const list = out.get(e.roomId);
    if (list) list.push(e);
    else out.set(e.roomId, [e]);
  }
  return out;
}
