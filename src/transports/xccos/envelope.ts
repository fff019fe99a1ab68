// The XCCOS envelope: `<xccos ver="1" envid="N" xmlns="urn:parlano:xml:ns:xccos">` holding <cmd>, <rpl>, <ntc>
// and <grpchat> items. Parses an INFO body into typed items and builds outgoing envelopes.
import { randomInt } from 'node:crypto';
import { PchatError } from '../../core/errors.js';
import { child, el, fragments, localName, parseXml, type XmlElement, type XmlFragment, type XmlLimits } from './xml.js';

export const XCCOS_NAMESPACE = 'urn:parlano:xml:ns:xccos';

/** Default limits for an XCCOS body: far above anything SIPE sends, far below what hurts. */
export const XCCOS_XML_LIMITS: XmlLimits = {
  maxBytes: 256 * 1024,
  maxDepth: 16,
  maxElements: 5_000,
  maxAttributes: 32,
};

export type XccosErrorReason =
  | 'xml' // not well-formed, or refused (DOCTYPE, limits): see `cause`
  | 'envelope' // well-formed but not an <xccos> envelope
  | 'unknown-command'
  | 'bad-field'; // a command is missing a field or has an invalid one

export class XccosError extends PchatError {
  readonly reason: XccosErrorReason;

