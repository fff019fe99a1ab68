// The compliance configuration (the original's *-CsPersistentChatComplianceConfiguration), validated with zod.
// It lives in the compliance store, so `pchat compliance config set` takes effect on running servers at their
// next worker tick, without a restart.
import { z } from 'zod';
import { invalid } from '../core/errors.js';

export const MIN_RUN_INTERVAL_S = 60;
export const MAX_RUN_INTERVAL_S = 30 * 24 * 3600;

export const ComplianceConfigSchema = z
  .object({
    /** Recording and the worker are on. */
    enabled: z.boolean().default(true),
    /** xml (the original's XmlAdapter), jsonl, or custom (a module loaded from adapterModule). */
    adapterType: z.enum(['xml', 'jsonl', 'custom']).default('xml'),
    /** Path of the custom adapter module (adapterType custom). */
    adapterModule: z.string().min(1).nullable().default(null),
    /** Where the adapter writes (a separate folder per adapter). Relative paths are under the data directory. */
    adapterOutputDirectory: z.string().min(1).default('compliance-out'),
    /** Seconds between worker runs: 1 minute to 30 days, default 15 minutes. */
    runIntervalSeconds: z.number().int().min(MIN_RUN_INTERVAL_S).max(MAX_RUN_INTERVAL_S).default(900),
    addChatRoomDetails: z.boolean().default(false),
    addUserDetails: z.boolean().default(false),
    oneChatRoomPerOutputFile: z.boolean().default(false),
    createFileAttachmentsManifest: z.boolean().default(false),
    /** Events handed to the adapter per batch (the worker pages by id until the backlog is empty). */
    batchSize: z.number().int().min(1).max(100_000).default(5000),
    /** Free-form settings passed to a custom adapter (the original's CustomConfiguration). */
    customConfiguration: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type ComplianceConfig = z.infer<typeof ComplianceConfigSchema>;

/** Validates a stored or edited configuration; the first problem names its field. */
export function parseComplianceConfig(input: unknown): ComplianceConfig {
  const r = ComplianceConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') || 'config';
    throw invalid(field, issue?.message ?? 'invalid');
  }
  if (r.data.adapterType === 'custom' && !r.data.adapterModule)
    throw invalid('adapterModule', 'a custom adapter needs adapterModule (the path of its module)');
  return r.data;
}
