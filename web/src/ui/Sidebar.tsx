// Room navigation: the views, then the followed rooms with their unread counts.
import { t } from '../i18n/i18n.js';
import type { ChatSession } from '../state/session.js';
import { href, useRoute } from './router.js';

export function Sidebar({ session, open }: { session: ChatSession; open: boolean }) {
  const route = useRoute();
  const follows = [...session.follows.values()].sort((a, b) => a.room.name.localeCompare(b.room.name));
  const cur = (name: string, id?: string) =>
    route.name === name && (id === undefined || route.id === id) ? 'page' : undefined;
  return (
    <nav id="rooms-nav" class={open ? 'sidebar open' : 'sidebar'} aria-label={t('nav.label')}>
      <ul class="views">
        <li>
          <a href={href('home')} aria-current={cur('home')}>
            {t('nav.home')}
            {session.invitations.length > 0 && (
              <>
                <span class="badge" aria-hidden="true">
                  {session.invitations.length}
                </span>
                <span class="sr-only">{t('nav.invitationsCount', { n: session.invitations.length })}</span>
              </>
            )}
          </a>
        </li>
        <li>
          <a href={href('browse')} aria-current={cur('browse')}>
            {t('nav.browse')}
          </a>
        </li>
        <li>
          <a href={href('search')} aria-current={cur('search')}>
            {t('nav.search')}
          </a>
        </li>
        <li>
          <a href={href('feeds')} aria-current={cur('feeds')}>
            {t('nav.feeds')}
            {session.alerts.length > 0 && (
              <>
                <span class="badge" aria-hidden="true">
                  {session.alerts.length}
                </span>
                <span class="sr-only">{t('nav.alertsCount', { n: session.alerts.length })}</span>
              </>
            )}
          </a>
        </li>
        <li>
          <a href={href('manage')} aria-current={route.name === 'manage' && !route.id ? 'page' : undefined}>
            {t('nav.create')}
          </a>
        </li>
      </ul>
      <h2 id="followed-heading">{t('nav.followed')}</h2>
      {follows.length === 0 ? (
        <p class="muted">{t('nav.noFollowed')}</p>
      ) : (
        <ul class="followed" aria-labelledby="followed-heading">
          {follows.map((f) => (
            <li key={f.room.id}>
              <a href={href('room', f.room.id)} aria-current={cur('room', f.room.id)} data-room={f.room.name}>
                <span class="room-name">{f.room.name}</span>
                {f.unread > 0 && (
                  <span>
                    <span class="badge unread">{f.unread}</span>
                    <span class="sr-only"> {t('nav.unread')}</span>
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
