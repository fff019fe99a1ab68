// SIP over a TCP or TLS stream: one SipConnection per socket (parse, write, keepalive pongs, close on framing
// errors) and a listener that hands each new connection to the caller. No dialogs, no chat: see the dialog layer.

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import {
  createResponse,
  type SipFramingError,
  type SipLimits,
  type SipMessage,
  SipStreamParser,
  serializeSipMessage,
} from './codec.js';

export type SipSocket = net.Socket | tls.TLSSocket;

export interface SipConnectionOptions {
  limits?: Partial<SipLimits>;
  /** Close the connection when nothing (not even a keepalive) arrives for this long. 0 = never. Default 0. */
  idleTimeoutMs?: number;
}

export type CloseReason = 'remote' | 'local' | 'framing-error' | 'socket-error' | 'idle';

/** One client connection. Handlers added before the first data event see every message. */
export class SipConnection {
  readonly id: string = randomUUID();
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly secure: boolean;
  /** The transport token for Via/Contact: `tcp` or `tls`. */
  readonly transport: 'tcp' | 'tls';

  private readonly parser: SipStreamParser;
  private readonly messageHandlers: ((msg: SipMessage, conn: SipConnection) => void)[] = [];
  private readonly closeHandlers: ((reason: CloseReason, conn: SipConnection) => void)[] = [];
  private closed = false;
  private closeReason: CloseReason = 'remote';
  /** Runs on every message just before it is written (the NTLM signer adds Authentication-Info here). */
  beforeSend: ((msg: SipMessage) => void) | undefined;

  constructor(
    private readonly socket: SipSocket,
    opts: SipConnectionOptions = {},
  ) {
    this.parser = new SipStreamParser(opts.limits);
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.secure = socket instanceof tls.TLSSocket;
    this.transport = this.secure ? 'tls' : 'tcp';
    socket.setNoDelay(true);
    if (opts.idleTimeoutMs) {
      socket.setTimeout(opts.idleTimeoutMs, () => this.destroy('idle'));
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy('socket-error'));
    socket.on('close', () => this.finish());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onMessage(handler: (msg: SipMessage, conn: SipConnection) => void): void {
    this.messageHandlers.push(handler);
  }

  onClose(handler: (reason: CloseReason, conn: SipConnection) => void): void {
    if (this.closed) handler(this.closeReason, this);
    else this.closeHandlers.push(handler);
  }

  /** Resolves once the connection is closed (at once when it already is). */
  whenClosed(): Promise<CloseReason> {
    return new Promise((resolve) => this.onClose((reason) => resolve(reason)));
  }

  /** Writes one message (Content-Length added). Returns false when the connection is closed or the write buffer is full. */
  send(msg: SipMessage): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.beforeSend?.(msg);
    return this.socket.write(serializeSipMessage(msg));
  }

  /** Ends the connection after pending writes flush. */
  close(): void {
    if (this.closed) return;
    this.closeReason = 'local';
    this.socket.end();
    // A peer that never closes its half must not keep the socket open for ever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Drops the connection at once, without waiting for pending writes. */
  abort(): void {
    this.destroy('local');
  }

  private destroy(reason: CloseReason): void {
    if (!this.closed) this.closeReason = reason;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    for (const event of this.parser.push(chunk)) {
      if (event.type === 'keepalive') {
        if (!this.socket.destroyed) this.socket.write('\r\n');
      } else if (event.type === 'error') {
        this.rejectAndClose(event.error);
        return;
      } else {
        for (const handler of this.messageHandlers) {
          try {
            handler(event.message, this);
          } catch {
            // A failing handler must not kill the connection's reader; handlers log their own errors.
          }
        }
        if (this.closed || this.socket.destroyed) return;
      }
    }
  }

  /** Answers 400/413 when the broken message was a request with enough headers to answer, then closes. */
  private rejectAndClose(error: SipFramingError): void {
    const partial = error.partial;
    if (partial?.kind === 'request' && partial.method !== 'ACK' && hasResponseHeaders(partial)) {
      const response = createResponse(partial, error.sipStatus);
      if (!this.socket.destroyed) this.socket.write(serializeSipMessage(response));
    }
    this.closeReason = 'framing-error';
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.closed = true;
    this.emitClose();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emitClose();
  }

  private emitClose(): void {
    for (const handler of this.closeHandlers) {
      try {
        handler(this.closeReason, this);
      } catch {
        // see onData
      }
    }
    this.closeHandlers.length = 0;
  }
}

function hasResponseHeaders(msg: SipMessage): boolean {
  const h = msg.headers;
  return h.has('via') && h.has('from') && h.has('to') && h.has('call-id') && h.has('cseq');
}

export interface SipListenerOptions extends SipConnectionOptions {
  host: string;
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Refuse connections above this many. Default 10 000. */
  maxConnections?: number;
}

export interface SipListener {
  /** The port actually bound. */
  readonly port: number;
  readonly host: string;
  /** Stops accepting, closes every open connection and resolves when the server is closed. */
  close(): Promise<void>;
}

/** Listens for SIP over TCP (or TLS when `tls` is given) and calls `onConnection` for each accepted socket. */
export async function startSipListener(
  opts: SipListenerOptions,
  onConnection: (conn: SipConnection) => void,
): Promise<SipListener> {
  const connections = new Set<SipConnection>();
  const accept = (socket: SipSocket): void => {
    const conn = new SipConnection(socket, opts);
    connections.add(conn);
    conn.onClose(() => connections.delete(conn));
    try {
      onConnection(conn);
    } catch {
      conn.close();
    }
  };
  const server: net.Server = opts.tls
    ? tls.createServer({ key: opts.tls.key, cert: opts.tls.cert }, accept)
    : net.createServer(accept);
  server.maxConnections = opts.maxConnections ?? 10_000;
  // TLS handshake failures and similar: the socket is dropped, the server keeps running.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    host: opts.host,
    close: async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      const open = [...connections];
      for (const conn of open) conn.abort();
      await Promise.all([serverClosed, ...open.map((conn) => conn.whenClosed())]);
    },
  };
}
