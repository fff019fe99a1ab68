// Builds test/interop/sipe/sax1shim.c (the LD_PRELOAD fix that lets SIPE parse XML on Debian 12's libxml2) into a
// cache directory and returns the path of the .so. The cache key is a hash of the source, so edits rebuild it and
// concurrent test processes never see a half-written file (build to a temp name, then rename).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SHIM_SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'sipe', 'sax1shim.c');
const LIBXML2_INCLUDE = '/usr/include/libxml2';

export class InteropSetupError extends Error {
  override name = 'InteropSetupError';
}

const INSTALL_HINT =
  'install the interop packages: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ' +
  '--no-install-recommends pidgin-sipe bitlbee-libpurple libxml2-dev gcc';

export interface ShimOptions {
  /** Where to keep the built .so (default: $PCHAT_INTEROP_CACHE or <tmpdir>/pchat-interop-cache). */
  cacheDir?: string;
  /** C compiler (default: $CC or gcc). */
  cc?: string;
}

let pending: Promise<string> | undefined;

/** Returns the absolute path of a built sax1shim.so, compiling it on first use. */
export function buildSipeShim(opts: ShimOptions = {}): Promise<string> {
  if (!opts.cacheDir && !opts.cc) {
    pending ??= build(opts).catch((e) => {
      pending = undefined;
      throw e;
    });
    return pending;
  }
  return build(opts);
}

async function build(opts: ShimOptions): Promise<string> {
  const cc = opts.cc ?? process.env.CC ?? 'gcc';
  const cacheDir = opts.cacheDir ?? process.env.PCHAT_INTEROP_CACHE ?? join(tmpdir(), 'pchat-interop-cache');
  const source = await readFile(SHIM_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const out = join(cacheDir, `sax1shim-${hash}.so`);
  if (existsSync(out)) return out;

  try {
    await run(cc, ['--version']);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new InteropSetupError(`C compiler '${cc}' not found; ${INSTALL_HINT}`);
    throw new InteropSetupError(`'${cc} --version' failed: ${err.message}`);
  }
  if (!existsSync(join(LIBXML2_INCLUDE, 'libxml', 'parser.h'))) {
    throw new InteropSetupError(
      `libxml2 headers not found in ${LIBXML2_INCLUDE} (package libxml2-dev); ${INSTALL_HINT}`,
    );
  }

  await mkdir(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
  try {
    await run(cc, ['-shared', '-fPIC', `-I${LIBXML2_INCLUDE}`, SHIM_SOURCE, '-o', tmp, '-ldl', '-lxml2']);
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    const err = e as Error & { stderr?: string };
    throw new InteropSetupError(
      `building ${SHIM_SOURCE} failed: ${err.stderr?.trim() || err.message}\n${INSTALL_HINT}`,
    );
  }
  return out;
}
