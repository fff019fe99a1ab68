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

export function extractLinks(text: string): FoundLink[] {
  const out: FoundLink[] = [];
  for (const m of text.matchAll(LINK)) {
    // trailing punctuation is usually sentence punctuation, not part of the link
    const raw = m[0].replace(/[.,;:!?)\]}'"]+$/u, '');
    const room = parseRoomUri(raw);
    if (room) out.push({ kind: 'room', text: raw, href: raw, roomId: room.roomId });
    else out.push({ kind: 'url', text: raw, href: raw });
  }
  return out;
}
