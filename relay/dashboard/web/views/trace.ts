// Job trace: an order's tickets by order number (and source), each with its timeline and a
// picture of the ticket as the printer printed it. An order sent as order data (POST /v1/orders)
// shows above them: its state, its tickets by name, and any template that failed (the built-in
// layout printed that ticket instead).
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { Link, type Me, navigate } from '../app.js';
import { useLiveData } from '../hooks.js';
import { formatTime, t, ticketLabel } from '../i18n.js';
import { JobActions, type JobView, orderText, StateBadge, Timeline } from './parts.js';

interface OrderView {
  storeId: string;
  source: string;
  orderNo: string;
  state: string;
  tickets: { ticket: string; printer: string; jobId: string; state: string; warning?: string }[];
}

const ORDER_STATE_CLASS: Record<string, string> = {
  printed: 'ok',
  failed: 'error',
  uncertain: 'error',
  cancelled: 'muted',
};

function OrderCard(props: { order: OrderView }) {
  const { order } = props;
  return html`<section class="card order" data-testid="order" data-order-state=${order.state}>
    <h2>${t('order.title', { no: `${order.source} ${order.orderNo}` })}
      <span class=${`state st-${ORDER_STATE_CLASS[order.state] ?? 'busy'}`}>${t(`order.state.${order.state}` as Parameters<typeof t>[0])}</span></h2>
    <p>${t('order.store')} <${Link} href=${`/hq/stores/${encodeURIComponent(order.storeId)}`}>${order.storeId}<//> · ${t('order.tickets', { n: order.tickets.length })}</p>
    <ul class="order-tickets">
      ${order.tickets.map(
        (tk) => html`<li data-ticket=${tk.ticket}>
          <b>${ticketLabel(tk.ticket)}</b> → ${tk.printer} <${StateBadge} state=${tk.state} />
          ${tk.warning ? html`<p class="warn" data-testid="template-warning">${t('order.templateFailed')}${tk.warning}</p>` : null}
        </li>`,
      )}
    </ul>
  </section>`;
}

export function TraceView(props: { me: Me; url: URL }) {
  const orderNo = props.url.searchParams.get('orderNo') ?? '';
  const source = props.url.searchParams.get('source') ?? '';
  const [form, setForm] = useState({ orderNo, source });
  useEffect(() => setForm({ orderNo, source }), [orderNo, source]);
  const { data, error, reload } = useLiveData(
    async () => {
      if (!orderNo) return null;
      const q = new URLSearchParams({ orderNo, source });
      const [{ jobs }, { orders }] = await Promise.all([
        get<{ jobs: JobView[] }>(`/hq/api/jobs?${q}`),
        get<{ orders: OrderView[] }>(`/hq/api/orders?${q}`),
      ]);
      return { jobs, orders };
    },
    [orderNo, source],
    (c) => c.type === 'job',
  );
  const submit = (e: Event) => {
    e.preventDefault();
    const p = new URLSearchParams({ orderNo: form.orderNo.trim() });
    if (form.source.trim()) p.set('source', form.source.trim());
    navigate(`/hq/trace?${p}`);
  };
  return html`
    <h1>${t('trace.title')}</h1>
    <form class="filters" onSubmit=${submit}>
      <input name="orderNo" placeholder=${t('trace.orderNo')} value=${form.orderNo} required data-testid="order-no"
        onInput=${(e: Event) => setForm({ ...form, orderNo: (e.target as HTMLInputElement).value })} />
      <input name="source" placeholder=${t('trace.source')} value=${form.source}
        onInput=${(e: Event) => setForm({ ...form, source: (e.target as HTMLInputElement).value })} />
      <button type="submit" class="primary">${t('trace.find')}</button>
    </form>
    ${error ? html`<p class="error">${t('error.generic', { m: error })}</p>` : null}
    ${data && data.jobs.length === 0 ? html`<p class="empty">${t('trace.none')}</p>` : null}
    ${data?.orders.map((o) => html`<${OrderCard} order=${o} />`)}
    ${data && data.jobs.length > 0 ? html`<p>${t('trace.tickets', { n: data.jobs.length })}</p>` : null}
    ${data?.jobs.map((j) => {
      const ticket = data.orders.flatMap((o) => o.tickets).find((tk) => tk.jobId === j.jobId);
      return html`<section class="card ticket" data-job=${j.jobId}>
        <div class="ticket-info">
          <h2>${ticket ? html`${ticketLabel(ticket.ticket)} · ` : null}${orderText(j)} <${StateBadge} state=${j.state} /></h2>
          ${ticket?.warning ? html`<p class="warn">${t('order.templateFailed')}${ticket.warning}</p>` : null}
          <p><${Link} href=${`/hq/stores/${encodeURIComponent(j.storeId)}`}>${j.storeId}<//> · ${j.printerId ?? j.printer} · <small>${formatTime(j.createdAt)}</small>
            ${j.reprintOf ? html` · <small>${t('job.reprintOf', { n: j.reprintCount })}</small>` : null}</p>
          <${Timeline} job=${j} />
          <${JobActions} job=${j} me=${props.me} done=${reload} />
        </div>
        <figure>
          <figcaption>${t('job.picture')}</figcaption>
          ${
            j.kind === 'ticket'
              ? html`<img class="paper" src=${`/hq/api/jobs/${encodeURIComponent(j.jobId)}/picture.svg`} alt=${t('job.picture')} data-testid="ticket-picture" />`
              : html`<p class="empty">${t('job.noPicture')}</p>`
          }
        </figure>
      </section>`;
    })}`;
}
