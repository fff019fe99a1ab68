// pchat test message — the original's Test-CsPersistentChatMessage, for operators' monitoring: two test
// users sign in to a running server through its JSON API, join a test room, one posts, the other must
// receive it. Each step's time is reported; any failure exits 1 with the step named.
import { randomUUID } from 'node:crypto';
import { PchatClient } from '../../client/client.js';
import type { PchatConnection } from '../../client/connection.js';
import { PchatApiError } from '../../client/errors.js';
import type { MessageView } from '../../client/types.js';
import { PchatError } from '../../core/errors.js';
import { optString, UsageError } from '../args.js';
import type { NounDef } from '../command.js';
import type { Row } from '../output.js';

interface Step {
  step: string;
  ms: number;
  ok: boolean;
  detail: string;
}

export const testNoun: NounDef = {
  name: 'test',
  summary: 'synthetic checks of a running server',
  verbs: {
    message: {
      summary: 'two test users sign in, join a test room, one posts and the other must receive it',
      noStore: true,
      options: [
        {
          name: 'url',
          kind: 'string',
          value: 'URL',
          description: 'the server, e.g. http://chat.contoso.com:8080 (required)',
        },
        { name: 'sender', kind: 'string', value: 'URI', description: 'the posting test user (required)' },
        { name: 'receiver', kind: 'string', value: 'URI', description: 'the receiving test user (required)' },
        { name: 'room', kind: 'string', value: 'ROOM', description: 'the test room, name or id (required)' },
        {
          name: 'sender-password',
          kind: 'string',
          value: 'PW',
          description: 'default env PCHAT_TEST_SENDER_PASSWORD (keeps it out of the process list)',
        },
        {
          name: 'receiver-password',
          kind: 'string',
          value: 'PW',
          description: 'default env PCHAT_TEST_RECEIVER_PASSWORD',
        },
        { name: 'timeout', kind: 'string', value: 'MS', description: 'how long each step may take (default 10000)' },
      ],
      replaces: 'Test-CsPersistentChatMessage',
      example:
        'PCHAT_TEST_SENDER_PASSWORD=… PCHAT_TEST_RECEIVER_PASSWORD=… pchat test message --url http://127.0.0.1:8080 --sender sip:probe1@contoso.com --receiver sip:probe2@contoso.com --room Probe',
      async run(ctx) {
        const o = ctx.opts;
        const need = (name: string) => {
          const v = optString(o, name);
          if (v === undefined || v === '') throw new UsageError(`give --${name}`, ctx.command);
          return v;
        };
        const url = need('url');
        const sender = need('sender');
        const receiver = need('receiver');
        const roomKey = need('room');
        const senderPw = optString(o, 'sender-password') ?? process.env.PCHAT_TEST_SENDER_PASSWORD;
        const receiverPw = optString(o, 'receiver-password') ?? process.env.PCHAT_TEST_RECEIVER_PASSWORD;
        if (!senderPw || !receiverPw)
          throw new UsageError('give both passwords (options or PCHAT_TEST_*_PASSWORD)', ctx.command);
        const timeoutMs = Number(optString(o, 'timeout') ?? 10_000);
        if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
          throw new UsageError('--timeout is a whole number of milliseconds', ctx.command);

        const steps: Step[] = [];
        const conns: PchatConnection[] = [];
        const step = async <T>(name: string, fn: () => Promise<T>, detail: (v: T) => string = () => ''): Promise<T> => {
          const t0 = performance.now();
          let timer: NodeJS.Timeout | undefined;
          try {
            const v = await Promise.race([
              fn(),
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
              }),
            ]);
            steps.push({ step: name, ms: Math.round(performance.now() - t0), ok: true, detail: detail(v) });
            return v;
          } catch (e) {
            const why = e instanceof PchatApiError ? `${e.code}: ${e.message}` : (e as Error).message;
            steps.push({ step: name, ms: Math.round(performance.now() - t0), ok: false, detail: why });
            throw new PchatError('TEST_FAILED', `${name}: ${why}`);
          } finally {
            clearTimeout(timer);
          }
        };
        let failure: unknown;
        try {
          const a = new PchatClient(url);
          const b = new PchatClient(url);
          await step(
            'sign in sender',
            () => a.signIn(sender, senderPw),
            () => sender,
          );
          await step(
            'sign in receiver',
            () => b.signIn(receiver, receiverPw),
            () => receiver,
          );
          const room = await step(
            'find room',
            async () => {
              const direct = await a.room(roomKey).catch(() => undefined);
              if (direct) return direct;
              const found = (await a.rooms({ q: roomKey })).find((r) => r.name === roomKey);
              if (!found) throw new PchatApiError('ROOM_NOT_FOUND', `no room "${roomKey}" the sender can see`);
              return found;
            },
            (r) => r.id,
          );
          const ca = await step('connect sender', () => a.connect({ reconnect: false }));
          conns.push(ca);
          const cb = await step('connect receiver', () => b.connect({ reconnect: false }));
          conns.push(cb);
          const join = async (c: PchatConnection) => {
            const [r] = await c.join(room.id);
            if (!r?.ok) throw new PchatApiError(r?.code ?? 'INTERNAL', r?.message ?? 'join failed');
          };
          await step('join sender', () => join(ca));
          await step('join receiver', () => join(cb));
          const text = `pchat test message ${randomUUID()}`;
          let resolveReceived!: (m: MessageView) => void;
          const received = new Promise<MessageView>((r) => {
            resolveReceived = r;
          });
          cb.on('message', (m) => {
            if (m.roomId === room.id && m.text === text) resolveReceived(m);
          });
          const t0 = performance.now();
          const posted = await step(
            'post',
            () => ca.post(room.id, { text }),
            (m) => `message ${m.id}`,
          );
          await step(
            'receive',
            () => received,
            (m) => `message ${m.id}`,
          );
          steps.push({
            step: 'end to end',
            ms: Math.round(performance.now() - t0),
            ok: true,
            detail: `message ${posted.id}`,
          });
        } catch (e) {
          failure = e;
        } finally {
          for (const c of conns) await c.close().catch(() => {});
        }
        ctx.out.table(steps as unknown as Row[], [
          { key: 'step', label: 'step' },
          { key: 'ok', label: 'ok' },
          { key: 'ms', label: 'ms' },
          { key: 'detail', label: 'detail' },
        ]);
        if (failure) throw failure;
      },
    },
  },
};
