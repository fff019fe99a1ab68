// Topic feeds and keyword alerts: the user's filters (create, edit, delete), a filter's feed, the live
// alerts, and browser notifications when the user allows them.
import { useEffect, useState } from 'preact/hooks';
import type { FeedFilter, MessageView } from '../../../src/client/index.js';
import { errorText, t } from '../i18n/i18n.js';
import type { ChatSession } from '../state/session.js';
import { MessageItem } from './MessageItem.js';
import { go, href } from './router.js';

const split = (s: string) =>
  s
    .split(/[,，\n]+/)
    .map((x) => x.trim())
    .filter(Boolean);

export function Feeds({ session, feedId }: { session: ChatSession; feedId: string | null }) {
  const [feeds, setFeeds] = useState<FeedFilter[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [perm, setPerm] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);

  const load = async () => {
    try {
      setFeeds(await session.conn.feeds());
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const selected = feedId === 'new' ? null : (feeds?.find((f) => f.id === feedId) ?? null);

  return (
    <section class="page" aria-labelledby="feeds-title">
      <h1 id="feeds-title">{t('feeds.title')}</h1>
      <p>{t('feeds.intro')}</p>
      {perm === 'default' && (
        <button type="button" onClick={async () => setPerm(await Notification.requestPermission())}>
          {t('feeds.allowNotifications')}
        </button>
      )}
      {perm === 'denied' && <p class="muted">{t('feeds.notificationsDenied')}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="two-col">
        <div>
          <h2>{t('feeds.filters')}</h2>
          <ul class="cards">
            {(feeds ?? []).map((f) => (
              <li key={f.id}>
                <a href={href('feeds', f.id)} aria-current={f.id === feedId ? 'page' : undefined}>
                  {f.name}
                </a>
                <span class="muted"> {f.keywords.join(', ')}</span>
                {f.alert && <span class="tag">{t('feeds.alertOn')}</span>}
              </li>
            ))}
          </ul>
          <a href={href('feeds', 'new')} class="button-link">
            {t('feeds.new')}
          </a>
          <h2>{t('feeds.alerts')}</h2>
          {session.alerts.length === 0 ? (
            <p class="muted">{t('feeds.noAlerts')}</p>
          ) : (
            <>
              <ul class="cards alerts" aria-live="polite">
                {session.alerts.map((a) => (
                  <li key={`${a.filterId}-${a.message.id}`}>
                    <strong>{a.filterName}</strong>
                    <MessageItem
                      m={a.message}
                      context={{ openHref: href('room', a.message.roomId, { m: a.message.id }) }}
                    />
                  </li>
                ))}
              </ul>
              <button type="button" onClick={() => session.clearAlerts()}>
                {t('feeds.clearAlerts')}
              </button>
            </>
          )}
        </div>
        <div>
          {feedId && (feedId === 'new' || selected) && (
            <FeedEditor
              key={feedId}
              session={session}
              feed={selected}
              onSaved={async (f) => {
                await load();
                go('feeds', f.id);
              }}
              onRemoved={async () => {
                await load();
                go('feeds');
              }}
            />
          )}
          {selected && (
            <FeedMessages key={`${selected.id}-${selected.keywords.join()}`} session={session} feed={selected} />
          )}
        </div>
      </div>
    </section>
  );
}

function FeedEditor({
  session,
  feed,
  onSaved,
  onRemoved,
}: {
  session: ChatSession;
  feed: FeedFilter | null;
  onSaved(f: FeedFilter): void;
  onRemoved(): void;
}) {
  const [name, setName] = useState(feed?.name ?? '');
  const [keywords, setKeywords] = useState(feed?.keywords.join(', ') ?? '');
  const [authors, setAuthors] = useState(feed?.authors.join(', ') ?? '');
  const [rooms, setRooms] = useState<string[]>(feed?.roomIds ?? []);
  const [alert, setAlert] = useState(feed?.alert ?? true);
  const [error, setError] = useState<{ text: string; field?: string } | null>(null);
  const followed = [...session.follows.values()];

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const saved = await session.conn.putFeed({
        ...(feed ? { id: feed.id } : {}),
        name: name.trim(),
        keywords: split(keywords),
        authors: split(authors).map((a) => (a.includes(':') ? a : `sip:${a}`)),
        roomIds: rooms,
        alert,
      });
      onSaved(saved);
    } catch (err) {
      const field = (err as { field?: string }).field;
      setError({ text: errorText(err), ...(field ? { field } : {}) });
    }
  };
  const fieldError = (f: string) =>
    error?.field === f ? (
      <span id={`feed-${f}-error`} class="error" role="alert">
        {error.text}
      </span>
    ) : null;

  return (
    <form class="grid-form" onSubmit={save} aria-labelledby="feed-edit-title">
      <h2 id="feed-edit-title">{feed ? t('feeds.edit', { name: feed.name }) : t('feeds.new')}</h2>
      <label for="feed-name">{t('feeds.name')}</label>
      <span>
        <input id="feed-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        {fieldError('name')}
      </span>
      <label for="feed-keywords">{t('feeds.keywords')}</label>
      <span>
        <input id="feed-keywords" value={keywords} onInput={(e) => setKeywords(e.currentTarget.value)} />
        {fieldError('keywords')}
      </span>
      <label for="feed-authors">{t('feeds.authors')}</label>
      <span>
        <input id="feed-authors" value={authors} onInput={(e) => setAuthors(e.currentTarget.value)} />
        {fieldError('authors')}
      </span>
      <span id="feed-rooms-label">{t('feeds.rooms')}</span>
      <fieldset aria-labelledby="feed-rooms-label" class="checks">
        {followed.length === 0 && <span class="muted">{t('feeds.allRooms')}</span>}
        {followed.map((f) => (
          <label key={f.room.id} class="check">
            <input
              type="checkbox"
              checked={rooms.includes(f.room.id)}
              onChange={(e) =>
                setRooms(e.currentTarget.checked ? [...rooms, f.room.id] : rooms.filter((r) => r !== f.room.id))
              }
            />
            {f.room.name}
          </label>
        ))}
        {fieldError('roomIds')}
      </fieldset>
      <span />
      <label class="check">
        <input type="checkbox" checked={alert} onChange={(e) => setAlert(e.currentTarget.checked)} />
        {t('feeds.alert')}
      </label>
      {error && !error.field && (
        <p class="error" role="alert">
          {error.text}
        </p>
      )}
      <span />
      <span class="buttons">
        <button type="submit">{t('save')}</button>
        {feed && (
          <button
            type="button"
            onClick={async () => {
              try {
                await session.conn.removeFeed(feed.id);
                onRemoved();
              } catch (err) {
                setError({ text: errorText(err) });
              }
            }}
          >
            {t('delete')}
          </button>
        )}
      </span>
    </form>
  );
}

function FeedMessages({ session, feed }: { session: ChatSession; feed: FeedFilter }) {
  const [messages, setMessages] = useState<MessageView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    session.conn
      .feedMessages(feed.id, { limit: 50 })
      .then(setMessages)
      .catch((e) => setError(errorText(e)));
  }, [feed.id]);
  return (
    <>
      <h2>{t('feeds.feedOf', { name: feed.name })}</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {messages && messages.length === 0 && <p class="muted">{t('feeds.empty')}</p>}
      <ol class="results">
        {(messages ?? []).map((m) => (
          <li key={m.id}>
            <MessageItem
              m={m}
              fileHref={(u) => session.fileHref(u)}
              context={{ openHref: href('room', m.roomId, { m: m.id }) }}
            />
          </li>
        ))}
      </ol>
    </>
  );
}
