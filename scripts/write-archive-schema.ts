// Writes docs/migration-archive.schema.json from the archive's zod schemas (src/migration/archive-format.ts).
// Run after changing the format: node --import tsx scripts/write-archive-schema.ts
import { writeFileSync } from 'node:fs';
import { archiveJsonSchema } from '../src/migration/archive-format.js';

writeFileSync(
  new URL('../docs/migration-archive.schema.json', import.meta.url),
  `${JSON.stringify(archiveJsonSchema(), null, 2)}\n`,
);
