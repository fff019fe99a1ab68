// Paging limits shared by the chat modules.
import { invalid } from '../core/errors.js';

/** `v` within 1..max (default `dflt`); INVALID_VALUE for anything but a whole number from 1. */
export function clampLimit(v: number | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw invalid('limit', `must be a whole number from 1 to ${max}`);
  return Math.min(v, max);
}
