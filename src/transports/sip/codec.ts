// SIP message model, a streaming parser over TCP chunks (framed by Content-Length) and a serializer.
// Knows nothing about dialogs, transactions or chat: it turns bytes into messages and back.
import { type ErrorCode, PchatError } from '../../core/errors.js';

export const SIP_VERSION = 'SIP/2.0';

export interface SipLimits {
  /** Start line plus headers plus the blank line, in bytes. */
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

export const DEFAULT_SIP_LIMITS: SipLimits = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024 * 1024 };

// ---------------------------------------------------------------------------------------------
// Header names

const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
};

const CANONICAL_NAMES: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'ms-keep-alive': 'ms-keep-alive',
  'ms-piggyback-cseq': 'ms-piggyback-cseq',
};

/** Lower-case full header name; compact forms (`l`, `i`, `f`, `t`, `v`, `m`, `c`, …) expanded. */
export function headerKey(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT_FORMS[lower] ?? lower;
}

/** The full name written on the wire: `Call-ID`, `CSeq`, `Content-Length`, `Via`. */
export function canonicalHeaderName(name: string): string {
  const key = headerKey(name);
  const known = CANONICAL_NAMES[key];
  if (known) return known;
  return key.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

export interface SipHeader {
  /** Full name in canonical case (compact forms expanded). */
  readonly name: string;
  readonly value: string;
}

/** Case-insensitive, multi-valued headers kept in wire order. Header lines are never merged. */
export class SipHeaders {
  private readonly list: SipHeader[] = [];

  constructor(init?: Iterable<readonly [string, string]>) {
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  /** The first value of the header, or undefined. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    return this.list.find((h) => headerKey(h.name) === key)?.value;
  }

  /** Every line of the header, in order (a line holding `a, b` stays one entry). */
  getAll(name: string): string[] {
    const key = headerKey(name);
    return this.list.filter((h) => headerKey(h.name) === key).map((h) => h.value);
  }

  /** Every comma-separated value across all lines of the header (commas in quotes or <> kept). */
  getList(name: string): string[] {
    return this.getAll(name).flatMap(splitHeaderList);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  append(name: string, value: string): this {
    this.list.push({ name: canonicalHeaderName(name), value: value.trim() });
    return this;
  }

  /** Replaces every line of the header by one line (at the first one's position, else at the end). */
  set(name: string, value: string): this {
    const key = headerKey(name);
    const at = this.list.findIndex((h) => headerKey(h.name) === key);
    this.delete(name);
    const header = { name: canonicalHeaderName(name), value: value.trim() };
    if (at < 0) this.list.push(header);
    else this.list.splice(at, 0, header);
    return this;
  }

  delete(name: string): this {
    const key = headerKey(name);
    for (let i = this.list.length - 1; i >= 0; i--) {
      const h = this.list[i];
      if (h && headerKey(h.name) === key) this.list.splice(i, 1);
    }
    return this;
  }

  entries(): readonly SipHeader[] {
    return this.list;
  }

  clone(): SipHeaders {
    return new SipHeaders(this.list.map((h) => [h.name, h.value] as const));
  }
}

/** Splits `a, "b,c", <sip:x;y,z>` on top-level commas. */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let inQuotes = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (inQuotes) {
      current += ch;
      if (ch === '\\' && i + 1 < value.length) current += value[++i];
      else if (ch === '"') inQuotes = false;
    } else if (ch === '"') {
      inQuotes = true;
      current += ch;
    } else if (ch === '<') {
      angle++;
      current += ch;
    } else if (ch === '>') {
      angle = Math.max(0, angle - 1);
      current += ch;
    } else if (ch === ',' && angle === 0) {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Messages

export interface SipRequest {
  readonly kind: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export interface CSeq {
  seq: number;
  method: string;
}

/** Parses `CSeq: 12 INFO`; undefined when malformed. */
export function parseCSeq(value: string | undefined): CSeq | undefined {
  const m = /^\s*(\d{1,10})\s+([A-Za-z!%*_+`'~.-]+)\s*$/.exec(value ?? '');
  if (!m) return undefined;
  const seq = Number(m[1]);
  if (seq > 0xffffffff) return undefined;
  return { seq, method: (m[2] as string).toUpperCase() };
}

const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  420: 'Bad Extension',
  423: 'Interval Too Brief',
  429: 'Too Many Requests',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Server Time-out',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 300 ? 'OK' : 'Error');
}

export function createRequest(
  method: string,
  uri: string,
  headers: Iterable<readonly [string, string]> = [],
  body?: Buffer | string,
): SipRequest {
  return { kind: 'request', method: method.toUpperCase(), uri, headers: new SipHeaders(headers), body: toBuffer(body) };
}

export interface ResponseOptions {
  reason?: string;
  /** Added to `To` when it has no tag yet (the dialog's local tag). */
  toTag?: string;
  headers?: Iterable<readonly [string, string]>;
  body?: Buffer | string;
}

/**
 * A response to `request` that echoes Via (every line, in order), From, To, Call-ID and CSeq, as RFC 3261
 * §8.2.6 requires. Extra headers follow them.
 */
export function createResponse(request: SipRequest, status: number, opts: ResponseOptions = {}): SipResponse {
  const headers = new SipHeaders();
  for (const via of request.headers.getAll('via')) headers.append('Via', via);
  const from = request.headers.get('from');
  if (from !== undefined) headers.append('From', from);
  const to = request.headers.get('to');
  if (to !== undefined) {
    const hasTag = /;\s*tag\s*=/i.test(to.slice(to.lastIndexOf('>') + 1));
    headers.append('To', opts.toTag && !hasTag ? `${to};tag=${opts.toTag}` : to);
  }
  const callId = request.headers.get('call-id');
  if (callId !== undefined) headers.append('Call-ID', callId);
  const cseq = request.headers.get('cseq');
  if (cseq !== undefined) headers.append('CSeq', cseq);
  for (const [name, value] of opts.headers ?? []) headers.append(name, value);
  return { kind: 'response', status, reason: opts.reason ?? reasonPhrase(status), headers, body: toBuffer(opts.body) };
}

function toBuffer(body: Buffer | string | undefined): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

// ---------------------------------------------------------------------------------------------
// Serializer

/** Strips CR and LF so that no value can inject a header line. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/** Wire form: full header names, Content-Length always written (and always right), CRLF line ends. */
export function serializeSipMessage(msg: SipMessage): Buffer {
  const startLine =
    msg.kind === 'request'
      ? `${oneLine(msg.method)} ${oneLine(msg.uri)} ${SIP_VERSION}`
      : `${SIP_VERSION} ${msg.status} ${oneLine(msg.reason)}`;
  const lines = [startLine];
  for (const h of msg.headers.entries()) {
    if (headerKey(h.name) === 'content-length') continue;
    lines.push(`${canonicalHeaderName(h.name)}: ${oneLine(h.value)}`);
  }
  lines.push(`Content-Length: ${msg.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return msg.body.length ? Buffer.concat([head, msg.body]) : head;
}

// ---------------------------------------------------------------------------------------------
// Parser

export type SipFramingReason =
  | 'header-too-large'
  | 'body-too-large'
  | 'bad-content-length'
  | 'bad-start-line'
  | 'bad-header';

/** A framing error: the stream cannot be trusted any more, so the connection answers 400/413 and closes. */
export class SipFramingError extends PchatError {
  readonly reason: SipFramingReason;
  /** Start line and headers (empty body) when they were parsed, so the caller can answer the request. */
  readonly partial: SipMessage | undefined;

  constructor(reason: SipFramingReason, message: string, partial?: SipMessage) {
    const code: ErrorCode =
      reason === 'header-too-large' || reason === 'body-too-large' ? 'FRAME_TOO_LARGE' : 'BAD_REQUEST';
    super(code, message, { details: { reason } });
    this.name = 'SipFramingError';
    this.reason = reason;
    this.partial = partial;
  }

  /** The SIP status to answer with (400 or 413). */
  get sipStatus(): number {
    return this.code === 'FRAME_TOO_LARGE' ? 413 : 400;
  }
}

export type SipParseEvent =
  | { type: 'message'; message: SipMessage }
  /** A CRLFCRLF ping between messages (RFC 5626 §4.4.1); answer it with one CRLF. */
  | { type: 'keepalive' }
  | { type: 'error'; error: SipFramingError };

const TOKEN = /^[A-Za-z0-9!%*_+`'~.-]+$/;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Incremental parser for a SIP stream. Feed it chunks as they arrive; it returns the messages completed so far.
 * After an error it is dead: every later push returns nothing.
 */
export class SipStreamParser {
  private buffer: Buffer = Buffer.alloc(0);
  private queued: Buffer[] = [];
  private queuedLength = 0;
  /** Where to resume looking for the end of the header section (so trickled bytes are not rescanned). */
  private headScanFrom = 0;
  private pendingHead: SipMessage | undefined;
  private pendingBodyLength = 0;
  /** Consecutive CRLFs seen between messages; two make a ping. */
  private crlfRun = 0;
  private failed = false;
  private readonly limits: SipLimits;

  constructor(limits: Partial<SipLimits> = {}) {
    this.limits = { ...DEFAULT_SIP_LIMITS, ...limits };
  }

  get isFailed(): boolean {
    return this.failed;
  }

  push(chunk: Buffer): SipParseEvent[] {
    if (this.failed) return [];
    // While a body is still incomplete, queue chunks instead of re-copying the buffer on every push.
    if (this.pendingHead && this.buffer.length + this.queuedLength + chunk.length < this.pendingBodyLength) {
      this.queued.push(chunk);
      this.queuedLength += chunk.length;
      return [];
    }
    this.buffer =
      this.buffer.length || this.queued.length ? Buffer.concat([this.buffer, ...this.queued, chunk]) : chunk;
    this.queued = [];
    this.queuedLength = 0;
    const events: SipParseEvent[] = [];
    for (;;) {
      const event = this.next();
      if (!event) break;
      events.push(event);
      if (event.type === 'error') {
        this.failed = true;
        this.buffer = Buffer.alloc(0);
        break;
      }
    }
    return events;
  }

  private next(): SipParseEvent | undefined {
    if (this.pendingHead) return this.takeBody();
    // Leading CR/LF between messages: pongs (one CRLF) are skipped, pings (two) are reported.
    let i = 0;
    while (i < this.buffer.length) {
      const b = this.buffer[i];
      if (b === LF) {
        this.crlfRun++;
        i++;
        if (this.crlfRun === 2) {
          this.crlfRun = 0;
          this.buffer = this.buffer.subarray(i);
          return { type: 'keepalive' };
        }
      } else if (b === CR) i++;
      else break;
    }
    this.buffer = this.buffer.subarray(i);
    if (this.buffer.length === 0) return undefined;
    this.crlfRun = 0;
    return this.takeHead();
  }

  private takeHead(): SipParseEvent | undefined {
    const end = findHeadEnd(this.buffer, this.headScanFrom, this.limits.maxHeaderBytes);
    if (!end) {
      this.headScanFrom = Math.max(0, this.buffer.length - 3);
      if (this.buffer.length > this.limits.maxHeaderBytes) {
        return fail('header-too-large', `header section exceeds ${this.limits.maxHeaderBytes} bytes`);
      }
      return undefined;
    }
    if (end.headEnd > this.limits.maxHeaderBytes) {
      return fail('header-too-large', `header section exceeds ${this.limits.maxHeaderBytes} bytes`);
    }
    this.headScanFrom = 0;
    const text = this.buffer.subarray(0, end.headEnd).toString('utf8').replace(/\r$/, '');
    this.buffer = this.buffer.subarray(end.bodyStart);
    const head = parseHead(text);
    if (head instanceof SipFramingError) return { type: 'error', error: head };
    const length = contentLength(head.headers);
    if (typeof length === 'string') return fail('bad-content-length', length, head);
    if (length > this.limits.maxBodyBytes) {
      return fail('body-too-large', `body of ${length} bytes exceeds ${this.limits.maxBodyBytes}`, head);
    }
    this.pendingHead = head;
    this.pendingBodyLength = length;
    return this.takeBody();
  }

  private takeBody(): SipParseEvent | undefined {
    const head = this.pendingHead;
    if (!head || this.buffer.length < this.pendingBodyLength) return undefined;
    // Copy so the message does not pin the whole receive buffer.
    head.body = Buffer.from(this.buffer.subarray(0, this.pendingBodyLength));
    this.buffer = this.buffer.subarray(this.pendingBodyLength);
    this.pendingHead = undefined;
    this.pendingBodyLength = 0;
    return { type: 'message', message: head };
  }
}

function fail(reason: SipFramingReason, message: string, partial?: SipMessage): SipParseEvent {
  return { type: 'error', error: new SipFramingError(reason, message, partial) };
}

/** Finds the blank line ending the header section (CRLFCRLF, or bare LFs from lenient peers). */
function findHeadEnd(
  buf: Buffer,
  from: number,
  maxHeaderBytes: number,
): { headEnd: number; bodyStart: number } | undefined {
  const scanLimit = Math.min(buf.length, maxHeaderBytes + 4);
  for (let i = from; i < scanLimit; i++) {
    if (buf[i] !== LF) continue;
    if (buf[i + 1] === LF) return { headEnd: i, bodyStart: i + 2 };
    if (buf[i + 1] === CR && buf[i + 2] === LF) return { headEnd: i, bodyStart: i + 3 };
  }
  return undefined;
}

function parseHead(text: string): SipMessage | SipFramingError {
  const lines = text.split(/\r?\n/);
  const startLine = lines.shift() ?? '';
  const message = parseStartLine(startLine);
  if (!message) return new SipFramingError('bad-start-line', `not a SIP start line: ${startLine.slice(0, 80)}`);
  let name: string | undefined;
  let value = '';
  const flush = (): void => {
    if (name !== undefined) message.headers.append(name, value);
  };
  for (const line of lines) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (name === undefined) return new SipFramingError('bad-header', 'continuation line before any header');
      value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    const rawName = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!TOKEN.test(rawName)) return new SipFramingError('bad-header', `malformed header line: ${line.slice(0, 80)}`);
    name = rawName;
    value = line.slice(colon + 1).trim();
  }
  flush();
  return message;
}

function parseStartLine(line: string): SipMessage | undefined {
  const response = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/i.exec(line);
  if (response) {
    return {
      kind: 'response',
      status: Number(response[1]),
      reason: response[2] ?? '',
      headers: new SipHeaders(),
      body: Buffer.alloc(0),
    };
  }
  const request = /^(\S+) (\S+) SIP\/2\.0$/i.exec(line);
  if (!request || !TOKEN.test(request[1] as string)) return undefined;
  return {
    kind: 'request',
    method: (request[1] as string).toUpperCase(),
    uri: request[2] as string,
    headers: new SipHeaders(),
    body: Buffer.alloc(0),
  };
}

/** The declared body length (0 when absent), or a sentence saying why it is invalid. */
function contentLength(headers: SipHeaders): number | string {
  const values = headers.getAll('content-length');
  if (values.length === 0) return 0;
  const distinct = new Set(values.map((v) => v.trim()));
  if (distinct.size > 1) return `conflicting Content-Length values: ${[...distinct].join(', ')}`;
  const v = values[0]?.trim() ?? '';
  if (!/^\d{1,10}$/.test(v)) return `Content-Length must be a non-negative integer, got "${v.slice(0, 40)}"`;
  return Number(v);
}
