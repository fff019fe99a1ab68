// Specification of an XCCOS dialog's ordering and failure handling, over a scripted chat service in process
// (no store: every answer is what the script says, so timing is exact): which chat events become which
// notices, that events wait while envelopes are being handled and then go out one per envelope, what close and
// the server's end of the session do, the INFO status of a failed grpchat, and what is logged.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatService } from '../../src/chat/chat-service.js';
import type { ChatEvent, EventSink, JoinOutcome, MessageView, Session } from '../../src/chat/types.js';
import { type ErrorCode, PchatError } from '../../src/core/errors.js';
import type { Logger } from '../../src/observability/log.js';
import { removalNotice, XccosSession } from '../../src/transports/xccos/xccos-session.js';

const DOMAIN = 'contoso.com';
const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const SERVER = `sip:chatserver@${DOMAIN}`;
const ROOM = 'r1';
const ROOM_URI = `ma-chan://${DOMAIN}/${ROOM}`;
const cmd = (name: string, data = '', seqid = 1) => `<cmd id="cmd:${name}" seqid="${seqid}"><data>${data}</data></cmd>`;
const joinCmd = (...ids: string[]) =>
  cmd('join', ids.map((id) => `<chanib uri="ma-chan://${DOMAIN}/${id}"/>`).join(''));
const grpchat = (text: string, room = ROOM_URI) =>
  `<grpchat id="grpchat" seqid="1" chanUri="${room}"><chat>${text}</chat></grpchat>`;

const view = (id: string, extra: Partial<{ manager: boolean; description: string }> = {}) => ({
  id,
  name: `Room ${id}`,
  description: extra.description ?? '',
  manager: extra.manager ?? false,
  participants: 1,
  privacy: 'open',
  fileUpload: true,
  invitations: true,
  chatHistory: true,
});
const message = (text: string, id = 1): MessageView =>
  ({
    id,
    roomId: ROOM,
    author: BOB,
    ts: Date.UTC(2024, 0, 2, 3, 4, 5),
    kind: 'regular',
    text,
    rich: null,
    file: null,
    title: null,
  }) as MessageView;

/** A chat service whose answers the test scripts; it records the calls the dialog makes. */
class ScriptedChat {
  sinks: EventSink[] = [];
  opened: { user: string; door: string }[] = [];
  closedSessions: Session[] = [];
  posts: { roomId: string; text: string }[] = [];
  /** Runs inside join, before it resolves: events emitted here arrive while the envelope is in flight. */
  duringJoin: (sink: EventSink) => void = () => {};
  roster: { uri: string; displayName: string }[] | null = [{ uri: ALICE, displayName: 'Alice' }];
  postFails: unknown = undefined;
  closeFails = false;
  serverInfoFails: unknown = undefined;

  get sink(): EventSink {
    const s = this.sinks.at(-1);
    assert.ok(s, 'a chat session was opened');
    return s;
  }
  openSession(user: string, sink: EventSink, door: string): Session {
    this.sinks.push(sink);
    this.opened.push({ user, door });
    return { id: `s${this.opened.length}`, user, displayName: user, transport: door, rooms: new Set<string>() };
  }
  closeSession(s: Session): void {
    this.closedSessions.push(s);
    if (this.closeFails) throw new Error('bus gone');
  }
  async join(_s: Session, ids: string[]): Promise<JoinOutcome[]> {
    await Promise.resolve();
    this.duringJoin(this.sink);
    return ids.map((id) =>
      id.startsWith('bad')
        ? { ok: false, roomId: id, code: 'NOT_A_MEMBER', message: 'Only members of this room may do this.' }
        : {
            ok: true,
            joined: { room: view(id) as never, history: [], roster: this.roster, large: this.roster === null },
          },
    );
  }
  async part(): Promise<void> {}
  async post(_s: Session, roomId: string, input: { text: string }): Promise<void> {
    await Promise.resolve();
    if (this.postFails !== undefined) throw this.postFails;
    this.posts.push({ roomId, text: input.text });
  }
  serverInfo() {
    if (this.serverInfoFails !== undefined) throw this.serverInfoFails;
    return {
      domain: DOMAIN,
      serverTime: 0,
      version: '1.0.0',
      config: { searchLimit: 10, messageSizeLimit: 100, storySizeLimit: 1000, defaultChatHistory: 3 },
    };
  }
}

