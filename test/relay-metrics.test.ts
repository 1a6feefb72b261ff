// The relay's /metrics (Prometheus text) and /readyz, on a real relay process with a real
// agent and virtual printer: who may read the metrics, and that they move as jobs print.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2e, markedJob, waitFor } from './support/e2e.js';
import { parseExposition, type Sample, value } from './support/prometheus.js';

const e2e = new E2e();
let sys: Awaited<ReturnType<typeof system>>;
beforeAll(async () => {
  sys = await system();
}, 60_000);
afterAll(() => e2e.close());

async function system() {
  const { relay, api } = await e2e.relay();
  return { relay, api, ...(await e2e.store(relay, api, 'm1')) };
}

async function scrape(key = sys.api.key): Promise<Sample[]> {
  const res = await fetch(`${sys.relay.httpUrl}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe('relay metrics and readiness', { timeout: 60_000 }, () => {
  it('is ready while its store answers and its broker listens', async () => {
    const res = await fetch(`${sys.relay.httpUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, checks: { store: 'ok', broker: 'ok' } });
  });

  it('gives metrics only to a key for every store', async () => {
    expect((await fetch(`${sys.relay.httpUrl}/metrics`)).status).toBe(401);
    const scoped = await sys.relay.addKey(['m1']);
    const res = await fetch(`${sys.relay.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${scoped}` },
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toContain('--stores all');
  });

  it('counts jobs as they are accepted and printed, and shows the fleet', async () => {
    // The agent reports its printer just after it comes online.
    const before = await waitFor(async () => {
      const s = await scrape();
      return value(s, 'printrelay_fleet', { what: 'printersReady' }) === 1 ? s : null;
    }, 'the printer ready in the metrics');
    expect(value(before, 'printrelay_fleet', { what: 'storesOnline' })).toBe(1);
    expect(value(before, 'printrelay_fleet', { what: 'printersError' })).toBe(0);
    expect(value(before, 'printrelay_webhook_backlog')).toBe(0);

    const ids = [];
    for (const marker of ['MET-1', 'MET-2', 'MET-3'])
      ids.push(await sys.api.submit(markedJob('m1', marker), marker));
    for (const id of ids) await sys.api.waitForState(id, 'printed');

    // The printed transitions are committed before the job reads printed; the counters follow them.
    const after = await waitFor(async () => {
      const s = await scrape();
      return value(s, 'printrelay_job_print_seconds_count') -
        value(before, 'printrelay_job_print_seconds_count') ===
        3
        ? s
        : null;
    }, 'three printed jobs in the metrics');
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    expect(delta('printrelay_job_accept_seconds_count')).toBe(3);
    expect(delta('printrelay_job_transitions_total', { state: 'accepted' })).toBe(3);
    expect(delta('printrelay_job_transitions_total', { state: 'printed' })).toBe(3);
    expect(delta('printrelay_job_transitions_total', { state: 'failed' })).toBe(0);
    // Every uplink event was timed: at least received, printing and printed for each job.
    expect(delta('printrelay_uplink_lag_seconds_count')).toBeGreaterThanOrEqual(9);
    // Printing took more than nothing and less than the test.
    expect(delta('printrelay_job_print_seconds_sum')).toBeGreaterThan(0);
    expect(delta('printrelay_job_print_seconds_sum')).toBeLessThan(60 * 3);
    expect(value(after, 'printrelay_fleet', { what: 'jobsWaiting' })).toBe(0);
    // The process metrics are there too.
    expect(value(after, 'printrelay_relay_process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
