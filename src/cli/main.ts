#!/usr/bin/env node
// `pchat`: the administration command line (and `pchat serve`). Every verb calls the admin service; this file
// only finds the verb, parses its options, prints the result and turns failures into one line and an exit code:
// 0 done, 1 the request was refused (PchatError), 2 the command line is wrong.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PchatError } from '../core/errors.js';
import { type OptSpec, parseCommand, UsageError, wantsHelp } from './args.js';
import { Context, GLOBAL_OPTIONS, type NounDef, type VerbDef } from './command.js';
import { Output } from './output.js';
import { addinNoun } from './verbs/addin.js';
import { categoryNoun } from './verbs/category.js';
import { configNoun } from './verbs/config.js';
import { endpointNoun } from './verbs/endpoint.js';
import { exportVerb } from './verbs/export.js';
import { groupNoun } from './verbs/group.js';
import { importVerb } from './verbs/import.js';
import { migrateNoun } from './verbs/migrate.js';
import { policyNoun } from './verbs/policy.js';
import { poolNoun } from './verbs/pool.js';
import { principalNoun } from './verbs/principal.js';
import { roomNoun } from './verbs/room.js';
import { serveVerb } from './verbs/serve.js';
import { userNoun } from './verbs/user.js';

export const NOUNS: NounDef[] = [
  userNoun,
  groupNoun,
  policyNoun,
  categoryNoun,
  roomNoun,
  addinNoun,
  configNoun,
  principalNoun,
  endpointNoun,
  poolNoun,
  migrateNoun,
];

/** Commands that are a verb alone, without a noun. */
export const TOP_VERBS: Record<string, VerbDef> = { serve: serveVerb, export: exportVerb, import: importVerb };

function optionLines(specs: readonly OptSpec[]): string[] {
  const shown = specs.map((s) => {
    const form =
      s.kind === 'string'
        ? `--${s.name} ${s.value ?? 'VALUE'}`
        : s.kind === 'bool'
          ? `--[no-]${s.name}`
          : `--${s.name}`;
    return [form, s.description] as const;
  });
  const width = Math.max(...shown.map(([f]) => f.length));
  return shown.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`);
}

function globalHelp(): string {
  const lines = [
    'pchat — persistent chat server and its administration',
    '',
    'Usage: pchat <noun> <verb> [ARGS] [options]',
    '       pchat serve|export|import [options]',
    '',
    'Commands:',
  ];
  const rows: [string, string][] = Object.entries(TOP_VERBS).map(([name, v]) => [name, v.summary]);
  for (const n of NOUNS) rows.push([`${n.name} ${Object.keys(n.verbs).join('|')}`, n.summary]);
  const width = Math.max(...rows.map(([c]) => c.length));
  for (const [c, s] of rows) lines.push(`  ${c.padEnd(width)}  ${s}`);
  lines.push('', 'Options every command takes:', ...optionLines(GLOBAL_OPTIONS));
  lines.push(
    '',
    'Principals: sip:user@domain, group:name, ou:Path/To/Unit, domain:example.com.',
    'Lists: a,b replaces the whole list; +a,-b adds and removes entries.',
    'Exit codes: 0 done, 1 refused (one line "pchat: error CODE: field: message" on stderr), 2 usage error.',
    '',
    'Run "pchat <noun> --help" or "pchat <noun> <verb> --help" for details.',
  );
  return lines.join('\n');
}

function nounHelp(n: NounDef): string {
  const width = Math.max(...Object.keys(n.verbs).map((v) => v.length));
  return [
    `pchat ${n.name} — ${n.summary}`,
    '',
    `Usage: pchat ${n.name} <verb> [ARGS] [options]`,
    '',
    'Verbs:',
    ...Object.entries(n.verbs).map(([v, d]) => `  ${v.padEnd(width)}  ${d.summary}`),
    '',
    `Run "pchat ${n.name} <verb> --help" for a verb's options.`,
  ].join('\n');
}

