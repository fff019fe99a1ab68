// Tamper evidence: after an adapter wrote a batch, the worker writes `<prefix>.manifest.json` beside it, with
// each output file's SHA-256 and a hash over the manifest chained to the previous batch's hash. `verify`
// walks a directory: every file must be listed by a manifest with its exact hash, the manifests must run
// 1, 2, 3… without gaps, and each must name its predecessor's hash. Editing, removing, reordering or adding a
// file breaks the chain at a named file.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from './output-files.js';

export const MANIFEST_FORMAT = 'pchat-compliance-batch/1';
export const MANIFEST_SUFFIX = '.manifest.json';

export interface BatchManifest {
  format: typeof MANIFEST_FORMAT;
  seq: number;
  adapter: string;
  firstEventId: number;
  lastEventId: number;
  events: number;
  startTime: string;
  endTime: string;
  files: { name: string; sha256: string; bytes: number }[];
  /** The previous batch's hash ('' for the first batch of the pool). */
  prev: string;
  /** SHA-256 over this manifest without `hash` (canonical JSON, keys in the order above). */
  hash: string;
}

export function batchPrefix(seq: number): string {
  return `batch-${String(seq).padStart(8, '0')}`;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export function manifestHash(m: Omit<BatchManifest, 'hash'>): string {
  const { format, seq, adapter, firstEventId, lastEventId, events, startTime, endTime, files, prev } = m;
  const canonical = JSON.stringify({
    format,
    seq,
    adapter,
    firstEventId,
    lastEventId,
    events,
    startTime,
    endTime,
    files: files.map((f) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes })),
    prev,
  });
  return sha256(canonical);
}

/** Hashes the adapter's files and writes the batch manifest; returns it (its hash is the new chain head). */
export async function writeManifest(
  dir: string,
  m: Omit<BatchManifest, 'hash' | 'files' | 'format'>,
  fileNames: string[],
): Promise<BatchManifest> {
  const files = [];
  for (const name of [...fileNames].sort()) {
    const body = await readFile(join(dir, name));
    files.push({ name, sha256: sha256(body), bytes: body.length });
  }
  const base = { format: MANIFEST_FORMAT, ...m, files } as Omit<BatchManifest, 'hash'>;
  const manifest: BatchManifest = { ...base, hash: manifestHash(base) };
  await writeFileDurably(
    join(dir, `${batchPrefix(m.seq)}${MANIFEST_SUFFIX}`),
    `${JSON.stringify(manifest, null, 2)}\n`,
  );
  return manifest;
}

export interface VerifyResult {
  ok: boolean;
  batches: number;
  files: number;
  firstSeq: number | null;
  lastSeq: number | null;
  head: string | null;
  /** One line per problem, each naming the file. */
  problems: string[];
}

/**
 * Checks a directory of outputs end to end. A directory whose first batch is not 1 (the output directory was
 * changed) is accepted from its first manifest on, and says so in `problems` only if `fromStart` is set.
 */
export async function verifyDirectory(dir: string, opts: { fromStart?: boolean } = {}): Promise<VerifyResult> {
  const problems: string[] = [];
  const names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  const manifests: { file: string; m: BatchManifest }[] = [];
  const listed = new Set<string>();
  for (const file of names.filter((n) => n.endsWith(MANIFEST_SUFFIX)).sort()) {
    let m: BatchManifest;
    try {
      m = JSON.parse(await readFile(join(dir, file), 'utf8')) as BatchManifest;
    } catch (e) {
      problems.push(`${file}: not a readable manifest (${(e as Error).message})`);
      continue;
    }
    if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.files) || typeof m.seq !== 'number') {
      problems.push(`${file}: not a ${MANIFEST_FORMAT} manifest`);
      continue;
    }
    if (file !== `${batchPrefix(m.seq)}${MANIFEST_SUFFIX}`) problems.push(`${file}: names batch ${m.seq}`);
    const { hash, ...rest } = m;
    if (manifestHash(rest) !== hash) problems.push(`${file}: manifest hash does not match its content`);
    manifests.push({ file, m });
    listed.add(file);
    for (const f of m.files) {
      listed.add(f.name);
      let body: Buffer;
      try {
        body = await readFile(join(dir, f.name));
      } catch {
        problems.push(`${f.name}: listed by ${file} but missing`);
        continue;
      }
      if (body.length !== f.bytes || sha256(body) !== f.sha256)
        problems.push(`${f.name}: content does not match the hash in ${file}`);
    }
  }
  manifests.sort((a, b) => a.m.seq - b.m.seq);
  for (let i = 0; i < manifests.length; i++) {
    const { file, m } = manifests[i] as { file: string; m: BatchManifest };
    if (i === 0) {
      if (m.seq === 1 && m.prev !== '') problems.push(`${file}: batch 1 must have no predecessor`);
      if (m.seq !== 1 && opts.fromStart) problems.push(`${file}: the chain starts at batch ${m.seq}, not 1`);
      continue;
    }
    const before = (manifests[i - 1] as { m: BatchManifest }).m;
    if (m.seq !== before.seq + 1) problems.push(`${file}: batch ${before.seq + 1} is missing before it`);
    else if (m.prev !== before.hash) problems.push(`${file}: does not chain to batch ${before.seq}'s hash`);
  }
  for (const n of names) {
    if (n.startsWith('.tmp-')) continue;
    if (!listed.has(n)) problems.push(`${n}: not listed by any batch manifest`);
  }
  const last = manifests[manifests.length - 1];
  return {
    ok: problems.length === 0,
    batches: manifests.length,
    files: listed.size,
    firstSeq: manifests[0]?.m.seq ?? null,
    lastSeq: last?.m.seq ?? null,
    head: last?.m.hash ?? null,
    problems,
  };
}
