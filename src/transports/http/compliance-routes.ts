// The admin REST API for compliance, message administration, retention and legal hold
// (/api/admin/compliance/*, /api/admin/messages/remove, /api/admin/rooms/:room/clear, /api/admin/retention,
// /api/admin/holds): each route decodes, calls ComplianceAdmin with the signed-in user as actor (it refuses
// anyone but an administrator), and encodes. The CLI's verbs map one to one (docs/admin.md, docs/compliance.md).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Actor } from '../../admin/admin-service.js';
import { type ComplianceAdmin, type MessageRemoval, parseInterval } from '../../admin/compliance-admin.js';
import type { ComplianceConfig } from '../../compliance/config.js';
import { PchatError } from '../../core/errors.js';
import { type ApiDeps, authRequest } from './auth.js';
import { errorResponses, qStr } from './schemas.js';

const ConfigBody = z
  .strictObject({
    enabled: z.boolean(),
    adapterType: z.enum(['xml', 'jsonl', 'custom']),
    adapterModule: z.string().nullable(),
    adapterOutputDirectory: z.string(),
    /** Seconds, or a duration such as "15m", "2h", "30d". */
    runInterval: z.union([z.number().int(), z.string().max(32)]),
    addChatRoomDetails: z.boolean(),
    addUserDetails: z.boolean(),
    oneChatRoomPerOutputFile: z.boolean(),
    createFileAttachmentsManifest: z.boolean(),
    batchSize: z.number().int(),
    customConfiguration: z.record(z.string(), z.unknown()),
  })
  .partial();

