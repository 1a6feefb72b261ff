// Pieces several views share: a printer's state (colour AND words), a job's state, actions on
// a job with the roles that may use them, and a job's timeline.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type PrinterCondition, severity } from '../../../../shared/printer-state.js';
import { post } from '../api.js';
import type { Me } from '../app.js';
import { conditionAction, conditionLabel, formatTime, stateLabel, t } from '../i18n.js';

export interface JobView {
  jobId: string;
  storeId: string;
  printer: string;
  printerId: string | null;
  kind: 'ticket' | 'raw';
  state: string;
  createdAt: string;
  orderRef: { source: string; orderNo: string } | null;
  reprintOf: string | null;
  reprintCount: number;
  cancelRequested: boolean;
  timeline: { state: string; at: string; detail?: string }[];
}

export function PrinterBadge(props: { condition: PrinterCondition; name?: string | null }) {
  return html`<span class=${`badge sev-${severity(props.condition)}`} title=${conditionAction(props.condition)} data-condition=${props.condition}
    >${props.name ? html`<b>${props.name}</b> ` : null}${conditionLabel(props.condition)}</span>`;
}

const STATE_CLASS: Record<string, string> = {
  printed: 'ok',
  failed: 'error',
  uncertain: 'error',
  held: 'warning',
  expired: 'muted',
  cancelled: 'muted',
};

export function StateBadge(props: { state: string }) {
  return html`<span class=${`state st-${STATE_CLASS[props.state] ?? 'busy'}`}>${stateLabel(props.state)}</span>`;
}

const FINAL = ['printed', 'failed', 'expired', 'cancelled', 'uncertain'];

/** The actions the user's role allows on this job in its state; `done` reloads the view. */
export function JobActions(props: { job: JobView; me: Me; done: () => void }) {
  const [msg, setMsg] = useState<string | null>(null);
  if (props.me.role === 'viewer') return null;
  const { job } = props;
  const act = async (path: string, body: unknown = {}) => {
    try {
      await post(`/hq/api/jobs/${encodeURIComponent(job.jobId)}/${path}`, body);
      setMsg(t('done.ok'));
      props.done();
    } catch (err) {
      setMsg(t('error.generic', { m: (err as Error).message }));
    }
  };
  const final = FINAL.includes(job.state);
  return html`<span class="actions">
    ${final ? html`<button onClick=${() => act('reprint')}>${t('job.reprint')}</button>` : null}
    ${!final && job.state !== 'printing' && !job.cancelRequested ? html`<button onClick=${() => act('cancel')}>${t('job.cancel')}</button>` : null}
    ${
      job.state === 'held'
        ? html`<button class="primary" onClick=${() => act('decide', { decision: 'print' })}>${t('job.print')}</button>
          <button onClick=${() => act('decide', { decision: 'discard' })}>${t('job.discard')}</button>`
        : null
    }
    ${msg ? html`<small class="msg">${msg}</small>` : null}
  </span>`;
}

export function Timeline(props: { job: JobView }) {
  return html`<ol class="timeline">
    ${props.job.timeline.map(
      (e) =>
        html`<li><time>${formatTime(e.at)}</time> <${StateBadge} state=${e.state} />${e.detail ? html` <small>${e.detail}</small>` : null}</li>`,
    )}
  </ol>`;
}

export function orderText(job: JobView): string {
  return job.orderRef ? `${job.orderRef.source} ${job.orderRef.orderNo}` : '—';
}
