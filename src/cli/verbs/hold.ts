// pchat hold add|remove|list — legal holds: a room or user under hold is never purged by retention.
import { SYSTEM } from '../../admin/admin-service.js';
import { type OptSpec, optString } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const TARGET: OptSpec[] = [
  { name: 'room', kind: 'string', value: 'ROOM', description: 'a room (name or id)' },
  { name: 'user', kind: 'string', value: 'URI', description: 'a user (the hold covers everything they posted)' },
];

function target(ctx: Context): { room?: string; user?: string } {
  const room = optString(ctx.opts, 'room');
  const user = optString(ctx.opts, 'user');
  return { ...(room !== undefined ? { room } : {}), ...(user !== undefined ? { user } : {}) };
}

export const holdNoun: NounDef = {
  name: 'hold',
  summary: 'legal holds: suspend retention purges for a room or a user',
  verbs: {
    add: {
      summary: 'put a room or a user under legal hold',
      options: [...TARGET, { name: 'reason', kind: 'string', value: 'TEXT', description: 'why (kept with the hold)' }],
      example: 'pchat hold add --user sip:eve@contoso.com --reason "matter 2026-17"',
      async run(ctx) {
        const h = await (await ctx.complianceAdmin()).addHold(SYSTEM, target(ctx), optString(ctx.opts, 'reason') ?? '');
        ctx.out.done(`Legal hold on ${h.kind} ${h.subject}.`, h as unknown as Row);
      },
    },
    remove: {
      summary: 'lift a legal hold',
      options: TARGET,
      example: 'pchat hold remove --user sip:eve@contoso.com',
      async run(ctx) {
        const t = target(ctx);
        await (await ctx.complianceAdmin()).removeHold(SYSTEM, t);
        ctx.out.done(`Lifted the legal hold on ${t.room ?? t.user}.`, { removed: t.room ?? t.user });
      },
    },
    list: {
      summary: 'list legal holds',
      options: [],
      example: 'pchat hold list',
      async run(ctx) {
        const holds = await (await ctx.complianceAdmin()).listHolds(SYSTEM);
        ctx.out.table(
          holds as unknown as Row[],
          [
            { key: 'kind', label: 'kind' },
            { key: 'subject', label: 'subject' },
            { key: 'reason', label: 'reason' },
            { key: 'createdBy', label: 'by' },
            { key: 'createdAt', label: 'since' },
          ],
          '(no legal holds)',
        );
      },
    },
  },
};