const ConfigSchema = z
  .object({
    enabled: z.boolean(),
    adapterType: z.string(),
    adapterModule: z.string().nullable(),
    adapterOutputDirectory: z.string(),
    runIntervalSeconds: z.number(),
    addChatRoomDetails: z.boolean(),
    addUserDetails: z.boolean(),
    oneChatRoomPerOutputFile: z.boolean(),
    createFileAttachmentsManifest: z.boolean(),
    batchSize: z.number(),
    customConfiguration: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ComplianceConfig' });

const StatusSchema = z
  .object({
    configured: z.boolean(),
    enabled: z.boolean(),
    adapterType: z.string().nullable(),
    runIntervalSeconds: z.number().nullable(),
    outputDirectory: z.string().nullable(),
    pending: z.number(),
    unexported: z.number(),
    exported: z.number(),
    aborted: z.number(),
    batches: z.number(),
    chainHead: z.string(),
    lastRunAt: z.string().nullable(),
    lastSuccessAt: z.string().nullable(),
    lastError: z.string().nullable(),
    failures: z.number(),
    nextAttemptAt: z.string().nullable(),
  })
  .meta({ id: 'ComplianceStatus' });

const RunSchema = z.object({
  ran: z.boolean(),
  reason: z.string().optional(),
  batches: z.number(),
  events: z.number(),
  error: z.string().optional(),
});

const VerifySchema = z.object({
  directory: z.string(),
  ok: z.boolean(),
  batches: z.number(),
  files: z.number(),
  firstSeq: z.number().nullable(),
  lastSeq: z.number().nullable(),
  head: z.string().nullable(),
  problems: z.array(z.string()),
});

const RemoveBody = z.strictObject({
  room: z.string().min(1).max(1024),
  user: z.string().max(1024).optional(),
  startDate: z.string().max(64).optional(),
  endDate: z.string().max(64).optional(),
  filter: z.string().max(8000).optional(),
  match: z.enum(['all', 'or', 'exact']).optional(),
  caseSensitive: z.boolean().optional(),
  /** true: remove the messages (give this or replace). */
  remove: z.boolean().optional(),
  /** Replace the text ("" for the default text). */
  replace: z.string().max(8000).optional(),
});

const HoldSchema = z
  .object({
    kind: z.enum(['room', 'user']),
    subject: z.string(),
    reason: z.string(),
    createdBy: z.string(),
    createdAt: z.number(),
  })
  .meta({ id: 'LegalHold' });

const HoldTarget = z.strictObject({ room: qStr.optional(), user: qStr.optional() });
const NoQuery = z.strictObject({});
const ok = <T extends z.ZodType>(name: string, schema: T) => ({ 200: z.object({ [name]: schema }), ...errorResponses });
const none = { 204: z.null().describe('No content'), ...errorResponses };

function configInput(b: z.infer<typeof ConfigBody>): Partial<ComplianceConfig> {
  const { runInterval, ...rest } = b;
  return { ...rest, ...(runInterval !== undefined ? { runIntervalSeconds: parseInterval(runInterval) } : {}) };
}

export function mountComplianceRoutes(app: FastifyInstance, deps: ApiDeps & { compliance: ComplianceAdmin }): void {
  const { chat, compliance: ca } = deps;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['compliance'];
  const actor = async (req: FastifyRequest): Promise<Actor> => ({
    kind: 'user',
    uri: (await authRequest(deps, req)).user,
  });

  // ---- configuration, status, run, verify --------------------------------------------------------------------
  r.get(
    '/api/admin/compliance/config',
    {
      schema: {
        tags,
        summary: 'The compliance configuration (pchat compliance config get).',
        querystring: NoQuery,
        response: ok('config', ConfigSchema),
      },
    },
    async (req) => ({ config: await ca.getComplianceConfig(await actor(req)) }),
  );
  r.post(
    '/api/admin/compliance/config',
    {
      schema: {
        tags,
        summary: 'Create the compliance configuration (pchat compliance config new).',
        querystring: NoQuery,
        body: ConfigBody,
        response: { 201: z.object({ config: ConfigSchema }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const config = await ca.newComplianceConfig(await actor(req), configInput(req.body));
      reply.status(201);
      return { config };
    },
  );
  r.patch(
    '/api/admin/compliance/config',
    {
      schema: {
        tags,
        summary: 'Change the compliance configuration (pchat compliance config set).',
        querystring: NoQuery,
        body: ConfigBody,
        response: ok('config', ConfigSchema),
      },
    },
    async (req) => ({ config: await ca.setComplianceConfig(await actor(req), configInput(req.body)) }),
  );
  r.delete(
    '/api/admin/compliance/config',
    {
      schema: {
        tags,
        summary: 'Remove the compliance configuration: recording stops.',
        querystring: NoQuery,
        response: none,
      },
    },
    async (req, reply) => {
      await ca.removeComplianceConfig(await actor(req));
      reply.status(204).send(null);
    },
  );
  r.get(
    '/api/admin/compliance/status',
    {
      schema: {
        tags,
        summary: "The compliance worker's backlog, last run, last error, chain head.",
        querystring: NoQuery,
        response: ok('status', StatusSchema),
      },
    },
    async (req) => ({ status: await ca.complianceStatus(await actor(req)) }),
  );
  r.post(
    '/api/admin/compliance/run',
    {
      schema: {
        tags,
        summary: 'Hand every recorded event to the adapter now (pchat compliance run-now).',
        querystring: NoQuery,
        response: ok('run', RunSchema),
      },
    },
    async (req) => ({ run: await ca.runComplianceNow(await actor(req)) }),
  );
  r.post(
    '/api/admin/compliance/verify',
    {
      schema: {
        tags,
        summary: "Check a directory of outputs against its batch manifests' chained hashes (pchat compliance verify).",
        querystring: NoQuery,
        body: z.strictObject({ directory: z.string().max(4096).optional() }),
        response: ok('verify', VerifySchema),
      },
    },
    async (req) => ({ verify: await ca.verifyOutputs(await actor(req), req.body.directory) }),
  );

  // ---- message administration -------------------------------------------------------------------------------
  r.post(
    '/api/admin/messages/remove',
    {
      schema: {
        tags,
        summary: 'Remove or replace the matching messages of a room (pchat message remove).',
        querystring: NoQuery,
        body: RemoveBody,
        response: ok('removed', z.object({ room: z.string(), count: z.number(), ids: z.array(z.number()) })),
      },
    },
    async (req) => {
      const a = await actor(req);
      const { remove, replace, ...rest } = req.body;
      if ((remove === true) === (replace !== undefined))
        throw new PchatError('INVALID_VALUE', 'remove: give remove: true, or replace (text)', { field: 'remove' });
      const input: MessageRemoval = { ...rest, ...(replace !== undefined ? { replace } : {}) };
      const removed = await ca.removeMessages(a, input);
      await chat.model.poll();
      return { removed };
    },
  );
  r.post(
    '/api/admin/rooms/:room/clear',
    {
      schema: {
        tags,
        summary: 'Remove all messages and files of a room up to a date (pchat room clear).',
        params: z.strictObject({ room: z.string().min(1).max(1024) }),
        querystring: NoQuery,
        body: z.strictObject({ endDate: z.string().min(1).max(64) }),
        response: ok('cleared', z.object({ room: z.string(), messages: z.number(), files: z.number() })),
      },
    },
    async (req) => {
      const cleared = await ca.clearRoom(await actor(req), req.params.room, req.body.endDate);
      await chat.model.poll();
      return { cleared };
    },
  );

  // ---- retention and legal hold -----------------------------------------------------------------------------
  r.get(
    '/api/admin/retention',
    {
      schema: {
        tags,
        summary: 'The retention periods (pchat retention get).',
        querystring: NoQuery,
        response: ok(
          'retention',
          z.array(z.object({ scope: z.string(), category: z.string().nullable(), days: z.number() })),
        ),
      },
    },
    async (req) => ({ retention: await ca.getRetention(await actor(req)) }),
  );
  r.put(
    '/api/admin/retention',
    {
      schema: {
        tags,
        summary: 'Keep messages of a category (or every category, without one) for N days (pchat retention set).',
        querystring: NoQuery,
        body: z.strictObject({ category: z.string().max(1024).optional(), days: z.number().int() }),
        response: none,
      },
    },
    async (req, reply) => {
      await ca.setRetention(await actor(req), req.body.category ?? null, req.body.days);
      reply.status(204).send(null);
    },
  );
  r.delete(
    '/api/admin/retention',
    {
      schema: {
        tags,
        summary: "Remove a category's retention period, or the global one (pchat retention remove).",
        querystring: z.strictObject({ category: qStr.optional() }),
        response: none,
      },
    },
    async (req, reply) => {
      await ca.setRetention(await actor(req), req.query.category ?? null, null);
      reply.status(204).send(null);
    },
  );
  r.post(
    '/api/admin/retention/run',
    {
      schema: {
        tags,
        summary: 'Purge what has expired now (pchat retention run-now).',
        querystring: NoQuery,
        response: ok('run', z.object({ ran: z.boolean(), purged: z.number(), files: z.number() })),
      },
    },
    async (req) => ({ run: await ca.runRetentionNow(await actor(req)) }),
  );
  r.get(
    '/api/admin/holds',
    {
      schema: {
        tags,
        summary: 'Legal holds (pchat hold list).',
        querystring: NoQuery,
        response: ok('holds', z.array(HoldSchema)),
      },
    },
    async (req) => ({ holds: await ca.listHolds(await actor(req)) }),
  );
  r.post(
    '/api/admin/holds',
    {
      schema: {
        tags,
        summary: 'Put a room or a user under legal hold (pchat hold add).',
        querystring: NoQuery,
        body: z.strictObject({
          room: z.string().max(1024).optional(),
          user: z.string().max(1024).optional(),
          reason: z.string().max(4096).optional(),
        }),
        response: { 201: z.object({ hold: HoldSchema }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { reason, ...target } = req.body;
      const hold = await ca.addHold(await actor(req), target, reason ?? '');
      reply.status(201);
      return { hold };
    },
  );
  r.delete(
    '/api/admin/holds',
    {
      schema: {
        tags,
        summary: 'Lift a legal hold (pchat hold remove): ?room= or ?user=.',
        querystring: HoldTarget,
        response: none,
      },
    },
    async (req, reply) => {
      await ca.removeHold(await actor(req), {
        ...(req.query.room !== undefined ? { room: req.query.room } : {}),
        ...(req.query.user !== undefined ? { user: req.query.user } : {}),
      });
      reply.status(204).send(null);
    },
  );
}