interface Logged {
  level: 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown> | undefined;
}

const setup = (opts: { onEnded?: (reason: string) => void; sendThrows?: () => boolean } = {}) => {
  const chat = new ScriptedChat();
  const sent: string[] = [];
  const logged: Logged[] = [];
  const log = {
    debug() {},
    info() {},
    warn: (msg: string, fields?: Record<string, unknown>) => logged.push({ level: 'warn', msg, fields }),
    error: (msg: string, fields?: Record<string, unknown>) => logged.push({ level: 'error', msg, fields }),
    child() {
      return log;
    },
  } as unknown as Logger;
  let onSend: (e: string) => void = () => {};
  const x = new XccosSession({
    chat: chat as unknown as ChatService,
    user: ALICE,
    domain: DOMAIN,
    chatServerUri: SERVER,
    send: (e) => {
      if (opts.sendThrows?.()) throw new Error('socket gone');
      sent.push(e);
      onSend(e);
    },
    log,
    ...(opts.onEnded ? { onEnded: opts.onEnded } : {}),
  });
  let envid = 1;
  const info = (inner: string) =>
    new Promise<{ status: number; reason?: string }>((resolve) =>
      x.handleInfo(Buffer.from(`<xccos ver="1" envid="${envid++}">${inner}</xccos>`), (status, reason) =>
        resolve(reason === undefined ? { status } : { status, reason }),
      ),
    );
  const idle = async () => {
    // resolves once every envelope received so far is handled: a grpchat envelope is answered only after it is
    // handled, and this one (no room) posts nothing and sends no reply
    await new Promise<void>((r) =>
      x.handleInfo(
        Buffer.from('<xccos ver="1" envid="0"><grpchat id="grpchat" seqid="1"><chat>-</chat></grpchat></xccos>'),
        () => r(),
      ),
    );
    await new Promise((r) => setImmediate(r));
  };

  /** What each sent envelope carries first: rpl:join, ntc:part, grpchat:text… */
  const kinds = () =>
    sent.map((e) => {
      const m = e.match(/<(rpl|ntc) id="([^"]+)"|<grpchat [^>]*><chat>([^<]*)</);
      return m?.[2] ?? `grpchat:${m?.[3]}`;
    });
  return { chat, x, sent, logged, info, idle, kinds, setOnSend: (f: (e: string) => void) => (onSend = f) };
};

