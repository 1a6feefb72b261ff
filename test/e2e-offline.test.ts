// End to end while the store is offline: the relay keeps what it accepted and the agent
// prints it when it comes back; a job whose time ran out meanwhile never prints.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, E2e, markedJob, type RelayProcess, ticketsWith, waitFor } from './support/e2e.js';

// One relay for the file; each test has a store, printer and agent of its own.
const shared = new E2e();
let relay: RelayProcess;
let api: ApiClient;
beforeAll(async () => {
  ({ relay, api } = await shared.relay());
}, 60_000);
afterAll(() => shared.close());
const e2e = new E2e();
afterEach(() => e2e.close());

/** A store with its printer; its agent was up once and is stopped now. */
async function offlineStore(storeId: string) {
  const { printer, agent } = await e2e.store(relay, api, storeId);
  await agent.stop();
  await waitFor(async () => !(await api.storeOnline(storeId)), `store ${storeId} offline`);
  return { printer, agent };
}

describe('end to end: the store is offline', { timeout: 60_000 }, () => {
  it('accepts a job while the agent is stopped and prints it once the agent is back', async () => {
    const { printer, agent } = await offlineStore('s1');
    const jobId = await api.submit(markedJob('s1', 'OFFLINE-1'), 'offline-1');
    expect((await api.job(jobId)).state).toBe('accepted');

    await agent.start();
    const job = await api.waitForState(jobId, 'printed');
    expect(job.timeline.map((e) => e.state)).toEqual([
      'accepted',
      'sent',
      'delivered',
      'printing',
      'printed',
    ]);
    expect(ticketsWith(printer, 'OFFLINE-1')).toBe(1);
  });

  it('never prints a job that expired while the agent was offline', async () => {
    const { printer, agent } = await offlineStore('s2');
    const expiring = await api.submit(markedJob('s2', 'EXPIRED-1', { ttlSeconds: 1 }), 'expired-1');
    const { expiresAt } = await api.job(expiring);
    // The agent returns just after the expiry: before or after the relay's sweep has marked
    // the job, neither side may print it.
    await waitFor(() => Date.now() > Date.parse(expiresAt) + 100, 'the expiry to pass');
    await agent.start();

    const later = await api.submit(markedJob('s2', 'AFTER-1'), 'after-1');
    await api.waitForState(later, 'printed');
    const job = await api.waitForState(expiring, 'expired');
    expect(job.timeline.map((e) => e.state)).not.toContain('printing');
    expect(ticketsWith(printer, 'EXPIRED-1')).toBe(0);
    expect(ticketsWith(printer, 'AFTER-1')).toBe(1);
  });
});
