import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { createResponse, type SipMessage } from '../../src/transports/sip/codec.js';
import {
  type CloseReason,
  type SipConnection,
  type SipListener,
  startSipListener,
} from '../../src/transports/sip/transport.js';

const OPTIONS = (callId: string) =>
  `OPTIONS sip:pchat@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/tcp 127.0.0.1:5000\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:pchat@example.com>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

/** Collects everything the server writes until it closes (or the timeout passes). */
function exchange(
  port: number,
  send: string[],
  opts: { waitFor?: RegExp; timeoutMs?: number } = {},
): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closed });
    };
    const timer = setTimeout(done, opts.timeoutMs ?? 1000);
    socket.on('connect', () => {
      for (const part of send) socket.write(part);
    });
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (opts.waitFor?.test(data)) done();
    });
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('error', reject);
  });
}

describe('SipConnection over TCP', () => {
  let listener: SipListener;
  const received: SipMessage[] = [];
  const closes: CloseReason[] = [];

  before(async () => {
    listener = await startSipListener({ host: '127.0.0.1', port: 0 }, (conn: SipConnection) => {
      assert.equal(conn.transport, 'tcp');
      conn.onClose((reason) => closes.push(reason));
      conn.onMessage((msg, c) => {
        received.push(msg);
        if (msg.kind === 'request') {
          if (msg.headers.get('call-id') === 'throw') throw new Error('handler bug');
          c.send(createResponse(msg, 200, { toTag: 'srv' }));
          if (msg.headers.get('call-id') === 'bye') c.close();
        }
      });
    });
  });

  after(async () => {
    await listener.close();
  });

  it('answers a request through the handler', async () => {
    const { data } = await exchange(listener.port, [OPTIONS('c1')], { waitFor: /\r\n\r\n$/ });
    assert.match(data, /^SIP\/2\.0 200 OK\r\n/);
    assert.match(data, /\r\nTo: <sip:pchat@example\.com>;tag=srv\r\n/);
    assert.match(data, /\r\nContent-Length: 0\r\n\r\n$/);
  });

  it('answers a CRLFCRLF ping with one CRLF and keeps going', async () => {
    const { data } = await exchange(listener.port, ['\r\n\r\n', OPTIONS('c2')], {
      waitFor: /Content-Length: 0\r\n\r\n$/,
    });
    assert.ok(data.startsWith('\r\nSIP/2.0 200 OK'), JSON.stringify(data.slice(0, 30)));
  });

  it('survives a throwing handler', async () => {
    const { data } = await exchange(listener.port, [OPTIONS('throw'), OPTIONS('after')], { waitFor: /after/ });
    assert.match(data, /Call-ID: after/);
  });

  it('answers 400 to a request with a bad Content-Length and closes', async () => {
    const bad = OPTIONS('c3').replace('Content-Length: 0', 'Content-Length: -5');
    const { data, closed } = await exchange(listener.port, [bad]);
    assert.match(data, /^SIP\/2\.0 400 Bad Request\r\n/);
    assert.match(data, /Call-ID: c3/);
    assert.equal(closed, true);
    assert.ok(closes.includes('framing-error'));
  });

  it('answers 413 to a body over the limit and closes', async () => {
    const big = OPTIONS('c4').replace('Content-Length: 0', 'Content-Length: 2000000');
    const { data, closed } = await exchange(listener.port, [big]);
    assert.match(data, /^SIP\/2\.0 413 /);
    assert.equal(closed, true);
  });

  it('closes without an answer when the garbage cannot be answered', async () => {
    const { data, closed } = await exchange(listener.port, ['GARBAGE\r\n\r\n']);
    assert.equal(data, '');
    assert.equal(closed, true);
  });

  it('close() flushes the last response first', async () => {
    const { data, closed } = await exchange(listener.port, [OPTIONS('bye')]);
    assert.match(data, /Call-ID: bye/);
    assert.equal(closed, true);
  });
});

describe('idle timeout and listener close', () => {
  it('closes an idle connection and reports it', async () => {
    let reason: Promise<CloseReason> | undefined;
    const listener = await startSipListener({ host: '127.0.0.1', port: 0, idleTimeoutMs: 100 }, (conn) => {
      reason = conn.whenClosed();
    });
    try {
      const { closed } = await exchange(listener.port, [], { timeoutMs: 2000 });
      assert.equal(closed, true);
      assert.equal(await reason, 'idle');
    } finally {
      await listener.close();
    }
  });

  it('listener.close() drops open connections', async () => {
    let conn: SipConnection | undefined;
    const listener = await startSipListener({ host: '127.0.0.1', port: 0 }, (c) => {
      conn = c;
    });
    const socket = net.connect(listener.port, '127.0.0.1');
    socket.on('error', () => {}); // the server's close may reach this socket as a reset
    await new Promise((r) => socket.once('connect', r));
    await new Promise((r) => setTimeout(r, 20));
    const closedByServer = new Promise((r) => socket.once('close', r));
    await listener.close();
    await closedByServer;
    assert.equal(conn?.isClosed, true);
  });
});

function makeCert(): { key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-sip-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SipConnection over TLS', () => {
  const creds = makeCert();
  it('answers a request over TLS', { skip: creds ? false : 'openssl not available' }, async () => {
    assert.ok(creds);
    const listener = await startSipListener({ host: '127.0.0.1', port: 0, tls: creds }, (conn) => {
      assert.equal(conn.transport, 'tls');
      conn.onMessage((msg, c) => {
        if (msg.kind === 'request') c.send(createResponse(msg, 200));
      });
    });
    try {
      const data = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ port: listener.port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
          socket.write(OPTIONS('tls1')),
        );
        let buf = '';
        socket.on('data', (d) => {
          buf += d.toString();
          if (buf.endsWith('\r\n\r\n')) {
            socket.destroy();
            resolve(buf);
          }
        });
        socket.on('error', reject);
        setTimeout(() => reject(new Error('timeout')), 3000).unref();
      });
      assert.match(data, /^SIP\/2\.0 200 OK\r\n[\s\S]*Call-ID: tls1/);
    } finally {
      await listener.close();
    }
  });
});
