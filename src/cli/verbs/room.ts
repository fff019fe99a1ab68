// pchat room new|set|get|remove — chat rooms: privacy, type, members, managers, presenters.
import type { AdminService, RoomFilter, RoomInput } from '../../admin/admin-service.js';
import type { Room } from '../../core/model.js';
import { parsePrivacy, parseRoomInvitations, parseRoomType } from '../../core/rules.js';
import { type OptSpec, optBool, optFlag, optInt, optList, optString, optWith, UsageError } from '../args.js';
import type { Context, NounDef } from '../command.js';
import type { Row } from '../output.js';
import { roomClearVerb } from './room-clear.js';

const IDENTITY: OptSpec = { name: 'identity', kind: 'string', value: 'NAME', description: 'the room name (or id)' };
const LIST_HELP = 'a,b replaces the list, +a,-b adds/removes; sip:, group:, ou:, domain: principals';

const ROOM_OPTIONS: OptSpec[] = [
  { name: 'description', kind: 'string', value: 'TEXT', description: 'what the room is about' },
  {
    name: 'privacy',
    kind: 'string',
    value: 'open|closed|secret',
    description: 'who may find and read it (default closed)',
  },
  { name: 'type', kind: 'string', value: 'normal|auditorium', description: 'auditorium: only presenters post' },
  { name: 'disabled', kind: 'bool', description: 'disable the room (--no-disabled to enable it)' },
  { name: 'addin', kind: 'string', value: 'NAME', description: 'add-in shown with the room ("" removes it)' },
  {
    name: 'invitations',
    kind: 'string',
    value: 'inherit|false',
    description: 'send invitations to new members (inherit: as the category)',
  },
  { name: 'members', kind: 'string', value: 'LIST', description: `who may join closed/secret rooms (${LIST_HELP})` },
  { name: 'managers', kind: 'string', value: 'LIST', description: 'who may manage the room (same form)' },
  { name: 'presenters', kind: 'string', value: 'LIST', description: 'who may post in an auditorium; must be members' },
];

function roomInput(ctx: Context): RoomInput {
  const o = ctx.opts;
  const input: RoomInput = {};
  const set = <K extends keyof RoomInput>(k: K, v: RoomInput[K] | undefined) => {
    if (v !== undefined) input[k] = v;
  };
  set('name', optString(o, 'name'));
  set('description', optString(o, 'description'));
  set('category', optString(o, 'category'));
  set('privacy', optWith(o, 'privacy', parsePrivacy));
  set('type', optWith(o, 'type', parseRoomType));
  set('disabled', optBool(o, 'disabled', 'disabled'));
  set(
    'addin',
    optWith(o, 'addin', (v) => (v.trim() === '' ? null : v.trim())),
  );
  set('invitations', optWith(o, 'invitations', parseRoomInvitations));
  set('members', optList(o, 'members', 'members'));
  set('managers', optList(o, 'managers', 'managers'));
  set('presenters', optList(o, 'presenters', 'presenters'));
  return input;
}

async function show(ctx: Context, admin: AdminService, r: Room): Promise<void> {
  if (ctx.json) return ctx.out.record(r as unknown as Row);
  const c = await admin.getCategory(r.categoryId).catch(() => undefined);
  const { name, categoryId, ...rest } = r;
  ctx.out.record({ name, category: c?.name ?? categoryId, ...rest } as Row);
}

const FILTER_OPTIONS: OptSpec[] = [
  {
    name: 'filter',
    kind: 'string',
    value: 'TEXT',
    description: 'rooms whose name (and description with --search-description) contains TEXT',
  },
  { name: 'search-description', kind: 'flag', description: 'let --filter match descriptions too' },
  { name: 'member', kind: 'string', value: 'URI', description: 'rooms this user is a member of (groups expanded)' },
  { name: 'manager', kind: 'string', value: 'URI', description: 'rooms this user manages' },
  { name: 'category', kind: 'string', value: 'NAME', description: 'rooms of this category' },
  { name: 'addin', kind: 'string', value: 'NAME', description: 'rooms with this add-in' },
  { name: 'disabled', kind: 'bool', description: 'disabled rooms only (--no-disabled: enabled rooms only)' },
  { name: 'privacy', kind: 'string', value: 'open|closed|secret', description: 'rooms with this privacy' },
  { name: 'type', kind: 'string', value: 'normal|auditorium', description: 'rooms of this type' },
  { name: 'invitations', kind: 'string', value: 'inherit|false', description: 'rooms with this invitations setting' },
  { name: 'result-size', kind: 'string', value: 'N', description: 'list at most N rooms' },
];
const FILTER_NAMES = FILTER_OPTIONS.map((o) => o.name);

