// Text and number rules for everything a client sends, the same on every door and both engines. PostgreSQL
// refuses U+0000 in text and JSON cannot carry an unpaired surrogate through a round trip, so both are refused
// here, before anything reaches a store; integers must fit the safe range, so paging and dates mean the same on
// SQLite and PostgreSQL.
import { invalid } from './errors.js';

// U+0000, or a surrogate half without its partner
// (no u flag: the pattern looks at UTF-16 code units, so a lone surrogate is visible)
const BAD = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `value` is text every store keeps as sent: no U+0000, no unpaired surrogate. */
export function isStorableText(value: string): boolean {
  return !BAD.test(value);
}

/** Returns `value` when it is storable text; INVALID_VALUE naming `field` otherwise. */
export function checkText(field: string, value: string): string {
  if (typeof value !== 'string') throw invalid(field, 'must be text');
  if (!isStorableText(value)) throw invalid(field, 'must not contain U+0000 or an unpaired surrogate');
  return value;
}

/** Like checkText, for an optional value (undefined and null pass). */
export function checkOptionalText(field: string, value: string | null | undefined): void {
  if (value !== undefined && value !== null) checkText(field, value);
}

/** Returns `value` when it is a safe integer within [min, max]; INVALID_VALUE naming `field` otherwise. */
export function checkSafeInteger(
  field: string,
  value: number,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(field, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}
