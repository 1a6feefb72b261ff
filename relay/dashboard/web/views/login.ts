import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiError, post } from '../api.js';
import { t } from '../i18n.js';

export function LoginView(props: { next: string | null }) {
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    try {
      await post('/hq/api/login', { name: form.get('name'), password: form.get('password') });
      // Only a path on this site: never an address someone put in the link.
      const next = props.next?.startsWith('/hq/') ? props.next : '/hq/';
      location.assign(next);
    } catch (err) {
      const retry = err instanceof ApiError && err.status === 429 ? err.retryAfter : null;
      setError(retry !== null ? t('login.slow', { s: retry }) : t('login.wrong'));
    }
  };
  return html`
    <form class="login card" onSubmit=${submit}>
      <h1>${t('login.title')}</h1>
      <label>${t('login.name')}<input name="name" autocomplete="username" required autofocus /></label>
      <label>${t('login.password')}<input name="password" type="password" autocomplete="current-password" required /></label>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" class="primary">${t('login.submit')}</button>
    </form>`;
}
