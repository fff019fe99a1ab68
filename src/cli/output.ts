// What `pchat` prints: JSON for machines (--json), aligned key/value blocks and tables for people.
import type { Writable } from 'node:stream';

export type Row = Record<string, unknown>;

export interface Column {
  key: string;
  label: string;
  /** Formats the cell; default: formatValue. */
  get?: (row: Row) => string;
}

/** `allowedMembers` → `allowed members`. */
export function labelFor(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

export function formatValue(key: string, v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map((x) => String(x)).join(', ');
  if (typeof v === 'number' && /At$/.test(key)) return new Date(v).toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export class Output {
  constructor(
    readonly json: boolean,
    private readonly stream: Writable = process.stdout,
  ) {}

  private write(s: string): void {
    this.stream.write(s.endsWith('\n') ? s : `${s}\n`);
  }

  /** One object: JSON, or `key: value` lines with the values aligned. */
  record(value: Row, extra: Row = {}): void {
    if (this.json) {
      this.write(JSON.stringify(value, null, 2));
      return;
    }
    const entries = Object.entries({ ...value, ...extra });
    const width = Math.max(0, ...entries.map(([k]) => labelFor(k).length + 1));
    this.write(entries.map(([k, v]) => `${`${labelFor(k)}:`.padEnd(width)}  ${formatValue(k, v)}`).join('\n'));
  }

  /** A list: a JSON array, or a table with a header row (or a note when it is empty). */
  table(rows: readonly Row[], columns: readonly Column[], empty = '(none)'): void {
    if (this.json) {
      this.write(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      this.write(empty);
      return;
    }
    const cells = rows.map((r) => columns.map((c) => oneLine(c.get ? c.get(r) : formatValue(c.key, r[c.key]))));
    const header = columns.map((c) => c.label.toUpperCase());
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] as string).length)));
    const line = (row: readonly string[]) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd();
    this.write([line(header), ...cells.map(line)].join('\n'));
  }

  /** A confirmation: `{"ok":true,...}` in JSON, the sentence otherwise. */
  done(message: string, data: Row = {}): void {
    if (this.json) {
      this.write(JSON.stringify({ ok: true, ...data }, null, 2));
      return;
    }
    this.write(message);
  }

  /** Plain text (help); printed as is even with --json. */
  text(s: string): void {
    this.write(s);
  }
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}
