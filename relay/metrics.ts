// The relay's Prometheus metrics (GET /metrics, docs/metrics.md). Gauges of the fleet are read
// from the store at scrape time through the same query as the HQ dashboard's overview, so that
// every relay process of a cluster reports the same fleet; latencies and counts of what this
// process did are its own (Prometheus adds them up across processes).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_STATES } from '../protocol/job.js';
import type { StoreChange } from './store/changes.js';
import type { RelayStore } from './store/job-store.js';

/** Failed and uncertain jobs are counted over this window, as the dashboard does. */
const PROBLEM_WINDOW_MS = 24 * 3600_000;

export class RelayMetrics {
  readonly registry = new Registry();
  readonly #accept: Histogram;
  readonly #print: Histogram;
  readonly #uplinkLag: Histogram;
  readonly #transitions: Counter<'state'>;

  constructor(store: RelayStore) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'printrelay_relay_' });
    this.#accept = new Histogram({
      name: 'printrelay_job_accept_seconds',
      help: 'POST /v1/jobs answered 201: from the request to the answer (the job is committed by then).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#print = new Histogram({
      name: 'printrelay_job_print_seconds',
      help: 'From a job accepted to its printer confirming it printed (the agent reports when, by its clock).',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    this.#uplinkLag = new Histogram({
      name: 'printrelay_uplink_lag_seconds',
      help: 'From an agent event (by the agent clock) to the relay handling it: offline backlog, queueing, clock skew.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600],
      registers,
    });
    this.#transitions = new Counter({
      name: 'printrelay_job_transitions_total',
      help: 'Job state changes committed by this relay process, by the state entered.',
      labelNames: ['state'],
      registers,
    });
    for (const state of JOB_STATES) this.#transitions.inc({ state }, 0);

    new Gauge({
      name: 'printrelay_fleet',
      help: 'The fleet now, as the HQ dashboard shows it (failed and uncertain: jobs of the last 24 hours).',
      labelNames: ['what'],
      registers,
      async collect() {
        const t = await store.dashboard.fleetTotals('all', Date.now() - PROBLEM_WINDOW_MS);
        for (const [what, value] of Object.entries(t)) this.set({ what }, value);
      },
    });
    new Gauge({
      name: 'printrelay_webhook_backlog',
      help: 'Webhook deliveries not yet done (waiting for their next attempt).',
      registers,
      async collect() {
        this.set(await store.pendingDeliveries());
      },
    });
  }

  /** A 201 to POST /v1/jobs, `seconds` after the request arrived. */
  accepted(seconds: number): void {
    this.#accept.observe(seconds);
  }

  /** An agent event handled, `seconds` after the agent says it happened. */
  uplinkEvent(seconds: number): void {
    this.#uplinkLag.observe(Math.max(0, seconds));
  }

  /** Feed of committed changes (store.changes). */
  change(change: StoreChange): void {
    if (change.type !== 'job') return;
    this.#transitions.inc({ state: change.state });
    if (change.state === 'printed') this.#print.observe(Math.max(0, (change.at - change.createdAt) / 1000));
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ type: string; body: string }> {
    return { type: this.registry.contentType, body: await this.registry.metrics() };
  }
}
