// pchat export — the store (or part of it) as one pchat archive (docs/migration.md).
import { invalid } from '../../core/errors.js';
import { parseEnum } from '../../core/rules.js';
import { FileStore } from '../../files/file-store.js';
import { EXPORT_LEVELS, type ExportLevel } from '../../migration/archive-format.js';
import { exportArchive } from '../../migration/archive-writer.js';
import { optFlag, optString, UsageError } from '../args.js';
import type { Context, VerbDef } from '../command.js';
import type { Row } from '../output.js';

/** `2026-03-01`, or a full ISO 8601 time; a date alone is midnight UTC. */
export function parseDate(v: string, field: string): number {
  const s = v.trim();
  const t = /^\d{4}-\d{2}-\d{2}$/.test(s) ? Date.parse(`${s}T00:00:00Z`) : Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t))
    throw invalid(field, `"${v}" is not a date such as 2026-03-01 or 2026-03-01T08:00:00Z`);
  return t;
}

export function requireFile(ctx: Context): string {
  const f = optString(ctx.opts, 'file');
  if (f === undefined || f.trim() === '') throw new UsageError('--file is required', ctx.command);
  return f;
}

export const exportVerb: VerbDef = {
  summary: 'write rooms, principals, settings, content and files to one archive',
  options: [
    {
      name: 'file',
      kind: 'string',
      value: 'FILE',
      description: 'the archive to write (.jsonl, or .jsonl.gz compressed)',
    },
    {
      name: 'level',
      kind: 'string',
      value: 'all|user|category|roomdirectory|content',
      description: 'what to export (default all)',
    },
    { name: 'scope', kind: 'string', value: 'CATEGORY,…', description: 'only these categories and their rooms' },
    { name: 'start-date', kind: 'string', value: 'DATE', description: 'only content from this date on' },
    { name: 'disable-exported-nodes', kind: 'flag', description: 'disable every exported room afterwards' },
    { name: 'report', kind: 'flag', description: 'list the exported rooms as well as the counts' },
  ],
  replaces: 'Export-CsPersistentChatData',
  example: 'pchat export --file /backup/pchat-2026-03-01.jsonl.gz --level all',
  async run(ctx) {
    const file = requireFile(ctx);
    const levelText = optString(ctx.opts, 'level');
    const level: ExportLevel =
      levelText === undefined ? 'all' : parseEnum(levelText.toLowerCase(), EXPORT_LEVELS, 'level');
    const scope = optString(ctx.opts, 'scope')
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const since = optString(ctx.opts, 'start-date');
    const { store, filesDir } = await ctx.storeAndFiles();
    const report = await exportArchive(store, new FileStore(filesDir), file, {
      level,
      ...(scope && scope.length > 0 ? { scope } : {}),
      ...(since !== undefined ? { startDate: parseDate(since, 'startDate') } : {}),
      disableExportedNodes: optFlag(ctx.opts, 'disable-exported-nodes'),
    });
    const full = optFlag(ctx.opts, 'report');
    if (ctx.json) return ctx.out.record((full ? report : { ...report, rooms: report.rooms.length }) as unknown as Row);
    const lines = [`Exported ${file} (level ${level}).`];
    for (const [k, n] of Object.entries(report.counts)) lines.push(`  ${k}: ${n}`);
    if (report.disabledRooms.length > 0) lines.push(`Disabled ${report.disabledRooms.length} exported rooms.`);
    if (report.missingBlobs.length > 0)
      lines.push(`Warning: ${report.missingBlobs.length} files are missing from the file store and were skipped.`);
    if (full) for (const r of report.rooms) lines.push(`  room: ${r}`);
    ctx.out.text(lines.join('\n'));
  },
};
