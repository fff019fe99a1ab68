// Room management, as the original's Room Management page: create a room, or edit one this user manages.
// Administrators see the stored room (lists, category, add-ins to pick from); a manager edits what the
// room view shows and adds or removes people by address. The admin service decides; each refusal is
// shown next to the field it is about.
import { type ComponentChildren, Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Addin, AdminRoomInput, Category, Room, RoomView } from '../../../src/client/index.js';
import { errorText, t } from '../i18n/i18n.js';
import type { ChatSession } from '../state/session.js';
import { go, href } from './router.js';

type Privacy = 'open' | 'closed' | 'secret';
type RoomType = 'normal' | 'auditorium';

const CODE_FIELD: Record<string, string> = {
  NAME_TAKEN: 'name',
  NAME_TOO_LONG: 'name',
  CATEGORY_NOT_FOUND: 'category',
  NOT_A_CREATOR: 'category',
  NOT_IN_CATEGORY_SCOPE: 'members',
  USER_NOT_FOUND: 'members',
  PRINCIPAL_NOT_FOUND: 'members',
  GROUP_NOT_FOUND: 'members',
  PRESENTER_NOT_MEMBER: 'presenters',
  PRESENTERS_IN_NORMAL_ROOM: 'presenters',
  INVITATIONS_DISABLED_BY_CATEGORY: 'invitations',
  ADDIN_NOT_FOUND: 'addin',
};

const list = (s: string) =>
  s
    .split(/[,，;\s]+/)
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => (/^(sip|group|ou|domain):/i.test(x) ? x : x.includes('@') ? `sip:${x}` : x));

interface Form {
  name: string;
  description: string;
  category: string;
  privacy: Privacy;
  type: RoomType;
  addin: string;
  invitations: 'inherit' | 'false';
  disabled: boolean;
  managers: string;
  members: string;
  presenters: string;
  /** For managers, who cannot read the stored lists: additions and removals. */
  removeMembers: string;
  removeManagers: string;
  removePresenters: string;
}

const EMPTY: Form = {
  name: '',
  description: '',
  category: '',
  privacy: 'closed',
  type: 'normal',
  addin: '',
  invitations: 'inherit',
  disabled: false,
  managers: '',
  members: '',
  presenters: '',
  removeMembers: '',
  removeManagers: '',
  removePresenters: '',
};

