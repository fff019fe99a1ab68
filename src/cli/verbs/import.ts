// pchat import — reads a pchat archive into the store; --what-if only reports (docs/migration.md).
import { FileStore } from '../../files/file-store.js';
import { type ImportFinding, importArchive } from '../../migration/archive-import.js';
import { optFlag } from '../args.js';
import type { VerbDef } from '../command.js';
import type { Row } from '../output.js';
import { requireFile } from './export.js';

const show = (f: ImportFinding) => `  line ${f.line}: ${f.kind} ${f.name}: ${f.message}`;

export const importVerb: VerbDef = {
  summary: 'read an archive into the store (same-named items are overwritten)',
  options: [
    { name: 'file', kind: 'string', value: 'FILE', description: 'the archive to read' },
    { name: 'what-if', kind: 'flag', description: 'report every conflict and warning and change nothing' },
    { name: 'report', kind: 'flag', description: 'list every conflict and warning (not only their numbers)' },
  ],
  replaces: 'Import-CsPersistentChatData',
  example: 'pchat import --file /backup/pchat-2026-03-01.jsonl.gz --what-if --report',
  async run(ctx) {
    const file = requireFile(ctx);
    const whatIf = optFlag(ctx.opts, 'what-if');
    const { store, filesDir } = await ctx.storeAndFiles();
    const report = await importArchive(store, new FileStore(filesDir), file, { whatIf });
    if (ctx.json) return ctx.out.record(report as unknown as Row);
    const lines: string[] = [];
    if (report.alreadyImported) lines.push(`${file} was imported already; nothing to do.`);
    else if (whatIf) lines.push(`What if ${file} were imported (nothing was changed):`);
    else
      lines.push(
        `Imported ${file} in ${report.transactions} transactions${report.resumedAfter > 0 ? ` (resumed after line ${report.resumedAfter})` : ''}.`,
      );
    for (const [k, n] of Object.entries(report.counts)) lines.push(`  ${k}: ${n}`);
    lines.push(
      `${report.conflicts.length} conflicts (overwritten), ${report.warnings.length} warnings, ${report.errors.length} errors.`,
    );
    const full = optFlag(ctx.opts, 'report') || whatIf;
    if (full) {
      if (report.errors.length > 0) lines.push('Errors:', ...report.errors.map(show));
      if (report.conflicts.length > 0) lines.push('Conflicts:', ...report.conflicts.map(show));
      if (report.warnings.length > 0) lines.push('Warnings:', ...report.warnings.map(show));
    }
    ctx.out.text(lines.join('\n'));
  },
};
