// pchat user add|set|get|remove — the directory's users (Lync: AD users enabled for Lync).
import type { UserInput } from '../../admin/admin-service.js';
import type { User } from '../../core/model.js';
import { type OptSpec, type OptValues, optBool, optFlag, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const IDENTITY: OptSpec = { name: 'identity', kind: 'string', value: 'URI', description: "the user's SIP URI" };

const userOptions = (add: boolean): OptSpec[] => [
  IDENTITY,
  { name: 'display-name', kind: 'string', value: 'TEXT', description: 'name shown to other users' },
  {
    name: 'password',
    kind: 'string',
    value: 'TEXT',
    description: add
      ? 'password (at least 8 characters); better: --password-stdin or env PCHAT_PASSWORD'
      : "new password (ends the user's sessions); better: --password-stdin",
  },
  { name: 'password-stdin', kind: 'flag', description: 'read the password from standard input' },
  { name: 'email', kind: 'string', value: 'ADDR', description: 'email address ("" clears it)' },
  { name: 'ou', kind: 'string', value: 'PATH', description: 'organizational unit, e.g. Contoso/Eng ("" clears it)' },
  { name: 'site', kind: 'string', value: 'NAME', description: 'site, selects a site:NAME policy ("" clears it)' },
  { name: 'admin', kind: 'bool', description: 'persistent chat administrator (--no-admin to revoke)' },
  { name: 'disabled', kind: 'bool', description: 'disable sign-in (--no-disabled to enable again)' },
];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** The password from --password, --password-stdin or (when `useEnv`) PCHAT_PASSWORD; undefined when none. */
async function password(ctx: Context, useEnv: boolean): Promise<string | undefined> {
  const flag = optString(ctx.opts, 'password');
  const stdin = optFlag(ctx.opts, 'password-stdin');
  if (flag !== undefined && stdin) throw new UsageError('use --password or --password-stdin, not both', ctx.command);
  if (flag !== undefined) return flag;
  if (stdin) return readStdin();
  const env = process.env.PCHAT_PASSWORD;
  return useEnv && env !== undefined && env !== '' ? env : undefined;
}

function userInput(opts: OptValues): UserInput {
  const input: UserInput = {};
  const clearable = (name: string): string | null | undefined => {
    const v = optString(opts, name);
    return v === undefined ? undefined : v.trim() === '' ? null : v;
  };
  const displayName = optString(opts, 'display-name');
  if (displayName !== undefined) input.displayName = displayName;
  const email = clearable('email');
  if (email !== undefined) input.email = email;
  const ou = clearable('ou');
  if (ou !== undefined) input.ou = ou;
  const site = clearable('site');
  if (site !== undefined) input.site = site;
  const admin = optBool(opts, 'admin', 'isAdmin');
  if (admin !== undefined) input.isAdmin = admin;
  const disabled = optBool(opts, 'disabled', 'disabled');
  if (disabled !== undefined) input.disabled = disabled;
  return input;
}

export function showUser(ctx: Context, u: User): void {
  ctx.out.record(u as unknown as Row);
}

export const USER_COLUMNS = [
  { key: 'uri', label: 'uri' },
  { key: 'displayName', label: 'display name' },
  { key: 'ou', label: 'ou' },
  { key: 'site', label: 'site' },
  { key: 'policy', label: 'policy' },
  { key: 'isAdmin', label: 'admin' },
  { key: 'disabled', label: 'disabled' },
];

export const userNoun: NounDef = {
  name: 'user',
  summary: 'users of the directory',
  verbs: {
    add: {
      summary: 'create a user',
      args: 'URI',
      maxPositionals: 1,
      options: userOptions(true),
      replaces: 'New-ADUser + Enable-CsUser',
      example: 'pchat user add sip:alice@contoso.com --display-name "Alice" --ou Contoso/Eng --admin --password-stdin',
      async run(ctx) {
        const uri = ctx.requireKey('user');
        const input = userInput(ctx.opts);
        const pw = await password(ctx, true);
        if (pw !== undefined) input.password = pw;
        const admin = await ctx.admin();
        showUser(ctx, await admin.addUser(uri, input));
      },
    },
    set: {
      summary: "change a user's settings or password",
      args: 'URI',
      maxPositionals: 1,
      options: userOptions(false),
      replaces: 'Set-CsUser',
      example: 'pchat user set sip:alice@contoso.com --site Redmond --no-admin',
      async run(ctx) {
        const uri = ctx.requireKey('user');
        const input = userInput(ctx.opts);
        const pw = await password(ctx, false);
        if (pw !== undefined) input.password = pw;
        const admin = await ctx.admin();
        showUser(ctx, await admin.setUser(uri, input));
      },
    },
    get: {
      summary: 'show one user, or list users',
      args: '[URI]',
      maxPositionals: 1,
      options: [
        IDENTITY,
        { name: 'filter', kind: 'string', value: 'TEXT', description: 'list users whose URI or name contains TEXT' },
      ],
      replaces: 'Get-CsUser',
      example: 'pchat user get --filter alice',
      async run(ctx) {
        const uri = ctx.key('user');
        const admin = await ctx.admin();
        if (uri !== undefined) return showUser(ctx, await admin.getUser(uri));
        const users = await admin.listUsers(optString(ctx.opts, 'filter'));
        ctx.out.table(users as unknown as Row[], USER_COLUMNS, '(no users)');
      },
    },
    remove: {
      summary: 'delete a user',
      args: 'URI',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Disable-CsUser',
      example: 'pchat user remove sip:alice@contoso.com',
      async run(ctx) {
        const uri = ctx.requireKey('user');
        const admin = await ctx.admin();
        const u = await admin.getUser(uri);
        await admin.removeUser(u.uri);
        ctx.out.done(`Removed user ${u.uri}.`, { removed: u.uri });
      },
    },
  },
};