function roomFilter(ctx: Context): RoomFilter {
  const o = ctx.opts;
  const f: RoomFilter = {};
  const set = <K extends keyof RoomFilter>(k: K, v: RoomFilter[K] | undefined) => {
    if (v !== undefined) f[k] = v;
  };
  set('filter', optString(o, 'filter'));
  if (optFlag(o, 'search-description')) f.searchDescription = true;
  set('member', optString(o, 'member'));
  set('manager', optString(o, 'manager'));
  set('category', optString(o, 'category'));
  set('addin', optString(o, 'addin'));
  set('disabled', optBool(o, 'disabled', 'disabled'));
  set('privacy', optWith(o, 'privacy', parsePrivacy));
  set('type', optWith(o, 'type', parseRoomType));
  set('invitations', optWith(o, 'invitations', parseRoomInvitations));
  set('resultSize', optInt(o, 'result-size', 'resultSize', 0));
  return f;
}

export const roomNoun: NounDef = {
  name: 'room',
  summary: 'chat rooms',
  verbs: {
    new: {
      summary: 'create a room in a category',
      args: 'NAME',
      maxPositionals: 1,
      options: [
        { name: 'name', kind: 'string', value: 'NAME', description: 'the room name (at most 256 characters)' },
        { name: 'category', kind: 'string', value: 'NAME', description: 'the category it belongs to (required)' },
        ...ROOM_OPTIONS,
      ],
      replaces: 'New-CsPersistentChatRoom',
      example:
        'pchat room new "Town Hall" --category Engineering --type auditorium --privacy open --members group:staff --presenters sip:alice@contoso.com',
      async run(ctx) {
        const pos = ctx.positionals[0];
        const flag = optString(ctx.opts, 'name');
        if (pos !== undefined && flag !== undefined)
          throw new UsageError('give the name once, as a word or with --name', ctx.command);
        const name = pos ?? flag;
        if (name === undefined) throw new UsageError('name the room', ctx.command);
        const category = optString(ctx.opts, 'category');
        if (category === undefined) throw new UsageError('--category is required', ctx.command);
        const input = roomInput(ctx);
        const admin = await ctx.admin();
        await show(ctx, admin, await admin.newRoom({ ...input, name, category }));
      },
    },
    set: {
      summary: "change a room's settings, lists or category",
      args: 'NAME',
      maxPositionals: 1,
      options: [
        IDENTITY,
        { name: 'name', kind: 'string', value: 'NAME', description: 'rename the room' },
        {
          name: 'category',
          kind: 'string',
          value: 'NAME',
          description: 'move the room (entries the new category disallows are dropped)',
        },
        ...ROOM_OPTIONS,
      ],
      replaces: 'Set-CsPersistentChatRoom',
      example: 'pchat room set General --members +sip:carol@contoso.com,-sip:bob@contoso.com --privacy closed',
      async run(ctx) {
        const key = ctx.requireKey('room');
        const input = roomInput(ctx);
        const admin = await ctx.admin();
        await show(ctx, admin, await admin.setRoom(key, input));
      },
    },
    get: {
      summary: 'show one room, or list rooms matching the filters',
      args: '[NAME]',
      maxPositionals: 1,
      options: [IDENTITY, ...FILTER_OPTIONS],
      replaces: 'Get-CsPersistentChatRoom',
      example: 'pchat room get --member sip:alice@contoso.com --privacy secret',
      async run(ctx) {
        const key = ctx.key('room');
        const filter = roomFilter(ctx);
        const admin = await ctx.admin();
        if (key !== undefined) {
          const given = FILTER_NAMES.filter((n) => ctx.opts[n] !== undefined);
          if (given.length > 0)
            throw new UsageError(`give a room name or filters (--${given[0]}), not both`, ctx.command);
          return show(ctx, admin, await admin.getRoom(key));
        }
        const rooms = await admin.listRooms(filter);
        if (ctx.json) return ctx.out.table(rooms as unknown as Row[], []);
        const names = new Map((await admin.listCategories()).map((c) => [c.id, c.name]));
        ctx.out.table(
          rooms as unknown as Row[],
          [
            { key: 'name', label: 'name' },
            { key: 'category', label: 'category', get: (r) => names.get(r.categoryId as string) ?? '?' },
            { key: 'privacy', label: 'privacy' },
            { key: 'type', label: 'type' },
            { key: 'disabled', label: 'disabled' },
            { key: 'members', label: 'members' },
            { key: 'managers', label: 'managers' },
          ],
          '(no rooms)',
        );
      },
    },
    clear: roomClearVerb,
    remove: {
      summary: 'delete a room and its content',
      args: 'NAME',
      maxPositionals: 1,
      options: [IDENTITY],
      replaces: 'Remove-CsPersistentChatRoom',
      example: 'pchat room remove General',
      async run(ctx) {
        const key = ctx.requireKey('room');
        const admin = await ctx.admin();
        const r = await admin.getRoom(key);
        await admin.removeRoom(r.id);
        ctx.out.done(`Removed room ${r.name}.`, { removed: r.name, id: r.id });
      },
    },
  },
};
