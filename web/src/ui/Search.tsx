// Search across the rooms this user may read: words (any order, any script), exact phrase, authors, dates;
// each result opens its room at that message.
import { useState } from 'preact/hooks';
import type { MessageView, SearchInput } from '../../../src/client/index.js';
import { errorText, t } from '../i18n/i18n.js';
import type { ChatSession } from '../state/session.js';
import { MessageItem } from './MessageItem.js';
import { href } from './router.js';

export function Search({ session }: { session: ChatSession }) {
  const [text, setText] = useState('');
  const [authors, setAuthors] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [exact, setExact] = useState(false);
  const [results, setResults] = useState<{ messages: MessageView[]; count: number; more: boolean } | null>(null);
  const [error, setError] = useState<{ text: string; field?: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const query = (before?: number): SearchInput => {
    const q: SearchInput = { limit: 50 };
    if (text.trim()) q.text = text.trim();
    const a = authors
      .split(/[,，\s]+/)
      .map((x) => x.trim())
      .filter(Boolean)
      .map((x) => (x.includes(':') ? x : `sip:${x}`));
    if (a.length) q.authors = a;
    if (since) q.since = new Date(`${since}T00:00:00`).getTime();
    if (until) q.until = new Date(`${until}T23:59:59.999`).getTime();
    if (exact) q.exact = true;
    if (before !== undefined) q.before = before;
    return q;
  };

  const run = async (before?: number) => {
    setBusy(true);
    setError(null);
    try {
      const r = await session.conn.search(query(before));
      setResults((prev) => ({
        messages: before !== undefined && prev ? [...prev.messages, ...r.messages] : r.messages,
        count: r.count,
        more: r.messages.length === 50,
      }));
    } catch (e) {
      const field = (e as { field?: string }).field;
      setError({ text: errorText(e), ...(field ? { field } : {}) });
    } finally {
      setBusy(false);
    }
  };

  const roomName = (id: string) => session.live.get(id)?.room.name ?? session.follows.get(id)?.room.name;

  return (
    <section class="page" aria-labelledby="search-title">
      <h1 id="search-title">{t('search.title')}</h1>
      <form
        id="search-form"
        class="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label for="search-text">{t('search.text')}</label>
        <input id="search-text" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <label for="search-authors">{t('search.authors')}</label>
        <input
          id="search-authors"
          value={authors}
          placeholder="sip:bob@contoso.com"
          onInput={(e) => setAuthors(e.currentTarget.value)}
        />
        <label for="search-since">{t('search.since')}</label>
        <input id="search-since" type="date" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        <label for="search-until">{t('search.until')}</label>
        <input id="search-until" type="date" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        <span />
        <label class="check">
          <input type="checkbox" checked={exact} onChange={(e) => setExact(e.currentTarget.checked)} />
          {t('search.exact')}
        </label>
        <span />
        <button type="submit" disabled={busy}>
          {t('search.submit')}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error.text}
        </p>
      )}
      {results && (
        <>
          <p role="status">{t('search.count', { n: results.count })}</p>
          <ol class="results">
            {results.messages.map((m) => (
              <li key={m.id}>
                <MessageItem
                  m={m}
                  fileHref={(u) => session.fileHref(u)}
                  context={{ roomName: roomName(m.roomId), openHref: href('room', m.roomId, { m: m.id }) }}
                />
              </li>
            ))}
          </ol>
          {results.more && (
            <button type="button" disabled={busy} onClick={() => void run(results.messages.at(-1)?.id)}>
              {t('search.more')}
            </button>
          )}
        </>
      )}
    </section>
  );
}
