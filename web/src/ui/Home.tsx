// The start page: invitations and the latest feed alerts.
import { fmtWhen, t } from '../i18n/i18n.js';
import type { ChatSession } from '../state/session.js';
import { href } from './router.js';

export function Home({ session }: { session: ChatSession }) {
  return (
    <section class="page" aria-labelledby="home-title">
      <h1 id="home-title">{t('home.title', { name: session.me.displayName })}</h1>
      <p>{t('home.intro')}</p>
      <h2>{t('invitations.title')}</h2>
      {session.invitations.length === 0 ? (
        <p class="muted">{t('invitations.none')}</p>
      ) : (
        <ul class="cards invitations">
          {session.invitations.map((i) => (
            <li key={i.id}>
              <span>{t('invitations.item', { room: i.roomName, inviter: i.inviter, when: fmtWhen(i.ts) })}</span>{' '}
              <a href={href('room', i.roomId)} onClick={() => session.dismissInvitation(i.id)}>
                {t('invitations.open', { room: i.roomName })}
              </a>{' '}
              <button type="button" onClick={() => session.dismissInvitation(i.id)}>
                {t('dismiss')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {session.alerts.length > 0 && (
        <>
          <h2>{t('feeds.alerts')}</h2>
          <ul class="cards">
            {session.alerts.slice(0, 10).map((a) => (
              <li key={`${a.filterId}-${a.message.id}`}>
                <strong>{a.filterName}</strong>: {a.message.authorName} — {a.message.text}{' '}
                <a href={href('room', a.message.roomId, { m: a.message.id })}>{t('search.open')}</a>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
