// Command-line parsing for `pchat`: option specs per verb, node:util parseArgs underneath, and the value
// parsers every verb shares. Usage mistakes throw UsageError (exit 2); bad values throw PchatError (exit 1).
import { parseArgs } from 'node:util';
import { invalid } from '../core/errors.js';
import { type ListEdit, parseListEdit } from '../core/principals.js';
import { parseBool } from '../core/rules.js';

/**
 * - `string`: takes a value (`--name X` or `--name=X`; the next word is taken even when it starts with `-`,
 *   so `--members -sip:bob@x` works).
 * - `bool`: a setting that can be turned on or off: `--x`, `--x true`, `--x=false`, `--no-x`.
 * - `flag`: a switch with no value (`--json`, `--help`).
 */
export type OptKind = 'string' | 'bool' | 'flag';

export interface OptSpec {
  name: string;
  kind: OptKind;
  /** Placeholder shown in help, e.g. `URI` (string options). */
  value?: string;
  description: string;
}

/** Wrong command line (unknown verb or flag, missing argument): exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose --help explains the usage, e.g. `pchat room new`. */
    readonly helpFor = 'pchat',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptValues = Record<string, string | true | undefined>;

export interface ParsedArgs {
  opts: OptValues;
  positionals: string[];
}

/** True when the words ask for help (before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

const BOOL_WORDS = new Set(['true', 'false', 'yes', 'no', 'on', 'off', '$true', '$false']);

/** `--data`, `--no-admin`, `--json=x`: a word that is one of the command's own options, not a value. */
function isKnownOption(word: string, specs: ReadonlyMap<string, OptSpec>): boolean {
  if (!word.startsWith('--')) return false;
  const name = word.slice(2).split('=')[0] as string;
  return specs.has(name) || (name.startsWith('no-') && specs.get(name.slice(3))?.kind === 'bool');
}

/** Rewrites bool forms and glues string values to their option, so parseArgs sees `--name=value` only. */
function normalize(argv: readonly string[], specs: ReadonlyMap<string, OptSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!a.startsWith('--') || a.includes('=')) {
      out.push(a);
      continue;
    }
    const name = a.slice(2);
    const spec = specs.get(name);
    if (spec?.kind === 'bool') {
      // `--x true` / `--x false` (the PowerShell habit) as well as `--x`.
      const next = argv[i + 1];
      if (next !== undefined && BOOL_WORDS.has(next.toLowerCase())) out.push(`--${name}=${argv[++i]}`);
      else out.push(`--${name}=true`);
    } else if (spec?.kind === 'string' && i + 1 < argv.length && !isKnownOption(argv[i + 1] as string, specs))
      out.push(`--${name}=${argv[++i]}`);
    else if (!spec && name.startsWith('no-') && specs.get(name.slice(3))?.kind === 'bool')
      out.push(`--${name.slice(3)}=false`);
    else out.push(a);
  }
  return out;
}

/** Parses `argv` against `specs`; throws UsageError for unknown options, missing values or misplaced words. */
export function parseCommand(argv: readonly string[], specs: readonly OptSpec[], helpFor: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const s of specs) options[s.name] = { type: s.kind === 'flag' ? 'boolean' : 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: normalize(argv, byName), options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(describeParseError(e as Error & { code?: string }), helpFor);
  }
  const opts: OptValues = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    if (typeof v === 'string') opts[k] = v;
    else if (v === true) opts[k] = true;
  }
  return { opts, positionals: parsed.positionals };
}

function describeParseError(e: Error & { code?: string }): string {
  const opt = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${opt ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return opt ? `option ${opt} ${/does not take/.test(e.message) ? 'takes no value' : 'needs a value'}` : e.message;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return e.message;
    default:
      return e.message.split('\n')[0] ?? 'invalid arguments';
  }
}

// ---- value parsers ---------------------------------------------------------------------------------------

export function optString(opts: OptValues, name: string): string | undefined {
  const v = opts[name];
  return typeof v === 'string' ? v : undefined;
}

export function optFlag(opts: OptValues, name: string): boolean {
  return opts[name] === true;
}

/** A `bool` option: undefined when absent. */
export function optBool(opts: OptValues, name: string, field: string): boolean | undefined {
  const v = optString(opts, name);
  return v === undefined ? undefined : parseBool(v.replace(/^\$/, ''), field);
}

/** A whole number, optionally bounded below. */
export function optInt(opts: OptValues, name: string, field: string, min?: number): number | undefined {
  const v = optString(opts, name);
  if (v === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(v.trim())) throw invalid(field, `"${v}" is not a whole number`);
  const n = Number(v.trim());
  if (min !== undefined && n < min) throw invalid(field, `must be at least ${min}`);
  return n;
}

/** A list option: `+a,-b` modifiers or a full replacement `a,b` (empty string: the empty list). */
export function optList(opts: OptValues, name: string, field: string): ListEdit | undefined {
  const v = optString(opts, name);
  return v === undefined ? undefined : parseListEdit(v, field);
}

/** Calls `parse` on the option's value when it is present. */
export function optWith<T>(opts: OptValues, name: string, parse: (v: string) => T): T | undefined {
  const v = optString(opts, name);
  return v === undefined ? undefined : parse(v);
}
