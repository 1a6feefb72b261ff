// Administration (admins only; the relay checks again): new stores with their one-time
// credentials, API keys, webhooks, dashboard users, and the audit log.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { AuditRecord } from '../../../store/dashboard-store.js';
import { api, get, post } from '../api.js';
import type { Me } from '../app.js';
import { useLiveData } from '../hooks.js';
import { auditAction, formatTime, t } from '../i18n.js';

const scopeOf = (text: string) =>
  text.trim() === '' || text.trim() === 'all'
    ? 'all'
    : text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

const scopeText = (stores: 'all' | string[]) => (stores === 'all' ? t('admin.allStores') : stores.join(', '));

function useForm<T>(submit: (values: Record<string, string>) => Promise<T>) {
  const [result, setResult] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const values = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v)]));
    try {
      setResult(await submit(values));
      setError(null);
      form.reset();
    } catch (err) {
      setError(t('error.generic', { m: (err as Error).message }));
    }
  };
  return { result, error, onSubmit };
}

function NewStore() {
  const f = useForm((v) =>
    post<{
      store: { id: string };
      credentials: { username: string; password: string };
      enrolment: { code: string };
    }>('/hq/api/stores', { id: v.id, name: v.name }),
  );
  return html`<section class="card">
    <h2>${t('admin.stores')}</h2>
    <form class="inline" onSubmit=${f.onSubmit}>
      <input name="id" placeholder=${t('admin.storeId')} required /><input name="name" placeholder=${t('admin.storeName')} required />
      <button class="primary">${t('admin.create')}</button>
    </form>
    ${f.error ? html`<p class="error">${f.error}</p>` : null}
    ${
      f.result
        ? html`<div class="secret" data-testid="new-store-secret"><p>${t('admin.shownOnce')}</p>
          <dl><dt>${t('admin.storeId')}</dt><dd>${f.result.store.id}</dd>
          <dt>${t('admin.password')}</dt><dd><code>${f.result.credentials.password}</code></dd>
          <dt>${t('admin.enrolment')}</dt><dd><code>${f.result.enrolment.code}</code></dd></dl></div>`
        : null
    }
  </section>`;
}

function Keys() {
  const list = useLiveData(
    () =>
      get<{ keys: { id: string; name: string; stores: 'all' | string[]; revokedAt: number | null }[] }>(
        '/hq/api/keys',
      ),
    [],
    () => false,
  );
  const f = useForm(async (v) => {
    const r = await post<{ id: string; key: string }>('/hq/api/keys', {
      name: v.name,
      stores: scopeOf(v.stores ?? ''),
    });
    list.reload();
    return r;
  });
  const revoke = async (id: string) => {
    await post(`/hq/api/keys/${id}/revoke`);
    list.reload();
  };
  return html`<section class="card">
    <h2>${t('admin.keys')}</h2>
    <form class="inline" onSubmit=${f.onSubmit}>
      <input name="name" placeholder=${t('admin.keyName')} required /><input name="stores" placeholder=${t('admin.scope')} />
      <button class="primary">${t('admin.create')}</button>
    </form>
    ${f.error ? html`<p class="error">${f.error}</p>` : null}
    ${f.result ? html`<div class="secret"><p>${t('admin.shownOnce')}</p><code>${f.result.key}</code></div>` : null}
    <ul>${list.data?.keys.map(
      (k) => html`<li><code>${k.id}</code> ${k.name} <small>${scopeText(k.stores)}</small>
        ${k.revokedAt ? html` <small>${t('admin.revoked')}</small>` : html` <button onClick=${() => revoke(k.id)}>${t('admin.revoke')}</button>`}</li>`,
    )}</ul>
  </section>`;
}

