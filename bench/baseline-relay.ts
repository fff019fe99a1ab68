// The bare baseline: a minimal `ws` relay with no rules and no store, speaking just enough of pchat's
// WebSocket protocol (auth, join, post, ping) for the same load generator and SDK to drive it. A post is
// serialized once into a Buffer and broadcast to every socket in the room, then acknowledged.
//
//   node --import tsx bench/baseline-relay.ts --mode grouped|per-message [--port 0]
//
// per-message: one ws.send per socket per message.
// grouped:     the sends of one event-loop turn are grouped per socket (socket.cork, sends, uncork on
//              setImmediate) — the same technique as src/transports/http/ws.ts.
import type { Socket } from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

export type RelayMode = 'grouped' | 'per-message';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Peer {
  ws: WebSocket;
  sock: Socket | undefined;
  corked: boolean;
}

export function startRelay(mode: RelayMode, port: number): Promise<{ port: number; close(): void }> {
  const rooms = new Map<string, Set<Peer>>();
  const toUncork = new Set<Peer>();
  let uncorkScheduled = false;
  let seq = 0;

  const flushCorks = () => {
    uncorkScheduled = false;
    for (const p of toUncork) {
      p.corked = false;
      p.sock?.uncork();
    }
    toUncork.clear();
  };

  const send = (p: Peer, buf: Buffer) => {
    if (p.ws.readyState !== WebSocket.OPEN) return;
    if (mode === 'grouped' && !p.corked && p.sock) {
      p.sock.cork();
      p.corked = true;
      toUncork.add(p);
      if (!uncorkScheduled) {
        uncorkScheduled = true;
        setImmediate(flushCorks);
      }
    }
    p.ws.send(buf, { binary: false });
  };

  const reply = (p: Peer, v: Record<string, unknown>) => send(p, Buffer.from(JSON.stringify(v)));

  const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, clientTracking: false });
  wss.on('connection', (ws) => {
    const peer: Peer = { ws, sock: (ws as unknown as { _socket?: Socket })._socket, corked: false };
    const joined = new Set<string>();
    ws.on('message', (data: RawData) => {
      let f: Record<string, unknown>;
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      const id = f.id ?? null;
      switch (f.type) {
        case 'auth':
          reply(peer, { user: 'sip:bench@baseline', displayName: 'bench', id, type: 'result', ok: true });
          return;
        case 'ping':
          reply(peer, { pong: Date.now(), id, type: 'result', ok: true });
          return;
        case 'join': {
          const list = Array.isArray(f.rooms) ? (f.rooms as string[]) : [String(f.room)];
          for (const r of list) {
            let set = rooms.get(r);
            if (!set) {
              set = new Set();
              rooms.set(r, set);
            }
            set.add(peer);
            joined.add(r);
          }
          const results = list.map((r) => ({
            ok: true,
            joined: { room: { id: r }, history: [], roster: null, large: true },
          }));
          reply(peer, { results, id, type: 'result', ok: true });
          return;
        }
        case 'part': {
          const r = String(f.room);
          rooms.get(r)?.delete(peer);
          joined.delete(r);
          reply(peer, { id, type: 'result', ok: true });
          return;
        }
        case 'post': {
          const roomId = String(f.room);
          const message = {
            id: ++seq,
            roomId,
            author: 'sip:bench@baseline',
            authorName: 'bench',
            ts: Date.now(),
            kind: 'regular',
            text: String(f.text),
            title: null,
            rich: null,
            file: null,
            links: [],
          };
          // serialized once, written to every socket in the room
          const frame = Buffer.from(JSON.stringify({ type: 'event', event: { type: 'message', message } }));
          for (const p of rooms.get(roomId) ?? []) send(p, frame);
          reply(peer, { message, id, type: 'result', ok: true });
          return;
        }
        default:
          reply(peer, { id, type: 'error', code: 'UNKNOWN_TYPE', message: 'baseline relay' });
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      toUncork.delete(peer);
      for (const r of joined) rooms.get(r)?.delete(peer);
    });
  });
  return new Promise((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () => {
      const addr = wss.address();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : port, close: () => wss.close() });
    });
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const mode = (flag('mode') ?? 'grouped') as RelayMode;
  if (mode !== 'grouped' && mode !== 'per-message') {
    process.stderr.write('--mode grouped|per-message\n');
    process.exit(2);
  }
  startRelay(mode, Number(flag('port') ?? 0)).then(
    (r) => {
      process.stdout.write(`baseline listening http://127.0.0.1:${r.port} ${mode}\n`);
      const stop = () => {
        r.close();
        process.exit(0);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (e) => {
      process.stderr.write(`baseline: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
