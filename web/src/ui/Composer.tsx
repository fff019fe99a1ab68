// The composer: a message, an alert or a story (with a title); Enter sends, Shift+Enter breaks the line,
// and nothing is sent while an input method is composing (CJK IMEs confirm candidates with Enter).
// Files go up with a progress bar where the room's category allows them.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RoomView } from '../../../src/client/index.js';
import { errorText, fmtBytes, t } from '../i18n/i18n.js';
import type { ChatSession } from '../state/session.js';
import { uploadFile } from '../state/upload.js';

type Kind = 'regular' | 'alert' | 'story';

export function Composer({ session, room }: { session: ChatSession; room: RoomView }) {
  const [text, setText] = useState('');
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState<Kind>('regular');
  const [error, setError] = useState<{ text: string; field?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<{ name: string; sent: number; total: number } | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const composing = useRef(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const textArea = useRef<HTMLTextAreaElement>(null);
  // Composition events have no on… property in browsers, so they are listened to directly.
  useEffect(() => {
    const el = textArea.current;
    if (!el) return;
    const start = () => {
      composing.current = true;
    };
    const end = () => {
      composing.current = false;
    };
    el.addEventListener('compositionstart', start);
    el.addEventListener('compositionend', end);
    return () => {
      el.removeEventListener('compositionstart', start);
      el.removeEventListener('compositionend', end);
    };
  }, [room.canPost]);
  const limit = kind === 'story' ? session.server.config.storySizeLimit : session.server.config.messageSizeLimit;

  if (!room.canPost)
    return (
      <p class="muted composer-off">
        {room.type === 'auditorium' ? t('composer.presentersOnly') : t('composer.cannotPost')}
      </p>
    );

  const send = async () => {
    if (busy || text.trim() === '') return;
    setBusy(true);
    setError(null);
    try {
      await session.conn.post(room.id, kind === 'story' ? { kind, text, title } : { kind, text });
      setText('');
      setTitle('');
      setKind('regular');
    } catch (e) {
      const field = (e as { field?: string }).field;
      setError({ text: errorText(e), ...(field ? { field } : {}) });
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Enter' || e.shiftKey) return;
    // keyCode 229: the key went to an input method (Safari ends composition before keydown).
    if (e.isComposing || composing.current || e.keyCode === 229) return;
    e.preventDefault();
    void send();
  };

  const upload = async () => {
    const file = fileInput.current?.files?.[0];
    if (!file || !session.client.token) return;
    setUploadError(null);
    setProgress({ name: file.name, sent: 0, total: file.size });
    try {
      await uploadFile(session.client.token, room.id, file, (sent, total) =>
        setProgress({ name: file.name, sent, total }),
      );
      if (fileInput.current) fileInput.current.value = '';
      setChosen(null);
      setTimeout(() => setProgress(null), 1500);
    } catch (e) {
      setUploadError(errorText(e));
      setProgress(null);
    }
  };

  const pct = progress && progress.total > 0 ? Math.round((progress.sent / progress.total) * 100) : 0;

  return (
    <form
      class="composer"
      aria-label={t('composer.label')}
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <div class="composer-row">
        <label for="composer-kind" class="sr-only">
          {t('composer.kind')}
        </label>
        <select
          id="composer-kind"
          value={kind}
          onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as Kind)}
        >
          <option value="regular">{t('kind.regular')}</option>
          <option value="alert">{t('kind.alert')}</option>
          <option value="story">{t('kind.story')}</option>
        </select>
        {kind === 'story' && (
          <>
            <label for="composer-title" class="sr-only">
              {t('composer.title')}
            </label>
            <input
              id="composer-title"
              placeholder={t('composer.title')}
              value={title}
              onInput={(e) => setTitle(e.currentTarget.value)}
            />
          </>
        )}
      </div>
      <div class="composer-row">
        <label for="composer-text" class="sr-only">
          {t('composer.text', { room: room.name })}
        </label>
        <textarea
          id="composer-text"
          rows={kind === 'story' ? 5 : 2}
          value={text}
          maxLength={limit}
          placeholder={t('composer.placeholder', { room: room.name })}
          aria-invalid={error?.field === 'text' ? true : undefined}
          aria-describedby={error ? 'composer-error' : 'composer-hint'}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={onKeyDown}
          ref={textArea}
        />
        <button type="submit" disabled={busy}>
          {t('composer.send')}
        </button>
      </div>
      <p id="composer-hint" class="muted small">
        {t('composer.hint')}
      </p>
      {error && (
        <p id="composer-error" class="error" role="alert">
          {error.text}
        </p>
      )}
      {room.fileUpload && (
        <div class="composer-row upload">
          {/* the native file input's own words come from the browser, not our catalogue: it is hidden
              behind a label that looks like a button and keeps the keyboard focus */}
          <span class="file-pick">
            <input
              id="composer-file"
              type="file"
              ref={fileInput}
              class="file-input"
              onChange={(e) => setChosen(e.currentTarget.files?.[0]?.name ?? null)}
            />
            <label for="composer-file" class="file-label">
              {t('file.choose')}
            </label>
          </span>
          <span class="muted small">{chosen ?? t('file.none')}</span>
          <button type="button" onClick={upload} disabled={progress !== null && pct < 100}>
            {t('file.upload')}
          </button>
          {progress && (
            <span class="progress">
              <progress
                id="upload-progress"
                max={100}
                value={pct}
                aria-label={t('file.progress', { name: progress.name })}
              />
              <span role="status">
                {t('file.sent', { pct, sent: fmtBytes(progress.sent), total: fmtBytes(progress.total) })}
              </span>
            </span>
          )}
          {uploadError && (
            <span class="error" role="alert">
              {uploadError}
            </span>
          )}
        </div>
      )}
    </form>
  );
}
