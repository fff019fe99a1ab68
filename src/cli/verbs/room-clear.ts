// pchat room clear — remove all content of a room up to a date, files included (Clear-CsPersistentChatRoom).
import { SYSTEM } from '../../admin/admin-service.js';
import { optString, UsageError } from '../args.js';
import type { VerbDef } from '../command.js';

export const roomClearVerb: VerbDef = {
  summary: 'remove all messages and files of a room up to a date',
  args: '[NAME]',
  maxPositionals: 1,
  options: [
    { name: 'room', kind: 'string', value: 'ROOM', description: 'the room (name or id)' },
    {
      name: 'end-date',
      kind: 'string',
      value: 'DATE',
      description: 'remove content up to this time (a bare date covers that whole day, UTC); required',
    },
  ],
  replaces: 'Clear-CsPersistentChatRoom',
  example: 'pchat room clear --room General --end-date 2026-06-30',
  async run(ctx) {
    const pos = ctx.positionals[0];
    const flag = optString(ctx.opts, 'room');
    if (pos !== undefined && flag !== undefined) throw new UsageError('give the room once', ctx.command);
    const room = pos ?? flag;
    if (room === undefined) throw new UsageError('name the room with --room', ctx.command);
    const end = optString(ctx.opts, 'end-date');
    if (end === undefined) throw new UsageError('give --end-date', ctx.command);
    const r = await (await ctx.complianceAdmin()).clearRoom(SYSTEM, room, end);
    ctx.out.done(`Cleared ${r.messages} message(s) and ${r.files} file(s) from ${r.room}.`, r);
  },
};
