// pchat compliance config new|set|get|remove, status, run-now, verify — the compliance recording pipeline
// (the original's *-CsPersistentChatComplianceConfiguration, plus pchat's chained-hash verification).

import { SYSTEM } from '../../admin/admin-service.js';
import { parseInterval } from '../../admin/compliance-admin.js';
import type { ComplianceConfig } from '../../compliance/config.js';
import { invalid, PchatError } from '../../core/errors.js';
import { type OptSpec, optBool, optInt, optString, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';

const CONFIG_OPTIONS: OptSpec[] = [
  { name: 'enabled', kind: 'bool', description: 'recording and the worker are on (default on)' },
  { name: 'adapter-type', kind: 'string', value: 'xml|jsonl|custom', description: 'the adapter (default xml)' },
  {
    name: 'adapter-module',
    kind: 'string',
    value: 'PATH',
    description: 'module of a custom adapter (docs/compliance.md)',
  },
  {
    name: 'adapter-output-directory',
    kind: 'string',
    value: 'DIR',
    description: 'where the adapter writes; relative to the data directory (default compliance-out)',
  },
  {
    name: 'run-interval',
    kind: 'string',
    value: 'DURATION',
    description: '1m to 30d, e.g. 900, 15m, 1h (default 15m)',
  },
  { name: 'add-chat-room-details', kind: 'bool', description: 'write room id, description and category' },
  { name: 'add-user-details', kind: 'bool', description: "write the sender's id, email and internal flag" },
  { name: 'one-chat-room-per-output-file', kind: 'bool', description: 'one output file per room and batch' },
  { name: 'create-file-attachments-manifest', kind: 'bool', description: 'list uploaded files in a .ATTACH file' },
  { name: 'batch-size', kind: 'string', value: 'N', description: 'events per batch (default 5000)' },
  { name: 'custom-configuration', kind: 'string', value: 'JSON', description: 'settings for a custom adapter' },
];

function configInput(ctx: Context): Partial<ComplianceConfig> {
  const o = ctx.opts;
  const input: Partial<ComplianceConfig> = {};
  const enabled = optBool(o, 'enabled', 'enabled');
  if (enabled !== undefined) input.enabled = enabled;
  const type = optString(o, 'adapter-type');
  if (type !== undefined) input.adapterType = type as ComplianceConfig['adapterType'];
  const mod = optString(o, 'adapter-module');
  if (mod !== undefined) input.adapterModule = mod === '' ? null : mod;
  const dir = optString(o, 'adapter-output-directory');
  if (dir !== undefined) input.adapterOutputDirectory = dir;
  const interval = optString(o, 'run-interval');
  if (interval !== undefined) input.runIntervalSeconds = parseInterval(interval);
  const flags: [string, keyof ComplianceConfig][] = [
    ['add-chat-room-details', 'addChatRoomDetails'],
    ['add-user-details', 'addUserDetails'],
    ['one-chat-room-per-output-file', 'oneChatRoomPerOutputFile'],
    ['create-file-attachments-manifest', 'createFileAttachmentsManifest'],
  ];
  for (const [name, key] of flags) {
    const v = optBool(o, name, key);
    if (v !== undefined) (input as Record<string, unknown>)[key] = v;
  }
  const batch = optInt(o, 'batch-size', 'batchSize', 1);
  if (batch !== undefined) input.batchSize = batch;
  const custom = optString(o, 'custom-configuration');
  if (custom !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(custom);
    } catch {
      throw invalid('customConfiguration', 'is not JSON');
    }
    input.customConfiguration = parsed as Record<string, unknown>;
  }
  return input;
}

const SUBVERBS = ['new', 'set', 'get', 'remove'] as const;

export const complianceNoun: NounDef = {
  name: 'compliance',
  summary: 'compliance recording: configuration, worker status, a run now, output verification',
  verbs: {
    config: {
      summary: 'create, change, show or remove the compliance configuration (new|set|get|remove)',
      args: 'new|set|get|remove',
      maxPositionals: 1,
      options: CONFIG_OPTIONS,
      replaces: 'New/Set/Get/Remove-CsPersistentChatComplianceConfiguration',
      example:
        'pchat compliance config new --adapter-type xml --adapter-output-directory /var/archive/pchat --run-interval 15m',
      async run(ctx) {
        const sub = ctx.positionals[0];
        if (!SUBVERBS.includes(sub as (typeof SUBVERBS)[number]))
          throw new UsageError(`name what to do: ${SUBVERBS.join(', ')}`, ctx.command);
        const ca = await ctx.complianceAdmin();
        const input = configInput(ctx);
        if ((sub === 'get' || sub === 'remove') && Object.keys(input).length > 0)
          throw new UsageError(`config ${sub} takes no settings`, ctx.command);
        if (sub === 'new') return ctx.out.record((await ca.newComplianceConfig(SYSTEM, input)) as unknown as Row);
        if (sub === 'set') {
          if (Object.keys(input).length === 0) throw new UsageError('give at least one setting to change', ctx.command);
          return ctx.out.record((await ca.setComplianceConfig(SYSTEM, input)) as unknown as Row);
        }
        if (sub === 'get') return ctx.out.record((await ca.getComplianceConfig(SYSTEM)) as unknown as Row);
        await ca.removeComplianceConfig(SYSTEM);
        ctx.out.done('Removed the compliance configuration: recording is off.', { removed: 'global' });
      },
    },
    status: {
      summary: "the compliance worker's backlog, last run, last error and chain head",
      options: [],
      example: 'pchat compliance status',
      async run(ctx) {
        ctx.out.record((await (await ctx.complianceAdmin()).complianceStatus(SYSTEM)) as unknown as Row);
      },
    },
    'run-now': {
      summary: 'hand every recorded event to the adapter now, without waiting for the run interval',
      options: [],
      example: 'pchat compliance run-now',
      async run(ctx) {
        const r = await (await ctx.complianceAdmin()).runComplianceNow(SYSTEM);
        if (r.error !== undefined)
          throw new PchatError('COMPLIANCE_ADAPTER_FAILED', `the adapter failed (retried with backoff): ${r.error}`);
        if (!r.ran) return ctx.out.done(`Nothing done: ${r.reason}.`, { ...r });
        ctx.out.done(`Exported ${r.events} event(s) in ${r.batches} batch(es).`, { ...r });
      },
    },
    verify: {
      summary: "check a directory of adapter outputs against its batch manifests' chained hashes",
      args: '[DIR]',
      maxPositionals: 1,
      options: [],
      example: 'pchat compliance verify /var/archive/pchat',
      async run(ctx) {
        const r = await (await ctx.complianceAdmin()).verifyOutputs(SYSTEM, ctx.positionals[0]);
        if (ctx.json) ctx.out.record(r as unknown as Row);
        else if (r.ok)
          ctx.out.text(
            `OK: ${r.batches} batch(es), ${r.files} file(s) in ${r.directory}; chain head ${r.head ?? '(empty)'}`,
          );
        else ctx.out.text([`FAILED: ${r.directory}`, ...r.problems.map((p) => `  ${p}`)].join('\n'));
        if (!r.ok)
          throw new PchatError(
            'VERIFY_FAILED',
            `${r.problems[0]}${r.problems.length > 1 ? ` (and ${r.problems.length - 1} more)` : ''}`,
          );
      },
    },
  },
};
