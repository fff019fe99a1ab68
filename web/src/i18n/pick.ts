// Which of our locales suits a browser's language list (navigator.languages), best first.
import type { Locale } from './catalogue.js';

/** zh-TW, zh-HK, zh-MO and any zh-Hant tag → Traditional; other zh → Simplified; else English. */
export function pickLocale(tags: readonly string[]): Locale {
  for (const raw of tags) {
    const tag = raw.toLowerCase();
    if (tag.startsWith('zh')) {
      if (/^zh-(tw|hk|mo)\b/.test(tag) || tag.includes('hant')) return 'zh-TW';
      return 'zh-CN';
    }
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}
