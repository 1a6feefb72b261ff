// Fleet overview: totals, then stores worst first, a page at a time (the relay pages,
// searches and filters in its database, so 10,000 stores load as fast as ten).
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { FleetPage, FleetTotals } from '../../../store/dashboard-store.js';
import { get } from '../api.js';
import { Link, type Me, navigate } from '../app.js';
import { useLiveData } from '../hooks.js';
import { formatTime, t } from '../i18n.js';
import { PrinterBadge } from './parts.js';

const PAGE = 50;

function Totals() {
  const { data } = useLiveData(() => get<FleetTotals>('/hq/api/overview'), []);
  if (!data) return html`<section class="totals"></section>`;
  const card = (key: keyof FleetTotals, tone: string) =>
    html`<div class=${`total ${data[key] > 0 ? tone : ''}`} data-testid=${`total-${key}`}><b>${data[key]}</b><span>${t(`totals.${key}`)}</span></div>`;
  return html`<section class="totals">
    ${card('storesOnline', 'ok')}${card('storesOffline', 'error')}
    ${card('printersReady', 'ok')}${card('printersWarning', 'warning')}${card('printersError', 'error')}${card('printersUnknown', 'unknown')}
    ${card('jobsWaiting', '')}${card('jobsHeld', 'warning')}${card('jobsFailed', 'error')}${card('jobsUncertain', 'error')}
  </section>`;
}

export function OverviewView(props: { me: Me; url: URL }) {
  const params = props.url.searchParams;
  const q = params.get('q') ?? '';
  const problems = params.get('problems') === '1';
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);
  const [search, setSearch] = useState(q);
  useEffect(() => setSearch(q), [q]);

  const go = (next: { q?: string; problems?: boolean; offset?: number }) => {
    const p = new URLSearchParams();
    const nq = next.q ?? q;
    if (nq) p.set('q', nq);
    if (next.problems ?? problems) p.set('problems', '1');
    const no = next.offset ?? 0;
    if (no > 0) p.set('offset', String(no));
    navigate(`/hq/${p.size ? `?${p}` : ''}`);
  };

  const query = new URLSearchParams({
    q,
    offset: String(offset),
    limit: String(PAGE),
    ...(problems ? { problems: '1' } : {}),
  });
  const { data, error } = useLiveData(() => get<FleetPage>(`/hq/api/stores?${query}`), [q, problems, offset]);

  return html`
    <${Totals} />
    <section class="fleet">
      <form class="filters" onSubmit=${(e: Event) => {
        e.preventDefault();
        go({ q: search });
      }}>
        <input type="search" placeholder=${t('fleet.search')} value=${search} onInput=${(e: Event) => setSearch((e.target as HTMLInputElement).value)} data-testid="search" />
        <label class="check"><input type="checkbox" checked=${problems} onChange=${(e: Event) => go({ problems: (e.target as HTMLInputElement).checked })} data-testid="problems" />${t('fleet.problems')}</label>
      </form>
      ${error ? html`<p class="error">${t('error.generic', { m: error })}</p>` : null}
      ${
        data
          ? html`
          <table class="stores" data-testid="stores">
            <thead><tr><th>${t('fleet.store')}</th><th>${t('fleet.printers')}</th><th>${t('fleet.jobs')}</th><th>${t('fleet.lastSeen')}</th></tr></thead>
            <tbody>
              ${data.stores.map(
                (s) => html`<tr data-store=${s.id}>
                  <td><${Link} href=${`/hq/stores/${encodeURIComponent(s.id)}`}><b>${s.name}</b><//> <small class="id">${s.id}</small>
                    ${s.online ? null : html` <span class="badge sev-error" data-testid="store-offline">${t('store.offline')}</span>`}</td>
                  <td class="printers">${s.printers.length === 0 ? html`<small>${t('store.noPrinters')}</small>` : s.printers.map((p) => html`<${PrinterBadge} name=${p.name ?? p.printerId} condition=${s.online ? p.condition : 'unknown'} />`)}</td>
                  <td>${s.waiting ? html`<span>${t('fleet.waiting', { n: s.waiting })}</span> ` : null}${s.held ? html`<span class="state st-warning">${t('fleet.held', { n: s.held })}</span>` : null}</td>
                  <td><small>${formatTime(s.lastSeenAt)}</small></td>
                </tr>`,
              )}
            </tbody>
          </table>
          ${data.stores.length === 0 ? html`<p class="empty">${t('fleet.none')}</p>` : null}
          <div class="pager">
            <button disabled=${offset === 0} onClick=${() => go({ offset: Math.max(0, offset - PAGE) })}>${t('fleet.prev')}</button>
            <span data-testid="page">${t('fleet.page', { from: data.total === 0 ? 0 : offset + 1, to: offset + data.stores.length, total: data.total })}</span>
            <button disabled=${offset + PAGE >= data.total} onClick=${() => go({ offset: offset + PAGE })}>${t('fleet.next')}</button>
          </div>`
          : null
      }
    </section>`;
}
