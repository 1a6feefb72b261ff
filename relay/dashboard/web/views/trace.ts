// Job trace: an order's tickets by order number (and source), each with its timeline and a
// picture of the ticket as the printer printed it.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.js';
import { Link, type Me, navigate } from '../app.js';
import { useLiveData } from '../hooks.js';
import { formatTime, t } from '../i18n.js';
import { JobActions, type JobView, orderText, StateBadge, Timeline } from './parts.js';

export function TraceView(props: { me: Me; url: URL }) {
  const orderNo = props.url.searchParams.get('orderNo') ?? '';
  const source = props.url.searchParams.get('source') ?? '';
  const [form, setForm] = useState({ orderNo, source });
  useEffect(() => setForm({ orderNo, source }), [orderNo, source]);
  const { data, error, reload } = useLiveData(
    async () =>
      orderNo ? get<{ jobs: JobView[] }>(`/hq/api/jobs?${new URLSearchParams({ orderNo, source })}`) : null,
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
    ${data && data.jobs.length > 0 ? html`<p>${t('trace.tickets', { n: data.jobs.length })}</p>` : null}
    ${data?.jobs.map(
      (j) => html`<section class="card ticket" data-job=${j.jobId}>
        <div class="ticket-info">
          <h2>${orderText(j)} <${StateBadge} state=${j.state} /></h2>
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
      </section>`,
    )}`;
}
