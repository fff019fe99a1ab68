// The JSON Lines adapter: one JSON object per event, one line each, for log pipelines (Loki, Splunk, jq).
// The text is kept exactly (no XML character restrictions).
import { join } from 'node:path';
import { byRoom, safeName, writeFileDurably } from '../output-files.js';
import type { AdapterContext, AdapterResult, BatchEvent, ComplianceAdapter, ComplianceBatch } from './adapter.js';

export function eventLine(e: BatchEvent, withRoom: boolean, withUser: boolean): string {
  return JSON.stringify({
    eventId: e.id,
    type: e.type,
    door: e.door,
    time: new Date(e.ts).toISOString(),
    ts: e.ts,
    roomId: e.roomId,
    room: e.room ? (withRoom ? e.room : { uri: e.room.uri, name: e.room.name, logged: e.room.logged }) : null,
    sender: withUser ? e.senderDetails : { uri: e.senderDetails.uri, displayName: e.senderDetails.displayName },
    content: e.content,
    messageId: e.messageId,
    data: e.data,
  });
}

export class JsonLinesAdapter implements ComplianceAdapter {
  readonly name = 'jsonl';

  async write(batch: ComplianceBatch, ctx: AdapterContext): Promise<AdapterResult> {
    const c = ctx.config;
    const body = (events: BatchEvent[]) =>
      `${events.map((e) => eventLine(e, c.addChatRoomDetails, c.addUserDetails)).join('\n')}\n`;
    const files: string[] = [];
    const groups = c.oneChatRoomPerOutputFile
      ? [...byRoom(batch.events)].map(([roomId, events]) => [`-${safeName(roomId || 'all-rooms')}`, events] as const)
      : [['', batch.events] as const];
    for (const [suffix, events] of groups) {
      const name = `${ctx.filePrefix}${suffix}.jsonl`;
      await writeFileDurably(join(ctx.outputDirectory, name), body(events));
      files.push(name);
    }
    return { files };
  }
}
