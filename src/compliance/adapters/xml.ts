// The XML adapter: the original's documented compliance format (Conversations/Conversation per room with
// Channel, FirstMessage, Messages/Message, StartTimeUTC, EndTimeUTC), valid against docs/compliance.xsd.
// Written by hand: the format is a few fixed elements, and the one subtle part, escaping, is below.
import { join } from 'node:path';
import type { ComplianceConfig } from '../config.js';
import { byRoom, safeName, writeFileDurably } from '../output-files.js';
import type { AdapterContext, AdapterResult, BatchEvent, ComplianceAdapter, ComplianceBatch } from './adapter.js';

/** .NET ticks (100 ns since 0001-01-01) at the Unix epoch. */
const EPOCH_TICKS = 621355968000000000n;

export function dotNetTicks(ms: number): string {
  return (BigInt(Math.trunc(ms)) * 10000n + EPOCH_TICKS).toString();
}

// Characters XML 1.0 cannot carry at all (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/FFFF)
// become U+FFFD; the JSON Lines adapter keeps the exact text.
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for a double-quoted attribute (line breaks and tabs as references, so they survive parsing). */
export function attr(s: string): string {
  return s.replace(NOT_XML, '\uFFFD').replace(/[&<>"\t\n\r]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case '\t':
        return '&#9;';
      case '\n':
        return '&#10;';
      default:
        return '&#13;';
    }
  });
}

function attrs(pairs: [string, string | number | boolean | null | undefined][]): string {
  return pairs
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => ` ${k}="${attr(String(v))}"`)
    .join('');
}

function dateTime(tag: string, ms: number, indent: string): string {
  return `${indent}<${tag}${attrs([
    ['since1970', Math.trunc(ms)],
    ['string', new Date(ms).toISOString()],
    ['long', dotNetTicks(ms)],
  ])}/>`;
}

function message(tag: string, e: BatchEvent, config: ComplianceConfig, indent: string): string[] {
  const s = e.senderDetails;
  const sender = config.addUserDetails
    ? attrs([
        ['UserName', s.displayName],
        ['id', s.uri],
        ['email', s.email ?? ''],
        ['internal', s.internal],
        ['uri', s.uri],
      ])
    : attrs([
        ['UserName', s.displayName],
        ['uri', s.uri],
      ]);
  const replacement = typeof e.data.replacement === 'string' ? e.data.replacement : null;
  return [
    `${indent}<${tag}${attrs([
      ['type', e.type],
      ['content', e.content],
      ['id', e.messageId],
      ['eventid', e.id],
      ['door', e.door],
      ['replacement', replacement],
    ])}>`,
    `${indent}  <Sender${sender}/>`,
    dateTime('DateTimeUTC', e.ts, `${indent}  `),
    `${indent}</${tag}>`,
  ];
}

function conversation(events: BatchEvent[], config: ComplianceConfig): string[] {
  const first = events[0] as BatchEvent;
  const r = first.room;
  const channel = attrs([
    ['uri', r?.uri ?? ''],
    ['name', r?.name ?? ''],
    ['islogged', r?.logged ?? false],
    ...(config.addChatRoomDetails && r
      ? ([
          ['id', r.id],
          ['description', r.description ?? ''],
          ['category', r.category ?? ''],
        ] as [string, string][])
      : []),
  ]);
  const lines = ['  <Conversation>', `    <Channel${channel}/>`, ...message('FirstMessage', first, config, '    ')];
  lines.push('    <Messages>');
  for (const e of events) lines.push(...message('Message', e, config, '      '));
  lines.push('    </Messages>');
  lines.push(dateTime('StartTimeUTC', first.ts, '    '));
  lines.push(dateTime('EndTimeUTC', (events[events.length - 1] as BatchEvent).ts, '    '));
  lines.push('  </Conversation>');
  return lines;
}

export function conversationsXml(events: BatchEvent[], config: ComplianceConfig): string {
  const lines = ['<?xml version="1.0" encoding="utf-8"?>', '<Conversations>'];
  for (const group of byRoom(events).values()) lines.push(...conversation(group, config));
  lines.push('</Conversations>', '');
  return lines.join('\n');
}

/** The CreateFileAttachmentsManifest listing: one line per uploaded file, tab-separated. */
export function attachmentsManifest(events: BatchEvent[]): string | null {
  const uploads = events.filter((e) => e.type === 'FILEUPLOAD');
  if (uploads.length === 0) return null;
  const clean = (v: unknown) => String(v ?? '').replace(/[\t\r\n]/g, ' ');
  const lines = ['# messageId\tfileId\tname\tsize\tcontentType\tstorageKey\troomId\tuploader'];
  for (const e of uploads)
    lines.push(
      [e.messageId, e.data.fileId, e.content, e.data.size, e.data.contentType, e.data.storageKey, e.roomId, e.sender]
        .map(clean)
        .join('\t'),
    );
  return `${lines.join('\n')}\n`;
}

export class XmlAdapter implements ComplianceAdapter {
  readonly name = 'xml';

  async write(batch: ComplianceBatch, ctx: AdapterContext): Promise<AdapterResult> {
    const files: string[] = [];
    const put = async (name: string, body: string) => {
      await writeFileDurably(join(ctx.outputDirectory, name), body);
      files.push(name);
    };
    if (ctx.config.oneChatRoomPerOutputFile) {
      for (const [roomId, events] of byRoom(batch.events))
        await put(`${ctx.filePrefix}-${safeName(roomId || 'all-rooms')}.xml`, conversationsXml(events, ctx.config));
    } else await put(`${ctx.filePrefix}.xml`, conversationsXml(batch.events, ctx.config));
    if (ctx.config.createFileAttachmentsManifest) {
      const m = attachmentsManifest(batch.events);
      if (m) await put(`${ctx.filePrefix}.ATTACH`, m);
    }
    return { files };
  }
}
