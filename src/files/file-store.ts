// The file store: uploaded files in a directory (shared by the servers of a pool). A file is streamed to a
// temporary name while its size is counted, and renamed into place only when it is complete and within the
// limit, so a failed or oversized upload leaves nothing behind and nothing is ever held whole in memory.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PchatError } from '../core/errors.js';

/** A temp file not written to for this long belongs to an upload that died with its server (SIGKILL). */
export const STALE_TEMP_MS = 10 * 60 * 1000;

/** Below this much free space a directory counts as full (readiness). */
const MIN_FREE_BYTES = 1024 * 1024;

/** Throws when `dir` cannot take a write now: too little free space, or a probe file cannot be written. */
export async function probeWritable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const s = await statfs(dir);
  if (s.bavail * s.bsize < MIN_FREE_BYTES) {
    throw Object.assign(new Error(`${dir}: less than 1 MiB free`), { code: 'ENOSPC' });
  }
  const probe = join(dir, `.probe-${process.pid}`);
  try {
    await writeFile(probe, 'ok');
  } finally {
    await rm(probe, { force: true });
  }
}

export class FileStore {
  constructor(readonly dir: string) {}

  /**
   * Removes temp files of uploads that can no longer finish (their server was killed). The directory is shared
   * by a pool, so a file another server is still writing (touched within STALE_TEMP_MS) is left alone.
   */
  async sweepTemp(now = Date.now(), staleMs = STALE_TEMP_MS): Promise<number> {
    const tmpDir = join(this.dir, 'tmp');
    let names: string[];
    try {
      names = await readdir(tmpDir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(tmpDir, name);
      const s = await stat(path).catch(() => undefined);
      if (s?.isFile() && now - s.mtimeMs >= staleMs) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Streams `body` into the store; rejects with FILE_TOO_LARGE as soon as it passes `maxBytes`. */
  async save(body: Readable, maxBytes: number): Promise<{ key: string; size: number }> {
    const id = randomUUID();
    const key = `${id.slice(0, 2)}/${id}`;
    const tmpDir = join(this.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    await mkdir(join(this.dir, id.slice(0, 2)), { recursive: true });
    const tmp = join(tmpDir, id);
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes)
          done(
            new PchatError('FILE_TOO_LARGE', `file: larger than ${Math.floor(maxBytes / 1024)} KB`, { field: 'file' }),
          );
        else done(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, join(this.dir, key));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { key, size };
  }

  open(key: string): Readable {
    return createReadStream(join(this.dir, key));
  }

  async exists(key: string): Promise<boolean> {
    return stat(join(this.dir, key)).then(
      () => true,
      () => false,
    );
  }

  async remove(key: string): Promise<void> {
    await rm(join(this.dir, key), { force: true });
  }
}
