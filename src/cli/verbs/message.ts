// pchat message remove — remove or replace messages of a room (Remove-CsPersistentChatMessage).
import { SYSTEM } from '../../admin/admin-service.js';
import { DEFAULT_REPLACEMENT, type MatchClause, type MessageRemoval } from '../../admin/compliance-admin.js';
import { optFlag, optString, UsageError } from '../args.js';
import type { NounDef } from '../command.js';

export const messageNoun: NounDef = {
  name: 'message',
  summary: 'message administration: remove or replace messages',
  verbs: {
    remove: {
      summary: 'remove (or replace the text of) the messages of a room that match the selectors',
      options: [
        { name: 'room', kind: 'string', value: 'ROOM', description: 'the room (name or id); required' },
        { name: 'user', kind: 'string', value: 'URI', description: "only this user's messages" },
        { name: 'start-date', kind: 'string', value: 'DATE', description: 'only messages from this time (ISO 8601)' },
        {
          name: 'end-date',
          kind: 'string',
          value: 'DATE',
          description: 'only messages up to this time (a bare date covers that whole day, UTC)',
        },
        { name: 'filter', kind: 'string', value: 'TEXT', description: 'only messages containing this text' },
        {
          name: 'match',
          kind: 'string',
          value: 'all|or|exact',
          description: 'all words of the filter (default), any word, or the exact phrase',
        },
        { name: 'case-sensitive', kind: 'flag', description: 'match the filter case-sensitively' },
        { name: 'remove', kind: 'flag', description: 'remove the messages' },
        {
          name: 'replace',
          kind: 'string',
          value: 'TEXT',
          description: `replace their text (--replace "" for "${DEFAULT_REPLACEMENT}")`,
        },
      ],
      replaces: 'Remove-CsPersistentChatMessage',
      example: 'pchat message remove --room General --user sip:eve@contoso.com --filter "merger" --replace ""',
      async run(ctx) {
        const o = ctx.opts;
        const room = optString(o, 'room');
        if (room === undefined) throw new UsageError('name the room with --room', ctx.command);
        const replace = optString(o, 'replace');
        const remove = optFlag(o, 'remove');
        if (remove === (replace !== undefined))
          throw new UsageError('say what to do: --remove, or --replace [TEXT]', ctx.command);
        const input: MessageRemoval = { room, caseSensitive: optFlag(o, 'case-sensitive') };
        const user = optString(o, 'user');
        if (user !== undefined) input.user = user;
        const start = optString(o, 'start-date');
        if (start !== undefined) input.startDate = start;
        const end = optString(o, 'end-date');
        if (end !== undefined) input.endDate = end;
        const filter = optString(o, 'filter');
        if (filter !== undefined) input.filter = filter;
        const match = optString(o, 'match');
        if (match !== undefined) input.match = match.toLowerCase() as MatchClause;
        if (replace !== undefined) input.replace = replace;
        const r = await (await ctx.complianceAdmin()).removeMessages(SYSTEM, input);
        ctx.out.done(`${replace !== undefined ? 'Replaced' : 'Removed'} ${r.count} message(s) in ${r.room}.`, r);
      },
    },
  },
};
