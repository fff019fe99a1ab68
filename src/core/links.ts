// Recognizes hyperlinks and links to other rooms in plain message text. Pure; the chat service attaches the
// result to every message it hands out, so each transport shows links the same way.

export interface FoundLink {
  kind: 'url' | 'room';
  text: string;
  href: string;
  roomId?: string;
}

const LINK = /\b(?:https?:\/\/[^\s<>"]+|ma-chan:\/\/[a-z0-9.-]+\/[A-Za-z0-9._~-]+)/giu;

export function roomUri(domain: string, roomId: string): string {
  return `ma-chan://${domain}/${roomId}`;
}

/** Splits `ma-chan://domain/id`; undefined when it is not a room URI. */
export function parseRoomUri(uri: string): { domain: string; roomId: string } | undefined {
  const m = /^ma-chan:\/\/([^/\s]+)\/([^/\s]+)$/i.exec(uri.trim());
  return m ? { domain: (m[1] as string).toLowerCase(), roomId: m[2] as string } : undefined;
}

// (no double quote: LINK never takes one into a link)
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", ')', ']', '}']);
const OPENER: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

const count = (s: string, c: string): number => s.split(c).length - 1;

/**
 * Drops sentence punctuation from the end of a link: `.`, `,`, `;`, `:`, `!`, `?`, `'`, and a closing
 * bracket the link did not open (so `https://en.wikipedia.org/wiki/Foo_(bar)` keeps its `)`).
 */
function trimTrailing(link: string): string {
  let s = link;
  for (let c = s.slice(-1); TRAILING.has(c); c = s.slice(-1)) {
    const opener = OPENER[c];
    if (opener !== undefined && count(s, opener) >= count(s, c)) break;
    s = s.slice(0, -1);
  }
  return s;
}

export function extractLinks(text: string): FoundLink[] {
  const out: FoundLink[] = [];
  for (const m of text.matchAll(LINK)) {
    const raw = trimTrailing(m[0]);
    const room = parseRoomUri(raw);
    if (room) out.push({ kind: 'room', text: raw, href: raw, roomId: room.roomId });
    else out.push({ kind: 'url', text: raw, href: raw });
  }
  return out;
}