describe('XCCOS dialog: chat events to the client', () => {
  const notices: { name: string; event: () => ChatEvent; want: RegExp | null }[] = [
    {
      name: 'a message becomes a grpchat with CRLF line ends',
      event: () => ({ type: 'message', message: message('one\ntwo') }),
      want: /^<xccos [^>]*><grpchat id="grpchat"[^>]*chanUri="ma-chan:\/\/contoso\.com\/r1"[^>]*author="sip:bob@contoso\.com"[^>]*><chat>one&#13;\ntwo<\/chat><\/grpchat><\/xccos>$/,
    },
    {
      name: 'another user’s join becomes ntc:join with the room’s domain and id',
      event: () => ({ type: 'join', roomId: ROOM, user: BOB, displayName: 'Bob' }),
      want: /<ntc id="ntc:join"[\s\S]*<uib uri="sip:bob@contoso\.com"><aib key="3984" domain="contoso\.com" value="r1"\/><\/uib>/,
    },
    {
      name: 'another user’s part becomes ntc:part of that user',
      event: () => ({ type: 'part', roomId: ROOM, user: BOB }),
      want: /<ntc id="ntc:part"[\s\S]*<chanib uri="ma-chan:\/\/contoso\.com\/r1"><uib uri="sip:bob@contoso\.com"\/><\/chanib>/,
    },
    {
      name: 'being removed from a room becomes ntc:part of the dialog’s own user',
      event: () => ({ type: 'removed', roomId: ROOM, code: 'NOT_A_MEMBER', message: 'gone' }),
      want: /<ntc id="ntc:part"[\s\S]*<chanib uri="ma-chan:\/\/contoso\.com\/r1"><uib uri="sip:alice@contoso\.com"\/><\/chanib>/,
    },
    {
      name: 'one message removed becomes a grpchat by the server saying so',
      event: () => ({ type: 'message.removed', roomId: ROOM, ids: [4] }),
      want: new RegExp(
        `<grpchat id="grpchat"[^>]*chanUri="${ROOM_URI}"[^>]*author="${SERVER}"[^>]*><chat>A message in this room was removed by the Persistent Chat administrator\\.</chat>`,
      ),
    },
    {
      name: 'messages replaced become a grpchat by the server saying how many',
      event: () => ({ type: 'message.replaced', roomId: ROOM, ids: [4, 5, 6], text: 'x' }),
      want: new RegExp(
        `author="${SERVER}"[^>]*><chat>3 messages in this room were replaced by the Persistent Chat administrator\\.</chat>`,
      ),
    },
    {
      name: 'an invitation has no XCCOS notice',
      event: () =>
        ({ type: 'invitation', invitation: { id: '1', roomId: ROOM, roomName: 'R', inviter: BOB, ts: 0 } }) as never,
      want: null,
    },
    {
      name: 'a room update has no XCCOS notice',
      event: () => ({ type: 'room.updated', room: view(ROOM) }) as never,
      want: null,
    },
  ];
  for (const n of notices) {
    test(n.name, async () => {
      const d = setup();
      await d.info(joinCmd(ROOM));
      await d.idle();
      const mark = d.sent.length;
      d.chat.sink(n.event());
      const out = d.sent.slice(mark);
      if (n.want === null) assert.deepEqual(out, []);
      else {
        assert.equal(out.length, 1, 'sent at once, in an envelope of its own');
        assert.match(out[0] as string, n.want);
      }
      assert.deepEqual(d.logged, []);
    });
  }

  test('removalNotice: singular for one message, plural with the count otherwise', () => {
    const rows: { what: 'removed' | 'replaced'; count: number; want: string }[] = [
      { what: 'removed', count: 1, want: 'A message in this room was removed by the Persistent Chat administrator.' },
      { what: 'replaced', count: 1, want: 'A message in this room was replaced by the Persistent Chat administrator.' },
      { what: 'removed', count: 2, want: '2 messages in this room were removed by the Persistent Chat administrator.' },
      {
        what: 'replaced',
        count: 0,
        want: '0 messages in this room were replaced by the Persistent Chat administrator.',
      },
    ];
    for (const r of rows) assert.equal(removalNotice(r.what, r.count), r.want);
  });

  test('an event that cannot be encoded is logged and skipped', async () => {
    const d = setup();
    await d.info(joinCmd(ROOM));
    await d.idle();
    const mark = d.sent.length;
    d.chat.sink({ type: 'message', message: { ...message('x'), ts: Number.NaN } });
    assert.deepEqual(d.sent.slice(mark), []);
    assert.equal(d.logged.length, 1);
    assert.equal(d.logged[0]?.level, 'warn');
    assert.equal(d.logged[0]?.msg, 'xccos event not encodable');
    assert.equal(d.logged[0]?.fields?.type, 'message');
    assert.ok(d.logged[0]?.fields?.err instanceof Error);
  });
});