function verbHelp(command: string, v: VerbDef): string {
  const lines = [`${command} — ${v.summary}`, '', `Usage: ${command}${v.args ? ` ${v.args}` : ''} [options]`];
  if (v.replaces) lines.push(`Replaces: ${v.replaces}`);
  lines.push('', 'Options:', ...optionLines([...v.options, ...GLOBAL_OPTIONS]));
  if (v.example) lines.push('', 'Example:', `  ${v.example}`);
  return lines.join('\n');
}

const GLOBAL_VALUE_OPTIONS = new Set(['--data', '--db']);

/** Moves global options written before the noun (`pchat --data /x room get`) to after the verb. */
function hoistGlobals(argv: readonly string[]): { words: string[]; globals: string[] } {
  const globals: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    const name = a.split('=')[0] as string;
    if (a === '--json') globals.push(a);
    else if (GLOBAL_VALUE_OPTIONS.has(name)) {
      if (a.includes('=')) globals.push(a);
      else if (i + 1 < argv.length) globals.push(a, argv[++i] as string);
      else globals.push(a);
    } else break;
  }
  return { words: argv.slice(i), globals };
}

/** Runs one command line; returns the exit code. Output goes to `out`; the error line to `err`. */
export async function main(argv: readonly string[], err: (line: string) => void): Promise<number> {
  let ctx: Context | undefined;
  let command = 'pchat';
  try {
    const { words, globals } = hoistGlobals(argv);
    const out = new Output(argv.includes('--json'));
    const [first, second] = words;
    if (first === undefined) {
      if (wantsHelp(argv)) {
        out.text(globalHelp());
        return 0;
      }
      throw new UsageError('name a command');
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      out.text(globalHelp());
      return 0;
    }
    let verb: VerbDef;
    let rest: string[];
    const top = Object.hasOwn(TOP_VERBS, first) ? TOP_VERBS[first] : undefined;
    if (top) {
      verb = top;
      command = `pchat ${first}`;
      rest = words.slice(1);
    } else {
      const noun = NOUNS.find((n) => n.name === first);
      if (!noun) throw new UsageError(`unknown command "${first}"`);
      command = `pchat ${noun.name}`;
      if (second === undefined || second === '--help' || second === '-h') {
        if (second === undefined) throw new UsageError(`name a verb: ${Object.keys(noun.verbs).join(', ')}`, command);
        out.text(nounHelp(noun));
        return 0;
      }
      const found = Object.hasOwn(noun.verbs, second) ? noun.verbs[second] : undefined;
      if (!found) throw new UsageError(`unknown verb "${second}" for ${noun.name}`, command);
      verb = found;
      command = `pchat ${noun.name} ${second}`;
      rest = words.slice(2);
    }
    rest = [...rest, ...globals];
    if (wantsHelp(rest)) {
      out.text(verbHelp(command, verb));
      return 0;
    }
    const parsed = parseCommand(rest, [...verb.options, ...GLOBAL_OPTIONS], command);
    const max = verb.maxPositionals ?? 0;
    if (parsed.positionals.length > max) {
      const extra = parsed.positionals[max] as string;
      throw new UsageError(`unexpected argument "${extra}"${max === 0 ? '' : ' (quote names with spaces)'}`, command);
    }
    ctx = new Context(command, parsed.opts, parsed.positionals, new Output(parsed.opts.json === true));
    await verb.run(ctx);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`pchat: error USAGE: ${oneLine(e.message)} (see ${e.helpFor} --help)`);
      return 2;
    }
    if (e instanceof PchatError) {
      err(`pchat: error ${e.code}: ${oneLine(e.message)}`);
      return 1;
    }
    err(`pchat: error INTERNAL: ${oneLine((e as Error)?.message ?? String(e))}`);
    return 1;
  } finally {
    try {
      await ctx?.close();
    } catch (e) {
      err(`pchat: error STORE_UNAVAILABLE: db: closing the store failed: ${oneLine((e as Error).message)}`);
    }
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** True when this file is the program (also through the npm bin symlink), false when imported. */
function isEntry(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2), (line) => process.stderr.write(`${line}\n`)).then((code) => {
    process.exitCode = code;
  });
}
