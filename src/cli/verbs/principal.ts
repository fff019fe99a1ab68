// pchat principal eligible — who may be in a category's rooms, or members/presenters of a room.
import { optFlag, optString, UsageError } from '../args.js';
import type { NounDef } from '../command.js';
import type { Row } from '../output.js';

export const principalNoun: NounDef = {
  name: 'principal',
  summary: 'principals (users, groups, OUs, domains) expanded into users',
  verbs: {
    eligible: {
      summary: 'list the users eligible for a category or room (groups and OUs expanded, policy applied)',
      options: [
        { name: 'category', kind: 'string', value: 'NAME', description: "users allowed in the category's rooms" },
        { name: 'room', kind: 'string', value: 'NAME', description: 'users who may be members of the room' },
        { name: 'presenters', kind: 'flag', description: "with --room: the room's members who may be presenters" },
      ],
      replaces: 'Get-CsPersistentChatEligiblePrincipal',
      example: 'pchat principal eligible --room "Town Hall" --presenters',
      async run(ctx) {
        const category = optString(ctx.opts, 'category');
        const room = optString(ctx.opts, 'room');
        const presenters = optFlag(ctx.opts, 'presenters');
        if ((category === undefined) === (room === undefined))
          throw new UsageError('give exactly one of --category or --room', ctx.command);
        if (presenters && room === undefined) throw new UsageError('--presenters needs --room', ctx.command);
        const target = room !== undefined ? { room, presenters } : { category: category as string };
        const users = await (await ctx.admin()).eligiblePrincipals(target);
        ctx.out.table(
          users as unknown as Row[],
          [
            { key: 'uri', label: 'uri' },
            { key: 'displayName', label: 'display name' },
            { key: 'ou', label: 'ou' },
          ],
          '(no eligible users)',
        );
      },
    },
  },
};
