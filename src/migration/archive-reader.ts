// Reads a pchat archive line by line (gunzipping a .gz file), with a bound on the length of one line so a
// malformed file cannot exhaust memory, and validates each line against the format's schema.
import type { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { PchatError } from '../core/errors.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, type ArchiveRecord, RECORD } from './archive-format.js';

/** Longest accepted line: a story of 64,000 characters, escaped, fits with room to spare. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export function archiveError(line: number, message: string): PchatError {
  return new PchatError('ARCHIVE_INVALID', `file: line ${line}: ${message}`, { field: 'file', details: { line } });
}

export interface RawLine {
  line: number;
  text: string;
}

/** The lines of `path`; `hash` (when given) is fed the file's bytes as they are read. */
export async function* readLines(path: string, hash?: ReturnType<typeof createHash>): AsyncGenerator<RawLine> {
  const file = createReadStream(path);
  if (hash) file.on('data', (c) => hash.update(c as Buffer));
  const src: Readable = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  file.on('error', (e) => src.destroy(e));
  let parts: Buffer[] = [];
  let partLen = 0;
  let line = 0;
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        const end = nl === -1 ? chunk.length : nl;
        partLen += end - start;
        if (partLen > MAX_LINE_BYTES) throw archiveError(line + 1, `longer than ${MAX_LINE_BYTES} bytes`);
        parts.push(chunk.subarray(start, end));
        if (nl === -1) break;
        line++;
        const text = Buffer.concat(parts).toString('utf8');
        parts = [];
        partLen = 0;
        start = nl + 1;
        yield { line, text };
      }
    }
  } catch (e) {
    if (e instanceof PchatError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PchatError('INVALID_VALUE', `file: ${path} does not exist`, { field: 'file' });
    throw archiveError(line + 1, `cannot be read (${(e as Error).message})`);
  }
  if (partLen > 0) throw archiveError(line + 1, 'the last line has no newline (the archive is truncated)');
}

/** Parses and validates one line. */
export function parseRecord(raw: RawLine): ArchiveRecord {
  let json: unknown;
  try {
    json = JSON.parse(raw.text);
  } catch {
    throw archiveError(raw.line, 'not JSON');
  }
  const r = RECORD.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw archiveError(raw.line, `not a valid record${where}: ${issue?.message ?? 'invalid'}`);
  }
  if (r.data.type === 'header' && r.data.version !== ARCHIVE_VERSION)
    throw new PchatError(
      'ARCHIVE_VERSION_UNSUPPORTED',
      `file: ${ARCHIVE_FORMAT} version ${r.data.version}; this pchat reads version ${ARCHIVE_VERSION}`,
      { field: 'file' },
    );
  return r.data;
}
