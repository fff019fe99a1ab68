// pchat category new|set|get|remove — categories, the ethical walls rooms live in.
import type { CategoryInput } from '../../admin/admin-service.js';
import type { Category } from '../../core/model.js';
import { type OptSpec, optBool, optList, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const IDENTITY: OptSpec = { name: 'identity', kind: 'string', value: 'NAME', description: 'the category name (or id)' };
const LIST_HELP = 'sip:, group:, ou:, domain: principals; a,b replaces the list, +a,-b adds/removes';

const CATEGORY_OPTIONS: OptSpec[] = [
  { name: 'description', kind: 'string', value: 'TEXT', description: 'what the category holds' },
  { name: 'invitations', kind: 'bool', description: 'rooms may send invitations (default on; --no-invitations)' },
  { name: 'file-upload', kind: 'bool', description: 'files may be posted in its rooms (default on)' },
  { name: 'chat-history', kind: 'bool', description: 'keep the messages of its rooms (default on)' },
  { name: 'allowed-members', kind: 'string', value: 'LIST', description: `who may be in its rooms (${LIST_HELP})` },
  { name: 'denied-members', kind: 'string', value: 'LIST', description: 'who may never be in its rooms (same form)' },
  {
    name: 'creators',
    kind: 'string',
    value: 'LIST',
    description: 'who may create rooms in it; must be allowed and not denied (same form)',
  },
];

function categoryInput(ctx: Context): CategoryInput {
  const o = ctx.opts;
  const input: CategoryInput = {};
  const name = optString(o, 'name');
  if (name !== undefined) input.name = name;
  const description = optString(o, 'description');
  if (description !== undefined) input.description = description;
  const invitations = optBool(o, 'invitations', 'invitations');
  if (invitations !== undefined) input.invitations = invitations;
  const fileUpload = optBool(o, 'file-upload', 'fileUpload');
  if (fileUpload !== undefined) input.fileUpload = fileUpload;
  const chatHistory = optBool(o, 'chat-history', 'chatHistory');
  if (chatHistory !== undefined) input.chatHistory = chatHistory;
  const allowed = optList(o, 'allowed-members', 'allowedMembers');
  if (allowed) input.allowedMembers = allowed;
  const denied = optList(o, 'denied-members', 'deniedMembers');
  if (denied) input.deniedMembers = denied;
  const creators = optList(o, 'creators', 'creators');
  if (creators) input.creators = creators;
  return input;
}

const show = (ctx: Context, c: Category) => ctx.out.record(c as unknown as Row);

export const categoryNoun: NounDef = {
  name: 'category',
  summary: 'categories: who may be in their rooms and who may create them',
  verbs: {
    new: {
      summary: 'create a category',
      args: 'NAME',
      maxPositionals: 1,
      options: [{ name: 'name', kind: 'string', value: 'NAME', description: 'the category name' }, ...CATEGORY_OPTIONS],
      replaces: 'New-CsPersistentChatCategory',
      example:
        'pchat category new Engineering --allowed-members group:staff --denied-members sip:eve@contoso.com --creators sip:alice@contoso.com',
      async run(ctx) {
        const pos = ctx.positionals[0];
        const flag = optString(ctx.opts, 'name');
        if (pos !== undefined && flag !== undefined)
          throw new UsageError('give the name once, as a word or with --name', ctx.command);
        const name = pos ?? flag;
        if (name === undefined) throw new UsageError('name the category', ctx.command);
        const input = categoryInput(ctx);
        show(ctx, await (await ctx.admin()).newCategory({ ...input, name }));
      },
    },
    set: {
      summary: "change a category's settings and lists",
      args: 'NAME',
      maxPositionals: 1,
      options: [
        IDENTITY,
        { name: 'name', kind: 'string', value: 'NAME', description: 'rename the category' },
        ...CATEGORY_OPTIONS,
      ],
      replaces: 'Set-CsPersistentChatCategory',
      example: 'pchat category set Engineering --allowed-members +ou:Contoso/Eng --creators -sip:bob@contoso.com',
      async run(ctx) {
        const key = ctx.requireKey('category');
        const input = categoryInput(ctx);
        show(ctx, await (await ctx.admin()).setCategory(key, input));
      },
    },
    get: {
      summary: 'show one category, or list categories',
      args: '[NAME]',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Get-CsPersistentChatCategory',
      example: 'pchat category get Engineering',
      async run(ctx) {
        const key = ctx.key('category');
        const admin = await ctx.admin();
        if (key !== undefined) return show(ctx, await admin.getCategory(key));
        ctx.out.table(
          (await admin.listCategories()) as unknown as Row[],
          [
            { key: 'name', label: 'name' },
            { key: 'allowedMembers', label: 'allowed' },
            { key: 'deniedMembers', label: 'denied' },
            { key: 'creators', label: 'creators' },
            { key: 'invitations', label: 'invitations' },
            { key: 'fileUpload', label: 'files' },
            { key: 'chatHistory', label: 'history' },
          ],
          '(no categories)',
        );
      },
    },
    remove: {
      summary: 'delete an empty category',
      args: 'NAME',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Remove-CsPersistentChatCategory',
      example: 'pchat category remove Engineering',
      async run(ctx) {
        const key = ctx.requireKey('category');
        const admin = await ctx.admin();
        const c = await admin.getCategory(key);
        await admin.removeCategory(c.id);
        ctx.out.done(`Removed category ${c.name}.`, { removed: c.name, id: c.id });
      },
    },
  },
};
