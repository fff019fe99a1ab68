// pchat retention set|get|remove|run-now — how long messages and files are kept, per category or globally.
import { SYSTEM } from '../../admin/admin-service.js';
import { optInt, optString, UsageError } from '../args.js';
import type { NounDef } from '../command.js';
import type { Row } from '../output.js';

const CATEGORY = {
  name: 'category',
  kind: 'string',
  value: 'NAME',
  description: 'a category (default: the global period, for categories without their own)',
} as const;

export const retentionNoun: NounDef = {
  name: 'retention',
  summary: 'retention periods: purge messages and files older than N days (off until set)',
  verbs: {
    set: {
      summary: 'keep messages of a category (or, without --category, of every category) for N days',
      options: [CATEGORY, { name: 'days', kind: 'string', value: 'N', description: 'days to keep (1 to 36500)' }],
      example: 'pchat retention set --category Engineering --days 365',
      async run(ctx) {
        const days = optInt(ctx.opts, 'days', 'days', 1);
        if (days === undefined) throw new UsageError('give --days', ctx.command);
        const category = optString(ctx.opts, 'category') ?? null;
        await (await ctx.complianceAdmin()).setRetention(SYSTEM, category, days);
        ctx.out.done(`Messages of ${category ?? 'every category'} are kept ${days} day(s).`, {
          scope: category ?? 'global',
          days,
        });
      },
    },
    get: {
      summary: 'list the retention periods',
      options: [],
      example: 'pchat retention get',
      async run(ctx) {
        const rows = await (await ctx.complianceAdmin()).getRetention(SYSTEM);
        ctx.out.table(
          rows as unknown as Row[],
          [
            { key: 'scope', label: 'scope' },
            { key: 'category', label: 'category' },
            { key: 'days', label: 'days' },
          ],
          '(no retention periods: everything is kept)',
        );
      },
    },
    remove: {
      summary: 'remove the retention period of a category (or the global one)',
      options: [CATEGORY],
      example: 'pchat retention remove --category Engineering',
      async run(ctx) {
        const category = optString(ctx.opts, 'category') ?? null;
        await (await ctx.complianceAdmin()).setRetention(SYSTEM, category, null);
        ctx.out.done(`Removed the retention period of ${category ?? 'the global default'}.`, {
          removed: category ?? 'global',
        });
      },
    },
    'run-now': {
      summary: 'purge what has expired now (in bounded batches; the server also runs this every minute)',
      options: [],
      example: 'pchat retention run-now',
      async run(ctx) {
        const r = await (await ctx.complianceAdmin()).runRetentionNow(SYSTEM);
        ctx.out.done(`Purged ${r.purged} message(s) and ${r.files} file(s).`, { ...r });
      },
    },
  },
};
