// Dispatch end to end with a fake agent: HTTP job -> MQTT -> agent events -> timeline.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobView } from '../protocol/job.js';
import { decodeJson, parseJobMessage } from '../protocol/messages.js';
import { unknownPrinterStatus } from '../protocol/status.js';
import { topics } from '../protocol/topics.js';
import { connectMqtt, FakeAgent, jobBody, startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';

let t: TestRelay;
const agents: FakeAgent[] = [];

async function agentFor(storeId = 's1', opts: { hello?: boolean } = {}): Promise<FakeAgent> {
  return connect(await t.store(storeId), opts);
}

async function connect(
  creds: Awaited<ReturnType<TestRelay['store']>>,
  opts: { hello?: boolean; jobIds?: string[] } = {},
) {
  const agent = await FakeAgent.connect(t.relay.urls.mqtt, creds);
  agents.push(agent);
  if (opts.hello !== false) await agent.hello(opts.jobIds ?? []);
  return agent;
}

async function getJob(id: string): Promise<JobView> {
  const res = await t.api(`/v1/jobs/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as JobView;
}

const states = (j: JobView) => j.timeline.map((e) => e.state);

beforeEach(async () => {
  t = await startTestRelay({ resendAfterMs: 60_000 });
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.close().catch(() => {});
  await t.close();
});

describe('relay dispatch', () => {
  it('takes an HTTP order to printed with the full timeline', async () => {
    const agent = await agentFor('s1');
    const jobId = await t.createJob(jobBody('s1', { copies: 2 }));
    const msg = await agent.waitForJob(jobId);
    expect(msg).toMatchObject({
      v: 1,
      printer: 'kitchen',
      copies: 2,
      onExpiry: 'expire',
      orderRef: { orderNo: 'A-1001' },
    });
    expect(msg.ticket?.blocks[0]).toMatchObject({ text: '宫保鸡丁 x1' });

    await agent.send({ type: 'job-received', jobId });
    await agent.send({ type: 'job-state', jobId, state: 'printing', printerId: 'p-kitchen' });
    await agent.send({
      type: 'job-state',
      jobId,
      state: 'printed',
      printerId: 'p-kitchen',
      detail: 'confirmed by GS r',
    });

    const job = await getJob(jobId);
    expect(states(job)).toEqual(['accepted', 'sent', 'delivered', 'printing', 'printed']);
    expect(job).toMatchObject({ state: 'printed', printerId: 'p-kitchen', cancelRequested: false });
    expect(job.timeline[4]?.detail).toBe('confirmed by GS r');
  });

  it('handles a repeated outbox event once and acknowledges it again', async () => {
    const agent = await agentFor('s1');
    const jobId = await t.createJob(jobBody('s1'));
    await agent.waitForJob(jobId);
    const event = { id: crypto.randomUUID(), at: new Date().toISOString(), type: 'job-received', jobId };
    await agent.publishBatch([event]);
    await waitFor(() => agent.acked.has(event.id), 'first ack');
    agent.acked.clear();
    await agent.publishBatch([event]);
    await waitFor(() => agent.acked.has(event.id), 'second ack');
    expect(states(await getJob(jobId))).toEqual(['accepted', 'sent', 'delivered']);
  });

  it("acknowledges an invalid event so it cannot jam the outbox, and ignores other stores' jobs", async () => {
    const b = await agentFor('s2');
    const a = await agentFor('s1');
    const jobA = await t.createJob(jobBody('s1'));
    await a.waitForJob(jobA);
    const bad = {
      id: crypto.randomUUID(),
      at: 'yesterday',
      type: 'job-state',
      jobId: jobA,
      state: 'printed',
    };
    await b.publishBatch([bad]);
    await waitFor(() => b.acked.has(bad.id), 'ack of the invalid event');
    // Store s2's agent reports on store s1's job: ignored.
    await b.send({ type: 'job-state', jobId: jobA, state: 'printed' });
    expect((await getJob(jobA)).state).toBe('sent');
  });

  it('keeps a job for an offline store and sends it when the agent says hello', async () => {
    const creds = await t.store('s1');
    const jobId = await t.createJob(jobBody('s1'));
    expect((await getJob(jobId)).state).toBe('accepted');
    const agent = await connect(creds);
    await agent.waitForJob(jobId);
    expect(states(await getJob(jobId))).toEqual(['accepted', 'sent']);
  });

  it('serves an agent that sends hello but no presence message', async () => {
    const creds = await t.store('s1');
    const client = await connectMqtt(t.relay.urls.mqtt, {
      clientId: creds.clientId,
      username: creds.username,
      password: creds.password,
    });
    const received: string[] = [];
    client.on('message', (topic, payload) => {
      if (topic === topics.jobs('s1')) received.push(parseJobMessage(decodeJson(payload, 'job')).jobId);
    });
    await client.subscribeAsync(topics.agentDownlink('s1'), { qos: 1 });
    const hello = {
      id: crypto.randomUUID(),
      at: new Date().toISOString(),
      type: 'hello',
      agentVersion: 'other-1',
      instanceId: 'x',
      printers: [{ id: 'p1', roles: ['kitchen'] }],
      jobIds: [],
    };
    await client.publishAsync(topics.events('s1'), JSON.stringify({ v: 1, events: [hello] }), { qos: 1 });
    await waitFor(
      async () => (await t.relay.store.getStore('s1'))?.online,
      'the hello to mark the store online',
    );
    const jobId = await t.createJob(jobBody('s1'));
    await waitFor(() => received.includes(jobId), 'the job at the agent');
    await client.endAsync();
  });

  it('resends what an agent is missing after a reconnect, and not what it holds', async () => {
    const creds = await t.store('s1');
    const first = await connect(creds);
    const held = await t.createJob(jobBody('s1'));
    const lost = await t.createJob(jobBody('s1'));
    await first.waitForJob(held);
    await first.waitForJob(lost);
    await first.send({ type: 'job-received', jobId: held });
    first.drop();
    await waitFor(
      async () => !(await t.relay.store.getStore('s1'))?.online,
      'the last will to mark s1 offline',
    );

    const second = await connect(creds, { jobIds: [held] });
    await second.waitForJob(lost);
    expect(second.jobs.map((j) => j.jobId)).toEqual([lost]);
    expect((await getJob(lost)).state).toBe('sent');
  });

  it('resends a sent job the agent never confirmed while it stays connected', async () => {
    await t.close();
    t = await startTestRelay({ resendAfterMs: 100 });
    const agent = await agentFor('s1');
    const jobId = await t.createJob(jobBody('s1'));
    await waitFor(
      () => agent.jobs.filter((j) => j.jobId === jobId).length >= 2,
      'a second copy of the job message',
    );
    await agent.send({ type: 'job-received', jobId });
    const count = agent.jobs.length;
    await t.relay.dispatcher.sweep();
    await t.relay.dispatcher.sweep();
    expect(agent.jobs.length).toBe(count);
  });

  it('expires a job whose expiry passes before delivery and never sends it', async () => {
    const creds = await t.store('s1');
    const jobId = await t.createJob(jobBody('s1', { ttlSeconds: 1 }));
    const held = await t.createJob(jobBody('s1', { ttlSeconds: 1, onExpiry: 'hold' }));
    await waitFor(async () => (await getJob(jobId)).state === 'expired', 'the expiry sweep', 3000);
    const agent = await connect(creds);
    await agent.waitForJob(held);
    await t.relay.dispatcher.sweep();
    expect(agent.jobs.map((j) => j.jobId)).toEqual([held]);
    const job = await getJob(jobId);
    expect(states(job)).toEqual(['accepted', 'expired']);
    expect(job.timeline[1]?.detail).toMatch(/expired before it reached the store/);
    await agent.send(
      { type: 'job-received', jobId: held },
      { type: 'job-state', jobId: held, state: 'held' },
    );
    expect((await getJob(held)).state).toBe('held');
  });

  it('cancels at once before sending, and through the agent once sent', async () => {
    const creds = await t.store('s1');
    const early = await t.createJob(jobBody('s1'));
    let res = await t.api(`/v1/jobs/${early}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobView).state).toBe('cancelled');

    const agent = await connect(creds);
    const late = await t.createJob(jobBody('s1'));
    await agent.waitForJob(late);
    await agent.send({ type: 'job-received', jobId: late });
    res = await t.api(`/v1/jobs/${late}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ state: 'delivered', cancelRequested: true });
    await waitFor(
      () => agent.controls.find((c) => c.type === 'cancel' && c.jobId === late),
      'the cancel command',
    );
    await agent.send({
      type: 'job-state',
      jobId: late,
      state: 'cancelled',
      detail: 'cancelled before printing',
    });
    expect(await getJob(late)).toMatchObject({ state: 'cancelled', cancelRequested: false });
    expect(agent.jobs.map((j) => j.jobId)).not.toContain(early);

    res = await t.api(`/v1/jobs/${late}/cancel`, { method: 'POST' });
    expect(res.status).toBe(409);
  });

  it('marks jobs uncertain when the agent comes back with a new database', async () => {
    const creds = await t.store('s1');
    const first = await connect(creds);
    const jobId = await t.createJob(jobBody('s1'));
    await first.waitForJob(jobId);
    await first.send({ type: 'job-received', jobId }, { type: 'job-state', jobId, state: 'printing' });
    await first.close();
    const second = await FakeAgent.connect(t.relay.urls.mqtt, creds);
    agents.push(second);
    await second.hello([], 'instance-2');
    const job = await getJob(jobId);
    expect(job.state).toBe('uncertain');
    expect(second.jobs).toEqual([]);
  });

  it("lets the agent's report of printing win over a relay-side expiry", async () => {
    const agent = await agentFor('s1');
    const jobId = await t.createJob(jobBody('s1', { ttlSeconds: 1 }));
    await agent.waitForJob(jobId);
    await waitFor(
      async () => (await getJob(jobId)).state === 'expired',
      'expiry of the unconfirmed job',
      3000,
    );
    await agent.send({ type: 'job-state', jobId, state: 'printed' });
    expect(states(await getJob(jobId))).toEqual(['accepted', 'sent', 'expired', 'printed']);
  });

  it('records printers from hello, their status and health, shown in /v1/stores', async () => {
    const agent = await agentFor('s1', { hello: false });
    const status = { ...unknownPrinterStatus(), connected: true, paper: 'out', source: 'asb' };
    await agent.hello([], 'instance-1', [{ id: 'p1', name: 'Kitchen', roles: ['kitchen'] }]);
    await agent.send({ type: 'printer-status', printerId: 'p1', status });
    await agent.send({
      type: 'health',
      agentVersion: 'test-1',
      uptimeSeconds: 12,
      memoryRssBytes: 1000,
      heldJobs: 0,
      printers: [{ printerId: 'p1', queueDepth: 3, printedJobs: 7, paperUsedMm: 512.5 }],
    });
    await t.api('/v1/jobs', {
      method: 'POST',
      json: jobBody('s1', { ttlSeconds: 60 }),
      headers: { 'idempotency-key': 'q' },
    });
    const res = await t.api('/v1/stores/s1');
    expect(res.status).toBe(200);
    const view = await res.json();
    expect(view).toMatchObject({
      storeId: 's1',
      online: true,
      agentVersion: 'test-1',
      queueDepth: 1,
      uptimeSeconds: 12,
      printers: [
        {
          printerId: 'p1',
          name: 'Kitchen',
          roles: ['kitchen'],
          ready: false,
          reasons: ['paper-out'],
          health: { queueDepth: 3, printedJobs: 7, paperUsedMm: 512.5 },
        },
      ],
    });
    await agent.close();
    const list = (await (await t.api('/v1/stores')).json()) as { stores: { storeId: string }[] };
    expect(list.stores.map((s) => s.storeId)).toEqual(['s1']);
  });

  it('lets a printer status sent after the hello win, however late the relay handles the hello', async () => {
    const agent = await agentFor('s1', { hello: false });
    const status = (online: boolean, at: Date) => ({
      ...unknownPrinterStatus(at),
      ...(online ? { connected: true, online: true, paper: 'ok', source: 'dle-eot' } : {}),
    });
    // By the agent's clock: hello (printer not connected yet), then the printer came up. The
    // relay handles both a second later, as under load.
    const helloAt = new Date(Date.now() - 1000);
    const readyAt = new Date(helloAt.getTime() + 5);
    await agent.send(
      {
        type: 'hello',
        at: helloAt.toISOString(),
        agentVersion: 'test-1',
        instanceId: 'instance-1',
        printers: [{ id: 'p1', roles: ['kitchen'], status: status(false, helloAt) }],
        jobIds: [],
      },
      { type: 'printer-status', at: readyAt.toISOString(), printerId: 'p1', status: status(true, readyAt) },
    );
    const view = await (await t.api('/v1/stores/s1')).json();
    expect(view.printers).toMatchObject([{ printerId: 'p1', ready: true }]);
  });
});