  constructor(reason: XccosErrorReason, message: string, opts: { field?: string; cause?: PchatError } = {}) {
    const code =
      reason === 'unknown-command'
        ? 'UNKNOWN_TYPE'
        : reason === 'bad-field'
          ? 'INVALID_VALUE'
          : (opts.cause?.code ?? 'BAD_REQUEST');
    super(code, message, opts.field ? { field: opts.field, details: { reason } } : { details: { reason } });
    this.name = 'XccosError';
    this.reason = reason;
    if (opts.cause) this.cause = opts.cause;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: XccosError };

/** A command sent by the client; `data` is its <data> element (absent when the client sent none). */
export interface XccosCmd {
  readonly kind: 'cmd';
  readonly id: string;
  readonly seqid: string;
  readonly data: XmlElement | undefined;
  readonly element: XmlElement;
}

export interface XccosRpl {
  readonly kind: 'rpl';
  readonly id: string;
  readonly seqid: string;
  readonly commandId: { seqid: string; envid: string } | undefined;
  readonly resp: { code: number; text: string } | undefined;
  readonly data: XmlElement | undefined;
  readonly element: XmlElement;
}

export interface XccosNtc {
  readonly kind: 'ntc';
  readonly id: string;
  readonly data: XmlElement | undefined;
  readonly element: XmlElement;
}

/** A chat message; decode it with `decodeGrpchat` from commands.ts. */
export interface XccosGrpchat {
  readonly kind: 'grpchat';
  readonly id: string;
  readonly seqid: string;
  readonly element: XmlElement;
}

export type XccosItem = XccosCmd | XccosRpl | XccosNtc | XccosGrpchat;

export interface XccosEnvelope {
  readonly ver: string;
  /** Kept as a string: real servers send values above 2^53. */
  readonly envid: string;
  readonly items: readonly XccosItem[];
}

/** Parses an XCCOS body. Never throws. Unknown child elements of <xccos> are ignored. */
export function parseEnvelope(body: Buffer | string, limits: Partial<XmlLimits> = {}): Result<XccosEnvelope> {
  const xml = parseXml(body, { ...XCCOS_XML_LIMITS, ...limits });
  if (!xml.ok) return { ok: false, error: new XccosError('xml', xml.error.message, { cause: xml.error }) };
  const root = xml.root;
  if (localName(root.name) !== 'xccos') return envelopeError(`root element is <${root.name}>, not <xccos>`);
  const ns = root.attrs.get('xmlns');
  if (ns !== undefined && ns !== XCCOS_NAMESPACE) return envelopeError(`unexpected namespace ${ns}`);
  const envid = root.attrs.get('envid') ?? '';
  if (!/^\d{1,20}$/.test(envid)) return envelopeError('envid must be a decimal number');
  const items: XccosItem[] = [];
  for (const element of root.children) {
    const item = toItem(element);
    if (item) items.push(item);
  }
  if (items.length === 0) return envelopeError('the envelope holds no cmd, rpl, ntc or grpchat');
  return { ok: true, value: { ver: root.attrs.get('ver') ?? '', envid, items } };
}

function envelopeError(message: string): Result<never> {
  return { ok: false, error: new XccosError('envelope', message) };
}

function toItem(element: XmlElement): XccosItem | undefined {
  const id = element.attrs.get('id') ?? '';
  const seqid = element.attrs.get('seqid') ?? '1';
  switch (localName(element.name)) {
    case 'cmd':
      return { kind: 'cmd', id, seqid, data: child(element, 'data'), element };
    case 'rpl': {
      const cid = child(element, 'commandid');
      const resp = child(element, 'resp');
      const code = Number(resp?.attrs.get('code'));
      return {
        kind: 'rpl',
        id,
        seqid,
        commandId: cid ? { seqid: cid.attrs.get('seqid') ?? '', envid: cid.attrs.get('envid') ?? '' } : undefined,
        resp: resp ? { code: Number.isInteger(code) ? code : 500, text: resp.text } : undefined,
        data: child(element, 'data'),
        element,
      };
    }
    case 'ntc':
      return { kind: 'ntc', id, data: child(element, 'data'), element };
    case 'grpchat':
      return { kind: 'grpchat', id: id || 'grpchat', seqid, element };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Building

/** Increasing envelope ids for one server→client stream, starting at a random 31-bit value as SIPE does. */
export class EnvidSequence {
  private value: bigint;

  constructor(start?: bigint | number) {
    this.value = BigInt(start ?? randomInt(1, 0x7fffffff));
  }

  next(): string {
    const v = this.value;
    this.value += 1n;
    return v.toString();
  }
}

/** `<xccos ver="1" envid="…" xmlns="urn:parlano:xml:ns:xccos">items</xccos>` as a string for an INFO body. */
export function buildEnvelope(envid: string, items: readonly XmlFragment[]): string {
  return el('xccos', { ver: '1', envid, xmlns: XCCOS_NAMESPACE }, ...items).xml;
}

/** What a reply must echo from the command it answers. */
export interface CommandRef {
  /** The command's id, e.g. `cmd:join`. */
  id: string;
  seqid: string;
  /** The envid of the envelope that carried the command. */
  envid: string;
}

export const SUCCESS_TEXT = 'SUCCESS_OK';

/**
 * `<rpl id="…" seqid="…"><commandid seqid envid/><resp code="…">text</resp><data>…</data></rpl>`.
 * `id` defaults to the reply id for the command (see `replyIdFor`).
 */
export function buildReply(
  command: CommandRef,
  opts: { id?: string; code?: number; text?: string; data?: readonly XmlFragment[] } = {},
): XmlFragment {
  const code = opts.code ?? 200;
  return el(
    'rpl',
    { id: opts.id ?? replyIdFor(command.id), seqid: command.seqid },
    el('commandid', { seqid: command.seqid, envid: command.envid }),
    el('resp', { code }, opts.text ?? (code === 200 ? SUCCESS_TEXT : 'ERROR')),
    el('data', {}, fragments(opts.data ?? [])),
  );
}

/** `<ntc id="ntc:…"><data>…</data></ntc>`. */
export function buildNotice(id: string, data: readonly XmlFragment[]): XmlFragment {
  return el('ntc', { id }, el('data', {}, fragments(data)));
}

/** `cmd:join` → `rpl:join`; `cmd:getserverinfo` → `rpl:getservinfo` (the name real servers use). */
export function replyIdFor(commandId: string): string {
  if (commandId === 'cmd:getserverinfo') return 'rpl:getservinfo';
  return commandId.startsWith('cmd:') ? `rpl:${commandId.slice(4)}` : `rpl:${commandId}`;
}
