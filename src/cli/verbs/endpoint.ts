// pchat endpoint new|get|remove — legacy SIP addresses (sip:ocschat@…) that reach the pool.
import { PchatError } from '../../core/errors.js';
import { normalizeSipUri } from '../../core/principals.js';
import { type OptSpec, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const SIP: OptSpec = {
  name: 'sip-address',
  kind: 'string',
  value: 'URI',
  description: 'the endpoint address, e.g. sip:ocschat@contoso.com',
};

function address(ctx: Context, required: boolean): string | undefined {
  const pos = ctx.positionals[0];
  const flag = optString(ctx.opts, 'sip-address');
  if (pos !== undefined && flag !== undefined)
    throw new UsageError('give the address once, as a word or with --sip-address', ctx.command);
  const a = pos ?? flag;
  if (a === undefined && required) throw new UsageError('--sip-address is required', ctx.command);
  return a;
}

const COLUMNS = [
  { key: 'sipAddress', label: 'sip address' },
  { key: 'displayName', label: 'display name' },
  { key: 'pool', label: 'pool' },
];

export const endpointNoun: NounDef = {
  name: 'endpoint',
  summary: 'legacy chat endpoints (the address old Group Chat clients look up)',
  verbs: {
    new: {
      summary: "create the pool's endpoint (one per pool: remove the old one first)",
      args: '[URI]',
      maxPositionals: 1,
      options: [
        SIP,
        {
          name: 'display-name',
          kind: 'string',
          value: 'TEXT',
          description: 'the contact name clients show for it (default "Persistent Chat")',
        },
        {
          name: 'pool',
          kind: 'string',
          value: 'FQDN',
          description: "the pool's FQDN, like -PersistentChatPoolFqdn (default: sip.targetName, else the domain)",
        },
      ],
      replaces: 'New-CsPersistentChatEndpoint',
      example: 'pchat endpoint new --sip-address sip:ocschat@contoso.com --display-name "Group Chat"',
      async run(ctx) {
        const sipAddress = address(ctx, true) as string;
        const input: { sipAddress: string; displayName?: string; pool?: string } = { sipAddress };
        const displayName = optString(ctx.opts, 'display-name');
        if (displayName !== undefined) input.displayName = displayName;
        const pool = optString(ctx.opts, 'pool');
        if (pool !== undefined) input.pool = pool;
        ctx.out.record((await (await ctx.admin()).newEndpoint(input)) as unknown as Row);
      },
    },
    get: {
      summary: 'show one endpoint, or list them',
      args: '[URI]',
      maxPositionals: 1,
      options: [SIP],
      replaces: 'Get-CsPersistentChatEndpoint',
      example: 'pchat endpoint get',
      async run(ctx) {
        const a = address(ctx, false);
        const wanted = a !== undefined ? normalizeSipUri(a, 'sipAddress') : undefined;
        const list = await (await ctx.admin()).listEndpoints();
        if (wanted === undefined) return ctx.out.table(list as unknown as Row[], COLUMNS, '(no endpoints)');
        const e = list.find((x) => x.sipAddress === wanted);
        if (!e)
          throw new PchatError('ENDPOINT_NOT_FOUND', `sipAddress: endpoint ${wanted} does not exist`, {
            field: 'sipAddress',
          });
        ctx.out.record(e as unknown as Row);
      },
    },
    remove: {
      summary: 'delete an endpoint',
      args: '[URI]',
      maxPositionals: 1,
      options: [SIP],
      replaces: 'Remove-CsPersistentChatEndpoint',
      example: 'pchat endpoint remove --sip-address sip:ocschat@contoso.com',
      async run(ctx) {
        const a = address(ctx, true) as string;
        await (await ctx.admin()).removeEndpoint(a);
        const uri = normalizeSipUri(a, 'sipAddress');
        ctx.out.done(`Removed endpoint ${uri}.`, { removed: uri });
      },
    },
  },
};
