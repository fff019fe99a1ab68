// Preferences: small per-user documents by label (XCCOS getpref/setpref, web client settings).
import { invalid, PchatError } from '../core/errors.js';
import { checkText } from '../core/input.js';
import type { ChatCore } from './core.js';

/** Largest preference document. */
export const MAX_PREF_CHARS = 64 * 1024;

export class Preferences {
  constructor(private readonly core: ChatCore) {}

  async getPref(user: string, label: string): Promise<string | undefined> {
    this.core.subject(user);
    return this.core.store.prefs.get(user, checkLabel(label));
  }

  async setPref(user: string, label: string, content: string): Promise<void> {
    this.core.subject(user);
    if (content.length > MAX_PREF_CHARS) throw new PchatError('FRAME_TOO_LARGE', 'content: at most 64 KiB');
    checkText('content', content);
    await this.core.store.prefs.set(user, checkLabel(label), content);
  }
}

function checkLabel(label: string): string {
  if (typeof label !== 'string' || !/^[\w.:-]{1,128}$/.test(label))
    throw invalid('label', 'must be 1–128 letters, digits, . : _ -');
  return label;
}
