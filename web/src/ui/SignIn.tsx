import { useState } from 'preact/hooks';
import { errorText, t } from '../i18n/i18n.js';
import { ChatSession } from '../state/session.js';

export function SignIn({ onSession }: { onSession: (s: ChatSession) => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const u = user.includes(':') ? user.trim() : `sip:${user.trim()}`;
      onSession(await ChatSession.signIn(u, password));
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <main class="signin" id="main">
      <h1>{t('appTitle')}</h1>
      <p>{t('signIn.intro')}</p>
      <form onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <label for="signin-user">{t('signIn.user')}</label>
        <input
          id="signin-user"
          name="user"
          autoComplete="username"
          required
          value={user}
          placeholder="sip:alice@contoso.com"
          onInput={(e) => setUser(e.currentTarget.value)}
        />
        <label for="signin-password">{t('signIn.password')}</label>
        <input
          id="signin-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        {error && (
          <p id="signin-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? t('signIn.busy') : t('signIn.submit')}
        </button>
      </form>
    </main>
  );
}
