// Writes docs/openapi.json from the routes' schemas: builds a server on a throwaway data directory (port 0),
// asks Fastify's swagger plugin for the document and writes it. `npm run openapi` updates the file;
// `npm run openapi -- --check` fails when the committed copy differs (CI runs that).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema } from '../src/config/config.js';
import { silentLogger } from '../src/observability/log.js';
import { buildServer } from '../src/server.js';

const target = join(import.meta.dirname, '..', 'docs', 'openapi.json');
const check = process.argv.includes('--check');
const dir = mkdtempSync(join(tmpdir(), 'pchat-openapi-'));
try {
  const config = ConfigSchema.parse({ dataDir: dir, port: 0, logLevel: 'silent', sip: { enabled: false } });
  const server = await buildServer(config, { logger: silentLogger, env: {} });
  const doc = `${JSON.stringify(server.openapi(), null, 2)}\n`;
  await server.close();
  if (check) {
    let committed = '';
    try {
      committed = readFileSync(target, 'utf8');
    } catch {
      // missing counts as different
    }
    if (committed !== doc) {
      process.stderr.write(
        "docs/openapi.json differs from the routes' schemas: run `npm run openapi` and commit it.\n",
      );
      process.exitCode = 1;
    } else process.stdout.write('docs/openapi.json matches the routes.\n');
  } else {
    writeFileSync(target, doc);
    process.stdout.write(`wrote ${target}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
