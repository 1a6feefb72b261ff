// The ticket template editor: the template in use for a kind (HQ's or a store's own), its JSON
// to edit with a live picture of the sample order laid out on 58 or 80 mm paper, the problems
// that keep it from being saved (with where they are), saving, and rolling back to a version.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, get, post } from '../api.js';
import { type Me, navigate } from '../app.js';
import { formatTime, t, ticketLabel } from '../i18n.js';

const KINDS = ['receipt', 'kitchen', 'label', 'change', 'cancel'] as const;
/** Typing pauses this long before the preview is asked for. */
const PREVIEW_DELAY_MS = 300;

interface Problem {
  path: string;
  message: string;
}

interface TemplateState {
  kind: string;
  storeId: string | null;
  inUse: { from: 'store' | 'hq' | 'built-in'; version: number | null; template: unknown };
  versions: { version: number; savedBy: string; savedAt: number; comment: string | null }[];
  mayChange: boolean;
}

interface Preview {
  paper: string;
  svg: string | null;
  problems: Problem[];
}

const pretty = (template: unknown) => JSON.stringify(template, null, 2);

function ProblemList(props: { problems: Problem[] }) {
  return html`<ul class="problems" data-testid="template-problems">
    ${props.problems.map((p) => html`<li><code>${p.path || '/'}</code> ${p.message}</li>`)}
  </ul>`;
}

