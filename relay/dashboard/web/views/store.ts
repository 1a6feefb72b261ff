// One store: its agent, each printer with its state, status history, queue and paper used,
// and its recent jobs with the actions the user's role allows.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type PrinterCondition, severity } from '../../../../shared/printer-state.js';
import type { PrinterTransition } from '../../../store/dashboard-store.js';
import { get, post } from '../api.js';
import { Link, type Me } from '../app.js';
import { useLiveData } from '../hooks.js';
import { conditionAction, conditionLabel, formatTime, t } from '../i18n.js';
import { JobActions, type JobView, orderText, PrinterBadge, StateBadge } from './parts.js';

interface StoreDetail {
  store: {
    id: string;
    name: string;
    online: boolean;
    lastSeenAt: number | null;
    agentVersion: string | null;
    uptimeSeconds: number | null;
  };
  printers: {
    printerId: string;
    name: string | null;
    roles: string[];
    profile: string | null;
    condition: PrinterCondition;
    statusAt: number | null;
    health: { queueDepth: number; printedJobs: number; paperUsedMm: number } | null;
    history: PrinterTransition[];
    queue: JobView[];
  }[];
  recentJobs: JobView[];
}

function duration(seconds: number): string {
  return t('store.uptimeValue', { h: Math.floor(seconds / 3600), m: Math.floor((seconds % 3600) / 60) });
}

function TestPrint(props: { storeId: string; printerId: string; done: () => void }) {
  const [msg, setMsg] = useState<string | null>(null);
  const click = async () => {
    try {
      await post(`/hq/api/stores/${encodeURIComponent(props.storeId)}/test-print`, {
        printer: props.printerId,
      });
      setMsg(t('done.ok'));
      props.done();
    } catch (err) {
      setMsg(t('error.generic', { m: (err as Error).message }));
    }
  };
  return html`<button onClick=${click}>${t('store.testPrint')}</button>${msg ? html` <small class="msg">${msg}</small>` : null}`;
}

export function StoreView(props: { id: string; me: Me }) {
  const { data, error, reload } = useLiveData(
    () => get<StoreDetail>(`/hq/api/stores/${encodeURIComponent(props.id)}`),
    [props.id],
    (c) => c.storeId === props.id,
  );
  if (error) return html`<p class="error">${t('error.generic', { m: error })}</p>`;
  if (!data) return null;
  const { store } = data;
  const mayAct = props.me.role !== 'viewer';
  return html`
    <p><${Link} href="/hq/">${t('store.back')}<//></p>
    <h1>${store.name} <small class="id">${store.id}</small>
      <span class=${`badge ${store.online ? 'sev-ok' : 'sev-error'}`} data-testid="store-presence">${store.online ? t('store.online') : t('store.offline')}</span></h1>
    <section class="card agent">
      <h2>${t('store.agent')}</h2>
      <dl>
        <dt>${t('store.version')}</dt><dd>${store.agentVersion ?? '—'}</dd>
        <dt>${t('store.link')}</dt><dd>${store.online ? t('store.linkUp') : t('store.linkDown')}</dd>
        <dt>${t('store.lastSeen')}</dt><dd>${formatTime(store.lastSeenAt)}</dd>
        ${store.uptimeSeconds !== null && store.online ? html`<dt>${t('store.uptime')}</dt><dd>${duration(store.uptimeSeconds)}</dd>` : null}
      </dl>
    </section>
    ${data.printers.length === 0 ? html`<p class="empty">${t('store.noPrinters')}</p>` : null}
    <div class="printer-grid">
    ${data.printers.map(
      (p) => html`<section class="card printer" data-printer=${p.printerId}>
        <h2>${p.name ?? p.printerId} <small class="id">${p.printerId}${p.profile ? ` · ${p.profile}` : ''}</small></h2>
        <p><${PrinterBadge} condition=${p.condition} /> <small>${conditionAction(p.condition)}</small></p>
        <dl>
          <dt>${t('store.paper')}</dt><dd>${p.health ? t('store.paperValue', { m: (p.health.paperUsedMm / 1000).toFixed(2) }) : '—'}</dd>
          <dt>${t('store.printed')}</dt><dd>${p.health?.printedJobs ?? '—'}</dd>
        </dl>
        ${mayAct && store.online ? html`<p><${TestPrint} storeId=${store.id} printerId=${p.printerId} done=${reload} /></p>` : null}
        <h3>${t('store.queue')}</h3>
        ${
          p.queue.length === 0
            ? html`<p class="empty">${t('store.queueEmpty')}</p>`
            : html`<ul class="queue">${p.queue.map((j) => html`<li><${StateBadge} state=${j.state} /> ${orderText(j)} <${JobActions} job=${j} me=${props.me} done=${reload} /></li>`)}</ul>`
        }
        <h3>${t('store.history')}</h3>
        ${
          p.history.length === 0
            ? html`<p class="empty">${t('store.noHistory')}</p>`
            : html`<ol class="history">${p.history.slice(0, 12).map((h) => html`<li><time>${formatTime(h.at)}</time> <span class=${`dot sev-${severity(h.condition)}`}></span>${conditionLabel(h.condition)}</li>`)}</ol>`
        }
      </section>`,
    )}
    </div>
    <section class="card">
      <h2>${t('store.recent')}</h2>
      <table class="jobs">
        <thead><tr><th>${t('job.created')}</th><th>${t('job.order')}</th><th>${t('job.printer')}</th><th>${t('job.state')}</th><th></th></tr></thead>
        <tbody>
          ${data.recentJobs.map(
            (j) => html`<tr>
              <td><small>${formatTime(j.createdAt)}</small></td>
              <td>${j.orderRef ? html`<${Link} href=${`/hq/trace?orderNo=${encodeURIComponent(j.orderRef.orderNo)}&source=${encodeURIComponent(j.orderRef.source)}`}>${orderText(j)}<//>` : '—'}
                ${j.reprintOf ? html` <small>${t('job.reprintOf', { n: j.reprintCount })}</small>` : null}</td>
              <td>${j.printerId ?? j.printer}</td>
              <td><${StateBadge} state=${j.state} /></td>
              <td><${JobActions} job=${j} me=${props.me} done=${reload} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
}
