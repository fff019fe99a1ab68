// pchat config get|set — the pool's chat configuration (Lync: CsPersistentChatConfiguration).
import type { ChatConfig } from '../../core/model.js';
import { type OptSpec, optInt, optString } from '../args.js';
import type { NounDef } from '../command.js';
import type { Row } from '../output.js';

const INT_SETTINGS: { flag: string; key: Exclude<keyof ChatConfig, 'roomManagementUrl'>; description: string }[] = [
  { flag: 'default-chat-history', key: 'defaultChatHistory', description: 'messages sent on join, 1-500 (30)' },
  { flag: 'max-file-size-kb', key: 'maxFileSizeKB', description: 'largest file that may be posted, in KB (20000)' },
  {
    flag: 'participant-update-limit',
    key: 'participantUpdateLimit',
    description: 'roster updates stop above this many participants (75)',
  },
  { flag: 'message-size-limit', key: 'messageSizeLimit', description: 'longest message, in characters (8000)' },
  { flag: 'story-size-limit', key: 'storySizeLimit', description: 'longest story, in characters (64000)' },
  { flag: 'search-limit', key: 'searchLimit', description: 'most results a search returns (999)' },
];

const SET_OPTIONS: OptSpec[] = [
  ...INT_SETTINGS.map((s): OptSpec => ({ name: s.flag, kind: 'string', value: 'N', description: s.description })),
  {
    name: 'room-management-url',
    kind: 'string',
    value: 'URL',
    description: 'web page where users manage rooms ("" clears it)',
  },
];

export const configNoun: NounDef = {
  name: 'config',
  summary: 'chat configuration of the pool',
  verbs: {
    get: {
      summary: 'show the configuration',
      options: [],
      replaces: 'Get-CsPersistentChatConfiguration',
      example: 'pchat config get --json',
      async run(ctx) {
        ctx.out.record((await (await ctx.admin()).getConfig()) as unknown as Row);
      },
    },
    set: {
      summary: 'change configuration settings (only those given)',
      options: SET_OPTIONS,
      replaces: 'Set-CsPersistentChatConfiguration',
      example: 'pchat config set --default-chat-history 50 --room-management-url https://chat.contoso.com/rooms',
      async run(ctx) {
        const input: Partial<ChatConfig> = {};
        for (const s of INT_SETTINGS) {
          const v = optInt(ctx.opts, s.flag, s.key);
          if (v !== undefined) input[s.key] = v;
        }
        const url = optString(ctx.opts, 'room-management-url');
        if (url !== undefined) input.roomManagementUrl = url.trim() === '' ? null : url.trim();
        ctx.out.record((await (await ctx.admin()).setConfig(input)) as unknown as Row);
      },
    },
  },
};