export function TemplatesView(props: { me: Me; url: URL }) {
  const kind = props.url.searchParams.get('kind') ?? 'kitchen';
  const storeId = props.url.searchParams.get('store') ?? '';
  const query = storeId ? `?${new URLSearchParams({ storeId })}` : '';
  const [form, setForm] = useState({ kind, storeId });
  const [state, setState] = useState<TemplateState | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [source, setSource] = useState('');
  const [paper, setPaper] = useState<'58' | '80'>('80');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [comment, setComment] = useState('');

  const show = (s: TemplateState) => {
    setState(s);
    setSource(pretty(s.inUse.template));
  };

  useEffect(() => {
    setForm({ kind, storeId });
    setMessage(null);
    setState(null);
    get<TemplateState>(`/hq/api/templates/${encodeURIComponent(kind)}${query}`).then(
      (s) => {
        show(s);
        setLoadError(null);
      },
      (e: Error) => setLoadError(e.message),
    );
  }, [kind, storeId]);

  // The preview follows the text as it is typed, one request after each pause.
  useEffect(() => {
    if (!state) return;
    let template: unknown;
    try {
      template = JSON.parse(source);
      setJsonError(null);
    } catch (err) {
      setJsonError((err as Error).message);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      post<Preview>(`/hq/api/templates/${encodeURIComponent(kind)}/preview`, { template, paper }).then(
        (p) => current && setPreview(p),
        (e: Error) =>
          current && setPreview({ paper, svg: null, problems: [{ path: '/', message: e.message }] }),
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [source, paper, state]);

  const open = (e: Event) => {
    e.preventDefault();
    const p = new URLSearchParams({ kind: form.kind });
    if (form.storeId.trim()) p.set('store', form.storeId.trim());
    navigate(`/hq/templates?${p}`);
  };

  const act = async (run: () => Promise<TemplateState>, done: (s: TemplateState) => string) => {
    try {
      const s = await run();
      show(s);
      setComment('');
      setMessage({ ok: true, text: done(s) });
    } catch (err) {
      setMessage({ ok: false, text: t('error.generic', { m: (err as Error).message }) });
    }
  };
  const save = () =>
    act(
      () =>
        api<TemplateState>('PUT', `/hq/api/templates/${encodeURIComponent(kind)}${query}`, {
          template: JSON.parse(source),
          ...(comment.trim() ? { comment: comment.trim() } : {}),
        }),
      (s) => t('templates.saved', { v: s.versions[0]?.version ?? '' }),
    );
  const rollback = (version: number) =>
    act(
      () =>
        post<TemplateState>(`/hq/api/templates/${encodeURIComponent(kind)}/rollback${query}`, { version }),
      (s) => t('templates.rolledBack', { v: version, n: s.versions[0]?.version ?? '' }),
    );

  const problems = preview?.problems ?? [];
  const canSave = state?.mayChange && !jsonError && problems.length === 0 && preview?.svg;
  const inUse = state ? t(`templates.from.${state.inUse.from}`, { v: state.inUse.version ?? '' }) : '';

  return html`
    <h1>${t('templates.title')}</h1>
    <p class="intro">${t('templates.intro')}</p>
    <form class="filters" onSubmit=${open}>
      <label>${t('templates.kind')}
        <select name="kind" value=${form.kind} data-testid="template-kind"
          onChange=${(e: Event) => setForm({ ...form, kind: (e.target as HTMLSelectElement).value })}>
          ${KINDS.map((k) => html`<option value=${k}>${ticketLabel(k)} (${k})</option>`)}
        </select>
      </label>
      <label>${t('templates.store')}
        <input name="store" placeholder=${t('templates.storeHint')} value=${form.storeId} data-testid="template-store"
          onInput=${(e: Event) => setForm({ ...form, storeId: (e.target as HTMLInputElement).value })} />
      </label>
      <button type="submit">${t('templates.show')}</button>
    </form>
    ${loadError ? html`<p class="error">${t('error.generic', { m: loadError })}</p>` : null}
    ${
      state
        ? html`<p data-testid="template-in-use">${t('templates.inUse', { from: inUse })}${
            state.mayChange ? null : html` · <small>${t('templates.readOnly')}</small>`
          }</p>
      <div class="editor">
        <section class="card">
          <h2>${t('templates.json')}</h2>
          <textarea class="code" spellcheck="false" data-testid="template-json" value=${source}
            onInput=${(e: Event) => setSource((e.target as HTMLTextAreaElement).value)}></textarea>
          ${jsonError ? html`<p class="error" data-testid="template-json-error">${t('templates.jsonError', { m: jsonError })}</p>` : null}
          ${
            !jsonError && problems.length > 0
              ? html`<div class="error"><p>${t('templates.problems')}</p><${ProblemList} problems=${problems} /></div>`
              : null
          }
          ${
            state.mayChange
              ? html`<div class="save">
                <input placeholder=${t('templates.comment')} value=${comment} maxLength="200"
                  onInput=${(e: Event) => setComment((e.target as HTMLInputElement).value)} />
                <button class="primary" disabled=${!canSave} onClick=${save} data-testid="template-save">${t('templates.save')}</button>
              </div>`
              : null
          }
          ${message ? html`<p class=${message.ok ? 'msg' : 'error'} data-testid="template-message">${message.text}</p>` : null}
          <h3>${t('templates.versions')}</h3>
          ${
            state.versions.length === 0
              ? html`<p class="empty">${t('templates.noVersions')}</p>`
              : html`<table class="versions" data-testid="template-versions">
                <thead><tr><th>${t('templates.version')}</th><th>${t('templates.savedBy')}</th><th>${t('templates.savedAt')}</th><th></th></tr></thead>
                <tbody>${state.versions.map(
                  (v, i) => html`<tr data-version=${v.version}>
                    <td>${v.version}${v.comment ? html` <small>${v.comment}</small>` : null}</td>
                    <td>${v.savedBy}</td><td>${formatTime(v.savedAt)}</td>
                    <td>${
                      state.mayChange && i > 0
                        ? html`<button onClick=${() => rollback(v.version)}>${t('templates.rollback')}</button>`
                        : null
                    }</td></tr>`,
                )}</tbody></table>`
          }
        </section>
        <section class="card preview">
          <h2>${t('templates.preview')}</h2>
          <div class="paper-choice" role="group" aria-label=${t('templates.paper')}>
            ${(['58', '80'] as const).map(
              (w) =>
                html`<button class=${paper === w ? 'primary' : ''} aria-pressed=${paper === w} data-testid=${`paper-${w}`}
                  onClick=${() => setPaper(w)}>${t('templates.mm', { w })}</button>`,
            )}
          </div>
          ${
            preview?.svg
              ? html`<img class=${`paper paper-${preview.paper}`} data-testid="template-preview" data-paper=${preview.paper} alt=${t('templates.preview')}
                  src=${`data:image/svg+xml;charset=utf-8,${encodeURIComponent(preview.svg)}`} />`
              : null
          }
        </section>
      </div>`
        : null
    }`;
}
