// The file store: uploaded files in a directory (shared by the servers of a pool). A file is streamed to a
// temporary name while its size is counted, and renamed into place only when it is complete and within the
// limit, so a failed or oversized upload leaves nothing behind and nothing is ever held whole in memory.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PchatError } from '../core/errors.js';

export class FileStore {
  constructor(readonly dir: string) {}

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