function Webhooks() {
  const list = useLiveData(
    () =>
      get<{ webhooks: { id: string; url: string; events: string[]; stores: 'all' | string[] }[] }>(
        '/hq/api/webhooks',
      ),
    [],
    () => false,
  );
  const f = useForm(async (v) => {
    const r = await post<{ id: string; secret: string }>('/hq/api/webhooks', {
      url: v.url,
      stores: scopeOf(v.stores ?? ''),
    });
    list.reload();
    return r;
  });
  const remove = async (id: string) => {
    await api('DELETE', `/hq/api/webhooks/${id}`);
    list.reload();
  };
  return html`<section class="card">
    <h2>${t('admin.webhooks')}</h2>
    <form class="inline" onSubmit=${f.onSubmit}>
      <input name="url" type="url" placeholder="https://..." required /><input name="stores" placeholder=${t('admin.scope')} />
      <button class="primary">${t('admin.create')}</button>
    </form>
    ${f.error ? html`<p class="error">${f.error}</p>` : null}
    ${f.result ? html`<div class="secret"><p>${t('admin.shownOnce')}</p><code>${f.result.secret}</code></div>` : null}
    <ul>${list.data?.webhooks.map(
      (h) =>
        html`<li><code>${h.id}</code> ${h.url} <small>${h.events.join(', ')}</small> <button onClick=${() => remove(h.id)}>${t('admin.remove')}</button></li>`,
    )}</ul>
  </section>`;
}

function Users(props: { me: Me }) {
  const list = useLiveData(
    () => get<{ users: { name: string; role: Me['role']; stores: 'all' | string[] }[] }>('/hq/api/users'),
    [],
    () => false,
  );
  const f = useForm(async (v) => {
    const r = await post<{ name: string; password: string }>('/hq/api/users', {
      name: v.name,
      role: v.role,
      stores: scopeOf(v.stores ?? ''),
    });
    list.reload();
    return r;
  });
  const remove = async (name: string) => {
    await api('DELETE', `/hq/api/users/${encodeURIComponent(name)}`);
    list.reload();
  };
  return html`<section class="card">
    <h2>${t('admin.users')}</h2>
    <form class="inline" onSubmit=${f.onSubmit}>
      <input name="name" placeholder=${t('admin.userName')} required />
      <select name="role">${(['viewer', 'operator', 'admin'] as const).map((r) => html`<option value=${r}>${t(`role.${r}`)}</option>`)}</select>
      <input name="stores" placeholder=${t('admin.scope')} />
      <button class="primary">${t('admin.create')}</button>
    </form>
    ${f.error ? html`<p class="error">${f.error}</p>` : null}
    ${f.result ? html`<div class="secret"><p>${t('admin.shownOnce')}</p>${f.result.name}: <code>${f.result.password}</code></div>` : null}
    <ul>${list.data?.users.map(
      (u) => html`<li><b>${u.name}</b> ${t(`role.${u.role}`)} <small>${scopeText(u.stores)}</small>
        ${u.name === props.me.name ? null : html` <button onClick=${() => remove(u.name)}>${t('admin.remove')}</button>`}</li>`,
    )}</ul>
  </section>`;
}

function Audit() {
  const { data } = useLiveData(
    () => get<{ entries: AuditRecord[] }>('/hq/api/audit'),
    [],
    (c) => c.type === 'job',
  );
  return html`<section class="card">
    <h2>${t('admin.audit')}</h2>
    <table class="jobs" data-testid="audit">
      <thead><tr><th>${t('admin.when')}</th><th>${t('admin.who')}</th><th>${t('admin.what')}</th><th></th></tr></thead>
      <tbody>${data?.entries.map(
        (
          e,
        ) => html`<tr><td><small>${formatTime(e.at)}</small></td><td>${e.user}</td><td title=${e.action}>${auditAction(e.action)}</td>
          <td><small>${[e.storeId, e.target, e.detail].filter(Boolean).join(' · ')}</small></td></tr>`,
      )}</tbody>
    </table>
  </section>`;
}

export function AdminView(props: { me: Me }) {
  return html`<div class="admin">
    <${NewStore} /><${Users} me=${props.me} /><${Keys} /><${Webhooks} /><${Audit} />
  </div>`;
}
