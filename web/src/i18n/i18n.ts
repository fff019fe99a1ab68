// The message catalogue in use, the locale (browser default, user's choice kept), and Intl formatters.
import { useEffect, useState } from 'preact/hooks';
import { type Catalogue, catalogues, type Key, LOCALES, type Locale } from './catalogue.js';
import { pickLocale } from './pick.js';

export { pickLocale };

const PICK_KEY = 'pchat.locale';

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(PICK_KEY);
    if (saved && (LOCALES as readonly string[]).includes(saved)) return saved as Locale;
  } catch {
    // no storage
  }
  return pickLocale(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

let current: Locale = initialLocale();
let cat: Catalogue = catalogues[current];
const subs = new Set<() => void>();
let dateFmt: Intl.DateTimeFormat;
let timeFmt: Intl.DateTimeFormat;
let numFmt: Intl.NumberFormat;

function rebuild(): void {
  cat = catalogues[current];
  dateFmt = new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'short' });
  timeFmt = new Intl.DateTimeFormat(current, { timeStyle: 'short' });
  numFmt = new Intl.NumberFormat(current);
  document.documentElement.lang = current;
  document.title = cat.appTitle;
}
rebuild();

export function locale(): Locale {
  return current;
}

export function setLocale(l: Locale): void {
  current = l;
  try {
    localStorage.setItem(PICK_KEY, l);
  } catch {
    // no storage
  }
  rebuild();
  for (const fn of [...subs]) fn();
}

/** The catalogue's text for `key`, with {name} placeholders filled. */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  return cat[key].replace(/\{(\w+)\}/g, (_, p: string) => {
    const v = params[p];
    return v === undefined ? `{${p}}` : typeof v === 'number' ? numFmt.format(v) : v;
  });
}

export const fmtNumber = (n: number) => numFmt.format(n);
/** Date and time, or the time alone for today. */
export function fmtWhen(ms: number): string {
  const d = new Date(ms);
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : dateFmt.format(d);
}
export const fmtFull = (ms: number) => dateFmt.format(new Date(ms));

export function fmtBytes(n: number): string {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return new Intl.NumberFormat(current, {
    style: 'unit',
    unit: units[i],
    unitDisplay: 'short',
    maximumFractionDigits: 1,
  }).format(v);
}

/** Re-renders the calling component when the locale changes. */
export function useLocale(): Locale {
  const [l, set] = useState(current);
  useEffect(() => {
    const fn = () => set(current);
    subs.add(fn);
    return () => subs.delete(fn);
  }, []);
  return l;
}

/** The error's sentence in the user's language when the catalogue knows its code, else the server's. */
export function errorText(e: unknown): string {
  const code = (e as { code?: string } | null)?.code;
  if (code) {
    const k = `err.${code}` as Key;
    if (k in cat) return cat[k];
    const msg = (e as { message?: string }).message;
    if (msg) return msg;
  }
  return cat['err.generic'];
}
