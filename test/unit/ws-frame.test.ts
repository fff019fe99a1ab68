// The fan-out's shared wire frame (transports/http/ws.ts textFrame/eventFrame): byte for byte what `ws` itself
// sends for a text frame, at every length encoding, and read back whole by a real `ws` client.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import * as ws from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { ChatEvent } from '../../src/chat/types.js';
import { eventFrame, textFrame } from '../../src/transports/http/ws.js';

// ws exports its Sender class (the reference framing here), but @types/ws does not declare it
type FrameOptions = { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean };
const { Sender } = ws as typeof ws & { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

const wsFrame = (payload: Buffer) =>
  Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }));

// the three length encodings and their edges: 7 bits (≤ 125), 16 bits (126 … 65,535), 64 bits (≥ 65,536)
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];

test('textFrame is the frame ws would send, at every length encoding', () => {
  for (const n of LENGTHS) {
    const payload = Buffer.alloc(n, 0x61);
    assert.deepEqual(textFrame(payload), wsFrame(payload), `length ${n}`);
  }
});

test('eventFrame frames the event once, whoever receives it', () => {
  const e = { type: 'part', roomId: 'r1', user: 'sip:a@x' } as ChatEvent;
  const a = eventFrame(e);
  assert.equal(eventFrame(e), a, 'the same Buffer for the same event');
  assert.deepEqual(a, wsFrame(Buffer.from(JSON.stringify({ type: 'event', event: e }))));
});

test('a ws client reads frames written straight to the socket between frames ws sends itself', async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  const sizes = [3, 126, 70_000, 10];
  wss.on('connection', (ws) => {
    const sock = (ws as unknown as { _socket: Socket })._socket;
    sock.cork();
    for (const [i, n] of sizes.entries()) {
      const text = JSON.stringify({ i, pad: 'x'.repeat(n) });
      // alternate: one through ws, one pre-framed on the socket
      if (i % 2 === 0) ws.send(text);
      else sock.write(textFrame(Buffer.from(text)));
    }
    sock.uncork();
  });
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  client.on('error', () => {});
  const got: { i: number; pad: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    client.on('message', (data, isBinary) => {
      if (isBinary) reject(new Error('a text frame arrived as binary'));
      got.push(JSON.parse(String(data)));
      if (got.length === sizes.length) resolve();
    });
    client.on('close', () => reject(new Error('closed early')));
  });
  assert.deepEqual(
    got.map((g) => [g.i, g.pad.length]),
    sizes.map((n, i) => [i, n]),
  );
  client.close();
  wss.close();
  http.close();
});
