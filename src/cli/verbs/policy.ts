// pchat policy new|set|get|remove|grant — who may use persistent chat (EnablePersistentChat).
import { type OptSpec, optBool, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';
import { showUser } from './user.js';

const IDENTITY: OptSpec = {
  name: 'identity',
  kind: 'string',
  value: 'ID',
  description: 'global, site:NAME or tag:NAME (a bare NAME means tag:NAME)',
};
const POLICY_OPTIONS: OptSpec[] = [
  IDENTITY,
  {
    name: 'enable-persistent-chat',
    kind: 'bool',
    description: 'users under this policy may use persistent chat (--no-enable-persistent-chat)',
  },
  { name: 'description', kind: 'string', value: 'TEXT', description: 'what the policy is for' },
];

function policyInput(ctx: Context): { enablePersistentChat?: boolean; description?: string } {
  const input: { enablePersistentChat?: boolean; description?: string } = {};
  const enable = optBool(ctx.opts, 'enable-persistent-chat', 'enablePersistentChat');
  if (enable !== undefined) input.enablePersistentChat = enable;
  const description = optString(ctx.opts, 'description');
  if (description !== undefined) input.description = description;
  return input;
}

export const policyNoun: NounDef = {
  name: 'policy',
  summary: 'persistent chat policies and their assignment to users',
  verbs: {
    new: {
      summary: 'create a site or tag policy',
      args: 'ID',
      maxPositionals: 1,
      options: POLICY_OPTIONS,
      replaces: 'New-CsPersistentChatPolicy',
      example: 'pchat policy new tag:ChatUsers --enable-persistent-chat',
      async run(ctx) {
        const id = ctx.requireKey('policy');
        const input = policyInput(ctx);
        ctx.out.record((await (await ctx.admin()).newPolicy(id, input)) as unknown as Row);
      },
    },
    set: {
      summary: 'change a policy (the global policy always exists)',
      args: 'ID',
      maxPositionals: 1,
      options: POLICY_OPTIONS,
      replaces: 'Set-CsPersistentChatPolicy',
      example: 'pchat policy set global --enable-persistent-chat',
      async run(ctx) {
        const id = ctx.requireKey('policy');
        const input = policyInput(ctx);
        ctx.out.record((await (await ctx.admin()).setPolicy(id, input)) as unknown as Row);
      },
    },
    get: {
      summary: 'show one policy, or list them',
      args: '[ID]',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Get-CsPersistentChatPolicy',
      example: 'pchat policy get',
      async run(ctx) {
        const id = ctx.key('policy');
        const admin = await ctx.admin();
        if (id !== undefined) return ctx.out.record((await admin.getPolicy(id)) as unknown as Row);
        ctx.out.table(
          (await admin.listPolicies()) as unknown as Row[],
          [
            { key: 'identity', label: 'identity' },
            { key: 'enablePersistentChat', label: 'enabled' },
            { key: 'description', label: 'description' },
          ],
          '(no policies)',
        );
      },
    },
    remove: {
      summary: 'delete a site or tag policy (users granted a tag policy lose the assignment)',
      args: 'ID',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Remove-CsPersistentChatPolicy',
      example: 'pchat policy remove tag:ChatUsers',
      async run(ctx) {
        const id = ctx.requireKey('policy');
        const admin = await ctx.admin();
        await admin.removePolicy(id);
        ctx.out.done(`Removed policy ${id}.`, { removed: id });
      },
    },
    grant: {
      summary: 'assign a tag policy to a user (--policy none removes the assignment)',
      options: [
        { name: 'user', kind: 'string', value: 'URI', description: 'the user' },
        {
          name: 'policy',
          kind: 'string',
          value: 'NAME',
          description: 'a tag policy (tag:NAME or NAME), or none to fall back to the site/global policy',
        },
      ],
      replaces: 'Grant-CsPersistentChatPolicy',
      example: 'pchat policy grant --user sip:alice@contoso.com --policy ChatUsers',
      async run(ctx) {
        const user = optString(ctx.opts, 'user');
        const policy = optString(ctx.opts, 'policy');
        if (user === undefined) throw new UsageError('--user is required', ctx.command);
        if (policy === undefined)
          throw new UsageError('--policy is required (none removes the assignment)', ctx.command);
        const tag = ['none', '$null', ''].includes(policy.trim().toLowerCase()) ? null : policy;
        showUser(ctx, await (await ctx.admin()).grantPolicy(user, tag));
      },
    },
  },
};