export function Manage({ session, roomId }: { session: ChatSession; roomId: string | null }) {
  const isAdmin = session.me.isAdmin;
  const [form, setForm] = useState<Form>(() => ({ ...EMPTY, managers: roomId ? '' : session.me.user }));
  const [categories, setCategories] = useState<Category[] | null>(null);
  const [addins, setAddins] = useState<Addin[] | null>(null);
  const [view, setView] = useState<RoomView | null>(null);
  const [stored, setStored] = useState<Room | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    if (isAdmin) {
      session.client.admin.categories().then(setCategories, () => setCategories(null));
      session.client.admin.addins().then(setAddins, () => setAddins(null));
    }
    if (!roomId) return;
    (async () => {
      try {
        const v = await session.conn.room(roomId);
        setView(v);
        const f: Form = {
          ...EMPTY,
          name: v.name,
          description: v.description,
          category: v.categoryId,
          privacy: v.privacy,
          type: v.type,
          addin: v.addin?.name ?? '',
          disabled: v.disabled,
        };
        if (isAdmin) {
          const r = await session.client.admin.getRoom(roomId);
          setStored(r);
          f.invitations = r.invitations === 'false' ? 'false' : 'inherit';
          f.members = r.members.join('\n');
          f.managers = r.managers.join('\n');
          f.presenters = r.presenters.join('\n');
        }
        setForm(f);
      } catch (e) {
        setLoadError(errorText(e));
      }
    })();
  }, [roomId]);

  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    // a refusal stays next to its field until the field is changed
    setErrors((e) => {
      if (!(k in e)) return e;
      const { [k]: _gone, ...rest } = e;
      return rest;
    });
  };

  if (loadError)
    return (
      <section class="page" aria-labelledby="manage-title">
        <h1 id="manage-title">{t('manage.editTitle')}</h1>
        <p class="error" role="alert">
          {loadError}
        </p>
      </section>
    );
  // Editing is for the room's managers and administrators; others are told so, with no controls.
  if (roomId && view && !view.manager && !isAdmin)
    return (
      <section class="page" aria-labelledby="manage-title">
        <h1 id="manage-title">{t('manage.editTitle')}</h1>
        <p class="error" role="alert">
          {t('err.NOT_A_MANAGER')}
        </p>
      </section>
    );
  if (roomId && !view)
    return (
      <p class="page" role="status">
        {t('loading')}
      </p>
    );

  const fullLists = !roomId || isAdmin;

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setSaved(null);
    const input: AdminRoomInput = {
      name: form.name.trim(),
      description: form.description,
      privacy: form.privacy,
      type: form.type,
      addin: form.addin.trim() === '' ? null : form.addin.trim(),
      invitations: form.invitations,
    };
    if (roomId) input.disabled = form.disabled;
    if (fullLists) {
      input.members = list(form.members);
      input.managers = list(form.managers);
      if (form.type === 'auditorium' || (stored?.presenters.length ?? 0) > 0)
        input.presenters = form.type === 'auditorium' ? list(form.presenters) : [];
    } else {
      const edit = (add: string, remove: string) => {
        const a = list(add);
        const r = list(remove);
        return a.length || r.length ? { add: a, remove: r } : undefined;
      };
      const m = edit(form.members, form.removeMembers);
      const g = edit(form.managers, form.removeManagers);
      const p = edit(form.presenters, form.removePresenters);
      if (m) input.members = m;
      if (g) input.managers = g;
      if (p) input.presenters = p;
    }
    try {
      if (roomId) {
        await session.client.admin.setRoom(roomId, input);
        setSaved(t('manage.saved'));
      } else {
        const r = await session.client.admin.newRoom({
          ...input,
          name: input.name as string,
          category: form.category.trim(),
        });
        await session.follow(r.id).catch(() => {});
        go('room', r.id);
      }
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const field = (err as { field?: string }).field ?? CODE_FIELD[code] ?? '_';
      setErrors({ [field]: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!roomId || !confirm(t('manage.confirmDelete', { name: form.name }))) return;
    try {
      await session.client.admin.removeRoom(roomId);
      go('home');
    } catch (err) {
      setErrors({ _: errorText(err) });
    }
  };

  const field = (id: keyof Form | string, label: string, control: ComponentChildren, hint?: string) => (
    <>
      <label for={`room-${id}`}>{label}</label>
      <span class="field">
        {control}
        {hint && (
          <span id={`room-${id}-hint`} class="muted small">
            {hint}
          </span>
        )}
        {errors[id] && (
          <span id={`room-${id}-error`} class="error" role="alert">
            {errors[id]}
          </span>
        )}
      </span>
    </>
  );
  const described = (id: string, hint = false) =>
    [errors[id] ? `room-${id}-error` : '', hint ? `room-${id}-hint` : ''].filter(Boolean).join(' ') || undefined;

  const peopleHint = t('manage.peopleHint');
  return (
    <section class="page" aria-labelledby="manage-title">
      <h1 id="manage-title">{roomId ? t('manage.editTitle') : t('manage.createTitle')}</h1>
      {roomId && view && (
        <p>
          <a href={href('room', roomId)}>{t('manage.backToRoom', { name: view.name })}</a>
        </p>
      )}
      <form class="grid-form manage" onSubmit={submit} noValidate>
        {field(
          'name',
          t('manage.name'),
          <input
            id="room-name"
            required
            value={form.name}
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={described('name')}
            onInput={(e) => set('name', e.currentTarget.value)}
          />,
        )}
        {field(
          'description',
          t('manage.description'),
          <textarea
            id="room-description"
            rows={2}
            value={form.description}
            aria-describedby={described('description')}
            onInput={(e) => set('description', e.currentTarget.value)}
          />,
        )}
        {roomId
          ? field('category', t('manage.category'), <output id="room-category">{view?.categoryName}</output>)
          : field(
              'category',
              t('manage.category'),
              categories ? (
                <select
                  id="room-category"
                  value={form.category}
                  aria-invalid={errors.category ? true : undefined}
                  aria-describedby={described('category')}
                  onChange={(e) => set('category', (e.currentTarget as HTMLSelectElement).value)}
                >
                  <option value="">{t('manage.pickCategory')}</option>
                  {categories.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  id="room-category"
                  value={form.category}
                  aria-invalid={errors.category ? true : undefined}
                  aria-describedby={described('category', true)}
                  onInput={(e) => set('category', e.currentTarget.value)}
                />
              ),
              categories ? undefined : t('manage.categoryHint'),
            )}
        <span id="room-privacy-label">{t('manage.privacy')}</span>
        <fieldset class="radios field" aria-labelledby="room-privacy-label" aria-describedby={described('privacy')}>
          {(['open', 'closed', 'secret'] as const).map((p) => (
            <label key={p} class="check">
              <input
                type="radio"
                name="privacy"
                value={p}
                checked={form.privacy === p}
                onChange={() => set('privacy', p)}
              />
              {t(`privacy.${p}`)} <span class="muted small">{t(`privacy.${p}Hint`)}</span>
            </label>
          ))}
          {errors.privacy && (
            <span id="room-privacy-error" class="error" role="alert">
              {errors.privacy}
            </span>
          )}
        </fieldset>
        <span id="room-type-label">{t('manage.type')}</span>
        <fieldset class="radios field" aria-labelledby="room-type-label">
          {(['normal', 'auditorium'] as const).map((p) => (
            <label key={p} class="check">
              <input type="radio" name="type" value={p} checked={form.type === p} onChange={() => set('type', p)} />
              {t(`type.${p}`)}
            </label>
          ))}
          {errors.type && (
            <span id="room-type-error" class="error" role="alert">
              {errors.type}
            </span>
          )}
        </fieldset>
        {field(
          'addin',
          t('manage.addin'),
          addins ? (
            <select
              id="room-addin"
              value={form.addin}
              aria-describedby={described('addin')}
              onChange={(e) => set('addin', (e.currentTarget as HTMLSelectElement).value)}
            >
              <option value="">{t('manage.noAddin')}</option>
              {addins.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          ) : (
            <input
              id="room-addin"
              value={form.addin}
              aria-describedby={described('addin')}
              onInput={(e) => set('addin', e.currentTarget.value)}
            />
          ),
        )}
        {field(
          'invitations',
          t('manage.invitations'),
          <select
            id="room-invitations"
            value={form.invitations}
            aria-invalid={errors.invitations ? true : undefined}
            aria-describedby={described('invitations')}
            onChange={(e) => set('invitations', (e.currentTarget as HTMLSelectElement).value as 'inherit' | 'false')}
          >
            <option value="inherit">{t('manage.invitationsInherit')}</option>
            <option value="false">{t('manage.invitationsOff')}</option>
          </select>,
        )}
        {roomId && (
          <>
            <span />
            <label class="check">
              <input
                type="checkbox"
                checked={form.disabled}
                onChange={(e) => set('disabled', e.currentTarget.checked)}
              />
              {t('manage.disabled')}
            </label>
          </>
        )}
        {(['managers', 'members', 'presenters'] as const)
          .filter((k) => k !== 'presenters' || form.type === 'auditorium')
          .map((k) => (
            <Fragment key={k}>
              {field(
                k,
                fullLists ? t(`manage.${k}`) : t(`manage.${k}Add`),
                <textarea
                  id={`room-${k}`}
                  rows={3}
                  value={form[k]}
                  aria-invalid={errors[k] ? true : undefined}
                  aria-describedby={described(k, true)}
                  onInput={(e) => set(k, e.currentTarget.value)}
                />,
                peopleHint,
              )}
              {!fullLists &&
                field(
                  `remove-${k}`,
                  t(`manage.${k}Remove`),
                  <textarea
                    id={`room-remove-${k}`}
                    rows={2}
                    value={
                      form[k === 'members' ? 'removeMembers' : k === 'managers' ? 'removeManagers' : 'removePresenters']
                    }
                    onInput={(e) =>
                      set(
                        k === 'members' ? 'removeMembers' : k === 'managers' ? 'removeManagers' : 'removePresenters',
                        e.currentTarget.value,
                      )
                    }
                  />,
                )}
            </Fragment>
          ))}
        {errors._ && (
          <p class="error form-error" role="alert">
            {errors._}
          </p>
        )}
        {saved && (
          <p class="ok" role="status">
            {saved}
          </p>
        )}
        <span />
        <span class="buttons">
          <button type="submit" disabled={busy}>
            {roomId ? t('save') : t('manage.create')}
          </button>
          {roomId && isAdmin && (
            <button type="button" class="danger" onClick={remove}>
              {t('delete')}
            </button>
          )}
        </span>
      </form>
    </section>
  );
}
