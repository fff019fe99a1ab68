// A room: header and actions, the virtualised history (scroll-back by id pages, live messages, a jump to
// one message), the composer, the participants and the add-in pane.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { errorText, fmtNumber, t } from '../i18n/i18n.js';
import { useObservable } from '../state/observable.js';
import type { ChatSession, LiveRoom } from '../state/session.js';
import { Timeline } from '../state/timeline.js';
import { FollowButton } from './Browse.js';
import { Composer } from './Composer.js';
import { MessageItem } from './MessageItem.js';
import { MessageList } from './MessageList.js';
import { go, href } from './router.js';

export function RoomView({
  session,
  roomId,
  focusId,
}: {
  session: ChatSession;
  roomId: string;
  focusId: number | null;
}) {
  const [live, setLive] = useState<LiveRoom | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [announce, setAnnounce] = useState('');
  const [pane, setPane] = useState<'people' | 'addin' | null>(null);
  const timeline = useMemo(() => new Timeline(session.conn, roomId), [session, roomId]);
  const focusRef = useRef(focusId);
  useObservable(timeline);
  useObservable(session);

  useEffect(() => {
    let gone = false;
    session.setActive(roomId);
    const offMsg = session.onMessage((m) => {
      if (m.roomId !== roomId) return;
      timeline.live(m);
      if (m.author !== session.me.user)
        setAnnounce(t('room.announce', { author: m.authorName, text: m.title ? `${m.title}: ${m.text}` : m.text }));
    });
    const offMod = session.onModeration((mod) => {
      if (mod.roomId && mod.roomId !== roomId) return;
      if (mod.kind === 'removed') timeline.remove(mod.ids);
      else timeline.replace(mod.ids, mod.text);
    });
    const offRe = session.onReconnected(() => {
      if (!timeline.hasNewer) void timeline.loadNewer();
    });
    (async () => {
      try {
        const { live: l, history } = await session.enter(roomId);
        if (gone) return;
        setLive(l);
        if (focusRef.current) await timeline.jumpTo(focusRef.current);
        else if (history) timeline.startFrom(history);
        else await timeline.loadNewest();
      } catch (e) {
        if (!gone) setError(errorText(e));
      }
    })();
    return () => {
      gone = true;
      session.setActive(null);
      offMsg();
      offMod();
      offRe();
    };
  }, [session, roomId, timeline]);

  // A new focus within the same room (another search result).
  useEffect(() => {
    if (focusId !== null && focusId !== focusRef.current) {
      focusRef.current = focusId;
      void timeline.jumpTo(focusId);
    }
  }, [focusId, timeline]);

  const current = session.live.get(roomId) ?? live;
  if (error)
    return (
      <section class="page" aria-labelledby="room-error">
        <h1 id="room-error">{t('room.unavailable')}</h1>
        <p class="error" role="alert">
          {error}
        </p>
        <a href={href('browse')}>{t('nav.browse')}</a>
      </section>
    );
  if (!current)
    return (
      <p class="page" role="status">
        {t('loading')}
      </p>
    );
  const room = current.room;
  const stillIn = session.live.has(roomId);
  const canManage = room.manager || session.me.isAdmin;

  const leave = async () => {
    try {
      await session.leave(roomId);
      go('home');
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section class="room" aria-labelledby="room-title">
      <header class="room-head">
        <div class="room-title-block">
          <h1 id="room-title">{room.name}</h1>
          <p class="muted">
            <span class={`tag tag-${room.privacy}`}>{t(`privacy.${room.privacy}`)}</span>
            {room.type === 'auditorium' && <span class="tag">{t('type.auditorium')}</span>}
            <span>{room.categoryName}</span>
            {room.description && <span class="room-desc"> — {room.description}</span>}
          </p>
        </div>
        <div class="room-actions">
          <FollowButton session={session} roomId={roomId} name={room.name} />
          <button
            type="button"
            aria-expanded={pane === 'people'}
            aria-controls="side-pane"
            onClick={() => setPane(pane === 'people' ? null : 'people')}
          >
            {t('room.people', { n: room.participants })}
          </button>
          {room.addin && (
            <button
              type="button"
              aria-expanded={pane === 'addin'}
              aria-controls="side-pane"
              onClick={() => setPane(pane === 'addin' ? null : 'addin')}
            >
              {t('room.addin', { name: room.addin.name })}
            </button>
          )}
          {canManage && <a href={href('manage', roomId)}>{t('room.manage')}</a>}
          {stillIn && (
            <button type="button" onClick={leave}>
              {t('room.leave')}
            </button>
          )}
        </div>
      </header>
      <div class="room-body">
        <div class="room-main">
          {timeline.loading && (
            <p class="loading-bar" role="status">
              {t('room.loadingHistory')}
            </p>
          )}
          {!room.chatHistory && <p class="muted">{t('room.noHistory')}</p>}
          {timeline.items.length === 0 && !timeline.loading && <p class="muted">{t('room.empty')}</p>}
          <MessageList
            items={timeline.items}
            label={t('room.history', { name: room.name })}
            focusId={focusId}
            onNearTop={() => void timeline.loadOlder()}
            onNearBottom={() => void timeline.loadNewer()}
            onSeen={(id) => {
              if (!timeline.hasNewer) session.markRead(roomId, id);
            }}
            renderItem={(m) => (
              <MessageItem m={m} removed={timeline.removed.has(m.id)} fileHref={(u) => session.fileHref(u)} />
            )}
          />
          {timeline.hasNewer && (
            <button type="button" class="jump-newest" onClick={() => void timeline.loadNewest()}>
              {t('room.jumpNewest')}
            </button>
          )}
          <div class="sr-only" aria-live="polite" aria-atomic="true">
            {announce}
          </div>
          {stillIn ? <Composer session={session} room={room} /> : <p class="muted">{t('room.notIn')}</p>}
        </div>
        {pane && (
          <aside
            id="side-pane"
            class="side-pane"
            aria-label={pane === 'people' ? t('room.peopleTitle') : t('room.addinTitle')}
          >
            {pane === 'people' ? <People live={current} /> : <AddinPane session={session} live={current} />}
          </aside>
        )}
      </div>
    </section>
  );
}

function People({ live }: { live: LiveRoom }) {
  if (live.large || !live.roster)
    return (
      <>
        <h2>{t('room.peopleTitle')}</h2>
        <p>{t('room.large', { n: live.room.participants })}</p>
      </>
    );
  const people = [...live.roster.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  return (
    <>
      <h2>
        {t('room.peopleTitle')} ({fmtNumber(people.length)})
      </h2>
      <ul class="people">
        {people.map(([uri, name]) => (
          <li key={uri} title={uri}>
            {name}
          </li>
        ))}
      </ul>
    </>
  );
}

/** The room's add-in in a sandboxed frame; the room's context goes in the URL and by postMessage. */
function AddinPane({ session, live }: { session: ChatSession; live: LiveRoom }) {
  const addin = live.room.addin;
  const frame = useRef<HTMLIFrameElement>(null);
  if (!addin) return null;
  const context = {
    type: 'pchat.context',
    room: { id: live.room.id, uri: live.room.uri, name: live.room.name },
    user: { uri: session.me.user, displayName: session.me.displayName },
    locale: document.documentElement.lang,
  };
  const src = new URL(addin.url);
  src.searchParams.set('roomUri', live.room.uri);
  src.searchParams.set('roomName', live.room.name);
  src.searchParams.set('user', session.me.user);
  src.searchParams.set('lang', context.locale);
  return (
    <>
      <h2>{addin.name}</h2>
      <iframe
        ref={frame}
        class="addin"
        title={t('room.addinFrame', { name: addin.name })}
        src={src.toString()}
        sandbox="allow-scripts allow-forms allow-popups"
        referrerpolicy="no-referrer"
        onLoad={() => frame.current?.contentWindow?.postMessage(context, '*')}
      />
    </>
  );
}
