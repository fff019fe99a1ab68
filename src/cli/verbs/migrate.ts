// pchat migrate lync — from Lync Server 2013 / Skype for Business Server 2015 Persistent Chat (docs/migration.md).
import { migrateLync } from '../../migration/lync-migrate.js';
import type { Finding } from '../../migration/lync-rules.js';
import { optFlag, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const need = (ctx: Context, name: string): string => {
  const v = optString(ctx.opts, name);
  if (v === undefined || v.trim() === '') throw new UsageError(`--${name} is required`, ctx.command);
  return v;
};

const show = (f: Finding) =>
  `  ${f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''}${f.kind} ${f.name}: ${f.message}`;

export const migrateNoun: NounDef = {
  name: 'migrate',
  summary: 'bring rooms, categories and history over from a legacy system',
  verbs: {
    lync: {
      summary: 'migrate from Lync 2013 / Skype for Business 2015 Persistent Chat',
      options: [
        {
          name: 'rooms',
          kind: 'string',
          value: 'CSV',
          description: 'Get-CsPersistentChatRoom | Export-Csv (required)',
        },
        {
          name: 'categories',
          kind: 'string',
          value: 'CSV',
          description: 'Get-CsPersistentChatCategory | Export-Csv (required)',
        },
        { name: 'addins', kind: 'string', value: 'CSV', description: 'Get-CsPersistentChatAddin | Export-Csv' },
        { name: 'endpoints', kind: 'string', value: 'CSV', description: 'Get-CsPersistentChatEndpoint | Export-Csv' },
        {
          name: 'compliance',
          kind: 'string',
          value: 'DIR',
          description: "the XML adapter's output directory (content)",
        },
        {
          name: 'root-category',
          kind: 'string',
          value: 'NAME',
          description: 'the legacy root category (default: the single top-level category others nest under)',
        },
        {
          name: 'sip-domain',
          kind: 'string',
          value: 'DOMAIN,…',
          description: "the organisation's SIP domains; users elsewhere are federated",
        },
        { name: 'what-if', kind: 'flag', description: 'report what would be migrated and change nothing' },
        { name: 'report', kind: 'flag', description: 'list every note, unmapped principal and error' },
      ],
      example:
        'pchat migrate lync --rooms rooms.csv --categories categories.csv --compliance D:\\ComplianceOut --what-if --report',
      async run(ctx) {
        const rooms = need(ctx, 'rooms');
        const categories = need(ctx, 'categories');
        const { store } = await ctx.storeAndFiles();
        const addins = optString(ctx.opts, 'addins');
        const endpoints = optString(ctx.opts, 'endpoints');
        const compliance = optString(ctx.opts, 'compliance');
        const root = optString(ctx.opts, 'root-category');
        const domains = optString(ctx.opts, 'sip-domain')
          ?.split(',')
          .filter((d) => d.trim() !== '');
        const whatIf = optFlag(ctx.opts, 'what-if');
        const report = await migrateLync(
          store,
          {
            rooms,
            categories,
            ...(addins !== undefined ? { addins } : {}),
            ...(endpoints !== undefined ? { endpoints } : {}),
            ...(compliance !== undefined ? { compliance } : {}),
          },
          {
            whatIf,
            ...(root !== undefined ? { rootCategory: root } : {}),
            ...(domains ? { sipDomains: domains } : {}),
          },
        );
        if (ctx.json) return ctx.out.record(report as unknown as Row);
        const total = Object.values(report.content.messages).reduce((a, b) => a + b, 0);
        const lines = [
          whatIf ? 'What if the migration ran (nothing was changed):' : 'Migrated:',
          `  categories: ${report.categories.length}`,
          `  rooms: ${report.rooms.length}`,
          `  users created: ${report.usersCreated.length} (${report.federated.length} federated, disabled)`,
          `  add-ins: ${report.addins.length}, endpoints: ${report.endpoints.length}`,
          `  messages: ${total} from ${report.content.files} compliance files${report.content.filesAlreadyImported ? ` (${report.content.filesAlreadyImported} imported before)` : ''}`,
          `${report.notes.length} notes, ${report.unmapped.length} unmapped principals, ${report.errors.length} errors.`,
        ];
        if (optFlag(ctx.opts, 'report') || whatIf) {
          if (report.errors.length > 0) lines.push('Errors (left out):', ...report.errors.map(show));
          if (report.unmapped.length > 0) lines.push('Unmapped principals:', ...report.unmapped.map(show));
          if (report.notes.length > 0) lines.push('Notes:', ...report.notes.map(show));
          if (report.content.unknownChannels.length > 0)
            lines.push(
              'Compliance channels with no migrated room:',
              ...report.content.unknownChannels.map((c) => `  ${c}`),
            );
          for (const [t, n] of Object.entries(report.content.notImported))
            lines.push(`  not history: ${n} ${t} events`);
        }
        ctx.out.text(lines.join('\n'));
      },
    },
  },
};
