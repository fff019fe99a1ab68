// pchat addin new|set|get|remove — add-ins: web pages shown beside a room.
import { type OptSpec, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const IDENTITY: OptSpec = { name: 'identity', kind: 'string', value: 'NAME', description: 'the add-in name' };
const URL_OPTION: OptSpec = { name: 'url', kind: 'string', value: 'URL', description: 'the http or https page' };

function nameFrom(ctx: Context): string {
  const pos = ctx.positionals[0];
  const flag = optString(ctx.opts, 'name') ?? optString(ctx.opts, 'identity');
  if (pos !== undefined && flag !== undefined)
    throw new UsageError('give the name once, as a word or with --name', ctx.command);
  const name = pos ?? flag;
  if (name === undefined) throw new UsageError('name the add-in', ctx.command);
  return name;
}

export const addinNoun: NounDef = {
  name: 'addin',
  summary: 'add-ins (web pages shown beside a room)',
  verbs: {
    new: {
      summary: 'register an add-in',
      args: 'NAME',
      maxPositionals: 1,
      options: [{ name: 'name', kind: 'string', value: 'NAME', description: 'the add-in name (unique)' }, URL_OPTION],
      replaces: 'New-CsPersistentChatAddin',
      example: 'pchat addin new Wiki --url https://wiki.contoso.com/chat',
      async run(ctx) {
        const name = nameFrom(ctx);
        const url = optString(ctx.opts, 'url');
        if (url === undefined) throw new UsageError('--url is required', ctx.command);
        ctx.out.record((await (await ctx.admin()).newAddin({ name, url })) as unknown as Row);
      },
    },
    set: {
      summary: "change an add-in's URL",
      args: 'NAME',
      maxPositionals: 1,
      options: [IDENTITY, URL_OPTION],
      replaces: 'Set-CsPersistentChatAddin',
      example: 'pchat addin set Wiki --url https://wiki2.contoso.com/chat',
      async run(ctx) {
        const name = ctx.requireKey('add-in');
        const url = optString(ctx.opts, 'url');
        const admin = await ctx.admin();
        ctx.out.record((await admin.setAddin(name, url !== undefined ? { url } : {})) as unknown as Row);
      },
    },
    get: {
      summary: 'show one add-in, or list them',
      args: '[NAME]',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Get-CsPersistentChatAddin',
      example: 'pchat addin get',
      async run(ctx) {
        const name = ctx.key('add-in');
        const admin = await ctx.admin();
        if (name !== undefined) return ctx.out.record((await admin.getAddin(name)) as unknown as Row);
        ctx.out.table(
          (await admin.listAddins()) as unknown as Row[],
          [
            { key: 'name', label: 'name' },
            { key: 'url', label: 'url' },
          ],
          '(no add-ins)',
        );
      },
    },
    remove: {
      summary: 'delete an add-in (rooms using it lose it)',
      args: 'NAME',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Remove-CsPersistentChatAddin',
      example: 'pchat addin remove Wiki',
      async run(ctx) {
        const name = ctx.requireKey('add-in');
        const admin = await ctx.admin();
        const a = await admin.getAddin(name);
        await admin.removeAddin(a.name);
        ctx.out.done(`Removed add-in ${a.name}.`, { removed: a.name });
      },
    },
  },
};