describe('XCCOS dialog: ordering of replies and events', () => {
  test('events during an envelope wait for its replies, then go out one per envelope, in order', async () => {
    const d = setup();
    d.chat.duringJoin = (sink) => {
      sink({ type: 'message', message: message('early') });
      sink({ type: 'join', roomId: ROOM, user: BOB, displayName: 'Bob' });
    };
    await d.info(joinCmd(ROOM));
    await d.idle();
    assert.deepEqual(d.kinds(), ['rpl:join', 'grpchat:early', 'ntc:join']);
    // a second round: nothing left over from the first
    d.chat.duringJoin = (sink) => sink({ type: 'message', message: message('again') });
    await d.info(joinCmd('r2'));
    await d.idle();
    assert.deepEqual(d.kinds(), ['rpl:join', 'grpchat:early', 'ntc:join', 'rpl:join', 'grpchat:again']);
    for (const e of d.sent) assert.equal((e.match(/<(rpl|ntc|grpchat) /g) ?? []).length, 1, 'one item per envelope');
  });

  test('events wait until every envelope received so far is handled, not only the one being handled', async () => {
    const d = setup();
    d.chat.duringJoin = (sink) => sink({ type: 'message', message: message('held') });
    const first = d.info(joinCmd(ROOM));
    const second = d.info(cmd('requri'));
    await Promise.all([first, second]);
    await d.idle();
    assert.deepEqual(d.kinds(), ['rpl:join', 'rpl:requri', 'grpchat:held']);
  });

  test('close drops held events, and a dialog closed while held events go out sends no more', async () => {
    const d = setup();
    d.chat.duringJoin = (sink) => {
      sink({ type: 'message', message: message('one') });
      sink({ type: 'message', message: message('two') });
    };
    d.setOnSend((e) => {
      if (e.includes('>one<')) d.x.close();
    });
    await d.info(joinCmd(ROOM));
    await d.idle();
    assert.deepEqual(d.kinds(), ['rpl:join', 'grpchat:one']);
    // events reaching a closed dialog are dropped
    d.chat.sink({ type: 'message', message: message('late') });
    assert.deepEqual(d.kinds(), ['rpl:join', 'grpchat:one']);
  });

  test('a dialog closed while handling an envelope handles none of its later items and sends no reply', async () => {
    const d = setup();
    d.chat.duringJoin = () => d.x.close();
    const res = await d.info(`${joinCmd(ROOM)}${grpchat('after close')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(d.sent, []);
    assert.deepEqual(d.chat.posts, []);
  });

  test('an idle dialog sends an event at once', async () => {
    const d = setup();
    await d.info(joinCmd(ROOM));
    await d.idle();
    d.chat.sink({ type: 'part', roomId: ROOM, user: BOB });
    assert.deepEqual(d.kinds(), ['rpl:join', 'ntc:part']);
  });
});

describe('XCCOS dialog: the chat session', () => {
  test('is opened as the dialog’s user on the xccos door only when needed, and closed once on close', async () => {
    const d = setup();
    await d.info(cmd('requri'));
    await d.idle();
    assert.deepEqual(d.chat.opened, []);
    d.x.close();
    assert.deepEqual(d.chat.closedSessions, [], 'no session, nothing to close');
    const e = setup();
    await e.info(joinCmd(ROOM));
    await e.idle();
    assert.deepEqual(e.chat.opened, [{ user: ALICE, door: 'xccos' }]);
    e.x.close();
    e.x.close();
    assert.equal(e.chat.closedSessions.length, 1);
    assert.equal(e.x.chatSession, undefined);
  });

  test('a failure to close the chat session is logged and the dialog is closed anyway', async () => {
    const d = setup();
    await d.info(joinCmd(ROOM));
    await d.idle();
    d.chat.closeFails = true;
    d.x.close();
    assert.equal(d.x.isClosed, true);
    assert.equal(d.x.chatSession, undefined);
    assert.deepEqual(
      d.logged.map((l) => [l.level, l.msg, l.fields?.err instanceof Error]),
      [['warn', 'xccos close failed', true]],
    );
  });

  test('the server ending the session calls onEnded with its reason, and the next command opens a new one', async () => {
    const reasons: string[] = [];
    const d = setup({ onEnded: (r) => reasons.push(r) });
    await d.info(joinCmd(ROOM));
    await d.idle();
    const mark = d.sent.length;
    d.chat.sink({ type: 'ended', code: 'TOKEN_INVALID', message: 'password changed' });
    assert.deepEqual(reasons, ['password changed']);
    assert.equal(d.x.chatSession, undefined);
    assert.deepEqual(d.sent.slice(mark), [], 'no notice for the end');
    await d.info(joinCmd(ROOM));
    await d.idle();
    assert.equal(d.chat.opened.length, 2);
  });

  test('the end of the session without an onEnded handler is no error', async () => {
    const d = setup();
    await d.info(joinCmd(ROOM));
    await d.idle();
    assert.doesNotThrow(() => d.chat.sink({ type: 'ended', code: 'TOKEN_INVALID', message: 'revoked' }));
    assert.equal(d.x.chatSession, undefined);
  });
});

describe('XCCOS dialog: replies and failures', () => {
  test('rpl:join of a large room (no roster) shows the user alone; joined rooms and refusals each get an rpl', async () => {
    const d = setup();
    d.chat.roster = null;
    await d.info(joinCmd(ROOM, 'bad1'));
    await d.idle();
    assert.equal(d.sent.length, 1, 'the replies share one envelope');
    const [reply] = d.sent;
    assert.match(
      (reply as string).replace(/<rpl [\s\S]*?<\/rpl>/g, ''),
      /^<xccos [^>]*><\/xccos>$/,
      'nothing but rpls',
    );
    assert.deepEqual(
      reply?.match(/<rpl id="[^"]+"[\s\S]*?<resp code="\d+"/g)?.map((r) => r.match(/code="(\d+)"/)?.[1]),
      ['200', '403'],
    );
    assert.match(reply as string, /<uib id="0" uri="sip:alice@contoso\.com"\/>/);
    assert.match(reply as string, /<aib key="3984" value="0"\/>/);
    assert.match(reply as string, /Only members of this room may do this\. \(ma-chan:\/\/contoso\.com\/bad1\)/);
  });

  // Every command gets an rpl: a bjoin of no rooms (a client that remembers none) succeeds with nothing joined,
  // while a join must name a room.
  const emptyJoins: { name: string; command: string; want: RegExp }[] = [
    {
      name: 'a bjoin naming no room is answered with a success that joins nothing',
      command: 'bjoin',
      want: /^<xccos [^>]*><rpl id="rpl:bjoin" seqid="1"><commandid seqid="1" envid="1"\/><resp code="200">SUCCESS_OK<\/resp><data\/?>(<\/data>)?<\/rpl><\/xccos>$/,
    },
    {
      name: 'a join naming no room is refused in its rpl',
      command: 'join',
      want: /^<xccos [^>]*><rpl id="rpl:join" seqid="1"><commandid seqid="1" envid="1"\/><resp code="400">/,
    },
  ];
  for (const j of emptyJoins) {
    test(j.name, async () => {
      const d = setup();
      assert.deepEqual(await d.info(cmd(j.command)), { status: 200 });
      await d.idle();
      assert.equal(d.sent.length, 1, 'one reply');
      assert.match(d.sent[0] as string, j.want);
      assert.deepEqual(d.x.chatSession?.rooms.size ?? 0, 0);
    });
  }

  test('a command that fails is answered in its rpl, echoing the command’s id, seqid and envid', async () => {
    const d = setup();
    await d.info(cmd('frobnicate', '', 4));
    await d.idle();
    assert.equal(d.sent.length, 1);
    assert.match(
      d.sent[0] as string,
      /<rpl id="rpl:frobnicate" seqid="4"><commandid seqid="4" envid="1"\/><resp code="400">/,
    );
  });

  test('a part of a room under another domain is a 404 naming the room', async () => {
    const d = setup();
    await d.info(cmd('part', '<chanib uri="ma-chan://fabrikam.com/r1"/>'));
    await d.idle();
    assert.match(d.sent[0] as string, /<resp code="404">room: ma-chan:\/\/fabrikam\.com\/r1 does not exist<\/resp>/);
  });

  test('setpref without content is refused naming the pref', async () => {
    const d = setup();
    await d.info(cmd('setpref', '<pref label="colours" seqid="1"/>'));
    await d.idle();
    assert.match(d.sent[0] as string, /<resp code="400">content: pref colours has no content<\/resp>/);
  });

  test('an internal failure of a command is a 500 in its rpl and is logged; a refusal is not logged', async () => {
    const d = setup();
    d.chat.serverInfoFails = new Error('disk on fire');
    await d.info(cmd('getserverinfo'));
    await d.idle();
    assert.match(d.sent[0] as string, /<rpl id="rpl:getservinfo"[\s\S]*<resp code="500">/);
    assert.deepEqual(
      d.logged.map((l) => [l.level, l.msg, l.fields?.command, l.fields?.err instanceof Error]),
      [['error', 'xccos command failed', 'cmd:getserverinfo', true]],
    );
    d.chat.serverInfoFails = new PchatError('NOT_ADMIN', 'no');
    await d.info(cmd('getserverinfo'));
    await d.idle();
    assert.match(d.sent[1] as string, /<resp code="403">no<\/resp>/);
    assert.equal(d.logged.length, 1, 'refusals are not logged');
  });

  test('a grpchat’s text is posted with CRLF and lone CR turned into LF', async () => {
    const d = setup();
    assert.deepEqual(await d.info(grpchat('a&#13;\nb&#13;c')), { status: 200 });
    assert.deepEqual(d.chat.posts, [{ roomId: ROOM, text: 'a\nb\nc' }]);
  });

  // SIPE shows "not delivered" for any non-200; 401 would make it re-authenticate, so it is sent as 403.
  const failures: { code: ErrorCode; status: number }[] = [
    { code: 'TOKEN_INVALID', status: 403 },
    { code: 'AUTH_REQUIRED', status: 403 },
    { code: 'AUTH_FAILED', status: 403 },
    { code: 'NOT_A_MEMBER', status: 403 },
    { code: 'ROOM_NOT_FOUND', status: 404 },
    { code: 'NOT_JOINED', status: 409 },
    { code: 'MESSAGE_TOO_LARGE', status: 413 },
    { code: 'RATE_LIMITED', status: 503 },
  ];
  for (const f of failures) {
    test(`a grpchat refused with ${f.code} is answered ${f.status}, with the refusal as reason`, async () => {
      const d = setup();
      d.chat.postFails = new PchatError(f.code, `refused: ${f.code}`);
      assert.deepEqual(await d.info(grpchat('hi')), { status: f.status, reason: `refused: ${f.code}` });
      assert.deepEqual(d.logged, []);
    });
  }

  test('the INFO reason of a failed grpchat is the first 100 characters of the refusal; the first failure decides', async () => {
    const d = setup();
    d.chat.postFails = new PchatError('NOT_A_MEMBER', 'x'.repeat(150));
    const res = await d.info(`${grpchat('one')}${grpchat('two', 'ma-chan://fabrikam.com/r1')}`);
    assert.deepEqual(res, { status: 403, reason: 'x'.repeat(100) });
  });

  test('a grpchat that cannot be decoded is a 400 whose reason is at most 100 characters', async () => {
    const d = setup();
    const res = await d.info(`<grpchat id="grpchat" seqid="1" chanUri="${'x'.repeat(300)}"><chat>hi</chat></grpchat>`);
    assert.equal(res.status, 400);
    assert.ok(res.reason && res.reason.length > 0 && res.reason.length <= 100, `reason ${res.reason}`);
  });

  test('an internal failure of a post is a 500 and is logged', async () => {
    const d = setup();
    d.chat.postFails = new Error('db down');
    assert.equal((await d.info(grpchat('hi'))).status, 500);
    assert.deepEqual(
      d.logged.map((l) => [l.level, l.msg, l.fields?.err instanceof Error]),
      [['error', 'xccos post failed', true]],
    );
  });

  test('a reply that cannot be sent is logged with the user, and the dialog goes on with the next envelope', async () => {
    let fail = true;
    const d = setup({ sendThrows: () => fail });
    await d.info(cmd('requri'));
    await d.idle();
    assert.deepEqual(
      d.logged.map((l) => [l.level, l.msg, l.fields?.user, l.fields?.err instanceof Error]),
      [['error', 'xccos envelope failed', ALICE, true]],
    );
    fail = false;
    await d.info(cmd('requri'));
    await d.idle();
    assert.deepEqual(d.kinds(), ['rpl:requri']);
  });

  test('commands answered normally log nothing', async () => {
    const d = setup();
    for (const c of ['requri', 'getserverinfo', 'nodespermcreatechild']) await d.info(cmd(c));
    await d.idle();
    assert.equal(d.sent.length, 3);
    assert.deepEqual(d.logged, []);
  });
});
