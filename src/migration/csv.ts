// CSV as PowerShell's Export-Csv writes it: an optional `#TYPE <.NET type>` first line (Windows PowerShell 5.1
// writes it unless -NoTypeInformation), a header row, every field in double quotes with "" for a quote, and
// line breaks inside quoted fields. The file may be UTF-8 (with or without BOM) or UTF-16 LE with BOM
// (-Encoding Unicode). Pure: text in, rows out.
import { PchatError } from '../core/errors.js';

export interface CsvRow {
  /** 1-based line where the row starts. */
  line: number;
  /** Column name (as in the header) → value. Lookup with `cell` is case-insensitive. */
  values: Map<string, string>;
}

export interface CsvTable {
  file: string;
  /** The `#TYPE` line's type name, when there is one. */
  type: string | null;
  columns: string[];
  rows: CsvRow[];
}

export function legacyError(file: string, line: number, message: string): PchatError {
  return new PchatError('LEGACY_INPUT_INVALID', `${file}: line ${line}: ${message}`, {
    field: 'file',
    details: { file, line },
  });
}

/** Decodes a file's bytes by their BOM: UTF-16 LE/BE or UTF-8. */
export function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8');
  return bytes.toString('utf8');
}

/** Splits CSV text into records of fields (RFC 4180, plus bare unquoted fields). */
function records(file: string, text: string, delimiter: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw legacyError(file, start, 'a quoted field is not closed');
          const c = text[i] as string;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        if (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r')
          throw legacyError(file, line, 'text after a closing quote');
      } else {
        while (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') value += text[i++];
      }
      fields.push(value);
      if (i < n && text[i] === delimiter) {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    if (!(fields.length === 1 && fields[0] === '')) out.push({ line: start, fields });
  }
  return out;
}

export function parseCsv(file: string, bytes: Buffer, delimiter = ','): CsvTable {
  let text = decodeText(bytes);
  let type: string | null = null;
  let offset = 0;
  const typeLine = /^#TYPE ([^\r\n]*)\r?\n/.exec(text);
  if (typeLine) {
    type = (typeLine[1] as string).trim();
    text = text.slice(typeLine[0].length);
    offset = 1;
  }
  const recs = records(file, text, delimiter);
  const header = recs.shift();
  if (!header) throw legacyError(file, 1 + offset, 'no header row');
  const columns = header.fields.map((f) => f.trim());
  const rows: CsvRow[] = recs.map((r) => {
    if (r.fields.length !== columns.length)
      throw legacyError(file, r.line + offset, `${r.fields.length} fields where the header has ${columns.length}`);
    return { line: r.line + offset, values: new Map(columns.map((c, i) => [c.toLowerCase(), r.fields[i] as string])) };
  });
  return { file, type, columns, rows };
}

/** The value of a column (case-insensitive), or undefined when the file has no such column. */
export function cell(row: CsvRow, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = row.values.get(n.toLowerCase());
    if (v !== undefined) return v;
  }
  return undefined;
}
