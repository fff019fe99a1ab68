// Browse and search the rooms this user may see (the server decides: secret rooms only for their members).
import { useEffect, useState } from 'preact/hooks';
import type { RoomView } from '../../../src/client/index.js';
import { errorText, t } from '../i18n/i18n.js';
import type { ChatSession } from '../state/session.js';
import { href } from './router.js';

export function Browse({ session }: { session: ChatSession }) {
  const [q, setQ] = useState('');
  const [rooms, setRooms] = useState<RoomView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [mine, setMine] = useState(false);

  const load = async (query: string, onlyMine: boolean) => {
    setError(null);
    try {
      setRooms(
        onlyMine ? await session.conn.associations('member') : await session.conn.rooms({ q: query, limit: 200 }),
      );
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    void load('', false);
  }, []);

  return (
    <section class="page" aria-labelledby="browse-title">
      <h1 id="browse-title">{t('browse.title')}</h1>
      <form
        id="browse-form"
        class="row-form"
        onSubmit={(e) => {
          e.preventDefault();
          void load(q, mine);
        }}
      >
        <label for="browse-q">{t('browse.query')}</label>
        <input id="browse-q" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" checked={mine} onChange={(e) => setMine(e.currentTarget.checked)} />
          {t('browse.mine')}
        </label>
        <button type="submit">{t('browse.submit')}</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rooms && (
        <>
          <p role="status">{t('browse.count', { n: rooms.length })}</p>
          <ul class="cards rooms">
            {rooms.map((r) => (
              <li key={r.id} data-room={r.name}>
                <a href={href('room', r.id)} class="room-link">
                  {r.name}
                </a>
                <span class={`tag tag-${r.privacy}`}>{t(`privacy.${r.privacy}`)}</span>
                {r.type === 'auditorium' && <span class="tag">{t('type.auditorium')}</span>}
                <span class="muted">{r.categoryName}</span>
                {r.description && <p>{r.description}</p>}
                <FollowButton session={session} roomId={r.id} name={r.name} />
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

export function FollowButton({ session, roomId, name }: { session: ChatSession; roomId: string; name: string }) {
  const [error, setError] = useState<string | null>(null);
  const following = session.follows.has(roomId);
  const toggle = async () => {
    setError(null);
    try {
      if (following) await session.unfollow(roomId);
      else await session.follow(roomId);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <>
      <button
        type="button"
        onClick={toggle}
        aria-label={t(following ? 'room.unfollowNamed' : 'room.followNamed', { name })}
      >
        {following ? t('room.unfollow') : t('room.follow')}
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}
