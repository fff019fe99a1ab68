// A WebSocket class for the SDK's `ConnectOptions.WebSocket` hook: a `ws` client socket that measures every
// chat-message delivery as it arrives. In 'fast' mode the message events are counted and timed straight
// from the frame bytes (the send time is in the text: "bench <µs> <seq>") and are not handed to the SDK, so
// the load generator is not the bottleneck at saturation; requests and their results still go through the
// SDK. In 'sdk' mode every frame goes to the SDK and the caller times deliveries from its 'message' event.
import { WebSocket } from 'ws';

export type ParseMode = 'fast' | 'sdk';

/** Monotonic microseconds (CLOCK_MONOTONIC: the same clock in every process on the machine). */
export function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1000);
}

export const TEXT_PREFIX = 'bench ';

/** The text of a bench post: the send time, then a one-letter tag (the room class) and a sequence number. */
export function benchText(sentUs: number, tag: string, seq: number): string {
  return `${TEXT_PREFIX}${sentUs} ${tag}${seq}`;
}

/** Parses "bench <µs> <tag><seq>" into the send time (or -1) and the tag's char code. */
export function parseBenchText(text: string): { sentUs: number; tag: number } {
  if (!text.startsWith(TEXT_PREFIX)) return { sentUs: -1, tag: 0 };
  const end = text.indexOf(' ', TEXT_PREFIX.length);
  return {
    sentUs: Number(text.slice(TEXT_PREFIX.length, end < 0 ? undefined : end)),
    tag: end < 0 ? 0 : text.charCodeAt(end + 1),
  };
}

export interface DeliverySink {
  /** `tag`: the char code of the post's tag letter. */
  delivery(sentUs: number, recvUs: number, tag: number): void;
  otherEvent(): void;
}

const MESSAGE_EVENT = Buffer.from('{"type":"event","event":{"type":"message"');
const ANY_EVENT = Buffer.from('{"type":"event"');
const MARK = Buffer.from('"text":"bench ');

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length >= prefix.length && buf.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** Reads the decimal number at `at` in `buf`, and the char code after the space that follows it. */
function readStamp(buf: Buffer, at: number): { sentUs: number; tag: number } {
  let v = 0;
  let i = at;
  for (; i < buf.length; i++) {
    const c = buf[i] as number;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  return { sentUs: v, tag: buf[i + 1] ?? 0 };
}

type Handler<T> = ((ev: T) => void) | null;

export function benchSocketClass(sink: DeliverySink, mode: ParseMode) {
  return class BenchSocket {
    readonly ws: WebSocket;
    onopen: Handler<unknown> = null;
    onclose: Handler<{ code: number; reason: string }> = null;
    onerror: Handler<unknown> = null;
    onmessage: Handler<{ data: unknown }> = null;

    constructor(url: string) {
      this.ws = new WebSocket(url, { perMessageDeflate: false });
      this.ws.on('open', () => this.onopen?.({}));
      this.ws.on('error', (e) => this.onerror?.(e));
      this.ws.on('close', (code, reason) => this.onclose?.({ code, reason: reason.toString() }));
      this.ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (mode === 'fast' && !isBinary && startsWith(data, ANY_EVENT)) {
          if (startsWith(data, MESSAGE_EVENT)) {
            const at = data.indexOf(MARK);
            if (at >= 0) {
              const recv = nowUs();
              const s = readStamp(data, at + MARK.length);
              sink.delivery(s.sentUs, recv, s.tag);
              return;
            }
          }
          sink.otherEvent();
          return;
        }
        this.onmessage?.({ data: isBinary ? data : data.toString('utf8') });
      });
    }

    get readyState(): number {
      return this.ws.readyState;
    }

    send(data: string): void {
      this.ws.send(data);
    }

    close(code?: number, reason?: string): void {
      this.ws.close(code, reason);
    }

    terminate(): void {
      this.ws.terminate();
    }
  };
}
