// The application shell: sign-in until there is a session, then header (connection state, language,
// user), the room navigation, the routed main view, and the notices the server sends.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Locale } from '../i18n/catalogue.js';
import { LOCALE_NAMES, LOCALES } from '../i18n/catalogue.js';
import { errorText, setLocale, t, useLocale } from '../i18n/i18n.js';
import { useObservable } from '../state/observable.js';
import { ChatSession, storedToken } from '../state/session.js';
import { Browse } from './Browse.js';
import { Feeds } from './Feeds.js';
import { Home } from './Home.js';
import { Manage } from './Manage.js';
import { RoomView } from './RoomView.js';
import { go, useRoute } from './router.js';
import { Search } from './Search.js';
import { Sidebar } from './Sidebar.js';
import { SignIn } from './SignIn.js';

export function App() {
  useLocale();
  const [session, setSession] = useState<ChatSession | null>(null);
  const [resuming, setResuming] = useState(() => storedToken() !== null);

  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    ChatSession.resume(token)
      .then(setSession)
      .catch(() => {})
      .finally(() => setResuming(false));
  }, []);

  if (session) return <Shell session={session} onSignOut={() => setSession(null)} />;
  return (
    <div class="signin-page">
      <LocalePicker />
      {resuming ? <p role="status">{t('signIn.resuming')}</p> : <SignIn onSession={(s) => setSession(s)} />}
    </div>
  );
}

export function LocalePicker() {
  const l = useLocale();
  return (
    <label class="locale">
      <span>{t('locale.label')}</span>
      <select value={l} onChange={(e) => setLocale((e.currentTarget as HTMLSelectElement).value as Locale)}>
        {LOCALES.map((x) => (
          <option key={x} value={x} lang={x}>
            {LOCALE_NAMES[x]}
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell({ session, onSignOut }: { session: ChatSession; onSignOut: () => void }) {
  useObservable(session);
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const [navOpen, setNavOpen] = useState(false);

  useEffect(() => {
    setNavOpen(false);
  }, [route.name, route.id]);

  const signOut = async () => {
    await session.signOut();
    onSignOut();
    go('home');
  };
  const state = session.connState;

  return (
    <div class="shell">
      <button type="button" class="skip" onClick={() => main.current?.focus()}>
        {t('nav.skip')}
      </button>
      <header class="topbar">
        <button
          type="button"
          class="nav-toggle"
          aria-expanded={navOpen}
          aria-controls="rooms-nav"
          onClick={() => setNavOpen(!navOpen)}
        >
          {t('nav.menu')}
        </button>
        <span class="brand">{t('appTitle')}</span>
        <span class={`conn conn-${state}`} role="status" data-state={state}>
          {t(`conn.${state}`)}
        </span>
        <LocalePicker />
        <span class="whoami" title={session.me.user}>
          {session.me.displayName}
        </span>
        <button type="button" onClick={signOut}>
          {t('signOut')}
        </button>
      </header>
      <Sidebar session={session} open={navOpen} />
      <main id="main" ref={main} tabIndex={-1} class="main">
        {session.notice && (
          <div class="notice" role="alert">
            <span>{errorText(session.notice)}</span>
            <button type="button" onClick={() => session.dismissNotice()}>
              {t('dismiss')}
            </button>
          </div>
        )}
        {state === 'closed' && (
          <div class="notice" role="alert">
            <span>{t('conn.closedHint')}</span>
            <button type="button" onClick={signOut}>
              {t('signIn.again')}
            </button>
          </div>
        )}
        <Routed session={session} />
      </main>
    </div>
  );
}

function Routed({ session }: { session: ChatSession }) {
  const route = useRoute();
  switch (route.name) {
    case 'browse':
      return <Browse session={session} />;
    case 'room': {
      const m = Number(route.params.get('m'));
      return (
        <RoomView
          key={route.id}
          session={session}
          roomId={route.id as string}
          focusId={Number.isFinite(m) && m > 0 ? m : null}
        />
      );
    }
    case 'search':
      return <Search session={session} />;
    case 'feeds':
      return <Feeds session={session} feedId={route.id ?? null} />;
    case 'manage':
      return <Manage key={route.id ?? 'new'} session={session} roomId={route.id ?? null} />;
    default:
      return <Home session={session} />;
  }
}
