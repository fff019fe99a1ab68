// Reads the compliance XML the legacy pool's XML adapter wrote (inventory §2; the format pchat's own XML
// adapter writes too): Conversations/Conversation with Channel (uri, name, islogged), FirstMessage,
// Messages/Message (type, content, id) each with Sender (UserName, id, email, internal, uri) and DateTimeUTC
// (since1970, string, long), StartTimeUTC, EndTimeUTC. Tolerant of what real files hold: a default
// namespace, attributes in any order, elements it does not know, one Conversation or many, a sender URI with
// or without `sip:`, a time given by any one of the three DateTimeUTC attributes.
import { XMLParser } from 'fast-xml-parser';
import { legacyError } from './csv.js';

export const EVENT_TYPES = ['JOIN', 'PART', 'CHAT', 'BACKCHAT', 'FILEUPLOAD', 'FILEDOWNLOAD'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface ComplianceSender {
  userName: string;
  uri: string | null;
  email: string | null;
  internal: boolean;
}

export interface ComplianceEvent {
  channelUri: string;
  channelName: string;
  logged: boolean;
  type: EventType;
  content: string;
  /** The message id (CHAT only). */
  id: string | null;
  sender: ComplianceSender;
  ts: number;
}

export interface ComplianceFile {
  file: string;
  start: number | null;
  events: ComplianceEvent[];
  /** Message types this reader does not know (counted, not imported). */
  unknown: number;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: true,
  isArray: (name) => ['Conversation', 'Message'].includes(name),
});

type Node = Record<string, unknown>;
const attr = (n: Node | undefined, name: string): string | undefined => {
  if (!n) return undefined;
  const key = Object.keys(n).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : n[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
};
const child = (n: Node | undefined, name: string): Node | undefined => {
  const v = n?.[name];
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined;
};

/** .NET ticks (100 ns since 0001-01-01) at the Unix epoch. */
const EPOCH_TICKS = 621355968000000000n;

export function timeOf(n: Node | undefined): number | null {
  const since = attr(n, 'since1970');
  if (since !== undefined && /^-?\d+$/.test(since.trim())) return Number(since.trim());
  const iso = attr(n, 'string');
  if (iso !== undefined && !Number.isNaN(Date.parse(iso))) return Date.parse(iso);
  const ticks = attr(n, 'long');
  if (ticks !== undefined && /^\d+$/.test(ticks.trim())) return Number((BigInt(ticks.trim()) - EPOCH_TICKS) / 10000n);
  return null;
}

function senderOf(n: Node | undefined): ComplianceSender {
  const uri = attr(n, 'uri')?.trim();
  const internal = attr(n, 'internal');
  return {
    userName: attr(n, 'UserName') ?? '',
    uri: uri ? (/^sip:/i.test(uri) ? uri : `sip:${uri}`).toLowerCase() : null,
    email: attr(n, 'email') ?? null,
    internal: internal === undefined ? true : !/^(false|0)$/i.test(internal.trim()),
  };
}

export function parseComplianceXml(file: string, xml: string): ComplianceFile {
  // The adapter never writes a DOCTYPE; refusing one rules out entity-expansion tricks.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw legacyError(file, 1, 'a DOCTYPE or ENTITY declaration is not allowed');
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (e) {
    const m = /Line:?\s*(\d+)/i.exec(String((e as Error).message));
    throw legacyError(
      file,
      m ? Number(m[1]) : 1,
      `not well-formed XML (${String((e as Error).message).split('\n')[0]})`,
    );
  }
  const root = child(doc, 'Conversations');
  if (!root) throw legacyError(file, 1, 'the root element is not Conversations');
  const out: ComplianceFile = { file, start: null, events: [], unknown: 0 };
  const convs = (root.Conversation as Node[] | undefined) ?? [];
  for (const conv of convs) {
    const channel = child(conv, 'Channel');
    const channelUri = attr(channel, 'uri') ?? '';
    const channelName = attr(channel, 'name') ?? '';
    if (channelUri === '' && channelName === '')
      throw legacyError(file, 1, 'a Conversation has no Channel uri or name');
    const logged = !/^(false|0)$/i.test(attr(channel, 'islogged') ?? 'true');
    const start = timeOf(child(conv, 'StartTimeUTC'));
    if (start !== null && (out.start === null || start < out.start)) out.start = start;
    const seen = new Set<string>();
    const take = (m: Node) => {
      const type = (attr(m, 'type') ?? '').toUpperCase();
      if (!(EVENT_TYPES as readonly string[]).includes(type)) {
        out.unknown++;
        return;
      }
      const ts = timeOf(child(m, 'DateTimeUTC'));
      if (ts === null)
        throw legacyError(file, 1, `a ${type} message in ${channelName || channelUri} has no DateTimeUTC`);
      const sender = senderOf(child(m, 'Sender'));
      const id = type === 'CHAT' ? (attr(m, 'id') ?? null) : null;
      const content = attr(m, 'content') ?? (typeof m['#text'] === 'string' ? (m['#text'] as string) : '');
      // FirstMessage repeats the conversation's first message: count each event once.
      const key = `${type}|${id}|${ts}|${sender.uri}|${content}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.events.push({ channelUri, channelName, logged, type: type as EventType, content, id, sender, ts });
    };
    const first = child(conv, 'FirstMessage');
    const messages = (child(conv, 'Messages')?.Message as Node[] | undefined) ?? [];
    for (const m of messages) take(m);
    if (first) take(first);
  }
  out.events.sort((a, b) => a.ts - b.ts || Number(a.id ?? 0) - Number(b.id ?? 0));
  return out;
}
