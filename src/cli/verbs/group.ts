// pchat group add|set|get|remove — groups of users and other groups (Lync: AD distribution/security groups).
import type { Group } from '../../core/model.js';
import type { ListEdit } from '../../core/principals.js';
import { type OptSpec, optList, optString } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const IDENTITY: OptSpec = { name: 'identity', kind: 'string', value: 'NAME', description: 'the group name' };
const GROUP_OPTIONS: OptSpec[] = [
  IDENTITY,
  { name: 'description', kind: 'string', value: 'TEXT', description: 'what the group is for' },
  {
    name: 'members',
    kind: 'string',
    value: 'LIST',
    description: 'users and groups: sip:a@x,group:eng (replace) or +sip:a@x,-group:eng (add/remove)',
  },
];

function groupInput(ctx: Context): { description?: string; members?: ListEdit } {
  const input: { description?: string; members?: ListEdit } = {};
  const description = optString(ctx.opts, 'description');
  if (description !== undefined) input.description = description;
  const members = optList(ctx.opts, 'members', 'members');
  if (members !== undefined) input.members = members;
  return input;
}

const show = (ctx: Context, g: Group) => ctx.out.record(g as unknown as Row);

export const groupNoun: NounDef = {
  name: 'group',
  summary: 'groups of users (groups nest)',
  verbs: {
    add: {
      summary: 'create a group',
      args: 'NAME',
      maxPositionals: 1,
      options: GROUP_OPTIONS,
      replaces: 'New-ADGroup',
      example: 'pchat group add eng --members sip:alice@contoso.com,sip:bob@contoso.com',
      async run(ctx) {
        const name = ctx.requireKey('group');
        const input = groupInput(ctx);
        show(ctx, await (await ctx.admin()).addGroup(name, input));
      },
    },
    set: {
      summary: "change a group's description or members",
      args: 'NAME',
      maxPositionals: 1,
      options: GROUP_OPTIONS,
      replaces: 'Set-ADGroup / Add-ADGroupMember',
      example: 'pchat group set staff --members +group:eng,-sip:carol@contoso.com',
      async run(ctx) {
        const name = ctx.requireKey('group');
        const input = groupInput(ctx);
        show(ctx, await (await ctx.admin()).setGroup(name, input));
      },
    },
    get: {
      summary: 'show one group, or list groups',
      args: '[NAME]',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Get-ADGroup',
      example: 'pchat group get eng',
      async run(ctx) {
        const name = ctx.key('group');
        const admin = await ctx.admin();
        if (name !== undefined) return show(ctx, await admin.getGroup(name));
        ctx.out.table(
          (await admin.listGroups()) as unknown as Row[],
          [
            { key: 'name', label: 'name' },
            { key: 'members', label: 'members' },
            { key: 'description', label: 'description' },
          ],
          '(no groups)',
        );
      },
    },
    remove: {
      summary: 'delete a group',
      args: 'NAME',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Remove-ADGroup',
      example: 'pchat group remove eng',
      async run(ctx) {
        const name = ctx.requireKey('group');
        const admin = await ctx.admin();
        const g = await admin.getGroup(name);
        await admin.removeGroup(g.name);
        ctx.out.done(`Removed group ${g.name}.`, { removed: g.name });
      },
    },
  },
};
