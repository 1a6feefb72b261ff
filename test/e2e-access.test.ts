// End to end on access: one store's agent credentials give nothing of another store's jobs,
// and wrong credentials are refused, for a raw MQTT client and for the real agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../protocol/topics.js';
import type { AgentCredentials } from '../relay/admin.js';
import { connectMqtt } from './relay-helpers.js';
import { ApiClient, E2e, markedJob, type RelayProcess, ticketsWith, waitFor } from './support/e2e.js';

// One relay with two stores for the file; each test brings its own agent.
const e2e = new E2e();
let relay: RelayProcess;
let api: ApiClient;
let a: AgentCredentials;
let b: AgentCredentials;
beforeAll(async () => {
  ({ relay, api } = await e2e.relay());
  a = await relay.addStore('store-a');
  b = await relay.addStore('store-b');
}, 60_000);
afterAll(() => e2e.close());

describe('end to end: access', { timeout: 60_000 }, () => {
  it("keeps store B's jobs from an MQTT client with store A's credentials while B's agent prints them", async () => {
    const printerB = await e2e.printer();
    const agentB = await e2e.agent(relay, b, [{ id: 'counter', uri: printerB.uri, roles: ['receipt'] }]);
    await agentB.start();
    await waitFor(() => api.storeOnline('store-b'), 'store B online', 15_000);

    const spy = await connectMqtt(relay.mqttUrl, {
      clientId: `${a.storeId}:spy`,
      username: a.username,
      password: a.password,
      clean: true,
    });
    try {
      const seen: string[] = [];
      spy.on('message', (topic) => seen.push(topic));
      for (const filter of [
        topics.agentDownlink(b.storeId),
        topics.jobs(b.storeId),
        'printrelay/v1/stores/+/down/jobs',
        '#',
      ]) {
        await expect(spy.subscribeAsync(filter, { qos: 1 }), filter).rejects.toMatchObject({
          packet: { granted: [128] },
        });
      }
      // Its own downlink it may have: the refusals above are about the store, not the client.
      await spy.subscribeAsync(topics.agentDownlink(a.storeId), { qos: 1 });

      const jobId = await api.submit(markedJob('store-b', 'B-ONLY'), 'b-only');
      await api.waitForState(jobId, 'printed');
      expect(ticketsWith(printerB, 'B-ONLY')).toBe(1);
      expect(seen).toEqual([]);
      expect(spy.connected).toBe(true);
    } finally {
      await spy.endAsync();
    }
  });

  it('refuses wrong credentials: a raw MQTT client, and an agent that then says so and gets no jobs', async () => {
    await expect(
      connectMqtt(relay.mqttUrl, { clientId: a.clientId, username: a.username, password: b.password }),
    ).rejects.toMatchObject({ code: 4 });
    await expect(
      connectMqtt(relay.mqttUrl, { clientId: b.clientId, username: a.username, password: a.password }),
    ).rejects.toMatchObject({ code: 2 });

    const printer = await e2e.printer();
    const agent = await e2e.agent(relay, { ...a, password: b.password }, [
      { id: 'counter', uri: printer.uri, roles: ['receipt'] },
    ]);
    await agent.start();
    const status = await waitFor(async () => {
      const s = await agent.status();
      return s.relay.lastError ? s : null;
    }, 'the agent to report its refusal');
    expect(status.relay.connected).toBe(false);
    expect(status.relay.lastError).toMatch(/credentials|password|refused/i);

    const jobId = await api.submit(markedJob('store-a', 'REFUSED-1'), 'refused-1');
    expect(await api.storeOnline('store-a')).toBe(false);
    expect((await api.job(jobId)).state).toBe('accepted');
    expect(ticketsWith(printer, 'REFUSED-1')).toBe(0);

    // The HTTP side: an agent password is no API key, and store B's key gives nothing of A
    // (store A's job is as unknown to it as a job that does not exist).
    const agentPassword = await fetch(`${relay.httpUrl}/v1/jobs/${jobId}`, {
      headers: { authorization: `Bearer ${a.password}` },
    });
    expect(agentPassword.status).toBe(401);
    const keyB = new ApiClient(relay, await relay.addKey(['store-b']));
    expect((await keyB.request(`/v1/jobs/${jobId}`)).status).toBe(404);
    expect((await keyB.postJob(markedJob('store-a', 'REFUSED-2'), 'refused-2')).status).toBe(403);
  });
});
