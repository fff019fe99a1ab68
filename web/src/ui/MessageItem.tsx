// One message: author, time, kind (alerts and stories look different), text with clickable links
// (ma-chan:// room links open the room here), files with a download link, removed/replaced state.
import type { ComponentChildren } from 'preact';
import type { Link, MessageView } from '../../../src/client/index.js';
import { fmtBytes, fmtFull, fmtWhen, t } from '../i18n/i18n.js';
import { href } from './router.js';

const SAFE_URL = /^(https?:|mailto:)/i;

/** Splits text into plain runs and links, in the order the server found the links. */
export function linkify(text: string, links: Link[]): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let pos = 0;
  let n = 0;
  for (const l of links) {
    const at = text.indexOf(l.text, pos);
    if (at < 0) continue;
    if (at > pos) out.push(text.slice(pos, at));
    if (l.kind === 'room') {
      const roomId = l.roomId ?? l.href.split('/').pop() ?? '';
      out.push(
        <a key={n++} href={href('room', roomId)} class="roomlink">
          {l.text}
        </a>,
      );
    } else if (SAFE_URL.test(l.href)) {
      out.push(
        <a key={n++} href={l.href} target="_blank" rel="noopener noreferrer">
          {l.text}
        </a>,
      );
    } else out.push(l.text);
    pos = at + l.text.length;
  }
  if (pos < text.length) out.push(text.slice(pos));
  return out;
}

export function MessageItem({
  m,
  removed,
  fileHref,
  context,
}: {
  m: MessageView;
  removed?: boolean;
  fileHref?: (url: string) => string;
  /** Search and feed results name the room and link to the message in it. */
  context?: { roomName?: string; openHref: string };
}) {
  const edited = (m as MessageView & { replaced?: boolean; editedAt?: number }).replaced === true;
  return (
    <article
      class={`msg msg-${m.kind}${removed ? ' msg-removed' : ''}`}
      data-message-id={String(m.id)}
      aria-label={t(`kind.${m.kind}Label`, { author: m.authorName })}
    >
      <header class="msg-head">
        <span class="author" title={m.author}>
          {m.authorName}
        </span>
        {m.kind === 'alert' && <span class="tag tag-alert">{t('kind.alert')}</span>}
        {m.kind === 'story' && <span class="tag tag-story">{t('kind.story')}</span>}
        <time dateTime={new Date(m.ts).toISOString()} title={fmtFull(m.ts)}>
          {fmtWhen(m.ts)}
        </time>
        {context?.roomName && <span class="muted">{t('search.inRoom', { room: context.roomName })}</span>}
        {edited && <span class="tag">{t('msg.replaced')}</span>}
      </header>
      {removed ? (
        <p class="removed">{t('msg.removed')}</p>
      ) : (
        <>
          {m.kind === 'story' && m.title && <h3 class="story-title">{m.title}</h3>}
          {m.kind === 'file' && m.file ? (
            <p class="file">
              {fileHref ? (
                <a href={fileHref(m.file.url)} download={m.file.name}>
                  {t('file.download', { name: m.file.name })}
                </a>
              ) : (
                m.file.name
              )}{' '}
              <span class="muted">({fmtBytes(m.file.size)})</span>
            </p>
          ) : (
            <p class="text">{linkify(m.text, m.links ?? [])}</p>
          )}
        </>
      )}
      {context && (
        <a class="open-at" href={context.openHref}>
          {t('search.open')}
        </a>
      )}
    </article>
  );
}
