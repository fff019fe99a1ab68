// Preferences: small per-user documents by label (XCCOS getpref/setpref, web client settings).
import { invalid, PchatError } from '../core/errors.js';
import { checkText } from '../core/input.js';
import { USER_STORAGE_LIMITS } from '../core/model.js';
import type { ChatCore } from './core.js';

/** Largest preference document. */
export const MAX_PREF_CHARS = USER_STORAGE_LIMITS.prefChars;

export class Preferences {
  constructor(private readonly core: ChatCore) {}

  async getPref(user: string, label: string): Promise<string | undefined> {
    this.core.subject(user);
    return this.core.store.prefs.get(user, checkLabel(label));
  }

  /**
   * Stores one preference document. A user keeps at most USER_STORAGE_LIMITS.prefsPerUser documents of at most
   * prefChars UTF-16 units each and prefTotalChars characters (code points, as the store counts them) in all;
   * past that the write is refused and nothing changes.
   */
  async setPref(user: string, label: string, content: string): Promise<void> {
    this.core.subject(user);
    const L = USER_STORAGE_LIMITS;
    if (typeof content !== 'string') throw invalid('content', 'must be text');
    if (content.length > MAX_PREF_CHARS) throw new PchatError('FRAME_TOO_LARGE', 'content: at most 64 KiB');
    checkText('content', content);
    const l = checkLabel(label);
    const { store } = this.core;
    const before = await store.prefs.get(user, l);
    const usage = await store.prefs.usage(user);
    if (before === undefined && usage.count >= L.prefsPerUser)
      throw invalid('label', `at most ${L.prefsPerUser} preference documents per user`);
    // the total in characters as the store counts them (code points, so an emoji is one), on both sides
    if (usage.chars - chars(before ?? '') + chars(content) > L.prefTotalChars)
      throw new PchatError(
        'FRAME_TOO_LARGE',
        `content: at most ${L.prefTotalChars} characters of preferences per user`,
      );
    await store.prefs.set(user, l, content);
  }
}

/** Characters as SQLite's and PostgreSQL's length() count them: code points, not UTF-16 units. */
function chars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkLabel(label: string): string {
  if (typeof label !== 'string' || !/^[\w.:-]{1,128}$/.test(label))
    throw invalid('label', 'must be 1–128 letters, digits, . : _ -');
  return label;
}
